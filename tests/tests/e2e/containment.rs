//! Containment: hostile agents (a CLI and an ACP agent) and a hostile
//! workspace try every way out of a run's sandbox, and nothing outside it
//! changes. Programs run confined by bubblewrap: these tests need it (and
//! user namespaces) and fail, never skip, where it is missing.
//!
//! Workspaces and "outside" folders live in the target folder, not in /tmp:
//! a confined program has a private /tmp, which would hide them.

use crate::command_agent::{unique_marker, wait_for_marked};
use crate::support::*;
use director_e2e::mock_openai::{MockOpenAi, Reply};
use director_e2e::{LspClient, file_uri, range};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const AGENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/agents");
const MOCK_ACP_AGENT: &str = env!("CARGO_BIN_EXE_mock_acp_agent");

/// Fails the test, loudly, where bubblewrap cannot confine a program.
fn require_bubblewrap() {
    let works = Command::new("bwrap")
        .args(["--unshare-user", "--unshare-pid", "--ro-bind", "/", "/"])
        .args(["--proc", "/proc", "--dev", "/dev", "true"])
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        works,
        "bubblewrap (`bwrap`) is missing or cannot make user and PID namespaces here: \
         apt-get install bubblewrap (these tests never skip)"
    );
}

/// A folder in the target folder, removed when dropped.
fn folder() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temporary directory")
}

fn git(root: &Path, arguments: &[&str]) {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(arguments)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {arguments:?}: {output:?}");
}

/// Every file below `root` with its content, for before/after comparisons.
fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)
            .expect("a readable folder")
            .flatten()
        {
            let path = entry.path();
            let kind = entry.file_type().expect("a type");
            if kind.is_dir() {
                folders.push(path);
            } else if kind.is_file() {
                files.push((path.clone(), std::fs::read(&path).expect("readable")));
            } else {
                files.push((path, Vec::new()));
            }
        }
    }
    files.sort();
    files
}

/// A workspace holding `src/lib.rs`, and a folder outside it; the
/// workspace's canonical path.
fn workspace_and_outside() -> (tempfile::TempDir, tempfile::TempDir, PathBuf) {
    require_bubblewrap();
    let dir = folder();
    let root = dir.path().canonicalize().expect("a path");
    write_files(&root, &[("src/lib.rs", ADD_RS)]);
    (dir, folder(), root)
}

/// Serves the workspace in `dir` with `config` as its `director.toml` (and
/// `env` for the server), in a trusted editor, and delegates to the agent on
/// `src/lib.rs`; returns the fixture, the file's URI and the run.
async fn delegate(
    dir: tempfile::TempDir,
    config: &str,
    env: &[(&str, &str)],
) -> (Fixture, String, u64) {
    std::fs::write(dir.path().join("director.toml"), config).expect("config");
    let client = LspClient::start_with_env(dir.path(), env).await;
    client
        .initialize(&file_uri(dir.path()), false, json!({ "trusted": true }))
        .await;
    let mock = MockOpenAi::start().await.expect("mock server");
    let fixture = Fixture { dir, mock, client };
    let lib = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&lib, range(1, 4, 1, 4), "Fix the bug")
        .await;
    (fixture, lib, run)
}

