//! The syntax trees of open documents, kept as a bounded cache rather than as
//! per-document state, so that typing never waits for a parse and memory does
//! not grow with every file the editor opens.
//!
//! An edit only shifts a cached tree (`Tree::edit`, cheap) and marks it stale;
//! parsing happens later, on a [`ParseJob`] that runs outside whatever lock
//! guards the cache, and whose result is installed with the edits made while it
//! ran replayed onto it. Trees are evicted least recently used first once their
//! estimated size passes [`TREE_BUDGET_BYTES`], and parsed again when next
//! needed. Texts past [`MAX_TREE_TEXT_BYTES`] or with a line longer than
//! [`MAX_TREE_LINE_BYTES`] (minified or generated code) never get a tree.

use std::collections::HashMap;

use ropey::Rope;
use url::Url;

use crate::document::ByteEdit;
use crate::syntax::{Language, ParseFailure, SyntaxTree};

/// Documents larger than this are handled line by line, without a tree.
pub const MAX_TREE_TEXT_BYTES: usize = 8 * 1024 * 1024;

/// Documents with a line longer than this (minified code, generated data) are
/// handled line by line, without a tree: their trees are dense and huge.
pub const MAX_TREE_LINE_BYTES: usize = 4 * 1024;

/// How much memory the cached trees may take together, estimated from the size
/// of their texts; the least recently used trees are dropped past it.
pub const TREE_BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// A tree-sitter tree takes roughly this many bytes per byte of source (its
/// nodes are allocated by tree-sitter, so they cannot be counted directly).
const TREE_BYTES_PER_TEXT_BYTE: usize = 10;

/// The syntax state of every open document whose language has a grammar.
#[derive(Debug)]
pub struct SyntaxCache {
    entries: HashMap<Url, Entry>,
    /// Counts uses, to find the least recently used tree; also gives each
    /// opened document an id no later document shares.
    clock: u64,
    budget_bytes: usize,
}

impl Default for SyntaxCache {
    fn default() -> SyntaxCache {
        SyntaxCache {
            entries: HashMap::new(),
            clock: 0,
            budget_bytes: TREE_BUDGET_BYTES,
        }
    }
}

#[derive(Debug)]
struct Entry {
    /// Tells a reopened document from the one a parse job started on.
    id: u64,
    language: Language,
    /// Past a size or line-length limit: no tree, line-based behaviour.
    line_based: bool,
    /// The tree, shifted over every edit since it was parsed.
    tree: Option<SyntaxTree>,
    /// Bumped by every batch of edits.
    generation: u64,
    /// The generation `tree` was parsed at; the tree is stale when it is older.
    parsed_at: u64,
    /// Edits made while parses were in flight, by generation, to replay on their results.
    edits_during_parses: Vec<(u64, ByteEdit)>,
    parses_in_flight: usize,
    last_used: u64,
    /// The tree's estimated size in bytes (0 without a tree).
    estimated_bytes: usize,
}

/// A parse to run outside the lock that guards the cache; hand its result to
/// [`SyntaxCache::install`].
#[derive(Debug)]
pub struct ParseJob {
    uri: Url,
    entry: u64,
    generation: u64,
    language: Language,
    text: Rope,
    /// The stale tree to reuse, already shifted over the edits.
    old_tree: Option<SyntaxTree>,
}

/// A finished [`ParseJob`].
#[derive(Debug)]
pub struct ParsedJob {
    job: ParseJob,
    result: Result<SyntaxTree, ParseFailure>,
}

impl ParseJob {
    /// Parses, incrementally when there is an old tree.
    pub fn run(self) -> ParsedJob {
        let result = match &self.old_tree {
            Some(old) => old.reparse(&self.text),
            None => SyntaxTree::try_parse(self.language, &self.text),
        };
        ParsedJob { job: self, result }
    }
}

