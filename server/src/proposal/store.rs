//! Every hunk of every run, re-anchored on each user edit, and the accept and
//! reject decisions on them.
//!
//! The invariant everything here protects: a hunk is never applied to text
//! other than its base text. An open hunk's range always holds exactly its
//! base text (edits outside it only shift it; an edit inside it makes it
//! conflicted), and an accept is only handed out after checking that text.

use std::collections::BTreeMap;

use ropey::Rope;
use url::Url;

use super::anchor::{context_around, find_anchor, text_in};
use super::{AcceptEdit, Hunk, HunkDiff, HunkState, reanchor};
use crate::document::{ByteEdit, ContentChange, Document, PositionEncoding, byte_range_to_range};
use crate::ids::{HunkId, RunId};

/// All hunks, by id. A plain struct: the caller holds the lock.
#[derive(Debug, Default)]
pub struct ProposalStore {
    hunks: BTreeMap<HunkId, Hunk>,
    /// The accepts sent to the editor whose text has not been seen yet.
    accepts_in_flight: Vec<AcceptInFlight>,
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
    #[error("hunk {0} overlaps another hunk being accepted; accept it on its own afterwards")]
    OverlapsAccept(HunkId),
    #[error("hunk {id} is already {state}")]
    AlreadyDecided { id: HunkId, state: HunkState },
}

/// The hunks one `workspace/applyEdit` replaces together, from the moment it
/// is sent until the document shows their new text.
///
/// Landing is decided on content, never on positions: a change lands hunks
/// when the text after it is exactly the text before it with their new text
/// in place of their base text, however the editor reported it (the exact
/// edits, whole lines, one edit spanning them all, or the whole text).
#[derive(Debug, Clone)]
struct AcceptInFlight {
    /// Still in [`HunkState::Applying`], in document order.
    hunks: Vec<HunkId>,
    /// The editor answered that it applied the edit, whose change has not
    /// been seen yet.
    confirmed: bool,
}

/// A hunk's replacement as it lands: where its base text is and what replaces it.
#[derive(Debug, Clone)]
struct Landing {
    id: HunkId,
    range: std::ops::Range<usize>,
    new_text: String,
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

    /// Follows one `didChange` of `uri` from `before` to `after` (the `edits`
    /// in order, each in the coordinates of the text before it) and returns
    /// the hunks whose range or state changed.
    ///
    /// First, accepts in flight whose text the change shows land (see
    /// [`AcceptInFlight`]), and every other hunk moves through exactly those
    /// replacements. Otherwise the pending hunks move through the edits: an
    /// edit that ends at or before a hunk's start shifts it, so an insertion
    /// right at the start of a hunk (or at an empty insertion hunk) lands
    /// before it; an edit that starts at or after its end leaves it alone; any
    /// other edit overlaps it and makes an open hunk conflicted, its range
    /// growing to cover the edit. A conflicted hunk whose range holds its base
    /// text again after the change (the user undid their edit) is open again.
    /// A hunk being applied moves like an open one (an edit inside it means
    /// its accept can no longer land); one whose accept the editor already
    /// confirmed is conflicted, as the change that should have carried it
    /// did not.
    pub fn apply_edits(
        &mut self,
        uri: &Url,
        edits: &[ByteEdit],
        before: &Rope,
        after: &Rope,
    ) -> Vec<HunkId> {
        let landings = self.landings(uri, before, after);
        if landings.is_empty() {
            let mut changed = self.follow_edits(uri, edits, after);
            for id in self.conflict_confirmed(uri) {
                if !changed.contains(&id) {
                    changed.push(id);
                }
            }
            return changed;
        }
        let mut changed = Vec::new();
        let mut delta = 0isize;
        for landing in &landings {
            if let Some(hunk) = self.hunks.get_mut(&landing.id) {
                let start = landing.range.start.saturating_add_signed(delta);
                hunk.range = start..start + landing.new_text.len();
                hunk.state = HunkState::Accepted;
                changed.push(hunk.id);
            }
            delta += landing.new_text.len() as isize - landing.range.len() as isize;
        }
        self.forget_landed();
        // The rest move through exactly those replacements.
        let replacements = replacement_edits(uri, before, &landings);
        changed.extend(self.follow_edits(uri, &replacements, after));
        changed
    }

