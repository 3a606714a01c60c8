//! Syntax errors found by tree-sitter's error recovery, as plain byte ranges
//! and messages that can become diagnostics or agent feedback.

use std::ops::Range;

use tree_sitter::Node;

use crate::syntax::SyntaxTree;

/// At most this many errors are reported for one tree: a binary or badly
/// broken file would otherwise produce thousands, and the first ones are the
/// ones worth reading.
pub const MAX_SYNTAX_ERRORS: usize = 100;

/// One place where the text does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub range: Range<usize>,
    pub message: String,
}

impl SyntaxTree {
    /// The `ERROR` and `MISSING` nodes of the tree, in document order, at most
    /// [`MAX_SYNTAX_ERRORS`]. Errors nested inside an `ERROR` node are not
    /// reported separately.
    pub fn syntax_errors(&self) -> Vec<SyntaxError> {
        syntax_errors_of(self.tree().root_node())
    }
}

pub(crate) fn syntax_errors_of(root: Node<'_>) -> Vec<SyntaxError> {
    let mut errors = Vec::new();
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        let mut descend = node.has_error();
        if node.is_error() {
            errors.push(SyntaxError {
                range: node.byte_range(),
                message: unexpected_message(node),
            });
            descend = false;
        } else if node.is_missing() {
            errors.push(SyntaxError {
                range: node.byte_range(),
                message: format!("missing {}", describe(node)),
            });
            descend = false;
        }
        if errors.len() >= MAX_SYNTAX_ERRORS {
            return errors;
        }
        if descend && cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return errors;
            }
        }
    }
}

/// Names the last token the parser skipped: recovery usually gives up at the
/// token that could not follow what came before it.
fn unexpected_message(error: Node<'_>) -> String {
    match error.child(error.child_count().saturating_sub(1)) {
        Some(first) => format!("unexpected {}", describe(first)),
        None => "unrecognised input".to_owned(),
    }
}

/// A token by its spelling (`` `;` ``), a named node by its kind in words.
fn describe(node: Node<'_>) -> String {
    if node.is_named() {
        node.kind().replace('_', " ")
    } else {
        format!("`{}`", node.kind())
    }
}

#[cfg(test)]
mod tests {
    use ropey::Rope;

    use crate::syntax::{Language, SyntaxTree};

    fn errors_of(language: Language, source: &str) -> Vec<(String, String)> {
        let text = Rope::from_str(source);
        let syntax = SyntaxTree::parse(language, &text).expect("parses");
        syntax
            .syntax_errors()
            .into_iter()
            .map(|error| (text.byte_slice(error.range).to_string(), error.message))
            .collect()
    }

    #[test]
    fn clean_code_has_no_errors() {
        assert!(errors_of(Language::Rust, "fn main() {}\n").is_empty());
    }

    #[test]
    fn missing_token_is_named() {
        let errors = errors_of(
            Language::Go,
            "package main\n\nfunc main() {\n\tx := f(1\n}\n",
        );
        assert!(!errors.is_empty());
        assert!(
            errors.iter().any(|(_, message)| message.contains('`')),
            "{errors:?}"
        );
    }

    #[test]
    fn unexpected_input_is_located() {
        let errors = errors_of(Language::Python, "def f():\n    return )\n");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0],
            ("return )".to_owned(), "unexpected `)`".to_owned())
        );
    }

    #[test]
    fn error_count_is_bounded() {
        let errors = errors_of(Language::JavaScript, &") ".repeat(10_000));
        assert!(!errors.is_empty() && errors.len() <= super::MAX_SYNTAX_ERRORS);
    }
}
