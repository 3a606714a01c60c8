//! Workflows: `[workflows.NAME]` offered as a code action and run as one run
//! through its steps (implement → validate → review) with two agents on two
//! loopback mocks: the implementer's fixed answer becomes the proposals, the
//! reviewer's findings diagnostics, and the transcript lists the steps.

use crate::support::*;
use director_e2e::mock_openai::{MockOpenAi, Reply};
use director_e2e::{LspClient, file_uri, range, secs};
use serde_json::{Value, json};

/// Valid Rust that the implementer's check refuses.
const FLAGGED: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b // BROKEN\n}\n";

struct WorkflowFixture {
    fixture: Fixture,
    reviewer: MockOpenAi,
}

/// A trusted workspace with agents `coder` (with a check) and `critic`, each on
/// its own mock, and the workflow `ship`.
async fn workflow_fixture() -> WorkflowFixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let coder = MockOpenAi::start().await.expect("mock server");
    let reviewer = MockOpenAi::start().await.expect("mock server");
    write_files(dir.path(), &[("src/lib.rs", ADD_RS)]);
    let config = format!(
        r#"[agents.coder]
kind = "openai"
base_url = "{}"
model = "coder-model"
timeout = 5
check = ["sh", "-c", "! grep -rn BROKEN src"]
validation_retries = 1

[agents.critic]
kind = "openai"
base_url = "{}"
model = "critic-model"
timeout = 5

[workflows.ship]
description = "Implement, check, review"
steps = [
  {{ agent = "coder", instruction = "Fix the bug" }},
  {{ check = true }},
  {{ agent = "critic", review = true }},
]
"#,
        coder.url(),
        reviewer.url()
    );
    std::fs::write(dir.path().join("director.toml"), config).expect("config");
    let client = LspClient::start(dir.path()).await;
    client
        .initialize(&file_uri(dir.path()), false, json!({ "trusted": true }))
        .await;
    WorkflowFixture {
        fixture: Fixture {
            dir,
            mock: coder,
            client,
        },
        reviewer,
    }
}

async fn wait_progress(fixture: &Fixture, text: &str) -> Value {
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
async fn a_workflow_implements_validates_and_reviews_in_one_run() {
    let WorkflowFixture { fixture, reviewer } = workflow_fixture().await;
    fixture.mock.push(answer(FLAGGED));
    fixture.mock.push(answer(ADD_FIXED));
    reviewer.push(Reply::stream(
        &["- line 2: warning: may overflow; consider checked_add\n"],
        None,
    ));
    let uri = fixture.open("src/lib.rs", "rust").await;
    let actions = fixture
        .code_actions(&uri, range(1, 4, 1, 4), Vec::new())
        .await;
    let result = fixture
        .run_action(&actions, "Run workflow ship")
        .await
        .expect("runWorkflow");
    let run = result["run"].as_u64().expect("run id");

    let proposals = fixture.wait_proposals(&uri, 1).await;
    let record = fixture.wait_run_state(run, "proposed").await;
    assert_eq!(record["agent"], "coder");
    assert!(
        record["instruction"]
            .as_str()
            .is_some_and(|instruction| instruction.starts_with("Workflow ship: Implement")),
        "{record:#?}"
    );
    assert_eq!(
        record["reason"], "the review by critic found 1 finding",
        "{record:#?}"
    );
    let runs = fixture
        .client
        .request("director/runs", json!({}))
        .await
        .expect("director/runs");
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(1), "one run");

    // The progress of that one run walks through the steps.
    for step in [
        "step 1/3: delegate",
        "step 2/3: validate",
        "step 3/3: review",
    ] {
        wait_progress(&fixture, &format!("run {run} · {step}")).await;
    }
    wait_progress(&fixture, "1/1: the check failed").await;

    // The validate step sent the check's output back to the implementer.
    let coder_requests = fixture.mock.requests();
    assert_eq!(coder_requests.len(), 2);
    let follow_up = coder_requests[1].body.to_string();
    assert!(
        follow_up.contains("src/lib.rs:2:    a + b // BROKEN"),
        "{follow_up}"
    );
    // The reviewer saw the fixed candidate, numbered as the file's lines.
    let review_requests = reviewer.requests();
    assert_eq!(review_requests.len(), 1);
    let review = review_requests[0].body.to_string();
    assert!(review.contains("    2 |     a + b\\n"), "{review}");
    assert!(!review.contains("BROKEN"), "{review}");

    let findings = fixture
        .wait_diagnostics_where(&uri, "finding", |findings| findings.len() == 1)
        .await;
    assert_eq!(findings[0]["range"]["start"]["line"], 1);
    assert_eq!(findings[0]["severity"], 2);
    assert!(
        findings[0]["message"]
            .as_str()
            .is_some_and(|message| message.starts_with("workflow review (run ")
                && message.contains("): critic: may overflow")),
        "{findings:#?}"
    );

    let detail = fixture
        .client
        .request("director/run", json!({ "run": run }))
        .await
        .expect("director/run");
    assert_eq!(
        detail["transcript"]["steps"],
        json!([
            "step 1/3: delegate: coder wrote 3 lines",
            "step 2/3: validate: passed after coder fixed it once",
            "step 3/3: review: critic found 1 finding",
        ]),
        "{detail:#?}"
    );

    // The proposal is the implementer's fixed answer.
    let hunk = proposals[0]["data"]["hunk"].as_u64().expect("hunk id");
    fixture
        .execute("director.accept", json!({ "hunk": hunk }))
        .await
        .expect("accept");
    assert_eq!(fixture.client.text(&uri), ADD_FIXED);
}

#[tokio::test]
async fn an_unknown_workflow_is_refused_with_the_configured_ones() {
    let WorkflowFixture { fixture, .. } = workflow_fixture().await;
    let uri = fixture.open("src/lib.rs", "rust").await;
    let error = fixture
        .execute(
            "director.runWorkflow",
            json!({ "uri": uri, "range": range(1, 4, 1, 4), "workflow": "deploy" }),
        )
        .await
        .expect_err("an unknown workflow");
    assert!(
        error
            .message
            .contains("no workflow named 'deploy' is configured; configured workflows: ship"),
        "{error:?}"
    );
}
