//! Bad requests and bad frames get JSON-RPC errors and the server stays up; a
//! stream that cannot be split into frames any more ends it, loudly; a change the
//! server cannot apply exactly is refused loudly, and reopening the file resyncs.

use crate::support::*;
use director_e2e::{LspClient, range, secs};
use serde_json::{Value, json};
use std::time::Duration;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;
const METHOD_NOT_FOUND: i64 = -32601;

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
    assert_eq!(unknown_method.code, METHOD_NOT_FOUND);

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

/// A raw frame around `body`, with a correct `Content-Length`.
fn frame(body: &[u8]) -> Vec<u8> {
    let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    framed.extend_from_slice(body);
    framed
}

/// The errors of the responses with `id` received so far.
fn errors_answering(client: &LspClient, id: &Value) -> Vec<Value> {
    client
        .received_messages()
        .into_iter()
        .filter(|message| message.get("method").is_none() && message["id"] == *id)
        .map(|message| message["error"].clone())
        .collect()
}

/// Waits until `client` has received `count` error answers with `id`.
async fn wait_errors_answering(client: &LspClient, id: &Value, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + secs(10);
    loop {
        let errors = errors_answering(client, id);
        if errors.len() >= count {
            return errors;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            client.failure_report(&format!("no error answer #{count} with id {id}"))
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn hover_on_the_hunk(client: &LspClient, uri: &str) -> Value {
    client
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": { "line": 2, "character": 6 } }),
        )
        .await
        .expect("hover")
}

/// The server still reads and answers: a good request right after a bad frame.
async fn answers_a_good_request(client: &LspClient, after: &str) {
    if let Err(error) = client
        .request("workspace/symbol", json!({ "query": "add" }))
        .await
    {
        panic!("after {after}, workspace/symbol failed: {error}");
    }
}

#[tokio::test]
async fn frames_that_are_json_but_no_json_rpc_message_are_answered_and_the_server_stays_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_files(dir.path(), &[("src/lib.rs", ADD_RS)]);
    let mut client = start_client(dir.path(), false).await;
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let too_deep =
        format!(r#"{{"jsonrpc":"2.0","id":906,"method":"workspace/symbol","params":{deep}}}"#);
    // Each body, and the id and code of the error that must answer it.
    let answered: Vec<(Vec<u8>, Value, i64)> = vec![
        (b"{}".to_vec(), Value::Null, INVALID_REQUEST),
        (b"[]".to_vec(), Value::Null, INVALID_REQUEST),
        (b"null".to_vec(), Value::Null, INVALID_REQUEST),
        (b"42".to_vec(), Value::Null, INVALID_REQUEST),
        (b"\"str\"".to_vec(), Value::Null, INVALID_REQUEST),
        (
            br#"[{"jsonrpc":"2.0","id":901,"method":"workspace/symbol","params":{"query":""}}]"#
                .to_vec(),
            Value::Null,
            INVALID_REQUEST,
        ),
        (
            br#"{"id":902,"method":"workspace/symbol","params":{"query":""}}"#.to_vec(),
            json!(902),
            INVALID_REQUEST,
        ),
        (
            br#"{"jsonrpc":"1.0","id":903,"method":"workspace/symbol","params":{"query":""}}"#
                .to_vec(),
            json!(903),
            INVALID_REQUEST,
        ),
        (
            br#"{"jsonrpc":"2.0","id":{"a":1},"method":"workspace/symbol","params":{"query":""}}"#
                .to_vec(),
            Value::Null,
            INVALID_REQUEST,
        ),
        (
            br#"{"jsonrpc":"2.0","id":904.5,"method":"workspace/symbol","params":{"query":""}}"#
                .to_vec(),
            Value::Null,
            INVALID_REQUEST,
        ),
        (
            br#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"workspace/symbol"}"#
                .to_vec(),
            Value::Null,
            INVALID_REQUEST,
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":905,\"method\":\"workspace/symbol\",\"params\":{\"query\":\"\xff\xfe\"}}"
                .to_vec(),
            Value::Null,
            PARSE_ERROR,
        ),
        (
            br#"{"jsonrpc":"2.0","id":907,"method":"workspace/symbol","params":{"query":"\ud800"}}"#
                .to_vec(),
            Value::Null,
            PARSE_ERROR,
        ),
        (too_deep.into_bytes(), Value::Null, PARSE_ERROR),
        (
            br#"{"jsonrpc":"2.0","id":908,"id":908,"method":"workspace/symbol"}"#.to_vec(),
            json!(908),
            INVALID_REQUEST,
        ),
        (b"".to_vec(), Value::Null, PARSE_ERROR),
    ];
    for (body, id, code) in &answered {
        let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        let before = errors_answering(&client, id).len();
        client.send_raw(&frame(body)).await;
        let errors = wait_errors_answering(&client, id, before + 1).await;
        assert_eq!(errors[before]["code"], *code, "{shown}: {errors:?}");
        answers_a_good_request(&client, &shown).await;
    }
    // Malformed notifications and responses are skipped without an answer.
    let answers_before = client.received_messages().len();
    for body in [
        &br#"{"jsonrpc":"1.0","method":"initialized"}"#[..],
        br#"{"method":"textDocument/didChange"}"#,
        br#"{"jsonrpc":"2.0","method":"textDocument/didChange","params":5}"#,
        br#"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":7}}"#,
        br#"{"jsonrpc":"2.0","id":999,"result":null}"#,
        br#"{"jsonrpc":"2.0","result":null}"#,
    ] {
        client.send_raw(&frame(body)).await;
        answers_a_good_request(&client, &String::from_utf8_lossy(body)).await;
    }
    let unexpected: Vec<Value> = client.received_messages()[answers_before..]
        .iter()
        .filter(|message| message.get("error").is_some())
        .cloned()
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    // Two equal lengths are one length.
    client
        .send_raw(
            b"Content-Length: 56\r\nContent-Length: 56\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":910,\"method\":\"$/director/nothing\"}",
        )
        .await;
    let errors = wait_errors_answering(&client, &json!(910), 1).await;
    assert_eq!(errors[0]["code"], METHOD_NOT_FOUND);
    client.shutdown_and_exit().await;
}

#[tokio::test]
async fn an_unknown_dollar_request_gets_method_not_found_and_a_notification_is_ignored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut client = start_client(dir.path(), false).await;
    client
        .notify("$/director/unknownNotification", json!({}))
        .await;
    let error = client
        .request("$/director/unknownRequest", json!({}))
        .await
        .expect_err("an unknown $/ request");
    assert_eq!(error.code, METHOD_NOT_FOUND);
    assert_eq!(error.data, Some(json!("$/director/unknownRequest")));
    // Only the request got an answer.
    assert!(errors_answering(&client, &Value::Null).is_empty());
    client.shutdown_and_exit().await;
}

#[tokio::test]
async fn an_unusable_content_length_is_reported_and_the_server_exits_non_zero() {
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"workspace/symbol","params":{"query":""}}"#;
    let headers: [(&str, &str); 6] = [
        ("Content-Length: abc\r\n\r\n", "\"abc\" is not a length"),
        ("Content-Length: -5\r\n\r\n", "\"-5\" is not a length"),
        (
            "Content-Length: 1099511627776\r\n\r\n",
            "1099511627776 is larger",
        ),
        (
            "Content-Length: 18446744073709551616\r\n\r\n",
            "\"18446744073709551616\" is not a length",
        ),
        (
            "Content-Length: 75\r\nContent-Length: 74\r\n\r\n",
            "two different Content-Length values",
        ),
        (
            "Content-Type: application/vscode-jsonrpc\r\n\r\n",
            "no Content-Length",
        ),
    ];
    for (header, reason) in headers {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut client = start_client(dir.path(), false).await;
        let mut bytes = header.as_bytes().to_vec();
        bytes.extend_from_slice(body);
        client.send_raw(&bytes).await;
        let status = client.wait_for_exit(secs(10)).await;
        assert!(!status.success(), "{header:?}: exited with {status}");
        let stderr = client.stderr();
        assert!(
            stderr.contains("cannot be read any more") && stderr.contains(reason),
            "{header:?}: {stderr}"
        );
        // The client was told before the server went.
        let errors = errors_answering(&client, &Value::Null);
        assert_eq!(errors.len(), 1, "{header:?}: {errors:?}");
        assert!(
            errors[0]["message"]
                .as_str()
                .is_some_and(|message| message.contains(reason)),
            "{header:?}: {errors:?}"
        );
    }
}

