//! Every hunk of every run, re-anchored on each user edit, and the accept and
//! reject decisions on them.
//!
//! The invariant everything here protects: a hunk is never applied to text
//! other than its base text. An open hunk's range always holds exactly its
//! base text (edits outside it only shift it; an edit inside it makes it
//! conflicted), and an accept is only handed out after checking that text.

use std::collections::{BTreeMap, HashMap};

use ropey::Rope;
use url::Url;

use super::anchor::{context_around, find_anchor, text_in};
use super::reanchor::{covering, shift};
use super::{AcceptEdit, Hunk, HunkDiff, HunkState, reanchor};
use crate::document::ByteEdit;
use crate::ids::{HunkId, RunId};

/// All hunks, by id. A plain struct: the caller holds the lock.
#[derive(Debug, Default)]
pub struct ProposalStore {
    hunks: BTreeMap<HunkId, Hunk>,
    /// What is known about each hunk in [`HunkState::Applying`].
    accepts_in_flight: HashMap<HunkId, AcceptInFlight>,
    next_id: u64,
}

/// Why a decision on a hunk was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposalError {
    #[error("there is no hunk {0}")]
    UnknownHunk(HunkId),
    #[error("hunk {id} is {state}, so it cannot be accepted")]
    NotOpen { id: HunkId, state: HunkState },
    #[error("the text under hunk {0} changed since it was proposed; refine it instead")]
    BaseChanged(HunkId),
    #[error("hunk {0} has no accept in progress")]
    NoAcceptInProgress(HunkId),
    #[error("hunk {id} is already {state}")]
    AlreadyDecided { id: HunkId, state: HunkState },
}

/// An accept sent to the editor and not yet seen in the document.
///
/// Editors report the same change in different places (an insertion of `x`
/// before `x` can come back as an insertion after it, whole lines can be
/// reported and then trimmed), so the accept is tracked as the `span` of bytes
/// any equivalent report can touch, with the text the span must hold once the
/// accept has landed.
#[derive(Debug, Clone)]
struct AcceptInFlight {
    span: std::ops::Range<usize>,
    expected_span_text: String,
    /// Bytes of `span` before the hunk's range.
    lead: usize,
    /// Bytes of `span` after the hunk's range, before the accept.
    trail: usize,
    /// The editor said it applied the edit.
    confirmed: bool,
}

impl ProposalStore {
    pub fn new() -> ProposalStore {
        ProposalStore::default()
    }

    /// A store whose next hunk id is `next_id`, so ids stay unique after a restart.
    pub fn with_next_id(next_id: u64) -> ProposalStore {
        ProposalStore {
            next_id,
            ..ProposalStore::default()
        }
    }

    /// Records the hunks of one run's result for the region starting at byte
    /// `region_start` of `document`. A hunk whose base text is no longer in the
    /// document starts conflicted (or stale when its range is not even valid).
    pub fn add(
        &mut self,
        run: RunId,
        uri: &Url,
        region_start: usize,
        diffs: Vec<HunkDiff>,
        document: &Rope,
    ) -> Vec<HunkId> {
        let mut ids = Vec::with_capacity(diffs.len());
        for diff in diffs {
            let range = region_start + diff.base_range.start..region_start + diff.base_range.end;
            let (state, (context_before, context_after)) = match text_in(document, &range) {
                Some(text) if text == diff.base_text => {
                    (HunkState::Open, context_around(document, &range))
                }
                Some(_) => (HunkState::Conflicted, context_around(document, &range)),
                None => (HunkState::Stale, (String::new(), String::new())),
            };
            let id = self.take_id();
            self.hunks.insert(
                id,
                Hunk {
                    id,
                    run,
                    uri: uri.clone(),
                    range,
                    base_text: diff.base_text,
                    new_text: diff.new_text,
                    context_before,
                    context_after,
                    state,
                },
            );
            ids.push(id);
        }
        ids
    }

