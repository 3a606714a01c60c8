//! One named agent as the user configured it, fully typed and validated.
//!
//! Holds no secret: an agent names the environment variable that holds its key
//! (`api_key_env`), and the key is read only when a request is made.

use std::time::Duration;

use url::Url;

use crate::config::ConfigOrigin;

/// How long a whole request may take when the config says nothing.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// How many runs may use one agent at once when the config says nothing.
pub const DEFAULT_MAX_CONCURRENT: u32 = 2;
/// How many times a 429 or 5xx answer is retried when the config says nothing.
pub const DEFAULT_RETRIES: u32 = 2;
/// The most retries a config may ask for: more only delays a clear failure.
pub const MAX_RETRIES: u32 = 3;
/// Lines of context around the region in the prompt when the config says nothing.
pub const DEFAULT_CONTEXT_LINES: u32 = 20;
/// The endpoint of an `openai` agent that names none.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// A named agent: which backend reaches it, where, and within which limits.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    pub kind: AgentKind,
    /// The API root; requests go to paths below it (`{base_url}/chat/completions`).
    pub base_url: Url,
    pub model: String,
    /// The name of the environment variable holding the API key; `None` for
    /// endpoints that need no key (Ollama, llama.cpp).
    pub api_key_env: Option<String>,
    pub max_tokens: Option<u32>,
    /// Between 0 and 2.
    pub temperature: Option<f32>,
    /// Bounds the whole request, retries included; never zero.
    pub timeout: Duration,
    /// Never zero.
    pub max_concurrent: u32,
    /// At most [`MAX_RETRIES`].
    pub retries: u32,
    pub stream: bool,
    pub context_lines: u32,
    /// Which file defined the agent, so that agents from an untrusted workspace
    /// can be held back.
    pub origin: ConfigOrigin,
}

/// The backends Director can talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentKind {
    /// Any OpenAI-compatible Chat Completions endpoint.
    OpenAi,
}

impl AgentKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: &[AgentKind] = &[AgentKind::OpenAi];

    /// The name used for the kind in config files.
    pub fn name(self) -> &'static str {
        match self {
            AgentKind::OpenAi => "openai",
        }
    }

    /// The kind a config file names, if Director knows it.
    pub fn from_name(name: &str) -> Option<AgentKind> {
        AgentKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in AgentKind::ALL {
            assert_eq!(AgentKind::from_name(kind.name()), Some(*kind));
        }
        assert_eq!(AgentKind::from_name("OpenAI"), None);
    }
}
