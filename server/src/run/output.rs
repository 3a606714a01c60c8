//! Turning a model's answer into the replacement text of the region it was given.
//!
//! The prompt asks for the whole replacement of the region in one fenced code
//! block (the edit format models follow most reliably); prose around the block is
//! tolerated. The replacement is then fitted to the region's line endings so a
//! CRLF file stays CRLF and the region keeps (or keeps lacking) its final newline.

use thiserror::Error;

/// Why an answer cannot become a region's replacement.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OutputError {
    #[error("the answer is empty")]
    Empty,
    #[error("the answer has no fenced code block")]
    NoCodeBlock,
    #[error(
        "the answer was cut off inside its code block (the fence opened on line {opened_on_line} never closes)"
    )]
    UnclosedCodeBlock { opened_on_line: usize },
}

/// The content of the answer's fenced code block (the longest one when there are
/// several), with its line breaks as the model wrote them.
pub fn extract_replacement(answer: &str) -> Result<String, OutputError> {
    if answer.trim().is_empty() {
        return Err(OutputError::Empty);
    }
    let blocks = fenced_blocks(answer)?;
    let Some(longest) = blocks.iter().max_by_key(|block| block.len()) else {
        return Err(OutputError::NoCodeBlock);
    };
    if longest.trim().is_empty() {
        return Err(OutputError::Empty);
    }
    Ok((*longest).to_owned())
}

/// The replacement with the base's line ending style and the base's trailing
/// line break (present or absent).
pub fn fit_to_region(replacement: &str, base: &str) -> String {
    let uses_crlf = base.contains("\r\n");
    let base_ends_with_line_break = base.ends_with('\n');

    let mut fitted = replacement.replace("\r\n", "\n");
    if base_ends_with_line_break && !fitted.ends_with('\n') {
        fitted.push('\n');
    }
    if !base_ends_with_line_break && fitted.ends_with('\n') {
        fitted.pop();
    }
    if uses_crlf {
        fitted = fitted.replace('\n', "\r\n");
    }
    fitted
}

/// An opening fence: its character, its length and the line it is on.
struct OpeningFence {
    fence_char: char,
    fence_len: usize,
    line_number: usize,
    content_start: usize,
}

/// The contents of every closed fenced block, in order; an unclosed fence is an
/// error because it means the answer was truncated.
fn fenced_blocks(answer: &str) -> Result<Vec<&str>, OutputError> {
    let mut blocks = Vec::new();
    let mut open: Option<OpeningFence> = None;
    let mut line_start = 0;
    for (line_index, line) in answer.split_inclusive('\n').enumerate() {
        let line_end = line_start + line.len();
        match &open {
            None => {
                if let Some((fence_char, fence_len)) = opening_fence(line) {
                    open = Some(OpeningFence {
                        fence_char,
                        fence_len,
                        line_number: line_index + 1,
                        content_start: line_end,
                    });
                }
            }
            Some(fence) => {
                if is_closing_fence(line, fence.fence_char, fence.fence_len) {
                    blocks.push(&answer[fence.content_start..line_start]);
                    open = None;
                }
            }
        }
        line_start = line_end;
    }
    match open {
        Some(fence) => Err(OutputError::UnclosedCodeBlock {
            opened_on_line: fence.line_number,
        }),
        None => Ok(blocks),
    }
}

/// The fence character and length when `line` opens a fenced block (CommonMark:
/// up to three spaces of indent, three or more backticks or tildes, then an
/// optional info string, which for backticks may not contain a backtick).
fn opening_fence(line: &str) -> Option<(char, usize)> {
    let (fence_char, fence_len, rest) = fence_run(line)?;
    if fence_char == '`' && rest.contains('`') {
        return None;
    }
    Some((fence_char, fence_len))
}

/// Whether `line` closes a block opened with `fence_len` of `fence_char`: the
/// same character, at least as many, and nothing but whitespace after.
fn is_closing_fence(line: &str, fence_char: char, fence_len: usize) -> bool {
    match fence_run(line) {
        Some((closing_char, closing_len, rest)) => {
            closing_char == fence_char && closing_len >= fence_len && rest.trim().is_empty()
        }
        None => false,
    }
}

