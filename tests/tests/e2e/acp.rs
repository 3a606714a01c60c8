//! `acp` agents: the mock ACP agent (`mock_acp_agent`, speaking the real
//! protocol over stdio) run in a sandbox. Its file reads see the editor's
//! unsaved buffers, its edits become proposals, its plan and messages stream
//! as progress, a permission beyond the sandbox is the user's to give, and
//! cancels, crashes and untrusted workspaces end or refuse the run cleanly.

use crate::support::*;
use director_e2e::mock_openai::MockOpenAi;
use director_e2e::{LspClient, file_uri, range};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const MOCK_ACP_AGENT: &str = env!("CARGO_BIN_EXE_mock_acp_agent");
const UNSAVED_LINE: &str = "// unsaved note from the editor\n";

/// A workspace whose `director.toml` defines agent `mock` as the mock ACP
/// agent playing `scenario`, served to a client initialized with `options`;
/// returns the fixture and the agent's log file.
async fn acp_fixture(scenario: &str, options: Value) -> (Fixture, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    write_files(dir.path(), &[("src/lib.rs", ADD_RS)]);
    // The agent may write its log there only because its config says so:
    // the rest of the real workspace is read-only to it.
    let log_folder = dir.path().join("log");
    std::fs::create_dir_all(&log_folder).expect("a folder");
    let log = log_folder.join("agent-log.jsonl");
    let config = format!(
        "[agents.{AGENT}]\nkind = \"acp\"\ncommand = [{MOCK_ACP_AGENT:?}, {scenario:?}, {:?}]\ntimeout = 20\nwritable = [{:?}]\n",
        log.display().to_string(),
        log_folder.display().to_string()
    );
    std::fs::write(dir.path().join("director.toml"), config).expect("config");
    let client = LspClient::start(dir.path()).await;
    client
        .initialize(&file_uri(dir.path()), false, options)
        .await;
    let mock = MockOpenAi::start().await.expect("mock server");
    (Fixture { dir, mock, client }, log)
}

fn trusted() -> Value {
    json!({ "trusted": true })
}

/// What the agent recorded so far, one entry per step.
fn agent_log(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON log line"))
        .collect()
}

fn logged(log: &Path, event: &str) -> Vec<Value> {
    agent_log(log)
        .into_iter()
        .filter(|entry| entry["event"] == event)
        .collect()
}

