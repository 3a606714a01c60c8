//! Director's configuration: the named agents a user can delegate to.
//!
//! Agents come from two files, merged per agent name: the user config file
//! (`$XDG_CONFIG_HOME/director/config.toml`, or the path in
//! `DIRECTOR_USER_CONFIG`) and `director.toml` at the workspace root, which wins.
//! A file with any problem contributes nothing; its problems carry byte ranges
//! so the editor can show them on the file, and the caller keeps each file's last
//! good version (see [`LoadedConfig`] and [`Config::merged`]).

pub mod agent_config;
pub mod discovery;
pub mod file;
pub mod trust;
pub mod workflow;

pub use agent_config::{AgentConfig, AgentKind};
pub use workflow::{WorkflowConfig, WorkflowStep};

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use etcetera::BaseStrategy;

use crate::config::file::{ConfigFile, parse_file};

/// Environment variable naming the user config file, overriding the XDG path.
pub const USER_CONFIG_ENV: &str = "DIRECTOR_USER_CONFIG";
/// The workspace config file, at the workspace root.
pub const WORKSPACE_CONFIG_FILE_NAME: &str = "director.toml";

/// Every configured agent, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub agents: BTreeMap<String, AgentConfig>,
    /// Workspaces the user trusts to define their own `command` agents (from
    /// the user file only).
    pub trusted_roots: Vec<PathBuf>,
    /// The user lets local agents run unconfined where bubblewrap cannot
    /// confine them (from the user file only).
    pub allow_unconfined_agents: bool,
    /// Every configured workflow, by name; their agents are all in `agents`.
    pub workflows: BTreeMap<String, WorkflowConfig>,
}

/// Which file a setting came from; the workspace file is shared with whoever
/// wrote the repository, the user file is the user's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigOrigin {
    User,
    Workspace,
    /// Found on this machine when nothing is configured (a key in the
    /// environment, a CLI on `PATH`): the user's own, like the user file.
    Discovered,
}

/// Something wrong in a config file, located so it can become a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub path: PathBuf,
    /// Byte range in the file; `None` when the problem is the file as a whole
    /// (it cannot be read).
    pub range: Option<Range<usize>>,
    pub message: String,
}

/// The result of reading both config files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadedConfig {
    /// The merge of the files that are valid.
    pub config: Config,
    /// The problems of the files that are not; each such file is left out.
    pub problems: Vec<ConfigProblem>,
    /// The user file when it exists and is valid; keep it to re-merge later.
    pub user: Option<ConfigFile>,
    /// The workspace file when it exists and is valid; keep it to re-merge later.
    pub workspace: Option<ConfigFile>,
}

impl Config {
    /// The agents and workflows of both files; the workspace file's wins over
    /// the user file's of the same name.
    pub fn merged(user: Option<&ConfigFile>, workspace: Option<&ConfigFile>) -> Config {
        let mut agents = BTreeMap::new();
        let mut workflows = BTreeMap::new();
        for file in [user, workspace].into_iter().flatten() {
            agents.extend(
                file.agents
                    .iter()
                    .map(|(name, agent)| (name.clone(), agent.clone())),
            );
            workflows.extend(
                file.workflows
                    .iter()
                    .map(|(name, workflow)| (name.clone(), workflow.clone())),
            );
        }
        Config {
            agents,
            workflows,
            trusted_roots: user
                .map(|file| file.trusted_roots.clone())
                .unwrap_or_default(),
            allow_unconfined_agents: user.is_some_and(|file| file.allow_unconfined_agents),
        }
    }
}

/// Reads the user config file and, when there is a workspace, its
/// `director.toml`. Never fails: problems are returned beside the config.
pub fn load(workspace_root: Option<&Path>) -> LoadedConfig {
    let workspace_path = workspace_root.map(workspace_config_path);
    load_files(user_config_path().as_deref(), workspace_path.as_deref())
}

/// Where the user config file is: `DIRECTOR_USER_CONFIG` when set, else the
/// XDG config directory; `None` when there is no home directory.
pub fn user_config_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(USER_CONFIG_ENV).filter(|path| !path.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let strategy = etcetera::choose_base_strategy().ok()?;
    Some(strategy.config_dir().join("director").join("config.toml"))
}

/// Where a workspace's config file is.
pub fn workspace_config_path(workspace_root: &Path) -> PathBuf {
    workspace_root.join(WORKSPACE_CONFIG_FILE_NAME)
}

/// [`load`] with explicit paths.
pub fn load_files(user_path: Option<&Path>, workspace_path: Option<&Path>) -> LoadedConfig {
    let mut problems = Vec::new();
    let user = user_path.and_then(|path| read_file(path, ConfigOrigin::User, &mut problems));
    let workspace =
        workspace_path.and_then(|path| read_file(path, ConfigOrigin::Workspace, &mut problems));
    // A workflow may name an agent of the other file: its agents are checked
    // against both, and a file naming an unknown one is left out like any
    // other file with a problem.
    let known_agents = Config::merged(user.as_ref(), workspace.as_ref()).agents;
    let [user, workspace] = [user, workspace].map(|file| {
        let file = file?;
        let reference_problems =
            workflow::agent_reference_problems(&file.path, &file.workflow_agents, &known_agents);
        if reference_problems.is_empty() {
            Some(file)
        } else {
            problems.extend(reference_problems);
            None
        }
    });
    LoadedConfig {
        config: Config::merged(user.as_ref(), workspace.as_ref()),
        problems,
        user,
        workspace,
    }
}

