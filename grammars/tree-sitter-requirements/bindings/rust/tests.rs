//! Parses samples with the committed parser through the tree-sitter runtime Director
//! uses, so `cargo test` checks the generated parser and the queries without the CLI.

use tree_sitter::{Node, Parser, Query, QueryCursor, StreamingIterator, Tree};

fn parse(text: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&crate::LANGUAGE.into())
        .expect("the runtime loads the grammar's ABI");
    parser
        .parse(text, None)
        .expect("parsing without a timeout yields a tree")
}

/// The kinds of the named nodes under `node`, depth first, as `kind` or `kind:text`
/// for the leaves that carry words.
fn outline(node: Node, text: &str, out: &mut Vec<String>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "requirement_reference"
            | "fingerprint"
            | "role"
            | "condition"
            | "subject"
            | "modal" => out.push(format!("{}:{}", child.kind(), &text[child.byte_range()])),
            "text" => {}
            kind => {
                out.push(kind.to_string());
                outline(child, text, out);
            }
        }
    }
}

#[track_caller]
fn assert_outline(text: &str, expected: &[&str]) {
    let tree = parse(text);
    assert!(
        !tree.root_node().has_error(),
        "{}",
        tree.root_node().to_sexp()
    );
    let mut actual = Vec::new();
    outline(tree.root_node(), text, &mut actual);
    assert_eq!(actual, expected);
}

#[test]
fn parses_each_ears_pattern() {
    assert_outline(
        "WHEN a session idles, THE Session service SHALL invalidate it.",
        &[
            "ears_statement",
            "trigger",
            "when",
            "condition:a session idles",
            "subject:THE Session service",
            "modal:SHALL",
            "response",
        ],
    );
    assert_outline(
        "IF the token expired, THEN THE API SHALL NOT respond",
        &[
            "ears_statement",
            "unwanted",
            "if",
            "condition:the token expired",
            "then",
            "subject:THE API",
            "modal:SHALL NOT",
            "response",
        ],
    );
    assert_outline(
        "WHERE 2FA is on, WHILE active, THE System shall continue to ask",
        &[
            "ears_statement",
            "precondition",
            "where",
            "condition:2FA is on",
            "precondition",
            "while",
            "condition:active",
            "subject:THE System",
            "modal:shall continue to",
            "response",
        ],
    );
}

#[test]
fn keeps_prose_error_free_and_keyword_free() {
    assert_outline(
        "When I went home, I was tired.\nUsers may log in if they should.\n(",
        &["sentence", "sentence", "sentence"],
    );
}

#[test]
fn finds_references_and_spec_tags() {
    assert_outline(
        "Covers REQ-12, login#LOGIN-003 and 1.2.",
        &[
            "sentence",
            "requirement_reference:REQ-12",
            "requirement_reference:login#LOGIN-003",
            "requirement_reference:1.2",
        ],
    );
    assert_outline(
        "@spec(test) auth-session#AUTH-003@1f9c2a7b, AUTH-4 hashes passwords",
        &[
            "sentence",
            "spec_tag",
            "role:(test)",
            "spec_target",
            "requirement_reference:auth-session#AUTH-003",
            "fingerprint:@1f9c2a7b",
            "spec_target",
            "requirement_reference:AUTH-4",
        ],
    );
}

#[test]
fn highlight_query_captures_keywords_modals_and_ids() {
    let language = crate::LANGUAGE.into();
    let query = Query::new(&language, crate::HIGHLIGHTS_QUERY).expect("highlights.scm compiles");
    let text = "WHEN REQ-1 fails, THE API SHALL retry";
    let tree = parse(text);
    let mut cursor = QueryCursor::new();
    let mut captures = cursor.captures(&query, tree.root_node(), text.as_bytes());
    let mut found = Vec::new();
    while let Some((found_match, index)) = captures.next() {
        let capture = found_match.captures[*index];
        found.push(format!(
            "{}={}",
            query.capture_names()[capture.index as usize],
            &text[capture.node.byte_range()]
        ));
    }
    assert_eq!(
        found,
        ["keyword=WHEN", "label=REQ-1", "keyword.modifier=SHALL"]
    );
}

#[test]
fn node_types_list_the_statement_nodes() {
    for kind in [
        "ears_statement",
        "sentence",
        "precondition",
        "trigger",
        "unwanted",
        "subject",
        "modal",
        "response",
        "requirement_reference",
        "spec_tag",
    ] {
        assert!(
            crate::NODE_TYPES.contains(&format!("\"type\": \"{kind}\"")),
            "{kind}"
        );
    }
}

#[test]
fn markdown_injection_targets_paragraphs_and_list_items() {
    let markdown = tree_sitter_md::LANGUAGE.into();
    let query = Query::new(&markdown, crate::MARKDOWN_INJECTIONS_QUERY)
        .expect("markdown-injections.scm compiles against tree-sitter-md");
    let text =
        "# Title\n\nTHE API SHALL log.\n\n1. WHEN x, THE API SHALL y\n\n```\ncode SHALL\n```\n";
    let mut parser = Parser::new();
    parser
        .set_language(&markdown)
        .expect("tree-sitter-md loads");
    let tree = parser.parse(text, None).expect("parsing yields a tree");
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(&query, tree.root_node(), text.as_bytes());
    let mut injected = Vec::new();
    while let Some(found) = matches.next() {
        for capture in found.captures {
            injected.push(text[capture.node.byte_range()].trim_end().to_string());
        }
    }
    assert_eq!(injected, ["THE API SHALL log.", "WHEN x, THE API SHALL y"]);
}

/// Pieces that stress the grammar's corners: clause keywords, modals, tag heads,
/// malformed roles and pins, brackets, emphasis, code spans and line breaks.
const TRICKY_PIECES: &[&str] = &[
    "WHEN",
    "when",
    "IF",
    "THEN",
    "WHERE",
    "While",
    "SHALL",
    "shall",
    "NOT",
    "MUST",
    "MAY",
    "SHOULD",
    "continue",
    "to",
    "REQUIRED",
    ",",
    ".",
    ":",
    "(",
    ")",
    "[",
    "]",
    "(a, b)",
    "`",
    "`code`",
    "*",
    "**",
    "_",
    "@spec",
    "@spec(test)",
    "@spec(",
    "@spec-end",
    "@1f9c2a7b",
    "@",
    "REQ-1",
    "1.2",
    "a#B-2",
    "x",
    "the",
    "--",
    "<!--",
    "\n",
];

proptest::proptest! {
    #[test]
    fn no_sequence_of_tricky_pieces_is_an_error(
        pieces in proptest::collection::vec(
            (proptest::sample::select(TRICKY_PIECES), proptest::bool::ANY),
            0..24,
        )
    ) {
        let text: String = pieces
            .iter()
            .map(|(piece, spaced)| if *spaced { format!(" {piece}") } else { piece.to_string() })
            .collect();
        let tree = parse(&text);
        proptest::prop_assert!(
            !tree.root_node().has_error(),
            "{text:?} gave {}",
            tree.root_node().to_sexp()
        );
    }
}
