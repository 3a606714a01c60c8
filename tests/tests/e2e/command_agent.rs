//! `command` agents: fake CLI agents (shell scripts in `fixtures/agents`) run
//! in a sandbox; their edits become proposals in every file they touched, their
//! failures, hangs and cancels end the run cleanly, and a workspace's own
//! command agent runs only once the workspace is trusted.

use crate::support::*;
use director_e2e::mock_openai::MockOpenAi;
use director_e2e::{LspClient, file_uri, range};
use serde_json::{Value, json};
use std::time::Duration;

const AGENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/agents");
const OTHER_RS: &str = "pub fn twice(x: i32) -> i32 {\n    x + x\n}\n";

/// A workspace whose `director.toml` defines agent `mock` as the command line
/// `command`, served to a client initialized with `options`.
async fn command_fixture(command: &[&str], extra: &str, options: Value) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    write_files(
        dir.path(),
        &[
            ("src/lib.rs", ADD_RS),
            ("src/other.rs", OTHER_RS),
            ("src/obsolete.rs", "pub fn obsolete() {}\n"),
        ],
    );
    let command: Vec<String> = command.iter().map(|part| format!("{part:?}")).collect();
    let config = format!(
        "[agents.{AGENT}]\nkind = \"command\"\ncommand = [{}]\n{extra}\n",
        command.join(", ")
    );
    std::fs::write(dir.path().join("director.toml"), config).expect("config");
    let client = LspClient::start(dir.path()).await;
    client
        .initialize(&file_uri(dir.path()), false, options)
        .await;
    let mock = MockOpenAi::start().await.expect("mock server");
    Fixture { dir, mock, client }
}

/// The editor's signal that the workspace is trusted.
fn trusted() -> Value {
    json!({ "trusted": true })
}

fn script(name: &str) -> String {
    format!("{AGENTS}/{name}")
}

/// Whether process `pid` still runs (a zombie waiting to be reaped does not).
fn is_running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
        .is_ok_and(|stat| !stat.contains(") Z "))
}