    /// The hunks in flight on `uri` that the change from `before` to `after`
    /// lands, in document order: all of them, or all of one accept, or one
    /// hunk (editors may report one accept as several changes).
    fn landings(&self, uri: &Url, before: &Rope, after: &Rope) -> Vec<Landing> {
        let waiting = |ids: &[HunkId]| -> Vec<Landing> {
            ids.iter()
                .filter_map(|id| self.hunks.get(id))
                .filter(|hunk| {
                    &hunk.uri == uri
                        && hunk.state == HunkState::Applying
                        && text_in(before, &hunk.range).as_deref() == Some(hunk.base_text.as_str())
                })
                .map(|hunk| Landing {
                    id: hunk.id,
                    range: hunk.range.clone(),
                    new_text: hunk.new_text.clone(),
                })
                .collect()
        };
        let mut everything: Vec<Landing> = self
            .accepts_in_flight
            .iter()
            .flat_map(|accept| waiting(&accept.hunks))
            .collect();
        if everything.is_empty() {
            return Vec::new();
        }
        everything.sort_by_key(|landing| (landing.range.start, landing.range.end));
        let mut candidates = vec![everything.clone()];
        candidates.extend(
            self.accepts_in_flight
                .iter()
                .map(|accept| waiting(&accept.hunks)),
        );
        candidates.extend(everything.into_iter().map(|landing| vec![landing]));
        candidates
            .into_iter()
            .find(|landings| !landings.is_empty() && lands(before, landings, after))
            .unwrap_or_default()
    }

