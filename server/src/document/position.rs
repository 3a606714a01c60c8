//! The one place where editor positions become byte offsets and back.
//!
//! Editors count characters in UTF-16 code units (or UTF-8 bytes when both sides
//! agree on it) within a line; the rest of Director counts bytes from the start
//! of the document. Lines end at `\n`, `\r\n` or a lone `\r` (ropey's `cr_lines`),
//! `\r\n` is one line break, and no position ever lands between its two bytes.
//! tree-sitter [`Point`]s are computed here too, because tree-sitter counts rows
//! differently (only `\n` starts a row).

use ropey::Rope;
use serde::{Deserialize, Serialize};

use super::Point;

/// How the `character` of a [`Position`] is counted, as negotiated with the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PositionEncoding {
    /// UTF-8 bytes, used when the client offers `utf-8`.
    Utf8,
    /// UTF-16 code units, the LSP default.
    Utf16,
}

/// A 0-based line and a character offset within that line, in some [`PositionEncoding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

/// A half-open range of [`Position`]s, `start` included, `end` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Range {
    pub start: Position,
    pub end: Position,
}

/// Why a position sent by an editor names no place in the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PositionError {
    #[error("line {line} is past the end of the document, which has {line_count} lines")]
    LineOutOfRange { line: u32, line_count: usize },
    #[error(
        "character {character} is past the end of line {line}, which is {line_length} {encoding:?} units long"
    )]
    CharacterOutOfRange {
        line: u32,
        character: u32,
        line_length: usize,
        encoding: PositionEncoding,
    },
    #[error("character {character} on line {line} falls inside a multi-unit character")]
    InsideCharacter { line: u32, character: u32 },
    #[error(
        "range starts at {}:{} after it ends at {}:{}",
        start.line, start.character, end.line, end.character
    )]
    ReversedRange { start: Position, end: Position },
}

/// The byte offset of `position`, refusing any position that names no place in the
/// text: a line past the last one, a character past the end of the line's content,
/// or a character inside a multi-unit character.
pub fn position_to_offset(
    text: &Rope,
    position: Position,
    encoding: PositionEncoding,
) -> Result<usize, PositionError> {
    let line = position.line as usize;
    if line >= text.len_lines() {
        return Err(PositionError::LineOutOfRange {
            line: position.line,
            line_count: text.len_lines(),
        });
    }
    let line_start = text.line_to_byte(line);
    let content_end = line_content_end(text, line);
    let character = position.character as usize;
    let out_of_range = |line_length| PositionError::CharacterOutOfRange {
        line: position.line,
        character: position.character,
        line_length,
        encoding,
    };
    let inside_character = PositionError::InsideCharacter {
        line: position.line,
        character: position.character,
    };
    match encoding {
        PositionEncoding::Utf8 => {
            let offset = line_start.saturating_add(character);
            if offset > content_end {
                return Err(out_of_range(content_end - line_start));
            }
            if !is_char_boundary(text, offset) {
                return Err(inside_character);
            }
            Ok(offset)
        }
        PositionEncoding::Utf16 => {
            let line_start_unit = utf16_units_before(text, line_start);
            let content_end_unit = utf16_units_before(text, content_end);
            let target_unit = line_start_unit.saturating_add(character);
            if target_unit > content_end_unit {
                return Err(out_of_range(content_end_unit - line_start_unit));
            }
            let char_index = text.utf16_cu_to_char(target_unit);
            if text.char_to_utf16_cu(char_index) != target_unit {
                return Err(inside_character);
            }
            Ok(text.char_to_byte(char_index))
        }
    }
}

/// The byte offset of `position` read the forgiving way LSP asks for in
/// `didChange`: a line past the end means the end of the document, and a
/// character past the end of the line means the end of the line's content.
///
/// A character inside a multi-unit character is still refused. No editor can
/// cut its text there and keep it valid Unicode, so such a position means the
/// editor counts differently or its text already differs from ours; rounding it
/// would make the two texts differ silently from then on.
pub fn position_to_offset_clamped(
    text: &Rope,
    position: Position,
    encoding: PositionEncoding,
) -> Result<usize, PositionError> {
    match position_to_offset(text, position, encoding) {
        Err(PositionError::LineOutOfRange { .. }) => Ok(text.len_bytes()),
        Err(PositionError::CharacterOutOfRange { .. }) => {
            Ok(line_content_end(text, position.line as usize))
        }
        exact_or_refused => exact_or_refused,
    }
}