    /// Re-anchors the pending hunks of `uri` after the edits of one `didChange`
    /// (in order, each in the coordinates of the text before it) and returns the
    /// hunks whose range or state changed.
    ///
    /// An edit that ends at or before a hunk's start shifts it, so an insertion
    /// right at the start of a hunk (or at an empty insertion hunk) lands before
    /// it; an edit that starts at or after its end leaves it alone; any other edit
    /// overlaps it and makes an open hunk conflicted, its range growing to cover
    /// the edit. A conflicted hunk whose range holds its base text again after
    /// the batch (the user undid their edit) is open again. A hunk being applied
    /// absorbs the edits that touch it and is accepted once its text has landed.
    pub fn apply_edits(&mut self, uri: &Url, edits: &[ByteEdit], text_after: &Rope) -> Vec<HunkId> {
        let mut changed = Vec::new();
        for hunk in self.hunks.values_mut() {
            if &hunk.uri != uri
                || !matches!(
                    hunk.state,
                    HunkState::Open | HunkState::Conflicted | HunkState::Applying
                )
            {
                continue;
            }
            let original = (hunk.range.clone(), hunk.state);
            let mut touched = false;
            for edit in edits {
                if hunk.state == HunkState::Applying {
                    if let Some(in_flight) = self.accepts_in_flight.get_mut(&hunk.id) {
                        touched |= in_flight.follow(edit);
                        hunk.range = in_flight.hunk_range();
                    }
                    continue;
                }
                let moved = reanchor(&hunk.range, edit);
                hunk.range = moved.range;
                if moved.overlapped {
                    hunk.state = HunkState::Conflicted;
                    touched = true;
                }
            }
            if touched {
                match hunk.state {
                    HunkState::Conflicted
                        if text_in(text_after, &hunk.range).as_deref()
                            == Some(hunk.base_text.as_str()) =>
                    {
                        hunk.state = HunkState::Open;
                    }
                    HunkState::Applying => {
                        if let Some(in_flight) = self.accepts_in_flight.get(&hunk.id) {
                            if in_flight.has_landed(text_after) {
                                hunk.range = in_flight.accepted_range(&hunk.new_text);
                                hunk.state = HunkState::Accepted;
                                self.accepts_in_flight.remove(&hunk.id);
                            } else if in_flight.confirmed {
                                // The editor applied the accept and something
                                // else changed the same text.
                                hunk.range = in_flight.span.clone();
                                hunk.state = HunkState::Conflicted;
                                self.accepts_in_flight.remove(&hunk.id);
                            }
                        }
                    }
                    _ => {}
                }
            }
            if (hunk.range.clone(), hunk.state) != original {
                changed.push(hunk.id);
            }
        }
        changed
    }

    /// Starts accepting an open hunk: checks that `document` still holds its base
    /// text (if not, the hunk becomes conflicted and the accept is refused) and
    /// returns the edit to send to the editor.
    pub fn begin_accept(
        &mut self,
        id: HunkId,
        document: &Rope,
    ) -> Result<AcceptEdit, ProposalError> {
        let hunk = self
            .hunks
            .get_mut(&id)
            .ok_or(ProposalError::UnknownHunk(id))?;
        if hunk.state != HunkState::Open {
            return Err(ProposalError::NotOpen {
                id,
                state: hunk.state,
            });
        }
        if text_in(document, &hunk.range).as_deref() != Some(hunk.base_text.as_str()) {
            hunk.state = HunkState::Conflicted;
            return Err(ProposalError::BaseChanged(id));
        }
        self.accepts_in_flight.insert(
            id,
            AcceptInFlight::new(document, &hunk.range, &hunk.new_text),
        );
        hunk.state = HunkState::Applying;
        Ok(AcceptEdit {
            range: hunk.range.clone(),
            new_text: hunk.new_text.clone(),
        })
    }

