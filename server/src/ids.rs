//! Identifiers shared by runs, proposals and the journal.
//!
//! Run ids are small sequential numbers because users say them ("Accept all from
//! run 7"); they stay unique across restarts because the journal remembers the
//! highest one handed out.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One agent run: a dispatch of an instruction on a region, from queued to settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub u64);

/// One hunk an agent proposed; unique across runs and restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HunkId(pub u64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for HunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
