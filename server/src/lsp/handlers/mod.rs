//! One file per request: each takes a snapshot, calls plain functions and
//! converts the result.

pub mod code_action;
pub mod code_lens;
pub mod execute_command;
pub mod hover;
pub mod runs;
