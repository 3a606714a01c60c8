//! Finds the real `director` binary for e2e tests, building it once per test
//! process so the tests never run a stale server.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;

/// The `director` executable: `$DIRECTOR_BIN` if set, otherwise the one
/// `cargo build -p director --bin director` produces (built on first call).
///
/// Panics with cargo's output if the build fails.
pub fn director_binary() -> PathBuf {
    static DIRECTOR_BINARY: OnceLock<PathBuf> = OnceLock::new();
    DIRECTOR_BINARY
        .get_or_init(|| match std::env::var_os("DIRECTOR_BIN") {
            Some(path) => PathBuf::from(path),
            None => build_director(),
        })
        .clone()
}

/// One line of `cargo build --message-format=json`; only artifacts matter.
#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    target: Option<CargoTarget>,
    executable: Option<PathBuf>,
}

#[derive(Deserialize)]
struct CargoTarget {
    name: String,
}

fn build_director() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut command = Command::new(&cargo);
    // Cargo gives a test process its package's build variables; build
    // scripts that watch them (ring watches CARGO_MANIFEST_DIR) would see a
    // change and rebuild half the dependency tree on every test run.
    for (variable, _) in std::env::vars_os() {
        if is_package_build_variable(&variable.to_string_lossy()) {
            command.env_remove(variable);
        }
    }
    let output = command
        .current_dir(&workspace_root)
        .args([
            "build",
            "-p",
            "director",
            "--bin",
            "director",
            "--message-format=json-render-diagnostics",
        ])
        .output()
        .unwrap_or_else(|error| panic!("cannot run {cargo:?}: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "building director failed ({}):\n{stderr}",
        output.status
    );
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<CargoMessage>(line).ok())
        .filter(|message| message.reason == "compiler-artifact")
        .filter(|message| {
            message
                .target
                .as_ref()
                .is_some_and(|target| target.name == "director")
        })
        .find_map(|message| message.executable)
        .unwrap_or_else(|| panic!("cargo built no director executable:\n{stderr}"))
}

fn is_package_build_variable(name: &str) -> bool {
    const PACKAGE_VARIABLES: [&str; 7] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
    ];
    name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_BIN_")
        || PACKAGE_VARIABLES.contains(&name)
}
