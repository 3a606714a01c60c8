//! Turning what the user selected into the region an agent is asked to
//! rewrite: whole lines, and whole items when the selection cuts one.

use std::ops::Range;

use ropey::Rope;

use crate::syntax::SyntaxTree;
use crate::syntax::items::{clamp_range, trim_whitespace};

impl SyntaxTree {
    /// The region to delegate for a selection.
    ///
    /// - An empty selection (a cursor) widens to the innermost item around it.
    /// - A selection that cuts through an item boundary (it starts strictly
    ///   inside an item and ends after it, or ends strictly inside one and
    ///   starts before it) widens to the smallest item covering all of it, or,
    ///   at the top level, to the union of the items it cuts.
    /// - A selection inside one item's body, or between items, stays as it is.
    ///
    /// Items include their attributes, decorators and doc comments, and the
    /// result always covers whole lines: from the start of the first line to
    /// after the last line's line break (or the end of the document).
    pub fn widen_selection(&self, text: &Rope, range: Range<usize>) -> Range<usize> {
        let selection = clamp_range(text, range);
        let trimmed = trim_whitespace(text, selection.clone());
        let widened = if selection.is_empty() {
            self.enclosing_item(text, selection.clone())
                .map_or(selection.clone(), |item| item.range)
        } else if trimmed.is_empty() {
            selection.clone()
        } else {
            self.widen_cut_items(text, trimmed)
        };
        whole_lines(text, selection.start.min(widened.start)..selection.end.max(widened.end))
    }

    fn widen_cut_items(&self, text: &Rope, selection: Range<usize>) -> Range<usize> {
        let cut_at_start = self
            .enclosing_items(text, selection.start..selection.start)
            .into_iter()
            .filter(|item| item.range.start < selection.start && selection.start < item.range.end)
            .filter(|item| item.range.end < selection.end);
        let cut_at_end = self
            .enclosing_items(text, selection.end - 1..selection.end - 1)
            .into_iter()
            .filter(|item| item.range.start < selection.end && selection.end < item.range.end)
            .filter(|item| selection.start < item.range.start);
        let cut_items: Vec<Range<usize>> = cut_at_start.chain(cut_at_end).map(|item| item.range).collect();
        if cut_items.is_empty() {
            return selection;
        }
        if let Some(covering) = self.enclosing_item(text, selection.clone()) {
            return covering.range;
        }
        cut_items.into_iter().fold(selection, |union, item| {
            union.start.min(item.start)..union.end.max(item.end)
        })
    }
}

/// `range` grown to whole lines. A non-empty range that already ends at the
/// start of a line does not take in that next line.
fn whole_lines(text: &Rope, range: Range<usize>) -> Range<usize> {
    let length = text.len_bytes();
    let line_of = |offset: usize| text.try_byte_to_line(offset.min(length)).unwrap_or(0);
    let line_start = |line: usize| text.try_line_to_byte(line).unwrap_or(length);
    let start = line_start(line_of(range.start));
    let end_line = line_of(range.end);
    let end = if range.end > range.start && line_start(end_line) == range.end {
        range.end
    } else {
        line_start(end_line + 1)
    };
    start..end
}
