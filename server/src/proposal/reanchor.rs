//! The one rule for moving a byte range through a user edit, shared by hunks and
//! by the regions of runs still in flight.

use crate::document::ByteEdit;
use std::ops::Range;

/// Where a range is after an edit, and whether the edit touched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reanchored {
    pub range: Range<usize>,
    /// True when the edit overlapped the range; the range then grows to cover it.
    pub overlapped: bool,
}

/// Moves `range` through `edit`. An edit ending at or before the range's start
/// shifts it (so an insertion right at its start lands before it); an edit
/// starting at or after its end leaves it alone; any other edit overlaps it.
pub fn reanchor(range: &Range<usize>, edit: &ByteEdit) -> Reanchored {
    if edit.old_end <= range.start {
        Reanchored {
            range: shift(range, edit.delta()),
            overlapped: false,
        }
    } else if edit.start < range.end {
        Reanchored {
            range: covering(range, edit),
            overlapped: true,
        }
    } else {
        Reanchored {
            range: range.clone(),
            overlapped: false,
        }
    }
}

/// `range` moved by `delta` bytes.
pub(super) fn shift(range: &Range<usize>, delta: isize) -> Range<usize> {
    range.start.saturating_add_signed(delta)..range.end.saturating_add_signed(delta)
}

/// `range` after an edit that overlaps or touches it, grown to cover the edit.
pub(super) fn covering(range: &Range<usize>, edit: &ByteEdit) -> Range<usize> {
    let start = range.start.min(edit.start);
    let end = if range.end >= edit.old_end {
        range.end.saturating_add_signed(edit.delta())
    } else {
        edit.new_end
    };
    start..end.max(start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Point;

    fn edit(start: usize, old_end: usize, new_text: &str) -> ByteEdit {
        ByteEdit {
            start,
            old_end,
            new_end: start + new_text.len(),
            start_point: Point::default(),
            old_end_point: Point::default(),
            new_end_point: Point::default(),
            new_text: new_text.to_owned(),
        }
    }

    #[test]
    fn edits_before_shift_after_leave_and_inside_overlap() {
        assert_eq!(reanchor(&(10..20), &edit(0, 2, "abcd")), Reanchored { range: 12..22, overlapped: false });
        assert_eq!(reanchor(&(10..20), &edit(10, 10, "x")), Reanchored { range: 11..21, overlapped: false });
        assert_eq!(reanchor(&(10..20), &edit(20, 25, "")), Reanchored { range: 10..20, overlapped: false });
        assert_eq!(reanchor(&(10..20), &edit(15, 16, "yy")), Reanchored { range: 10..21, overlapped: true });
        assert_eq!(reanchor(&(10..20), &edit(5, 30, "z")), Reanchored { range: 5..6, overlapped: true });
    }
}
