//! The real agent CLIs `tests/editors/install-agents.sh` installs, found the
//! way the tests need them: a test that needs one fails, loudly and with the
//! command that installs it, when it is missing or is not the CLI it claims.

use std::path::PathBuf;

/// One CLI the install script installs.
#[derive(Debug, Clone, Copy)]
pub struct InstalledAgent {
    /// The program name the presets launch (`claude`, `codex`, `opencode`).
    pub program: &'static str,
    /// The variable the install script exports with its path.
    pub env: &'static str,
    /// What its `--version` says, in part, when it is the right CLI.
    pub version_says: &'static str,
}

/// Claude Code, run as the `claude` command preset.
pub const CLAUDE: InstalledAgent = InstalledAgent {
    program: "claude",
    env: "DIRECTOR_CLAUDE",
    version_says: "Claude Code",
};

/// Codex, run as the `codex` command preset.
pub const CODEX: InstalledAgent = InstalledAgent {
    program: "codex",
    env: "DIRECTOR_CODEX",
    version_says: "codex-cli",
};

/// opencode, run as the `opencode` ACP preset.
pub const OPENCODE: InstalledAgent = InstalledAgent {
    program: "opencode",
    env: "DIRECTOR_OPENCODE",
    version_says: "1.",
};

/// Every CLI the install script installs.
pub const ALL: [InstalledAgent; 3] = [CLAUDE, CODEX, OPENCODE];

const INSTALL: &str = "install it with `eval \"$(bash tests/editors/install-agents.sh)\"` \
(`cargo xtask test` runs it)";

impl InstalledAgent {
    /// The CLI's path: the install script's variable, else where the script
    /// installs it. Panics when it is not there or does not run.
    pub fn path(&self) -> PathBuf {
        let path = std::env::var_os(self.env)
            .map(PathBuf::from)
            .or_else(|| {
                let cache = std::env::var_os("XDG_CACHE_HOME")
                    .map(PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache"))
                    })?;
                Some(cache.join(format!(
                    "director-tools/agents/{0}/node_modules/.bin/{0}",
                    self.program
                )))
            })
            .unwrap_or_else(|| panic!("no {} and no HOME; {INSTALL}", self.env));
        let version = std::process::Command::new(&path)
            .arg("--version")
            .output()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}; {INSTALL}", path.display()));
        let version = String::from_utf8_lossy(&version.stdout);
        assert!(
            version.contains(self.version_says),
            "{} is not {} (its --version says {version:?}); {INSTALL}",
            path.display(),
            self.program
        );
        path
    }

    /// `PATH` with the CLI's folder first, for a server that launches it by name.
    pub fn search_path(&self) -> String {
        let path = self.path();
        let folder = path.parent().unwrap_or(&path).display().to_string();
        format!("{folder}:{}", std::env::var("PATH").unwrap_or_default())
    }
}