impl SyntaxCache {
    /// Starts tracking a document (replacing an earlier one at `uri`); nothing
    /// is parsed until a tree is asked for.
    pub fn open(&mut self, uri: &Url, language: Language, text: &Rope) {
        self.clock += 1;
        let entry = Entry {
            id: self.clock,
            language,
            line_based: is_past_tree_limits(text),
            tree: None,
            generation: 0,
            parsed_at: 0,
            edits_during_parses: Vec::new(),
            parses_in_flight: 0,
            last_used: self.clock,
            estimated_bytes: 0,
        };
        self.entries.insert(uri.clone(), entry);
    }

    /// Forgets a document and frees its tree.
    pub fn close(&mut self, uri: &Url) {
        self.entries.remove(uri);
    }

    /// The language of an open document, with or without a tree.
    pub fn language(&self, uri: &Url) -> Option<Language> {
        self.entries.get(uri).map(|entry| entry.language)
    }

    /// Keeps a document's tree in step with a batch of edits (`text_after` is
    /// the text they produced) without parsing. Returns true when the document
    /// has a tree that is now stale, so that a reparse is worth scheduling.
    pub fn edit(&mut self, uri: &Url, edits: &[ByteEdit], text_after: &Rope) -> bool {
        if edits.is_empty() {
            return false;
        }
        self.clock += 1;
        let Some(entry) = self.entries.get_mut(uri) else {
            return false;
        };
        entry.last_used = self.clock;
        entry.generation += 1;
        if entry.parses_in_flight > 0 {
            let generation = entry.generation;
            entry
                .edits_during_parses
                .extend(edits.iter().map(|edit| (generation, edit.clone())));
        }
        if entry.line_based {
            return false;
        }
        if text_after.len_bytes() > MAX_TREE_TEXT_BYTES
            || edits
                .iter()
                .any(|edit| has_long_line(text_after, edit.start..edit.new_end))
        {
            entry.line_based = true;
            entry.drop_tree();
            return false;
        }
        let Some(tree) = &mut entry.tree else {
            return false;
        };
        let shifted = tree.edit(edits);
        if !shifted {
            entry.drop_tree();
        }
        shifted
    }

    /// A parse that would bring the tree of `uri` up to date with `text`, its
    /// current text; `None` when the tree is up to date or the document gets none.
    pub fn parse_job(&mut self, uri: &Url, text: &Rope) -> Option<ParseJob> {
        let entry = self.entries.get_mut(uri)?;
        if entry.line_based || entry.is_fresh() {
            return None;
        }
        entry.parses_in_flight += 1;
        Some(ParseJob {
            uri: uri.clone(),
            entry: entry.id,
            generation: entry.generation,
            language: entry.language,
            text: text.clone(),
            old_tree: entry.tree.clone(),
        })
    }

    /// Installs a parse's result, shifted over the edits made since its job was
    /// taken, unless a newer parse got there first; then evicts trees past the budget.
    pub fn install(&mut self, parsed: ParsedJob) {
        let ParsedJob { job, result } = parsed;
        self.clock += 1;
        let clock = self.clock;
        let Some(entry) = self
            .entries
            .get_mut(&job.uri)
            .filter(|entry| entry.id == job.entry)
        else {
            return;
        };
        entry.parses_in_flight = entry.parses_in_flight.saturating_sub(1);
        let newer = entry.tree.is_none() || job.generation > entry.parsed_at;
        match result {
            Ok(mut tree) if newer && !entry.line_based => {
                let later: Vec<ByteEdit> = entry
                    .edits_during_parses
                    .iter()
                    .filter(|(generation, _)| *generation > job.generation)
                    .map(|(_, edit)| edit.clone())
                    .collect();
                if tree.edit(&later) {
                    entry.tree = Some(tree);
                    entry.parsed_at = job.generation;
                    entry.estimated_bytes = job.text.len_bytes() * TREE_BYTES_PER_TEXT_BYTE;
                    entry.last_used = clock;
                } else {
                    entry.drop_tree();
                }
            }
            Ok(_) => {}
            Err(failure) => {
                tracing::warn!(uri = %job.uri, %failure, "no syntax tree; using lines instead");
                entry.line_based = true;
                entry.drop_tree();
            }
        }
        if entry.parses_in_flight == 0 {
            entry.edits_during_parses.clear();
        }
        self.evict_past_budget(&job.uri);
    }

