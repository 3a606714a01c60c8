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
use crate::run::journal::{OpenWork, Transcript};
use crate::run::recorded_finding::RecordedFinding;
use crate::run::review::FindingStore;
use crate::run::state::{RunKind, RunRecord};
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

    /// Opens a document and brings back the journal's proposals for it; it is
    /// parsed only when a tree is first needed. Returns the hunks restored,
    /// moved or settled.
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
        let restored: Vec<HunkId> = mine
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
        // Hunks proposed on the file while it was closed move to the text it
        // opens with, and accepts in flight land if it already holds them.
        let mut changed = if self.unopened.contains_key(&uri) {
            self.replace_unopened(&uri, &document.text.to_string())
        } else {
            Vec::new()
        };
        self.unopened.remove(&uri);
        self.documents.open(document);
        changed.extend(restored);
        changed
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
        let Some(before) = self
            .documents
            .get(uri)
            .map(|document| document.text.clone())
        else {
            return Err(DocumentError::UnknownDocument(uri.clone()));
        };
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
            hunks: self.proposals.apply_edits(uri, &edits, &before, &text),
            tree_is_stale,
        })
    }

    /// Puts the new text of `hunks` being accepted into the snapshot of a file
    /// the editor has not opened, once the editor said it applied them (no
    /// `didChange` comes for such a file). Returns the hunks that changed.
    pub fn apply_to_unopened(&mut self, uri: &Url, hunks: &[HunkId]) -> Vec<HunkId> {
        let Some(snapshot) = self.unopened.get(uri) else {
            return Vec::new();
        };
        let mut text = snapshot.text.clone();
        let mut replacements: Vec<&Hunk> = hunks
            .iter()
            .filter_map(|id| self.proposals.get(*id))
            .filter(|hunk| &hunk.uri == uri && hunk.state == HunkState::Applying)
            .collect();
        replacements.sort_by_key(|hunk| std::cmp::Reverse(hunk.range.start));
        for hunk in replacements {
            let (Ok(start), Ok(end)) = (
                text.try_byte_to_char(hunk.range.start),
                text.try_byte_to_char(hunk.range.end),
            ) else {
                continue;
            };
            text.remove(start..end);
            text.insert(start, &hunk.new_text);
        }
        self.replace_unopened(uri, &text.to_string())
    }

    /// Replaces the snapshot of a file the editor has not opened with `text`
    /// and moves its hunks along, as a change to the whole text would.
    fn replace_unopened(&mut self, uri: &Url, text: &str) -> Vec<HunkId> {
        let Some(snapshot) = self.unopened.get_mut(uri) else {
            return Vec::new();
        };
        let before = snapshot.text.clone();
        let change = ContentChange {
            range: None,
            text: text.to_owned(),
        };
        let Ok(edits) =
            snapshot.apply_changes(snapshot.version + 1, &[change], PositionEncoding::Utf8)
        else {
            return Vec::new();
        };
        let after = snapshot.text.clone();
        self.proposals.apply_edits(uri, &edits, &before, &after)
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;
    use crate::proposal::diff_hunks;

    /// A workspace with one proposal on a file the editor has not opened.
    fn unopened_proposal(text: &str, proposed: &str) -> (Workspace, Url, HunkId) {
        let uri = Url::parse("file:///w/src/other.rs").unwrap();
        let mut workspace = Workspace::new(None);
        let snapshot = Document::new(uri.clone(), 0, "rust".into(), text);
        let ids = workspace.proposals.add(
            RunId(1),
            &uri,
            0,
            diff_hunks(text, proposed),
            &snapshot.text,
        );
        workspace.unopened.insert(uri.clone(), snapshot);
        (workspace, uri, ids[0])
    }

    #[test]
    fn an_accept_in_an_unopened_file_lands_on_the_editor_s_answer() {
        let (mut workspace, uri, id) = unopened_proposal("a\nb\n", "a\nlonger b\n");
        let text = workspace.unopened[&uri].text.clone();
        workspace.proposals.begin_accept(&[id], &text).unwrap();
        assert_eq!(workspace.apply_to_unopened(&uri, &[id]), vec![id]);
        let hunk = workspace.proposals.get(id).unwrap();
        assert_eq!(hunk.state, HunkState::Accepted);
        assert_eq!(
            workspace.unopened[&uri].slice(hunk.range.clone()),
            hunk.new_text
        );
    }

    #[test]
    fn an_accept_lands_when_the_editor_opens_the_file_with_its_text() {
        let (mut workspace, uri, id) = unopened_proposal("a\nb\n", "a\nlonger b\n");
        let text = workspace.unopened[&uri].text.clone();
        workspace.proposals.begin_accept(&[id], &text).unwrap();
        let opened = Document::new(uri.clone(), 1, "rust".into(), "a\nlonger b\n");
        assert_eq!(workspace.open_document(opened), vec![id]);
        assert_eq!(
            workspace.proposals.get(id).unwrap().state,
            HunkState::Accepted
        );
        assert!(workspace.unopened.is_empty());
    }

    #[test]
    fn hunks_of_an_unopened_file_move_to_the_text_it_opens_with() {
        let (mut workspace, uri, id) = unopened_proposal("a\nb\n", "a\nc\n");
        let opened = Document::new(uri.clone(), 1, "rust".into(), "new line\na\nb\n");
        workspace.open_document(opened);
        let hunk = workspace.proposals.get(id).unwrap();
        assert_eq!((hunk.range.clone(), hunk.state), (11..12, HunkState::Open));
    }
}