/// The run of fence characters that starts `line` (after at most three spaces),
/// when it is at least three long, and what follows it.
fn fence_run(line: &str) -> Option<(char, usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let after_indent = &line[indent..];
    let fence_char = after_indent
        .chars()
        .next()
        .filter(|c| *c == '`' || *c == '~')?;
    let fence_len = after_indent.len() - after_indent.trim_start_matches(fence_char).len();
    if fence_len < 3 {
        return None;
    }
    Some((fence_char, fence_len, &after_indent[fence_len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_block_and_ignores_surrounding_prose() {
        let answer = "Here is the simpler version:\n```rust\nfn f() -> u8 {\n    1\n}\n```\nIt drops the loop.";
        assert_eq!(
            extract_replacement(answer).expect("a replacement"),
            "fn f() -> u8 {\n    1\n}\n"
        );
    }

    #[test]
    fn accepts_tildes_and_longer_fences() {
        assert_eq!(
            extract_replacement("~~~\nx = 1\n~~~").expect("a replacement"),
            "x = 1\n"
        );
        assert_eq!(
            extract_replacement("````md\n```\ninner\n```\n````\n").expect("a replacement"),
            "```\ninner\n```\n"
        );
    }

    #[test]
    fn a_shorter_or_different_fence_does_not_close_the_block() {
        assert_eq!(
            extract_replacement("````\na\n```\n~~~~\nb\n````").expect("a replacement"),
            "a\n```\n~~~~\nb\n"
        );
    }

    #[test]
    fn a_closing_fence_with_trailing_text_is_content() {
        assert_eq!(
            extract_replacement("```\nlet s = \"\";\n``` not a close\n```\n")
                .expect("a replacement"),
            "let s = \"\";\n``` not a close\n"
        );
    }

    #[test]
    fn takes_the_longest_of_several_blocks() {
        let answer = "```\nshort\n```\nand the full one:\n```python\ndef f():\n    return 1\n```\n";
        assert_eq!(
            extract_replacement(answer).expect("a replacement"),
            "def f():\n    return 1\n"
        );
    }

    #[test]
    fn keeps_crlf_inside_the_block() {
        assert_eq!(
            extract_replacement("```\r\na\r\nb\r\n```\r\n").expect("a replacement"),
            "a\r\nb\r\n"
        );
    }

    #[test]
    fn an_answer_without_a_block_is_refused() {
        assert_eq!(
            extract_replacement("fn f() {}"),
            Err(OutputError::NoCodeBlock)
        );
        assert_eq!(
            extract_replacement("use `` for code"),
            Err(OutputError::NoCodeBlock)
        );
    }

    #[test]
    fn an_empty_answer_or_block_is_refused() {
        assert_eq!(extract_replacement(""), Err(OutputError::Empty));
        assert_eq!(extract_replacement(" \n\t\n"), Err(OutputError::Empty));
        assert_eq!(
            extract_replacement("Nothing to change:\n```\n\n```\n"),
            Err(OutputError::Empty)
        );
    }

    #[test]
    fn a_truncated_block_is_refused() {
        assert_eq!(
            extract_replacement("Sure:\n```rust\nfn f() {\n    let x"),
            Err(OutputError::UnclosedCodeBlock { opened_on_line: 2 })
        );
        assert_eq!(
            extract_replacement("```\ndone\n```\n```\ncut"),
            Err(OutputError::UnclosedCodeBlock { opened_on_line: 4 })
        );
    }

    #[test]
    fn a_fence_indented_four_spaces_is_not_a_fence() {
        assert_eq!(
            extract_replacement("    ```\n    code\n    ```\n"),
            Err(OutputError::NoCodeBlock)
        );
    }

    #[test]
    fn the_unclosed_fence_error_says_what_happened() {
        let message = OutputError::UnclosedCodeBlock { opened_on_line: 3 }.to_string();
        assert_eq!(
            message,
            "the answer was cut off inside its code block (the fence opened on line 3 never closes)"
        );
    }

    #[test]
    fn fitting_adds_the_base_trailing_newline() {
        assert_eq!(fit_to_region("a\nb", "x\ny\n"), "a\nb\n");
    }

    #[test]
    fn fitting_strips_a_newline_the_base_lacks() {
        assert_eq!(fit_to_region("a\nb\n", "x\ny"), "a\nb");
        assert_eq!(fit_to_region("a\r\nb\r\n", "x\r\ny"), "a\r\nb");
    }

    #[test]
    fn fitting_follows_a_crlf_base() {
        assert_eq!(fit_to_region("a\nb\n", "x\r\ny\r\n"), "a\r\nb\r\n");
        assert_eq!(fit_to_region("a\r\nb\nc", "x\r\n"), "a\r\nb\r\nc\r\n");
    }

    #[test]
    fn fitting_follows_an_lf_base() {
        assert_eq!(fit_to_region("a\r\nb\r\n", "x\ny\n"), "a\nb\n");
    }

    #[test]
    fn fitting_an_already_fitting_replacement_changes_nothing() {
        assert_eq!(fit_to_region("a\nb\n", "x\n"), "a\nb\n");
        assert_eq!(fit_to_region("a", "x"), "a");
    }
}
