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
#[derive(Debug, Clone)]
pub struct SyntaxTree {
    language: Language,
    tree: Tree,
}

impl SyntaxTree {
    /// Parses a whole document. `None` when the text is over
    /// [`MAX_PARSE_BYTES`] or the parse exceeds [`PARSE_TIME_LIMIT`].
    pub fn parse(language: Language, text: &Rope) -> Option<SyntaxTree> {
        match parse_rope(language, text, None, Instant::now() + PARSE_TIME_LIMIT) {
            Ok(tree) => Some(SyntaxTree { language, tree }),
            Err(failure) => {
                tracing::debug!(language = language.name(), %failure, "no syntax tree");
                None
            }
        }
    }

    /// Brings the tree up to date after a batch of edits (applied in order,
    /// as [`ByteEdit`] documents), reusing the unchanged parts of the old tree.
    ///
    /// On failure the tree still has the old text's structure, shifted by the
    /// edits, so its offsets stay in bounds; callers should drop it.
    pub fn apply_edits(&mut self, edits: &[ByteEdit], text_after: &Rope) -> Result<(), ParseFailure> {
        let deadline = Instant::now() + PARSE_TIME_LIMIT;
        let edits_are_consistent = edits
            .iter()
            .all(|edit| edit.start <= edit.old_end && edit.start <= edit.new_end);
        if !edits_are_consistent {
            // An edit tree-sitter cannot make sense of: start over from the text.
            self.tree = parse_rope(self.language, text_after, None, deadline)?;
            return Ok(());
        }
        for edit in edits {
            self.tree.edit(&input_edit(edit));
        }
        self.tree = parse_rope(self.language, text_after, Some(&self.tree), deadline)?;
        Ok(())
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
    let point = |point: crate::document::Point| tree_sitter::Point { row: point.row, column: point.column };
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

