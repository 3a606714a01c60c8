//! What a run is and the states it moves through.

use crate::agent::TokenUsage;
use crate::ids::{HunkId, RunId};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use url::Url;

/// Where a run is in its life. `Queued → Running → Proposed → Settled` is the
/// happy path; `Failed`, `Cancelled` and `Interrupted` (the server died while the
/// run was in flight) end it early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Queued,
    Running,
    Proposed,
    Settled,
    Failed,
    Cancelled,
    Interrupted,
}

impl RunState {
    /// True while the run may still change the proposals it owns.
    pub fn is_in_flight(self) -> bool {
        matches!(self, RunState::Queued | RunState::Running)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Proposed => "proposed",
            RunState::Settled => "settled",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
            RunState::Interrupted => "interrupted",
        }
    }
}

/// What a run works on, which decides how its answer is read and how it is
/// refined; journaled with the run so that it holds after a restart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// A rewrite of one region (a delegation or its refinement).
    #[default]
    Region,
    /// A review: its answer becomes findings, not proposals.
    Review,
    /// A task: its agent may edit any file of the workspace.
    Task,
    /// A configured workflow's steps on a region.
    Workflow,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Region => "region",
            RunKind::Review => "review",
            RunKind::Task => "task",
            RunKind::Workflow => "workflow",
        }
    }
}

/// Everything known about one run; the journal replays into this.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: RunId,
    /// Journals of earlier versions did not record it: their runs read as regions.
    #[serde(default)]
    pub kind: RunKind,
    pub agent: String,
    pub instruction: String,
    pub uri: Url,
    /// The region the agent was given, in bytes of the document at `base_version`.
    pub region: Range<usize>,
    pub base_version: i32,
    pub refined_from: Option<RunId>,
    pub state: RunState,
    /// Why the run failed, was cancelled or interrupted, or a warning about its result.
    pub reason: Option<String>,
    /// Unix milliseconds.
    pub created_ms: u64,
    pub finished_ms: Option<u64>,
    pub usage: Option<TokenUsage>,
    pub hunks: Vec<HunkId>,
}

impl RunRecord {
    /// A run just registered: queued, with nothing decided or measured yet.
    pub fn queued(
        id: RunId,
        kind: RunKind,
        agent: String,
        instruction: String,
        uri: Url,
        region: Range<usize>,
        base_version: i32,
    ) -> RunRecord {
        RunRecord {
            id,
            kind,
            agent,
            instruction,
            uri,
            region,
            base_version,
            refined_from: None,
            state: RunState::Queued,
            reason: None,
            created_ms: now_ms(),
            finished_ms: None,
            usage: None,
            hunks: Vec::new(),
        }
    }
}

/// Milliseconds since the Unix epoch, the time unit of the journal.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}
