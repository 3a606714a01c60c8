//! Rust binding of the `requirements` tree-sitter grammar: one requirement
//! statement per line, with EARS clauses, RFC 2119 modals, requirement references
//! and `@spec` trace tags. The parser is generated from `grammar.js` and committed,
//! so this crate builds without the tree-sitter CLI.
//!
//! ```
//! let mut parser = tree_sitter::Parser::new();
//! parser
//!     .set_language(&tree_sitter_requirements::LANGUAGE.into())
//!     .expect("the grammar's ABI is supported by the runtime");
//! let tree = parser
//!     .parse("WHEN a user logs in, THE System SHALL log it", None)
//!     .expect("parsing without a timeout always yields a tree");
//! assert_eq!(tree.root_node().child(0).map(|node| node.kind()), Some("ears_statement"));
//! ```

use tree_sitter_language::LanguageFn;

unsafe extern "C" {
    fn tree_sitter_requirements() -> *const ();
}

/// The grammar, for `tree_sitter::Parser::set_language(&LANGUAGE.into())`.
pub const LANGUAGE: LanguageFn = unsafe { LanguageFn::from_raw(tree_sitter_requirements) };

/// Node kinds and fields as `tree-sitter generate` describes them.
pub const NODE_TYPES: &str = include_str!("../../src/node-types.json");

/// Highlight captures editors understand (`@keyword`, `@keyword.modifier`, `@label`).
pub const HIGHLIGHTS_QUERY: &str = include_str!("../../queries/highlights.scm");

/// How to inject this grammar into Markdown paragraphs and list items.
pub const MARKDOWN_INJECTIONS_QUERY: &str = include_str!("../../markdown-injections.scm");

#[cfg(test)]
mod tests;
