//! Director: a language server that lets a developer direct AI agents from any
//! LSP editor.
//!
//! Modules, in reading order:
//! - [`ids`]: run and hunk identifiers.
//! - [`document`]: open texts (ropey), versions, and every position conversion.
//! - [`syntax`]: tree-sitter parsing, item lookup and syntax validation.
//! - [`spec`]: spec files of every common format, their lint rules and code trace links.
//! - [`spec_assist`]: spec hovers, renames, completion and agent context, as plain text.
//! - [`config`]: `director.toml` and the user config, typed and merged.
//! - [`agent`]: backends that turn a prompt into an answer (OpenAI-compatible, …).
//! - [`proposal`]: hunks an agent proposes, re-anchored on every user edit.
//! - [`run`]: the run lifecycle: prompt, stream, parse, propose, journal.
//! - [`workspace`]: the state that changes with every keystroke, behind one lock.
//! - [`lsp`]: the thin adapter between LSP and everything above.
//! - [`cli`]: the headless commands (`runs`, `delegate`).

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod agent;
pub mod cli;
pub mod config;
pub mod document;
pub mod ids;
pub mod lsp;
pub mod proposal;
pub mod run;
pub mod spec;
pub mod spec_assist;
pub mod syntax;
pub mod workspace;
