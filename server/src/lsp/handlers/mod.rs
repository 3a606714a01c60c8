//! One file per request: each takes a snapshot, calls plain functions and
//! converts the result.

pub mod code_action;
pub mod code_lens;
pub mod execute_command;
pub mod hover;
pub mod runs;
pub mod spec_completion;
pub mod spec_fixes;
pub mod spec_navigation;
pub mod spec_rename;
pub mod spec_symbols;
