//! Open documents: ropey texts, versions, and the one place where editor
//! positions (UTF-8 or UTF-16 code units) become byte offsets and back.

mod edit;

pub use edit::{ByteEdit, Point};
