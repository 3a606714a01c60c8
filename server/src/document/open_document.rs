//! One open document: its text, version and language, and how editor changes
//! become minimal byte edits.

use ropey::Rope;
use url::Url;

use super::minimal::unchanged_affix_lengths;
use super::position::{
    PositionEncoding, PositionError, Range, count_lone_carriage_returns, point_at_offset,
    range_to_byte_range_clamped,
};
use super::{ByteEdit, Point};

/// An open document as the editor last described it. Cloning is O(1) (the rope
/// shares its nodes), so a clone serves as a snapshot for readers.
#[derive(Debug, Clone)]
pub struct Document {
    pub uri: Url,
    /// The editor's version; LSP versions increase with every change.
    pub version: i32,
    pub language_id: String,
    /// The text. Change it only through [`Document::apply_changes`], which keeps
    /// the count of lone carriage returns below in step.
    pub text: Rope,
    /// How many `\r` in `text` are not followed by `\n`; tree-sitter points are
    /// cheap to compute only when there are none.
    lone_carriage_returns: usize,
}

/// One entry of a `didChange`: a replacement of `range`, or of the whole text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentChange {
    /// `None` replaces the whole document.
    pub range: Option<Range>,
    pub text: String,
}

/// Why a change could not be applied to a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("document {0} is not open")]
    UnknownDocument(Url),
    #[error("change {change_index} of version {version} of {uri} is invalid: {error}")]
    InvalidChange {
        uri: Url,
        version: i32,
        change_index: usize,
        error: PositionError,
    },
}

impl Document {
    pub fn new(uri: Url, version: i32, language_id: String, text: &str) -> Document {
        let text = Rope::from_str(text);
        let lone_carriage_returns = count_lone_carriage_returns(&text, 0..text.len_bytes());
        Document {
            uri,
            version,
            language_id,
            text,
            lone_carriage_returns,
        }
    }

    /// Applies the changes of one `didChange` in order and moves to `version`.
    ///
    /// Returns one minimal [`ByteEdit`] per change that changed anything, each in
    /// the coordinates of the text just before it. Positions are read the
    /// forgiving LSP way (clamped to the line and the document); a position inside
    /// a character or a range that ends before it starts is refused, and then
    /// nothing at all is applied.
    ///
    /// A version that does not increase is logged and applied anyway: the changes
    /// describe the editor's buffer whatever their number, and refusing them would
    /// leave the server's text out of step for good.
    pub fn apply_changes(
        &mut self,
        version: i32,
        changes: &[ContentChange],
        encoding: PositionEncoding,
    ) -> Result<Vec<ByteEdit>, DocumentError> {
        if version <= self.version {
            tracing::warn!(
                uri = %self.uri,
                current = self.version,
                received = version,
                "document version did not increase; applying the change anyway"
            );
        }
        let mut changed = self.clone();
        let mut edits = Vec::with_capacity(changes.len());
        for (change_index, change) in changes.iter().enumerate() {
            let byte_range = match change.range {
                None => 0..changed.text.len_bytes(),
                Some(range) => range_to_byte_range_clamped(&changed.text, range, encoding)
                    .map_err(|error| DocumentError::InvalidChange {
                        uri: self.uri.clone(),
                        version,
                        change_index,
                        error,
                    })?,
            };
            if let Some(edit) = changed.replace(byte_range, &change.text) {
                edits.push(edit);
            }
        }
        changed.version = version;
        *self = changed;
        Ok(edits)
    }

    /// The text of a byte range; `byte_range` must lie on char boundaries.
    pub fn slice(&self, byte_range: std::ops::Range<usize>) -> String {
        self.text.byte_slice(byte_range).to_string()
    }

    /// The number of lines as LSP counts them (a final line break starts an empty line).
    pub fn line_count(&self) -> usize {
        self.text.len_lines()
    }

    /// The tree-sitter point of byte `offset`, a char boundary not inside `\r\n`.
    pub fn point_at(&self, offset: usize) -> Point {
        point_at_offset(&self.text, offset, self.lone_carriage_returns > 0)
    }

