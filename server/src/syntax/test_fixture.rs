//! Fixtures for the syntax tests: source text with `$0` markers for the
//! cursor (one marker) or the selection (two markers).

use std::ops::Range;

use ropey::Rope;

use crate::syntax::{Language, SyntaxTree};

/// A parsed fixture: the text without markers, its tree and the marked range.
pub(crate) struct Fixture {
    pub text: Rope,
    pub tree: SyntaxTree,
    pub marked: Range<usize>,
}

pub(crate) fn fixture(language: Language, source: &str) -> Fixture {
    let markers: Vec<usize> = source.match_indices("$0").map(|(offset, _)| offset).collect();
    let marked = match markers.as_slice() {
        [cursor] => *cursor..*cursor,
        [start, end] => *start..end - 2,
        _ => panic!("a fixture needs one or two `$0` markers, found {}", markers.len()),
    };
    let text = Rope::from_str(&source.replace("$0", ""));
    let tree = SyntaxTree::parse(language, &text).expect("fixture parses");
    Fixture { text, tree, marked }
}

impl Fixture {
    /// The text of a byte range, for readable assertions.
    pub fn slice(&self, range: Range<usize>) -> String {
        self.text.byte_slice(range).to_string()
    }
}
