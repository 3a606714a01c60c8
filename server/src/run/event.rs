//! What the run engine tells its front end (the language server or the
//! headless `delegate` command) as runs progress.

use super::state::RunState;
use crate::agent::acp::PermissionQuestion;
use crate::ids::RunId;
use std::time::Duration;
use url::Url;

#[derive(Debug)]
pub enum RunEvent {
    /// A run entered a new state; details are in the workspace's run record.
    State { run: RunId, state: RunState },
    /// A piece of the agent's answer arrived.
    Delta { run: RunId, text: String },
    /// The agent's endpoint refused for now; the run waits and tries again.
    Retrying {
        run: RunId,
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// The run moved on to a step of its own (validating, a workflow's next
    /// step); `step` says which, for progress.
    Step { run: RunId, step: String },
    /// What the agent is doing besides answering (its plan, a tool call), in one line.
    Activity { run: RunId, line: String },
    /// The agent asks a permission only the user can give; the front end puts
    /// the question to the user and sends the answer back through it.
    Permission {
        run: RunId,
        question: PermissionQuestion,
    },
    /// The hunks shown on a document changed (new, decided, moved or conflicted).
    ProposalsChanged { uri: Url },
}
