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

/// Where `text_at_hunk` now sits in `text`: the only place where it stands
/// between its recorded contexts, trimmed to the nearest whole line on each
/// side if the full contexts are found nowhere. `None` when no such place is
/// unique: a hunk is never anchored on text that merely looks like its own.
pub(super) fn find_anchor(
    text: &str,
    context_before: &str,
    text_at_hunk: &str,
    context_after: &str,
) -> Option<std::ops::Range<usize>> {
    let nearest_before = after_last_lines(context_before, 1);
    let nearest_after = before_first_lines(context_after, 1);
    for (before, after) in [
        (context_before, context_after),
        (nearest_before, nearest_after),
    ] {
        let pattern = format!("{before}{text_at_hunk}{after}");
        let mut found = occurrences(text, &pattern);
        match (found.next(), found.next()) {
            (Some(start), None) => {
                let start = start + before.len();
                return Some(start..start + text_at_hunk.len());
            }
            (Some(_), Some(_)) => return None,
            _ => {}
        }
    }
    None
}

/// The end of `context`: its last partial line and `lines` whole lines before it.
fn after_last_lines(context: &str, lines: usize) -> &str {
    let start = context
        .match_indices('\n')
        .rev()
        .nth(lines)
        .map_or(0, |(index, _)| index + 1);
    &context[start..]
}

/// The start of `context`: the rest of its first line and `lines` whole lines after it.
fn before_first_lines(context: &str, lines: usize) -> &str {
    let end = context
        .match_indices('\n')
        .nth(lines)
        .map_or(context.len(), |(index, _)| index + 1);
    &context[..end]
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
    fn only_a_unique_place_between_the_contexts_is_found() {
        let text = "a\nx = 1\nb\nc\nx = 1\nd\n";
        assert_eq!(find_anchor(text, "c\n", "x = 1", "\nd\n"), Some(12..17));
        // Both copies stand between the same one-line contexts: ambiguous.
        assert_eq!(find_anchor("k\nx\nk\nx\nk\n", "k\n", "x", "\nk\n"), None);
    }

    #[test]
    fn the_text_alone_is_never_enough() {
        // The base text `1` is unique, but not between its contexts (C4:
        // it would turn `LIMIT = 10` into `LIMIT = 20`).
        let text = "const LIMIT: u32 = 10;\nlet retries = 2;\n";
        assert_eq!(find_anchor(text, "let retries = ", "1", ";\n"), None);
        assert_eq!(find_anchor("abc", "zz", "", "zz"), None);
    }

    #[test]
    fn contexts_shrink_to_the_nearest_line_when_farther_lines_changed() {
        let text = "EDITED\nnear\nx = 1\nnear after\nEDITED\n";
        assert_eq!(
            find_anchor(text, "far\nnear\n", "x = 1", "\nnear after\nfar\n"),
            Some(12..17)
        );
    }

    #[test]
    fn context_spans_two_lines_each_way() {
        let text = Rope::from_str("1\n2\n3\n4\n5\n6\n7\n");
        let (before, after) = context_around(&text, &(6..7));
        assert_eq!(before, "2\n3\n");
        assert_eq!(after, "\n5\n6\n");
    }
}
