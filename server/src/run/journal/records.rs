//! What the journal records: one [`JournalEntry`] for each thing that happens
//! to a run, its proposals and its findings, in the order it happens.
//!
//! The entries are the journal's only write interface; the store decides how
//! each is kept. A new kind of record is a new variant here and one arm in the
//! store's `record`.

use crate::agent::{ChatMessage, TokenUsage};
use crate::ids::{HunkId, RunId};
use crate::proposal::Hunk;
use crate::run::recorded_finding::RecordedFinding;
use crate::run::review::FindingId;
use crate::run::state::{RunRecord, RunState};
use serde::{Deserialize, Serialize};

/// One thing that happened, as the journal keeps it. The serialized form is
/// also the line format of the journal files of earlier versions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JournalEntry {
    /// A run was created (queued).
    Run { run: RunRecord },
    /// A run changed state.
    State {
        run: RunId,
        state: RunState,
        reason: Option<String>,
        usage: Option<TokenUsage>,
        time_ms: u64,
    },
    /// What was sent to the agent and what it answered.
    Output { run: RunId, transcript: Transcript },
    /// A hunk was proposed; `base_sha256` identifies the text it applies to.
    Proposal { hunk: Hunk, base_sha256: String },
    /// The user accepted hunks and the editor is about to be asked to apply
    /// them: until a decision follows, their text may be in either state.
    AcceptIntent { hunks: Vec<HunkId>, time_ms: u64 },
    /// The user decided on a hunk.
    Decision {
        hunk: HunkId,
        decision: Decision,
        time_ms: u64,
    },
    /// A review found something, or a finding was anchored anew (its document
    /// closed): the latest entry of a finding is where it is.
    Finding { finding: RecordedFinding },
    /// The user is done with a finding.
    FindingDone {
        finding: FindingId,
        outcome: FindingOutcome,
        time_ms: u64,
    },
}

/// How a finding ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingOutcome {
    Dismissed,
    /// Its fix became proposals.
    Fixed,
}

/// The conversation of a run: the prompt messages and the agent's answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transcript {
    pub messages: Vec<ChatMessage>,
    pub answer: String,
    /// What each step of a workflow run did, in order; empty for other runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
}

/// What the user decided on a hunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Accepted,
    Rejected,
    /// Replaced by the proposals of a refined run.
    Superseded,
}

/// The identity of a hunk's base text, recorded with each proposal.
pub fn base_sha256(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}
