//! Agent CLIs' output as plain text. CLIs colour and animate what they print
//! (codex, opencode), and those ANSI escape sequences would reach the user's
//! messages, the progress and the transcript as garbage; every piece of a
//! `command` or `acp` agent's output is stripped of them where it is read.

use anstream::adapter::strip_str;

/// `text` without its ANSI escape sequences.
pub fn without_ansi(text: &str) -> String {
    strip_str(text).to_string()
}

/// Strips a stream of pieces, an escape sequence split between two pieces
/// included: an unfinished sequence at the end of a piece waits for the next.
#[derive(Debug, Default)]
pub struct AnsiStripper {
    unfinished: String,
}

impl AnsiStripper {
    /// The plain text of the next piece.
    pub fn strip(&mut self, piece: &str) -> String {
        let mut text = std::mem::take(&mut self.unfinished);
        text.push_str(piece);
        if let Some(start) = unfinished_escape(&text) {
            self.unfinished = text.split_off(start);
        }
        without_ansi(&text)
    }
}

/// Where an escape sequence that `text` ends in the middle of starts.
fn unfinished_escape(text: &str) -> Option<usize> {
    let start = text.rfind('\x1b')?;
    let rest = &text[start + 1..];
    let finished = match rest.chars().next() {
        None => false,
        // A control sequence ends with a byte in `@`..=`~`.
        Some('[') => rest[1..].contains(|c: char| ('@'..='~').contains(&c)),
        // An operating system command (a window title) ends with BEL.
        Some(']') => rest.contains('\x07'),
        Some(_) => true,
    };
    (!finished).then_some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_cursor_moves_and_titles_go_and_the_text_stays() {
        let coloured = "\x1b[1;32m✓\x1b[0m done \x1b[2K\x1b[1Gnext\x1b]0;opencode\x07 line";
        assert_eq!(without_ansi(coloured), "✓ done next line");
        assert_eq!(without_ansi("plain: a [b] {c}\n"), "plain: a [b] {c}\n");
    }

    #[test]
    fn a_sequence_split_between_pieces_is_stripped_whole() {
        let mut stripper = AnsiStripper::default();
        let pieces = ["red: \x1b[3", "1mwarning\x1b", "[0m end"];
        let plain: String = pieces.iter().map(|piece| stripper.strip(piece)).collect();
        assert_eq!(plain, "red: warning end");
    }
}
