//! Bad requests get JSON-RPC errors and the server stays up.

use crate::support::*;
use director_e2e::range;
use serde_json::json;

const INVALID_PARAMS: i64 = -32602;

#[tokio::test]
async fn malformed_requests_get_errors_and_the_server_stays_up() {
    let mut fixture = Fixture::new(&[("src/lib.rs", ADD_RS)], false).await;
    let uri = fixture.open("src/lib.rs", "rust").await;
    let unknown_uri = fixture.uri("src/missing.rs");

    let cases = [
        (
            "director.delegate",
            json!({ "uri": unknown_uri, "range": range(0, 0, 0, 0), "agent": AGENT, "instruction": "x" }),
            "not open",
        ),
        (
            "director.delegate",
            json!({ "uri": uri, "range": range(40, 0, 41, 0), "agent": AGENT, "instruction": "x" }),
            "line",
        ),
        (
            "director.delegate",
            json!({ "uri": uri, "range": range(0, 0, 0, 0), "agent": "nobody", "instruction": "x" }),
            "configured agents: mock",
        ),
        (
            "director.delegate",
            json!({ "uri": uri, "range": range(0, 0, 0, 0) }),
            "instruction",
        ),
        ("director.delegate", json!("not an object"), "bad arguments"),
        ("director.accept", json!({ "hunk": 42 }), "no proposal 42"),
        ("director.acceptAll", json!({ "run": 42 }), "no run 42"),
        ("director.cancel", json!({ "run": "one" }), "bad arguments"),
        (
            "director.refine",
            json!({ "run": 7, "feedback": "x" }),
            "no run 7",
        ),
        ("director.launchMissiles", json!({}), "unknown command"),
    ];
    for (command, argument, expected) in cases {
        let error = fixture
            .execute(command, argument.clone())
            .await
            .expect_err(&format!("{command} {argument} should fail"));
        assert_eq!(
            error.code, INVALID_PARAMS,
            "{command} {argument}: {}",
            error.message
        );
        assert!(
            error.message.contains(expected),
            "{command} {argument}: {}",
            error.message
        );
    }
    let no_arguments = fixture
        .client
        .request(
            "workspace/executeCommand",
            json!({ "command": "director.accept", "arguments": [] }),
        )
        .await
        .expect_err("no arguments");
    assert_eq!(no_arguments.code, INVALID_PARAMS);

    let hover = fixture
        .client
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": unknown_uri }, "position": { "line": 0, "character": 0 } }),
        )
        .await
        .unwrap();
    assert!(hover.is_null());
    let out_of_range = fixture
        .client
        .request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": range(99, 0, 99, 1), "context": { "diagnostics": [] } }),
        )
        .await
        .expect_err("out of range");
    assert_eq!(out_of_range.code, INVALID_PARAMS);
    let unknown_method = fixture
        .client
        .request("director/nothing", json!({}))
        .await
        .expect_err("unknown method");
    assert_eq!(unknown_method.code, -32601);

    // A message that is not JSON at all, and a change to a document never opened.
    fixture
        .client
        .send_raw(b"Content-Length: 9\r\n\r\n{garbage}")
        .await;
    fixture
        .client
        .notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": unknown_uri, "version": 2 }, "contentChanges": [{ "text": "x" }] }),
        )
        .await;

    // Still alive and correct.
    fixture.mock.push(answer(ADD_FIXED));
    fixture
        .delegate(&uri, range(1, 4, 1, 4), "Fix the bug")
        .await;
    fixture.wait_proposals(&uri, 1).await;
    fixture.client.shutdown_and_exit().await;
}
