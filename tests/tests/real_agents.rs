//! Real agents against loopback mocks of their model APIs, end to end through
//! the editor protocol:
//! - Claude Code as a `command` agent (`claude -p`, through Director's
//!   `claude` preset), told by a mock of the Anthropic API to write a file
//!   with its `Write` tool; the write comes back as a proposal.
//! - opencode as an ACP agent (`opencode acp`, the `opencode` ACP preset),
//!   told by a mock of an OpenAI-compatible API to use its `edit` tool: the
//!   edit comes back as a proposal with the turn's usage, is accepted, and a
//!   second run, cancelled while the model stalls, leaves no process behind;
//!   with its endpoint down, its timed-out run quotes opencode's own errors.
//!
//! The CLIs come from `cargo xtask setup` (tests/editors/install-agents.sh:
//! `$DIRECTOR_CLAUDE`, `$DIRECTOR_OPENCODE`). Without them the tests fail:
//! they never skip.

use director_e2e::installed_agents::{CLAUDE, OPENCODE};
use director_e2e::mock_anthropic::{self, MockAnthropic, TOOL_USE_ID};
use director_e2e::mock_openai::{self, MockOpenAi, TOOL_CALL_ID};
use director_e2e::{LspClient, director_binary, file_uri, range, secs};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const ADD_RS: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n";
const ADD_FIXED: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n";

/// A workspace holding `src/lib.rs` (the bug) and a `director.toml`.
fn workspace_with(dir: &Path, config: &str) -> PathBuf {
    let workspace = dir.join("workspace");
    std::fs::create_dir_all(workspace.join("src")).expect("a folder");
    std::fs::write(workspace.join("src/lib.rs"), ADD_RS).expect("a file");
    std::fs::write(workspace.join("director.toml"), config).expect("config");
    workspace
}

/// A trusting editor on `workspace` with `src/lib.rs` open; returns its URI.
async fn open_lib(client: &LspClient, workspace: &Path) -> String {
    client
        .initialize(&file_uri(workspace), false, json!({ "trusted": true }))
        .await;
    let uri = file_uri(workspace.join("src/lib.rs"));
    client.open(&uri, "rust", ADD_RS).await;
    uri
}

async fn delegate(client: &LspClient, uri: &str, agent: &str, instruction: &str) -> u64 {
    let result = client
        .request(
            "workspace/executeCommand",
            json!({"command": "director.delegate", "arguments": [{
                "uri": uri, "range": range(1, 4, 1, 4), "agent": agent,
                "instruction": instruction,
            }]}),
        )
        .await
        .unwrap_or_else(|error| panic!("delegate failed: {error}\n{}", client.stderr()));
    result["run"].as_u64().expect("a run id")
}

/// Waits for the first proposal on `uri` and returns its diagnostic.
async fn first_proposal(client: &LspClient, uri: &str) -> Value {
    let is_proposal = |diagnostic: &Value| diagnostic["code"] == "proposal";
    let published = client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| {
                params["uri"] == uri
                    && params["diagnostics"]
                        .as_array()
                        .is_some_and(|diagnostics| diagnostics.iter().any(is_proposal))
            },
            secs(120),
        )
        .await;
    published["diagnostics"]
        .as_array()
        .and_then(|diagnostics| {
            diagnostics
                .iter()
                .find(|diagnostic| is_proposal(diagnostic))
        })
        .cloned()
        .unwrap_or(Value::Null)
}

/// Delegates "Fix the bug" on `src/lib.rs` to `agent`, whose model is scripted
/// to fix it and then say "Fixed: it adds now.", and checks what every agent
/// must do: the fix comes back as a proposal, the final text is the
/// transcript, and the workspace is untouched until the user accepts.
/// Returns the proposal's diagnostic and the run's detail.
async fn proposed_fix(
    client: &LspClient,
    workspace: &Path,
    uri: &str,
    agent: &str,
) -> (Value, Value) {
    let run = delegate(client, uri, agent, "Fix the bug").await;
    let proposal = first_proposal(client, uri).await;
    assert_eq!(proposal["range"], range(1, 6, 1, 7), "{proposal:#}");
    let detail = run_detail(client, run).await;
    assert_eq!(detail["run"]["state"], "proposed", "{detail:#}");
    assert!(
        detail["transcript"]["answer"]
            .as_str()
            .is_some_and(|answer| answer.trim_end().ends_with("Fixed: it adds now.")),
        "{agent}'s final text is the transcript: {detail:#}"
    );
    assert_eq!(
        std::fs::read_to_string(workspace.join("src/lib.rs")).expect("the file"),
        ADD_RS
    );
    (proposal, detail)
}

