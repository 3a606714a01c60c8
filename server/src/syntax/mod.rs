//! tree-sitter for Director: parse documents (fresh and incrementally), find
//! the items around a selection, widen selections to whole items, and check
//! whether a proposed text adds syntax errors.
//!
//! Everything here speaks bytes and [`ropey::Rope`]s, never LSP types.

mod errors;
mod item_rules;
mod items;
mod language;
mod tree;
mod validate;
mod widen;

#[cfg(test)]
mod test_fixture;

pub use errors::{MAX_SYNTAX_ERRORS, SyntaxError};
pub use items::{Item, ItemKind};
pub use language::Language;
pub use tree::{MAX_PARSE_BYTES, PARSE_TIME_LIMIT, ParseFailure, SyntaxTree};
pub use validate::{ValidationReport, validate_replacement};