/// Reads and parses one file; a missing file is no problem and yields `None`.
fn read_file(
    path: &Path,
    origin: ConfigOrigin,
    problems: &mut Vec<ConfigProblem>,
) -> Option<ConfigFile> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => {
            problems.push(ConfigProblem {
                path: path.to_owned(),
                range: None,
                message: format!("cannot read {}: {error}", path.display()),
            });
            return None;
        }
    };
    match parse_file(path, &text, origin) {
        Ok(file) => Some(file),
        Err(file_problems) => {
            problems.extend(file_problems);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("a writable temporary directory");
        path
    }

    #[test]
    fn the_workspace_agent_wins_and_others_are_kept() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let user = write(
            dir.path(),
            "user.toml",
            "[agents.local]\nkind = \"openai\"\nmodel = \"user-model\"\n\n[agents.mine]\nkind = \"openai\"\nmodel = \"mine\"\n",
        );
        let workspace = write(
            dir.path(),
            "director.toml",
            "[agents.local]\nkind = \"openai\"\nmodel = \"workspace-model\"\n",
        );
        let loaded = load_files(Some(&user), Some(&workspace));
        assert_eq!(loaded.problems, []);
        let agents = &loaded.config.agents;
        assert_eq!(agents["local"].model, "workspace-model");
        assert_eq!(agents["local"].origin, ConfigOrigin::Workspace);
        assert_eq!(agents["mine"].model, "mine");
        assert_eq!(agents["mine"].origin, ConfigOrigin::User);
    }

    #[test]
    fn a_workspace_workflow_may_name_a_user_agent_but_not_an_unknown_one() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let user = write(
            dir.path(),
            "user.toml",
            "[agents.mine]\nkind = \"openai\"\nmodel = \"mine\"\n",
        );
        let workspace = write(
            dir.path(),
            "director.toml",
            "[agents.local]\nkind = \"openai\"\nmodel = \"m\"\n\n[workflows.ship]\nsteps = [{ agent = \"local\", preset = \"implement\" }, { check = true }, { agent = \"mine\", review = true }]\n",
        );
        let loaded = load_files(Some(&user), Some(&workspace));
        assert_eq!(loaded.problems, []);
        let ship = &loaded.config.workflows["ship"];
        assert_eq!(ship.steps.len(), 3);
        assert_eq!(ship.steps[1], WorkflowStep::Validate);
        assert_eq!(
            ship.steps[2],
            WorkflowStep::Review {
                agent: "mine".to_owned()
            }
        );

        let text = "[agents.local]\nkind = \"openai\"\nmodel = \"m\"\n\n[workflows.ship]\nsteps = [{ agent = \"ghost\", instruction = \"Do it\" }]\n";
        let workspace = write(dir.path(), "director.toml", text);
        let loaded = load_files(Some(&user), Some(&workspace));
        assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
        let problem = &loaded.problems[0];
        assert_eq!(&text[problem.range.clone().expect("located")], "\"ghost\"");
        assert!(
            problem
                .message
                .starts_with("workflow `ship`: no agent named `ghost` is configured"),
            "{problem:?}"
        );
        // The file is left out as a whole, like any file with a problem.
        assert!(loaded.config.workflows.is_empty());
        assert!(!loaded.config.agents.contains_key("local"));
    }

    #[test]
    fn missing_files_are_not_problems() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let loaded = load_files(
            Some(&dir.path().join("absent.toml")),
            Some(&dir.path().join("director.toml")),
        );
        assert_eq!(loaded, LoadedConfig::default());
    }

    #[test]
    fn an_unreadable_file_is_a_problem() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        // A directory where a file is expected cannot be read as text.
        let loaded = load_files(Some(dir.path()), None);
        assert_eq!(loaded.problems.len(), 1);
        assert_eq!(loaded.problems[0].range, None);
        assert!(loaded.problems[0].message.starts_with("cannot read "));
    }

    #[test]
    fn an_invalid_file_is_left_out_and_a_good_one_is_kept_for_re_merging() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let user = write(
            dir.path(),
            "user.toml",
            "[agents.mine]\nkind = \"openai\"\nmodel = \"mine\"\n",
        );
        let workspace = write(
            dir.path(),
            "director.toml",
            "[agents.local]\nkind = \"openai\"\nmodel = \"m\"\nretries = 7\n",
        );
        let loaded = load_files(Some(&user), Some(&workspace));
        assert_eq!(loaded.problems.len(), 1);
        assert_eq!(loaded.problems[0].path, workspace);
        assert_eq!(loaded.config.agents.keys().collect::<Vec<_>>(), ["mine"]);

        // The user fixes the workspace file and saves: the caller re-merges.
        let fixed = parse_file(
            &workspace,
            "[agents.local]\nkind = \"openai\"\nmodel = \"m\"\nretries = 3\n",
            ConfigOrigin::Workspace,
        )
        .expect("a valid config");
        let config = Config::merged(loaded.user.as_ref(), Some(&fixed));
        assert_eq!(config.agents.keys().collect::<Vec<_>>(), ["local", "mine"]);
    }
}
