//! Casting without config: when no agent is configured, the agents the
//! machine already offers — an OpenAI or Anthropic key in the environment, an
//! Ollama answering on its usual port — and the agent CLIs on `PATH`, each
//! cast as a `command` agent with its preset.
//!
//! Everything discovery looks at comes in through [`DiscoveryInputs`], so tests
//! choose the environment, `PATH` and the Ollama address. A key found in a
//! variable is only ever named (`api_key_env`), and goes only to its own API's
//! endpoint: `OPENAI_BASE_URL` / `ANTHROPIC_BASE_URL` when the user set them
//! (the variables the vendors' own SDKs read), else the official one.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::config::ConfigOrigin;
use crate::config::agent_config::{
    AgentConfig, AgentKind, COMMAND_BASE_URL, COMMAND_PRESETS, CommandPreset,
    DEFAULT_ANTHROPIC_API_KEY_ENV, DEFAULT_CONTEXT_LINES, DEFAULT_MAX_CONCURRENT, DEFAULT_RETRIES,
    DEFAULT_TIMEOUT, DEFAULT_VALIDATION_RETRIES,
};

/// Overrides where Ollama is looked for (tests, or an Ollama on another port).
pub const OLLAMA_URL_ENV: &str = "DIRECTOR_OLLAMA_URL";
/// Where Ollama listens unless told otherwise.
pub const DEFAULT_OLLAMA_URL: &str = "http://127.0.0.1:11434";
/// The variable holding an OpenAI key.
pub const OPENAI_API_KEY_ENV: &str = "OPENAI_API_KEY";
/// The OpenAI SDKs' variable for another endpoint of the same API.
pub const OPENAI_BASE_URL_ENV: &str = "OPENAI_BASE_URL";
/// The Anthropic SDKs' variable for another endpoint of the same API.
pub const ANTHROPIC_BASE_URL_ENV: &str = "ANTHROPIC_BASE_URL";
/// The model of a discovered `openai` agent: capable at code, widely available.
pub const DISCOVERED_OPENAI_MODEL: &str = "gpt-4.1";
/// The model of a discovered `anthropic` agent.
pub const DISCOVERED_ANTHROPIC_MODEL: &str = "claude-sonnet-4-5";
/// How long a CLI found on `PATH` may run: it reads, edits and often checks
/// its work, which takes longer than one HTTP answer.
pub const DISCOVERED_CLI_TIMEOUT: Duration = Duration::from_secs(600);
/// How long Ollama may take to list its models: it answers at once when it runs.
const OLLAMA_PROBE_TIMEOUT: Duration = Duration::from_millis(800);

/// What discovery looks at.
#[derive(Debug, Clone)]
pub struct DiscoveryInputs {
    /// The environment variables (only the ones named above are read).
    pub variables: BTreeMap<String, String>,
    /// The `PATH` to search for agent CLIs.
    pub path: Option<OsString>,
    /// Where to ask Ollama for its models; `None` to not ask.
    pub ollama_url: Option<Url>,
}

impl DiscoveryInputs {
    /// The inputs of this process: its environment and `PATH`, and Ollama at
    /// `DIRECTOR_OLLAMA_URL` or its usual address.
    pub fn from_process() -> DiscoveryInputs {
        let variables: BTreeMap<String, String> = [
            OPENAI_API_KEY_ENV,
            OPENAI_BASE_URL_ENV,
            DEFAULT_ANTHROPIC_API_KEY_ENV,
            ANTHROPIC_BASE_URL_ENV,
        ]
        .into_iter()
        .filter_map(|name| Some((name.to_owned(), std::env::var(name).ok()?)))
        .collect();
        let ollama_url = std::env::var(OLLAMA_URL_ENV)
            .ok()
            .and_then(|url| Url::parse(&url).ok())
            .or_else(|| Url::parse(DEFAULT_OLLAMA_URL).ok());
        DiscoveryInputs {
            variables,
            path: std::env::var_os("PATH"),
            ollama_url,
        }
    }
}