    /// The up-to-date tree of `uri` (whose current text is `text`), parsing
    /// here and now if it is stale or was evicted; `None` for documents
    /// without a tree. For requests that cannot do without an exact tree.
    pub fn up_to_date(&mut self, uri: &Url, text: &Rope) -> Option<SyntaxTree> {
        if let Some(job) = self.parse_job(uri, text) {
            self.install(job.run());
        }
        self.clock += 1;
        let entry = self.entries.get_mut(uri)?;
        entry.last_used = self.clock;
        entry.tree.clone().filter(|_| entry.is_fresh())
    }

    /// The estimated bytes of all cached trees.
    pub fn estimated_bytes(&self) -> usize {
        self.entries
            .values()
            .map(|entry| entry.estimated_bytes)
            .sum()
    }

    /// Drops least recently used trees, never `keep`'s, until the rest fit the budget.
    fn evict_past_budget(&mut self, keep: &Url) {
        while self.estimated_bytes() > self.budget_bytes {
            let oldest = self
                .entries
                .iter_mut()
                .filter(|(uri, entry)| *uri != keep && entry.tree.is_some())
                .min_by_key(|(_, entry)| entry.last_used);
            match oldest {
                Some((_, entry)) => entry.drop_tree(),
                None => break,
            }
        }
    }
}

impl Entry {
    fn is_fresh(&self) -> bool {
        self.tree.is_some() && self.parsed_at == self.generation
    }

    fn drop_tree(&mut self) {
        self.tree = None;
        self.estimated_bytes = 0;
    }
}

/// Whether a text is too large, or has a line too long, to be given a tree.
/// Scans the rope's chunks for line feeds, which is fast enough for didOpen.
fn is_past_tree_limits(text: &Rope) -> bool {
    if text.len_bytes() > MAX_TREE_TEXT_BYTES {
        return true;
    }
    let mut line_length = 0;
    for chunk in text.chunks() {
        let bytes = chunk.as_bytes();
        let mut line_start = 0;
        for line_feed in memchr::memchr_iter(b'\n', bytes) {
            if line_length + line_feed - line_start > MAX_TREE_LINE_BYTES {
                return true;
            }
            line_length = 0;
            line_start = line_feed + 1;
        }
        line_length += bytes.len() - line_start;
        if line_length > MAX_TREE_LINE_BYTES {
            return true;
        }
    }
    false
}

