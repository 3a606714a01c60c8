//! How a hunk reads to a person: a one-line summary for its diagnostic and the
//! whole lines it touches as a diff for hover.

use crate::proposal::Hunk;
use ropey::Rope;

/// One line saying what a hunk does, e.g. "replace 1 line with 1: `a + b`".
pub fn hunk_summary(text: &Rope, hunk: &Hunk) -> String {
    let old_lines = line_count(&hunk.base_text);
    let new_lines = line_count(&hunk.new_text);
    let action = match (old_lines, new_lines) {
        (0, count) => format!("insert {}", plural(count, "line")),
        (count, 0) => format!("delete {}", plural(count, "line")),
        (old, new) => format!("replace {} with {new}", plural(old, "line")),
    };
    let (current, proposed) = touched_lines(text, hunk);
    let shown = if hunk.new_text.trim().is_empty() {
        current
    } else {
        proposed
    };
    match shown.lines().map(str::trim).find(|line| !line.is_empty()) {
        Some(line) => format!("{action}: `{}`", truncate(line, 60)),
        None => action,
    }
}

/// The whole lines a hunk touches, before (`-`) and after (`+`), one per line.
pub fn hunk_as_diff(text: &Rope, hunk: &Hunk) -> String {
    let (current, proposed) = touched_lines(text, hunk);
    let mut diff = String::new();
    for line in current.lines() {
        diff.push_str(&format!("-{}\n", line.trim_end_matches('\r')));
    }
    for line in proposed.lines() {
        diff.push_str(&format!("+{}\n", line.trim_end_matches('\r')));
    }
    diff
}

/// The lines around the hunk as they are, and as they would be after accepting it.
fn touched_lines(text: &Rope, hunk: &Hunk) -> (String, String) {
    let len = text.len_bytes();
    let start = hunk.range.start.min(len);
    let end = hunk.range.end.min(len).max(start);
    let line_start = text.line_to_byte(text.byte_to_line(start));
    let last_line = text.byte_to_line(end);
    let line_end = if last_line + 1 < text.len_lines() {
        text.line_to_byte(last_line + 1)
    } else {
        len
    };
    let slice = |range: std::ops::Range<usize>| {
        text.get_byte_slice(range)
            .map(|slice| slice.to_string())
            .unwrap_or_default()
    };
    let current = slice(line_start..line_end);
    let proposed = format!(
        "{}{}{}",
        slice(line_start..start),
        hunk.new_text,
        slice(end..line_end)
    );
    (current, proposed)
}

fn line_count(text: &str) -> usize {
    if text.is_empty() {
        0
    } else {
        text.lines().count().max(1)
    }
}

pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn truncate(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{HunkId, RunId};
    use crate::proposal::HunkState;

    fn hunk(range: std::ops::Range<usize>, base: &str, new: &str) -> Hunk {
        Hunk {
            id: HunkId(1),
            run: RunId(1),
            uri: url::Url::parse("file:///a.rs").unwrap(),
            range,
            base_text: base.into(),
            new_text: new.into(),
            context_before: String::new(),
            context_after: String::new(),
            state: HunkState::Open,
        }
    }

    #[test]
    fn a_one_character_change_reads_as_its_whole_line() {
        let text = Rope::from_str("fn add() {\n    a - b\n}\n");
        let change = hunk(17..18, "-", "+");
        assert_eq!(
            hunk_summary(&text, &change),
            "replace 1 line with 1: `a + b`"
        );
        assert_eq!(hunk_as_diff(&text, &change), "-    a - b\n+    a + b\n");
    }

    #[test]
    fn insertions_and_deletions_say_so() {
        let text = Rope::from_str("one\r\ntwo\r\n");
        let insertion = hunk(5..5, "", "new\r\n");
        assert_eq!(hunk_summary(&text, &insertion), "insert 1 line: `new`");
        assert_eq!(hunk_as_diff(&text, &insertion), "-two\n+new\n+two\n");
        let deletion = hunk(0..5, "one\r\n", "");
        assert_eq!(hunk_summary(&text, &deletion), "delete 1 line: `one`");
    }
}
