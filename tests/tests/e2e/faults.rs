//! Agents that misbehave: rate limits, server errors, stalls, truncated streams
//! and garbage end in a retry or a failed run with a clear reason, never a crash.

use crate::support::*;
use director_e2e::mock_openai::Reply;
use director_e2e::{range, secs};

async fn run_with(replies: Vec<Reply>, extra: &str) -> (Fixture, serde_json::Value) {
    let fixture = Fixture::with_config(&[("src/lib.rs", ADD_RS)], false, extra).await;
    for reply in replies {
        fixture.mock.push(reply);
    }
    let uri = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&uri, range(1, 4, 1, 4), "Fix the bug")
        .await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let runs = fixture
            .client
            .request("director/runs", serde_json::json!({}))
            .await
            .unwrap();
        let record = runs["runs"][0].clone();
        assert_eq!(record["id"], run);
        let state = record["state"].as_str().unwrap_or_default().to_owned();
        if !["queued", "running"].contains(&state.as_str()) {
            return (fixture, record);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never finished"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_and_then_succeeds() {
    let (fixture, record) = run_with(
        vec![
            Reply::Status {
                code: 429,
                retry_after: Some("1".into()),
                body: r#"{"error":{"message":"Rate limit reached"}}"#.into(),
            },
            answer(ADD_FIXED),
        ],
        "",
    )
    .await;
    assert_eq!(record["state"], "proposed");
    assert_eq!(fixture.mock.requests().len(), 2);
    let reports = fixture.client.notifications("$/progress");
    assert!(
        reports.iter().any(|p| p["value"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("retry 1 in 1.0s"))),
        "{reports:#?}"
    );
}

#[tokio::test]
async fn a_500_then_success_proposes() {
    let (_fixture, record) = run_with(
        vec![
            Reply::Status {
                code: 500,
                retry_after: None,
                body: "upstream broke".into(),
            },
            answer(ADD_FIXED),
        ],
        "",
    )
    .await;
    assert_eq!(record["state"], "proposed");
}

#[tokio::test]
async fn server_errors_beyond_the_retries_fail_the_run_with_the_status() {
    let error = || Reply::Status {
        code: 503,
        retry_after: Some("0".into()),
        body: r#"{"error":{"message":"overloaded"}}"#.into(),
    };
    let (fixture, record) = run_with(vec![error(), error(), error()], "retries = 2").await;
    assert_eq!(record["state"], "failed");
    let reason = record["reason"].as_str().unwrap();
    assert!(
        reason.contains("503") && reason.contains("overloaded"),
        "{reason}"
    );
    assert_eq!(fixture.mock.requests().len(), 3);
    let message = fixture
        .client
        .wait_notification("window/showMessage", |p| p["type"] == 1, secs(5))
        .await;
    assert!(
        message["message"]
            .as_str()
            .unwrap()
            .contains("run 1 (mock) failed")
    );
}

#[tokio::test]
async fn a_stall_past_the_timeout_fails_the_run() {
    let (_fixture, record) = run_with(vec![Reply::Stall], "timeout = 1").await;
    assert_eq!(record["state"], "failed");
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .contains("did not finish answering within 1 s"),
        "{record}"
    );
}

#[tokio::test]
async fn a_truncated_stream_fails_the_run() {
    let (_fixture, record) = run_with(
        vec![Reply::Truncated {
            chunks: vec!["```rust\n".into(), "pub fn add(".into()],
        }],
        "",
    )
    .await;
    assert_eq!(record["state"], "failed");
    assert!(
        record["reason"].as_str().unwrap().contains("ended before"),
        "{record}"
    );
}

#[tokio::test]
async fn a_garbage_body_fails_the_run() {
    let (_fixture, record) =
        run_with(vec![Reply::Garbage("<html>proxy error</html>".into())], "").await;
    assert_eq!(record["state"], "failed");
    assert!(
        record["reason"].as_str().unwrap().contains("proxy error"),
        "{record}"
    );
}

#[tokio::test]
async fn an_answer_without_a_code_block_fails_with_the_reason() {
    let (_fixture, record) =
        run_with(vec![Reply::stream(&["I cannot help with that."], None)], "").await;
    assert_eq!(record["state"], "failed");
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .contains("no fenced code block"),
        "{record}"
    );
}

#[tokio::test]
async fn an_unchanged_answer_settles_without_proposals() {
    let (_fixture, record) = run_with(vec![answer(ADD_RS)], "").await;
    assert_eq!(record["state"], "settled");
    assert_eq!(record["reason"], "the agent proposed no change");
}

#[tokio::test]
async fn a_non_streaming_agent_works_too() {
    let (fixture, record) = run_with(
        vec![Reply::Json {
            text: format!("```rust\n{ADD_FIXED}```"),
        }],
        "stream = false",
    )
    .await;
    assert_eq!(record["state"], "proposed");
    assert_ne!(fixture.mock.requests()[0].body["stream"], true);
}
