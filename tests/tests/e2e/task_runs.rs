//! Task runs (`director.delegateTask`) with an HTTP agent: its SEARCH/REPLACE
//! blocks become proposals in every file they edit, opened or not; blocks
//! that do not apply, and paths out of the workspace, fail alone and are told
//! in the run's reason, and a Refine sends them back to the agent. A
//! `command` agent gets the task as its prompt.

use crate::support::*;
use director_e2e::mock_openai::{MockOpenAi, Reply};
use director_e2e::{LspClient, file_uri, range};
use serde_json::json;

const TASKS_MD: &str = "# Tasks\n\n- [ ] 1. Fix add and make twice multiply\n";

/// Blocks for the open `src/lib.rs` and the unopened `src/other.rs`, one that
/// matches nothing and one that escapes the workspace.
const BLOCKS: &str = "I'll change both files.

src/lib.rs
```rust
<<<<<<< SEARCH
    a - b
=======
    a + b
>>>>>>> REPLACE
```

src/other.rs
```rust
<<<<<<< SEARCH
pub fn twice(x: i32) -> i32 {
    x + x
=======
pub fn twice(x: i32) -> i32 {
    x * 2
>>>>>>> REPLACE
```

src/lib.rs
```rust
<<<<<<< SEARCH
pub fn add(a: u32, b: u32) -> u32 {
=======
pub fn add(a: u64, b: u64) -> u64 {
>>>>>>> REPLACE
```

../outside.rs
```rust
<<<<<<< SEARCH
=======
pub fn escaped() {}
>>>>>>> REPLACE
```
";

#[tokio::test]
async fn blocks_become_proposals_in_every_file_and_failed_blocks_are_reported() {
    let fixture = Fixture::new(
        &[
            ("src/lib.rs", ADD_RS),
            ("src/other.rs", OTHER_RS),
            ("tasks.md", TASKS_MD),
        ],
        false,
    )
    .await;
    fixture.mock.push(Reply::stream(&[BLOCKS], Some((300, 80))));
    let tasks = fixture.open("tasks.md", "markdown").await;
    let lib = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .execute(
            "director.delegateTask",
            json!({
                "uri": tasks,
                "range": range(2, 0, 3, 0),
                "agent": AGENT,
                "instruction": "Fix add and make twice multiply",
                "files": ["src/lib.rs", "src/other.rs", "../secret.rs"],
            }),
        )
        .await
        .unwrap_or_else(|error| panic!("delegateTask failed: {error}"))["run"]
        .as_u64()
        .unwrap();

    let in_lib = fixture.wait_proposals(&lib, 1).await;
    let other = fixture.uri("src/other.rs");
    let in_other = fixture.wait_proposals(&other, 1).await;
    let record = fixture.wait_run_state(run, "proposed").await;

    // The agent saw the task and the listed files in full, by path; never a
    // file outside the workspace.
    let request = &fixture.mock.requests()[0].body;
    let prompt = request["messages"][1]["content"].as_str().unwrap();
    assert!(
        prompt.contains("Fix add and make twice multiply"),
        "{prompt}"
    );
    assert!(
        prompt.contains(&format!("src/lib.rs\n```\n{ADD_RS}```")),
        "{prompt}"
    );
    assert!(
        prompt.contains(&format!("src/other.rs\n```\n{OTHER_RS}```")),
        "{prompt}"
    );
    assert!(!prompt.contains("secret"), "{prompt}");

    // The failing block names itself, its file and the closest lines; the
    // escaping path is refused.
    let reason = record["reason"].as_str().unwrap();
    assert!(
        reason.contains(
            "block 3 (src/lib.rs): the SEARCH part matches no lines of the file. The closest \
             lines of the file, lines 1 to 1, are:\n```\npub fn add(a: i32, b: i32) -> i32 {\n```"
        ),
        "{reason}"
    );
    assert!(
        reason.contains("block 4 (../outside.rs): the path ../outside.rs leaves the workspace"),
        "{reason}"
    );
    let detail = fixture
        .client
        .request("director/run", json!({ "run": run }))
        .await
        .unwrap();
    assert_eq!(detail["run"]["reason"], record["reason"]);
    assert!(
        !fixture
            .dir
            .path()
            .parent()
            .unwrap()
            .join("outside.rs")
            .exists()
    );
    // Nothing is written before the user accepts.
    assert_eq!(
        std::fs::read_to_string(fixture.path("src/other.rs")).unwrap(),
        OTHER_RS
    );

    // The unopened file's hunk is accepted with an edit that names no version;
    // this test client edits open buffers only, so it refuses, and takes the
    // edit once the file is open.
    assert_eq!(in_lib[0]["data"]["run"], run);
    let other_hunk = in_other[0]["data"]["hunk"].as_u64().unwrap();
    let refused = fixture
        .execute("director.accept", json!({ "hunk": other_hunk }))
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let requests = fixture.client.server_requests("workspace/applyEdit");
    let change =
        &requests.last().expect("an applyEdit request").params["edit"]["documentChanges"][0];
    assert_eq!(change["textDocument"]["uri"], other);
    assert_eq!(change["textDocument"]["version"], serde_json::Value::Null);
    fixture.open("src/other.rs", "rust").await;
    fixture
        .execute("director.acceptAll", json!({ "run": run }))
        .await
        .unwrap_or_else(|error| panic!("acceptAll failed: {error}"));
    assert_eq!(fixture.client.text(&lib), ADD_FIXED);
    assert_eq!(fixture.client.text(&other), OTHER_FIXED);
}

