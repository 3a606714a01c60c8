//! Proves the LSP client harness against `fixtures/fake_lsp_server.py`, a
//! scriptable peer, so e2e failures can be trusted to be the server's.

#![allow(clippy::unwrap_used)]

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use director_e2e::lsp_positions::PositionEncoding;
use director_e2e::{LspClient, ResponseError, director_binary, file_uri, range, secs};
use serde_json::{Value, json};
use tempfile::TempDir;

const FAKE_SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/fake_lsp_server.py");

/// A text with a surrogate pair, CJK and CRLF line ends.
const MIXED_TEXT: &str = "fn 😀() {}\r\n// 漢字 ok\r\n";

struct Fake {
    client: LspClient,
    workspace: TempDir,
}

async fn start_fake(offer_utf8: bool) -> Fake {
    let workspace = tempfile::tempdir().unwrap();
    let client =
        LspClient::spawn(Path::new("python3"), &[FAKE_SERVER], workspace.path(), &[]).await;
    client
        .initialize(&file_uri(workspace.path()), offer_utf8, Value::Null)
        .await;
    Fake { client, workspace }
}

impl Fake {
    fn uri(&self, name: &str) -> String {
        file_uri(self.workspace.path().join(name))
    }

    /// Has the fake send `method` to the client and returns the client's
    /// answer with every message the client sent before answering.
    async fn ask_client(&self, method: &str, params: Value) -> (Value, Vec<Value>) {
        let reply = self
            .client
            .request("fake/ask", json!({ "method": method, "params": params }))
            .await
            .unwrap();
        let before = reply["receivedBefore"].as_array().unwrap().clone();
        (reply["answer"].clone(), before)
    }

    async fn received_by_fake(&self) -> Vec<Value> {
        let received = self
            .client
            .request("fake/received", Value::Null)
            .await
            .unwrap();
        received.as_array().unwrap().clone()
    }
}

fn versioned_edit(uri: &str, version: i32, edits: Value) -> Value {
    json!({ "label": "test", "edit": { "documentChanges": [
        { "textDocument": { "uri": uri, "version": version }, "edits": edits }
    ]}})
}

#[tokio::test]
async fn utf8_bodies_survive_byte_by_byte_writes_and_unusual_headers() {
    let fake = start_fake(false).await;
    let payload = json!({ "text": "漢字 😀 naïve\r\n", "n": 1 });
    assert_eq!(
        fake.client
            .request("fake/echo", payload.clone())
            .await
            .unwrap(),
        payload
    );
    assert_eq!(
        fake.client
            .request("fake/chunked", payload.clone())
            .await
            .unwrap(),
        payload
    );
    assert!(
        fake.client.protocol_errors().is_empty(),
        "{:?}",
        fake.client.protocol_errors()
    );
}

#[tokio::test]
async fn batched_chunked_notifications_are_queued_and_consumed_in_order() {
    let fake = start_fake(false).await;
    let ticks: Vec<Value> = (1..=3)
        .map(|n| json!({ "method": "fake/tick", "params": { "n": n, "text": "é😀" } }))
        .collect();
    let answer = fake
        .client
        .request(
            "fake/notifyThenAnswer",
            json!({ "notifications": ticks, "chunked": true }),
        )
        .await
        .unwrap();
    assert_eq!(answer, "answered");

    let second = fake
        .client
        .wait_notification("fake/tick", |params| params["n"] == 2, secs(1))
        .await;
    assert_eq!(second["n"], 2);
    let first = fake
        .client
        .wait_notification("fake/tick", |_| true, secs(1))
        .await;
    assert_eq!(first["n"], 1);
    let third = fake
        .client
        .wait_notification("fake/tick", |_| true, secs(1))
        .await;
    assert_eq!(third["n"], 3);
    assert_eq!(fake.client.notifications("fake/tick").len(), 3);
}

#[tokio::test]
async fn wait_notification_sees_notifications_that_arrive_later() {
    let fake = start_fake(false).await;
    let later = json!({ "notifications": [{ "method": "fake/later", "params": { "ok": true } }] });
    let (waited, answered) = tokio::join!(
        fake.client
            .wait_notification("fake/later", |params| params["ok"] == true, secs(5)),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            fake.client.request("fake/notifyThenAnswer", later).await
        },
    );
    assert_eq!(waited, json!({ "ok": true }));
    assert_eq!(answered.unwrap(), "answered");
}

#[tokio::test]
async fn concurrent_requests_get_their_own_answers() {
    let fake = start_fake(false).await;
    let (first, second, third) = tokio::join!(
        fake.client.request("fake/chunked", json!(1)),
        fake.client.request("fake/echo", json!("two")),
        fake.client.request("fake/chunked", json!([3])),
    );
    assert_eq!(
        (first.unwrap(), second.unwrap(), third.unwrap()),
        (json!(1), json!("two"), json!([3]))
    );
}

