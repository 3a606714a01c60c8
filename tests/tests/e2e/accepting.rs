//! Accepts settle however the editor reports them: all hunks of a run in one
//! change or as the whole text, in files the editor has not opened and in
//! files the run creates; and an accept cut short by a crash is neither lost
//! nor applied twice nor applied elsewhere.

use crate::support::*;
use director_e2e::mock_openai::Reply;
use director_e2e::{LspClient, file_uri, range, secs};
use serde_json::json;

const TASKS_MD: &str = "# Tasks\n\n- [ ] 1. Fix add, make twice multiply, add three\n";
const NEW_RS: &str = "pub fn three() -> i32 {\n    3\n}\n";

/// One SEARCH/REPLACE block of an agent's answer (`search` empty creates the file).
fn block(path: &str, search: &str, replace: &str) -> String {
    format!("{path}\n```rust\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n```\n")
}

#[tokio::test]
async fn accept_all_settles_when_the_editor_reports_the_whole_text() {
    let (mut fixture, uri, _) = Fixture::with_two_proposals(false).await;
    fixture.client.set_report_whole_text(true);
    fixture
        .execute("director.acceptAll", json!({ "run": 1 }))
        .await
        .unwrap();
    assert_eq!(fixture.client.text(&uri), TWO_FUNCTIONS_CHANGED);
    fixture.wait_proposals(&uri, 0).await;
    fixture.wait_run_state(1, "settled").await;

    // The decisions were journaled: after a restart the run is settled and
    // nothing comes back to accept again.
    fixture.client.shutdown_and_exit().await;
    fixture.client = start_client(fixture.dir.path(), false).await;
    fixture.wait_run_state(1, "settled").await;
    let uri = fixture.open("src/main.rs", "rust").await;
    assert!(
        fixture
            .execute("director.acceptAll", json!({ "run": 1 }))
            .await
            .is_err()
    );
    assert_eq!(fixture.client.text(&uri), TWO_FUNCTIONS);
}

#[tokio::test]
async fn accept_all_settles_in_files_the_editor_has_not_opened_or_the_run_creates() {
    let dir = tempfile::tempdir().unwrap();
    let mock = director_e2e::mock_openai::MockOpenAi::start()
        .await
        .unwrap();
    write_files(
        dir.path(),
        &[
            ("src/lib.rs", ADD_RS),
            ("src/other.rs", OTHER_RS),
            ("tasks.md", TASKS_MD),
        ],
    );
    std::fs::write(dir.path().join("director.toml"), config_for(&mock, "")).unwrap();
    let client = LspClient::start(dir.path()).await;
    client.set_edit_unopened_files(true);
    client
        .initialize(&file_uri(dir.path()), false, serde_json::Value::Null)
        .await;
    let fixture = Fixture { dir, mock, client };
    // Blocks for the open `src/lib.rs`, the unopened `src/other.rs` and the
    // new `src/new.rs`.
    let blocks = [
        block("src/lib.rs", "    a - b\n", "    a + b\n"),
        block("src/other.rs", "    x + x\n", "    x * 2\n"),
        block("src/new.rs", "", NEW_RS),
    ]
    .join("\n");
    fixture.mock.push(Reply::stream(&[&blocks], None));
    let tasks = fixture.open("tasks.md", "markdown").await;
    let lib = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate_task(&tasks, "Fix add, make twice multiply, add three")
        .await;
    let other = fixture.uri("src/other.rs");
    let new = fixture.uri("src/new.rs");
    fixture.wait_proposals(&lib, 1).await;
    fixture.wait_proposals(&other, 1).await;
    fixture.wait_proposals(&new, 1).await;
    fixture.wait_run_state(run, "proposed").await;
    assert!(!fixture.path("src/new.rs").exists());

    fixture
        .execute("director.acceptAll", json!({ "run": run }))
        .await
        .unwrap_or_else(|error| panic!("acceptAll failed: {error}"));
    assert_eq!(fixture.client.text(&lib), ADD_FIXED);
    assert_eq!(
        std::fs::read_to_string(fixture.path("src/other.rs")).unwrap(),
        OTHER_FIXED
    );
    assert_eq!(
        std::fs::read_to_string(fixture.path("src/new.rs")).unwrap(),
        NEW_RS
    );
    // Every hunk settles: no diagnostics left "applying", the run settled.
    fixture.wait_proposals(&other, 0).await;
    fixture.wait_proposals(&new, 0).await;
    fixture.wait_run_state(run, "settled").await;
}

#[tokio::test]
async fn an_accept_the_editor_applied_as_the_server_died_comes_back_accepted_not_again() {
    // `1` in `retries = 1` is the hunk; the only other `1` is in `LIMIT = 10`.
    let original = "const LIMIT: u32 = 10;\nlet retries = 1;\n";
    let changed = "const LIMIT: u32 = 10;\nlet retries = 2;\n";
    let mut fixture = Fixture::new(&[("src/lib.rs", original)], false).await;
    fixture.mock.push(answer(changed));
    let uri = fixture.open("src/lib.rs", "rust").await;
    fixture
        .delegate(&uri, range(0, 0, 2, 0), "Retry twice")
        .await;
    let proposals = fixture.wait_proposals(&uri, 1).await;
    let hunk = proposals[0]["data"]["hunk"].as_u64().unwrap();

    // The editor applies the edit, then the server is killed before it
    // hears back; the editor saves.
    fixture.client.set_hold_edits(true);
    tokio::select! {
        answer = fixture.execute("director.accept", json!({ "hunk": hunk })) => {
            panic!("the accept was answered without the editor's answer: {answer:?}")
        }
        _ = fixture.client.wait_server_request("workspace/applyEdit", |_| true, secs(15)) => {}
    }
    assert_eq!(fixture.client.text(&uri), changed);
    fixture.client.kill().await;
    std::fs::write(fixture.path("src/lib.rs"), changed).unwrap();

    fixture.client = start_client(fixture.dir.path(), false).await;
    let uri = fixture.open("src/lib.rs", "rust").await;
    fixture.wait_run_state(1, "settled").await;
    let refused = fixture
        .execute("director.accept", json!({ "hunk": hunk }))
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(fixture.client.text(&uri), changed);
    assert!(
        fixture
            .client
            .server_requests("workspace/applyEdit")
            .is_empty()
    );
}
