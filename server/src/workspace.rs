//! The workspace state that changes with every keystroke: open documents with
//! their cached syntax trees, the hunks proposed on them, the runs and the regions runs
//! in flight are rewriting.
//!
//! It is plain data mutated in one step under one lock (never held across an
//! `.await`); readers copy what they need out of it.

use crate::document::{
    ContentChange, Document, DocumentError, DocumentStore, LARGE_DOCUMENT_BYTES, PositionEncoding,
    return_freed_memory,
};
use crate::ids::{HunkId, RunId};
use crate::proposal::{Hunk, HunkState, ProposalStore};
use crate::run::journal::{Replay, Transcript};
use crate::run::recorded_finding::RecordedFinding;
use crate::run::review::FindingStore;
use crate::run::state::RunRecord;
use crate::syntax::{Language, SyntaxCache};
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
    /// Syntax trees of open documents, parsed lazily; see [`refresh_syntax`].
    pub syntax: SyntaxCache,
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
    /// The runs that are reviews: their answers become findings, not proposals.
    pub reviews: HashSet<RunId>,
    /// The runs that work on a whole task: their agent may edit any file of the
    /// workspace, and their anchor is tracked in `regions` like a region.
    pub task_runs: HashSet<RunId>,
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

    /// Takes over what the journal remembers: runs, transcripts, undecided
    /// hunks and open findings.
    pub fn restore(&mut self, replay: Replay) {
        self.next_run = replay.next_run_id().0;
        self.proposals = ProposalStore::with_next_id(replay.next_hunk_id().0);
        self.findings = FindingStore::with_next_id(replay.next_finding_id().0);
        self.pending_restore = replay.undecided_hunks().cloned().collect();
        self.recorded_decisions = replay
            .hunks
            .values()
            .filter(|hunk| matches!(hunk.state, HunkState::Accepted | HunkState::Rejected))
            .map(|hunk| hunk.id)
            .collect();
        self.runs = replay.runs;
        self.transcripts = replay.transcripts;
        self.pending_findings = replay.findings.into_values().collect();
    }

    pub fn allocate_run_id(&mut self) -> RunId {
        let id = RunId(self.next_run);
        self.next_run += 1;
        id
    }

    /// Opens a document and brings back the journal's proposals for it; it is
    /// parsed only when a tree is first needed. Returns the restored hunks.
    pub fn open_document(&mut self, document: Document) -> Vec<HunkId> {
        let uri = document.uri.clone();
        let language = Language::from_language_id(&document.language_id).or_else(|| {
            uri.to_file_path()
                .ok()
                .and_then(|path| Language::from_path(&path))
        });
        match language {
            Some(language) => self.syntax.open(&uri, language, &document.text),
            None => self.syntax.close(&uri),
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

    /// Applies an editor change to a document, its hunks, findings and the
    /// regions of runs in flight; its syntax tree is only shifted and marked
    /// stale, never parsed here.
    pub fn change_document(
        &mut self,
        uri: &Url,
        version: i32,
        changes: &[ContentChange],
        encoding: PositionEncoding,
    ) -> Result<DocumentChanged, DocumentError> {
        let edits = self.documents.change(uri, version, changes, encoding)?;
        let Some(document) = self.documents.get(uri) else {
            return Ok(DocumentChanged::default());
        };
        let text = document.text.clone();
        let tree_is_stale = self.syntax.edit(uri, &edits, &text);
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
        Ok(DocumentChanged {
            hunks: self.proposals.apply_edits(uri, &edits, &text),
            tree_is_stale,
        })
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
        let closed_bytes = match self.documents.close(uri) {
            Ok(document) => document.text.len_bytes(),
            Err(_) => {
                tracing::warn!("closing {uri}, which was not open");
                0
            }
        };
        self.syntax.close(uri);
        let hunks = self.proposals.take_document(uri);
        self.pending_restore.extend(hunks);
        if closed_bytes >= LARGE_DOCUMENT_BYTES {
            return_freed_memory();
        }
    }
}

/// What a change did beyond the text.
#[derive(Debug, Default)]
pub struct DocumentChanged {
    /// The hunks whose range or state changed.
    pub hunks: Vec<HunkId>,
    /// The document's cached tree no longer matches its text: worth a reparse
    /// once typing pauses.
    pub tree_is_stale: bool,
}

/// Brings the syntax tree of `uri` up to date, parsing without holding the
/// lock: the job is taken and its result installed under it, and edits made
/// meanwhile are replayed onto the result (which then stays stale).
pub fn refresh_syntax(workspace: &Mutex<Workspace>, uri: &Url) {
    let job = {
        let mut workspace = lock(workspace);
        let Some(text) = workspace
            .documents
            .get(uri)
            .map(|document| document.text.clone())
        else {
            return;
        };
        workspace.syntax.parse_job(uri, &text)
    };
    if let Some(job) = job {
        let parsed = job.run();
        lock(workspace).syntax.install(parsed);
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