#[tokio::test]
async fn error_answers_become_response_errors() {
    let fake = start_fake(false).await;
    let error = fake
        .client
        .request("fake/fail", json!({ "message": "no luck" }))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ResponseError {
            code: -32001,
            message: "no luck".into(),
            data: Some(json!({ "why": "asked" }))
        }
    );
    let unknown = fake
        .client
        .request("fake/nothing", Value::Null)
        .await
        .unwrap_err();
    assert_eq!(unknown.code, -32601);
}

#[tokio::test]
async fn routine_server_requests_are_answered_and_recorded() {
    let fake = start_fake(false).await;
    let (progress, _) = fake
        .ask_client("window/workDoneProgress/create", json!({ "token": "t" }))
        .await;
    assert_eq!(progress["result"], Value::Null);
    assert!(progress.get("error").is_none());
    let items = json!({ "items": [{ "section": "director" }, { "section": "other" }] });
    let (configuration, _) = fake.ask_client("workspace/configuration", items).await;
    assert_eq!(configuration["result"], json!([null, null]));
    let (unknown, _) = fake
        .ask_client("window/showDocument", json!({ "uri": "file:///x" }))
        .await;
    assert_eq!(unknown["error"]["code"], -32601);

    let recorded = fake.client.server_requests("workspace/configuration");
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].answer, Ok(json!([null, null])));
}

#[tokio::test]
async fn change_sends_an_incremental_did_change_with_the_next_version() {
    let fake = start_fake(false).await;
    let uri = fake.uri("a.rs");
    fake.client.open(&uri, "rust", MIXED_TEXT).await;
    fake.client.change(&uri, range(0, 3, 0, 5), "main").await;
    assert_eq!(fake.client.text(&uri), "fn main() {}\r\n// 漢字 ok\r\n");
    assert_eq!(fake.client.version(&uri), 2);

    let received = fake.received_by_fake().await;
    let methods: Vec<&str> = received
        .iter()
        .filter_map(|message| message["method"].as_str())
        .collect();
    assert_eq!(
        methods,
        [
            "initialize",
            "initialized",
            "textDocument/didOpen",
            "textDocument/didChange"
        ]
    );
    assert_eq!(received[2]["params"]["textDocument"]["version"], 1);
    assert_eq!(received[2]["params"]["textDocument"]["text"], MIXED_TEXT);
    assert_eq!(
        received[3]["params"],
        json!({
            "textDocument": { "uri": uri, "version": 2 },
            "contentChanges": [{ "range": range(0, 3, 0, 5), "text": "main" }],
        })
    );
}

/// Applies the same edit (given in each encoding's units) and checks the
/// buffer, the version and that `didChange` reached the server first.
async fn check_apply_edit(offer_utf8: bool, emoji_range: Value, kanji_range: Value) {
    let fake = start_fake(offer_utf8).await;
    let expected_encoding = if offer_utf8 {
        PositionEncoding::Utf8
    } else {
        PositionEncoding::Utf16
    };
    assert_eq!(fake.client.position_encoding(), expected_encoding);
    let uri = fake.uri("a.rs");
    fake.client.open(&uri, "rust", MIXED_TEXT).await;
    let edits = json!([
        { "range": emoji_range, "newText": "main" },
        { "range": kanji_range, "newText": "kanji" },
    ]);
    let (answer, before) = fake
        .ask_client("workspace/applyEdit", versioned_edit(&uri, 1, edits))
        .await;

    assert_eq!(answer["result"], json!({ "applied": true }));
    assert_eq!(fake.client.text(&uri), "fn main() {}\r\n// kanji ok\r\n");
    assert_eq!(fake.client.version(&uri), 2);
    assert_eq!(
        before.len(),
        1,
        "exactly one didChange before the answer: {before:?}"
    );
    assert_eq!(before[0]["method"], "textDocument/didChange");
    assert_eq!(before[0]["params"]["textDocument"]["version"], 2);
    let changes = &before[0]["params"]["contentChanges"];
    assert_eq!(
        changes[0],
        json!({ "range": kanji_range, "text": "kanji" }),
        "last edit first"
    );
    assert_eq!(changes[1], json!({ "range": emoji_range, "text": "main" }));
}

#[tokio::test]
async fn apply_edit_in_utf16_updates_the_buffer_and_reports_it_before_answering() {
    check_apply_edit(false, range(0, 3, 0, 5), range(1, 3, 1, 5)).await;
}

#[tokio::test]
async fn apply_edit_in_utf8_updates_the_buffer_and_reports_it_before_answering() {
    check_apply_edit(true, range(0, 3, 0, 7), range(1, 3, 1, 9)).await;
}

