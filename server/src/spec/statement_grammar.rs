//! Reads one requirement statement with the `requirements` tree-sitter grammar
//! (`grammars/tree-sitter-requirements`): its EARS clauses, subject, modal and
//! response. Editors highlight statements with the same grammar, so the server and
//! the editor agree on where a clause ends. [`crate::spec::ears`] classifies the parts.

use std::cell::RefCell;
use std::ops::Range;

use tree_sitter::{Node, Parser};

use crate::spec::model::Modal;

/// The keyword that opens an EARS clause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClauseKind {
    Where,
    While,
    When,
    If,
}

/// One EARS clause; ranges are byte ranges into the parsed text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clause {
    pub kind: ClauseKind,
    /// The condition alone: no keyword, comma or THEN.
    pub condition: Range<usize>,
    /// THEN closed the clause (`IF … THEN`, Kiro's `WHEN … THEN`).
    pub ended_with_then: bool,
}

/// The parts of a statement that has a modal; ranges are byte ranges into the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementParts {
    /// In written order.
    pub clauses: Vec<Clause>,
    pub subject: Option<Range<usize>>,
    /// The first modal of the statement; later ones belong to the response.
    pub modal: Modal,
    pub modal_range: Range<usize>,
    pub response: Option<Range<usize>>,
}

thread_local! {
    static STATEMENT_PARSER: RefCell<Option<Parser>> = RefCell::new(new_statement_parser());
}

/// Parses `text` as one statement; line breaks count as spaces. Returns `None` when
/// the text has no modal, so it is prose rather than a requirement statement.
pub fn parse_statement(text: &str) -> Option<StatementParts> {
    // Same byte length, so the ranges stay valid for `text`.
    let single_line = text.replace(['\n', '\r'], " ");
    let tree = STATEMENT_PARSER.with(|cell| {
        cell.borrow_mut()
            .as_mut()
            .and_then(|parser| parser.parse(&single_line, None))
    })?;
    let root = tree.root_node();
    let mut cursor = root.walk();
    let statement = root
        .named_children(&mut cursor)
        .find(|node| node.kind() == "ears_statement")?;
    statement_parts(statement, single_line.as_bytes())
}

fn new_statement_parser() -> Option<Parser> {
    let mut parser = Parser::new();
    match parser.set_language(&tree_sitter_requirements::LANGUAGE.into()) {
        Ok(()) => Some(parser),
        Err(error) => {
            tracing::error!("the requirements grammar does not load: {error}");
            None
        }
    }
}

fn statement_parts(statement: Node, source: &[u8]) -> Option<StatementParts> {
    let mut clauses = Vec::new();
    let mut subject = None;
    let mut modal = None;
    let mut response = None;
    let mut cursor = statement.walk();
    for child in statement.named_children(&mut cursor) {
        match child.kind() {
            "precondition" | "trigger" | "unwanted" => clauses.extend(clause(child)),
            "subject" => subject = Some(child.byte_range()),
            "modal" => modal = Some((modal_kind(child, source), child.byte_range())),
            "response" => response = Some(child.byte_range()),
            _ => {}
        }
    }
    let (modal, modal_range) = modal?;
    Some(StatementParts {
        clauses,
        subject,
        modal,
        modal_range,
        response,
    })
}

fn clause(node: Node) -> Option<Clause> {
    let kind = match node.child_by_field_name("keyword")?.kind() {
        "where" => ClauseKind::Where,
        "while" => ClauseKind::While,
        "when" => ClauseKind::When,
        _ => ClauseKind::If,
    };
    let condition = node.child_by_field_name("condition")?.byte_range();
    let mut cursor = node.walk();
    let ended_with_then = node
        .named_children(&mut cursor)
        .any(|child| child.kind() == "then");
    Some(Clause {
        kind,
        condition,
        ended_with_then,
    })
}

