//! Turning an agent's replacement of a region into hunks the user decides on.

use similar::{DiffOp, TextDiff};

use crate::document::unchanged_affix_lengths;

/// One change between a region's text and the agent's replacement for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HunkDiff {
    /// The replaced bytes, relative to the start of the base text.
    pub base_range: std::ops::Range<usize>,
    /// `base[base_range]`.
    pub base_text: String,
    pub new_text: String,
}

/// The hunks that turn `base` into `replacement`: a line diff whose runs of
/// consecutive changed lines each become one hunk, then shrunk to the bytes that
/// really change (whole chars, never half of a `\r\n`). Identical texts give none.
pub fn diff_hunks(base: &str, replacement: &str) -> Vec<HunkDiff> {
    let diff = TextDiff::from_lines(base, replacement);
    let base_line_starts = line_starts(diff.old_slices());
    let replacement_line_starts = line_starts(diff.new_slices());
    let mut hunks = Vec::new();
    // The lines between two runs of equal lines form one hunk. The equal runs
    // are used rather than each change's own indices, which similar does not
    // keep in order on the replacement side.
    let (mut base_line, mut replacement_line) = (0, 0);
    let equal_runs = diff.ops().iter().filter_map(|op| match *op {
        DiffOp::Equal {
            old_index,
            new_index,
            len,
        } => Some((old_index, new_index, len)),
        _ => None,
    });
    let end_of_texts = (diff.old_slices().len(), diff.new_slices().len(), 0);
    for (equal_base_line, equal_replacement_line, len) in equal_runs.chain([end_of_texts]) {
        if (base_line, replacement_line) != (equal_base_line, equal_replacement_line) {
            hunks.extend(refined_hunk(
                base,
                replacement,
                base_line_starts[base_line]..base_line_starts[equal_base_line],
                replacement_line_starts[replacement_line]
                    ..replacement_line_starts[equal_replacement_line],
            ));
        }
        base_line = equal_base_line + len;
        replacement_line = equal_replacement_line + len;
    }
    hunks
}

/// Byte offsets where each line starts, plus the end of the text.
fn line_starts(lines: &[&str]) -> Vec<usize> {
    let mut starts = Vec::with_capacity(lines.len() + 1);
    let mut offset = 0;
    starts.push(0);
    for line in lines {
        offset += line.len();
        starts.push(offset);
    }
    starts
}

fn refined_hunk(
    base: &str,
    replacement: &str,
    base_range: std::ops::Range<usize>,
    new_range: std::ops::Range<usize>,
) -> Option<HunkDiff> {
    let base_text = &base[base_range.clone()];
    let new_text = &replacement[new_range];
    let preceding = base_range
        .start
        .checked_sub(1)
        .map(|index| base.as_bytes()[index]);
    let following = base.as_bytes().get(base_range.end).copied();
    let (prefix, suffix) = unchanged_affix_lengths(base_text, new_text, preceding, following);
    let base_text = &base_text[prefix..base_text.len() - suffix];
    let new_text = &new_text[prefix..new_text.len() - suffix];
    if base_text == new_text {
        return None;
    }
    Some(HunkDiff {
        base_range: base_range.start + prefix..base_range.end - suffix,
        base_text: base_text.to_string(),
        new_text: new_text.to_string(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn identical_texts_have_no_hunks() {
        assert!(diff_hunks("a\nb\n", "a\nb\n").is_empty());
        assert!(diff_hunks("", "").is_empty());
    }

    #[test]
    fn separate_changes_become_separate_minimal_hunks() {
        let hunks = diff_hunks(
            "let a = 1;\nkeep\nlet b = 2;\n",
            "let a = 10;\nkeep\nlet c = 2;\n",
        );
        assert_eq!(
            hunks,
            vec![
                HunkDiff {
                    base_range: 9..9,
                    base_text: "".into(),
                    new_text: "0".into()
                },
                HunkDiff {
                    base_range: 20..21,
                    base_text: "b".into(),
                    new_text: "c".into()
                },
            ]
        );
    }

    #[test]
    fn consecutive_changed_lines_form_one_hunk() {
        let hunks = diff_hunks("x\none\ntwo\ny\n", "x\nuno\ndos\ny\n");
        assert_eq!(hunks.len(), 1);
        assert_eq!(hunks[0].base_text, "one\ntwo");
        assert_eq!(hunks[0].new_text, "uno\ndos");
    }

    #[test]
    fn crlf_is_never_split() {
        let hunks = diff_hunks("a\r\nb\r\n", "a\nb\r\n");
        assert_eq!(
            hunks,
            vec![HunkDiff {
                base_range: 1..3,
                base_text: "\r\n".into(),
                new_text: "\n".into()
            }]
        );
    }

    #[test]
    fn multi_byte_chars_are_kept_whole() {
        let hunks = diff_hunks("😀中\n", "😃中\n");
        assert_eq!(hunks[0].base_text, "😀");
        assert_eq!(hunks[0].new_text, "😃");
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("b"),
                Just("😀"),
                Just("中"),
                Just("\r\n"),
                Just("\r"),
                Just("\n")
            ],
            0..30,
        )
        .prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn applying_every_hunk_gives_the_replacement(base in text_strategy(), replacement in text_strategy()) {
            let hunks = diff_hunks(&base, &replacement);
            let mut result = base.clone();
            for hunk in hunks.iter().rev() {
                prop_assert_eq!(&base[hunk.base_range.clone()], hunk.base_text.as_str());
                result.replace_range(hunk.base_range.clone(), &hunk.new_text);
            }
            prop_assert_eq!(result, replacement);
        }
    }
}
