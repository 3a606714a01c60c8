//! Parsing and validating one config file, with every problem located in it.
//!
//! The text is parsed with spans so that each problem (a syntax error, an
//! unknown field, a value out of range, a key written into the file) can be
//! shown as a diagnostic at the right place in the editor. Agents are checked
//! one by one so that one bad agent does not hide the problems of the others.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use url::Url;

use crate::config::agent_config::{
    AgentConfig, AgentKind, CommandSettings, DEFAULT_CONTEXT_LINES, DEFAULT_MAX_CONCURRENT,
    DEFAULT_RETRIES, DEFAULT_TIMEOUT, DEFAULT_VALIDATION_RETRIES, MAX_RETRIES,
    MAX_VALIDATION_RETRIES, Price, command_preset,
};
use crate::config::workflow::{WorkflowAgentReference, WorkflowConfig, parse_workflows};
use crate::config::{ConfigOrigin, ConfigProblem};

/// The agents one valid config file defines.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub origin: ConfigOrigin,
    pub agents: BTreeMap<String, AgentConfig>,
    /// Workspaces whose own `command` agents may run; only the user file may
    /// name them.
    pub trusted_roots: Vec<PathBuf>,
    /// Whether `command` and `acp` agents and checks may run unconfined where
    /// bubblewrap cannot confine them; only the user file may say so.
    pub allow_unconfined_agents: bool,
    pub workflows: BTreeMap<String, WorkflowConfig>,
    /// The agents the workflows name, checked once both files are read (an
    /// agent may come from the other file).
    pub workflow_agents: Vec<WorkflowAgentReference>,
}

/// Parses the text of a config file; any problem rejects the whole file, so the
/// caller keeps its last good version of it.
pub fn parse_file(
    path: &Path,
    text: &str,
    origin: ConfigOrigin,
) -> Result<ConfigFile, Vec<ConfigProblem>> {
    let document = match DeTable::parse(text) {
        Ok(document) => document,
        Err(error) => return Err(vec![problem_from_toml(path, &error)]),
    };
    let mut problems = Vec::new();
    let mut agents = BTreeMap::new();
    let mut trusted_roots = Vec::new();
    let mut allow_unconfined_agents = false;
    let mut workflows = BTreeMap::new();
    let mut workflow_agents = Vec::new();
    for (key, value) in document.into_inner() {
        match key.get_ref().as_ref() {
            "agents" => parse_agents(path, value, origin, &mut agents, &mut problems),
            "workflows" => parse_workflows(
                path,
                value,
                &mut workflows,
                &mut workflow_agents,
                &mut problems,
            ),
            "trusted_roots" if origin == ConfigOrigin::User => {
                trusted_roots = parse_trusted_roots(path, value, &mut problems);
            }
            "trusted_roots" => problems.push(ConfigProblem {
                path: path.to_owned(),
                range: Some(key.span()),
                message: "`trusted_roots` can only be set in the user config file: a \
                          workspace cannot trust itself"
                    .to_owned(),
            }),
            "allow_unconfined_agents" if origin == ConfigOrigin::User => {
                let span = value.span();
                match bool::deserialize(ValueDeserializer::from(value)) {
                    Ok(allowed) => allow_unconfined_agents = allowed,
                    Err(_) => problems.push(ConfigProblem {
                        path: path.to_owned(),
                        range: Some(span),
                        message: "`allow_unconfined_agents` must be true or false".to_owned(),
                    }),
                }
            }
            "allow_unconfined_agents" => problems.push(ConfigProblem {
                path: path.to_owned(),
                range: Some(key.span()),
                message: "`allow_unconfined_agents` can only be set in the user config file: \
                          a workspace cannot lift its agents' confinement"
                    .to_owned(),
            }),
            // The spec linter's table: it reads and checks it itself (spec::lint::config).
            "lint" => {}
            unknown => problems.push(ConfigProblem {
                path: path.to_owned(),
                range: Some(key.span()),
                message: format!(
                    "unknown table or key `{unknown}`, expected `agents`, \
                     `allow_unconfined_agents`, `lint`, `trusted_roots` or `workflows`"
                ),
            }),
        }
    }
    if problems.is_empty() {
        Ok(ConfigFile {
            path: path.to_owned(),
            origin,
            agents,
            trusted_roots,
            allow_unconfined_agents,
            workflows,
            workflow_agents,
        })
    } else {
        Err(problems)
    }
}

/// `trusted_roots = ["/path", ...]`: absolute folders whose workspaces are trusted.
fn parse_trusted_roots(
    path: &Path,
    value: Spanned<DeValue<'_>>,
    problems: &mut Vec<ConfigProblem>,
) -> Vec<PathBuf> {
    let span = value.span();
    let roots = Vec::<Spanned<String>>::deserialize(ValueDeserializer::from(value));
    let roots = match roots {
        Ok(roots) => roots,
        Err(error) => {
            problems.push(ConfigProblem {
                path: path.to_owned(),
                range: error.span().or(Some(span)),
                message: "`trusted_roots` must be a list of absolute folder paths".to_owned(),
            });
            return Vec::new();
        }
    };
    let mut trusted = Vec::new();
    for root in roots {
        let root_path = PathBuf::from(root.get_ref());
        if root_path.is_absolute() {
            trusted.push(root_path);
        } else {
            problems.push(ConfigProblem {
                path: path.to_owned(),
                range: Some(root.span()),
                message: format!(
                    "`trusted_roots` entry `{}` must be an absolute path",
                    root.get_ref()
                ),
            });
        }
    }
    trusted
}

