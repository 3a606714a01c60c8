//! Hunks an agent proposes for a region, kept anchored to the live document
//! through every user edit until the user accepts or rejects each one.

mod diff;

pub use diff::{HunkDiff, diff_hunks};