/// Reads the modal from its words, so spacing and emphasis between them
/// (`SHALL  **NOT**`) do not matter.
fn modal_kind(node: Node, source: &[u8]) -> Modal {
    let words: Vec<String> = node
        .utf8_text(source)
        .unwrap_or_default()
        .split_whitespace()
        .map(|word| word.trim_matches(['*', '_']).to_ascii_uppercase())
        .filter(|word| !word.is_empty())
        .collect();
    match words.join(" ").as_str() {
        "SHALL CONTINUE TO" => Modal::ShallContinueTo,
        "SHALL NOT" => Modal::ShallNot,
        "SHALL" => Modal::Shall,
        "MUST NOT" => Modal::MustNot,
        "MUST" => Modal::Must,
        "SHOULD NOT" => Modal::ShouldNot,
        "SHOULD" => Modal::Should,
        "MAY" => Modal::May,
        _ => Modal::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn parts(text: &str) -> StatementParts {
        parse_statement(text).expect("a statement with a modal")
    }

    fn slice(text: &str, range: &Range<usize>) -> String {
        text[range.clone()].to_string()
    }

    #[test]
    fn splits_a_complex_statement_into_its_parts() {
        let text = "WHERE 2FA is on, WHILE a session is active, WHEN a request arrives, \
                    THE Session service SHALL extend its expiry";
        let statement = parts(text);
        let clauses: Vec<(ClauseKind, String)> = statement
            .clauses
            .iter()
            .map(|clause| (clause.kind, slice(text, &clause.condition)))
            .collect();
        assert_eq!(
            clauses,
            vec![
                (ClauseKind::Where, "2FA is on".to_string()),
                (ClauseKind::While, "a session is active".to_string()),
                (ClauseKind::When, "a request arrives".to_string()),
            ]
        );
        assert_eq!(
            statement.subject.map(|subject| slice(text, &subject)),
            Some("THE Session service".to_string())
        );
        assert_eq!(statement.modal, Modal::Shall);
        assert_eq!(
            statement.response.map(|response| slice(text, &response)),
            Some("extend its expiry".to_string())
        );
    }

    #[test]
    fn notes_which_clauses_then_closed() {
        let kiro = parts("WHEN a user logs in THEN the system SHALL log it");
        assert!(kiro.clauses[0].ended_with_then);
        let unwanted = parts("IF the token expired, THEN THE API SHALL respond 401");
        assert_eq!(unwanted.clauses[0].kind, ClauseKind::If);
        assert!(unwanted.clauses[0].ended_with_then);
        let event = parts("WHEN a user logs in, THE System SHALL log it");
        assert!(!event.clauses[0].ended_with_then);
    }

    #[test]
    fn reads_multi_word_and_lowercase_modals() {
        assert_eq!(
            parts("THE API SHALL **NOT** leak tokens").modal,
            Modal::ShallNot
        );
        assert_eq!(
            parts("the service shall continue to accept logins").modal,
            Modal::ShallContinueTo
        );
        assert_eq!(parts("System MUST NOT leak").modal, Modal::MustNot);
        assert_eq!(parts("System MUST notify users").modal, Modal::Must);
        assert_eq!(parts("A shall continue working").modal, Modal::Shall);
        assert_eq!(parts("Clients SHOULD retry").modal, Modal::Should);
        assert_eq!(parts("Clients MAY cache").modal, Modal::May);
    }

    #[test]
    fn prose_without_a_modal_is_no_statement() {
        assert_eq!(parse_statement("When I went home, I was tired."), None);
        assert_eq!(parse_statement("Users may log in when they should."), None);
        assert_eq!(parse_statement(""), None);
    }

    #[test]
    fn line_breaks_do_not_split_a_statement() {
        let text = "WHEN a user logs in,\nTHE System SHALL log it";
        let statement = parts(text);
        assert_eq!(statement.clauses.len(), 1);
        assert_eq!(
            statement.subject.map(|subject| slice(text, &subject)),
            Some("THE System".to_string())
        );
    }
}
