//! Validation: an answer that adds syntax errors or fails the agent's check
//! command goes back to the agent with the errors, at most `validation_retries`
//! times, before it is proposed with a warning; a command agent is run again in
//! its sandbox the same way.

use crate::support::*;
use director_e2e::mock_openai::MockOpenAi;
use director_e2e::{LspClient, file_uri, range, secs};
use serde_json::{Value, json};

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

/// Valid Rust that the check below refuses.
const FLAGGED: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b // BROKEN\n}\n";
/// A check that fails, quoting the offending lines, while a source file says BROKEN.
const CHECK: &str = "check = [\"sh\", \"-c\", \"! grep -rn BROKEN src\"]";

/// A trusted workspace (a workspace agent's check runs a program) whose `mock`
/// agent has `extra` config lines.
async fn trusted_fixture(config: impl FnOnce(&MockOpenAi) -> String) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let mock = MockOpenAi::start().await.expect("mock server");
    write_files(dir.path(), &[("src/lib.rs", ADD_RS)]);
    std::fs::write(dir.path().join("director.toml"), config(&mock)).expect("config");
    let client = LspClient::start(dir.path()).await;
    client
        .initialize(&file_uri(dir.path()), false, json!({ "trusted": true }))
        .await;
    Fixture { dir, mock, client }
}

async fn progress_saying(fixture: &Fixture, text: &str) -> Value {
    fixture
        .client
        .wait_notification(
            "$/progress",
            |report| {
                report["value"]["message"]
                    .as_str()
                    .is_some_and(|message| message.contains(text))
            },
            secs(10),
        )
        .await
}

#[tokio::test]
async fn an_answer_failing_the_check_goes_back_with_the_check_s_output() {
    let fixture = trusted_fixture(|mock| config_for(mock, CHECK)).await;
    fixture.mock.push(answer(FLAGGED));
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
        follow_up.contains("the check `sh -c ! grep -rn BROKEN src` exited with status 1"),
        "{follow_up}"
    );
    // The check's own output: the offending line of the edited file, in the sandbox.
    assert!(
        follow_up.contains("src/lib.rs:2:    a + b // BROKEN"),
        "{follow_up}"
    );
    progress_saying(&fixture, "validating: `sh -c ! grep -rn BROKEN src`").await;
    progress_saying(&fixture, "1/2: the check failed").await;
    let proposals = fixture.wait_proposals(&uri, 1).await;
    let hunk = proposals[0]["data"]["hunk"].as_u64().expect("hunk id");
    fixture
        .execute("director.accept", json!({ "hunk": hunk }))
        .await
        .expect("accept");
    assert_eq!(fixture.client.text(&uri), ADD_FIXED);
    // The workspace on disk never saw the flagged answer.
    assert_eq!(
        std::fs::read_to_string(fixture.path("src/lib.rs")).expect("read"),
        ADD_RS
    );
}

#[tokio::test]
async fn check_retries_stop_at_validation_retries_and_the_last_errors_are_the_warning() {
    let fixture =
        trusted_fixture(|mock| config_for(mock, &format!("{CHECK}\nvalidation_retries = 1"))).await;
    for _ in 0..3 {
        fixture.mock.push(answer(FLAGGED));
    }
    let uri = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&uri, range(1, 4, 1, 4), "Fix the bug")
        .await;
    let record = fixture.wait_run_state(run, "proposed").await;
    assert_eq!(fixture.mock.requests().len(), 2, "one try and one retry");
    let reason = record["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("the check `sh -c ! grep -rn BROKEN src` exited with status 1"),
        "{record:#?}"
    );
    assert!(reason.contains("src/lib.rs:2:"), "{reason}");
    fixture.wait_proposals(&uri, 1).await;
}

#[tokio::test]
async fn no_validation_retries_proposes_the_first_answer_with_its_warning() {
    let fixture =
        Fixture::with_config(&[("src/lib.rs", ADD_RS)], false, "validation_retries = 0").await;
    fixture.mock.push(answer(BROKEN));
    let uri = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&uri, range(1, 4, 1, 4), "Fix the bug")
        .await;
    let record = fixture.wait_run_state(run, "proposed").await;
    assert_eq!(fixture.mock.requests().len(), 1);
    assert!(
        record["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("does not parse as Rust")),
        "{record:#?}"
    );
}

#[tokio::test]
async fn a_command_agent_is_run_again_in_its_sandbox_until_its_edit_parses() {
    // Breaks the syntax on the first run; fixes the code once told why.
    let script = "case \"$1\" in *'do not pass validation'*) \
printf 'pub fn add(a: i32, b: i32) -> i32 {\\n    a + b\\n}\\n' > src/lib.rs;; \
*) printf 'pub fn add(a: i32, b: i32) -> i32 {\\n    a + (b\\n}\\n' > src/lib.rs;; esac; echo done";
    let fixture = trusted_fixture(|_| {
        format!(
            "[agents.{AGENT}]\nkind = \"command\"\ncommand = [\"sh\", \"-c\", {script:?}, \"agent\", \"{{prompt}}\"]\ntimeout = 10\n"
        )
    })
    .await;
    let uri = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&uri, range(1, 4, 1, 4), "Fix the bug")
        .await;
    let record = fixture.wait_run_state(run, "proposed").await;
    assert!(record["reason"].is_null(), "{record:#?}");
    // A CLI's tokens are not counted: the record has no made-up usage.
    assert_eq!(record["tokens"], 0, "{record:#?}");
    assert!(record["costUsd"].is_null(), "{record:#?}");
    let detail = fixture
        .client
        .request("director/run", json!({ "run": run }))
        .await
        .expect("director/run");
    let messages = detail["transcript"]["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(messages.len(), 3, "{detail:#?}");
    let retry = messages[2]["content"].as_str().unwrap_or_default();
    assert!(
        retry.contains("do not pass validation:\nsrc/lib.rs does not parse as Rust (line "),
        "{retry}"
    );
    let proposals = fixture.wait_proposals(&uri, 1).await;
    let hunk = proposals[0]["data"]["hunk"].as_u64().expect("hunk id");
    fixture
        .execute("director.accept", json!({ "hunk": hunk }))
        .await
        .expect("accept");
    assert_eq!(fixture.client.text(&uri), ADD_FIXED);
}