/// What discovery found.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovery {
    /// The agents Director can use, by name.
    pub agents: BTreeMap<String, AgentConfig>,
    /// For each agent, in the order found, what it was found by.
    pub found_by: Vec<(String, String)>,
}

impl Discovery {
    /// What to tell the user, without the leading "Director: ".
    pub fn message(&self) -> String {
        if self.agents.is_empty() {
            return "No agent configured and none found: add one to director.toml".to_owned();
        }
        let using: Vec<String> = self
            .found_by
            .iter()
            .map(|(name, source)| format!("{name} ({source})"))
            .collect();
        format!("No agent configured; using: {}", using.join(", "))
    }
}

/// Looks for agents; never fails, and takes at most the Ollama probe's timeout.
pub async fn discover(inputs: &DiscoveryInputs) -> Discovery {
    let mut discovery = Discovery {
        agents: BTreeMap::new(),
        found_by: Vec::new(),
    };
    let has = |name: &str| {
        inputs
            .variables
            .get(name)
            .is_some_and(|value| !value.trim().is_empty())
    };
    if let Some(base_url) = has(OPENAI_API_KEY_ENV)
        .then(|| base_url_from(inputs, OPENAI_BASE_URL_ENV, AgentKind::OpenAi))
        .flatten()
    {
        discovery.add(
            "openai",
            OPENAI_API_KEY_ENV.to_owned(),
            discovered_agent(
                AgentKind::OpenAi,
                base_url,
                DISCOVERED_OPENAI_MODEL,
                Some(OPENAI_API_KEY_ENV),
            ),
        );
    }
    if let Some(base_url) = has(DEFAULT_ANTHROPIC_API_KEY_ENV)
        .then(|| base_url_from(inputs, ANTHROPIC_BASE_URL_ENV, AgentKind::Anthropic))
        .flatten()
    {
        discovery.add(
            "anthropic",
            DEFAULT_ANTHROPIC_API_KEY_ENV.to_owned(),
            discovered_agent(
                AgentKind::Anthropic,
                base_url,
                DISCOVERED_ANTHROPIC_MODEL,
                Some(DEFAULT_ANTHROPIC_API_KEY_ENV),
            ),
        );
    }
    let ollama = match &inputs.ollama_url {
        Some(ollama_url) => first_ollama_model(ollama_url)
            .await
            .map(|model| (ollama_url, model)),
        None => None,
    };
    if let Some((ollama_url, model)) = ollama {
        let mut base_url = ollama_url.clone();
        base_url.set_path(&format!("{}/v1", ollama_url.path().trim_end_matches('/')));
        let found_by = format!("{model} at {}", ollama_url.as_str().trim_end_matches('/'));
        discovery.add(
            "ollama",
            found_by,
            discovered_agent(AgentKind::OpenAi, base_url, &model, None),
        );
    }
    for preset in presets_on_path(inputs.path.as_ref()) {
        if let Some(agent) = discovered_cli(preset) {
            discovery.add(preset.name, "on PATH".to_owned(), agent);
        }
    }
    discovery
}

impl Discovery {
    fn add(&mut self, name: &str, found_by: String, agent: AgentConfig) {
        self.found_by.push((name.to_owned(), found_by));
        self.agents.insert(name.to_owned(), agent);
    }
}

/// The endpoint named by `variable` when it holds an http(s) URL without
/// credentials, else the kind's official one.
fn base_url_from(inputs: &DiscoveryInputs, variable: &str, kind: AgentKind) -> Option<Url> {
    inputs
        .variables
        .get(variable)
        .and_then(|url| Url::parse(url.trim()).ok())
        .filter(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.username().is_empty()
                && url.password().is_none()
        })
        .or_else(|| Url::parse(kind.default_base_url()).ok())
}