    /// Settles an accept with the editor's answer. Applied and visible in
    /// `document`: accepted. Applied but not yet visible (the `didChange` may
    /// follow the answer): still applying. Not applied: open again if the base
    /// text is intact, else conflicted. Returns the new state.
    pub fn settle_accept(
        &mut self,
        id: HunkId,
        applied: bool,
        document: &Rope,
    ) -> Result<HunkState, ProposalError> {
        let hunk = self
            .hunks
            .get_mut(&id)
            .ok_or(ProposalError::UnknownHunk(id))?;
        let in_flight = match (hunk.state, self.accepts_in_flight.get_mut(&id)) {
            (HunkState::Applying, Some(in_flight)) => in_flight,
            _ => return Err(ProposalError::NoAcceptInProgress(id)),
        };
        if applied {
            if in_flight.has_landed(document) {
                hunk.range = in_flight.accepted_range(&hunk.new_text);
                hunk.state = HunkState::Accepted;
                self.accepts_in_flight.remove(&id);
            } else {
                in_flight.confirmed = true;
            }
        } else {
            hunk.range = in_flight.hunk_range();
            hunk.state =
                if text_in(document, &hunk.range).as_deref() == Some(hunk.base_text.as_str()) {
                    HunkState::Open
                } else {
                    HunkState::Conflicted
                };
            self.accepts_in_flight.remove(&id);
        }
        Ok(hunk.state)
    }

    /// Rejects a hunk the user has not accepted.
    pub fn reject(&mut self, id: HunkId) -> Result<(), ProposalError> {
        let hunk = self
            .hunks
            .get_mut(&id)
            .ok_or(ProposalError::UnknownHunk(id))?;
        match hunk.state {
            HunkState::Open | HunkState::Conflicted | HunkState::Stale => {
                hunk.state = HunkState::Rejected;
                Ok(())
            }
            state => Err(ProposalError::AlreadyDecided { id, state }),
        }
    }

    /// Marks an open hunk conflicted: its place can no longer be trusted (the
    /// region was edited while the agent worked on it).
    pub fn mark_conflicted(&mut self, id: HunkId) {
        if let Some(hunk) = self.hunks.get_mut(&id) {
            if hunk.state == HunkState::Open {
                hunk.state = HunkState::Conflicted;
            }
        }
    }

    /// Removes the pending hunks of a closed document, to be restored by content
    /// when it opens again; decided hunks stay for the record.
    pub fn take_document(&mut self, uri: &Url) -> Vec<Hunk> {
        let pending: Vec<HunkId> = self
            .hunks
            .values()
            .filter(|hunk| &hunk.uri == uri && hunk.state.is_pending())
            .map(|hunk| hunk.id)
            .collect();
        pending
            .into_iter()
            .filter_map(|id| {
                self.accepts_in_flight.remove(&id);
                self.hunks.remove(&id)
            })
            .collect()
    }

    pub fn get(&self, id: HunkId) -> Option<&Hunk> {
        self.hunks.get(&id)
    }

    /// Every hunk of a run, decided or not, in id order.
    pub fn hunks_of_run(&self, run: RunId) -> Vec<&Hunk> {
        self.hunks.values().filter(|hunk| hunk.run == run).collect()
    }

    /// The hunks of a document still waiting for a decision, in document order.
    pub fn open_hunks(&self, uri: &Url) -> Vec<&Hunk> {
        let mut hunks: Vec<&Hunk> = self
            .hunks
            .values()
            .filter(|hunk| &hunk.uri == uri && hunk.state.is_pending())
            .collect();
        hunks.sort_by_key(|hunk| (hunk.range.start, hunk.id));
        hunks
    }

    /// Brings back a hunk from the journal after a restart. A pending hunk is
    /// re-anchored by content in `document`: found, it is open at its new range;
    /// not found, it is stale. A decided hunk is kept as it was.
    pub fn restore(&mut self, mut hunk: Hunk, document: &Rope) -> HunkId {
        self.next_id = self.next_id.max(hunk.id.0 + 1);
        if hunk.state.is_pending() {
            let text = document.to_string();
            match find_anchor(
                &text,
                &hunk.context_before,
                &hunk.base_text,
                &hunk.context_after,
                hunk.range.start,
            ) {
                Some(range) => {
                    hunk.range = range;
                    hunk.state = HunkState::Open;
                }
                None => hunk.state = HunkState::Stale,
            }
        }
        let id = hunk.id;
        self.accepts_in_flight.remove(&id);
        self.hunks.insert(id, hunk);
        id
    }

    fn take_id(&mut self) -> HunkId {
        let id = HunkId(self.next_id);
        self.next_id += 1;
        id
    }
}

