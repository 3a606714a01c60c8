//! Runs: one dispatch of an instruction on a region, from the prompt through the
//! agent's streamed answer to proposals, recorded in the journal.

pub mod boundary;
pub mod check;
pub mod confine;
pub mod edit_blocks;
pub mod engine;
pub mod event;
pub mod journal;
pub mod output;
pub mod preset;
pub mod prompt;
pub mod recorded_finding;
pub mod review;
pub mod sandbox;
pub mod sandbox_cleanup;
pub mod state;
pub mod summary;
