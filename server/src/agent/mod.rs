//! Agent backends: one trait that turns a conversation into an answer, streamed
//! as it arrives, whatever the agent behind it.
//!
//! A new kind of backend (anthropic, command, acp) is one new file implementing
//! [`AgentBackend`] and one line in [`backend_for`].

pub mod acp;
pub mod anthropic;
pub mod api_key;
pub mod command;
pub mod error;
pub mod http;
pub mod openai;
pub mod plain_text;
pub mod process;
pub mod spawn_tied;
#[cfg(test)]
pub(crate) mod test_support;

pub use error::AgentError;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::config::agent_config::{AgentConfig, AgentKind, Price};

/// Something that answers a conversation: an HTTP API, a CLI, an ACP agent.
#[async_trait::async_trait]
pub trait AgentBackend: Send + Sync + std::fmt::Debug {
    /// Sends `request` and returns the whole answer, reporting progress through
    /// `events` as it happens. Returns [`AgentError::Cancelled`] promptly once
    /// `cancel` fires, whatever the backend was doing.
    async fn complete(
        &self,
        request: &ChatRequest,
        events: &(dyn Fn(AgentEvent) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<Completion, AgentError>;
}

/// A conversation to continue; the last message is usually the user's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
}

/// One turn of a conversation; serializes to the Chat Completions shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// Progress of a request, for the editor's progress report and the run's log.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    /// The next piece of the answer's text.
    Delta(String),
    /// The server refused for now (429, 5xx); the request is sent again after
    /// `delay`. `attempt` counts retries from 1.
    Retrying {
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// The tokens the request cost, as the server counted them.
    Usage(TokenUsage),
    /// What the agent is doing besides writing its answer (its plan, a tool
    /// call, its context use), in one line.
    Activity(String),
}

/// A whole answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub usage: Option<TokenUsage>,
    /// Why the model stopped, as the server said (`stop`, `length`, …); `length`
    /// means the answer was cut by `max_tokens`.
    pub finish_reason: Option<String>,
}

/// Token counts, kept in the journal for cost accounting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// What the tokens cost in US dollars at the agent's configured price when
    /// the run was made; `None` when the agent has no price. Backends leave it
    /// `None`; the run engine prices the usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

impl TokenUsage {
    /// The tokens (and cost) of both, for a run made of several requests.
    pub fn plus(self, other: TokenUsage) -> TokenUsage {
        TokenUsage {
            prompt_tokens: self.prompt_tokens + other.prompt_tokens,
            completion_tokens: self.completion_tokens + other.completion_tokens,
            cost_usd: match (self.cost_usd, other.cost_usd) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            },
        }
    }

    /// This usage with its cost at `price`, or without a cost when there is no price.
    pub fn priced(self, price: Option<&Price>) -> TokenUsage {
        TokenUsage {
            cost_usd: price.map(|price| price.cost_usd(self.prompt_tokens, self.completion_tokens)),
            ..self
        }
    }
}

/// The backend that reaches the agent `name` as configured.
pub fn backend_for(name: &str, config: &AgentConfig) -> Result<Arc<dyn AgentBackend>, AgentError> {
    match config.kind {
        AgentKind::OpenAi => Ok(Arc::new(openai::OpenAiBackend::new(name, config)?)),
        AgentKind::Anthropic => Ok(Arc::new(anthropic::AnthropicBackend::new(name, config)?)),
        AgentKind::Command | AgentKind::Acp => Err(AgentError::NotAChatAgent(name.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_priced_only_when_the_agent_has_a_price() {
        let usage = TokenUsage {
            prompt_tokens: 2_000,
            completion_tokens: 500,
            cost_usd: None,
        };
        assert_eq!(usage.priced(None), usage);
        let price = Price {
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
        };
        let cost = usage.priced(Some(&price)).cost_usd.expect("a cost");
        assert!((cost - 0.0135).abs() < 1e-12, "{cost}");
    }

    #[test]
    fn journals_written_before_prices_still_read() {
        let usage: TokenUsage =
            serde_json::from_str(r#"{"prompt_tokens":1,"completion_tokens":2}"#).expect("JSON");
        assert_eq!(usage.cost_usd, None);
        let written = serde_json::to_string(&usage).expect("JSON");
        assert!(!written.contains("cost_usd"), "{written}");
    }
}