async fn wait_logged(log: &Path, event: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(entry) = logged(log, event).into_iter().next() {
            return entry;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the agent never logged {event}: {:#?}",
            agent_log(log)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens `src/lib.rs` and adds a line to its buffer without saving it.
async fn open_with_unsaved_line(fixture: &Fixture) -> String {
    let lib = fixture.open("src/lib.rs", "rust").await;
    fixture
        .client
        .change(&lib, range(0, 0, 0, 0), UNSAVED_LINE)
        .await;
    lib
}

fn progress_messages(fixture: &Fixture) -> Vec<String> {
    fixture
        .client
        .notifications("$/progress")
        .iter()
        .filter_map(|progress| progress["value"]["message"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn an_acp_agent_s_edits_become_proposals_and_its_reads_see_the_unsaved_buffer() {
    let (fixture, log) = acp_fixture("edit", trusted()).await;
    let lib = open_with_unsaved_line(&fixture).await;
    let run = fixture
        .delegate(&lib, range(2, 4, 2, 4), "Fix the bug")
        .await;

    let in_lib = fixture.wait_proposals(&lib, 1).await;
    assert!(
        in_lib[0]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("mock (run {run}): replace 1 line with 1")),
        "{in_lib:?}"
    );
    // The file the agent wrote straight into its folder is proposed too.
    let notes = fixture.uri("src/notes.txt");
    fixture.wait_proposals(&notes, 1).await;
    fixture.wait_run_state(run, "proposed").await;

    // The agent read the buffer as the user sees it, not the saved file.
    let read = wait_logged(&log, "read").await;
    assert_eq!(read["content"], format!("{UNSAVED_LINE}{ADD_RS}"));
    // Its session was opened in the sandbox, with the capabilities Director serves.
    let initialize = wait_logged(&log, "initialize").await;
    assert_eq!(initialize["params"]["protocolVersion"], 1);
    assert_eq!(
        initialize["params"]["clientCapabilities"],
        json!({ "fs": { "readTextFile": true, "writeTextFile": true }, "terminal": false })
    );
    let session = wait_logged(&log, "session/new").await;
    let cwd = session["params"]["cwd"].as_str().unwrap();
    assert!(cwd.contains("director-sandbox-"), "{cwd}");
    assert_eq!(session["params"]["mcpServers"], json!([]));
    let prompt = wait_logged(&log, "session/prompt").await;
    assert!(
        prompt["params"]["prompt"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Fix the bug"),
        "{prompt}"
    );
    // Its edit inside the sandbox was allowed without asking the user.
    let permission = wait_logged(&log, "permission").await;
    assert_eq!(
        permission["outcome"],
        json!({ "outcome": "selected", "optionId": "allow" })
    );
    assert_eq!(
        wait_logged(&log, "write").await["answer"]["result"],
        Value::Null
    );
    assert!(
        fixture
            .client
            .server_requests("window/showMessageRequest")
            .is_empty()
    );
    // The workspace itself is untouched until the user accepts.
    assert_eq!(
        std::fs::read_to_string(fixture.path("src/lib.rs")).unwrap(),
        ADD_RS
    );

    // Its message, plan and tool calls streamed as progress.
    let messages = progress_messages(&fixture);
    let shown = |needle: &str| messages.iter().any(|message| message.contains(needle));
    assert!(shown("plan: [x] Read lib.rs, [ ] Fix add"), "{messages:#?}");
    assert!(shown("Looking at the subtraction"), "{messages:#?}");
    assert!(shown("tool: Edit src/lib.rs (completed)"), "{messages:#?}");
    // And the transcript keeps the message with the plan.
    let detail = fixture
        .client
        .request("director/run", json!({ "run": run }))
        .await
        .unwrap();
    let answer = detail["transcript"]["answer"].as_str().unwrap();
    assert!(
        answer.contains("Looking at the subtraction.\nplan: [x] Read lib.rs, [ ] Fix add\n"),
        "{answer}"
    );
    assert!(answer.ends_with("Fixed add."), "{answer}");

    // Accepting the hunk fixes the buffer, the unsaved line kept.
    let hunk = in_lib[0]["data"]["hunk"].as_u64().unwrap();
    fixture
        .execute("director.accept", json!({ "hunk": hunk }))
        .await
        .unwrap_or_else(|error| panic!("accept failed: {error}"));
    assert_eq!(
        fixture.client.text(&lib),
        format!("{UNSAVED_LINE}{ADD_FIXED}")
    );
}

#[tokio::test]
async fn a_permission_beyond_the_sandbox_is_asked_of_the_user_and_the_answer_reaches_the_agent() {
    let (fixture, log) = acp_fixture("ask_outside", trusted()).await;
    fixture
        .client
        .set_message_request_choice(Some("Always allow"));
    let lib = open_with_unsaved_line(&fixture).await;
    let run = fixture
        .delegate(&lib, range(2, 4, 2, 4), "Fix the bug")
        .await;
    fixture.wait_run_state(run, "proposed").await;

    let asked = fixture.client.server_requests("window/showMessageRequest");
    assert_eq!(asked.len(), 1, "only the outside edit is asked: {asked:#?}");
    let message = asked[0].params["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "Director run {run}: Agent `mock` asks permission for: Write outside-notes.txt"
        )),
        "{message}"
    );
    assert!(message.contains("outside-notes.txt"), "{message}");
    let titles: Vec<&str> = asked[0].params["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|action| action["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Allow once", "Always allow", "Reject"]);

    let permissions = logged(&log, "permission");
    assert_eq!(permissions.len(), 2, "{permissions:#?}");
    assert!(
        permissions[1]["path"]
            .as_str()
            .unwrap()
            .ends_with("outside-notes.txt")
    );
    assert_eq!(
        permissions[1]["outcome"],
        json!({ "outcome": "selected", "optionId": "always" })
    );
}

#[tokio::test]
async fn a_dismissed_permission_question_is_a_rejection() {
    let (fixture, log) = acp_fixture("ask_outside", trusted()).await;
    let lib = open_with_unsaved_line(&fixture).await;
    let run = fixture
        .delegate(&lib, range(2, 4, 2, 4), "Fix the bug")
        .await;
    fixture.wait_run_state(run, "proposed").await;
    let permissions = logged(&log, "permission");
    assert_eq!(
        permissions[1]["outcome"],
        json!({ "outcome": "selected", "optionId": "reject" })
    );
}

#[tokio::test]
async fn cancelling_an_acp_run_tells_the_agent_and_ends_the_run_cancelled() {
    let (fixture, log) = acp_fixture("hang", trusted()).await;
    let lib = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&lib, range(1, 4, 1, 4), "Fix the bug")
        .await;
    wait_logged(&log, "session/prompt").await;
    let cancelled = fixture
        .execute("director.cancel", json!({ "run": run }))
        .await
        .unwrap();
    assert_eq!(cancelled["cancelled"], true);
    fixture.wait_run_state(run, "cancelled").await;
    wait_logged(&log, "session/cancel").await;
    assert_eq!(
        std::fs::read_to_string(fixture.path("src/lib.rs")).unwrap(),
        ADD_RS
    );
}

#[tokio::test]
async fn a_crashing_acp_agent_fails_the_run_with_the_tail_of_its_stderr() {
    let (fixture, _log) = acp_fixture("crash", trusted()).await;
    let lib = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&lib, range(1, 4, 1, 4), "Fix the bug")
        .await;
    let record = fixture.wait_run_state(run, "failed").await;
    let reason = record["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("agent `mock` exited with status 3 before ending its turn"),
        "{reason}"
    );
    assert!(
        reason.ends_with("reading the code\nerror: the model is overloaded"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_workspace_acp_agent_is_refused_until_the_workspace_is_trusted() {
    let (fixture, log) = acp_fixture("edit", Value::Null).await;
    let lib = fixture.open("src/lib.rs", "rust").await;
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
    // The agent never started.
    assert!(!log.exists());
}
