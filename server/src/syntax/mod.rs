//! tree-sitter for Director: parse documents (fresh and incrementally, into a
//! bounded cache that typing never waits on), find
//! the items around a selection, widen selections to whole items, and check
//! whether a proposed text adds syntax errors.
//!
//! Everything here speaks bytes and [`ropey::Rope`]s, never LSP types.

mod cache;
mod errors;
mod item_rules;
mod items;
mod language;
mod reparse_queue;
mod tree;
mod validate;
mod widen;

#[cfg(test)]
mod test_fixture;

pub use cache::{MAX_TREE_LINE_BYTES, MAX_TREE_TEXT_BYTES, ParseJob, ParsedJob, SyntaxCache};
pub use errors::{MAX_SYNTAX_ERRORS, SyntaxError};
pub use items::{Item, ItemKind};
pub use language::Language;
pub use reparse_queue::ReparseQueue;
pub use tree::{MAX_PARSE_BYTES, PARSE_TIME_LIMIT, ParseFailure, SyntaxTree};
pub use validate::{ValidationReport, validate_replacement};
