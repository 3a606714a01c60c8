//! Runs as the outside world sees them: the rows of `director runs` and the
//! payloads of `director/runs` and `director/run`.

use super::journal::Transcript;
use super::state::{RunRecord, RunState};
use crate::proposal::{Hunk, HunkState};
use crate::workspace::Workspace;
use serde::Serialize;
use std::ops::Range;

/// How many of a run's hunks are in each state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProposalCounts {
    pub open: usize,
    pub conflicted: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub stale: usize,
}

impl ProposalCounts {
    /// Counts `count` more hunks in `state`.
    pub fn add(&mut self, state: HunkState, count: usize) {
        match state {
            HunkState::Open | HunkState::Applying => self.open += count,
            HunkState::Conflicted => self.conflicted += count,
            HunkState::Accepted => self.accepted += count,
            HunkState::Rejected => self.rejected += count,
            HunkState::Stale => self.stale += count,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub id: u64,
    pub agent: String,
    pub instruction: String,
    pub state: RunState,
    pub uri: String,
    pub reason: Option<String>,
    pub refined_from: Option<u64>,
    pub created_ms: u64,
    pub finished_ms: Option<u64>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub tokens: u64,
    /// In US dollars, at the agent's price when the run was made; `None` when
    /// the agent had no price or the run used no tokens yet.
    pub cost_usd: Option<f64>,
    pub proposals: ProposalCounts,
}

/// The answer to `director/runs` and `director runs --json`: the runs, newest
/// first, with their totals.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunList {
    pub runs: Vec<RunSummary>,
    pub total_tokens: u64,
    /// The sum of the costs that are known; `None` when no run has a cost.
    pub total_cost_usd: Option<f64>,
}

impl RunList {
    /// The tokens of `runs` and the sum of the costs that are known.
    pub fn totals(runs: &[RunSummary]) -> (u64, Option<f64>) {
        let tokens = runs.iter().map(|run| run.tokens).sum();
        let cost = runs
            .iter()
            .filter_map(|run| run.cost_usd)
            .reduce(|total, cost| total + cost);
        (tokens, cost)
    }

    /// The runs with their totals.
    pub fn new(runs: Vec<RunSummary>) -> RunList {
        let (total_tokens, total_cost_usd) = RunList::totals(&runs);
        RunList {
            runs,
            total_tokens,
            total_cost_usd,
        }
    }
}

impl RunSummary {
    /// Summarises a run from its record and its hunks.
    pub fn with_hunks<'a>(record: &RunRecord, hunks: impl Iterator<Item = &'a Hunk>) -> RunSummary {
        let mut proposals = ProposalCounts::default();
        for hunk in hunks {
            proposals.add(hunk.state, 1);
        }
        RunSummary::with_counts(record, proposals)
    }

    /// Summarises a run from its record and its hunks counted by state.
    pub fn with_counts(record: &RunRecord, proposals: ProposalCounts) -> RunSummary {
        let (prompt_tokens, completion_tokens) = record.usage.map_or((0, 0), |usage| {
            (usage.prompt_tokens, usage.completion_tokens)
        });
        RunSummary {
            id: record.id.0,
            agent: record.agent.clone(),
            instruction: record.instruction.clone(),
            state: record.state,
            uri: record.uri.to_string(),
            reason: record.reason.clone(),
            refined_from: record.refined_from.map(|run| run.0),
            created_ms: record.created_ms,
            finished_ms: record.finished_ms,
            prompt_tokens,
            completion_tokens,
            tokens: prompt_tokens + completion_tokens,
            cost_usd: record.usage.and_then(|usage| usage.cost_usd),
            proposals,
        }
    }

    /// Summarises a run of the live workspace.
    pub fn of(record: &RunRecord, workspace: &Workspace) -> RunSummary {
        let live = workspace.proposals.hunks_of_run(record.id);
        let waiting = workspace
            .pending_restore
            .iter()
            .filter(|hunk| hunk.run == record.id);
        RunSummary::with_hunks(record, live.into_iter().chain(waiting))
    }
}

/// One proposed hunk in `director/run`; `R` is the caller's range type.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposalDetail<R> {
    pub hunk: u64,
    pub state: HunkState,
    pub range: Option<R>,
    pub base_text: String,
    pub new_text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunDetail<R> {
    pub run: RunSummary,
    pub transcript: Option<Transcript>,
    pub proposals: Vec<ProposalDetail<R>>,
}

impl<R> RunDetail<R> {
    /// The run with its transcript and hunks; `to_range` converts a hunk's byte
    /// range for the caller (`None` when its document is not open).
    pub fn of(
        record: &RunRecord,
        workspace: &Workspace,
        to_range: impl Fn(Range<usize>) -> Option<R>,
    ) -> RunDetail<R> {
        let proposals = workspace
            .proposals
            .hunks_of_run(record.id)
            .into_iter()
            .map(|hunk| ProposalDetail {
                hunk: hunk.id.0,
                state: hunk.state,
                range: to_range(hunk.range.clone()),
                base_text: hunk.base_text.clone(),
                new_text: hunk.new_text.clone(),
            })
            .collect();
        RunDetail {
            run: RunSummary::of(record, workspace),
            transcript: workspace.transcripts.get(&record.id).cloned(),
            proposals,
        }
    }
}
