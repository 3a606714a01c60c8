//! Hunks an agent proposes for a region, kept anchored to the live document
//! through every user edit until the user accepts or rejects each one.

mod anchor;
mod diff;
mod hunk;
mod reanchor;
mod store;

pub use diff::{HunkDiff, diff_hunks};
pub use hunk::{AcceptEdit, Hunk, HunkState};
pub use reanchor::{Reanchored, reanchor};
pub use store::{ProposalError, ProposalStore};

#[cfg(test)]
mod property_tests;
