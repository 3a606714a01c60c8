//! Open documents: ropey texts, versions, and the one place where editor
//! positions (UTF-8 or UTF-16 code units) become byte offsets and back.

mod edit;
mod freed_memory;
mod lines;
mod minimal;
mod open_document;
mod position;
mod store;

pub use edit::{ByteEdit, Point};
pub use freed_memory::{
    LARGE_DOCUMENT_BYTES, return_freed_memory, return_large_allocations_when_freed,
};
pub use lines::{char_position_to_offset, whole_lines};
pub use minimal::unchanged_affix_lengths;
pub use open_document::{ContentChange, Document, DocumentError};
pub use position::{
    Position, PositionEncoding, PositionError, Range, byte_range_to_range, offset_to_position,
    position_to_offset, position_to_offset_clamped, range_to_byte_range,
    range_to_byte_range_clamped,
};
pub use store::DocumentStore;