/// Keys people use to paste a secret; a key must never live in a file that may
/// be committed, shared or shown in an editor.
const SECRET_FIELDS: &[&str] = &["api_key", "key", "token"];

/// The agent fields as written, with their spans for precise problems.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgentConfig {
    kind: Spanned<String>,
    base_url: Option<Spanned<String>>,
    model: Option<Spanned<String>>,
    api_key_env: Option<Spanned<String>>,
    max_tokens: Option<Spanned<u32>>,
    temperature: Option<Spanned<f64>>,
    timeout: Option<Spanned<u64>>,
    max_concurrent: Option<Spanned<u32>>,
    retries: Option<Spanned<u32>>,
    stream: Option<bool>,
    context_lines: Option<Spanned<u32>>,
    price: Option<Spanned<RawPrice>>,
    command: Option<Spanned<Vec<String>>>,
    preset: Option<Spanned<String>>,
    env: Option<Spanned<Vec<Spanned<String>>>>,
    keep_sandbox: Option<Spanned<bool>>,
    writable: Option<Spanned<Vec<Spanned<String>>>>,
    network: Option<Spanned<bool>>,
    check: Option<Spanned<Vec<String>>>,
    validation_retries: Option<Spanned<u32>>,
}

/// `price = { input_per_mtok = 3.0, output_per_mtok = 15.0 }`: US dollars per
/// million tokens, both required so that a half-written price is not taken for free.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrice {
    input_per_mtok: f64,
    output_per_mtok: f64,
}

fn parse_agents(
    path: &Path,
    agents_value: Spanned<DeValue<'_>>,
    origin: ConfigOrigin,
    agents: &mut BTreeMap<String, AgentConfig>,
    problems: &mut Vec<ConfigProblem>,
) {
    let agents_span = agents_value.span();
    let DeValue::Table(agent_tables) = agents_value.into_inner() else {
        problems.push(ConfigProblem {
            path: path.to_owned(),
            range: Some(agents_span),
            message: "`agents` must be a table of named agents, such as [agents.local]".to_owned(),
        });
        return;
    };
    for (name, agent_value) in agent_tables {
        let name = name.into_inner().into_owned();
        let mut agent_problems = AgentProblems {
            path,
            agent_name: &name,
            problems: Vec::new(),
        };
        if let Some(agent) = parse_agent(agent_value, origin, &mut agent_problems) {
            agents.insert(name.clone(), agent);
        }
        problems.extend(agent_problems.problems);
    }
}

/// Collects the problems of one agent, each message naming the agent.
struct AgentProblems<'a> {
    path: &'a Path,
    agent_name: &'a str,
    problems: Vec<ConfigProblem>,
}

impl AgentProblems<'_> {
    fn push(&mut self, range: Option<Range<usize>>, message: impl std::fmt::Display) {
        self.problems.push(ConfigProblem {
            path: self.path.to_owned(),
            range,
            message: format!("agent `{}`: {message}", self.agent_name),
        });
    }
}

fn parse_agent(
    agent_value: Spanned<DeValue<'_>>,
    origin: ConfigOrigin,
    problems: &mut AgentProblems<'_>,
) -> Option<AgentConfig> {
    let agent_span = agent_value.span();
    let DeValue::Table(table) = agent_value.into_inner() else {
        problems.push(
            Some(agent_span),
            "an agent must be a table, such as [agents.local] with kind = \"openai\"",
        );
        return None;
    };

    let mut fields = DeTable::new();
    for (key, value) in table {
        if SECRET_FIELDS.contains(&key.get_ref().as_ref()) {
            problems.push(
                Some(key.span()),
                format!(
                    "`{}` cannot be set in a config file: keep the key in an environment \
                     variable and set `api_key_env` to that variable's name",
                    key.get_ref()
                ),
            );
        } else {
            fields.insert(key, value);
        }
    }

    let raw_agent = RawAgentConfig::deserialize(ValueDeserializer::from(Spanned::new(
        agent_span.clone(),
        DeValue::Table(fields),
    )));
    let raw_agent = match raw_agent {
        Ok(raw_agent) => raw_agent,
        Err(error) => {
            problems.push(
                error.span().or(Some(agent_span)),
                error.message().trim_end(),
            );
            return None;
        }
    };
    validate_agent(raw_agent, origin, problems)
}

