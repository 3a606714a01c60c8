//! Delegate, watch progress, and accept, reject, accept all, refine or cancel.

use crate::support::*;
use director_e2e::mock_openai::Reply;
use director_e2e::{range, secs};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn delegate_streams_progress_then_accepting_a_proposal_edits_the_buffer() {
    let fixture = Fixture::new(&[("src/lib.rs", ADD_RS)], false).await;
    fixture.mock.push(answer(ADD_FIXED));
    let uri = fixture.open("src/lib.rs", "rust").await;

    // An empty selection inside the body widens to the whole function.
    let run = fixture
        .delegate(&uri, range(1, 4, 1, 4), "Fix the bug")
        .await;
    assert_eq!(run, 1);

    let proposals = fixture.wait_proposals(&uri, 1).await;
    let proposal = &proposals[0];
    assert_eq!(proposal["severity"], 3, "an open proposal is Information");
    assert_eq!(
        proposal["range"],
        range(1, 6, 1, 7),
        "the hunk is the one changed character"
    );
    assert_eq!(
        proposal["tags"],
        json!([1]),
        "the replaced text is tagged Unnecessary"
    );
    let message = proposal["message"].as_str().unwrap();
    assert!(
        message.starts_with("mock (run 1): replace 1 line with 1"),
        "{message}"
    );

    // Progress: created by the server, begun, reported, ended.
    let created = fixture
        .client
        .server_requests("window/workDoneProgress/create");
    assert_eq!(created[0].params["token"], "director/run/1");
    let end = fixture
        .client
        .wait_notification("$/progress", |p| p["value"]["kind"] == "end", secs(5))
        .await;
    assert_eq!(end["value"]["message"], "run 1: 1 proposal to review");
    let progress = fixture.client.notifications("$/progress");
    let kinds: Vec<&str> = progress
        .iter()
        .filter_map(|p| p["value"]["kind"].as_str())
        .collect();
    assert_eq!(kinds.first(), Some(&"begin"), "{progress:#?}");
    assert_eq!(kinds.last(), Some(&"end"), "{progress:#?}");
    assert_eq!(progress[0]["value"]["cancellable"], true);

    // The request the agent received: streamed, with the region and the instruction.
    let request = &fixture.mock.requests()[0];
    assert_eq!(request.body["stream"], true);
    assert_eq!(request.body["model"], "mock-model");
    let user = request.body["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("Instruction: Fix the bug"));
    assert!(user.contains("File: src/lib.rs"));
    assert!(user.contains("    a - b"));

    let hover = fixture
        .client
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": { "line": 1, "character": 6 } }),
        )
        .await
        .unwrap();
    let hover_text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        hover_text.contains("-    a - b\n+    a + b\n"),
        "{hover_text}"
    );

    let lenses = fixture
        .client
        .request(
            "textDocument/codeLens",
            json!({ "textDocument": { "uri": uri } }),
        )
        .await
        .unwrap();
    let lens_titles: Vec<&str> = lenses
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|lens| lens["command"]["title"].as_str())
        .collect();
    assert_eq!(lens_titles, ["✓ Accept (run 1)", "✗ Reject"]);

    let actions = fixture
        .code_actions(&uri, range(1, 6, 1, 6), proposals.clone())
        .await;
    let titles = titles(&actions);
    for expected in [
        "Accept this edit (run 1)",
        "Reject this edit (run 1)",
        "Accept all from run 1",
        "Reject all from run 1",
        "Refine run 1",
        "Delegate to mock: Simplify",
    ] {
        assert!(
            titles.iter().any(|title| title == expected),
            "missing {expected:?} in {titles:?}"
        );
    }
    let accepted = fixture
        .run_action(&actions, "Accept this edit (run 1)")
        .await
        .unwrap();
    assert_eq!(accepted["applied"], true);
    assert_eq!(fixture.client.text(&uri), ADD_FIXED);

    // The edit was versioned, and the proposal is gone once applied.
    let edit = &fixture.client.server_requests("workspace/applyEdit")[0];
    assert_eq!(
        edit.params["edit"]["documentChanges"][0]["textDocument"]["version"],
        1
    );
    fixture.wait_proposals(&uri, 0).await;
    let settled = fixture.wait_run_state(1, "settled").await;
    assert_eq!(settled["proposals"]["accepted"], 1);
    assert_eq!(settled["tokens"], 150);
}

#[tokio::test]
async fn rejecting_removes_the_proposal_and_leaves_the_text() {
    let fixture = Fixture::new(&[("src/lib.rs", ADD_RS)], false).await;
    fixture.mock.push(answer(ADD_FIXED));
    let uri = fixture.open("src/lib.rs", "rust").await;
    fixture
        .delegate(&uri, range(0, 0, 3, 0), "Fix the bug")
        .await;
    let proposals = fixture.wait_proposals(&uri, 1).await;
    let actions = fixture
        .code_actions(&uri, range(1, 6, 1, 7), proposals)
        .await;
    fixture
        .run_action(&actions, "Reject this edit (run 1)")
        .await
        .unwrap();
    fixture.wait_proposals(&uri, 0).await;
    assert_eq!(fixture.client.text(&uri), ADD_RS);
    assert!(
        fixture
            .client
            .server_requests("workspace/applyEdit")
            .is_empty()
    );
    let run = fixture.wait_run_state(1, "settled").await;
    assert_eq!(run["proposals"]["rejected"], 1);
}