async fn run_detail(client: &LspClient, run: u64) -> Value {
    client
        .request("director/run", json!({ "run": run }))
        .await
        .expect("director/run")
}

#[tokio::test]
async fn claude_code_s_write_comes_back_as_a_proposal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let workspace = workspace_with(
        dir.path(),
        "[agents.claude]\nkind = \"command\"\npreset = \"claude\"\ntimeout = 120\n",
    );
    let mock = MockAnthropic::start().await.expect("mock server");
    mock.push(mock_anthropic::Reply::ToolUse {
        name: "Write".to_owned(),
        input: json!({ "file_path": "src/lib.rs", "content": ADD_FIXED }),
    });
    mock.push(mock_anthropic::Reply::stream(
        &["Fixed: it adds now."],
        (30, 6),
    ));

    let path = CLAUDE.search_path();
    let client = LspClient::start_with_env(
        &workspace,
        &[
            ("PATH", &path),
            ("ANTHROPIC_BASE_URL", &mock.url()),
            ("ANTHROPIC_API_KEY", "dummy"),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("DISABLE_AUTOUPDATER", "1"),
        ],
    )
    .await;
    let uri = open_lib(&client, &workspace).await;
    proposed_fix(&client, &workspace, &uri, "claude").await;

    let requests = mock.requests();
    let messages: Vec<_> = requests
        .iter()
        .filter(|request| request.path == "/v1/messages")
        .collect();
    assert_eq!(messages.len(), 2, "a tool call, then the final answer");
    assert_eq!(messages[0].headers["x-api-key"], "dummy");
    let tool_result = messages[1].body["messages"].to_string();
    assert!(
        tool_result.contains(TOOL_USE_ID) && tool_result.contains("tool_result"),
        "Claude Code reported its write back: {tool_result}"
    );
}

/// opencode's configuration: one OpenAI-compatible provider at the mock, no
/// update checks, no model list from models.dev, no sharing.
fn opencode_config(base_url: &str) -> String {
    json!({
        "provider": {"mock": {
            "npm": "@ai-sdk/openai-compatible",
            "name": "Mock",
            "options": {"baseURL": base_url, "apiKey": "dummy"},
            "models": {"mock-model": {"name": "Mock model"}},
        }},
        "model": "mock/mock-model",
        "small_model": "mock/mock-model",
        "autoupdate": false,
        "share": "disabled",
    })
    .to_string()
}

/// The processes other than the server whose environment has `HOME=home`:
/// what a run's agent left.
fn processes_with_home(home: &Path) -> Vec<String> {
    let server = director_binary().display().to_string();
    let marker = format!("HOME={}\0", home.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.bytes().all(|byte| byte.is_ascii_digit()))
        })
        .filter(|entry| {
            std::fs::read(entry.path().join("environ")).is_ok_and(|environ| {
                environ
                    .windows(marker.len())
                    .any(|window| window == marker.as_bytes())
            })
        })
        .map(|entry| {
            let command = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&command).replace('\0', " ")
        })
        .filter(|command| !command.starts_with(&format!("{server} ")))
        .collect()
}

/// A trusting editor on a workspace whose agent `opencode` is the opencode
/// ACP preset (with `timeout` seconds) whose model is at `base_url`.
/// opencode keeps its config, session database, cache and state under HOME's
/// XDG folders: all of them in `dir/home`, returned with the client.
async fn opencode_client(
    dir: &Path,
    base_url: &str,
    timeout: u32,
) -> (LspClient, PathBuf, PathBuf) {
    let opencode_path = OPENCODE.search_path();
    let workspace = workspace_with(
        dir,
        &format!("[agents.opencode]\nkind = \"acp\"\npreset = \"opencode\"\ntimeout = {timeout}\n"),
    );
    let home = dir.join("home");
    let folder = |name: &str| home.join(name).display().to_string();
    let config = opencode_config(base_url);
    let (config_home, data_home, cache_home, state_home) = (
        folder(".config"),
        folder(".local/share"),
        folder(".cache"),
        folder(".local/state"),
    );
    let home_text = home.display().to_string();
    let client = LspClient::start_with_env(
        &workspace,
        &[
            ("PATH", &opencode_path),
            ("HOME", &home_text),
            ("XDG_CONFIG_HOME", &config_home),
            ("XDG_DATA_HOME", &data_home),
            ("XDG_CACHE_HOME", &cache_home),
            ("XDG_STATE_HOME", &state_home),
            ("OPENCODE_CONFIG_CONTENT", &config),
            ("OPENCODE_DISABLE_AUTOUPDATE", "1"),
            ("OPENCODE_DISABLE_MODELS_FETCH", "1"),
        ],
    )
    .await;
    (client, workspace, home)
}

