//! LSP coordinates over plain text, the way an editor resolves them.
//!
//! The harness keeps its own copy of every open document and must apply the
//! server's edits to it exactly as a real editor would, so it needs its own,
//! independent conversion from `(line, character)` in the negotiated
//! `positionEncoding` to byte offsets. Lines end at `\n`, `\r\n` or `\r`, as
//! the LSP specification says.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

/// The unit `Position::character` counts, as negotiated in `initialize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionEncoding {
    Utf8,
    Utf16,
}

impl PositionEncoding {
    /// Reads the name the server puts in `capabilities.positionEncoding`.
    pub fn from_lsp_name(name: &str) -> Option<PositionEncoding> {
        match name {
            "utf-8" => Some(PositionEncoding::Utf8),
            "utf-16" => Some(PositionEncoding::Utf16),
            _ => None,
        }
    }

    /// The name used on the wire.
    pub fn lsp_name(self) -> &'static str {
        match self {
            PositionEncoding::Utf8 => "utf-8",
            PositionEncoding::Utf16 => "utf-16",
        }
    }

    fn code_units(self, character: char) -> usize {
        match self {
            PositionEncoding::Utf8 => character.len_utf8(),
            PositionEncoding::Utf16 => character.len_utf16(),
        }
    }
}

/// An LSP `Position`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

/// An LSP `Range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub start: Position,
    pub end: Position,
}

/// An LSP `TextEdit` (an `annotationId`, if any, is ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextEdit {
    pub range: Range,
    pub new_text: String,
}

/// Resolves `position` to a byte offset in `text`.
///
/// A `character` past the end of its line means the end of the line, as the
/// specification says; a line past the last one, or a `character` that falls
/// inside a multi-unit character, is an error because a server that sends it
/// has a conversion bug the tests must see.
pub fn byte_offset(text: &str, position: Position, encoding: PositionEncoding) -> Result<usize> {
    let (line_start, line_end) = line_bounds(text, position.line)?;
    let wanted_units = position.character as usize;
    let mut units_so_far = 0;
    for (index_in_line, character) in text[line_start..line_end].char_indices() {
        if units_so_far == wanted_units {
            return Ok(line_start + index_in_line);
        }
        units_so_far += encoding.code_units(character);
        if units_so_far > wanted_units {
            bail!(
                "position {}:{} falls inside the character {character:?} ({})",
                position.line,
                position.character,
                encoding.lsp_name()
            );
        }
    }
    Ok(line_end)
}

/// Applies `edits`, whose ranges all refer to `text` as it is now, and
/// returns the new text together with the same edits ordered so that sending
/// them one after another as incremental `contentChanges` gives the same
/// result.
///
/// Edits are applied from the end of the text backwards; inserts at the same
/// position keep their order in `edits`, as the specification requires.
/// Overlapping edits are an error.
pub fn apply_text_edits(
    text: &str,
    edits: &[TextEdit],
    encoding: PositionEncoding,
) -> Result<(String, Vec<TextEdit>)> {
    let mut resolved = Vec::with_capacity(edits.len());
    for (index_in_request, edit) in edits.iter().enumerate() {
        let start = byte_offset(text, edit.range.start, encoding)?;
        let end = byte_offset(text, edit.range.end, encoding)?;
        if end < start {
            bail!("edit range {:?} ends before it starts", edit.range);
        }
        resolved.push((start, end, index_in_request));
    }
    // Last in the document first; among equal starts, last in the request
    // first, so that earlier inserts end up in front of later ones.
    resolved
        .sort_by_key(|&(start, _, index_in_request)| std::cmp::Reverse((start, index_in_request)));
    for pair in resolved.windows(2) {
        let (later_start, _, _) = pair[0];
        let (_, earlier_end, _) = pair[1];
        if earlier_end > later_start {
            bail!("edits overlap at byte {later_start}");
        }
    }
    let mut new_text = text.to_owned();
    let mut ordered_edits = Vec::with_capacity(edits.len());
    for (start, end, index_in_request) in resolved {
        new_text.replace_range(start..end, &edits[index_in_request].new_text);
        ordered_edits.push(edits[index_in_request].clone());
    }
    Ok((new_text, ordered_edits))
}

