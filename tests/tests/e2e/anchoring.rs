//! User edits while proposals are open: edits elsewhere move them, edits into
//! them conflict them, and a conflicted hunk is never applied.

use crate::support::*;
use director_e2e::mock_openai::Reply;
use director_e2e::{range, secs};
use serde_json::json;

#[tokio::test]
async fn an_edit_above_a_hunk_shifts_it_and_accept_still_lands_right() {
    let (fixture, uri) = Fixture::with_add_proposal(false).await;

    fixture
        .client
        .change(&uri, range(0, 0, 0, 0), "// Adds.\n// Really.\n")
        .await;
    let shifted = fixture
        .client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| {
                proposals_in(params)
                    .first()
                    .is_some_and(|p| p["range"] == range(3, 6, 3, 7))
            },
            secs(10),
        )
        .await;
    assert_eq!(proposals_in(&shifted)[0]["severity"], 3);

    fixture
        .execute("director.accept", json!({ "hunk": 1 }))
        .await
        .unwrap();
    assert_eq!(
        fixture.client.text(&uri),
        format!("// Adds.\n// Really.\n{ADD_FIXED}")
    );
}

#[tokio::test]
async fn an_edit_into_a_hunk_conflicts_it_and_accept_is_withdrawn() {
    let (fixture, uri) = Fixture::with_add_proposal(false).await;

    // The user replaces the very character the agent wanted to change.
    fixture.client.change(&uri, range(1, 6, 1, 7), "*").await;
    let conflicted = fixture
        .wait_proposals_where(&uri, |proposals| {
            proposals.first().is_some_and(|p| p["severity"] == 2)
        })
        .await;
    let diagnostic = &conflicted[0];
    assert!(
        diagnostic["message"]
            .as_str()
            .unwrap()
            .contains("conflicted")
    );

    let actions = fixture
        .code_actions(&uri, range(1, 6, 1, 6), vec![diagnostic.clone()])
        .await;
    let titles = titles(&actions);
    assert!(
        !titles
            .iter()
            .any(|title| title.starts_with("Accept this edit")),
        "{titles:?}"
    );
    assert!(
        titles.iter().any(|title| title == "Refine run 1"),
        "{titles:?}"
    );

    let refused = fixture
        .execute("director.accept", json!({ "hunk": 1 }))
        .await;
    assert!(refused.is_err(), "a conflicted hunk must not be accepted");
    assert_eq!(
        fixture.client.text(&uri),
        "pub fn add(a: i32, b: i32) -> i32 {\n    a * b\n}\n"
    );
    assert!(
        fixture
            .client
            .server_requests("workspace/applyEdit")
            .is_empty()
    );
}

#[tokio::test]
async fn an_editor_that_moved_on_refuses_the_versioned_edit() {
    let (fixture, uri) = Fixture::with_add_proposal(false).await;
    fixture.client.set_refuse_edits(true);
    let refused = fixture
        .execute("director.accept", json!({ "hunk": 1 }))
        .await;
    let error = refused.expect_err("the client refused the edit");
    assert!(error.message.contains("not applied"), "{}", error.message);
    fixture.client.set_refuse_edits(false);
    // The hunk is open again and can be accepted once the editor agrees.
    fixture
        .execute("director.accept", json!({ "hunk": 1 }))
        .await
        .unwrap();
    assert_eq!(fixture.client.text(&uri), ADD_FIXED);
}

#[tokio::test]
async fn an_edit_inside_the_region_while_the_agent_works_conflicts_its_answer() {
    let fixture = Fixture::new(&[("src/lib.rs", ADD_RS)], false).await;
    fixture.mock.push(Reply::Stream {
        chunks: vec!["```rust\n".into(), ADD_FIXED.into(), "```\n".into()],
        usage: None,
        delay: std::time::Duration::from_millis(400),
    });
    let uri = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&uri, range(1, 4, 1, 4), "Fix the bug")
        .await;
    fixture.wait_run_state(run, "running").await;
    fixture.client.change(&uri, range(1, 4, 1, 4), "0 + ").await;
    let proposals = fixture
        .wait_proposals_where(&uri, |proposals| {
            proposals.first().is_some_and(|p| p["severity"] == 2)
        })
        .await;
    assert_eq!(proposals.len(), 1);
    assert!(
        fixture
            .execute("director.accept", json!({ "hunk": 1 }))
            .await
            .is_err()
    );
}