    /// Moves the pending hunks of `uri` through `edits` (see [`Self::apply_edits`]).
    fn follow_edits(&mut self, uri: &Url, edits: &[ByteEdit], after: &Rope) -> Vec<HunkId> {
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
                let moved = reanchor(&hunk.range, edit);
                hunk.range = moved.range;
                touched |= moved.overlapped;
            }
            hunk.state = match hunk.state {
                HunkState::Open | HunkState::Conflicted if touched => {
                    if text_in(after, &hunk.range).as_deref() == Some(hunk.base_text.as_str()) {
                        HunkState::Open
                    } else {
                        HunkState::Conflicted
                    }
                }
                state => state,
            };
            if (hunk.range.clone(), hunk.state) != original {
                changed.push(hunk.id);
            }
        }
        changed
    }

    /// Conflicts the hunks of `uri` whose accept the editor confirmed, after
    /// a change that should have carried it did not.
    fn conflict_confirmed(&mut self, uri: &Url) -> Vec<HunkId> {
        let mut changed = Vec::new();
        for accept in self
            .accepts_in_flight
            .iter()
            .filter(|accept| accept.confirmed)
        {
            for id in &accept.hunks {
                if let Some(hunk) = self.hunks.get_mut(id).filter(|hunk| &hunk.uri == uri) {
                    hunk.state = HunkState::Conflicted;
                    changed.push(*id);
                }
            }
        }
        self.forget_landed();
        changed
    }

    /// Starts accepting open hunks together: checks that `document` still
    /// holds each one's base text (a hunk whose text changed becomes
    /// conflicted), leaves out hunks that overlap another accept, and returns
    /// the edits to send to the editor, in document order. Fails only when no
    /// hunk can be accepted, with the reason of the last refusal.
    pub fn begin_accept(
        &mut self,
        ids: &[HunkId],
        document: &Rope,
    ) -> Result<Vec<(HunkId, AcceptEdit)>, ProposalError> {
        let mut taken: Vec<(Url, std::ops::Range<usize>)> = self
            .accepts_in_flight
            .iter()
            .flat_map(|accept| accept.hunks.iter())
            .filter_map(|id| self.hunks.get(id))
            .map(|hunk| (hunk.uri.clone(), hunk.range.clone()))
            .collect();
        let mut accepted = Vec::new();
        let mut refusal = None;
        for &id in ids {
            match self.check_accept(id, document, &taken) {
                Ok((uri, edit)) => {
                    taken.push((uri, edit.range.clone()));
                    accepted.push((id, edit));
                }
                Err(error) => refusal = Some(error),
            }
        }
        if accepted.is_empty() {
            return refusal.map_or(Ok(accepted), Err);
        }
        accepted.sort_by_key(|(_, edit)| (edit.range.start, edit.range.end));
        for (id, _) in &accepted {
            if let Some(hunk) = self.hunks.get_mut(id) {
                hunk.state = HunkState::Applying;
            }
        }
        self.accepts_in_flight.push(AcceptInFlight {
            hunks: accepted.iter().map(|(id, _)| *id).collect(),
            confirmed: false,
        });
        Ok(accepted)
    }

    /// The edit that accepts hunk `id` now, with its document, if it is
    /// open, its base text intact and its place clear of the `taken` ones.
    fn check_accept(
        &mut self,
        id: HunkId,
        document: &Rope,
        taken: &[(Url, std::ops::Range<usize>)],
    ) -> Result<(Url, AcceptEdit), ProposalError> {
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
        if taken
            .iter()
            .any(|(uri, range)| *uri == hunk.uri && collide(range, &hunk.range))
        {
            return Err(ProposalError::OverlapsAccept(id));
        }
        Ok((
            hunk.uri.clone(),
            AcceptEdit {
                range: hunk.range.clone(),
                new_text: hunk.new_text.clone(),
            },
        ))
    }

    /// Settles the accept of `hunks` with the editor's answer; returns the
    /// hunks whose state changed.
    ///
    /// Applied, with its change already seen (`change_seen`) but not landed:
    /// something else changed the same text, so its hunks are conflicted.
    /// Applied before its change arrives: it waits for the change, and the
    /// first change of the document that does not land it conflicts it. Not
    /// applied: each hunk is open again where its base text is intact, else
    /// conflicted. Hunks already landed stay accepted.
    pub fn settle_accept(
        &mut self,
        hunks: &[HunkId],
        applied: bool,
        change_seen: bool,
        document: &Rope,
    ) -> Vec<HunkId> {
        let Some(index) = self
            .accepts_in_flight
            .iter()
            .position(|accept| accept.hunks.iter().any(|id| hunks.contains(id)))
        else {
            return Vec::new();
        };
        if applied && !change_seen {
            self.accepts_in_flight[index].confirmed = true;
            return Vec::new();
        }
        let accept = self.accepts_in_flight.remove(index);
        let mut changed = Vec::new();
        for id in accept.hunks {
            let Some(hunk) = self.hunks.get_mut(&id) else {
                continue;
            };
            if hunk.state != HunkState::Applying {
                continue;
            }
            hunk.state = if !applied
                && text_in(document, &hunk.range).as_deref() == Some(hunk.base_text.as_str())
            {
                HunkState::Open
            } else {
                HunkState::Conflicted
            };
            changed.push(id);
        }
        changed
    }

    /// Drops landed or settled hunks from the accepts in flight, and accepts
    /// left with none.
    fn forget_landed(&mut self) {
        let hunks = &self.hunks;
        for accept in &mut self.accepts_in_flight {
            accept.hunks.retain(|id| {
                hunks
                    .get(id)
                    .is_some_and(|hunk| hunk.state == HunkState::Applying)
            });
        }
        self.accepts_in_flight
            .retain(|accept| !accept.hunks.is_empty());
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
        let taken = pending
            .into_iter()
            .filter_map(|id| self.hunks.remove(&id))
            .collect();
        self.forget_landed();
        taken
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

    /// Brings back a hunk from the journal after a restart, re-anchored by
    /// content in `document` (see [`find_anchor`]). A hunk whose accept was
    /// under way when the server stopped is accepted where its new text
    /// stands in its context, and open where its base text still does; a
    /// pending hunk is open where its base text stands; otherwise it is stale,
    /// never placed on text that merely looks like it. A decided hunk is kept
    /// as it was.
    pub fn restore(&mut self, mut hunk: Hunk, document: &Rope) -> HunkId {
        self.next_id = self.next_id.max(hunk.id.0 + 1);
        if hunk.state.is_pending() {
            let text = document.to_string();
            let anchor = |replaced: &str| {
                find_anchor(&text, &hunk.context_before, replaced, &hunk.context_after)
            };
            let landed = if hunk.state == HunkState::Applying {
                anchor(&hunk.new_text)
            } else {
                None
            };
            let base = anchor(&hunk.base_text);
            (hunk.range, hunk.state) = match (landed, base) {
                (Some(range), None) => (range, HunkState::Accepted),
                (None, Some(range)) => (range, HunkState::Open),
                _ => (hunk.range.clone(), HunkState::Stale),
            };
        }
        let id = hunk.id;
        self.hunks.insert(id, hunk);
        self.forget_landed();
        id
    }

    fn take_id(&mut self) -> HunkId {
        let id = HunkId(self.next_id);
        self.next_id += 1;
        id
    }
}

