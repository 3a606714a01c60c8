//! A change to a document expressed in bytes, the unit every other module uses.

/// A place in a text as tree-sitter wants it: a 0-based row and a byte column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Point {
    pub row: usize,
    pub column: usize,
}

/// One replacement applied to a document, in the coordinates of the text just
/// before it was applied. A batch of edits is applied in order, each one against
/// the text the previous one produced.
///
/// Edits are minimal: the common prefix and suffix of the replaced text and the
/// new text are trimmed away, so an editor that reports a whole line as changed
/// and one that reports only the changed character produce the same edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteEdit {
    /// Start of the replaced bytes.
    pub start: usize,
    /// End (exclusive) of the replaced bytes, before the edit.
    pub old_end: usize,
    /// End (exclusive) of the inserted bytes, after the edit.
    pub new_end: usize,
    pub start_point: Point,
    pub old_end_point: Point,
    pub new_end_point: Point,
    /// The inserted text (`new_end - start` bytes).
    pub new_text: String,
}

impl ByteEdit {
    /// How much every offset at or after `old_end` moves.
    pub fn delta(&self) -> isize {
        self.new_end as isize - self.old_end as isize
    }
}
