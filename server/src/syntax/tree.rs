//! A parsed document: tree-sitter run over a rope, fresh or incrementally
//! after edits, with hard limits so that no file can block a thread forever.
//!
//! Parsers are kept one per thread (`thread_local!`): a `tree_sitter::Parser`
//! is `Send` but not `Sync`, and creating one per parse would allocate its
//! internal stacks again each keystroke. A parse halted by the time limit
//! leaves the parser mid-way, so it is reset before it is used again.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use ropey::Rope;
use tree_sitter::{InputEdit, ParseOptions, ParseState, Parser, Tree};

use crate::document::ByteEdit;
use crate::syntax::Language;

/// Texts larger than this are not parsed at all. tree-sitter addresses bytes
/// with `u32`, and a generated file this large is not something to run an
/// agent on; items and validation are simply unavailable for it.
pub const MAX_PARSE_BYTES: usize = 32 * 1024 * 1024;

/// A single parse (fresh or incremental) that runs longer than this is
/// abandoned. A 5 MB source file parses well within it on a slow machine.
pub const PARSE_TIME_LIMIT: Duration = Duration::from_secs(5);

/// Why a text has no syntax tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseFailure {
    #[error("text of {bytes} bytes is over the {MAX_PARSE_BYTES}-byte parse limit")]
    TooLarge { bytes: usize },
    #[error("parsing took longer than {} s", PARSE_TIME_LIMIT.as_secs())]
    TimedOut,
    #[error("the {0} grammar does not match the tree-sitter runtime")]
    IncompatibleGrammar(&'static str),
}

/// A document's syntax tree together with the language that produced it.
/// Cloning is cheap (tree-sitter trees share their nodes) and the tree is
/// `Send + Sync`, so it can live in a document snapshot.
#[derive(Debug, Clone)]
pub struct SyntaxTree {
    language: Language,
    tree: Tree,
}

impl SyntaxTree {
    /// Parses a whole document. `None` when the text is over
    /// [`MAX_PARSE_BYTES`] or the parse exceeds [`PARSE_TIME_LIMIT`].
    pub fn parse(language: Language, text: &Rope) -> Option<SyntaxTree> {
        SyntaxTree::try_parse(language, text)
            .inspect_err(|failure| {
                tracing::debug!(language = language.name(), %failure, "no syntax tree");
            })
            .ok()
    }

    /// Shifts the tree over a batch of edits (applied in order, as
    /// [`ByteEdit`] documents) without parsing: cheap, and enough to keep its
    /// offsets in bounds until [`SyntaxTree::reparse`] brings it up to date.
    ///
    /// Returns false, leaving the tree unusable, for an edit tree-sitter cannot
    /// make sense of; the caller should then drop the tree and parse afresh.
    pub fn edit(&mut self, edits: &[ByteEdit]) -> bool {
        let edits_are_consistent = edits
            .iter()
            .all(|edit| edit.start <= edit.old_end && edit.start <= edit.new_end);
        if edits_are_consistent {
            for edit in edits {
                self.tree.edit(&input_edit(edit));
            }
        }
        edits_are_consistent
    }

    /// Parses `text` again, reusing the parts of this tree (edited by
    /// [`SyntaxTree::edit`] to match `text`) that the edits left alone.
    pub fn reparse(&self, text: &Rope) -> Result<SyntaxTree, ParseFailure> {
        let deadline = Instant::now() + PARSE_TIME_LIMIT;
        let tree = parse_rope(self.language, text, Some(&self.tree), deadline)?;
        Ok(SyntaxTree {
            language: self.language,
            tree,
        })
    }

    /// Parses a whole document, saying why when there is no tree.
    pub fn try_parse(language: Language, text: &Rope) -> Result<SyntaxTree, ParseFailure> {
        let tree = parse_rope(language, text, None, Instant::now() + PARSE_TIME_LIMIT)?;
        Ok(SyntaxTree { language, tree })
    }

    pub fn language(&self) -> Language {
        self.language
    }

    /// The underlying tree, for callers that run their own queries.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }
}

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new(Parser::new());
}

fn input_edit(edit: &ByteEdit) -> InputEdit {
    let point = |point: crate::document::Point| tree_sitter::Point {
        row: point.row,
        column: point.column,
    };
    InputEdit {
        start_byte: edit.start,
        old_end_byte: edit.old_end,
        new_end_byte: edit.new_end,
        start_position: point(edit.start_point),
        old_end_position: point(edit.old_end_point),
        new_end_position: point(edit.new_end_point),
    }
}

