//! Deciding on proposals: accepting (as a versioned edit the editor applies),
//! rejecting, and settling runs whose hunks are all decided.

use super::{AcceptPlan, Engine, EngineError};
use crate::ids::{HunkId, RunId};
use crate::proposal::{AcceptEdit, HunkState};
use crate::run::event::RunEvent;
use crate::run::journal::{Decision, JournalEntry, base_sha256};
use crate::run::state::{RunState, now_ms};
use crate::workspace::{Workspace, lock};
use url::Url;

impl Engine {
    /// Rejects hunks: they disappear and the decision is recorded.
    pub fn reject(&self, hunks: &[HunkId]) -> Result<(), EngineError> {
        let mut workspace = lock(&self.workspace);
        for &id in hunks {
            let hunk = workspace
                .proposals
                .get(id)
                .ok_or(EngineError::UnknownHunk(id))?;
            let uri = hunk.uri.clone();
            workspace.proposals.reject(id)?;
            self.record_decisions(&mut workspace, &[id]);
            let _ = self.events.send(RunEvent::ProposalsChanged { uri });
        }
        Ok(())
    }
    /// The hunks of a run that are still waiting for a decision.
    pub fn open_hunks_of_run(&self, run: RunId) -> Result<Vec<HunkId>, EngineError> {
        let workspace = lock(&self.workspace);
        if !workspace.runs.contains_key(&run) {
            return Err(EngineError::UnknownRun(run));
        }
        Ok(workspace
            .proposals
            .hunks_of_run(run)
            .into_iter()
            .filter(|hunk| {
                matches!(
                    hunk.state,
                    HunkState::Open | HunkState::Conflicted | HunkState::Stale
                )
            })
            .map(|hunk| hunk.id)
            .collect())
    }
    /// `hunks` grouped by the document they are in, in order of first
    /// appearance, for runs that proposed edits in several files; unknown hunks
    /// are left out.
    pub fn hunks_by_document(&self, hunks: &[HunkId]) -> Vec<Vec<HunkId>> {
        let workspace = lock(&self.workspace);
        let mut groups: Vec<(Url, Vec<HunkId>)> = Vec::new();
        for &id in hunks {
            let Some(hunk) = workspace.proposals.get(id) else {
                continue;
            };
            match groups.iter_mut().find(|(uri, _)| *uri == hunk.uri) {
                Some((_, group)) => group.push(id),
                None => groups.push((hunk.uri.clone(), vec![id])),
            }
        }
        groups.into_iter().map(|(_, group)| group).collect()
    }
    /// Prepares the edit that accepts `hunks` (all in one document). Hunks whose
    /// base text is no longer intact are refused: nothing is ever applied to text
    /// other than the text it was computed from.
    pub fn begin_accept(&self, hunks: &[HunkId]) -> Result<AcceptPlan, EngineError> {
        let mut workspace = lock(&self.workspace);
        let first = *hunks.first().ok_or(EngineError::NothingToAccept)?;
        let uri = workspace
            .proposals
            .get(first)
            .ok_or(EngineError::UnknownHunk(first))?
            .uri
            .clone();
        self.within_boundary(&uri)?;
        let version = workspace
            .documents
            .get(&uri)
            .map(|document| document.version);
        let document = workspace
            .proposal_document(&uri)
            .cloned()
            .ok_or_else(|| EngineError::UnknownDocument(uri.clone()))?;
        let file_operation = hunks
            .iter()
            .find_map(|hunk| workspace.file_operations.get(hunk).copied());
        if let Some(&id) = hunks.iter().find(|id| {
            workspace
                .proposals
                .get(**id)
                .is_none_or(|hunk| hunk.uri != uri)
        }) {
            return Err(EngineError::UnknownHunk(id));
        }
        let accepted = match workspace.proposals.begin_accept(hunks, &document.text) {
            Ok(accepted) => accepted,
            Err(error) => {
                let _ = self
                    .events
                    .send(RunEvent::ProposalsChanged { uri: uri.clone() });
                return Err(EngineError::Proposal(error));
            }
        };
        let (hunks, edits): (Vec<HunkId>, Vec<AcceptEdit>) = accepted.into_iter().unzip();
        // The intent is on disk before the editor is asked: after a crash the
        // hunks are looked for with their new text as well as their base text.
        self.journal.append(&JournalEntry::AcceptIntent {
            hunks: hunks.clone(),
            time_ms: now_ms(),
        });
        Ok(AcceptPlan {
            uri,
            version,
            file_operation,
            document,
            hunks,
            edits,
        })
    }
    /// Records the editor's answer to an accept edit.
    pub fn settle_accept(&self, plan: &AcceptPlan, applied: bool) {
        let mut workspace = lock(&self.workspace);
        let open_version = workspace
            .documents
            .get(&plan.uri)
            .map(|document| document.version);
        let mut changed = Vec::new();
        if applied && open_version.is_none() {
            // No didChange will come for a file the editor has not opened: its
            // text moves on by the edit itself.
            changed = workspace.apply_to_unopened(&plan.uri, &plan.hunks);
        }
        // Editors send the change before the answer, but may send it after.
        let change_seen = match (plan.version, open_version) {
            (Some(sent), Some(now)) => now != sent,
            (None, Some(_)) => false,
            (_, None) => true,
        };
        if let Some(document) = workspace.proposal_document(&plan.uri).cloned() {
            changed.extend(workspace.proposals.settle_accept(
                &plan.hunks,
                applied,
                change_seen,
                &document.text,
            ));
        }
        changed.extend(plan.hunks.iter().copied());
        self.record_decisions(&mut workspace, &changed);
        let _ = self.events.send(RunEvent::ProposalsChanged {
            uri: plan.uri.clone(),
        });
    }
    /// Called after a document change moved or settled hunks.
    pub fn hunks_changed(&self, uri: &Url, hunks: &[HunkId]) {
        let mut workspace = lock(&self.workspace);
        let findings_moved = workspace.findings_moved.remove(uri);
        if hunks.is_empty() {
            if findings_moved {
                let _ = self
                    .events
                    .send(RunEvent::ProposalsChanged { uri: uri.clone() });
            }
            return;
        }
        self.record_decisions(&mut workspace, hunks);
        let _ = self
            .events
            .send(RunEvent::ProposalsChanged { uri: uri.clone() });
    }
    /// Journals the decisions on `hunks` that are new, and settles runs whose
    /// hunks are all decided.
    pub(super) fn record_decisions(&self, workspace: &mut Workspace, hunks: &[HunkId]) {
        let mut runs = Vec::new();
        for &id in hunks {
            let Some(hunk) = workspace.proposals.get(id) else {
                continue;
            };
            let decision = match hunk.state {
                HunkState::Accepted => Decision::Accepted,
                HunkState::Rejected => Decision::Rejected,
                _ => continue,
            };
            let run = hunk.run;
            if workspace.recorded_decisions.insert(id) {
                self.journal.append(&JournalEntry::Decision {
                    hunk: id,
                    decision,
                    time_ms: now_ms(),
                });
                runs.push(run);
            }
        }
        runs.dedup();
        for run in runs {
            let all_decided = workspace
                .proposals
                .hunks_of_run(run)
                .iter()
                .all(|hunk| matches!(hunk.state, HunkState::Accepted | HunkState::Rejected));
            let proposed = workspace
                .runs
                .get(&run)
                .is_some_and(|record| record.state == RunState::Proposed);
            if all_decided && proposed {
                self.set_state(workspace, run, RunState::Settled, None);
            }
        }
    }
    /// Journals a run's new hunks, gives them to the run, and retires the open
    /// hunks of the run it refines; returns the documents those were on.
    pub(super) fn record_proposals(
        &self,
        workspace: &mut Workspace,
        id: RunId,
        hunk_ids: Vec<HunkId>,
    ) -> Vec<Url> {
        for &hunk in &hunk_ids {
            if let Some(hunk) = workspace.proposals.get(hunk) {
                self.journal.append(&JournalEntry::Proposal {
                    hunk: hunk.clone(),
                    base_sha256: base_sha256(&hunk.base_text),
                });
            }
        }
        let superseded = self.supersede_previous(workspace, id);
        if let Some(record) = workspace.runs.get_mut(&id) {
            record.hunks = hunk_ids;
        }
        superseded
    }
    /// A refined run's proposals replace the undecided ones of the run it refines.
    pub(super) fn supersede_previous(&self, workspace: &mut Workspace, id: RunId) -> Vec<Url> {
        let Some(previous) = workspace
            .runs
            .get(&id)
            .and_then(|record| record.refined_from)
        else {
            return Vec::new();
        };
        let mut uris = Vec::new();
        let undecided: Vec<(HunkId, Url)> = workspace
            .proposals
            .hunks_of_run(previous)
            .into_iter()
            .filter(|hunk| !matches!(hunk.state, HunkState::Accepted | HunkState::Rejected))
            .map(|hunk| (hunk.id, hunk.uri.clone()))
            .collect();
        for (hunk, uri) in undecided {
            if workspace.proposals.reject(hunk).is_err() {
                continue;
            }
            workspace.recorded_decisions.insert(hunk);
            self.journal.append(&JournalEntry::Decision {
                hunk,
                decision: Decision::Superseded,
                time_ms: now_ms(),
            });
            uris.push(uri);
        }
        if workspace
            .runs
            .get(&previous)
            .is_some_and(|record| record.state == RunState::Proposed)
        {
            self.set_state(
                workspace,
                previous,
                RunState::Settled,
                Some(format!("refined as run {id}")),
            );
        }
        uris.dedup();
        uris
    }
}