#[tokio::test]
async fn accept_all_applies_every_hunk_of_the_run_in_one_edit() {
    let (fixture, uri, proposals) = Fixture::with_two_proposals(true).await;
    let actions = fixture
        .code_actions(&uri, range(1, 5, 1, 5), proposals)
        .await;
    fixture
        .run_action(&actions, "Accept all from run 1")
        .await
        .unwrap();
    assert_eq!(fixture.client.text(&uri), TWO_FUNCTIONS_CHANGED);
    assert_eq!(
        fixture.client.server_requests("workspace/applyEdit").len(),
        1
    );
    fixture.wait_proposals(&uri, 0).await;
    fixture.wait_run_state(1, "settled").await;
}

#[tokio::test]
async fn reject_all_drops_every_hunk_of_the_run() {
    let (fixture, uri, _) = Fixture::with_two_proposals(true).await;
    fixture
        .execute("director.rejectAll", json!({ "run": 1 }))
        .await
        .unwrap();
    fixture.wait_proposals(&uri, 0).await;
    assert_eq!(fixture.client.text(&uri), TWO_FUNCTIONS);
    fixture.wait_run_state(1, "settled").await;
}

#[tokio::test]
async fn refine_continues_the_conversation_and_replaces_the_proposals() {
    let fixture = Fixture::new(&[("src/lib.rs", ADD_RS)], false).await;
    fixture.mock.push(answer(ADD_FIXED));
    fixture.mock.push(answer(
        "pub fn add(a: i32, b: i32) -> i32 {\n    a.wrapping_add(b)\n}\n",
    ));
    let uri = fixture.open("src/lib.rs", "rust").await;
    fixture
        .delegate(&uri, range(1, 4, 1, 4), "Fix the bug")
        .await;
    fixture.wait_proposals(&uri, 1).await;

    let refined = fixture
        .execute(
            "director.refine",
            json!({ "run": 1, "feedback": "Do not overflow" }),
        )
        .await
        .unwrap();
    assert_eq!(refined["run"], 2);
    let proposals = fixture
        .client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| {
                let proposals = proposals_in(params);
                proposals.len() == 1 && proposals[0]["data"]["run"] == 2
            },
            secs(10),
        )
        .await;
    assert_eq!(proposals_in(&proposals)[0]["data"]["run"], 2);

    let second = &fixture.mock.requests()[1];
    let roles: Vec<&str> = second.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|message| message["role"].as_str())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert!(
        second.body["messages"][2]["content"]
            .as_str()
            .unwrap()
            .contains("a + b")
    );
    assert!(
        second.body["messages"][3]["content"]
            .as_str()
            .unwrap()
            .contains("Do not overflow")
    );

    let first = fixture.wait_run_state(1, "settled").await;
    assert_eq!(first["reason"], "refined as run 2");
    fixture
        .execute("director.acceptAll", json!({ "run": 2 }))
        .await
        .unwrap();
    assert_eq!(
        fixture.client.text(&uri),
        "pub fn add(a: i32, b: i32) -> i32 {\n    a.wrapping_add(b)\n}\n"
    );
}

#[tokio::test]
async fn cancelling_mid_stream_ends_the_run_without_proposals() {
    let fixture = Fixture::new(&[("src/lib.rs", ADD_RS)], false).await;
    let chunks: Vec<String> = std::iter::once("```rust\n".to_owned())
        .chain((0..200).map(|line| format!("// line {line}\n")))
        .collect();
    fixture.mock.push(Reply::Stream {
        chunks,
        usage: None,
        delay: Duration::from_millis(50),
    });
    let uri = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&uri, range(1, 4, 1, 4), "Write a lot")
        .await;
    fixture
        .client
        .wait_notification(
            "$/progress",
            |p| {
                p["value"]["kind"] == "report"
                    && p["value"]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains(" characters · "))
            },
            secs(10),
        )
        .await;
    let cancelled = fixture
        .execute("director.cancel", json!({ "run": run }))
        .await
        .unwrap();
    assert_eq!(cancelled["cancelled"], true);
    let record = fixture.wait_run_state(run, "cancelled").await;
    assert_eq!(record["reason"], "cancelled by the user");
    let end = fixture
        .client
        .wait_notification("$/progress", |p| p["value"]["kind"] == "end", secs(5))
        .await;
    assert!(
        end["value"]["message"]
            .as_str()
            .unwrap()
            .contains("cancelled")
    );
    // Cancelling again is harmless and says nothing was running.
    let again = fixture
        .execute("director.cancel", json!({ "run": run }))
        .await
        .unwrap();
    assert_eq!(again["cancelled"], false);
}

#[tokio::test]
async fn the_progress_cancel_button_cancels_the_run() {
    let fixture = Fixture::new(&[("src/lib.rs", ADD_RS)], false).await;
    fixture.mock.push(Reply::Stall);
    let uri = fixture.open("src/lib.rs", "rust").await;
    let run = fixture.delegate(&uri, range(1, 4, 1, 4), "Hang").await;
    fixture.wait_run_state(run, "running").await;
    fixture
        .client
        .notify(
            "window/workDoneProgress/cancel",
            json!({ "token": format!("director/run/{run}") }),
        )
        .await;
    fixture.wait_run_state(run, "cancelled").await;
}

#[tokio::test]
async fn max_concurrent_queues_the_runs_beyond_it() {
    let fixture =
        Fixture::with_config(&[("src/lib.rs", ADD_RS)], false, "max_concurrent = 1").await;
    fixture.mock.push(Reply::Stall);
    fixture.mock.push(answer(ADD_FIXED));
    let uri = fixture.open("src/lib.rs", "rust").await;
    let first = fixture.delegate(&uri, range(1, 4, 1, 4), "Hang").await;
    fixture.wait_run_state(first, "running").await;
    let second = fixture.delegate(&uri, range(1, 4, 1, 4), "Fix").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    fixture.wait_run_state(second, "queued").await;
    fixture
        .execute("director.cancel", json!({ "run": first }))
        .await
        .unwrap();
    fixture.wait_run_state(second, "proposed").await;
}