    /// Replaces `byte_range` (char boundaries, never inside `\r\n`) by `new_text`
    /// and returns the minimal edit, or `None` when nothing changed.
    fn replace(&mut self, byte_range: std::ops::Range<usize>, new_text: &str) -> Option<ByteEdit> {
        let mut start = byte_range.start;
        let mut old_end = byte_range.end;
        let mut inserted = String::with_capacity(new_text.len() + 2);
        // Widen over a `\r` before and a `\n` after, so that trimming (which only
        // shrinks) can keep the edit's boundaries out of `\r\n` pairs the change
        // creates or breaks.
        if start > 0 && self.text.byte(start - 1) == b'\r' {
            start -= 1;
            inserted.push('\r');
        }
        inserted.push_str(new_text);
        if self.text.get_byte(old_end) == Some(b'\n') {
            old_end += 1;
            inserted.push('\n');
        }
        let old_text = self.slice(start..old_end);
        let preceding = start.checked_sub(1).map(|index| self.text.byte(index));
        let following = self.text.get_byte(old_end);
        let (prefix, suffix) = unchanged_affix_lengths(&old_text, &inserted, preceding, following);
        let start = start + prefix;
        let old_end = old_end - suffix;
        let inserted = &inserted[prefix..inserted.len() - suffix];
        if start == old_end && inserted.is_empty() {
            return None;
        }

        let start_point = self.point_at(start);
        let old_end_point = self.point_at(old_end);
        // Only the carriage returns from the byte before the edit to the byte
        // after it can change between lone and paired.
        let context_start = start.saturating_sub(1);
        self.lone_carriage_returns =
            self.lone_carriage_returns
                .saturating_sub(count_lone_carriage_returns(
                    &self.text,
                    context_start..old_end,
                ));
        let start_char = self.text.byte_to_char(start);
        let old_end_char = self.text.byte_to_char(old_end);
        self.text.remove(start_char..old_end_char);
        self.text.insert(start_char, inserted);
        let new_end = start + inserted.len();
        self.lone_carriage_returns +=
            count_lone_carriage_returns(&self.text, context_start..new_end);

        Some(ByteEdit {
            start,
            old_end,
            new_end,
            start_point,
            old_end_point,
            new_end_point: self.point_at(new_end),
            new_text: inserted.to_string(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;
    use crate::document::{Position, byte_range_to_range};
    use proptest::prelude::*;

    fn document(text: &str) -> Document {
        Document::new(
            Url::parse("file:///a.txt").unwrap(),
            1,
            "plaintext".into(),
            text,
        )
    }

    fn change(start: (u32, u32), end: (u32, u32), text: &str) -> ContentChange {
        ContentChange {
            range: Some(Range {
                start: Position {
                    line: start.0,
                    character: start.1,
                },
                end: Position {
                    line: end.0,
                    character: end.1,
                },
            }),
            text: text.into(),
        }
    }

    #[test]
    fn whole_line_and_single_character_reports_give_the_same_edit() {
        let mut by_line = document("let x = 1;\nlet y = 2;\n");
        let mut by_character = by_line.clone();
        let line_edits = by_line
            .apply_changes(
                2,
                &[change((1, 0), (2, 0), "let y = 3;\n")],
                PositionEncoding::Utf16,
            )
            .unwrap();
        let character_edits = by_character
            .apply_changes(2, &[change((1, 8), (1, 9), "3")], PositionEncoding::Utf16)
            .unwrap();
        assert_eq!(line_edits, character_edits);
        assert_eq!(
            line_edits,
            vec![ByteEdit {
                start: 19,
                old_end: 20,
                new_end: 20,
                start_point: Point { row: 1, column: 8 },
                old_end_point: Point { row: 1, column: 9 },
                new_end_point: Point { row: 1, column: 9 },
                new_text: "3".into(),
            }]
        );
    }

    #[test]
    fn edits_are_in_the_coordinates_of_the_text_before_each() {
        let mut document = document("😀ab");
        let edits = document
            .apply_changes(
                2,
                &[change((0, 2), (0, 2), "中"), change((0, 0), (0, 2), "")],
                PositionEncoding::Utf16,
            )
            .unwrap();
        assert_eq!(document.text.to_string(), "中ab");
        assert_eq!(
            (edits[0].start, edits[0].old_end, edits[0].new_end),
            (4, 4, 7)
        );
        assert_eq!(
            (edits[1].start, edits[1].old_end, edits[1].new_end),
            (0, 4, 0)
        );
    }

    #[test]
    fn no_op_changes_produce_no_edits() {
        let mut document = document("abc\r\n");
        let edits = document
            .apply_changes(
                2,
                &[change((0, 0), (1, 0), "abc\r\n")],
                PositionEncoding::Utf8,
            )
            .unwrap();
        assert!(edits.is_empty());
        assert_eq!(document.version, 2);
    }

    #[test]
    fn full_replacement_is_trimmed_too() {
        let mut document = document("one\ntwo\n");
        let edits = document
            .apply_changes(
                2,
                &[ContentChange {
                    range: None,
                    text: "one\n2\n".into(),
                }],
                PositionEncoding::Utf16,
            )
            .unwrap();
        assert_eq!(
            (edits[0].start, edits[0].old_end, edits[0].new_text.as_str()),
            (4, 7, "2")
        );
    }

    #[test]
    fn inserting_a_line_feed_after_a_lone_carriage_return_keeps_the_pair_whole() {
        let mut document = document("a\rb");
        let edits = document
            .apply_changes(2, &[change((1, 0), (1, 0), "\n")], PositionEncoding::Utf16)
            .unwrap();
        assert_eq!(document.text.to_string(), "a\r\nb");
        assert_eq!(
            (edits[0].start, edits[0].old_end, edits[0].new_text.as_str()),
            (1, 2, "\r\n")
        );
        // tree-sitter saw no row break before; now the `\n` ends row 0.
        assert_eq!(edits[0].old_end_point, Point { row: 0, column: 2 });
        assert_eq!(edits[0].new_end_point, Point { row: 1, column: 0 });
        assert_eq!(document.point_at(3), Point { row: 1, column: 0 });
    }

    #[test]
    fn deleting_between_a_carriage_return_and_a_line_feed_merges_them_into_one_edit() {
        let mut document = document("a\rx\nb");
        let edits = document
            .apply_changes(2, &[change((1, 0), (1, 1), "")], PositionEncoding::Utf16)
            .unwrap();
        assert_eq!(document.text.to_string(), "a\r\nb");
        assert_eq!(
            (edits[0].start, edits[0].old_end, edits[0].new_text.as_str()),
            (1, 4, "\r\n")
        );
    }

    #[test]
    fn a_reversed_range_applies_nothing() {
        let mut document = document("abc");
        let error = document
            .apply_changes(
                2,
                &[change((0, 0), (0, 0), "x"), change((0, 2), (0, 1), "")],
                PositionEncoding::Utf16,
            )
            .unwrap_err();
        assert!(error.to_string().contains("change 1 of version 2"));
        assert_eq!(document.text.to_string(), "abc");
        assert_eq!(document.version, 1);
    }

    #[test]
    fn a_stale_version_is_applied_anyway() {
        let mut document = document("abc");
        document
            .apply_changes(0, &[change((0, 0), (0, 0), "x")], PositionEncoding::Utf16)
            .unwrap();
        assert_eq!(document.text.to_string(), "xabc");
        assert_eq!(document.version, 0);
    }

    #[test]
    fn clamped_positions_past_the_end() {
        let mut document = document("ab\ncd");
        document
            .apply_changes(2, &[change((0, 9), (9, 9), "!")], PositionEncoding::Utf16)
            .unwrap();
        assert_eq!(document.text.to_string(), "ab!");
    }

    fn piece() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("a"),
            Just("b"),
            Just("😀"),
            Just("中"),
            Just("\r\n"),
            Just("\r"),
            Just("\n"),
        ]
    }

    fn text_strategy(max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(piece(), 0..max).prop_map(|pieces| pieces.concat())
    }

    /// A change picked by fractions of the current text, so it always applies.
    #[derive(Debug, Clone)]
    struct RandomChange {
        start: f64,
        length: f64,
        text: String,
        encoding_is_utf8: bool,
        whole_text: bool,
    }

    fn random_change() -> impl Strategy<Value = RandomChange> {
        (
            0.0..1.0f64,
            0.0..0.3f64,
            text_strategy(6),
            any::<bool>(),
            proptest::bool::weighted(0.05),
        )
            .prop_map(
                |(start, length, text, encoding_is_utf8, whole_text)| RandomChange {
                    start,
                    length,
                    text,
                    encoding_is_utf8,
                    whole_text,
                },
            )
    }

    /// The nearest char boundary at or below `offset` that is not inside `\r\n`.
    fn boundary_at_or_before(text: &str, mut offset: usize) -> usize {
        while !text.is_char_boundary(offset)
            || (offset > 0
                && text.as_bytes()[offset - 1] == b'\r'
                && text.as_bytes().get(offset) == Some(&b'\n'))
        {
            offset -= 1;
        }
        offset
    }

    proptest! {
        #[test]
        fn incremental_changes_match_the_same_changes_on_a_string(
            initial in text_strategy(30),
            changes in proptest::collection::vec(random_change(), 1..12),
        ) {
            let mut document = document(&initial);
            let mut expected = initial.clone();
            for (index, random) in changes.iter().enumerate() {
                let encoding = if random.encoding_is_utf8 { PositionEncoding::Utf8 } else { PositionEncoding::Utf16 };
                let before = document.text.clone();
                let change = if random.whole_text {
                    expected = random.text.clone();
                    ContentChange { range: None, text: random.text.clone() }
                } else {
                    let start = boundary_at_or_before(&expected, (random.start * expected.len() as f64) as usize);
                    let end = boundary_at_or_before(&expected, (start + (random.length * expected.len() as f64) as usize).min(expected.len()));
                    let range = byte_range_to_range(&document.text, start..end, encoding);
                    expected.replace_range(start..end, &random.text);
                    ContentChange { range: Some(range), text: random.text.clone() }
                };
                let edits = document.apply_changes(index as i32 + 2, &[change], encoding).unwrap();
                prop_assert_eq!(document.text.to_string(), expected.clone());

                // Replaying the returned edits on the previous text gives the same
                // text, and each edit's points are those of tree-sitter.
                let mut replayed = before.to_string();
                for edit in &edits {
                    prop_assert!(edit.start < edit.old_end || edit.start < edit.new_end);
                    let ts_point = |text: &str, offset: usize| Point {
                        row: text[..offset].matches('\n').count(),
                        column: offset - text[..offset].rfind('\n').map_or(0, |i| i + 1),
                    };
                    prop_assert_eq!(edit.start_point, ts_point(&replayed, edit.start));
                    prop_assert_eq!(edit.old_end_point, ts_point(&replayed, edit.old_end));
                    for boundary in [edit.start, edit.old_end] {
                        prop_assert!(!(boundary > 0 && replayed.as_bytes()[boundary - 1] == b'\r' && replayed.as_bytes().get(boundary) == Some(&b'\n')));
                    }
                    replayed.replace_range(edit.start..edit.old_end, &edit.new_text);
                    prop_assert_eq!(edit.new_end_point, ts_point(&replayed, edit.new_end));
                    for boundary in [edit.start, edit.new_end] {
                        prop_assert!(!(boundary > 0 && replayed.as_bytes()[boundary - 1] == b'\r' && replayed.as_bytes().get(boundary) == Some(&b'\n')));
                    }
                }
                prop_assert_eq!(replayed, expected.clone());
                prop_assert_eq!(
                    document.lone_carriage_returns,
                    count_lone_carriage_returns(&document.text, 0..document.text.len_bytes())
                );
            }
        }
    }
}