/// Whether any line touching `byte_range` is longer than [`MAX_TREE_LINE_BYTES`].
fn has_long_line(text: &Rope, byte_range: std::ops::Range<usize>) -> bool {
    let length = text.len_bytes();
    let first = text.byte_to_line(byte_range.start.min(length));
    let last = text.byte_to_line(byte_range.end.min(length));
    let mut line_start = text.line_to_byte(first);
    (first..=last).any(|line| {
        let line_end = text.line_to_byte((line + 1).min(text.len_lines()));
        let long = line_end - line_start > MAX_TREE_LINE_BYTES;
        line_start = line_end;
        long
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;
    use crate::syntax::test_fixture::{self, apply_edit};
    use proptest::prelude::*;

    fn uri(name: &str) -> Url {
        Url::parse(&format!("file:///w/{name}")).unwrap()
    }

    fn sexp(tree: &SyntaxTree) -> String {
        tree.tree().root_node().to_sexp()
    }

    fn fresh_sexp(language: Language, text: &Rope) -> String {
        sexp(&SyntaxTree::parse(language, text).unwrap())
    }

    #[test]
    fn opening_parses_nothing_and_closing_frees_the_tree() {
        let mut cache = SyntaxCache::default();
        let text = Rope::from_str(test_fixture::RUST);
        cache.open(&uri("a.rs"), Language::Rust, &text);
        assert_eq!(cache.estimated_bytes(), 0);
        let tree = cache.up_to_date(&uri("a.rs"), &text).unwrap();
        assert_eq!(sexp(&tree), fresh_sexp(Language::Rust, &text));
        assert!(cache.estimated_bytes() > 0);
        cache.close(&uri("a.rs"));
        assert_eq!(cache.estimated_bytes(), 0);
        assert!(cache.up_to_date(&uri("a.rs"), &text).is_none());
    }

    #[test]
    fn an_edit_marks_the_tree_stale_without_parsing() {
        let mut cache = SyntaxCache::default();
        let mut text = Rope::from_str(test_fixture::GO);
        let uri = uri("a.go");
        cache.open(&uri, Language::Go, &text);
        // No tree yet: nothing is stale, nothing to schedule.
        let edit = apply_edit(&mut text, 0..0, "// x\n");
        assert!(!cache.edit(&uri, &[edit], &text));
        cache.up_to_date(&uri, &text).unwrap();
        let edit = apply_edit(&mut text, 0..0, "// y\n");
        assert!(cache.edit(&uri, &[edit], &text));
        assert!(cache.parse_job(&uri, &text).is_some());
        let tree = cache.up_to_date(&uri, &text).unwrap();
        assert_eq!(sexp(&tree), fresh_sexp(Language::Go, &text));
        assert!(
            cache.parse_job(&uri, &text).is_none(),
            "fresh after the parse"
        );
    }

    #[test]
    fn minified_and_oversized_texts_get_no_tree() {
        let mut cache = SyntaxCache::default();
        let minified = Rope::from_str(&"var a=1;".repeat(MAX_TREE_LINE_BYTES));
        cache.open(&uri("m.js"), Language::JavaScript, &minified);
        assert!(cache.up_to_date(&uri("m.js"), &minified).is_none());
        assert_eq!(cache.language(&uri("m.js")), Some(Language::JavaScript));
        let huge = Rope::from_str(&"x = 1\n".repeat(MAX_TREE_TEXT_BYTES / 6 + 1));
        cache.open(&uri("h.py"), Language::Python, &huge);
        assert!(cache.up_to_date(&uri("h.py"), &huge).is_none());
        assert_eq!(cache.estimated_bytes(), 0);
    }

    #[test]
    fn pasting_a_long_line_drops_the_tree() {
        let mut cache = SyntaxCache::default();
        let mut text = Rope::from_str(test_fixture::JAVASCRIPT);
        let uri = uri("a.js");
        cache.open(&uri, Language::JavaScript, &text);
        cache.up_to_date(&uri, &text).unwrap();
        let blob = "f(1);".repeat(MAX_TREE_LINE_BYTES / 5 + 1);
        let edit = apply_edit(&mut text, 0..0, &blob);
        assert!(!cache.edit(&uri, &[edit], &text));
        assert!(cache.up_to_date(&uri, &text).is_none());
        assert_eq!(cache.estimated_bytes(), 0);
    }

    #[test]
    fn the_least_recently_used_tree_is_evicted_past_the_budget_and_parsed_again() {
        let text = Rope::from_str(test_fixture::PYTHON);
        let one_tree = text.len_bytes() * TREE_BYTES_PER_TEXT_BYTE;
        let mut cache = SyntaxCache {
            budget_bytes: 2 * one_tree,
            ..SyntaxCache::default()
        };
        for name in ["a.py", "b.py", "c.py"] {
            cache.open(&uri(name), Language::Python, &text);
        }
        cache.up_to_date(&uri("a.py"), &text).unwrap();
        cache.up_to_date(&uri("b.py"), &text).unwrap();
        cache.up_to_date(&uri("a.py"), &text).unwrap();
        cache.up_to_date(&uri("c.py"), &text).unwrap();
        assert_eq!(cache.estimated_bytes(), 2 * one_tree);
        // b was used least recently: it goes, and is parsed again on demand.
        assert!(cache.parse_job(&uri("b.py"), &text).is_some());
        assert!(cache.parse_job(&uri("a.py"), &text).is_none());
        let tree = cache.up_to_date(&uri("b.py"), &text).unwrap();
        assert_eq!(sexp(&tree), fresh_sexp(Language::Python, &text));
        assert_eq!(cache.estimated_bytes(), 2 * one_tree);
    }

    #[test]
    fn a_parse_of_a_document_closed_and_reopened_meanwhile_is_discarded() {
        let mut cache = SyntaxCache::default();
        let text = Rope::from_str(test_fixture::RUST);
        let uri = uri("a.rs");
        cache.open(&uri, Language::Rust, &text);
        let job = cache.parse_job(&uri, &text).unwrap();
        cache.close(&uri);
        let other = Rope::from_str(test_fixture::GO);
        cache.open(&uri, Language::Go, &other);
        cache.install(job.run());
        assert_eq!(cache.estimated_bytes(), 0);
        let tree = cache.up_to_date(&uri, &other).unwrap();
        assert_eq!(sexp(&tree), fresh_sexp(Language::Go, &other));
    }

    /// Pieces typed into the samples: brackets and quotes that break and mend
    /// the syntax, whole items, line breaks and non-ASCII text.
    fn piece() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just(""),
            Just("x"),
            Just("{"),
            Just("}"),
            Just("("),
            Just("\""),
            Just("\n"),
            Just("    "),
            Just("é"),
            Just("fn a() {}\n"),
            Just("def b():\n    pass\n"),
            Just("// note\n"),
        ]
    }

    /// One burst of edits, each placed by fractions of the current text.
    fn burst() -> impl Strategy<Value = (Vec<(f64, f64, &'static str)>, bool, bool)> {
        (
            proptest::collection::vec((0.0..1.0f64, 0.0..0.05f64, piece()), 1..8),
            any::<bool>(),
            any::<bool>(),
        )
    }

    fn boundary_at_or_before(text: &str, mut offset: usize) -> usize {
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// However edits, background parses (started mid-burst, installed
        /// after more edits) and on-demand updates interleave, the tree a
        /// request gets is the tree a fresh parse of the text gives.
        #[test]
        fn a_lazily_updated_tree_equals_a_fresh_parse(
            language_index in 0..Language::ALL.len(),
            bursts in proptest::collection::vec(burst(), 1..6),
        ) {
            let language = Language::ALL[language_index];
            let source = match language {
                Language::Rust => test_fixture::RUST,
                Language::Python => test_fixture::PYTHON,
                Language::TypeScript => test_fixture::TYPESCRIPT,
                Language::Tsx => test_fixture::TSX,
                Language::JavaScript => test_fixture::JAVASCRIPT,
                Language::Go => test_fixture::GO,
            };
            let uri = uri("doc");
            let mut text = Rope::from_str(source);
            let mut cache = SyntaxCache::default();
            cache.open(&uri, language, &text);
            cache.up_to_date(&uri, &text);
            for (edits, newest_installed_first, check_after_burst) in bursts {
                // Parses taken before and in the middle of the burst finish
                // after it, in either order.
                let mut parsed: Vec<ParsedJob> = cache.parse_job(&uri, &text).map(ParseJob::run).into_iter().collect();
                for (index, (start, length, piece)) in edits.iter().enumerate() {
                    let string = text.to_string();
                    let start = boundary_at_or_before(&string, (start * string.len() as f64) as usize);
                    let end = boundary_at_or_before(&string, (start + (length * string.len() as f64) as usize).min(string.len()));
                    if start == end && piece.is_empty() {
                        continue;
                    }
                    let edit = apply_edit(&mut text, start..end, piece);
                    cache.edit(&uri, &[edit], &text);
                    if index == edits.len() / 2 {
                        parsed.extend(cache.parse_job(&uri, &text).map(ParseJob::run));
                    }
                }
                if newest_installed_first {
                    parsed.reverse();
                }
                for parsed in parsed {
                    cache.install(parsed);
                }
                if check_after_burst {
                    let tree = cache.up_to_date(&uri, &text).unwrap();
                    prop_assert_eq!(sexp(&tree), fresh_sexp(language, &text));
                    prop_assert_eq!(tree.tree().root_node().end_byte(), text.len_bytes());
                }
            }
            let tree = cache.up_to_date(&uri, &text).unwrap();
            prop_assert_eq!(sexp(&tree), fresh_sexp(language, &text));
        }
    }
}