impl AcceptInFlight {
    fn new(document: &Rope, range: &std::ops::Range<usize>, new_text: &str) -> AcceptInFlight {
        // How far an equivalent report of the same replacement can slide to the
        // right: compare the text before with the text after, from the range start.
        let slide_right = document
            .bytes_at(range.start)
            .zip(new_text.bytes().chain(document.bytes_at(range.end)))
            .take_while(|(before, after)| before == after)
            .count();
        // And to the left, comparing backwards from the ends of the replacement.
        let slide_left = backwards(document, range.end)
            .zip(
                new_text
                    .bytes()
                    .rev()
                    .chain(backwards(document, range.start)),
            )
            .take_while(|(before, after)| before == after)
            .count();
        // Slides are counted in bytes; widen them to whole chars within the text.
        let span_start =
            document.char_to_byte(document.byte_to_char(range.start.saturating_sub(slide_left)));
        let slid_end = (range.end + slide_right).min(document.len_bytes());
        let span_end_char = document.byte_to_char(slid_end);
        let mut span_end = document.char_to_byte(span_end_char);
        if span_end < slid_end {
            span_end = document.char_to_byte(span_end_char + 1);
        }
        let mut span = span_start..span_end;
        // Editors' whole-line reports are widened over a `\r` before and a `\n`
        // after before they are trimmed; allow for that too.
        if span.start > 0 && document.byte(span.start - 1) == b'\r' {
            span.start -= 1;
        }
        if document.get_byte(span.end) == Some(b'\n') {
            span.end += 1;
        }
        let mut expected_span_text =
            text_in(document, &(span.start..range.start)).unwrap_or_default();
        expected_span_text.push_str(new_text);
        expected_span_text.push_str(&text_in(document, &(range.end..span.end)).unwrap_or_default());
        AcceptInFlight {
            lead: range.start - span.start,
            trail: span.end - range.end,
            span,
            expected_span_text,
            confirmed: false,
        }
    }

    /// Moves the span with one edit and says whether the edit touched it.
    fn follow(&mut self, edit: &ByteEdit) -> bool {
        if edit.old_end < self.span.start {
            self.span = shift(&self.span, edit.delta());
            false
        } else if edit.start > self.span.end {
            false
        } else {
            self.span = covering(&self.span, edit);
            true
        }
    }

    fn has_landed(&self, document: &Rope) -> bool {
        text_in(document, &self.span).as_deref() == Some(self.expected_span_text.as_str())
    }

    /// The hunk's range inside the span, as long as the accept has not landed.
    fn hunk_range(&self) -> std::ops::Range<usize> {
        let start = self.span.start + self.lead;
        start..self.span.end.saturating_sub(self.trail).max(start)
    }

    fn accepted_range(&self, new_text: &str) -> std::ops::Range<usize> {
        let start = self.span.start + self.lead;
        start..start + new_text.len()
    }
}