#[tokio::test]
async fn a_hostile_cli_agent_changes_nothing_outside_its_sandbox() {
    let (dir, outside, root) = workspace_and_outside();
    std::fs::create_dir_all(outside.path().join("linked")).expect("a folder");
    std::fs::create_dir_all(outside.path().join("tracked")).expect("a folder");
    // A hostile repository: a committed link out of it, and an untracked one.
    std::os::unix::fs::symlink(outside.path().join("tracked"), root.join("tracked-link"))
        .expect("a link");
    git(&root, &["init", "-q"]);
    git(&root, &["add", "."]);
    git(&root, &["commit", "-qm", "seed"]);
    std::os::unix::fs::symlink(outside.path().join("linked"), root.join("linked")).expect("a link");
    let git_before = snapshot(&root.join(".git"));
    let outside_before = snapshot(outside.path());

    let marker = unique_marker();
    let config = format!(
        "[agents.{AGENT}]\nkind = \"command\"\ncommand = [\"sh\", \"{AGENTS}/escape.sh\", {:?}, {:?}, {marker:?}]\ntimeout = 30\n",
        outside.path().display().to_string(),
        root.display().to_string(),
    );
    let (fixture, lib, run) = delegate(dir, &config, &[]).await;
    fixture.wait_proposals(&lib, 1).await;
    let record = fixture.wait_run_state(run, "proposed").await;

    // Its legitimate edit is proposed; the file it made through the
    // workspace's link out is not, and the user is told why.
    let reason = record["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(
            "changes that were not proposed: the path linked/new.txt leads out of the workspace"
        ),
        "{reason}"
    );
    let detail = fixture
        .client
        .request("director/run", json!({ "run": run }))
        .await
        .expect("the run");
    let output = detail.to_string();
    assert!(output.contains("Read-only file system"), "{output}");
    // Nothing outside changed: the folder outside, the real workspace file,
    // the repository's config and hooks, /tmp.
    assert_eq!(snapshot(outside.path()), outside_before);
    assert_eq!(
        std::fs::read_to_string(root.join("src/lib.rs")).expect("a file"),
        ADD_RS
    );
    assert_eq!(snapshot(&root.join(".git")), git_before);
    assert!(!Path::new("/tmp/climbed.txt").exists());
    // What it left running when it ended, in a session of its own, is gone:
    // unconfined, it would sleep on for minutes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !wait_for_marked(&marker, 0).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the process the agent left behind outlived its run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_hostile_acp_agent_changes_nothing_outside_its_sandbox() {
    let (dir, outside, root) = workspace_and_outside();
    let log_folder = root.join("log");
    std::fs::create_dir_all(&log_folder).expect("a folder");
    let log = log_folder.join("agent-log.jsonl");
    let outside_before = snapshot(outside.path());
    let config = format!(
        "[agents.{AGENT}]\nkind = \"acp\"\ncommand = [{MOCK_ACP_AGENT:?}, \"escape\", {:?}, {:?}]\ntimeout = 20\nwritable = [{:?}]\n",
        log.display().to_string(),
        outside.path().display().to_string(),
        log_folder.display().to_string(),
    );
    let (fixture, _, run) = delegate(dir, &config, &[]).await;
    let record = fixture.wait_run_state(run, "settled").await;
    assert!(
        record["reason"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty()),
        "{record}"
    );

    let entries: Vec<Value> = std::fs::read_to_string(&log)
        .expect("the agent's log")
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON"))
        .collect();
    let made_link = entries.iter().find(|entry| entry["event"] == "link");
    assert_eq!(made_link.map(|entry| &entry["made"]), Some(&json!(true)));
    let escapes: Vec<&Value> = entries
        .iter()
        .filter(|entry| entry["event"] == "escape")
        .collect();
    assert_eq!(escapes.len(), 6, "{entries:#?}");
    for escape in &escapes {
        let answer = &escape["answer"];
        if escape["what"] == "direct" {
            assert!(
                answer
                    .as_str()
                    .is_some_and(|error| error.contains("Read-only file system")),
                "{escape}"
            );
            continue;
        }
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("outside the workspace copy this agent works in"),
            "every Director write out of the sandbox is refused with why: {escape}"
        );
    }
    // The edit named only in the permission's raw input is inside: allowed
    // without troubling the user.
    let permission = entries
        .iter()
        .find(|entry| entry["event"] == "permission")
        .expect("a permission answer");
    assert_eq!(permission["outcome"]["optionId"], "allow", "{permission}");
    assert!(
        fixture
            .client
            .server_requests("window/showMessageRequest")
            .is_empty(),
        "the user was not asked"
    );
    assert_eq!(snapshot(outside.path()), outside_before);
}

#[tokio::test]
async fn accepting_a_change_that_a_link_now_leads_outside_is_refused() {
    let (dir, outside, root) = workspace_and_outside();
    let config = format!(
        "[agents.{AGENT}]\nkind = \"command\"\ncommand = [\"sh\", \"{AGENTS}/create_in_gen.sh\"]\ntimeout = 30\n"
    );
    let (fixture, _, run) = delegate(dir, &config, &[]).await;
    let created = fixture.uri("gen/new.txt");
    fixture.wait_proposals(&created, 1).await;
    fixture.wait_run_state(run, "proposed").await;

    // The workspace changes under the proposal: `gen` is now a link out.
    std::os::unix::fs::symlink(outside.path(), root.join("gen")).expect("a link");
    let refused = fixture
        .execute("director.acceptAll", json!({ "run": run }))
        .await
        .expect_err("the accept is refused");
    assert!(
        refused.message.contains("this change is refused: the path")
            && refused.message.contains("leads out of the workspace"),
        "{}",
        refused.message
    );
    assert!(!outside.path().join("new.txt").exists());
}