/// The byte range of line `line` without its line break.
fn line_bounds(text: &str, line: u32) -> Result<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut line_start = 0;
    let mut current_line = 0;
    let mut index = 0;
    while index < bytes.len() {
        let break_length = match bytes[index] {
            b'\n' => 1,
            b'\r' if bytes.get(index + 1) == Some(&b'\n') => 2,
            b'\r' => 1,
            _ => 0,
        };
        if break_length == 0 {
            index += 1;
            continue;
        }
        if current_line == line {
            return Ok((line_start, index));
        }
        current_line += 1;
        index += break_length;
        line_start = index;
    }
    if current_line == line {
        return Ok((line_start, bytes.len()));
    }
    bail!("line {line} is past the last line ({current_line})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    fn edit(start: (u32, u32), end: (u32, u32), new_text: &str) -> TextEdit {
        TextEdit {
            range: Range {
                start: position(start.0, start.1),
                end: position(end.0, end.1),
            },
            new_text: new_text.to_owned(),
        }
    }

    const MIXED: &str = "a😀b\r\n漢字x\rlast\nend";

    #[test]
    fn utf16_counts_surrogate_pairs_and_all_line_breaks() {
        let utf16 = PositionEncoding::Utf16;
        assert_eq!(byte_offset(MIXED, position(0, 1), utf16).unwrap(), 1);
        assert_eq!(byte_offset(MIXED, position(0, 3), utf16).unwrap(), 5);
        assert_eq!(byte_offset(MIXED, position(0, 4), utf16).unwrap(), 6);
        assert_eq!(byte_offset(MIXED, position(1, 2), utf16).unwrap(), 14);
        assert_eq!(byte_offset(MIXED, position(2, 0), utf16).unwrap(), 16);
        assert_eq!(byte_offset(MIXED, position(3, 3), utf16).unwrap(), 24);
    }

    #[test]
    fn utf8_counts_bytes() {
        let utf8 = PositionEncoding::Utf8;
        assert_eq!(byte_offset(MIXED, position(0, 5), utf8).unwrap(), 5);
        assert_eq!(byte_offset(MIXED, position(1, 6), utf8).unwrap(), 14);
    }

    #[test]
    fn past_line_end_clamps_but_inside_a_character_or_past_last_line_fails() {
        assert_eq!(
            byte_offset(MIXED, position(0, 99), PositionEncoding::Utf16).unwrap(),
            6
        );
        assert!(byte_offset(MIXED, position(0, 2), PositionEncoding::Utf16).is_err());
        assert!(byte_offset(MIXED, position(0, 3), PositionEncoding::Utf8).is_err());
        assert!(byte_offset(MIXED, position(4, 0), PositionEncoding::Utf16).is_err());
        assert_eq!(
            byte_offset("a\n", position(1, 0), PositionEncoding::Utf16).unwrap(),
            2
        );
    }

    #[test]
    fn edits_apply_back_to_front_and_replay_as_incremental_changes() {
        let edits = [
            edit((0, 3), (0, 4), "B"),
            edit((1, 0), (1, 2), "汉"),
            edit((0, 0), (0, 0), "<"),
        ];
        let (new_text, ordered) = apply_text_edits(MIXED, &edits, PositionEncoding::Utf16).unwrap();
        assert_eq!(new_text, "<a😀B\r\n汉x\rlast\nend");
        let mut replayed = MIXED.to_owned();
        for change in &ordered {
            let (next, _) = apply_text_edits(
                &replayed,
                std::slice::from_ref(change),
                PositionEncoding::Utf16,
            )
            .unwrap();
            replayed = next;
        }
        assert_eq!(replayed, new_text);
    }

    #[test]
    fn inserts_at_one_position_keep_request_order() {
        let edits = [edit((0, 1), (0, 1), "x"), edit((0, 1), (0, 1), "y")];
        let (new_text, _) = apply_text_edits("ab", &edits, PositionEncoding::Utf8).unwrap();
        assert_eq!(new_text, "axyb");
    }

    #[test]
    fn overlapping_edits_are_refused() {
        let edits = [edit((0, 0), (0, 2), "x"), edit((0, 1), (0, 3), "y")];
        assert!(apply_text_edits("abcd", &edits, PositionEncoding::Utf8).is_err());
    }
}
