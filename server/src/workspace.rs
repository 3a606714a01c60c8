//! The workspace state that changes with every keystroke: open documents with
//! their syntax trees, the hunks proposed on them, the runs and the regions runs
//! in flight are rewriting.
//!
//! It is plain data mutated in one step under one lock (never held across an
//! `.await`); readers copy what they need out of it.

use crate::document::{ContentChange, Document, DocumentError, DocumentStore, PositionEncoding};
use crate::ids::{HunkId, RunId};
use crate::proposal::{Hunk, ProposalStore};
use crate::run::journal::{OpenWork, Transcript};
use crate::run::recorded_finding::RecordedFinding;
use crate::run::review::FindingStore;
use crate::run::state::{RunKind, RunRecord};
use crate::syntax::{Language, SyntaxTree};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use url::Url;

/// The region a run in flight is rewriting, kept in step with the user's edits
/// so the answer lands where the region is now, not where it was.
#[derive(Debug, Clone)]
pub struct TrackedRegion {
    pub uri: Url,
    pub range: Range<usize>,
    /// False once an edit touched the region: the answer is then proposed as conflicted.
    pub intact: bool,
}

#[derive(Debug, Default)]
pub struct Workspace {
    pub root: Option<PathBuf>,
    pub documents: DocumentStore,
    pub trees: HashMap<Url, SyntaxTree>,
    pub proposals: ProposalStore,
    pub runs: BTreeMap<RunId, RunRecord>,
    pub transcripts: BTreeMap<RunId, Transcript>,
    pub regions: HashMap<RunId, TrackedRegion>,
    /// Undecided hunks read from the journal, restored when their document opens.
    pub pending_restore: Vec<Hunk>,
    /// Hunks whose decision is already in the journal, so each is written once.
    pub recorded_decisions: HashSet<HunkId>,
    pub next_run: u64,
    /// The text of files the editor has not opened but that hold proposals
    /// (from a multi-file run), as read from disk when they were proposed.
    pub unopened: HashMap<Url, Document>,
    /// Hunks that create or delete their whole file when accepted.
    pub file_operations: HashMap<HunkId, FileOperation>,
    /// Review findings on open documents, re-anchored like hunks.
    pub findings: FindingStore,
    /// Findings of documents not open (read from the journal, or their
    /// document was closed), restored when their document opens.
    pub pending_findings: Vec<RecordedFinding>,
    /// Documents whose findings moved since their diagnostics were last published.
    pub findings_moved: HashSet<Url>,
}

/// What accepting a whole-file hunk does to the file itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOperation {
    /// The agent created the file: it is created, then filled.
    Create,
    /// The agent deleted the file: it is deleted.
    Delete,
}

impl Workspace {
    pub fn new(root: Option<PathBuf>) -> Workspace {
        Workspace {
            root,
            next_run: 1,
            ..Workspace::default()
        }
    }

    /// Takes over the work the journal holds open: undecided hunks, open
    /// findings and their runs. The rest of history stays in the journal,
    /// read when asked for.
    pub fn restore(&mut self, work: OpenWork) {
        self.next_run = work.last_run + 1;
        self.proposals = ProposalStore::with_next_id(work.last_hunk + 1);
        self.findings = FindingStore::with_next_id(work.last_finding + 1);
        self.pending_restore = work.hunks;
        self.runs = work.runs.into_iter().map(|run| (run.id, run)).collect();
        self.pending_findings = work.findings;
    }

    /// What run `id` works on; `None` for a run this session does not hold.
    pub fn run_kind(&self, id: RunId) -> Option<RunKind> {
        self.runs.get(&id).map(|record| record.kind)
    }

    pub fn allocate_run_id(&mut self) -> RunId {
        let id = RunId(self.next_run);
        self.next_run += 1;
        id
    }

    /// Opens a document, parses it, and brings back the journal's proposals for it.
    /// Returns the restored hunks.
    pub fn open_document(&mut self, document: Document) -> Vec<HunkId> {
        let uri = document.uri.clone();
        let language = Language::from_language_id(&document.language_id).or_else(|| {
            uri.to_file_path()
                .ok()
                .and_then(|path| Language::from_path(&path))
        });
        match language.and_then(|language| SyntaxTree::parse(language, &document.text)) {
            Some(tree) => {
                self.trees.insert(uri.clone(), tree);
            }
            None => {
                self.trees.remove(&uri);
            }
        }
        let (mine, others): (Vec<Hunk>, Vec<Hunk>) = std::mem::take(&mut self.pending_restore)
            .into_iter()
            .partition(|hunk| hunk.uri == uri);
        self.pending_restore = others;
        let restored = mine
            .into_iter()
            .map(|hunk| self.proposals.restore(hunk, &document.text))
            .collect();
        let (mine, others): (Vec<RecordedFinding>, Vec<RecordedFinding>) =
            std::mem::take(&mut self.pending_findings)
                .into_iter()
                .partition(|recorded| recorded.finding.uri == uri);
        self.pending_findings = others;
        for finding in mine
            .into_iter()
            .filter_map(|recorded| recorded.reanchored(&document.text))
        {
            self.findings.restore(finding);
        }
        self.unopened.remove(&uri);
        self.documents.open(document);
        restored
    }

    /// The document proposals on `uri` are positioned in: the open one, else
    /// the disk snapshot of an unopened file.
    pub fn proposal_document(&self, uri: &Url) -> Option<&Document> {
        self.documents.get(uri).or_else(|| self.unopened.get(uri))
    }

    /// Applies an editor change to a document, its tree, its hunks and the regions
    /// of runs in flight. Returns the hunks whose range or state changed.
    pub fn change_document(
        &mut self,
        uri: &Url,
        version: i32,
        changes: &[ContentChange],
        encoding: PositionEncoding,
    ) -> Result<Vec<HunkId>, DocumentError> {
        let edits = self.documents.change(uri, version, changes, encoding)?;
        let Some(document) = self.documents.get(uri) else {
            return Ok(Vec::new());
        };
        let text = document.text.clone();
        if let Some(tree) = self.trees.get_mut(uri) {
            if let Err(failure) = tree.apply_edits(&edits, &text) {
                // The shifted tree is unreliable; parse afresh, or go without one.
                tracing::warn!("incremental parse of {uri} failed: {failure}");
                match SyntaxTree::parse(tree.language(), &text) {
                    Some(fresh) => *tree = fresh,
                    None => {
                        self.trees.remove(uri);
                    }
                }
            }
        }
        for region in self
            .regions
            .values_mut()
            .filter(|region| &region.uri == uri)
        {
            for edit in &edits {
                let moved = crate::proposal::reanchor(&region.range, edit);
                region.range = moved.range;
                region.intact &= !moved.overlapped;
            }
        }
        if self.findings.apply_edits(uri, &edits) {
            self.findings_moved.insert(uri.clone());
        }
        Ok(self.proposals.apply_edits(uri, &edits, &text))
    }

    /// Closes a document; its open hunks and findings wait to be restored when
    /// it opens again.
    pub fn close_document(&mut self, uri: &Url) {
        let findings = self.findings.take_document(uri);
        if let Some(document) = self.documents.get(uri) {
            self.pending_findings.extend(
                findings
                    .into_iter()
                    .map(|finding| RecordedFinding::new(finding, &document.text)),
            );
        }
        if self.documents.close(uri).is_err() {
            tracing::warn!("closing {uri}, which was not open");
        }
        self.trees.remove(uri);
        let hunks = self.proposals.take_document(uri);
        self.pending_restore.extend(hunks);
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it: the
/// state is plain data, so a half-finished handler cannot leave it unusable.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