fn validate_agent(
    raw_agent: RawAgentConfig,
    origin: ConfigOrigin,
    problems: &mut AgentProblems<'_>,
) -> Option<AgentConfig> {
    let problem_count_before = problems.problems.len();

    let kind = AgentKind::from_name(raw_agent.kind.get_ref());
    if kind.is_none() {
        let known_kinds: Vec<&str> = AgentKind::ALL.iter().map(|kind| kind.name()).collect();
        problems.push(
            Some(raw_agent.kind.span()),
            format!(
                "unknown kind `{}`, the known kinds are: {}",
                raw_agent.kind.get_ref(),
                known_kinds.join(", ")
            ),
        );
    }

    let base_url = match &raw_agent.base_url {
        None => kind.and_then(|kind| Url::parse(kind.default_base_url()).ok()),
        Some(base_url) => parse_base_url(base_url, problems),
    };

    let command = match kind {
        Some(kind) if kind.edits_in_sandbox() => {
            validate_command(kind, &raw_agent, raw_agent.kind.span(), problems)
        }
        _ => {
            refuse_command_fields(&raw_agent, problems);
            None
        }
    };

    match &raw_agent.model {
        Some(model) if model.get_ref().trim().is_empty() => {
            problems.push(Some(model.span()), "`model` must not be empty");
        }
        None if !kind.is_some_and(AgentKind::edits_in_sandbox) => {
            problems.push(Some(raw_agent.kind.span()), "missing field `model`");
        }
        _ => {}
    }

    if let Some(api_key_env) = &raw_agent.api_key_env {
        if !is_environment_variable_name(api_key_env.get_ref()) {
            problems.push(
                Some(api_key_env.span()),
                "`api_key_env` must be the name of an environment variable (such as \
                 OPENAI_API_KEY), not the key itself",
            );
        }
    }

    if let Some(max_tokens) = &raw_agent.max_tokens {
        if *max_tokens.get_ref() == 0 {
            problems.push(Some(max_tokens.span()), "`max_tokens` must be at least 1");
        }
    }

    let max_temperature = kind.map_or(2.0, AgentKind::max_temperature);
    let temperature = raw_agent.temperature.as_ref().map(|temperature| {
        let value = *temperature.get_ref();
        if !(0.0..=max_temperature).contains(&value) {
            problems.push(
                Some(temperature.span()),
                format!("`temperature` is {value}, it must be between 0 and {max_temperature}"),
            );
        }
        value as f32
    });

    let price = raw_agent.price.as_ref().map(|price| {
        let raw_price = price.get_ref();
        for (field, value) in [
            ("input_per_mtok", raw_price.input_per_mtok),
            ("output_per_mtok", raw_price.output_per_mtok),
        ] {
            if !value.is_finite() || value < 0.0 {
                problems.push(
                    Some(price.span()),
                    format!(
                        "`price.{field}` is {value}, it must be a number of US dollars per \
                         million tokens, 0 or more"
                    ),
                );
            }
        }
        Price {
            input_per_mtok: raw_price.input_per_mtok,
            output_per_mtok: raw_price.output_per_mtok,
        }
    });

    let timeout = match &raw_agent.timeout {
        None => DEFAULT_TIMEOUT,
        Some(timeout) if *timeout.get_ref() == 0 => {
            problems.push(
                Some(timeout.span()),
                "`timeout` must be at least 1 (seconds)",
            );
            DEFAULT_TIMEOUT
        }
        Some(timeout) => Duration::from_secs(*timeout.get_ref()),
    };

    let max_concurrent = match &raw_agent.max_concurrent {
        None => DEFAULT_MAX_CONCURRENT,
        Some(max_concurrent) => {
            if *max_concurrent.get_ref() == 0 {
                problems.push(
                    Some(max_concurrent.span()),
                    "`max_concurrent` must be at least 1",
                );
            }
            *max_concurrent.get_ref()
        }
    };

    let retries = match &raw_agent.retries {
        None => DEFAULT_RETRIES,
        Some(retries) => {
            if *retries.get_ref() > MAX_RETRIES {
                problems.push(
                    Some(retries.span()),
                    format!(
                        "`retries` is {}, it can be at most {MAX_RETRIES}",
                        retries.get_ref()
                    ),
                );
            }
            *retries.get_ref()
        }
    };

    if let Some(check) = &raw_agent.check {
        if check
            .get_ref()
            .first()
            .is_none_or(|program| program.trim().is_empty())
        {
            problems.push(
                Some(check.span()),
                "`check` must start with the program to run, such as [\"cargo\", \"check\"]",
            );
        }
    }

    let validation_retries = match &raw_agent.validation_retries {
        None => DEFAULT_VALIDATION_RETRIES,
        Some(validation_retries) => {
            if *validation_retries.get_ref() > MAX_VALIDATION_RETRIES {
                problems.push(
                    Some(validation_retries.span()),
                    format!(
                        "`validation_retries` is {}, it can be at most {MAX_VALIDATION_RETRIES}",
                        validation_retries.get_ref()
                    ),
                );
            }
            *validation_retries.get_ref()
        }
    };

    if problems.problems.len() > problem_count_before {
        return None;
    }
    let kind = kind?;
    Some(AgentConfig {
        kind,
        base_url: base_url?,
        model: match raw_agent.model {
            Some(model) => model.into_inner(),
            // A local agent's model is whatever its program uses: name the program.
            None => command
                .as_ref()
                .and_then(|command| command.argv.first().cloned())
                .unwrap_or_default(),
        },
        api_key_env: raw_agent
            .api_key_env
            .map(Spanned::into_inner)
            .or_else(|| kind.default_api_key_env().map(str::to_owned)),
        max_tokens: raw_agent
            .max_tokens
            .map(Spanned::into_inner)
            .or_else(|| kind.default_max_tokens()),
        temperature,
        timeout,
        max_concurrent,
        retries,
        stream: raw_agent.stream.unwrap_or(true),
        context_lines: raw_agent
            .context_lines
            .map_or(DEFAULT_CONTEXT_LINES, Spanned::into_inner),
        price,
        origin,
        command,
        check: raw_agent.check.map(Spanned::into_inner),
        validation_retries,
    })
}

