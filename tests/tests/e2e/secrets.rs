//! API keys never leak: after delegations, a refine, a failure and a review
//! through an `openai` and an `anthropic` agent, with the server logging at
//! `trace` (`DIRECTOR_LOG`), neither key is in the journal, a transcript, the server's log or
//! any LSP message; each went only to its own agent's endpoint, and a keyless
//! agent's host never saw one.

use crate::support::*;
use director_e2e::mock_anthropic::{self, MockAnthropic};
use director_e2e::mock_openai::{MockOpenAi, Reply};
use director_e2e::{LspClient, file_uri, range, secs};
use serde_json::{Value, json};
use std::path::Path;

const OPENAI_KEY_VARIABLE: &str = "DIRECTOR_E2E_SECRET_OPENAI_KEY";
const ANTHROPIC_KEY_VARIABLE: &str = "DIRECTOR_E2E_SECRET_ANTHROPIC_KEY";

/// A key no other text could contain by chance.
fn unique_key(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_nanos();
    format!("{prefix}-{}-{nanos}-leakcheck", std::process::id())
}

/// Every file under `folder`, with its bytes.
fn files_under(folder: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_owned()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).expect("a readable folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("a readable file");
                files.push((path.display().to_string(), bytes));
            }
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

async fn execute(client: &LspClient, command: &str, argument: Value) -> Value {
    client
        .request(
            "workspace/executeCommand",
            json!({ "command": command, "arguments": [argument] }),
        )
        .await
        .unwrap_or_else(|error| panic!("{command} failed: {error}\n{}", client.stderr()))
}

