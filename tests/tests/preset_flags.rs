//! Each command and ACP preset whose CLI the test set-up installs
//! (tests/editors/install-agents.sh) is checked against that CLI's own
//! `--help`: the preset's command line, its placeholders dropped and `--help`
//! added, must be accepted, and every flag, subcommand and fixed value in it
//! must appear in the help. A CLI that renames or drops a flag (as codex-cli
//! dropped `--full-auto`) fails this test, not a user's run.
//!
//! A missing CLI fails the test: it never skips.

use director::config::agent_config::{ACP_PRESETS, COMMAND_PRESETS, CommandPreset};
use director_e2e::installed_agents::{ALL, InstalledAgent};

/// The preset's literal words (program excluded), without `{prompt}`/`{file}`.
fn literal_arguments(preset: &CommandPreset) -> Vec<&'static str> {
    preset.argv[1..]
        .iter()
        .copied()
        .filter(|argument| !argument.contains('{'))
        .collect()
}

/// Whether `help` has `word` standing alone (not inside a longer flag or word).
fn mentions(help: &str, word: &str) -> bool {
    help.match_indices(word).any(|(start, _)| {
        let standalone =
            |character: Option<char>| !character.is_some_and(|c| c.is_alphanumeric() || c == '-');
        standalone(help[..start].chars().next_back())
            && standalone(help[start + word.len()..].chars().next())
    })
}

/// Checks `preset` against `cli`, returning what is wrong with it.
fn check(kind: &str, preset: &CommandPreset, cli: &InstalledAgent) -> Vec<String> {
    let arguments = literal_arguments(preset);
    let output = std::process::Command::new(cli.path())
        .args(&arguments)
        .arg("--help")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", cli.program));
    let help = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut problems = Vec::new();
    if !output.status.success() {
        problems.push(format!(
            "{kind} preset `{}`: `{} {} --help` fails ({}): {help}",
            preset.name,
            cli.program,
            arguments.join(" "),
            output.status
        ));
    }
    for argument in arguments {
        if !mentions(&help, argument) {
            problems.push(format!(
                "{kind} preset `{}`: `{argument}` is not in `{} --help`",
                preset.name, cli.program
            ));
        }
    }
    problems
}

#[test]
fn every_installed_cli_accepts_its_presets_flags() {
    let mut checked = Vec::new();
    let mut problems = Vec::new();
    for (kind, presets) in [("command", COMMAND_PRESETS), ("acp", ACP_PRESETS)] {
        for preset in presets {
            let Some(cli) = ALL.iter().find(|cli| cli.program == preset.argv[0]) else {
                continue;
            };
            problems.extend(check(kind, preset, cli));
            checked.push(format!("{kind} {}", preset.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The set-up's CLIs and the presets that launch them: a renamed preset
    // or program must not leave a CLI silently unchecked.
    assert_eq!(
        checked,
        ["command claude", "command codex", "acp opencode"],
        "the presets checked against an installed CLI"
    );
}

#[test]
fn a_dropped_flag_is_caught() {
    // The codex preset as it was before codex-cli 0.147 removed `--full-auto`.
    let old = CommandPreset {
        name: "codex",
        argv: &[
            "codex",
            "exec",
            "--full-auto",
            "--skip-git-repo-check",
            "{prompt}",
        ],
        env: &[],
        writable: &[],
        own_files: &[],
    };
    let codex = ALL
        .iter()
        .find(|cli| cli.program == "codex")
        .expect("codex");
    let problems = check("command", &old, codex);
    assert!(
        problems
            .iter()
            .any(|problem| problem.contains("--full-auto")),
        "{problems:?}"
    );
}
