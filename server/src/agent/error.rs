//! Why an agent request failed, worded for a user reading it in the editor.
//!
//! Every message names the endpoint's host so the user knows which agent or
//! server to look at; none ever contains an API key.

use std::time::Duration;

use thiserror::Error;

/// A failed agent request.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AgentError {
    /// The environment variable the config names for the key is not set.
    #[error("the environment variable {var} is not set: agent `{agent}` reads its API key from it")]
    MissingKey { agent: String, var: String },
    /// The server answered with an error status.
    #[error("{host} answered HTTP {status}: {message}")]
    Http {
        host: String,
        status: u16,
        message: String,
    },
    /// No complete answer within the agent's timeout.
    #[error("{host} did not finish answering within {} s (the agent's timeout)", .after.as_secs())]
    Timeout { host: String, after: Duration },
    /// The user (or a newer run) cancelled the request.
    #[error("the request was cancelled")]
    Cancelled,
    /// The server could not be reached, or the connection broke.
    #[error("connection to {host} failed: {reason}")]
    Connect { host: String, reason: String },
    /// The server answered something that is not the protocol.
    #[error("{host} sent an answer Director cannot read: {detail}")]
    Protocol { host: String, detail: String },
    /// A `command` or `acp` agent runs in a sandbox, not through a conversation.
    #[error("agent `{0}` runs in a sandbox, not through a chat request")]
    NotAChatAgent(String),
    /// The HTTP client itself could not be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}
