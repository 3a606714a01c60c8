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
    /// forgiving LSP way (clamped to the line and the document); a range that ends
    /// before it starts is refused, and then nothing at all is applied.
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
