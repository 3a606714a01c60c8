//! Validation: an answer that adds syntax errors goes back to the agent with
//! the errors, a bounded number of times, before it is proposed with a warning.

use crate::support::*;
use director_e2e::{range, secs};

const BROKEN: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a + (b\n}\n";

#[tokio::test]
async fn a_broken_answer_is_retried_once_and_the_fixed_one_is_proposed() {
    let fixture = Fixture::new(&[("src/lib.rs", ADD_RS)], false).await;
    fixture.mock.push(answer(BROKEN));
    fixture.mock.push(answer(ADD_FIXED));
    let uri = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&uri, range(1, 4, 1, 4), "Fix the bug")
        .await;
    let record = fixture.wait_run_state(run, "proposed").await;
    assert!(record["reason"].is_null(), "{record:#?}");
    let requests = fixture.mock.requests();
    assert_eq!(requests.len(), 2);
    let follow_up = requests[1].body.to_string();
    assert!(
        follow_up.contains("does not pass validation"),
        "{follow_up}"
    );
    assert!(follow_up.contains("does not parse as Rust"), "{follow_up}");
    let proposals = fixture.wait_proposals(&uri, 1).await;
    let hunk = proposals[0]["data"]["hunk"].as_u64().expect("hunk id");
    fixture
        .execute("director.accept", serde_json::json!({ "hunk": hunk }))
        .await
        .expect("accept");
    assert_eq!(fixture.client.text(&uri), ADD_FIXED);
}

#[tokio::test]
async fn an_answer_broken_every_time_is_proposed_with_a_warning_after_the_retries() {
    let fixture = Fixture::new(&[("src/lib.rs", ADD_RS)], false).await;
    for _ in 0..3 {
        fixture.mock.push(answer(BROKEN));
    }
    let uri = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&uri, range(1, 4, 1, 4), "Fix the bug")
        .await;
    let record = fixture.wait_run_state(run, "proposed").await;
    assert_eq!(fixture.mock.requests().len(), 3);
    assert!(
        record["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("does not parse as Rust")),
        "{record:#?}"
    );
    fixture
        .client
        .wait_notification(
            "$/progress",
            |report| {
                report["value"]["message"]
                    .as_str()
                    .is_some_and(|message| message.contains("2/2: syntax errors"))
            },
            secs(10),
        )
        .await;
}
