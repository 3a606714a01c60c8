//! The journal: proposals survive a restart, a crash mid-run leaves the run
//! interrupted, and `director runs` reads it from a terminal.

use crate::support::*;
use director_e2e::mock_openai::Reply;
use director_e2e::{director_binary, range};
use serde_json::json;

#[tokio::test]
async fn open_proposals_come_back_after_a_restart() {
    let mut fixture =
        Fixture::new(&[("src/lib.rs", ADD_RS), ("src/other.rs", ADD_RS)], false).await;
    fixture.mock.push(answer(ADD_FIXED));
    fixture.mock.push(answer(ADD_FIXED));
    let uri = fixture.open("src/lib.rs", "rust").await;
    let other = fixture.open("src/other.rs", "rust").await;
    fixture
        .delegate(&uri, range(1, 4, 1, 4), "Fix the bug")
        .await;
    fixture.wait_proposals(&uri, 1).await;
    fixture
        .delegate(&other, range(1, 4, 1, 4), "Fix the bug")
        .await;
    fixture.wait_proposals(&other, 1).await;
    fixture.client.shutdown_and_exit().await;

    let gitignore = std::fs::read_to_string(fixture.path(".director/.gitignore")).unwrap();
    assert!(gitignore.lines().any(|line| line == "*"));

    // other.rs changed on disk where the hunk was: that proposal is stale.
    std::fs::write(
        fixture.path("src/other.rs"),
        ADD_RS.replace("a - b", "b - a"),
    )
    .unwrap();
    fixture.client = start_client(fixture.dir.path(), false).await;
    let uri = fixture.open("src/lib.rs", "rust").await;
    let restored = fixture.wait_proposals(&uri, 1).await;
    assert_eq!(restored[0]["range"], range(1, 6, 1, 7));
    assert_eq!(restored[0]["severity"], 3);
    let other = fixture.open("src/other.rs", "rust").await;
    let stale = fixture.wait_proposals(&other, 1).await;
    assert_eq!(stale[0]["severity"], 2);
    assert!(stale[0]["message"].as_str().unwrap().contains("stale"));

    fixture
        .execute("director.accept", json!({ "hunk": 1 }))
        .await
        .unwrap();
    assert_eq!(fixture.client.text(&uri), ADD_FIXED);
    assert!(
        fixture
            .execute("director.accept", json!({ "hunk": 2 }))
            .await
            .is_err()
    );
    fixture.wait_run_state(1, "settled").await;
}

