//! End-to-end tests: the real `director lsp` binary over stdio, driven by an
//! editor-like client, against a mock OpenAI-compatible server on 127.0.0.1.

mod support;

mod accepting;
mod acp;
mod anchoring;
mod anthropic;
mod arbitration;
mod casting;
mod command_agent;
mod config;
mod containment;
mod delegate_cli;
mod encodings;
mod faults;
mod index_readiness;
mod journal_store;
mod malformed;
mod restart;
mod review;
mod secrets;
mod spec_features;
mod specs_in_the_wild;
mod start_task;
mod task_runs;
mod validation;
mod workflows;
