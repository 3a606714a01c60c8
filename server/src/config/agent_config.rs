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
/// How many times an answer that fails validation goes back to the agent when
/// the config says nothing.
pub const DEFAULT_VALIDATION_RETRIES: u32 = 2;
/// The most validation retries a config may ask for: an agent that cannot fix
/// its answer in three tries rarely does in more.
pub const MAX_VALIDATION_RETRIES: u32 = 3;
/// Lines of context around the region in the prompt when the config says nothing.
pub const DEFAULT_CONTEXT_LINES: u32 = 20;
/// The endpoint of an `openai` agent that names none.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The endpoint of an `anthropic` agent that names none.
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// The key variable of an `anthropic` agent that names none.
pub const DEFAULT_ANTHROPIC_API_KEY_ENV: &str = "ANTHROPIC_API_KEY";
/// The answer length of an `anthropic` agent that names none: the Messages API
/// requires one.
pub const DEFAULT_ANTHROPIC_MAX_TOKENS: u32 = 4096;

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
    /// What the agent's tokens cost, for the cost of each run; `None` when the
    /// config names no price.
    pub price: Option<Price>,
    /// Which file defined the agent, so that agents from an untrusted workspace
    /// can be held back.
    pub origin: ConfigOrigin,
    /// How a `command` or `acp` agent is launched; `None` for the HTTP kinds.
    pub command: Option<CommandSettings>,
    /// The program and arguments that check a proposed edit (`["cargo",
    /// "check"]`), run in a sandbox copy of the workspace; `None` checks syntax only.
    pub check: Option<Vec<String>>,
    /// How many times an answer that fails validation goes back to the agent
    /// before it is proposed with a warning; at most [`MAX_VALIDATION_RETRIES`].
    pub validation_retries: u32,
}

/// A local agent's launch (`command` or `acp` kind): the program and arguments,
/// which environment variables it may see, and whether its sandbox is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSettings {
    /// The program then its arguments; `{prompt}` and `{file}` in an argument
    /// are replaced by the run's prompt and the delegated file's relative path.
    pub argv: Vec<String>,
    /// Names of the environment variables passed through to the agent (beside
    /// `PATH`, `HOME` and the locale); no other variable reaches it.
    pub env: Vec<String>,
    /// Leaves the sandbox on disk after the run, for inspection.
    pub keep_sandbox: bool,
    /// Folders and files outside the sandbox the program may write (its
    /// settings, caches and logs), `~/` standing for the home folder; the
    /// rest of the machine is read-only to it (see [`crate::run::confine`]).
    pub writable: Vec<String>,
    /// Files the program writes in its working folder for itself (its
    /// settings, its history), relative to the workspace; a name ending in
    /// `/` covers a folder. They are never proposed.
    pub own_files: Vec<String>,
    /// Whether the program may reach the network (its model's endpoint).
    pub network: bool,
}

impl CommandSettings {
    /// Whether `path` (relative to the workspace) is one of the program's own files.
    pub fn is_own_file(&self, path: &std::path::Path) -> bool {
        self.own_files
            .iter()
            .any(|own| match own.strip_suffix('/') {
                Some(folder) => path.starts_with(folder),
                None => path == std::path::Path::new(own),
            })
    }

    /// [`CommandSettings::writable`] as paths, `~/` resolved against `home`;
    /// entries that need a home when there is none are left out.
    pub fn writable_paths(&self, home: Option<&std::path::Path>) -> Vec<std::path::PathBuf> {
        self.writable
            .iter()
            .filter_map(|entry| match entry.strip_prefix("~/") {
                Some(inside_home) => home.map(|home| home.join(inside_home)),
                None => Some(std::path::PathBuf::from(entry)),
            })
            .collect()
    }
}

/// A well-known agent CLI's launch: the command line that makes it edit files
/// without asking, and the variables it reads its endpoint and key from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandPreset {
    pub name: &'static str,
    pub argv: &'static [&'static str],
    /// Passed through to the CLI beside the ones the config lists.
    pub env: &'static [&'static str],
    /// Where the CLI keeps its settings, credentials and caches (see
    /// [`CommandSettings::writable`]).
    pub writable: &'static [&'static str],
    /// The files the CLI writes in the workspace for itself (see
    /// [`CommandSettings::own_files`]).
    pub own_files: &'static [&'static str],
}

/// Where Claude Code keeps its settings, credentials, sessions and caches.
const CLAUDE_WRITABLE: &[&str] = &["~/.claude", "~/.claude.json", "~/.cache/claude"];
/// What Claude Code writes in the project for itself: "Always allow" answers.
const CLAUDE_OWN_FILES: &[&str] = &[".claude/settings.local.json"];
/// Where Codex keeps its settings, credentials and sessions.
const CODEX_WRITABLE: &[&str] = &["~/.codex"];
/// Where Gemini CLI keeps its settings, credentials and sessions.
const GEMINI_WRITABLE: &[&str] = &["~/.gemini"];