pub async fn wait_until_gone(pid: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while is_running(pid) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "process {pid} outlived its run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A name no other test's processes carry.
pub fn unique_marker() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!(
        "director-marker-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// The pids, as this machine sees them, of the running processes whose
/// command line holds `marker`: an agent confined in its own PID namespace
/// cannot tell them.
fn marked_processes(marker: &str) -> Vec<String> {
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    processes
        .flatten()
        .filter_map(|process| {
            let pid = process.file_name().to_str()?.to_owned();
            let command_line = std::fs::read(process.path().join("cmdline")).ok()?;
            let marked = String::from_utf8_lossy(&command_line).contains(marker);
            (marked && is_running(&pid)).then_some(pid)
        })
        .collect()
}

/// Waits until `count` processes carrying `marker` run; returns their pids.
pub async fn wait_for_marked(marker: &str, count: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let pids = marked_processes(marker);
        if pids.len() >= count {
            return pids;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{count} processes marked {marker} never ran (found {pids:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_cli_agent_s_edits_become_proposals_in_every_file_it_touched() {
    let edit = script("edit_files.sh");
    let fixture = command_fixture(&["sh", &edit, "{prompt}"], "timeout = 10", trusted()).await;
    let lib = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&lib, range(1, 4, 1, 4), "Fix the bug")
        .await;

    let in_lib = fixture.wait_proposals(&lib, 1).await;
    assert!(
        in_lib[0]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("mock (run {run}): replace 1 line with 1")),
        "{in_lib:?}"
    );
    // The other files are not open: their proposals are published all the same.
    let other = fixture.uri("src/other.rs");
    let in_other = fixture.wait_proposals(&other, 1).await;
    let created = fixture.uri("src/created.rs");
    let in_created = fixture.wait_proposals(&created, 1).await;
    let obsolete = fixture.uri("src/obsolete.rs");
    let in_obsolete = fixture.wait_proposals(&obsolete, 1).await;
    let record = fixture.wait_run_state(run, "proposed").await;
    assert_eq!(record["agent"], AGENT);
    // The workspace itself is untouched until the user accepts.
    assert_eq!(
        std::fs::read_to_string(fixture.path("src/other.rs")).unwrap(),
        OTHER_RS
    );
    assert!(!fixture.path("src/created.rs").exists());
    assert!(fixture.path("src/obsolete.rs").exists());
    // The agent's output (which echoes its prompt) streamed as progress.
    let progress = fixture.client.notifications("$/progress");
    assert!(
        progress.iter().any(|p| p["value"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("do not ask for confirmation"))),
        "{progress:#?}"
    );

    // Accepting the open file's hunk edits its buffer.
    let lib_hunk = in_lib[0]["data"]["hunk"].as_u64().unwrap();
    fixture
        .execute("director.accept", json!({ "hunk": lib_hunk }))
        .await
        .unwrap_or_else(|error| panic!("accept failed: {error}"));
    assert_eq!(fixture.client.text(&lib), ADD_FIXED);

    // Accepting the unopened file's hunk sends an edit without a version.
    let other_hunk = in_other[0]["data"]["hunk"].as_u64().unwrap();
    // The test client only edits open buffers, so it refuses: what matters
    // here is the edit the server asked for.
    let _ = fixture
        .execute("director.accept", json!({ "hunk": other_hunk }))
        .await;
    let requests = fixture.client.server_requests("workspace/applyEdit");
    let last = &requests.last().expect("an applyEdit request").params;
    let change = &last["edit"]["documentChanges"][0];
    assert_eq!(change["textDocument"]["uri"], other);
    assert_eq!(change["textDocument"]["version"], Value::Null);
    // `x + x` becomes `x * 2`: the minimal edit replaces `+ x` with `* 2`.
    assert_eq!(change["edits"][0]["newText"], "* 2");
    assert_eq!(change["edits"][0]["range"], range(1, 6, 1, 9));

    // A created file needs an editor that can create files; this one cannot.
    let created_hunk = in_created[0]["data"]["hunk"].as_u64().unwrap();
    let refused = fixture
        .execute("director.accept", json!({ "hunk": created_hunk }))
        .await
        .expect_err("the client cannot create files");
    assert!(
        refused.message.contains("cannot create files"),
        "{}",
        refused.message
    );

    // So is a deleted file, with an editor that can delete files.
    let obsolete_hunk = in_obsolete[0]["data"]["hunk"].as_u64().unwrap();
    let refused = fixture
        .execute("director.accept", json!({ "hunk": obsolete_hunk }))
        .await
        .expect_err("the client cannot delete files");
    assert!(
        refused.message.contains("cannot delete files"),
        "{}",
        refused.message
    );
}

#[tokio::test]
async fn refining_a_cli_agent_s_run_tells_it_the_earlier_prompt_and_the_feedback() {
    let record = script("record_prompt.sh");
    let fixture = command_fixture(&["sh", &record, "{prompt}"], "timeout = 10", trusted()).await;
    write_files(fixture.dir.path(), &[("notes.txt", "none\n")]);
    let lib = fixture.open("src/lib.rs", "rust").await;
    let notes = fixture.open("notes.txt", "plaintext").await;
    let first = fixture
        .delegate(&lib, range(1, 4, 1, 4), "Fix the bug")
        .await;
    fixture.wait_run_state(first, "proposed").await;

    let refined = fixture.refine(first, "Shorter please").await;
    fixture.wait_run_state(refined, "proposed").await;
    fixture
        .execute("director.acceptAll", json!({ "run": refined }))
        .await
        .unwrap_or_else(|error| panic!("acceptAll failed: {error}"));
    let prompt = fixture.client.text(&notes);
    assert!(prompt.starts_with("Fix the bug"), "{prompt}");
    assert!(
        prompt.contains("earlier attempt needs more work: Shorter please"),
        "{prompt}"
    );
    assert!(prompt.contains("src/lib.rs, lines 1 to 3"), "{prompt}");
    // The refined run replaced the first one's proposals.
    fixture.wait_run_state(first, "settled").await;
}

#[tokio::test]
async fn a_crashing_cli_agent_fails_the_run_with_the_tail_of_its_output() {
    let crash = script("crash.sh");
    let fixture = command_fixture(&["sh", &crash], "timeout = 10", trusted()).await;
    let lib = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&lib, range(1, 4, 1, 4), "Fix the bug")
        .await;
    let record = fixture.wait_run_state(run, "failed").await;
    let reason = record["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("agent `mock` exited with status 3"),
        "{reason}"
    );
    assert!(reason.contains("reading the code"), "{reason}");
    // stdout and stderr interleave in whatever order they arrive.
    assert!(
        reason.contains("error: the model is overloaded"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_hanging_cli_agent_times_out_and_everything_it_started_is_killed() {
    let marker = unique_marker();
    let hang = script("hang.sh");
    let fixture = command_fixture(&["sh", &hang, &marker], "timeout = 3", trusted()).await;
    let lib = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&lib, range(1, 4, 1, 4), "Fix the bug")
        .await;
    // Its child and the one that left its session (setsid).
    let children = wait_for_marked(&marker, 2).await;
    let record = fixture.wait_run_state(run, "failed").await;
    let reason = record["reason"].as_str().unwrap();
    assert!(reason.contains("did not finish within 3 s"), "{reason}");
    assert!(reason.ends_with("thinking"), "{reason}");
    for pid in children {
        wait_until_gone(&pid).await;
    }
}

#[tokio::test]
async fn cancelling_a_cli_agent_mid_run_kills_everything_it_started() {
    let marker = unique_marker();
    let hang = script("hang.sh");
    let fixture = command_fixture(&["sh", &hang, &marker], "timeout = 60", trusted()).await;
    let lib = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&lib, range(1, 4, 1, 4), "Fix the bug")
        .await;
    let children = wait_for_marked(&marker, 2).await;
    let cancelled = fixture
        .execute("director.cancel", json!({ "run": run }))
        .await
        .unwrap();
    assert_eq!(cancelled["cancelled"], true);
    fixture.wait_run_state(run, "cancelled").await;
    for pid in children {
        wait_until_gone(&pid).await;
    }
}

#[tokio::test]
async fn a_server_that_exits_leaves_no_agent_running() {
    let marker = unique_marker();
    let hang = script("hang.sh");
    let mut fixture = command_fixture(&["sh", &hang, &marker], "timeout = 60", trusted()).await;
    let lib = fixture.open("src/lib.rs", "rust").await;
    fixture.delegate(&lib, range(1, 4, 1, 4), "Hang").await;
    let children = wait_for_marked(&marker, 2).await;
    fixture.client.shutdown_and_exit().await;
    for pid in children {
        wait_until_gone(&pid).await;
    }
}

#[tokio::test]
async fn a_workspace_command_agent_waits_for_trust() {
    let edit = script("edit_files.sh");
    let fixture = command_fixture(&["sh", &edit, "{prompt}"], "", Value::Null).await;
    let lib = fixture.open("src/lib.rs", "rust").await;

    let actions = fixture
        .code_actions(&lib, range(1, 4, 1, 4), Vec::new())
        .await;
    let title = "Delegate to mock: trust this workspace first";
    let action = actions
        .iter()
        .find(|action| action["title"] == title)
        .unwrap_or_else(|| panic!("{:#?}", titles(&actions)));
    let explanation = action["disabled"]["reason"].as_str().unwrap();
    assert!(explanation.contains("trusted_roots"), "{explanation}");
    assert!(explanation.contains("\"trusted\": true"), "{explanation}");
    assert!(
        !titles(&actions)
            .iter()
            .any(|title| title.starts_with("Delegate to mock: Implement")),
        "{:#?}",
        titles(&actions)
    );

    let refused = fixture
        .execute(
            "director.delegate",
            json!({ "uri": lib, "range": range(1, 4, 1, 4), "agent": AGENT, "instruction": "Fix" }),
        )
        .await
        .expect_err("an untrusted workspace agent is refused");
    assert!(
        refused.message.contains("runs a program on this machine"),
        "{}",
        refused.message
    );
    assert!(
        refused.message.contains("trusted_roots"),
        "{}",
        refused.message
    );
    // Nothing ran: no sandbox edit, no run.
    let runs = fixture
        .client
        .request("director/runs", json!({}))
        .await
        .unwrap();
    assert_eq!(runs["runs"], json!([]), "{runs}");
}

#[tokio::test]
async fn a_killed_server_leaves_no_agent_running_and_the_next_removes_its_sandbox() {
    let marker = unique_marker();
    let hang = script("hang.sh");
    let mut fixture = command_fixture(&["sh", &hang, &marker], "timeout = 60", trusted()).await;
    let lib = fixture.open("src/lib.rs", "rust").await;
    fixture.delegate(&lib, range(1, 4, 1, 4), "Hang").await;
    let children = wait_for_marked(&marker, 2).await;
    let sandbox =
        std::fs::read_link(format!("/proc/{}/cwd", children[0])).expect("the agent's folder");
    assert!(
        sandbox.to_string_lossy().contains("director-sandbox-"),
        "{}",
        sandbox.display()
    );
    fixture.client.kill().await;

    // Everything the agent started dies with the server that started it,
    // even what left the agent's session: its PID namespace goes with it.
    for pid in children {
        wait_until_gone(&pid).await;
    }
    // The next server removes the sandbox the killed one left.
    fixture.client = LspClient::start(fixture.dir.path()).await;
    fixture
        .client
        .initialize(&file_uri(fixture.dir.path()), false, trusted())
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while sandbox.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stale sandbox {} stayed",
            sandbox.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