/// The launch of a `command` or `acp` agent: exactly one of `command` and
/// `preset`, and none of the HTTP fields.
fn validate_command(
    kind: AgentKind,
    raw_agent: &RawAgentConfig,
    agent_span: Range<usize>,
    problems: &mut AgentProblems<'_>,
) -> Option<CommandSettings> {
    for (field, span) in [
        ("base_url", raw_agent.base_url.as_ref().map(Spanned::span)),
        (
            "api_key_env",
            raw_agent.api_key_env.as_ref().map(Spanned::span),
        ),
    ] {
        if let Some(span) = span {
            problems.push(
                Some(span),
                format!(
                    "`{field}` does not apply to a{} {} agent: its program finds its own endpoint and key",
                    if kind == AgentKind::Acp { "n" } else { "" },
                    kind.name()
                ),
            );
        }
    }
    let (argv, preset) = match (&raw_agent.command, &raw_agent.preset) {
        (Some(command), None) => {
            if command
                .get_ref()
                .first()
                .is_none_or(|program| program.trim().is_empty())
            {
                problems.push(
                    Some(command.span()),
                    "`command` must start with the program to run, such as [\"claude\", \"-p\", \"{prompt}\"]",
                );
                return None;
            }
            (command.get_ref().clone(), None)
        }
        (None, Some(preset)) => match command_preset(kind.presets(), preset.get_ref()) {
            Some(preset) => (preset.settings().argv, Some(preset.settings())),
            None => {
                let known: Vec<&str> = kind.presets().iter().map(|preset| preset.name).collect();
                problems.push(
                    Some(preset.span()),
                    format!(
                        "unknown preset `{}`, the known presets are: {}",
                        preset.get_ref(),
                        known.join(", ")
                    ),
                );
                return None;
            }
        },
        (Some(command), Some(_)) => {
            problems.push(
                Some(command.span()),
                "set either `command` or `preset`, not both",
            );
            return None;
        }
        (None, None) => {
            let known: Vec<&str> = kind.presets().iter().map(|preset| preset.name).collect();
            let example = if kind == AgentKind::Acp {
                "[\"program\", \"--acp\"]"
            } else {
                "[\"program\", \"{prompt}\"]"
            };
            problems.push(
                Some(agent_span),
                format!(
                    "a{} {} agent needs `command = {example}` or `preset = \"{}\"` (the known presets are: {})",
                    if kind == AgentKind::Acp { "n" } else { "" },
                    kind.name(),
                    known.first().copied().unwrap_or_default(),
                    known.join(", ")
                ),
            );
            return None;
        }
    };
    // A preset's own variables (its endpoint and key), folders and files
    // come with it.
    let (mut env, mut writable, own_files) = preset
        .map(|preset| (preset.env, preset.writable, preset.own_files))
        .unwrap_or_default();
    for name in raw_agent.env.iter().flat_map(|env| env.get_ref()) {
        if env.contains(name.get_ref()) {
            continue;
        }
        if is_environment_variable_name(name.get_ref()) {
            env.push(name.get_ref().clone());
        } else {
            problems.push(
                Some(name.span()),
                "`env` lists names of environment variables to pass through, not values",
            );
        }
    }
    for entry in raw_agent
        .writable
        .iter()
        .flat_map(|writable| writable.get_ref())
    {
        if entry.get_ref().starts_with("~/") || Path::new(entry.get_ref()).is_absolute() {
            if !writable.contains(entry.get_ref()) {
                writable.push(entry.get_ref().clone());
            }
        } else {
            problems.push(
                Some(entry.span()),
                "`writable` lists absolute paths or paths starting with `~/`",
            );
        }
    }
    Some(CommandSettings {
        argv,
        env,
        keep_sandbox: raw_agent
            .keep_sandbox
            .as_ref()
            .is_some_and(|keep| *keep.get_ref()),
        writable,
        own_files,
        network: raw_agent
            .network
            .as_ref()
            .is_none_or(|network| *network.get_ref()),
    })
}

/// The `command` and `acp` fields make no sense on an HTTP agent; saying so
/// beats ignoring them.
fn refuse_command_fields(raw_agent: &RawAgentConfig, problems: &mut AgentProblems<'_>) {
    for (field, span) in [
        ("command", raw_agent.command.as_ref().map(Spanned::span)),
        ("preset", raw_agent.preset.as_ref().map(Spanned::span)),
        ("env", raw_agent.env.as_ref().map(Spanned::span)),
        (
            "keep_sandbox",
            raw_agent.keep_sandbox.as_ref().map(Spanned::span),
        ),
        ("writable", raw_agent.writable.as_ref().map(Spanned::span)),
        ("network", raw_agent.network.as_ref().map(Spanned::span)),
    ] {
        if let Some(span) = span {
            problems.push(
                Some(span),
                format!("`{field}` only applies to agents of kind \"command\" or \"acp\""),
            );
        }
    }
}

fn parse_base_url(base_url: &Spanned<String>, problems: &mut AgentProblems<'_>) -> Option<Url> {
    let url = match Url::parse(base_url.get_ref()) {
        Ok(url) => url,
        Err(error) => {
            problems.push(
                Some(base_url.span()),
                format!("`base_url` is not a valid URL: {error}"),
            );
            return None;
        }
    };
    if url.scheme() != "http" && url.scheme() != "https" {
        problems.push(
            Some(base_url.span()),
            format!(
                "`base_url` must be an http or https URL, not {}",
                url.scheme()
            ),
        );
        return None;
    }
    if !url.username().is_empty() || url.password().is_some() {
        problems.push(
            Some(base_url.span()),
            "`base_url` must not contain credentials: set `api_key_env` to the name of an \
             environment variable holding the key",
        );
        return None;
    }
    Some(url)
}