/// An agent with every limit at its default, as a config naming only these
/// fields would give.
fn discovered_agent(
    kind: AgentKind,
    base_url: Url,
    model: &str,
    api_key_env: Option<&str>,
) -> AgentConfig {
    AgentConfig {
        kind,
        base_url,
        model: model.to_owned(),
        api_key_env: api_key_env.map(str::to_owned),
        max_tokens: kind.default_max_tokens(),
        temperature: None,
        timeout: DEFAULT_TIMEOUT,
        max_concurrent: DEFAULT_MAX_CONCURRENT,
        retries: DEFAULT_RETRIES,
        stream: true,
        context_lines: DEFAULT_CONTEXT_LINES,
        price: None,
        origin: ConfigOrigin::Discovered,
        command: None,
        check: None,
        validation_retries: DEFAULT_VALIDATION_RETRIES,
    }
}

/// A CLI found on `PATH`, launched as its preset says. Its timeout is longer
/// than an HTTP agent's: a CLI reads, edits and often checks its work.
fn discovered_cli(preset: &CommandPreset) -> Option<AgentConfig> {
    let base_url = Url::parse(COMMAND_BASE_URL).ok()?;
    let mut agent = discovered_agent(AgentKind::Command, base_url, preset.name, None);
    agent.timeout = DISCOVERED_CLI_TIMEOUT;
    agent.command = Some(preset.settings());
    Some(agent)
}