/// Whether two replacements cannot go in one edit: they share bytes, or one
/// inserts where the other starts (the editor need not keep their order).
fn collide(first: &std::ops::Range<usize>, second: &std::ops::Range<usize>) -> bool {
    first.start < second.end.max(second.start + 1) && second.start < first.end.max(first.start + 1)
}

/// Whether `after` is exactly `before` with `landings` (in document order,
/// not overlapping) in place.
fn lands(before: &Rope, landings: &[Landing], after: &Rope) -> bool {
    let growth: isize = landings
        .iter()
        .map(|landing| landing.new_text.len() as isize - landing.range.len() as isize)
        .sum();
    if before.len_bytes().checked_add_signed(growth) != Some(after.len_bytes()) {
        return false;
    }
    let mut expected = before.clone();
    for landing in landings.iter().rev() {
        let start = expected.byte_to_char(landing.range.start);
        let end = expected.byte_to_char(landing.range.end);
        expected.remove(start..end);
        expected.insert(start, &landing.new_text);
    }
    expected == *after
}

/// The edits that put `landings` (in document order) in place in `before`,
/// last first so that each is in the coordinates of the text before it.
fn replacement_edits(uri: &Url, before: &Rope, landings: &[Landing]) -> Vec<ByteEdit> {
    let changes: Vec<ContentChange> = landings
        .iter()
        .rev()
        .map(|landing| ContentChange {
            range: Some(byte_range_to_range(
                before,
                landing.range.clone(),
                PositionEncoding::Utf8,
            )),
            text: landing.new_text.clone(),
        })
        .collect();
    let mut document = Document::new(uri.clone(), 0, String::new(), &before.to_string());
    document
        .apply_changes(1, &changes, PositionEncoding::Utf8)
        .unwrap_or_default()
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
        let before = document.text.clone();
        let edits = document
            .apply_changes(document.version + 1, &[change], PositionEncoding::Utf16)
            .unwrap();
        store.apply_edits(&uri(), &edits, &before, &document.text)
    }

    /// Starts accepting `ids` together and returns the one edit of each.
    fn begin(store: &mut ProposalStore, ids: &[HunkId], document: &Document) -> Vec<AcceptEdit> {
        store
            .begin_accept(ids, &document.text)
            .unwrap()
            .into_iter()
            .map(|(_, edit)| edit)
            .collect()
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
        let error = store.begin_accept(&ids, &document.text).unwrap_err();
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
            store.begin_accept(&ids, &other.text),
            Err(ProposalError::BaseChanged(ids[0]))
        );
        assert_eq!(store.get(ids[0]).unwrap().state, HunkState::Conflicted);
    }

    #[test]
    fn an_accept_lands_whether_the_answer_or_the_change_comes_first() {
        for change_first in [true, false] {
            let (mut document, mut store, ids) = proposed("a\r\nb\r\n", "a\r\nc\r\n");
            let accept = begin(&mut store, &ids, &document).remove(0);
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
                assert!(
                    store
                        .settle_accept(&ids, true, false, &document.text)
                        .is_empty()
                );
                assert_eq!(store.get(ids[0]).unwrap().state, HunkState::Applying);
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
        let accept = begin(&mut store, &ids, &document).remove(0);
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
        begin(&mut store, &ids, &document);
        assert_eq!(store.settle_accept(&ids, false, true, &document.text), ids);
        let hunk = store.get(ids[0]).unwrap();
        assert_eq!((hunk.range.clone(), hunk.state), (2..3, HunkState::Open));
    }

    /// Two lines changed far apart, with a third hunk of another run between.
    fn two_hunks_and_one_between() -> (Document, ProposalStore, Vec<HunkId>, HunkId) {
        let text = "one\ntwo\nthree\nfour\nfive\n";
        let (document, mut store, ids) = proposed(text, "ONE\ntwo\nthree\nfour\nFIVE\n");
        let between = store.add(
            RunId(2),
            &uri(),
            0,
            diff_hunks(text, "one\ntwo\n3\nfour\nfive\n"),
            &document.text,
        )[0];
        (document, store, ids, between)
    }

    #[test]
    fn hunks_accepted_together_land_when_reported_as_one_change_or_the_whole_text() {
        for whole_text in [false, true] {
            let (mut document, mut store, ids, between) = two_hunks_and_one_between();
            assert_eq!(ids.len(), 2);
            begin(&mut store, &ids, &document);
            let result = "ONE\ntwo\nthree\nfour\nFIVE\n";
            let range = if whole_text {
                None
            } else {
                Some(byte_range_to_range(
                    &document.text,
                    0..document.text.len_bytes(),
                    PositionEncoding::Utf16,
                ))
            };
            let before = document.text.clone();
            let edits = document
                .apply_changes(
                    2,
                    &[ContentChange {
                        range,
                        text: result.into(),
                    }],
                    PositionEncoding::Utf16,
                )
                .unwrap();
            // Trimmed, the report is one edit spanning both hunks.
            assert_eq!(edits.len(), 1);
            let changed = store.apply_edits(&uri(), &edits, &before, &document.text);
            assert!(ids.iter().all(|id| changed.contains(id)));
            for (id, range) in ids.iter().zip([0..3, 19..23]) {
                let hunk = store.get(*id).unwrap();
                assert_eq!(
                    (hunk.range.clone(), hunk.state),
                    (range, HunkState::Accepted)
                );
            }
            let hunk = store.get(between).unwrap();
            assert_eq!((hunk.range.clone(), hunk.state), (8..13, HunkState::Open));
            assert!(
                store
                    .settle_accept(&ids, true, true, &document.text)
                    .is_empty()
            );
        }
    }

    #[test]
    fn hunks_accepted_together_land_one_change_at_a_time() {
        let (mut document, mut store, ids, _) = two_hunks_and_one_between();
        let edits = begin(&mut store, &ids, &document);
        // The editor applies the last edit first, each as its own change.
        for edit in edits.iter().rev() {
            type_text(
                &mut document,
                &mut store,
                edit.range.clone(),
                &edit.new_text,
            );
        }
        assert!(
            ids.iter()
                .all(|id| store.get(*id).unwrap().state == HunkState::Accepted)
        );
        assert_eq!(store.get(ids[1]).unwrap().range, 19..23);
    }

    #[test]
    fn overlapping_hunks_are_not_accepted_together() {
        let text = "a b c\n";
        let (document, mut store, first) = proposed(text, "a X c\n");
        let second = store.add(
            RunId(2),
            &uri(),
            0,
            diff_hunks(text, "a Y c\n"),
            &document.text,
        );
        let both = [first[0], second[0]];
        assert_eq!(begin(&mut store, &both, &document).len(), 1);
        assert_eq!(store.get(second[0]).unwrap().state, HunkState::Open);
        assert_eq!(
            store.begin_accept(&second, &document.text),
            Err(ProposalError::OverlapsAccept(second[0]))
        );
    }

    #[test]
    fn text_typed_at_the_edge_of_an_insertion_in_flight_stays_where_it_was_typed() {
        // The editor refuses the versioned edit: the insertion is open again,
        // after the user's text.
        let (mut document, mut store, ids) = proposed("ab\n", "aXb\n");
        begin(&mut store, &ids, &document);
        type_text(&mut document, &mut store, 1..1, "u");
        assert_eq!(store.settle_accept(&ids, false, true, &document.text), ids);
        let hunk = store.get(ids[0]).unwrap();
        assert_eq!((hunk.range.clone(), hunk.state), (2..2, HunkState::Open));

        // An editor that ignores versions puts it before the user's text: the
        // text is not where the hunk says, so it is conflicted, never accepted
        // at a place it is not.
        let (mut document, mut store, ids) = proposed("ab\n", "aXb\n");
        begin(&mut store, &ids, &document);
        type_text(&mut document, &mut store, 1..1, "u");
        type_text(&mut document, &mut store, 1..1, "X");
        assert_eq!(document.text.to_string(), "aXub\n");
        assert_eq!(store.settle_accept(&ids, true, true, &document.text), ids);
        assert_eq!(store.get(ids[0]).unwrap().state, HunkState::Conflicted);

        // Put where the hunk says, after the user's text, it lands.
        let (mut document, mut store, ids) = proposed("ab\n", "aXb\n");
        begin(&mut store, &ids, &document);
        type_text(&mut document, &mut store, 1..1, "u");
        type_text(&mut document, &mut store, 2..2, "X");
        let hunk = store.get(ids[0]).unwrap();
        assert_eq!(
            (hunk.range.clone(), hunk.state),
            (2..3, HunkState::Accepted)
        );
    }

    #[test]
    fn a_confirmed_accept_that_the_next_change_does_not_carry_conflicts() {
        let (mut document, mut store, ids) = proposed("a b\n", "a c\n");
        begin(&mut store, &ids, &document);
        assert!(
            store
                .settle_accept(&ids, true, false, &document.text)
                .is_empty()
        );
        type_text(&mut document, &mut store, 2..3, "d");
        assert_eq!(store.get(ids[0]).unwrap().state, HunkState::Conflicted);
    }

    #[test]
    fn an_accept_under_way_at_a_crash_comes_back_accepted_or_open_never_elsewhere() {
        let text = "const LIMIT: u32 = 10;\nlet retries = 1;\n";
        let (document, mut store, ids) =
            proposed(text, "const LIMIT: u32 = 10;\nlet retries = 2;\n");
        begin(&mut store, &ids, &document);
        let mut in_flight = store.get(ids[0]).unwrap().clone();
        assert_eq!(in_flight.state, HunkState::Applying);
        let applied = Rope::from_str("const LIMIT: u32 = 10;\nlet retries = 2;\n");

        let mut restored = ProposalStore::new();
        restored.restore(in_flight.clone(), &applied);
        let hunk = restored.get(ids[0]).unwrap();
        assert_eq!(
            (hunk.range.clone(), hunk.state),
            (37..38, HunkState::Accepted)
        );

        let mut restored = ProposalStore::new();
        restored.restore(in_flight.clone(), &document.text);
        assert_eq!(restored.get(ids[0]).unwrap().state, HunkState::Open);

        // Without the intent, the only other `1` in the file is not its place.
        in_flight.state = HunkState::Open;
        let mut restored = ProposalStore::new();
        restored.restore(in_flight, &applied);
        assert_eq!(restored.get(ids[0]).unwrap().state, HunkState::Stale);
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
