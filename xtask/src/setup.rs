//! The test set-up: what a fresh Debian machine needs before every test can run.
//!
//! System packages come from apt by name, never by exact version (Debian suites
//! replace versions, and a pinned one disappears); what arrived is checked by
//! running it. Editors and agent CLIs go into the cache folder through the
//! scripts in `tests/editors/`, which pin versions only where the registry keeps
//! them (npm, crates.io) and check what they installed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A Debian package the tests need, and how to tell that it works.
struct SystemPackage {
    name: &'static str,
    /// A command (and its arguments) that succeeds once the package works.
    probe: &'static [&'static str],
    why: &'static str,
}

const SYSTEM_PACKAGES: &[SystemPackage] = &[
    SystemPackage {
        name: "git",
        probe: &["git", "--version"],
        why: "tests make repositories; command agents run in git worktrees",
    },
    SystemPackage {
        name: "python3",
        probe: &["python3", "--version"],
        why: "the harness self-test's fake language server",
    },
    SystemPackage {
        name: "build-essential",
        probe: &["g++", "--version"],
        why: "code-server's native modules",
    },
    SystemPackage {
        name: "libkrb5-dev",
        probe: &["krb5-config", "--version"],
        why: "code-server's kerberos module",
    },
    SystemPackage {
        name: "npm",
        probe: &["npm", "--version"],
        why: "installs Node 24, code-server, vsce and the agent CLIs",
    },
    SystemPackage {
        name: "chromium",
        probe: &["chromium", "--version"],
        why: "the headless browser that drives code-server",
    },
    SystemPackage {
        name: "bubblewrap",
        probe: &["bwrap", "--version"],
        why: "the confinement that agents and checks run in",
    },
];

/// One installer in `tests/editors/`: it prints `export NAME=value` lines.
const INSTALLERS: &[&str] = &[
    "tests/editors/install-neovim.sh",
    "tests/editors/install-vscode.sh",
    "tests/editors/install-agents.sh",
    "tests/editors/install-openspec.sh",
];

/// Installs everything and returns the variables that point the tests at it.
pub fn run() -> Result<Vec<(String, String)>, String> {
    let tools = tools_folder()?;
    std::fs::create_dir_all(&tools).map_err(|error| {
        format!(
            "cannot create the cache folder {}: {error}",
            tools.display()
        )
    })?;
    step(&format!("cache folder {}", tools.display()));
    let mut exports = vec![("DIRECTOR_TOOLS".to_owned(), tools.display().to_string())];

    step("system packages");
    install_system_packages()?;

    for installer in INSTALLERS {
        step(installer);
        let output = Command::new("bash")
            .arg(repository_root().join(installer))
            .env("DIRECTOR_TOOLS", &tools)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|error| format!("cannot run {installer}: {error}"))?;
        if !output.status.success() {
            return Err(format!("{installer} failed ({})", output.status));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let found = parse_exports(&stdout);
        if found.is_empty() {
            return Err(format!("{installer} printed no `export` line"));
        }
        exports.extend(found);
    }
    Ok(exports)
}

/// The grammar check: the committed parser is what grammar.js generates, and its
/// corpus tests pass.
pub fn check_grammar() -> Result<(), String> {
    step("tests/editors/check-grammar.sh");
    let tools = tools_folder()?;
    run_to_end(
        Command::new("sh")
            .arg(repository_root().join("tests/editors/check-grammar.sh"))
            .env("DIRECTOR_TOOLS", tools),
    )
}

/// Runs `command` with inherited output and fails unless it exits 0.
pub fn run_to_end(command: &mut Command) -> Result<(), String> {
    let status = command
        .stdin(Stdio::null())
        .status()
        .map_err(|error| format!("cannot run {command:?}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed ({status})"))
    }
}

/// Announces a step on stderr (stdout is kept for `export` lines).
pub fn step(what: &str) {
    eprintln!("== xtask: {what}");
}

/// The workspace root: the parent of this crate's folder.
pub fn repository_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn tools_folder() -> Result<PathBuf, String> {
    if let Some(tools) = std::env::var_os("DIRECTOR_TOOLS").filter(|tools| !tools.is_empty()) {
        let tools = PathBuf::from(tools);
        // The scripts run in other folders: make the path absolute once, here.
        return std::path::absolute(&tools)
            .map_err(|error| format!("DIRECTOR_TOOLS={}: {error}", tools.display()));
    }
    let cache = match std::env::var_os("XDG_CACHE_HOME").filter(|cache| !cache.is_empty()) {
        Some(cache) => PathBuf::from(cache),
        None => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".cache"),
            None => return Err("neither DIRECTOR_TOOLS, XDG_CACHE_HOME nor HOME is set".into()),
        },
    };
    Ok(cache.join("director-tools"))
}

/// Installs with apt the packages whose probe fails (a program may also come from
/// elsewhere, such as npm with a Node.js package), then checks that each works.
fn install_system_packages() -> Result<(), String> {
    let missing: Vec<&SystemPackage> = SYSTEM_PACKAGES
        .iter()
        .filter(|package| !probe_runs(package))
        .collect();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|package| package.name).collect();
        let list = missing
            .iter()
            .map(|package| format!("  {}: {}", package.name, package.why))
            .collect::<Vec<_>>()
            .join("\n");
        if !is_root() {
            return Err(format!(
                "these Debian packages are missing, and installing them needs root:\n{list}\n\
                 run: sudo apt-get install {}",
                names.join(" ")
            ));
        }
        eprintln!("installing with apt-get:\n{list}");
        run_to_end(Command::new("apt-get").arg("update").stdout(Stdio::null()))?;
        run_to_end(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends"])
                .args(&names)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdout(Stdio::null()),
        )?;
    }
    match SYSTEM_PACKAGES.iter().find(|package| !probe_runs(package)) {
        Some(package) => Err(format!(
            "package {} is installed but `{}` does not run ({})",
            package.name,
            package.probe.join(" "),
            package.why
        )),
        None => Ok(()),
    }
}

fn probe_runs(package: &SystemPackage) -> bool {
    let Some((program, args)) = package.probe.split_first() else {
        return false;
    };
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// The `export NAME=value` lines of an installer's output (values may be quoted).
fn parse_exports(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("export "))
        .filter_map(|assignment| assignment.split_once('='))
        .map(|(name, value)| {
            let value = value.trim();
            let value = value
                .strip_prefix('\'')
                .and_then(|value| value.strip_suffix('\''))
                .or_else(|| {
                    value
                        .strip_prefix('"')
                        .and_then(|value| value.strip_suffix('"'))
                })
                .unwrap_or(value);
            (name.trim().to_owned(), value.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_exports;

    #[test]
    fn export_lines_are_read_with_or_without_quotes_and_other_lines_are_ignored() {
        let stdout = "installing…\nexport A=/x/y\nexport B='/with space'\nexport C=\"/q\"\n";
        assert_eq!(
            parse_exports(stdout),
            [
                ("A".to_owned(), "/x/y".to_owned()),
                ("B".to_owned(), "/with space".to_owned()),
                ("C".to_owned(), "/q".to_owned()),
            ]
        );
    }
}