/// The first model a running Ollama lists, or `None` when none answers in time.
async fn first_ollama_model(ollama_url: &Url) -> Option<String> {
    #[derive(Deserialize)]
    struct Tags {
        models: Vec<Model>,
    }
    #[derive(Deserialize)]
    struct Model {
        name: String,
    }
    let mut tags_url = ollama_url.clone();
    tags_url.set_path(&format!(
        "{}/api/tags",
        ollama_url.path().trim_end_matches('/')
    ));
    let client = reqwest::Client::builder()
        .timeout(OLLAMA_PROBE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .ok()?;
    let response = client.get(tags_url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let tags: Tags = response.json().await.ok()?;
    tags.models.into_iter().map(|model| model.name).next()
}

/// The presets whose program is in `path`, in [`COMMAND_PRESETS`] order.
fn presets_on_path(path: Option<&OsString>) -> Vec<&'static CommandPreset> {
    let Some(path) = path else {
        return Vec::new();
    };
    let directories: Vec<_> = std::env::split_paths(path).collect();
    COMMAND_PRESETS
        .iter()
        .filter(|preset| {
            directories
                .iter()
                .any(|directory| is_executable(&directory.join(preset.name)))
        })
        .collect()
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.with_extension("exe").is_file() || path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(
        variables: &[(&str, &str)],
        path: Option<&Path>,
        ollama_url: Option<Url>,
    ) -> DiscoveryInputs {
        DiscoveryInputs {
            variables: variables
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            path: path.map(|path| path.as_os_str().to_owned()),
            ollama_url,
        }
    }

    /// An address where nothing listens: a port just freed.
    fn closed_port_url() -> Url {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let address = listener.local_addr().expect("an address");
        drop(listener);
        Url::parse(&format!("http://{address}")).expect("a URL")
    }

    #[tokio::test]
    async fn nothing_found_says_how_to_add_an_agent() {
        let discovery = discover(&inputs(&[], None, Some(closed_port_url()))).await;
        assert!(discovery.agents.is_empty());
        assert_eq!(
            discovery.message(),
            "No agent configured and none found: add one to director.toml"
        );
    }

    #[tokio::test]
    async fn keys_become_agents_sent_only_to_their_own_endpoints() {
        let discovery = discover(&inputs(
            &[
                ("OPENAI_API_KEY", "sk-x"),
                ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
                ("ANTHROPIC_API_KEY", "sk-ant-x"),
                ("ANTHROPIC_BASE_URL", "https://user:pw@elsewhere.example"),
            ],
            None,
            None,
        ))
        .await;
        let openai = &discovery.agents["openai"];
        assert_eq!(openai.kind, AgentKind::OpenAi);
        assert_eq!(openai.base_url.as_str(), "http://127.0.0.1:9/v1");
        assert_eq!(openai.api_key_env.as_deref(), Some("OPENAI_API_KEY"));
        assert_eq!(openai.model, DISCOVERED_OPENAI_MODEL);
        let anthropic = &discovery.agents["anthropic"];
        assert_eq!(anthropic.kind, AgentKind::Anthropic);
        // A base URL carrying credentials is not trusted with the key.
        assert_eq!(anthropic.base_url.as_str(), "https://api.anthropic.com/");
        assert_eq!(anthropic.max_tokens, Some(4096));
        assert_eq!(
            discovery.message(),
            "No agent configured; using: openai (OPENAI_API_KEY), anthropic (ANTHROPIC_API_KEY)"
        );
        assert!(!format!("{discovery:?}").contains("sk-"));
    }

    #[tokio::test]
    async fn a_blank_key_is_not_a_key() {
        let discovery = discover(&inputs(&[("OPENAI_API_KEY", "  ")], None, None)).await;
        assert!(discovery.agents.is_empty());
    }

    #[tokio::test]
    async fn a_running_ollama_offers_its_first_model() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let address = listener.local_addr().expect("an address");
        // One HTTP exchange is all discovery makes.
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("a connection");
            let mut request = vec![0; 4096];
            let length = stream.read(&mut request).await.expect("a request");
            assert!(request[..length].starts_with(b"GET /api/tags "));
            let body = r#"{"models":[{"name":"qwen2.5-coder:7b"},{"name":"llama3"}]}"#;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream
                .write_all(response.as_bytes())
                .await
                .expect("an answer");
        });
        let ollama_url = Url::parse(&format!("http://{address}")).expect("a URL");
        let discovery = discover(&inputs(&[], None, Some(ollama_url))).await;
        server.await.expect("the fake Ollama answered");
        let ollama = &discovery.agents["ollama"];
        assert_eq!(ollama.kind, AgentKind::OpenAi);
        assert_eq!(ollama.model, "qwen2.5-coder:7b");
        assert_eq!(ollama.base_url.as_str(), format!("http://{address}/v1"));
        assert_eq!(ollama.api_key_env, None);
        assert_eq!(
            discovery.message(),
            format!("No agent configured; using: ollama (qwen2.5-coder:7b at http://{address})")
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn executable_agent_clis_on_path_become_command_agents_with_their_presets() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().expect("a directory");
        for (name, mode) in [("claude", 0o755), ("codex", 0o644), ("aider", 0o700)] {
            let path = directory.path().join(name);
            std::fs::write(&path, "#!/bin/sh\n").expect("a file");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("a mode");
        }
        let discovery = discover(&inputs(
            &[("OPENAI_API_KEY", "sk-x")],
            Some(directory.path()),
            None,
        ))
        .await;
        assert_eq!(
            discovery.agents.keys().collect::<Vec<_>>(),
            ["aider", "claude", "openai"]
        );
        let claude = &discovery.agents["claude"];
        assert_eq!(claude.kind, AgentKind::Command);
        // The user's own program: not held back by workspace trust.
        assert_eq!(claude.origin, ConfigOrigin::Discovered);
        assert_eq!(claude.timeout, DISCOVERED_CLI_TIMEOUT);
        let command = claude.command.as_ref().expect("a command");
        assert_eq!(command.argv[..2], ["claude", "-p"]);
        assert!(command.env.contains(&"ANTHROPIC_API_KEY".to_owned()));
        assert_eq!(
            discovery.message(),
            "No agent configured; using: openai (OPENAI_API_KEY), claude (on PATH), aider (on PATH)"
        );
    }
}