#[tokio::test]
async fn refining_a_task_run_sends_the_failed_blocks_back() {
    let fixture = Fixture::new(&[("src/lib.rs", ADD_RS), ("tasks.md", TASKS_MD)], false).await;
    fixture.mock.push(Reply::stream(
        &["src/lib.rs\n```\n<<<<<<< SEARCH\n    a -- b\n=======\n    a + b\n>>>>>>> REPLACE\n```\n"],
        None,
    ));
    let fixed =
        "src/lib.rs\n```\n<<<<<<< SEARCH\n    a - b\n=======\n    a + b\n>>>>>>> REPLACE\n```\n";
    fixture.mock.push(Reply::stream(&[fixed], None));
    let tasks = fixture.open("tasks.md", "markdown").await;
    let lib = fixture.open("src/lib.rs", "rust").await;
    let run = fixture.delegate_task(&tasks, "Fix add").await;
    // Nothing applied: the run fails, saying why.
    let failed = fixture.wait_run_state(run, "failed").await;
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("block 1 (src/lib.rs): the SEARCH part matches no lines"),
        "{failed}"
    );

    let refined = fixture.refine(run, "Try again").await;
    fixture.wait_proposals(&lib, 1).await;
    fixture.wait_run_state(refined, "proposed").await;
    let request = &fixture.mock.requests()[1].body;
    let messages = request["messages"].as_array().unwrap();
    let last = messages.last().unwrap()["content"].as_str().unwrap();
    assert!(last.contains("Try again"), "{last}");
    assert!(
        last.contains("block 1 (src/lib.rs): the SEARCH part matches no lines"),
        "{last}"
    );
    assert!(
        last.contains("    a - b"),
        "the closest lines are quoted: {last}"
    );
}

#[tokio::test]
async fn a_command_agent_s_task_run_is_prompted_with_the_task_alone() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[("tasks.md", TASKS_MD), ("notes.txt", "none\n")],
    );
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/agents/record_prompt.sh"
    );
    std::fs::write(
        dir.path().join("director.toml"),
        format!("[agents.{AGENT}]\nkind = \"command\"\ncommand = [\"sh\", {script:?}, \"{{prompt}}\"]\ntimeout = 10\n"),
    )
    .unwrap();
    let client = LspClient::start(dir.path()).await;
    client
        .initialize(&file_uri(dir.path()), false, json!({ "trusted": true }))
        .await;
    let mock = MockOpenAi::start().await.unwrap();
    let fixture = Fixture { dir, mock, client };
    let tasks = fixture.open("tasks.md", "markdown").await;
    let notes = fixture.open("notes.txt", "plaintext").await;
    let run = fixture
        .delegate_task(&tasks, "Implement task 1 of tasks.md")
        .await;
    fixture.wait_run_state(run, "proposed").await;
    fixture
        .execute("director.acceptAll", json!({ "run": run }))
        .await
        .unwrap_or_else(|error| panic!("acceptAll failed: {error}"));
    let prompt = fixture.client.text(&notes);
    assert!(
        prompt.starts_with("Implement task 1 of tasks.md\n\nEdit the files"),
        "{prompt}"
    );
    assert!(!prompt.contains("Work in"), "{prompt}");
}