#[tokio::test]
async fn a_change_inside_a_surrogate_pair_is_refused_loudly_and_reopening_resyncs() {
    let text = format!("// 😀 smile\n{ADD_RS}");
    let fixture = Fixture::new(&[("src/lib.rs", &text)], false).await;
    fixture
        .mock
        .push(answer(&format!("// 😀 smile\n{ADD_FIXED}")));
    let uri = fixture.open("src/lib.rs", "rust").await;
    fixture
        .delegate(&uri, range(2, 4, 2, 4), "Fix the bug")
        .await;
    fixture.wait_proposals(&uri, 1).await;
    assert!(!hover_on_the_hunk(&fixture.client, &uri).await.is_null());

    // `// ` is three UTF-16 units and the emoji two: character 4 cuts it in half.
    fixture
        .client
        .notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": 2 },
                "contentChanges": [{ "range": range(0, 4, 0, 4), "text": "x" }],
            }),
        )
        .await;
    let message = wait_message_containing(&fixture.client, "lost track", secs(10)).await;
    assert_eq!(message["type"], 1, "an error: {message}");
    assert!(
        message["message"]
            .as_str()
            .is_some_and(|m| m.contains("inside a multi-unit character")),
        "{message}"
    );
    fixture.wait_proposals(&uri, 0).await;
    // Forgotten, not guessed at: the server no longer answers from its copy.
    assert!(hover_on_the_hunk(&fixture.client, &uri).await.is_null());

    // Reopening with the editor's text brings the proposal back.
    fixture.client.close(&uri).await;
    fixture.client.open(&uri, "rust", &text).await;
    fixture.wait_proposals(&uri, 1).await;
    assert!(!hover_on_the_hunk(&fixture.client, &uri).await.is_null());
}
