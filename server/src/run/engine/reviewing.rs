//! Reviews: a run whose answer becomes findings instead of proposals, and what
//! the user does with a finding (dismiss it, apply its fix). Both are
//! journaled, so open findings outlive a restart.

use super::{Engine, EngineError, display_path, open_document_with_range};
use crate::agent::{ChatMessage, Completion};
use crate::ids::{HunkId, RunId};
use crate::proposal::diff_hunks;
use crate::run::event::RunEvent;
use crate::run::journal::{FindingOutcome, JournalEntry, base_sha256};
use crate::run::output::fit_to_region;
use crate::run::prompt::{RegionContext, review_messages};
use crate::run::recorded_finding::RecordedFinding;
use crate::run::review::{FindingId, lines_range, parse_findings};
use crate::run::state::{RunKind, RunRecord, RunState, now_ms};
use crate::workspace::lock;
use std::ops::Range;
use std::sync::Arc;
use url::Url;

/// A request to review a region (the whole document when the range is empty).
#[derive(Debug, Clone)]
pub struct Review {
    pub uri: Url,
    pub range: Range<usize>,
    pub agent: String,
}

impl Engine {
    /// Starts a review of a region and returns its run id at once; its answer
    /// becomes findings (see [`super::review`]).
    pub fn review(self: &Arc<Self>, review: Review) -> Result<RunId, EngineError> {
        let config = self.config();
        let agent = self.agent_config(&config, &review.agent)?;
        if agent.kind.edits_in_sandbox() {
            return Err(EngineError::CommandAgentCannotReview(review.agent));
        }
        let mut workspace = lock(&self.workspace);
        let document = open_document_with_range(&workspace, &review.uri, &review.range)?;
        let region = if review.range.is_empty() {
            0..document.text.len_bytes()
        } else {
            crate::document::whole_lines(&document.text, review.range.clone())
        };
        let context = RegionContext {
            path: display_path(workspace.root.as_deref(), &review.uri),
            language: workspace
                .syntax
                .language(&review.uri)
                .map(|language| language.name().to_owned()),
            region: document.slice(region.clone()),
            ..RegionContext::default()
        };
        let messages = review_messages(&context, document.text.byte_to_line(region.start) + 1);
        let id = workspace.allocate_run_id();
        let record = RunRecord::queued(
            id,
            RunKind::Review,
            review.agent.clone(),
            "Review".to_owned(),
            review.uri.clone(),
            region,
            document.version,
        );
        self.start(
            &mut workspace,
            record,
            context.region,
            messages,
            (review.agent, agent),
        );
        Ok(id)
    }
    /// Removes a finding for good.
    pub fn dismiss(&self, finding: FindingId) -> Result<(), EngineError> {
        let mut workspace = lock(&self.workspace);
        let removed = workspace
            .findings
            .remove(finding)
            .ok_or(EngineError::UnknownFinding(finding))?;
        self.finding_done(finding, FindingOutcome::Dismissed);
        let _ = self
            .events
            .send(RunEvent::ProposalsChanged { uri: removed.uri });
        Ok(())
    }
    /// Turns a finding's fix into proposal hunks of the finding's run, on the
    /// finding's lines as they are now; the finding is then done.
    pub fn apply_fix(&self, finding: FindingId) -> Result<Vec<HunkId>, EngineError> {
        let mut workspace = lock(&self.workspace);
        let found = workspace
            .findings
            .get(finding)
            .cloned()
            .ok_or(EngineError::UnknownFinding(finding))?;
        let fix = found
            .fix
            .clone()
            .ok_or(EngineError::FindingHasNoFix(finding))?;
        let document = workspace
            .documents
            .get(&found.uri)
            .cloned()
            .ok_or_else(|| EngineError::UnknownDocument(found.uri.clone()))?;
        let base = document.slice(found.range.clone());
        let diffs = diff_hunks(&base, &fit_to_region(&fix, &base));
        let hunk_ids = workspace.proposals.add(
            found.run,
            &found.uri,
            found.range.start,
            diffs,
            &document.text,
        );
        for &hunk in &hunk_ids {
            if let Some(hunk) = workspace.proposals.get(hunk) {
                self.journal.append(&JournalEntry::Proposal {
                    hunk: hunk.clone(),
                    base_sha256: base_sha256(&hunk.base_text),
                });
            }
        }
        if let Some(record) = workspace.runs.get_mut(&found.run) {
            record.hunks.extend(hunk_ids.iter().copied());
        }
        workspace.findings.remove(finding);
        self.finding_done(finding, FindingOutcome::Fixed);
        let _ = self
            .events
            .send(RunEvent::ProposalsChanged { uri: found.uri });
        Ok(hunk_ids)
    }
    /// Journals that the user is done with `finding`.
    fn finding_done(&self, finding: FindingId, outcome: FindingOutcome) {
        self.journal.append(&JournalEntry::FindingDone {
            finding,
            outcome,
            time_ms: now_ms(),
        });
    }
    /// Turns a review's answer into findings on the document as it is now.
    pub(super) fn record_findings(
        &self,
        id: RunId,
        messages: Vec<ChatMessage>,
        completion: Completion,
    ) {
        let mut workspace = lock(&self.workspace);
        self.record_output(&mut workspace, id, messages, &completion);
        let Some(uri) = workspace.runs.get(&id).map(|record| record.uri.clone()) else {
            return;
        };
        let Some(document) = workspace.documents.get(&uri).cloned() else {
            return self.set_state(
                &mut workspace,
                id,
                RunState::Failed,
                Some("the document was closed before the review arrived".into()),
            );
        };
        let mut review = parse_findings(&completion.text);
        let mut count = 0;
        for finding in review.findings {
            match lines_range(&document.text, finding.first_line, finding.last_line) {
                Some(range) => {
                    let found = workspace.findings.add(id, &uri, range, finding);
                    if let Some(found) = workspace.findings.get(found) {
                        self.journal.append(&JournalEntry::Finding {
                            finding: RecordedFinding::new(found.clone(), &document.text),
                        });
                    }
                    count += 1;
                }
                None => review
                    .skipped
                    .push(format!("line {} is not in the document", finding.last_line)),
            }
        }
        let mut reason = match count {
            0 => "no findings".to_owned(),
            1 => "1 finding".to_owned(),
            count => format!("{count} findings"),
        };
        if !review.skipped.is_empty() {
            reason.push_str(&format!(
                "; skipped {} malformed: {}",
                review.skipped.len(),
                review.skipped.join("; ")
            ));
        }
        let state = if count == 0 {
            RunState::Settled
        } else {
            RunState::Proposed
        };
        self.set_state(&mut workspace, id, state, Some(reason));
        let _ = self.events.send(RunEvent::ProposalsChanged { uri });
    }
}
