//! Finding a hunk's place by content: the context captured when it is proposed,
//! and the search that re-anchors it after a restart.

use ropey::Rope;

/// The text of `range` in `text`, or `None` when the range is out of bounds or
/// not on char boundaries.
pub(super) fn text_in(text: &Rope, range: &std::ops::Range<usize>) -> Option<String> {
    text.get_byte_slice(range.clone())
        .map(|slice| slice.to_string())
}

/// Up to two whole lines before `range` (plus the start of its first line) and
/// the rest of its last line plus up to two lines after it.
pub(super) fn context_around(text: &Rope, range: &std::ops::Range<usize>) -> (String, String) {
    let first_line = text.byte_to_line(range.start);
    let before_start = text.line_to_byte(first_line.saturating_sub(2));
    let last_line = text.byte_to_line(range.end);
    let after_end = text.line_to_byte((last_line + 3).min(text.len_lines()));
    (
        text_in(text, &(before_start..range.start)).unwrap_or_default(),
        text_in(text, &(range.end..after_end)).unwrap_or_default(),
    )
}

/// Where `base_text` now sits in `text`: the occurrence of context, base text
/// and context together nearest to `recorded_start`, or else the only occurrence
/// of a non-empty base text.
pub(super) fn find_anchor(
    text: &str,
    context_before: &str,
    base_text: &str,
    context_after: &str,
    recorded_start: usize,
) -> Option<std::ops::Range<usize>> {
    let pattern = format!("{context_before}{base_text}{context_after}");
    let nearest = occurrences(text, &pattern)
        .map(|start| start + context_before.len())
        .min_by_key(|start| start.abs_diff(recorded_start));
    if let Some(start) = nearest {
        return Some(start..start + base_text.len());
    }
    if base_text.is_empty() {
        return None;
    }
    let mut base_occurrences = occurrences(text, base_text);
    match (base_occurrences.next(), base_occurrences.next()) {
        (Some(start), None) => Some(start..start + base_text.len()),
        _ => None,
    }
}

/// Start offsets of every occurrence of `pattern`, overlapping ones included.
fn occurrences<'text>(
    text: &'text str,
    pattern: &'text str,
) -> impl Iterator<Item = usize> + 'text {
    text.char_indices()
        .map(|(index, _)| index)
        .chain([text.len()])
        .filter(move |index| text[*index..].starts_with(pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_full_match_wins() {
        let text = "x = 1\nfoo\nx = 1\nbar\n";
        assert_eq!(find_anchor(text, "", "x = 1", "\nbar", 0), Some(10..15));
        assert_eq!(find_anchor(text, "", "x = 1", "\n", 14), Some(10..15));
        assert_eq!(find_anchor(text, "", "x = 1", "\n", 1), Some(0..5));
    }

    #[test]
    fn base_text_alone_only_when_unique() {
        assert_eq!(
            find_anchor("a unique b", "zz", "unique", "zz", 0),
            Some(2..8)
        );
        assert_eq!(find_anchor("dup dup", "zz", "dup", "zz", 0), None);
        assert_eq!(find_anchor("abc", "zz", "", "zz", 0), None);
    }

    #[test]
    fn context_spans_two_lines_each_way() {
        let text = Rope::from_str("1\n2\n3\n4\n5\n6\n7\n");
        let (before, after) = context_around(&text, &(6..7));
        assert_eq!(before, "2\n3\n");
        assert_eq!(after, "\n5\n6\n");
    }
}