/// The position of byte `offset`. Offsets come from Director itself, so this never
/// fails: an offset past the end means the end, one inside a character means the
/// start of that character, and one between `\r` and `\n` means the end of the
/// line's content.
pub fn offset_to_position(text: &Rope, offset: usize, encoding: PositionEncoding) -> Position {
    let offset = text.char_to_byte(text.byte_to_char(offset.min(text.len_bytes())));
    let line = text.byte_to_line(offset);
    let line_start = text.line_to_byte(line);
    let offset = offset.min(line_content_end(text, line));
    let character = match encoding {
        PositionEncoding::Utf8 => offset - line_start,
        PositionEncoding::Utf16 => {
            utf16_units_before(text, offset) - utf16_units_before(text, line_start)
        }
    };
    Position {
        line: saturating_u32(line),
        character: saturating_u32(character),
    }
}

/// The byte range of `range`, refusing positions that name no place (see
/// [`position_to_offset`]) and ranges that end before they start.
pub fn range_to_byte_range(
    text: &Rope,
    range: Range,
    encoding: PositionEncoding,
) -> Result<std::ops::Range<usize>, PositionError> {
    let start = position_to_offset(text, range.start, encoding)?;
    let end = position_to_offset(text, range.end, encoding)?;
    ordered(start, end, range)
}

/// The byte range of `range` with both ends clamped as in
/// [`position_to_offset_clamped`]; an end inside a character, or a range that
/// ends before it starts, is refused.
pub fn range_to_byte_range_clamped(
    text: &Rope,
    range: Range,
    encoding: PositionEncoding,
) -> Result<std::ops::Range<usize>, PositionError> {
    let start = position_to_offset_clamped(text, range.start, encoding)?;
    let end = position_to_offset_clamped(text, range.end, encoding)?;
    ordered(start, end, range)
}

/// The [`Range`] of a byte range, each end converted by [`offset_to_position`].
pub fn byte_range_to_range(
    text: &Rope,
    byte_range: std::ops::Range<usize>,
    encoding: PositionEncoding,
) -> Range {
    Range {
        start: offset_to_position(text, byte_range.start, encoding),
        end: offset_to_position(text, byte_range.end, encoding),
    }
}

/// The tree-sitter point of byte `offset` (a char boundary, not inside `\r\n`).
///
/// tree-sitter starts a row only after `\n`, so a lone `\r` stays in its row while
/// ropey starts a line after it. `text_has_lone_carriage_return` lets the common
/// case (no lone `\r`) use ropey's line index; otherwise the text is scanned.
pub(super) fn point_at_offset(
    text: &Rope,
    offset: usize,
    text_has_lone_carriage_return: bool,
) -> Point {
    if !text_has_lone_carriage_return {
        let row = text.byte_to_line(offset);
        return Point {
            row,
            column: offset - text.line_to_byte(row),
        };
    }
    let mut row = 0;
    let mut row_start = 0;
    for (index, byte) in text.byte_slice(..offset).bytes().enumerate() {
        if byte == b'\n' {
            row += 1;
            row_start = index + 1;
        }
    }
    Point {
        row,
        column: offset - row_start,
    }
}

/// How many carriage returns in `text` at byte indices in `byte_range` are not
/// followed by a line feed (the line feed itself may lie past the range).
pub(super) fn count_lone_carriage_returns(
    text: &Rope,
    byte_range: std::ops::Range<usize>,
) -> usize {
    let end = byte_range.end.min(text.len_bytes());
    let start = byte_range.start.min(end);
    let mut count = 0;
    let mut bytes = text.bytes_at(start).peekable();
    let mut index = start;
    while index < end {
        let Some(byte) = bytes.next() else { break };
        if byte == b'\r' && bytes.peek() != Some(&b'\n') {
            count += 1;
        }
        index += 1;
    }
    count
}

