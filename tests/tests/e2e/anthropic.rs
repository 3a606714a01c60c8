//! An `anthropic` agent through the real binary: a delegated region comes back
//! as a proposal to accept, with the run's cost at the configured price; an
//! overloaded API is retried; a cut stream fails the run with a clear reason.

use crate::support::*;
use director_e2e::mock_anthropic::{MockAnthropic, Reply};
use director_e2e::{LspClient, range, secs};
use serde_json::{Value, json};
use std::time::Duration;

const KEY_VARIABLE: &str = "DIRECTOR_E2E_ANTHROPIC_KEY";
const KEY: &str = "sk-ant-e2e-not-a-real-key";

struct AnthropicWorkspace {
    _dir: tempfile::TempDir,
    mock: MockAnthropic,
    client: LspClient,
    uri: String,
}

/// A workspace whose `src/lib.rs` (`ADD_RS`) is open, with agent `claude`
/// reaching the mock, which answers with `replies`.
async fn anthropic_workspace(replies: Vec<Reply>) -> AnthropicWorkspace {
    let dir = tempfile::tempdir().expect("temp dir");
    let mock = MockAnthropic::start().await.expect("mock server");
    for reply in replies {
        mock.push(reply);
    }
    write_files(dir.path(), &[("src/lib.rs", ADD_RS)]);
    let config = format!(
        "[agents.claude]\nkind = \"anthropic\"\nbase_url = \"{}\"\nmodel = \"claude-mock\"\n\
         api_key_env = \"{KEY_VARIABLE}\"\ntimeout = 10\n\
         price = {{ input_per_mtok = 3.0, output_per_mtok = 15.0 }}\n",
        mock.url()
    );
    std::fs::write(dir.path().join("director.toml"), config).expect("config");
    let client = LspClient::start_with_env(dir.path(), &[(KEY_VARIABLE, KEY)]).await;
    // The key goes to the loopback mock, not to Anthropic: only a trusted
    // workspace may send it there.
    client
        .initialize(
            &director_e2e::file_uri(dir.path()),
            false,
            serde_json::json!({ "trusted": true }),
        )
        .await;
    let uri = director_e2e::file_uri(dir.path().join("src/lib.rs"));
    client.open(&uri, "rust", ADD_RS).await;
    AnthropicWorkspace {
        _dir: dir,
        mock,
        client,
        uri,
    }
}

impl AnthropicWorkspace {
    async fn delegate(&self) -> u64 {
        let result = self
            .client
            .request(
                "workspace/executeCommand",
                json!({"command": "director.delegate", "arguments": [{
                    "uri": self.uri, "range": range(1, 4, 1, 4), "agent": "claude",
                    "instruction": "Fix the bug",
                }]}),
            )
            .await
            .unwrap_or_else(|error| panic!("delegate failed: {error}\n{}", self.client.stderr()));
        result["run"].as_u64().expect("a run id")
    }

    /// Polls `director/runs` until run `run` has finished; returns the list.
    async fn finished_runs(&self, run: u64) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let runs = self
                .client
                .request("director/runs", json!({}))
                .await
                .expect("director/runs");
            let state = runs["runs"][0]["state"].as_str().unwrap_or_default();
            if runs["runs"][0]["id"] == run && !["queued", "running"].contains(&state) {
                return runs;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "run {run} never finished: {runs}\n{}",
                self.client.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn answer(code: &str) -> Reply {
    Reply::stream(&["Here it is:\n\n```rust\n", code, "```\n"], (2_000, 500))
}

#[tokio::test]
async fn a_delegated_region_comes_back_as_a_proposal_to_accept_with_its_cost() {
    let workspace = anthropic_workspace(vec![answer(ADD_FIXED)]).await;
    let run = workspace.delegate().await;
    let runs = workspace.finished_runs(run).await;
    let record = &runs["runs"][0];
    assert_eq!(record["state"], "proposed", "{record}");
    assert_eq!(record["agent"], "claude");
    assert_eq!(record["promptTokens"], 2_000);
    assert_eq!(record["completionTokens"], 500);
    // 2,000 tokens in at $3 and 500 out at $15 per million.
    let cost = record["costUsd"].as_f64().expect("a cost");
    assert!((cost - 0.0135).abs() < 1e-9, "{record}");
    assert!((runs["totalCostUsd"].as_f64().expect("a total") - 0.0135).abs() < 1e-9);

    let request = &workspace.mock.requests()[0];
    assert_eq!(request.path, "/v1/messages");
    assert_eq!(request.headers["x-api-key"], KEY);
    assert_eq!(request.headers["anthropic-version"], "2023-06-01");
    assert!(
        request.body["system"]
            .as_str()
            .is_some_and(|system| !system.is_empty())
    );
    assert_eq!(request.body["max_tokens"], 4096);

    let accepted = workspace
        .client
        .request(
            "workspace/executeCommand",
            json!({"command": "director.acceptAll", "arguments": [{"run": run}]}),
        )
        .await
        .expect("acceptAll");
    assert_eq!(accepted["applied"], true, "{accepted}");
    assert_eq!(workspace.client.text(&workspace.uri), ADD_FIXED);
}

#[tokio::test]
async fn an_overloaded_api_is_retried_then_proposes() {
    let workspace = anthropic_workspace(vec![
        Reply::OverloadedMidStream {
            chunks: vec!["Here".to_owned()],
        },
        Reply::overloaded_status(),
        answer(ADD_FIXED),
    ])
    .await;
    let run = workspace.delegate().await;
    let runs = workspace.finished_runs(run).await;
    assert_eq!(runs["runs"][0]["state"], "proposed", "{runs}");
    assert_eq!(workspace.mock.requests().len(), 3);
    let reports = workspace.client.notifications("$/progress");
    assert!(
        reports.iter().any(|report| report["value"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("retry 2") && message.contains("529"))),
        "{reports:#?}"
    );
}

#[tokio::test]
async fn a_truncated_stream_fails_the_run_with_a_clear_reason() {
    let workspace = anthropic_workspace(vec![Reply::Truncated {
        chunks: vec!["```rust\n".to_owned(), "pub fn add(".to_owned()],
    }])
    .await;
    let run = workspace.delegate().await;
    let runs = workspace.finished_runs(run).await;
    let record = &runs["runs"][0];
    assert_eq!(record["state"], "failed", "{record}");
    let reason = record["reason"].as_str().expect("a reason");
    assert!(
        reason.contains("the stream ended before the answer was complete"),
        "{reason}"
    );
    assert!(!reason.contains(KEY), "{reason}");
    let message = workspace
        .client
        .wait_notification("window/showMessage", |params| params["type"] == 1, secs(5))
        .await;
    assert!(
        message["message"]
            .as_str()
            .is_some_and(|message| message.contains("run 1 (claude) failed")),
        "{message}"
    );
}