/// Parses a rope chunk by chunk, without copying it into one string.
fn parse_rope(
    language: Language,
    text: &Rope,
    old_tree: Option<&Tree>,
    deadline: Instant,
) -> Result<Tree, ParseFailure> {
    let length = text.len_bytes();
    parse_chunks(language, length, old_tree, deadline, &mut |offset, _| {
        if offset >= length {
            return &[][..];
        }
        let (chunk, chunk_start, _, _) = text.chunk_at_byte(offset);
        &chunk.as_bytes()[offset - chunk_start..]
    })
}

/// Parses a string held in memory.
pub(crate) fn parse_str(language: Language, text: &str) -> Result<Tree, ParseFailure> {
    let bytes = text.as_bytes();
    let deadline = Instant::now() + PARSE_TIME_LIMIT;
    parse_chunks(language, bytes.len(), None, deadline, &mut |offset, _| {
        bytes.get(offset..).unwrap_or_default()
    })
}

fn parse_chunks<'text, ReadChunk>(
    language: Language,
    length: usize,
    old_tree: Option<&Tree>,
    deadline: Instant,
    read_chunk: &mut ReadChunk,
) -> Result<Tree, ParseFailure>
where
    ReadChunk: FnMut(usize, tree_sitter::Point) -> &'text [u8],
{
    if length > MAX_PARSE_BYTES {
        return Err(ParseFailure::TooLarge { bytes: length });
    }
    PARSER.with_borrow_mut(|parser| {
        if parser.set_language(&language.grammar()).is_err() {
            return Err(ParseFailure::IncompatibleGrammar(language.name()));
        }
        let mut past_deadline = |_: &ParseState| Instant::now() >= deadline;
        let options = ParseOptions::new().progress_callback(&mut past_deadline);
        let tree = parser.parse_with_options(read_chunk, old_tree, Some(options));
        if tree.is_none() {
            // A halted parse resumes on the next call unless reset, which
            // would mix this text into the next document's tree.
            parser.reset();
        }
        tree.ok_or(ParseFailure::TimedOut)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::test_fixture::{self, apply_edit};

    /// Edits a sample in several places, as typing would, and checks that the
    /// incrementally updated tree equals a fresh parse of the result.
    #[track_caller]
    fn check_incremental(language: Language, source: &str, replacements: &[(&str, &str)]) {
        let mut text = Rope::from_str(source);
        let mut syntax = SyntaxTree::parse(language, &text).expect("sample parses");
        let mut edits = Vec::new();
        for (old, new) in replacements {
            let start = text
                .to_string()
                .find(old)
                .expect("replaced text is in the sample");
            edits.push(apply_edit(&mut text, start..start + old.len(), new));
        }
        assert!(syntax.edit(&edits));
        let syntax = syntax.reparse(&text).expect("reparse succeeds");
        let fresh = SyntaxTree::parse(language, &text).expect("edited text parses");
        assert_eq!(
            syntax.tree().root_node().to_sexp(),
            fresh.tree().root_node().to_sexp()
        );
        assert_eq!(syntax.tree().root_node().end_byte(), text.len_bytes());
    }

    #[test]
    fn rust_incremental_reparse_matches_fresh_parse() {
        check_incremental(
            Language::Rust,
            test_fixture::RUST,
            &[
                ("build(tokens)", "build(tokens)?"),
                ("Crate", "Crate level"),
                ("helper", "helper_é"),
            ],
        );
    }

    #[test]
    fn python_incremental_reparse_matches_fresh_parse() {
        check_incremental(
            Language::Python,
            test_fixture::PYTHON,
            &[
                (
                    "return data",
                    "return data.strip()\n\n    def close(self):\n        pass",
                ),
                ("import os\n", ""),
            ],
        );
    }

    #[test]
    fn typescript_incremental_reparse_matches_fresh_parse() {
        check_incremental(
            Language::TypeScript,
            test_fixture::TYPESCRIPT,
            &[("8080", "80"), ("stop()", "stop(now: boolean)")],
        );
    }

    #[test]
    fn tsx_incremental_reparse_matches_fresh_parse() {
        check_incremental(
            Language::Tsx,
            test_fixture::TSX,
            &[("Hello", "Hi there"), ("name=\"x\"", "name=\"x\" loud")],
        );
    }

    #[test]
    fn javascript_incremental_reparse_matches_fresh_parse() {
        check_incremental(
            Language::JavaScript,
            test_fixture::JAVASCRIPT,
            &[("this.items = [];", "this.items = new Map();")],
        );
    }

    #[test]
    fn go_incremental_reparse_matches_fresh_parse() {
        check_incremental(
            Language::Go,
            test_fixture::GO,
            &[("port int", "port int\n\thost string"), ("hi", "{")],
        );
    }

    #[test]
    fn edits_that_break_the_syntax_still_match_a_fresh_parse() {
        check_incremental(
            Language::Rust,
            test_fixture::RUST,
            &[("{\n        let tokens", "\n        let tokens")],
        );
    }

    #[test]
    fn inconsistent_edits_are_refused() {
        let text = Rope::from_str(test_fixture::GO);
        let mut syntax = SyntaxTree::parse(Language::Go, &text).expect("parses");
        let nonsense = ByteEdit {
            start: 50,
            old_end: 10,
            new_end: 5,
            start_point: crate::document::Point::default(),
            old_end_point: crate::document::Point::default(),
            new_end_point: crate::document::Point::default(),
            new_text: String::new(),
        };
        assert!(!syntax.edit(&[nonsense]));
    }

    #[test]
    fn five_megabytes_of_generated_code_parse_without_errors() {
        let mut source = String::new();
        let mut index = 0;
        while source.len() < 5 * 1024 * 1024 {
            source.push_str(&format!(
                "fn generated_{index}(value: u64) -> u64 {{\n    value * {index} + 1\n}}\n\n"
            ));
            index += 1;
        }
        let text = Rope::from_str(&source);
        let syntax = parse_unhurried(Language::Rust, &text);
        assert!(syntax.syntax_errors().is_empty());
        let probe = source.find("generated_40000(").expect("generated function");
        let item = syntax
            .enclosing_item(&text, probe..probe)
            .expect("item in a large file");
        assert_eq!(item.name.as_deref(), Some("generated_40000"));
    }

    /// A parse with no practical deadline: the tests using it are about what a
    /// parse gives, not how fast (a loaded machine may need more than the limit).
    fn parse_unhurried(language: Language, text: &Rope) -> SyntaxTree {
        let deadline = Instant::now() + Duration::from_secs(3600);
        let tree = parse_rope(language, text, None, deadline).expect("parses");
        SyntaxTree { language, tree }
    }

    #[test]
    fn binary_garbage_parses_with_bounded_errors_in_every_language() {
        // A deterministic byte soup: NULs, control bytes, invalid UTF-8 made
        // lossy, and brackets that never balance.
        let mut state: u32 = 0x2545_f491;
        let bytes: Vec<u8> = (0..200_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state.to_le_bytes()[0]
            })
            .collect();
        let text = Rope::from_str(&String::from_utf8_lossy(&bytes));
        for language in Language::ALL {
            let syntax = parse_unhurried(language, &text);
            let errors = syntax.syntax_errors();
            assert!(!errors.is_empty() && errors.len() <= crate::syntax::MAX_SYNTAX_ERRORS);
            let middle = text.len_bytes() / 2;
            let widened = syntax.widen_selection(&text, middle..middle + 7);
            assert!(widened.start <= middle && widened.end <= text.len_bytes());
        }
    }

    #[test]
    fn a_parse_past_its_deadline_fails_and_leaves_the_parser_usable() {
        let source = test_fixture::RUST.repeat(2000);
        let text = Rope::from_str(&source);
        let already_passed = Instant::now();
        assert_eq!(
            parse_rope(Language::Rust, &text, None, already_passed).map(|_| ()),
            Err(ParseFailure::TimedOut)
        );
        // The halted parse must not leak into the next one on this thread.
        let small = Rope::from_str(test_fixture::GO);
        let tree = parse_rope(
            Language::Go,
            &small,
            None,
            Instant::now() + PARSE_TIME_LIMIT,
        )
        .expect("parses");
        assert_eq!(tree.root_node().end_byte(), small.len_bytes());
        assert!(!tree.root_node().has_error());
    }

    #[test]
    fn syntax_trees_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync + Clone>() {}
        shareable::<SyntaxTree>();
    }

    #[test]
    fn texts_over_the_size_limit_are_refused() {
        let huge = Rope::from_str(&" ".repeat(MAX_PARSE_BYTES + 1));
        assert!(SyntaxTree::parse(Language::Python, &huge).is_none());
    }
}