/// The well-known agent CLIs. Each runs headless in a sandbox nobody watches:
/// `claude` may edit files without asking (not run commands), `codex` (whose
/// `exec` never asks) may write in its folder, `gemini` trusts the sandbox and auto-approves edits.
/// Their stdin is closed, which `codex exec` needs to not wait for more input.
pub const COMMAND_PRESETS: &[CommandPreset] = &[
    CommandPreset {
        name: "claude",
        argv: &[
            "claude",
            "-p",
            "--permission-mode",
            "acceptEdits",
            "{prompt}",
        ],
        env: &[
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_BASE_URL",
            "ANTHROPIC_MODEL",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
            "DISABLE_AUTOUPDATER",
        ],
        writable: CLAUDE_WRITABLE,
        own_files: CLAUDE_OWN_FILES,
    },
    CommandPreset {
        name: "codex",
        argv: &[
            "codex",
            "exec",
            "--sandbox",
            "workspace-write",
            "--skip-git-repo-check",
            "--color",
            "never",
            "{prompt}",
        ],
        env: &["OPENAI_API_KEY", "OPENAI_BASE_URL", "CODEX_HOME"],
        writable: CODEX_WRITABLE,
        own_files: &[],
    },
    CommandPreset {
        name: "gemini",
        argv: &[
            "gemini",
            "--skip-trust",
            "--approval-mode",
            "auto_edit",
            "-p",
            "{prompt}",
        ],
        env: &["GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL"],
        writable: GEMINI_WRITABLE,
        own_files: &[],
    },
    CommandPreset {
        name: "aider",
        argv: &[
            "aider",
            "--yes-always",
            "--no-git",
            "--chat-history-file",
            "/dev/null",
            "--input-history-file",
            "/dev/null",
            "--no-restore-chat-history",
            "--message",
            "{prompt}",
            "{file}",
        ],
        env: &[
            "OPENAI_API_KEY",
            "OPENAI_API_BASE",
            "ANTHROPIC_API_KEY",
            "AIDER_MODEL",
        ],
        writable: &["~/.aider", "~/.cache/aider"],
        // Older versions write their history whatever the flags say, and
        // every version keeps a tags cache.
        own_files: &[
            ".aider.chat.history.md",
            ".aider.input.history",
            ".aider.llm.history",
            ".aider.tags.cache.v3/",
            ".aider.tags.cache.v4/",
        ],
    },
];

/// The well-known agents in their ACP mode; the prompt goes over the
/// protocol, not on the command line.
pub const ACP_PRESETS: &[CommandPreset] = &[
    CommandPreset {
        name: "gemini",
        argv: &["gemini", "--acp"],
        env: &[
            "GEMINI_API_KEY",
            "GOOGLE_API_KEY",
            "GOOGLE_GEMINI_BASE_URL",
            "GEMINI_CLI_TRUST_WORKSPACE",
        ],
        writable: GEMINI_WRITABLE,
        own_files: &[],
    },
    CommandPreset {
        name: "claude",
        argv: &["claude-code-acp"],
        env: &[
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_BASE_URL",
            "ANTHROPIC_MODEL",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
            "DISABLE_AUTOUPDATER",
        ],
        writable: CLAUDE_WRITABLE,
        own_files: CLAUDE_OWN_FILES,
    },
    CommandPreset {
        name: "codex",
        argv: &["codex-acp"],
        env: &["OPENAI_API_KEY", "OPENAI_BASE_URL", "CODEX_HOME"],
        writable: CODEX_WRITABLE,
        own_files: &[],
    },
    CommandPreset {
        name: "opencode",
        // Its errors (an endpoint it cannot reach, which it retries
        // quietly) on stderr, which a failure quotes.
        argv: &["opencode", "acp", "--print-logs", "--log-level", "WARN"],
        env: &[
            "OPENCODE_CONFIG",
            "OPENCODE_CONFIG_CONTENT",
            "OPENCODE_DISABLE_AUTOUPDATE",
            "OPENCODE_DISABLE_MODELS_FETCH",
        ],
        writable: &[
            "~/.config/opencode",
            "~/.local/share/opencode",
            "~/.local/state/opencode",
            "~/.cache/opencode",
        ],
        own_files: &[],
    },
];

/// The preset `name` among `presets`, if there is one.
pub fn command_preset(
    presets: &'static [CommandPreset],
    name: &str,
) -> Option<&'static CommandPreset> {
    presets.iter().find(|preset| preset.name == name)
}

