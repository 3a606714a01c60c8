//! The headless commands. They write their reports to stdout on purpose; the
//! language server never does (stdout is its protocol channel).

pub mod check;
pub mod delegate;
pub mod runs;
pub mod workspace_root;