async fn wait_state(client: &LspClient, run: u64, state: &str) -> Value {
    let deadline = tokio::time::Instant::now() + secs(15);
    loop {
        let detail = client
            .request("director/run", json!({ "run": run }))
            .await
            .expect("director/run");
        if detail["run"]["state"] == state {
            return detail;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "run {run} never became {state}: {detail:#}\n{}",
            client.stderr()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn api_keys_reach_only_their_own_endpoint_and_are_written_nowhere() {
    let openai_key = unique_key("sk-openai");
    let anthropic_key = unique_key("sk-ant");
    let dir = tempfile::tempdir().expect("temp dir");
    write_files(
        dir.path(),
        &[("src/lib.rs", ADD_RS), ("src/other.rs", ADD_RS)],
    );
    let openai = MockOpenAi::start().await.expect("mock server");
    let anthropic = MockAnthropic::start().await.expect("mock server");
    let elsewhere = MockOpenAi::start().await.expect("mock server");
    let config = format!(
        "[agents.gpt]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"gpt-mock\"\n\
         api_key_env = \"{OPENAI_KEY_VARIABLE}\"\ntimeout = 10\nretries = 0\n\n\
         [agents.claude]\nkind = \"anthropic\"\nbase_url = \"{}\"\nmodel = \"claude-mock\"\n\
         api_key_env = \"{ANTHROPIC_KEY_VARIABLE}\"\ntimeout = 10\nretries = 0\n\n\
         [agents.keyless]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"local\"\ntimeout = 10\n",
        openai.url(),
        anthropic.url(),
        elsewhere.url()
    );
    std::fs::write(dir.path().join("director.toml"), config).expect("config");

    // 1: a delegation; 2: its refinement; 3: a review (all through `gpt`).
    openai.push(answer(ADD_FIXED));
    openai.push(answer(
        "pub fn add(a: i32, b: i32) -> i32 {\n    a.wrapping_add(b)\n}\n",
    ));
    openai.push(Reply::stream(
        &["- line 2: error: subtracts where the name says add\n"],
        None,
    ));
    // 4: a delegation through `claude`; 5: a refused one.
    let fenced = format!("```rust\n{ADD_FIXED}```\n");
    anthropic.push(mock_anthropic::Reply::stream(&[&fenced], (10, 5)));
    anthropic.push(mock_anthropic::Reply::Status {
        code: 401,
        retry_after: None,
        body: mock_anthropic::error_body("authentication_error", "invalid x-api-key").to_string(),
    });
    // 6: a delegation through the keyless agent on another host.
    elsewhere.push(answer(ADD_FIXED));

    let client = LspClient::start_with_env(
        dir.path(),
        &[
            (OPENAI_KEY_VARIABLE, &openai_key),
            (ANTHROPIC_KEY_VARIABLE, &anthropic_key),
            ("DIRECTOR_LOG", "trace"),
        ],
    )
    .await;
    // The keys go to loopback mocks, not to their kinds' endpoints: only a
    // trusted workspace may send them there.
    client
        .initialize(&file_uri(dir.path()), false, json!({ "trusted": true }))
        .await;
    let lib = file_uri(dir.path().join("src/lib.rs"));
    client.open(&lib, "rust", ADD_RS).await;
    let other = file_uri(dir.path().join("src/other.rs"));
    client.open(&other, "rust", ADD_RS).await;
    let delegate = |uri: &str, agent: &str| json!({"uri": uri, "range": range(1, 4, 1, 4), "agent": agent, "instruction": "Fix the bug"});

    execute(&client, "director.delegate", delegate(&lib, "gpt")).await;
    wait_state(&client, 1, "proposed").await;
    execute(
        &client,
        "director.refine",
        json!({ "run": 1, "feedback": "Do not overflow" }),
    )
    .await;
    wait_state(&client, 2, "proposed").await;
    execute(
        &client,
        "director.review",
        json!({ "uri": other, "agent": "gpt" }),
    )
    .await;
    wait_state(&client, 3, "proposed").await;
    execute(&client, "director.delegate", delegate(&other, "claude")).await;
    wait_state(&client, 4, "proposed").await;
    execute(&client, "director.delegate", delegate(&lib, "claude")).await;
    let failed = wait_state(&client, 5, "failed").await;
    assert!(
        failed["run"]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("401")),
        "{failed:#}"
    );
    execute(&client, "director.delegate", delegate(&other, "keyless")).await;
    wait_state(&client, 6, "proposed").await;

    // Each key went with every request to its own endpoint, and only there.
    assert_eq!(openai.requests().len(), 3);
    for request in openai.requests() {
        assert_eq!(
            request.headers.get("authorization"),
            Some(&format!("Bearer {openai_key}"))
        );
        assert!(!format!("{request:?}").contains(&anthropic_key));
    }
    assert_eq!(anthropic.requests().len(), 2);
    for request in anthropic.requests() {
        assert_eq!(request.headers.get("x-api-key"), Some(&anthropic_key));
        assert!(!format!("{request:?}").contains(&openai_key));
    }
    assert_eq!(elsewhere.requests().len(), 1);
    let seen_elsewhere = format!("{:?}", elsewhere.requests());
    assert!(
        !seen_elsewhere.contains("authorization"),
        "{seen_elsewhere}"
    );
    for key in [&openai_key, &anthropic_key] {
        assert!(!seen_elsewhere.contains(key.as_str()), "{seen_elsewhere}");
    }

    // Transcripts, as the editor reads them.
    let mut transcripts = String::new();
    for run in 1..=6 {
        let detail = client
            .request("director/run", json!({ "run": run }))
            .await
            .expect("director/run");
        transcripts.push_str(&detail.to_string());
    }
    assert!(
        transcripts.contains("Fix the bug"),
        "the transcripts are there"
    );
    client
        .request("shutdown", Value::Null)
        .await
        .expect("shutdown");
    let messages = serde_json::to_string(&client.received_messages()).expect("JSON");
    let log = client.stderr();
    assert!(
        log.contains("TRACE") || log.contains("trace"),
        "the log is at trace level"
    );
    let journal = files_under(&dir.path().join(".director"));
    assert!(!journal.is_empty(), "a journal was written");
    for key in [&openai_key, &anthropic_key] {
        assert!(
            !transcripts.contains(key.as_str()),
            "a transcript holds a key"
        );
        assert!(
            !messages.contains(key.as_str()),
            "an LSP message holds a key"
        );
        assert!(!log.contains(key.as_str()), "the log holds a key:\n{log}");
        for (path, bytes) in &journal {
            assert!(!contains(bytes, key), "{path} holds a key");
        }
    }
}
