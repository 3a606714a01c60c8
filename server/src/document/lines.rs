//! Whole lines and character columns: the units people use when they name a
//! region (a selection widened to lines, `--range 12:5-14:1` in a terminal).

use ropey::Rope;
use std::ops::Range;

/// `range` grown to whole lines: from the start of its first line to just after
/// the line break of its last line (or the end of the text). A range that ends
/// at the very start of a line does not take that line in.
pub fn whole_lines(text: &Rope, range: Range<usize>) -> Range<usize> {
    let len = text.len_bytes();
    let start = range.start.min(len);
    let end = range.end.min(len).max(start);
    let first_line = text.byte_to_line(start);
    let line_start = text.line_to_byte(first_line);
    let last_line = if end > start && end == text.line_to_byte(text.byte_to_line(end)) {
        text.byte_to_line(end) - 1
    } else {
        text.byte_to_line(end)
    };
    let line_end = if last_line + 1 < text.len_lines() {
        text.line_to_byte(last_line + 1)
    } else {
        len
    };
    line_start..line_end.max(line_start)
}

/// The byte offset of a 0-based line and a 0-based column counted in characters
/// (Unicode scalar values); `None` past the last line or past the end of the
/// line's content.
pub fn char_position_to_offset(text: &Rope, line: usize, column: usize) -> Option<usize> {
    if line >= text.len_lines() {
        return None;
    }
    let line_text = text.line(line);
    let content_chars = line_text
        .chars()
        .take_while(|character| *character != '\n' && *character != '\r')
        .count();
    if column > content_chars {
        return None;
    }
    Some(text.line_to_byte(line) + line_text.char_to_byte(column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_grow_to_whole_lines() {
        let text = Rope::from_str("one\ntwo\r\nthree");
        assert_eq!(whole_lines(&text, 1..1), 0..4);
        assert_eq!(whole_lines(&text, 5..6), 4..9);
        assert_eq!(whole_lines(&text, 1..4), 0..4, "ending at a line start keeps that line out");
        assert_eq!(whole_lines(&text, 10..11), 9..14);
        assert_eq!(whole_lines(&text, 0..99), 0..14);
    }

    #[test]
    fn character_columns_count_scalar_values() {
        let text = Rope::from_str("a😀b\n漢字\n");
        assert_eq!(char_position_to_offset(&text, 0, 2), Some(5));
        assert_eq!(char_position_to_offset(&text, 1, 1), Some(10));
        assert_eq!(char_position_to_offset(&text, 1, 2), Some(13));
        assert!(char_position_to_offset(&text, 1, 3).is_none());
        assert!(char_position_to_offset(&text, 5, 0).is_none());
    }
}
