//! A real agent CLI as a `command` agent: Claude Code (`claude -p`, through
//! Director's `claude` preset) runs in Director's sandbox against a loopback
//! mock of the Anthropic API, which tells it to write a file with its `Write`
//! tool; the write comes back as a proposal in the editor.
//!
//! The CLI comes from `cargo xtask setup` (tests/editors/install-agents.sh, `$DIRECTOR_CLAUDE`).
//! Without it the test fails: it never skips.

use director_e2e::installed_agents::CLAUDE;
use director_e2e::mock_anthropic::{MockAnthropic, Reply, TOOL_USE_ID};
use director_e2e::{LspClient, file_uri, range, secs};
use serde_json::{Value, json};

const ADD_RS: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n";
const ADD_FIXED: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n";

#[tokio::test]
async fn claude_code_s_write_comes_back_as_a_proposal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let workspace = dir.path().join("workspace");
    std::fs::create_dir_all(workspace.join("src")).expect("a folder");
    std::fs::write(workspace.join("src/lib.rs"), ADD_RS).expect("a file");
    std::fs::write(
        workspace.join("director.toml"),
        "[agents.claude]\nkind = \"command\"\npreset = \"claude\"\ntimeout = 120\n",
    )
    .expect("config");
    let mock = MockAnthropic::start().await.expect("mock server");
    mock.push(Reply::ToolUse {
        name: "Write".to_owned(),
        input: json!({ "file_path": "src/lib.rs", "content": ADD_FIXED }),
    });
    mock.push(Reply::stream(&["Fixed: it adds now."], (30, 6)));

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
    client
        .initialize(&file_uri(&workspace), false, json!({ "trusted": true }))
        .await;
    let uri = file_uri(workspace.join("src/lib.rs"));
    client.open(&uri, "rust", ADD_RS).await;
    let result = client
        .request(
            "workspace/executeCommand",
            json!({"command": "director.delegate", "arguments": [{
                "uri": uri, "range": range(1, 4, 1, 4), "agent": "claude",
                "instruction": "Fix the bug",
            }]}),
        )
        .await
        .unwrap_or_else(|error| panic!("delegate failed: {error}\n{}", client.stderr()));
    let run = result["run"].as_u64().expect("a run id");

    let proposals = client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| {
                params["uri"] == uri
                    && params["diagnostics"].as_array().is_some_and(|diagnostics| {
                        diagnostics
                            .iter()
                            .any(|diagnostic| diagnostic["code"] == "proposal")
                    })
            },
            secs(120),
        )
        .await;
    let proposal = proposals["diagnostics"]
        .as_array()
        .and_then(|diagnostics| {
            diagnostics
                .iter()
                .find(|diagnostic| diagnostic["code"] == "proposal")
        })
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(proposal["range"], range(1, 6, 1, 7), "{proposal:#}");
    let detail = client
        .request("director/run", json!({ "run": run }))
        .await
        .expect("director/run");
    assert_eq!(detail["run"]["state"], "proposed", "{detail:#}");
    assert!(
        detail["transcript"]["answer"]
            .as_str()
            .is_some_and(|answer| answer.contains("Fixed: it adds now.")),
        "Claude Code's final text is the transcript: {detail:#}"
    );
    // The workspace itself is untouched until the user accepts.
    assert_eq!(
        std::fs::read_to_string(workspace.join("src/lib.rs")).expect("the file"),
        ADD_RS
    );

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