#[tokio::test]
async fn task_run_blocks_into_git_and_director_s_folder_are_never_proposed() {
    let fixture = Fixture::new(
        &[("src/lib.rs", ADD_RS), ("tasks.md", "- [ ] 1. Fix\n")],
        false,
    )
    .await;
    let root = fixture.dir.path().to_owned();
    git(&root, &["init", "-q"]);
    let git_config = std::fs::read_to_string(root.join(".git/config")).expect("a config");
    let answer = "\
.git/config
```
<<<<<<< SEARCH
=======
[core]
\thooksPath = /tmp/evil
>>>>>>> REPLACE
```

.director/journal.jsonl
```
<<<<<<< SEARCH
=======
{}
>>>>>>> REPLACE
```

src/lib.rs
```rust
<<<<<<< SEARCH
    a - b
=======
    a + b
>>>>>>> REPLACE
```
";
    fixture.mock.push(Reply::stream(&[answer], Some((10, 10))));
    let tasks = fixture.open("tasks.md", "markdown").await;
    fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .execute(
            "director.delegateTask",
            json!({
                "uri": tasks, "range": range(0, 0, 1, 0), "agent": AGENT,
                "instruction": "Fix", "files": ["src/lib.rs"],
            }),
        )
        .await
        .expect("a task run")["run"]
        .as_u64()
        .expect("a run id");
    let record = fixture.wait_run_state(run, "proposed").await;
    let reason = record["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("block 1 (.git/config): the path .git/config is inside `.git`, which agents may not change"),
        "{reason}"
    );
    assert!(
        reason.contains("block 2 (.director/journal.jsonl): the path .director/journal.jsonl is inside `.director`"),
        "{reason}"
    );
    fixture.wait_proposals(&fixture.uri("src/lib.rs"), 1).await;
    for refused in [".git/config", ".director/journal.jsonl"] {
        let diagnostics = fixture
            .client
            .notifications("textDocument/publishDiagnostics");
        assert!(
            !diagnostics
                .iter()
                .any(|params| params["uri"] == fixture.uri(refused)),
            "{refused} got a proposal"
        );
    }
    fixture
        .execute("director.acceptAll", json!({ "run": run }))
        .await
        .expect("accepting the legitimate edit");
    assert_eq!(
        std::fs::read_to_string(root.join(".git/config")).expect("a config"),
        git_config
    );
}

#[tokio::test]
async fn the_files_a_preset_s_cli_writes_for_itself_are_never_proposed() {
    let (dir, bin, _) = workspace_and_outside();
    // A stand-in for Claude Code, found on PATH by the `claude` preset: it
    // records an "Always allow" answer in the project, as the real one does.
    let claude = bin.path().join("claude");
    std::fs::write(
        &claude,
        format!(
            "#!/bin/sh\nmkdir -p .claude\necho '{{\"permissions\":{{\"allow\":[\"Write\"]}}}}' > \
             .claude/settings.local.json\nprintf '{}' > src/lib.rs\n",
            ADD_FIXED.replace('\n', "\\n")
        ),
    )
    .expect("a script");
    std::fs::set_permissions(&claude, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("executable");
    let config =
        format!("[agents.{AGENT}]\nkind = \"command\"\npreset = \"claude\"\ntimeout = 30\n");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (fixture, lib, run) = delegate(dir, &config, &[("PATH", &path)]).await;
    fixture.wait_proposals(&lib, 1).await;
    fixture.wait_run_state(run, "proposed").await;
    let own = fixture.uri(".claude/settings.local.json");
    assert!(
        !fixture
            .client
            .notifications("textDocument/publishDiagnostics")
            .iter()
            .any(|params| params["uri"] == own),
        "Claude Code's own settings were proposed"
    );
    let runs = fixture
        .client
        .request("director/runs", json!({}))
        .await
        .expect("runs");
    assert!(!runs.to_string().contains("settings.local.json"), "{runs}");
}

#[tokio::test]
async fn agent_actions_on_spec_findings_are_disabled_for_an_agent_that_needs_trust() {
    const SPEC: &str = "---\ndirector-spec: 1\nspec: auth\n---\n# Auth\n## Purpose\nP.\n## Requirements\n### Requirement: Idle timeout\n**ID**: AUTH-003\nTHE Session service SHALL expire idle sessions after 30 minutes if possible.\n#### Scenario: Idle\n- WHEN 30 minutes pass\n- THEN the next request gets 401\n";
    // The workspace's agent would send a key to a loopback port, which is not
    // its kind's endpoint: it needs trust, and the workspace has none.
    let fixture = Fixture::with_config(
        &[("specs/auth.md", SPEC)],
        false,
        "api_key_env = \"DIRECTOR_TEST_KEY\"",
    )
    .await;
    let uri = fixture.open("specs/auth.md", "markdown").await;
    let published = fixture
        .client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| {
                params["uri"] == uri
                    && params["diagnostics"]
                        .as_array()
                        .is_some_and(|all| all.iter().any(|d| d["code"] == "AMB003"))
            },
            director_e2e::secs(15),
        )
        .await;
    let finding = published["diagnostics"]
        .as_array()
        .and_then(|all| all.iter().find(|d| d["code"] == "AMB003"))
        .expect("AMB003")
        .clone();
    let actions = fixture
        .code_actions(&uri, finding["range"].clone(), vec![finding])
        .await;
    let fix = actions
        .iter()
        .find(|action| action["title"] == "Fix AMB003 with mock")
        .unwrap_or_else(|| panic!("{:?}", titles(&actions)));
    let reason = fix["disabled"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("would send your API key"), "{reason}");
    assert!(reason.contains("trusted_roots"), "{reason}");
}
