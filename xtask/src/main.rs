//! `cargo xtask`: the project's own tasks, in the manner of rust-analyzer's xtask.
//!
//! - `cargo xtask test [ARGS…]` installs everything the tests need (system packages
//!   with apt, editors and agent CLIs into a cache folder outside the repository),
//!   checks the tree-sitter grammar, then runs `cargo test --workspace --locked ARGS…`
//!   with the variables that point the tests at those tools. This is the one command
//!   that runs every test on a fresh Debian machine; `.ci/run` calls it.
//! - `cargo xtask setup` does the installing only and prints the variables as
//!   `export NAME=value` lines, for `eval "$(cargo xtask setup)"` before a plain
//!   `cargo test`.
//!
//! The cache folder is `$DIRECTOR_TOOLS`, by default
//! `${XDG_CACHE_HOME:-$HOME/.cache}/director-tools`; an empty one
//! (`DIRECTOR_TOOLS=$(mktemp -d) cargo xtask test`) proves the set-up works from nothing.

mod setup;

use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test [ARGS…]  install what the tests need, check the grammar, then run
                `cargo test --workspace --locked ARGS…` (every test)
  setup         install what the tests need and print `export NAME=value` lines
                (use: eval \"$(cargo xtask setup)\"; then `cargo test` finds the tools)
  help          this text

environment:
  DIRECTOR_TOOLS  the cache folder for editors and agent CLIs
                  (default: ${XDG_CACHE_HOME:-$HOME/.cache}/director-tools)";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let result = match task.as_deref() {
        Some("test") => test(args.collect()),
        Some("setup") => setup::run().map(|exports| {
            for (name, value) in exports {
                // stdout carries only what `eval` should read.
                #[allow(clippy::print_stdout)]
                {
                    println!("export {name}={}", shell_quote(&value));
                }
            }
        }),
        Some("help" | "--help" | "-h") => {
            eprintln!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{USAGE}")),
        None => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Set-up, the grammar check, then the whole test suite with the tools' variables.
fn test(cargo_test_args: Vec<String>) -> Result<(), String> {
    let exports = setup::run()?;
    setup::check_grammar()?;
    setup::step("cargo test --workspace --locked --no-fail-fast");
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command
        .args(["test", "--workspace", "--locked", "--no-fail-fast"])
        .args(&cargo_test_args)
        .current_dir(setup::repository_root());
    for (name, value) in &exports {
        command.env(name, value);
    }
    setup::run_to_end(&mut command)
}

/// `value` quoted for a POSIX shell's `eval`.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}
