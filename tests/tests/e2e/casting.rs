//! Casting without config: with no `director.toml`, the server says at startup
//! which agents it found (a key in the environment, a running Ollama, CLIs on
//! `PATH`, cast as `command` agents with their presets) and delegates to them.

use crate::support::*;
use director_e2e::mock_openai::MockOpenAi;
use director_e2e::{LspClient, file_uri, range, secs};
use serde_json::{Value, json};
use std::path::Path;

/// A fake Ollama listing one model; it answers `/api/tags` only.
async fn fake_ollama() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    let router = axum::Router::new().route(
        "/api/tags",
        axum::routing::get(|| async {
            axum::Json(json!({"models": [{"name": "qwen2.5-coder:7b", "size": 4_683_087_332_u64}]}))
        }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{address}"), server)
}

/// A directory on a private `PATH` holding an executable fake `claude`: it
/// prints its arguments one by one after `arg: ` and fixes `src/lib.rs` in
/// its working folder, with shell builtins only (the private `PATH` has
/// nothing else). `root` must not be in /tmp, which a confined agent sees
/// as its own empty folder.
fn path_with_claude(root: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).expect("a bin directory");
    let claude = bin.join("claude");
    let script = format!(
        "#!/bin/sh\nprintf 'arg: %s\\n' \"$@\"\nprintf '%s' '{ADD_FIXED}' > src/lib.rs\necho edited\n"
    );
    std::fs::write(&claude, script).expect("a script");
    std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).expect("a mode");
    bin.display().to_string()
}

async fn start(workspace: &Path, env: &[(&str, &str)]) -> LspClient {
    let client = LspClient::start_with_env(workspace, env).await;
    client
        .initialize(&file_uri(workspace), false, Value::Null)
        .await;
    client
}

#[tokio::test]
async fn found_agents_are_announced_and_a_delegation_reaches_the_key_s_endpoint() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_files(dir.path(), &[("src/lib.rs", ADD_RS)]);
    let mock = MockOpenAi::start().await.expect("mock server");
    mock.push(answer(ADD_FIXED));
    let (ollama_url, ollama) = fake_ollama().await;
    let path = path_with_claude(dir.path());
    let client = start(
        dir.path(),
        &[
            ("OPENAI_API_KEY", "sk-e2e-dummy"),
            ("OPENAI_BASE_URL", &mock.url()),
            ("DIRECTOR_OLLAMA_URL", &ollama_url),
            ("PATH", &path),
        ],
    )
    .await;

    let message = client
        .wait_notification("window/showMessage", |_| true, secs(10))
        .await;
    assert_eq!(message["type"], 3, "{message}");
    assert_eq!(
        message["message"],
        format!(
            "Director: No agent configured; using: openai (OPENAI_API_KEY), ollama \
             (qwen2.5-coder:7b at {ollama_url}), claude (on PATH)"
        )
    );
    assert!(
        client
            .stderr()
            .contains("No agent configured; using: openai"),
        "the log says it too:\n{}",
        client.stderr()
    );
    ollama.abort();

    let uri = file_uri(dir.path().join("src/lib.rs"));
    client.open(&uri, "rust", ADD_RS).await;
    let result = client
        .request(
            "workspace/executeCommand",
            json!({"command": "director.delegate", "arguments": [{
                "uri": uri, "range": range(1, 4, 1, 4), "agent": "openai",
                "instruction": "Fix the bug",
            }]}),
        )
        .await
        .unwrap_or_else(|error| panic!("delegate failed: {error}\n{}", client.stderr()));
    assert_eq!(result["run"], 1);
    client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| params["uri"] == uri && proposals_in(params).len() == 1,
            secs(15),
        )
        .await;
    let request = &mock.requests()[0];
    assert_eq!(request.headers["authorization"], "Bearer sk-e2e-dummy");
    assert_eq!(request.body["model"], "gpt-4.1");
}

#[tokio::test]
async fn nothing_found_says_how_to_add_an_agent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty_path = dir.path().join("empty-bin");
    std::fs::create_dir_all(&empty_path).expect("a directory");
    // A port just freed: nothing answers there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let ollama_url = format!("http://{}", closed.local_addr().expect("an address"));
    drop(closed);
    let client = start(
        dir.path(),
        &[
            ("DIRECTOR_OLLAMA_URL", &ollama_url),
            ("PATH", &empty_path.display().to_string()),
        ],
    )
    .await;
    let message = client
        .wait_notification("window/showMessage", |_| true, secs(10))
        .await;
    assert_eq!(message["type"], 2, "{message}");
    assert_eq!(
        message["message"],
        "Director: No agent configured and none found: add one to director.toml"
    );
}

#[tokio::test]
async fn a_configured_agent_means_no_discovery() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mock = MockOpenAi::start().await.expect("mock server");
    std::fs::write(dir.path().join("director.toml"), config_for(&mock, "")).expect("config");
    let client = start(dir.path(), &[("OPENAI_API_KEY", "sk-e2e-dummy")]).await;
    // A request answered after `initialized` shows the server had its chance to speak.
    client
        .request("director/runs", json!({}))
        .await
        .expect("director/runs");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(client.notifications("window/showMessage").is_empty());
}

#[tokio::test]
async fn a_claude_on_path_is_offered_and_a_delegation_through_its_preset_is_proposed() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let workspace = dir.path().join("workspace");
    write_files(&workspace, &[("src/lib.rs", ADD_RS)]);
    let path = path_with_claude(dir.path());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let ollama_url = format!("http://{}", closed.local_addr().expect("an address"));
    drop(closed);
    let client = start(
        &workspace,
        &[("DIRECTOR_OLLAMA_URL", &ollama_url), ("PATH", &path)],
    )
    .await;
    let message = client
        .wait_notification("window/showMessage", |_| true, secs(10))
        .await;
    assert_eq!(
        message["message"],
        "Director: No agent configured; using: claude (on PATH)"
    );

    let uri = file_uri(workspace.join("src/lib.rs"));
    client.open(&uri, "rust", ADD_RS).await;
    // Offered like any agent, with no trust asked: it is the user's own program.
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": range(1, 4, 1, 4),
                   "context": {"diagnostics": []}}),
        )
        .await
        .expect("code actions");
    let offered: Vec<&Value> = actions
        .as_array()
        .expect("actions")
        .iter()
        .filter(|action| {
            action["title"]
                .as_str()
                .is_some_and(|title| title.contains("claude"))
        })
        .collect();
    assert!(!offered.is_empty(), "{actions}");
    assert!(
        offered
            .iter()
            .all(|action| action.get("disabled").is_none()),
        "{actions}"
    );

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
    assert_eq!(result["run"], 1);
    client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| params["uri"] == uri && proposals_in(params).len() == 1,
            secs(15),
        )
        .await;
    let detail = client
        .request("director/run", json!({ "run": 1 }))
        .await
        .expect("the run");
    let output = detail["transcript"]["answer"].as_str().unwrap_or_default();
    let arguments: Vec<&str> = output
        .lines()
        .filter_map(|line| line.strip_prefix("arg: "))
        .collect();
    assert_eq!(arguments[..3], ["-p", "--permission-mode", "acceptEdits"]);
    assert!(arguments[3].starts_with("Fix the bug"), "{arguments:?}");
    // The workspace is untouched until the user accepts.
    assert_eq!(
        std::fs::read_to_string(workspace.join("src/lib.rs")).expect("the file"),
        ADD_RS
    );
}
