//! Turning an HTTP agent's answer into proposals on the run's region, with the
//! warning of a validation it did not pass (see [`super::validating`]).

use super::Engine;
use crate::agent::{ChatMessage, Completion};
use crate::ids::RunId;
use crate::proposal::diff_hunks;
use crate::run::event::RunEvent;
use crate::run::journal::{JournalEntry, Transcript};
use crate::run::output::{extract_replacement, fit_to_region};
use crate::run::state::{RunKind, RunState};
use crate::syntax::{Language, validate_replacement};
use crate::workspace::{Workspace, lock};
use std::ops::Range;

impl Engine {
    /// Turns the agent's answer into hunks on the region as it is now;
    /// `warning` says why it failed validation, if it did.
    pub(super) fn propose(
        &self,
        id: RunId,
        base: &str,
        messages: Vec<ChatMessage>,
        completion: Completion,
        warning: Option<String>,
    ) {
        let kind = lock(&self.workspace).run_kind(id);
        if kind == Some(RunKind::Review) {
            return self.record_findings(id, messages, completion);
        }
        if kind == Some(RunKind::Task) {
            return self.propose_task_answer(id, messages, completion);
        }
        let mut workspace = lock(&self.workspace);
        self.record_output(&mut workspace, id, messages, &completion);
        let region = workspace.regions.get(&id).cloned();
        let replacement = match extract_replacement(&completion.text) {
            Ok(replacement) => fit_to_region(&replacement, base),
            Err(error) => {
                return self.set_state(
                    &mut workspace,
                    id,
                    RunState::Failed,
                    Some(error.to_string()),
                );
            }
        };
        let diffs = diff_hunks(base, &replacement);
        if diffs.is_empty() {
            return self.set_state(
                &mut workspace,
                id,
                RunState::Settled,
                Some("the agent proposed no change".into()),
            );
        }
        let Some(region) = region else {
            return self.set_state(
                &mut workspace,
                id,
                RunState::Failed,
                Some("the run lost track of its region".into()),
            );
        };
        let Some(document) = workspace.documents.get(&region.uri).cloned() else {
            return self.set_state(
                &mut workspace,
                id,
                RunState::Failed,
                Some("the document was closed before the answer arrived".into()),
            );
        };
        let hunk_ids =
            workspace
                .proposals
                .add(id, &region.uri, region.range.start, diffs, &document.text);
        if !region.intact {
            for &hunk in &hunk_ids {
                workspace.proposals.mark_conflicted(hunk);
            }
        }
        let superseded = self.record_proposals(&mut workspace, id, hunk_ids);
        let reason = match (warning, region.intact) {
            (Some(warning), _) => Some(warning),
            (None, false) => Some(
                "the region was edited while the agent worked; the proposals are conflicted".into(),
            ),
            (None, true) => None,
        };
        self.set_state(&mut workspace, id, RunState::Proposed, reason);
        let _ = self
            .events
            .send(RunEvent::ProposalsChanged { uri: region.uri });
        for uri in superseded {
            let _ = self.events.send(RunEvent::ProposalsChanged { uri });
        }
    }
    /// Journals what the agent was told and answered (with the steps of a
    /// workflow run), and the tokens it used.
    pub(super) fn record_output(
        &self,
        workspace: &mut Workspace,
        id: RunId,
        messages: Vec<ChatMessage>,
        completion: &Completion,
    ) {
        // A workflow logs its steps in the transcript as they run; they stay.
        let steps = workspace
            .transcripts
            .remove(&id)
            .map(|transcript| transcript.steps)
            .unwrap_or_default();
        let transcript = Transcript {
            messages,
            answer: completion.text.clone(),
            steps,
        };
        self.journal.append(&JournalEntry::Output {
            run: id,
            transcript: transcript.clone(),
        });
        workspace.transcripts.insert(id, transcript);
        if let Some(record) = workspace.runs.get_mut(&id) {
            record.usage = completion.usage;
        }
    }
}

/// A warning when the replacement adds syntax errors to the file.
pub(super) fn syntax_warning(
    document: &crate::document::Document,
    region: &Range<usize>,
    replacement: &str,
) -> Option<String> {
    let language = Language::from_language_id(&document.language_id).or_else(|| {
        document
            .uri
            .to_file_path()
            .ok()
            .and_then(|path| Language::from_path(&path))
    })?;
    let original = document.text.to_string();
    let start = region.start.min(original.len());
    let end = region.end.min(original.len());
    let proposed = format!(
        "{}{}{}",
        original.get(..start)?,
        replacement,
        original.get(end..)?
    );
    let report = validate_replacement(language, &original, &proposed);
    let first = report.introduced_errors.first()?;
    let line = proposed
        .get(..first.range.start)
        .map_or(0, |before| before.matches('\n').count())
        + 1;
    Some(format!(
        "the proposed code does not parse as {} (line {line}: {})",
        language.name(),
        first.message
    ))
}