#[tokio::test]
async fn a_run_in_flight_when_the_server_is_killed_is_interrupted_after_restart() {
    let mut fixture = Fixture::new(&[("src/lib.rs", ADD_RS)], false).await;
    fixture.mock.push(Reply::Stall);
    let uri = fixture.open("src/lib.rs", "rust").await;
    let run = fixture.delegate(&uri, range(1, 4, 1, 4), "Hang").await;
    fixture.wait_agent_requests(1).await;
    fixture.client.kill().await;

    fixture.client = start_client(fixture.dir.path(), false).await;
    let record = fixture.wait_run_state(run, "interrupted").await;
    assert_eq!(
        record["reason"],
        "the server stopped while the run was in flight"
    );
    // New runs continue the numbering.
    fixture.mock.push(answer(ADD_FIXED));
    let uri = fixture.open("src/lib.rs", "rust").await;
    assert_eq!(
        fixture.delegate(&uri, range(1, 4, 1, 4), "Fix").await,
        run + 1
    );
    fixture.wait_proposals(&uri, 1).await;

    let output = std::process::Command::new(director_binary())
        .args(["runs", "--workspace"])
        .arg(fixture.dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let table = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("ID  AGENT  STATE"), "{table}");
    assert!(
        lines[1].starts_with("2   mock   proposed     src/lib.rs"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("1   mock   interrupted  src/lib.rs"),
        "{table}"
    );
    assert!(lines[3].starts_with("2 runs, 150 tokens"), "{table}");
}

#[tokio::test]
async fn the_runs_request_returns_a_run_with_its_transcript() {
    let (fixture, _uri) = Fixture::with_add_proposal(false).await;
    let detail = fixture
        .client
        .request("director/run", json!({ "run": 1 }))
        .await
        .unwrap();
    assert_eq!(detail["run"]["state"], "proposed");
    assert_eq!(detail["run"]["agent"], "mock");
    assert!(
        detail["transcript"]["answer"]
            .as_str()
            .unwrap()
            .contains("a + b")
    );
    assert_eq!(detail["transcript"]["messages"][0]["role"], "system");
    assert_eq!(detail["proposals"][0]["baseText"], "-");
    assert_eq!(detail["proposals"][0]["newText"], "+");
    assert_eq!(detail["proposals"][0]["range"], range(1, 6, 1, 7));
    let missing = fixture
        .client
        .request("director/run", json!({ "run": 99 }))
        .await;
    assert_eq!(missing.unwrap_err().code, -32602);
}

#[tokio::test]
async fn review_findings_come_back_after_a_restart_but_not_a_dismissed_one() {
    const SUB_RS: &str =
        "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n\npub fn unused() {}\n";
    let mut fixture = Fixture::new(&[("src/lib.rs", SUB_RS)], false).await;
    fixture.mock.push(Reply::stream(
        &[
            "- line 2: error: subtracts where the name says add\n",
            "  ```rust\n      a + b\n  ```\n",
            "- line 5: hint: `unused` is never called\n",
        ],
        None,
    ));
    let uri = fixture.open("src/lib.rs", "rust").await;
    let actions = fixture
        .code_actions(&uri, range(0, 0, 0, 0), Vec::new())
        .await;
    fixture
        .run_action(&actions, &format!("Review file with {AGENT}"))
        .await
        .expect("review");
    let findings = fixture
        .wait_diagnostics_where(&uri, "finding", |findings| findings.len() == 2)
        .await;
    let hint = findings[1].clone();
    let actions = fixture
        .code_actions(&uri, hint["range"].clone(), vec![hint])
        .await;
    fixture
        .run_action(&actions, "Dismiss finding (run 1)")
        .await
        .expect("dismiss");
    fixture
        .wait_diagnostics_where(&uri, "finding", |findings| findings.len() == 1)
        .await;
    fixture.client.shutdown_and_exit().await;

    // A line inserted above the finding while the server was down: it follows
    // its lines.
    std::fs::write(fixture.path("src/lib.rs"), format!("// moved\n{SUB_RS}")).unwrap();
    fixture.client = start_client(fixture.dir.path(), false).await;
    let uri = fixture.open("src/lib.rs", "rust").await;
    let restored = fixture
        .wait_diagnostics_where(&uri, "finding", |findings| !findings.is_empty())
        .await;
    assert_eq!(restored.len(), 1, "{restored:#?}");
    assert_eq!(restored[0]["range"]["start"]["line"], 2);
    assert!(
        restored[0]["message"]
            .as_str()
            .is_some_and(|message| message.contains("subtracts")),
        "{restored:#?}"
    );
    // Its fix still applies.
    let error = restored[0].clone();
    let actions = fixture
        .code_actions(&uri, error["range"].clone(), vec![error])
        .await;
    fixture
        .run_action(&actions, "Apply fix (run 1)")
        .await
        .expect("apply fix");
    fixture.wait_proposals(&uri, 1).await;
}

#[tokio::test]
async fn refining_a_task_run_after_a_restart_continues_it_as_a_task_run() {
    const TASKS_MD: &str = "# Tasks\n\n- [ ] 1. Fix add\n";
    let mut fixture = Fixture::new(&[("src/lib.rs", ADD_RS), ("tasks.md", TASKS_MD)], false).await;
    fixture.mock.push(Reply::stream(
        &["src/lib.rs\n```\n<<<<<<< SEARCH\n    a -- b\n=======\n    a + b\n>>>>>>> REPLACE\n```\n"],
        None,
    ));
    let tasks = fixture.open("tasks.md", "markdown").await;
    let run = fixture
        .execute(
            "director.delegateTask",
            json!({ "uri": tasks, "range": range(2, 0, 3, 0), "agent": AGENT, "instruction": "Fix add" }),
        )
        .await
        .unwrap()["run"]
        .as_u64()
        .unwrap();
    fixture.wait_run_state(run, "failed").await;
    fixture.client.shutdown_and_exit().await;

    // The run is history now: the workspace holds no open work of it.
    fixture.client = start_client(fixture.dir.path(), false).await;
    let fixed =
        "src/lib.rs\n```\n<<<<<<< SEARCH\n    a - b\n=======\n    a + b\n>>>>>>> REPLACE\n```\n";
    fixture.mock.push(Reply::stream(&[fixed], None));
    let lib = fixture.open("src/lib.rs", "rust").await;
    let refined = fixture.refine(run, "Try again").await;
    fixture.wait_run_state(refined, "proposed").await;
    fixture.wait_proposals(&lib, 1).await;
    // The task path: the failed blocks go back to the agent, and its blocks
    // are read as edits to files (a region run would want one code block).
    let request = &fixture.mock.requests()[1].body;
    let messages = request["messages"].as_array().unwrap();
    let last = messages.last().unwrap()["content"].as_str().unwrap();
    assert!(last.contains("Try again"), "{last}");
    assert!(
        last.contains("block 1 (src/lib.rs): the SEARCH part matches no lines"),
        "{last}"
    );
}
