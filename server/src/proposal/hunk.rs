//! One proposed change and where it stands.

use serde::{Deserialize, Serialize};
use std::fmt;
use url::Url;

use crate::ids::{HunkId, RunId};

/// One change an agent proposed, which the user accepts or rejects on its own.
/// The journal stores hunks, so they serialize.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hunk {
    pub id: HunkId,
    pub run: RunId,
    pub uri: Url,
    /// Current byte range in the live document. While the hunk is open this
    /// range holds exactly `base_text`; once conflicted it covers the user's
    /// overlapping edits too; once accepted it holds `new_text`.
    pub range: std::ops::Range<usize>,
    /// The text the agent saw and meant to replace. A hunk is only ever applied
    /// where the document still holds exactly this text.
    pub base_text: String,
    pub new_text: String,
    /// Up to two lines before the hunk, captured when it was proposed, to find
    /// it again by content after a restart.
    pub context_before: String,
    /// Up to two lines after the hunk, captured when it was proposed.
    pub context_after: String,
    pub state: HunkState,
}

/// Where a hunk stands between proposal and decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HunkState {
    /// Waiting for a decision; the document holds `base_text` at `range`.
    Open,
    /// The user edited inside the hunk; it can no longer be applied as is.
    Conflicted,
    /// Accepted by the user; the edit is on its way to the editor.
    Applying,
    /// The editor applied it.
    Accepted,
    Rejected,
    /// Its base text could not be found again after a restart.
    Stale,
}

impl HunkState {
    /// Whether the user still has to decide on the hunk (so it is shown).
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            HunkState::Open | HunkState::Conflicted | HunkState::Applying | HunkState::Stale
        )
    }
}

impl fmt::Display for HunkState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            HunkState::Open => "open",
            HunkState::Conflicted => "conflicted",
            HunkState::Applying => "being applied",
            HunkState::Accepted => "accepted",
            HunkState::Rejected => "rejected",
            HunkState::Stale => "stale",
        };
        formatter.write_str(name)
    }
}

/// The replacement the editor must make to accept a hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptEdit {
    pub range: std::ops::Range<usize>,
    pub new_text: String,
}