/// The bytes of `document` before `offset`, nearest first.
fn backwards(document: &Rope, offset: usize) -> impl Iterator<Item = u8> + '_ {
    let mut bytes = document.bytes_at(offset);
    std::iter::from_fn(move || bytes.prev())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;
    use crate::document::{ContentChange, Document, PositionEncoding, byte_range_to_range};
    use crate::proposal::diff_hunks;

    fn uri() -> Url {
        Url::parse("file:///src/lib.rs").unwrap()
    }

    /// A document with one run's proposal replacing all of it by `replacement`.
    fn proposed(text: &str, replacement: &str) -> (Document, ProposalStore, Vec<HunkId>) {
        let document = Document::new(uri(), 1, "rust".into(), text);
        let mut store = ProposalStore::new();
        let ids = store.add(
            RunId(1),
            &uri(),
            0,
            diff_hunks(text, replacement),
            &document.text,
        );
        (document, store, ids)
    }

    /// Types `new_text` over `range` like an editor would and re-anchors the hunks.
    fn type_text(
        document: &mut Document,
        store: &mut ProposalStore,
        range: std::ops::Range<usize>,
        new_text: &str,
    ) -> Vec<HunkId> {
        let change = ContentChange {
            range: Some(byte_range_to_range(
                &document.text,
                range,
                PositionEncoding::Utf16,
            )),
            text: new_text.into(),
        };
        let edits = document
            .apply_changes(document.version + 1, &[change], PositionEncoding::Utf16)
            .unwrap();
        store.apply_edits(&uri(), &edits, &document.text)
    }

    #[test]
    fn an_edit_above_shifts_the_hunk() {
        let (mut document, mut store, ids) = proposed("a\nb\nc\n", "a\nb\nX\n");
        assert_eq!(store.get(ids[0]).unwrap().range, 4..5);
        let changed = type_text(&mut document, &mut store, 0..0, "😀\r\n");
        assert_eq!(changed, ids);
        let hunk = store.get(ids[0]).unwrap();
        assert_eq!((hunk.range.clone(), hunk.state), (10..11, HunkState::Open));
        assert_eq!(document.slice(hunk.range.clone()), "c");
    }

    #[test]
    fn an_edit_below_or_at_the_end_leaves_the_hunk_alone() {
        let (mut document, mut store, ids) = proposed("ab\ncd\n", "aX\ncd\n");
        assert!(type_text(&mut document, &mut store, 2..2, "!").is_empty());
        assert_eq!(store.get(ids[0]).unwrap().range, 1..2);
    }

    #[test]
    fn an_edit_inside_conflicts_and_undoing_it_reopens() {
        let (mut document, mut store, ids) = proposed("let x = 1;\n", "let x = 22;\n");
        type_text(&mut document, &mut store, 8..9, "3");
        let hunk = store.get(ids[0]).unwrap();
        assert_eq!(
            (hunk.range.clone(), hunk.state),
            (8..9, HunkState::Conflicted)
        );
        type_text(&mut document, &mut store, 8..9, "1");
        assert_eq!(store.get(ids[0]).unwrap().state, HunkState::Open);
    }

    #[test]
    fn accepting_a_conflicted_hunk_is_refused() {
        let (mut document, mut store, ids) = proposed("one two\n", "one 2\n");
        type_text(&mut document, &mut store, 5..6, "W");
        let error = store.begin_accept(ids[0], &document.text).unwrap_err();
        assert_eq!(
            error,
            ProposalError::NotOpen {
                id: ids[0],
                state: HunkState::Conflicted
            }
        );
    }

    #[test]
    fn accepting_over_changed_text_is_refused_and_conflicts() {
        let (document, mut store, ids) = proposed("one two\n", "one 2\n");
        let mut other = document.clone();
        other
            .apply_changes(
                2,
                &[ContentChange {
                    range: None,
                    text: "one TWO\n".into(),
                }],
                PositionEncoding::Utf8,
            )
            .unwrap();
        assert_eq!(
            store.begin_accept(ids[0], &other.text),
            Err(ProposalError::BaseChanged(ids[0]))
        );
        assert_eq!(store.get(ids[0]).unwrap().state, HunkState::Conflicted);
    }

    #[test]
    fn an_accept_lands_whether_the_answer_or_the_change_comes_first() {
        for change_first in [true, false] {
            let (mut document, mut store, ids) = proposed("a\r\nb\r\n", "a\r\nc\r\n");
            let accept = store.begin_accept(ids[0], &document.text).unwrap();
            assert_eq!(store.get(ids[0]).unwrap().state, HunkState::Applying);
            if change_first {
                type_text(
                    &mut document,
                    &mut store,
                    accept.range.clone(),
                    &accept.new_text,
                );
                assert_eq!(store.get(ids[0]).unwrap().state, HunkState::Accepted);
            } else {
                assert_eq!(
                    store.settle_accept(ids[0], true, &document.text),
                    Ok(HunkState::Applying)
                );
                type_text(
                    &mut document,
                    &mut store,
                    accept.range.clone(),
                    &accept.new_text,
                );
                assert_eq!(store.get(ids[0]).unwrap().state, HunkState::Accepted);
            }
            assert_eq!(document.text.to_string(), "a\r\nc\r\n");
            assert_eq!(store.get(ids[0]).unwrap().range, 3..4);
        }
    }

    #[test]
    fn an_insertion_reported_further_right_still_lands() {
        // Inserting "x\n" before "x\n" can come back as an insertion after it.
        let (mut document, mut store, ids) = proposed("x\ny\n", "x\nx\ny\n");
        let accept = store.begin_accept(ids[0], &document.text).unwrap();
        type_text(
            &mut document,
            &mut store,
            0..2,
            &format!("{}x\n", accept.new_text),
        );
        assert_eq!(store.get(ids[0]).unwrap().state, HunkState::Accepted);
        assert_eq!(document.text.to_string(), "x\nx\ny\n");
    }

    #[test]
    fn a_refused_accept_reopens_the_hunk() {
        let (document, mut store, ids) = proposed("a b\n", "a c\n");
        store.begin_accept(ids[0], &document.text).unwrap();
        assert_eq!(
            store.settle_accept(ids[0], false, &document.text),
            Ok(HunkState::Open)
        );
        assert_eq!(store.get(ids[0]).unwrap().range, 2..3);
    }

    #[test]
    fn reject_is_final() {
        let (_, mut store, ids) = proposed("a\n", "b\n");
        store.reject(ids[0]).unwrap();
        assert_eq!(store.get(ids[0]).unwrap().state, HunkState::Rejected);
        assert!(store.open_hunks(&uri()).is_empty());
        assert_eq!(
            store.reject(ids[0]),
            Err(ProposalError::AlreadyDecided {
                id: ids[0],
                state: HunkState::Rejected
            })
        );
        assert_eq!(
            store.reject(HunkId(99)),
            Err(ProposalError::UnknownHunk(HunkId(99)))
        );
    }

    #[test]
    fn restore_finds_the_hunk_by_content_or_marks_it_stale() {
        let (document, store, ids) = proposed("fn a() {}\nfn b() {}\n", "fn a() {}\nfn c() {}\n");
        let hunk = store.get(ids[0]).unwrap().clone();
        let json = serde_json::to_string(&hunk).unwrap();
        let from_journal: Hunk = serde_json::from_str(&json).unwrap();

        let mut restored = ProposalStore::new();
        let moved = Rope::from_str("// header\nfn a() {}\nfn b() {}\n");
        restored.restore(from_journal.clone(), &moved);
        let found = restored.get(ids[0]).unwrap();
        assert_eq!(
            (found.range.clone(), found.state),
            (23..24, HunkState::Open)
        );
        assert_eq!(
            restored.add(RunId(2), &uri(), 0, Vec::new(), &document.text),
            Vec::new()
        );
        let next = restored.add(
            RunId(2),
            &uri(),
            0,
            diff_hunks("x", "y"),
            &Rope::from_str("x"),
        );
        assert!(next[0] > ids[0]);

        let mut gone = ProposalStore::new();
        gone.restore(from_journal, &Rope::from_str("fn a() {}\nfn z() {}\n"));
        assert_eq!(gone.get(ids[0]).unwrap().state, HunkState::Stale);
    }

    #[test]
    fn ids_continue_after_a_restart() {
        let mut store = ProposalStore::with_next_id(40);
        let ids = store.add(
            RunId(3),
            &uri(),
            0,
            diff_hunks("a", "b"),
            &Rope::from_str("a"),
        );
        assert_eq!(ids, vec![HunkId(40)]);
        assert_eq!(store.hunks_of_run(RunId(3)).len(), 1);
    }

    #[test]
    fn a_hunk_whose_base_is_gone_starts_conflicted() {
        let mut store = ProposalStore::new();
        let ids = store.add(
            RunId(1),
            &uri(),
            0,
            diff_hunks("abc", "abd"),
            &Rope::from_str("abX"),
        );
        assert_eq!(store.get(ids[0]).unwrap().state, HunkState::Conflicted);
        let ids = store.add(
            RunId(1),
            &uri(),
            10,
            diff_hunks("abc", "abd"),
            &Rope::from_str("abc"),
        );
        assert_eq!(store.get(ids[0]).unwrap().state, HunkState::Stale);
    }
}