/// Whether `name` is a portable environment variable name (letters, digits and
/// underscores, not starting with a digit).
fn is_environment_variable_name(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn problem_from_toml(path: &Path, error: &toml::de::Error) -> ConfigProblem {
    ConfigProblem {
        path: path.to_owned(),
        range: error.span(),
        message: error.message().trim_end().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, Vec<ConfigProblem>> {
        parse_file(Path::new("director.toml"), text, ConfigOrigin::Workspace)
    }

    #[track_caller]
    fn problems(text: &str) -> Vec<ConfigProblem> {
        match parse(text) {
            Ok(file) => panic!("expected problems, got {file:?}"),
            Err(problems) => problems,
        }
    }

    /// The one problem in `text`, as the text it points at and its message.
    #[track_caller]
    fn single_problem(text: &str) -> (String, String) {
        let problems = problems(text);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let range = problems[0].range.clone().expect("a located problem");
        (text[range].to_owned(), problems[0].message.clone())
    }

    #[test]
    fn a_full_agent_is_typed() {
        let file = parse(
            r#"
[agents.local]
kind = "openai"
base_url = "http://127.0.0.1:11434/v1"
model = "qwen2.5-coder:14b"
api_key_env = "OPENAI_API_KEY"
max_tokens = 4096
temperature = 0.2
timeout = 30
max_concurrent = 4
retries = 3
stream = false
context_lines = 10
"#,
        )
        .expect("a valid config");
        assert_eq!(file.origin, ConfigOrigin::Workspace);
        let agent = &file.agents["local"];
        assert_eq!(
            *agent,
            AgentConfig {
                kind: AgentKind::OpenAi,
                base_url: Url::parse("http://127.0.0.1:11434/v1").expect("a valid URL"),
                model: "qwen2.5-coder:14b".to_owned(),
                api_key_env: Some("OPENAI_API_KEY".to_owned()),
                max_tokens: Some(4096),
                temperature: Some(0.2),
                timeout: Duration::from_secs(30),
                max_concurrent: 4,
                retries: 3,
                stream: false,
                context_lines: 10,
                price: None,
                origin: ConfigOrigin::Workspace,
                command: None,
                check: None,
                validation_retries: 2,
            }
        );
    }

    #[test]
    fn omitted_fields_take_their_defaults() {
        let file = parse("[agents.gpt]\nkind = \"openai\"\nmodel = \"gpt-4.1\"\n")
            .expect("a valid config");
        let agent = &file.agents["gpt"];
        assert_eq!(agent.base_url.as_str(), "https://api.openai.com/v1");
        assert_eq!(agent.api_key_env, None);
        assert_eq!(agent.timeout, Duration::from_secs(120));
        assert_eq!(agent.max_concurrent, 2);
        assert_eq!(agent.retries, 2);
        assert!(agent.stream);
        assert_eq!(agent.context_lines, 20);
        assert_eq!(agent.temperature, None);
        assert_eq!(agent.max_tokens, None);
    }

    #[test]
    fn an_anthropic_agent_gets_its_own_defaults() {
        let file = parse("[agents.claude]\nkind = \"anthropic\"\nmodel = \"claude-sonnet-4-5\"\n")
            .expect("a valid config");
        let agent = &file.agents["claude"];
        assert_eq!(agent.kind, AgentKind::Anthropic);
        assert_eq!(agent.base_url.as_str(), "https://api.anthropic.com/");
        assert_eq!(agent.api_key_env.as_deref(), Some("ANTHROPIC_API_KEY"));
        assert_eq!(agent.max_tokens, Some(4096));
        assert_eq!(agent.retries, 2);
        assert!(agent.stream);
    }

    #[test]
    fn an_anthropic_temperature_above_1_is_refused() {
        let (located, message) =
            single_problem("[agents.c]\nkind = \"anthropic\"\nmodel = \"m\"\ntemperature = 1.5\n");
        assert_eq!(located, "1.5");
        assert_eq!(
            message,
            "agent `c`: `temperature` is 1.5, it must be between 0 and 1"
        );
    }

    #[test]
    fn a_price_is_read_in_dollars_per_million_tokens() {
        let file = parse(
            "[agents.c]\nkind = \"anthropic\"\nmodel = \"m\"\nprice = { input_per_mtok = 3.0, output_per_mtok = 15 }\n",
        )
        .expect("a valid config");
        assert_eq!(
            file.agents["c"].price,
            Some(Price {
                input_per_mtok: 3.0,
                output_per_mtok: 15.0
            })
        );
        let omitted = parse("[agents.c]\nkind = \"openai\"\nmodel = \"m\"\n").expect("valid");
        assert_eq!(omitted.agents["c"].price, None);
    }

    #[test]
    fn a_negative_or_half_written_price_is_refused() {
        let (located, message) = single_problem(
            "[agents.c]\nkind = \"openai\"\nmodel = \"m\"\nprice = { input_per_mtok = -1.0, output_per_mtok = 2.0 }\n",
        );
        assert!(located.starts_with("{ input_per_mtok"), "{located}");
        assert!(
            message.starts_with("agent `c`: `price.input_per_mtok` is -1, it must be"),
            "{message}"
        );
        let (_, message) = single_problem(
            "[agents.c]\nkind = \"openai\"\nmodel = \"m\"\nprice = { input_per_mtok = 1.0 }\n",
        );
        assert!(
            message.contains("missing field `output_per_mtok`"),
            "{message}"
        );
    }

    #[test]
    fn an_empty_file_defines_no_agents() {
        assert!(parse("").expect("a valid config").agents.is_empty());
    }

    #[test]
    fn a_syntax_error_is_located() {
        let problems = problems("[agents.local\nkind = \"openai\"\n");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].message, "unclosed table, expected `]`");
        let range = problems[0].range.clone().expect("a located problem");
        assert!(range.start <= "[agents.local".len(), "{range:?}");
    }

    #[test]
    fn an_unknown_field_names_itself_and_the_valid_ones() {
        let (located, message) = single_problem(
            "[agents.local]\nkind = \"openai\"\nmodel = \"m\"\nmodle_name = \"m\"\n",
        );
        assert_eq!(located, "modle_name");
        assert!(message.starts_with("agent `local`: unknown field `modle_name`, expected one of"));
        assert!(message.contains("`api_key_env`"), "{message}");
    }

    #[test]
    fn an_unknown_top_level_key_is_located() {
        let (located, message) = single_problem("[agent.local]\nkind = \"openai\"\n");
        assert_eq!(located, "agent");
        assert_eq!(
            message,
            "unknown table or key `agent`, expected `agents`, `allow_unconfined_agents`, `lint`, \
             `trusted_roots` or `workflows`"
        );
    }

    #[test]
    fn an_unknown_kind_lists_the_known_ones() {
        let (located, message) = single_problem("[agents.x]\nkind = \"gpt\"\nmodel = \"m\"\n");
        assert_eq!(located, "\"gpt\"");
        assert_eq!(
            message,
            "agent `x`: unknown kind `gpt`, the known kinds are: openai, anthropic, command, acp"
        );
    }

    #[test]
    fn a_wrong_type_is_located() {
        let (located, message) =
            single_problem("[agents.x]\nkind = \"openai\"\nmodel = \"m\"\ntimeout = \"2m\"\n");
        assert_eq!(located, "\"2m\"");
        assert!(message.contains("expected u64"), "{message}");
    }

    #[test]
    fn a_missing_field_is_reported() {
        let (_, message) = single_problem("[agents.x]\nkind = \"openai\"\n");
        assert_eq!(message, "agent `x`: missing field `model`");
    }

    #[test]
    fn out_of_range_values_are_each_reported() {
        let text = "[agents.x]\nkind = \"openai\"\nmodel = \"m\"\nretries = 4\nmax_concurrent = 0\ntimeout = 0\ntemperature = 2.5\nmax_tokens = 0\n";
        let located: Vec<(String, String)> = problems(text)
            .into_iter()
            .map(|problem| {
                (
                    text[problem.range.expect("a located problem")].to_owned(),
                    problem.message,
                )
            })
            .collect();
        assert_eq!(
            located,
            [
                (
                    "0".to_owned(),
                    "agent `x`: `max_tokens` must be at least 1".to_owned()
                ),
                (
                    "2.5".to_owned(),
                    "agent `x`: `temperature` is 2.5, it must be between 0 and 2".to_owned()
                ),
                (
                    "0".to_owned(),
                    "agent `x`: `timeout` must be at least 1 (seconds)".to_owned()
                ),
                (
                    "0".to_owned(),
                    "agent `x`: `max_concurrent` must be at least 1".to_owned()
                ),
                (
                    "4".to_owned(),
                    "agent `x`: `retries` is 4, it can be at most 3".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_check_command_and_validation_retries_are_read_for_every_kind() {
        let file = parse(
            "[agents.a]\nkind = \"openai\"\nmodel = \"m\"\ncheck = [\"cargo\", \"check\"]\nvalidation_retries = 3\n\n[agents.b]\nkind = \"command\"\npreset = \"claude\"\ncheck = [\"make\", \"test\"]\nvalidation_retries = 0\n",
        )
        .expect("a valid config");
        assert_eq!(
            file.agents["a"].check,
            Some(vec!["cargo".to_owned(), "check".to_owned()])
        );
        assert_eq!(file.agents["a"].validation_retries, 3);
        assert_eq!(
            file.agents["b"].check,
            Some(vec!["make".to_owned(), "test".to_owned()])
        );
        assert_eq!(file.agents["b"].validation_retries, 0);
        let plain = parse("[agents.c]\nkind = \"openai\"\nmodel = \"m\"\n").expect("valid");
        assert_eq!(plain.agents["c"].check, None);
        assert_eq!(plain.agents["c"].validation_retries, 2);
    }

    #[test]
    fn too_many_validation_retries_or_an_empty_check_are_refused() {
        let (located, message) = single_problem(
            "[agents.x]\nkind = \"openai\"\nmodel = \"m\"\nvalidation_retries = 4\n",
        );
        assert_eq!(located, "4");
        assert_eq!(
            message,
            "agent `x`: `validation_retries` is 4, it can be at most 3"
        );
        let (located, message) =
            single_problem("[agents.x]\nkind = \"openai\"\nmodel = \"m\"\ncheck = []\n");
        assert_eq!(located, "[]");
        assert!(
            message.contains("`check` must start with the program"),
            "{message}"
        );
        let (located, _) = single_problem(
            "[agents.x]\nkind = \"openai\"\nmodel = \"m\"\ncheck = \"cargo check\"\n",
        );
        assert_eq!(located, "\"cargo check\"");
    }

    #[test]
    fn a_key_in_the_file_is_refused_for_every_secret_field() {
        for field in ["api_key", "key", "token"] {
            let text =
                format!("[agents.x]\nkind = \"openai\"\nmodel = \"m\"\n{field} = \"sk-secret\"\n");
            let (located, message) = single_problem(&text);
            assert_eq!(located, field);
            assert!(message.contains("set `api_key_env`"), "{message}");
            assert!(!message.contains("sk-secret"), "{message}");
        }
    }

    #[test]
    fn a_key_in_api_key_env_is_refused_without_echoing_it() {
        let (located, message) = single_problem(
            "[agents.x]\nkind = \"openai\"\nmodel = \"m\"\napi_key_env = \"sk-proj-abc123\"\n",
        );
        assert_eq!(located, "\"sk-proj-abc123\"");
        assert!(!message.contains("sk-proj"), "{message}");
    }

    #[test]
    fn a_base_url_with_credentials_or_a_bad_scheme_is_refused() {
        let (_, message) = single_problem(
            "[agents.x]\nkind = \"openai\"\nmodel = \"m\"\nbase_url = \"https://user:sk-1@host/v1\"\n",
        );
        assert!(
            message.contains("must not contain credentials"),
            "{message}"
        );
        assert!(!message.contains("sk-1"), "{message}");
        let (_, message) = single_problem(
            "[agents.x]\nkind = \"openai\"\nmodel = \"m\"\nbase_url = \"ftp://host/v1\"\n",
        );
        assert!(message.contains("http or https"), "{message}");
    }

    #[test]
    fn one_bad_agent_does_not_hide_another() {
        let problems = problems(
            "[agents.a]\nkind = \"openai\"\nmodel = \"m\"\nretries = 9\n\n[agents.b]\nkind = \"nope\"\nmodel = \"m\"\n",
        );
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].starts_with("agent `a`"));
        assert!(messages[1].starts_with("agent `b`"));
    }

    #[test]
    fn a_command_agent_takes_its_command_line_and_options() {
        let file = parse(
            "[agents.cli]\nkind = \"command\"\ncommand = [\"tool\", \"--edit\", \"{prompt}\"]\ntimeout = 5\nenv = [\"TOOL_TOKEN\"]\nkeep_sandbox = true\nwritable = [\"~/.tool\", \"/var/cache/tool\"]\nnetwork = false\n",
        )
        .expect("a valid config");
        let agent = &file.agents["cli"];
        assert_eq!(agent.kind, AgentKind::Command);
        assert_eq!(agent.model, "tool");
        assert_eq!(agent.timeout, Duration::from_secs(5));
        assert_eq!(
            agent.command,
            Some(CommandSettings {
                argv: vec!["tool".into(), "--edit".into(), "{prompt}".into()],
                env: vec!["TOOL_TOKEN".into()],
                keep_sandbox: true,
                writable: vec!["~/.tool".into(), "/var/cache/tool".into()],
                own_files: vec![],
                network: false,
            })
        );
    }

    #[test]
    fn writable_paths_must_be_absolute_or_in_the_home_folder() {
        let (text, message) = single_problem(
            "[agents.a]\nkind = \"command\"\npreset = \"claude\"\nwritable = [\"cache\"]\n",
        );
        assert_eq!(text, "\"cache\"");
        assert!(
            message.contains("absolute paths or paths starting with `~/`"),
            "{message}"
        );
        let (text, message) =
            single_problem("[agents.a]\nkind = \"openai\"\nmodel = \"m\"\nnetwork = false\n");
        assert_eq!(text, "false");
        assert!(message.contains("`network` only applies"), "{message}");
    }

    #[test]
    fn only_the_user_may_let_agents_run_unconfined() {
        let (text, message) = single_problem("allow_unconfined_agents = true\n");
        assert_eq!(text, "allow_unconfined_agents");
        assert!(
            message.contains("only be set in the user config"),
            "{message}"
        );
        let user = parse_file(
            Path::new("config.toml"),
            "allow_unconfined_agents = true\n",
            ConfigOrigin::User,
        )
        .expect("a valid user config");
        assert!(user.allow_unconfined_agents);
    }

    #[test]
    fn presets_expand_to_the_known_command_lines() {
        let file = parse(
            "[agents.a]\nkind = \"command\"\npreset = \"aider\"\nenv = [\"AIDER_MODEL\", \"MY_PROXY\"]\n",
        )
        .expect("valid");
        let command = file.agents["a"].command.clone().expect("a command");
        assert_eq!(
            command.argv,
            [
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
                "{file}"
            ]
        );
        assert!(!command.keep_sandbox);
        // Its history files are its own, never proposed.
        assert!(command.is_own_file(Path::new(".aider.chat.history.md")));
        assert!(command.is_own_file(Path::new(".aider.tags.cache.v4/cache.db")));
        assert!(!command.is_own_file(Path::new("src/.aider.chat.history.md")));
        // The preset's own variables come first, then the config's, once each.
        assert_eq!(
            command.env,
            [
                "OPENAI_API_KEY",
                "OPENAI_API_BASE",
                "ANTHROPIC_API_KEY",
                "AIDER_MODEL",
                "MY_PROXY"
            ]
        );
        let claude = parse("[agents.c]\nkind = \"command\"\npreset = \"claude\"\n").expect("valid");
        let claude = claude.agents["c"].command.clone().expect("a command");
        // Headless, `claude -p` may only edit files when its permission mode says so.
        assert_eq!(
            claude.argv,
            [
                "claude",
                "-p",
                "--permission-mode",
                "acceptEdits",
                "{prompt}"
            ]
        );
        let (text, message) = single_problem("[agents.a]\nkind = \"command\"\npreset = \"vim\"\n");
        assert_eq!(text, "\"vim\"");
        assert!(
            message.contains("claude, codex, gemini, aider"),
            "{message}"
        );
    }

    #[test]
    fn command_fields_are_checked_against_the_kind() {
        let (text, message) = single_problem("[agents.a]\nkind = \"command\"\n");
        assert_eq!(text, "\"command\"");
        assert!(message.contains("needs `command"), "{message}");
        let (text, _) = single_problem(
            "[agents.a]\nkind = \"command\"\npreset = \"claude\"\nbase_url = \"http://x\"\n",
        );
        assert_eq!(text, "\"http://x\"");
        let (text, message) =
            single_problem("[agents.a]\nkind = \"openai\"\nmodel = \"m\"\npreset = \"claude\"\n");
        assert_eq!(text, "\"claude\"");
        assert!(
            message.contains("only applies to agents of kind"),
            "{message}"
        );
        let (text, _) = single_problem("[agents.a]\nkind = \"command\"\ncommand = []\n");
        assert_eq!(text, "[]");
    }

    #[test]
    fn an_acp_agent_takes_a_command_or_an_acp_preset_and_the_command_options() {
        let file = parse(
            "[agents.g]\nkind = \"acp\"\npreset = \"gemini\"\ntimeout = 30\nmax_concurrent = 1\nenv = [\"GEMINI_API_KEY\"]\nkeep_sandbox = true\n",
        )
        .expect("a valid config");
        let agent = &file.agents["g"];
        assert_eq!(agent.kind, AgentKind::Acp);
        assert_eq!(agent.model, "gemini");
        assert_eq!(agent.timeout, Duration::from_secs(30));
        assert_eq!(agent.max_concurrent, 1);
        assert_eq!(
            agent.command,
            Some(CommandSettings {
                argv: vec!["gemini".into(), "--acp".into()],
                // The config's variables, then the ones the preset's CLI reads.
                env: vec![
                    "GEMINI_API_KEY".into(),
                    "GOOGLE_API_KEY".into(),
                    "GOOGLE_GEMINI_BASE_URL".into(),
                    "GEMINI_CLI_TRUST_WORKSPACE".into(),
                ],
                keep_sandbox: true,
                writable: vec!["~/.gemini".into()],
                own_files: vec![],
                network: true,
            })
        );
        for (preset, argv) in [
            ("claude", vec!["claude-code-acp"]),
            ("codex", vec!["codex-acp"]),
            (
                "opencode",
                vec!["opencode", "acp", "--print-logs", "--log-level", "WARN"],
            ),
        ] {
            let file = parse(&format!(
                "[agents.a]\nkind = \"acp\"\npreset = \"{preset}\"\n"
            ))
            .expect("valid");
            assert_eq!(
                file.agents["a"].command.clone().expect("a command").argv,
                argv
            );
        }
        let file = parse("[agents.a]\nkind = \"acp\"\ncommand = [\"my-agent\", \"--stdio\"]\n")
            .expect("valid");
        assert_eq!(file.agents["a"].model, "my-agent");

        // The command kind's presets are not ACP ones.
        let (text, message) = single_problem("[agents.a]\nkind = \"acp\"\npreset = \"aider\"\n");
        assert_eq!(text, "\"aider\"");
        assert!(
            message.contains("gemini, claude, codex, opencode"),
            "{message}"
        );
        let (_, message) = single_problem("[agents.a]\nkind = \"acp\"\n");
        assert!(message.contains("an acp agent needs `command"), "{message}");
        let (text, message) = single_problem(
            "[agents.a]\nkind = \"acp\"\npreset = \"codex\"\napi_key_env = \"KEY\"\n",
        );
        assert_eq!(text, "\"KEY\"");
        assert!(message.contains("an acp agent"), "{message}");
    }

    #[test]
    fn only_the_user_file_names_trusted_roots() {
        let user = parse_file(
            Path::new("config.toml"),
            "trusted_roots = [\"/home/me/work\"]\n",
            ConfigOrigin::User,
        )
        .expect("valid");
        assert_eq!(user.trusted_roots, [PathBuf::from("/home/me/work")]);
        let (text, message) = single_problem("trusted_roots = [\"/\"]\n");
        assert_eq!(text, "trusted_roots");
        assert!(message.contains("cannot trust itself"), "{message}");
        let problems = parse_file(
            Path::new("config.toml"),
            "trusted_roots = [\"relative\"]\n",
            ConfigOrigin::User,
        )
        .expect_err("a relative root");
        assert!(problems[0].message.contains("absolute"), "{problems:?}");
    }
}