#[tokio::test]
async fn apply_edit_for_a_stale_version_is_refused_like_an_editor() {
    let fake = start_fake(false).await;
    let uri = fake.uri("a.rs");
    fake.client.open(&uri, "rust", MIXED_TEXT).await;
    fake.client.change(&uri, range(1, 0, 1, 0), "x").await;
    let edits = json!([{ "range": range(0, 3, 0, 5), "newText": "main" }]);
    let (answer, before) = fake
        .ask_client("workspace/applyEdit", versioned_edit(&uri, 1, edits))
        .await;

    assert_eq!(answer["result"]["applied"], false);
    let reason = answer["result"]["failureReason"].as_str().unwrap();
    assert!(
        reason.contains("version 2") && reason.contains("version 1"),
        "{reason}"
    );
    assert!(
        before.is_empty(),
        "no didChange for a refused edit: {before:?}"
    );
    assert_eq!(fake.client.text(&uri), "fn 😀() {}\r\nx// 漢字 ok\r\n");
    assert_eq!(fake.client.version(&uri), 2);
}

#[tokio::test]
async fn a_client_told_to_refuse_edits_refuses_them() {
    let fake = start_fake(false).await;
    let uri = fake.uri("a.rs");
    fake.client.open(&uri, "rust", "abc").await;
    fake.client.set_refuse_edits(true);
    let edits = json!([{ "range": range(0, 0, 0, 1), "newText": "A" }]);
    let (answer, _) = fake
        .ask_client("workspace/applyEdit", versioned_edit(&uri, 1, edits))
        .await;
    assert_eq!(answer["result"]["applied"], false);
    assert_eq!(fake.client.text(&uri), "abc");
}

#[tokio::test]
async fn edits_the_server_sends_on_its_own_can_be_awaited() {
    let fake = start_fake(false).await;
    let uri = fake.uri("tasks.md");
    fake.client
        .open(&uri, "markdown", "- [ ] 1. Build it\n")
        .await;
    let edit = json!({ "edit": { "changes": { &uri: [{ "range": range(0, 3, 0, 4), "newText": "-" }] } } });
    let params = json!({ "method": "workspace/applyEdit", "params": edit });
    fake.client
        .request("fake/askWithoutWaiting", params)
        .await
        .unwrap();

    let recorded = fake
        .client
        .wait_server_request("workspace/applyEdit", |_| true, secs(5))
        .await;
    assert_eq!(recorded.answer, Ok(json!({ "applied": true })));
    assert_eq!(fake.client.text(&uri), "- [-] 1. Build it\n");
}

#[tokio::test]
async fn raw_bytes_reach_the_server_unchanged() {
    let fake = start_fake(false).await;
    let body = r#"{"jsonrpc":"2.0","method":"raw/ping","params":"é"}"#;
    let header = format!("Content-Length: {}\r\n\r\n", body.len());
    fake.client.send_raw(header.as_bytes()).await;
    fake.client.send_raw(body.as_bytes()).await;
    let received = fake.received_by_fake().await;
    assert_eq!(
        received.last().unwrap(),
        &json!({ "jsonrpc": "2.0", "method": "raw/ping", "params": "é" })
    );
}

#[tokio::test]
async fn unparsable_server_output_is_recorded_as_a_protocol_error() {
    let fake = start_fake(false).await;
    fake.client
        .request("fake/garbage", Value::Null)
        .await
        .unwrap();
    let errors = fake.client.protocol_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("not JSON"), "{errors:?}");
}

#[tokio::test]
async fn a_request_timeout_panics_with_the_traffic_and_the_server_stderr() {
    let fake = start_fake(false).await;
    fake.client
        .request("fake/stderr", json!({ "text": "stderr-marker-4711\n" }))
        .await
        .unwrap();
    let client = Arc::new(fake.client);
    let waiting = Arc::clone(&client);
    let outcome = tokio::spawn(async move {
        waiting
            .request_with_timeout("fake/never", json!({ "x": 1 }), Duration::from_millis(200))
            .await
    })
    .await;

    let panic = outcome.unwrap_err().into_panic();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("no answer to fake/never"), "{message}");
    assert!(
        message.contains(r#"-> {"id":"#) && message.contains(r#""method":"fake/never""#),
        "{message}"
    );
    assert!(message.contains("<- "), "{message}");
    assert!(message.contains("stderr-marker-4711"), "{message}");
    assert!(client.stderr().contains("stderr-marker-4711"));
}

#[tokio::test]
async fn shutdown_then_exit_ends_the_process_with_success() {
    let mut fake = start_fake(false).await;
    fake.client.shutdown_and_exit().await;
}

#[tokio::test]
async fn exit_without_shutdown_and_kill_are_observable() {
    let mut fake = start_fake(false).await;
    fake.client.notify("exit", Value::Null).await;
    assert_eq!(fake.client.wait_for_exit(secs(5)).await.code(), Some(1));

    let mut other = start_fake(false).await;
    assert_eq!(other.client.kill().await.signal(), Some(9));
}

#[test]
fn the_director_binary_is_built_and_found() {
    let binary = director_binary();
    assert!(binary.is_file(), "{}", binary.display());
    assert_eq!(binary.file_name().unwrap(), "director");
}