/// The byte offset where line `line`'s content ends, before its line break.
fn line_content_end(text: &Rope, line: usize) -> usize {
    let line_start = text.line_to_byte(line);
    let mut end = text.line_to_byte(line + 1);
    if line + 1 < text.len_lines() {
        if end > line_start && text.byte(end - 1) == b'\n' {
            end -= 1;
        }
        if end > line_start && text.byte(end - 1) == b'\r' {
            end -= 1;
        }
    }
    end
}

fn is_char_boundary(text: &Rope, offset: usize) -> bool {
    text.char_to_byte(text.byte_to_char(offset)) == offset
}

fn utf16_units_before(text: &Rope, offset: usize) -> usize {
    text.char_to_utf16_cu(text.byte_to_char(offset))
}

fn ordered(
    start: usize,
    end: usize,
    range: Range,
) -> Result<std::ops::Range<usize>, PositionError> {
    if start > end {
        return Err(PositionError::ReversedRange {
            start: range.start,
            end: range.end,
        });
    }
    Ok(start..end)
}

fn saturating_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;
    use proptest::prelude::*;

    use PositionEncoding::{Utf8, Utf16};

    fn position(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn emoji_counts_four_bytes_or_two_utf16_units() {
        let text = Rope::from_str("a😀b\n");
        assert_eq!(position_to_offset(&text, position(0, 3), Utf16), Ok(5));
        assert_eq!(position_to_offset(&text, position(0, 5), Utf8), Ok(5));
        assert_eq!(offset_to_position(&text, 5, Utf16), position(0, 3));
        assert_eq!(offset_to_position(&text, 5, Utf8), position(0, 5));
    }

    #[test]
    fn inside_a_surrogate_pair_or_utf8_sequence_is_refused() {
        let text = Rope::from_str("a😀b");
        // The forgiving form refuses them too: rounding would hide a divergence.
        for to_offset in [position_to_offset, position_to_offset_clamped] {
            assert_eq!(
                to_offset(&text, position(0, 2), Utf16),
                Err(PositionError::InsideCharacter {
                    line: 0,
                    character: 2
                })
            );
            assert!(matches!(
                to_offset(&text, position(0, 3), Utf8),
                Err(PositionError::InsideCharacter { .. })
            ));
        }
        assert_eq!(
            position_to_offset_clamped(&text, position(0, 9), Utf16),
            Ok(6)
        );
    }

    #[test]
    fn cjk_is_three_bytes_and_one_utf16_unit() {
        let text = Rope::from_str("中文\n字");
        assert_eq!(position_to_offset(&text, position(0, 1), Utf16), Ok(3));
        assert_eq!(position_to_offset(&text, position(1, 1), Utf16), Ok(10));
        assert_eq!(offset_to_position(&text, 10, Utf8), position(1, 3));
    }

    #[test]
    fn crlf_is_one_line_break_and_no_position_lands_inside_it() {
        let text = Rope::from_str("ab\r\ncd");
        assert_eq!(position_to_offset(&text, position(0, 2), Utf16), Ok(2));
        assert_eq!(position_to_offset(&text, position(1, 0), Utf16), Ok(4));
        assert_eq!(
            position_to_offset(&text, position(0, 3), Utf16),
            Err(PositionError::CharacterOutOfRange {
                line: 0,
                character: 3,
                line_length: 2,
                encoding: Utf16
            })
        );
        assert_eq!(
            position_to_offset_clamped(&text, position(0, 9), Utf16),
            Ok(2)
        );
        // The offset between `\r` and `\n` reads as the end of the line's content.
        assert_eq!(offset_to_position(&text, 3, Utf16), position(0, 2));
        assert_eq!(offset_to_position(&text, 4, Utf16), position(1, 0));
    }

    #[test]
    fn lone_carriage_return_ends_a_line() {
        let text = Rope::from_str("a\rb");
        assert_eq!(position_to_offset(&text, position(1, 0), Utf16), Ok(2));
        assert_eq!(offset_to_position(&text, 2, Utf8), position(1, 0));
        assert_eq!(
            position_to_offset_clamped(&text, position(0, 5), Utf8),
            Ok(1)
        );
    }

    #[test]
    fn empty_document_has_one_empty_line() {
        let text = Rope::new();
        assert_eq!(position_to_offset(&text, position(0, 0), Utf16), Ok(0));
        assert_eq!(
            position_to_offset(&text, position(1, 0), Utf16),
            Err(PositionError::LineOutOfRange {
                line: 1,
                line_count: 1
            })
        );
        assert_eq!(offset_to_position(&text, 0, Utf16), position(0, 0));
    }

    #[test]
    fn end_of_document_and_beyond() {
        let text = Rope::from_str("ab\n");
        assert_eq!(position_to_offset(&text, position(1, 0), Utf16), Ok(3));
        assert_eq!(
            position_to_offset_clamped(&text, position(7, 7), Utf16),
            Ok(3)
        );
        assert_eq!(offset_to_position(&text, 99, Utf16), position(1, 0));
        assert!(position_to_offset(&text, position(2, 0), Utf16).is_err());
    }

    #[test]
    fn reversed_ranges_are_refused_with_a_readable_message() {
        let text = Rope::from_str("abc");
        let range = Range {
            start: position(0, 2),
            end: position(0, 1),
        };
        let error = range_to_byte_range_clamped(&text, range, Utf16).unwrap_err();
        assert_eq!(
            error.to_string(),
            "range starts at 0:2 after it ends at 0:1"
        );
        assert_eq!(
            range_to_byte_range(
                &text,
                Range {
                    start: position(0, 1),
                    end: position(0, 3)
                },
                Utf16
            ),
            Ok(1..3)
        );
    }

    #[test]
    fn tree_sitter_rows_ignore_lone_carriage_returns() {
        let text = Rope::from_str("a\rb\nc\r\nd");
        assert_eq!(point_at_offset(&text, 2, true), Point { row: 0, column: 2 });
        assert_eq!(point_at_offset(&text, 4, true), Point { row: 1, column: 0 });
        assert_eq!(point_at_offset(&text, 7, true), Point { row: 2, column: 0 });
        let text = Rope::from_str("a\nb\r\nc");
        assert_eq!(
            point_at_offset(&text, 5, false),
            Point { row: 2, column: 0 }
        );
        assert_eq!(
            count_lone_carriage_returns(&Rope::from_str("\r\r\n\r"), 0..4),
            2
        );
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("Z"),
                Just(" "),
                Just("😀"),
                Just("中"),
                Just("é"),
                Just("\r\n"),
                Just("\r"),
                Just("\n"),
            ],
            0..40,
        )
        .prop_map(|pieces| pieces.concat())
    }

    fn inside_crlf(text: &str, offset: usize) -> bool {
        offset > 0
            && text.as_bytes()[offset - 1] == b'\r'
            && text.as_bytes().get(offset) == Some(&b'\n')
    }

    proptest! {
        #[test]
        fn offsets_round_trip_through_positions(text in text_strategy()) {
            let rope = Rope::from_str(&text);
            for encoding in [Utf8, Utf16] {
                for offset in (0..=text.len()).filter(|offset| text.is_char_boundary(*offset)) {
                    let position = offset_to_position(&rope, offset, encoding);
                    let back = position_to_offset(&rope, position, encoding);
                    if inside_crlf(&text, offset) {
                        prop_assert_eq!(back, Ok(offset - 1));
                    } else {
                        prop_assert_eq!(back, Ok(offset));
                        prop_assert_eq!(position_to_offset_clamped(&rope, position, encoding), Ok(offset));
                    }
                }
            }
        }

        #[test]
        fn tree_sitter_points_count_only_line_feeds(text in text_strategy()) {
            let rope = Rope::from_str(&text);
            let lone = count_lone_carriage_returns(&rope, 0..text.len()) > 0;
            for offset in (0..=text.len()).filter(|offset| text.is_char_boundary(*offset) && !inside_crlf(&text, *offset)) {
                let before = &text[..offset];
                let expected = Point {
                    row: before.matches('\n').count(),
                    column: offset - before.rfind('\n').map_or(0, |index| index + 1),
                };
                prop_assert_eq!(point_at_offset(&rope, offset, lone), expected);
            }
        }
    }
}