#[tokio::test]
async fn opencode_over_acp_edits_is_accepted_and_cancelled_without_leftovers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mock = MockOpenAi::start().await.expect("mock server");
    // Its side requests (a session title) offer no tools.
    mock.answer_toolless_requests_with("Fix add");
    mock.push(mock_openai::Reply::ToolCall {
        name: "edit".to_owned(),
        arguments: json!({ "filePath": "src/lib.rs", "oldString": "a - b", "newString": "a + b" }),
    });
    mock.push(mock_openai::Reply::stream(
        &["Fixed: ", "it adds now."],
        Some((30, 6)),
    ));
    let (client, workspace, home) = opencode_client(dir.path(), &mock.url(), 120).await;
    let uri = open_lib(&client, &workspace).await;

    // Delegate: opencode's edit comes back as a proposal, with its usage.
    let (proposal, detail) = proposed_fix(&client, &workspace, &uri, "opencode").await;
    assert!(
        detail["run"]["tokens"]
            .as_u64()
            .is_some_and(|tokens| tokens > 0),
        "opencode's usage is recorded: {detail:#}"
    );
    let turns: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|request| {
            request.body["tools"]
                .as_array()
                .is_some_and(|tools| !tools.is_empty())
        })
        .collect();
    assert_eq!(turns.len(), 2, "the edit, then the final answer");
    assert_eq!(turns[0].headers["authorization"], "Bearer dummy");
    let tool_result = turns[1].body["messages"].to_string();
    assert!(
        tool_result.contains(TOOL_CALL_ID),
        "opencode reported its edit back: {tool_result}"
    );

    // Accept: the editor's buffer gets the fix.
    let hunk = proposal["data"]["hunk"].as_u64().expect("a hunk id");
    client
        .request(
            "workspace/executeCommand",
            json!({"command": "director.accept", "arguments": [{ "hunk": hunk }]}),
        )
        .await
        .unwrap_or_else(|error| panic!("accept failed: {error}\n{}", client.stderr()));
    assert_eq!(client.text(&uri), ADD_FIXED);
    assert!(
        processes_with_home(&home).is_empty(),
        "the finished run left {:?}",
        processes_with_home(&home)
    );

    // Cancel while the model stalls: the run ends cancelled, no process stays.
    mock.push(mock_openai::Reply::Stall);
    let asked_before = mock.requests().len();
    let run = delegate(&client, &uri, "opencode", "Simplify").await;
    let deadline = tokio::time::Instant::now() + secs(60);
    while !mock.requests()[asked_before..].iter().any(|request| {
        request.body["tools"]
            .as_array()
            .is_some_and(|tools| !tools.is_empty())
    }) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "opencode never asked the model\n{}",
            client.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client
        .request(
            "workspace/executeCommand",
            json!({"command": "director.cancel", "arguments": [{ "run": run }]}),
        )
        .await
        .unwrap_or_else(|error| panic!("cancel failed: {error}"));
    let deadline = tokio::time::Instant::now() + secs(15);
    loop {
        let detail = run_detail(&client, run).await;
        let left = processes_with_home(&home);
        if detail["run"]["state"] == "cancelled" && left.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "after cancel: {detail:#}, processes left: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        client.text(&uri),
        ADD_FIXED,
        "a cancelled run changes nothing"
    );
}

#[tokio::test]
async fn opencode_s_errors_are_quoted_when_its_endpoint_is_down() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A port nothing listens on: opencode retries quietly until the timeout.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port");
    let base_url = format!("http://{closed}/v1");
    let (client, workspace, _home) = opencode_client(dir.path(), &base_url, 20).await;
    let uri = open_lib(&client, &workspace).await;
    let run = delegate(&client, &uri, "opencode", "Fix the bug").await;
    let deadline = tokio::time::Instant::now() + secs(60);
    let detail = loop {
        let detail = run_detail(&client, run).await;
        if detail["run"]["state"] == "failed" {
            break detail;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never failed: {detail:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let reason = detail["run"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("agent `opencode` did not finish within 20 s")
            && reason.contains("Cannot connect to API"),
        "the failure quotes opencode's own errors: {reason}"
    );
}