impl CommandPreset {
    /// The launch this preset gives.
    pub fn settings(&self) -> CommandSettings {
        CommandSettings {
            argv: self
                .argv
                .iter()
                .map(|argument| (*argument).to_owned())
                .collect(),
            env: self.env.iter().map(|name| (*name).to_owned()).collect(),
            keep_sandbox: false,
            writable: self
                .writable
                .iter()
                .map(|path| (*path).to_owned())
                .collect(),
            own_files: self
                .own_files
                .iter()
                .map(|path| (*path).to_owned())
                .collect(),
            network: true,
        }
    }
}

/// The stand-in endpoint of a `command` or `acp` agent, which reaches no host.
pub const COMMAND_BASE_URL: &str = "about:blank";

/// What an agent's tokens cost, in US dollars per million tokens, as
/// `price = { input_per_mtok = 3.0, output_per_mtok = 15.0 }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// Dollars per million prompt (input) tokens; finite and not negative.
    pub input_per_mtok: f64,
    /// Dollars per million completion (output) tokens; finite and not negative.
    pub output_per_mtok: f64,
}

impl Price {
    /// What `prompt_tokens` in and `completion_tokens` out cost, in US dollars.
    pub fn cost_usd(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.input_per_mtok
            + completion_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0
    }
}

/// The backends Director can talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentKind {
    /// Any OpenAI-compatible Chat Completions endpoint.
    OpenAi,
    /// The Anthropic Messages API.
    Anthropic,
    /// A CLI agent run in a sandbox copy of the workspace.
    Command,
    /// An Agent Client Protocol agent, spoken to over its stdio, run in a
    /// sandbox copy of the workspace.
    Acp,
}

impl AgentKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: &[AgentKind] = &[
        AgentKind::OpenAi,
        AgentKind::Anthropic,
        AgentKind::Command,
        AgentKind::Acp,
    ];

    /// The name used for the kind in config files.
    pub fn name(self) -> &'static str {
        match self {
            AgentKind::OpenAi => "openai",
            AgentKind::Anthropic => "anthropic",
            AgentKind::Command => "command",
            AgentKind::Acp => "acp",
        }
    }

    /// The endpoint of an agent of this kind that names none.
    pub fn default_base_url(self) -> &'static str {
        match self {
            AgentKind::OpenAi => DEFAULT_OPENAI_BASE_URL,
            AgentKind::Anthropic => DEFAULT_ANTHROPIC_BASE_URL,
            AgentKind::Command | AgentKind::Acp => COMMAND_BASE_URL,
        }
    }

    /// The key variable of an agent of this kind that names none; `None` for
    /// `openai`, whose compatible servers (Ollama, llama.cpp) often need no key.
    pub fn default_api_key_env(self) -> Option<&'static str> {
        match self {
            AgentKind::OpenAi | AgentKind::Command | AgentKind::Acp => None,
            AgentKind::Anthropic => Some(DEFAULT_ANTHROPIC_API_KEY_ENV),
        }
    }

    /// The answer length of an agent of this kind that names none.
    pub fn default_max_tokens(self) -> Option<u32> {
        match self {
            AgentKind::OpenAi | AgentKind::Command | AgentKind::Acp => None,
            AgentKind::Anthropic => Some(DEFAULT_ANTHROPIC_MAX_TOKENS),
        }
    }

    /// The highest `temperature` the kind's API accepts.
    pub fn max_temperature(self) -> f64 {
        match self {
            AgentKind::OpenAi | AgentKind::Command | AgentKind::Acp => 2.0,
            AgentKind::Anthropic => 1.0,
        }
    }

    /// Whether the kind runs a program on this machine, which a workspace may
    /// only ask for when it is trusted.
    pub fn runs_local_program(self) -> bool {
        self.edits_in_sandbox()
    }

    /// Whether the kind edits files in a sandbox copy of the workspace rather
    /// than answering a chat request; such agents cannot review.
    pub fn edits_in_sandbox(self) -> bool {
        matches!(self, AgentKind::Command | AgentKind::Acp)
    }

    /// The presets `preset = "…"` may name for an agent of this kind.
    pub fn presets(self) -> &'static [CommandPreset] {
        match self {
            AgentKind::Acp => ACP_PRESETS,
            AgentKind::OpenAi | AgentKind::Anthropic | AgentKind::Command => COMMAND_PRESETS,
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

    #[test]
    fn a_price_per_million_tokens_prices_each_direction() {
        let price = Price {
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
        };
        assert_eq!(price.cost_usd(0, 0), 0.0);
        assert_eq!(price.cost_usd(1_000_000, 0), 3.0);
        assert_eq!(price.cost_usd(0, 1_000_000), 15.0);
        let cost = price.cost_usd(1_234, 567);
        assert!(
            (cost - (1_234.0 * 3.0 + 567.0 * 15.0) / 1e6).abs() < 1e-15,
            "{cost}"
        );
    }
}
