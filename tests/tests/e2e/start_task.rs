//! *Start task* on a Kiro spec: the lens above each open task, the run it starts
//! (its prompt carries the task, the linked requirement and the design notes), the
//! task box that follows the run (`[-]`, then `[x]` once everything is accepted,
//! `[ ]` when the run fails), the refusal to touch a task line the user edited,
//! and the diagnostic on a line that looks like a task but is not one.

use crate::support::*;
use director_e2e::mock_openai::MockOpenAi;
use director_e2e::{LspClient, file_uri, range, secs};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const REQUIREMENTS: &str = "# Requirements Document

## Introduction
Sessions end when nobody uses them.

## Requirements

### Requirement 1: Idle timeout
**User Story:** As a user, I want idle sessions to end, so that nobody borrows mine.

#### Acceptance Criteria
1. WHEN a session has been idle for 30 minutes, THE Session service SHALL end it.
2. IF a request carries an ended session, THEN THE API SHALL answer 401 within 200 ms.
";

const DESIGN: &str = "# Design Document

## Overview
A sweeper wakes every minute and ends the sessions idle for 30 minutes.
";

const TASKS: &str = "# Implementation Plan

- [ ] 1. End idle sessions in `src/session.rs`
  - Add the sweeper
  - _Requirements: 1.1_
- [ ] 2. Answer 401 for ended sessions
  - _Requirements: 1.2_
-[ ] 3. Log ended sessions
";

const SESSION_RS: &str = "pub fn sweep() {}\n";
const SESSION_SWEPT: &str = "pub fn sweep() {\n    end_idle_sessions();\n}\n";

/// The line of task 1 in `TASKS`.
const TASK_LINE: u32 = 2;

/// A scripted CLI agent: it records its prompt in `$OUT/prompt.txt`, waits
/// until `$OUT/go` exists, fails when `$OUT/fail` exists, and otherwise
/// rewrites `src/session.rs`.
const AGENT_SCRIPT: &str = r#"#!/bin/sh
printf '%s\n' "$1" > "$OUT/prompt.txt"
waited=0
while [ ! -e "$OUT/go" ] && [ "$waited" -lt 200 ]; do
  sleep 0.05
  waited=$((waited + 1))
done
if [ -e "$OUT/fail" ]; then
  echo "the agent gave up" >&2
  exit 3
fi
printf 'pub fn sweep() {\n    end_idle_sessions();\n}\n' > src/session.rs
"#;

/// A Kiro workspace with the scripted agent as `mock`, its tasks file and the
/// session source open in a client that trusts the workspace.
struct TaskFixture {
    fixture: Fixture,
    /// Where the agent leaves its prompt and waits for its signals; outside the
    /// workspace, and writable to the agent as its config says.
    out: tempfile::TempDir,
    tasks: String,
}

impl TaskFixture {
    async fn start() -> TaskFixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = tempfile::tempdir().expect("temp dir");
        write_files(
            dir.path(),
            &[
                (".kiro/specs/sessions/requirements.md", REQUIREMENTS),
                (".kiro/specs/sessions/design.md", DESIGN),
                (".kiro/specs/sessions/tasks.md", TASKS),
                ("src/session.rs", SESSION_RS),
            ],
        );
        let script = out.path().join("agent.sh");
        std::fs::write(
            &script,
            AGENT_SCRIPT.replace("$OUT", &out.path().display().to_string()),
        )
        .expect("agent script");
        let config = format!(
            "[agents.{AGENT}]\nkind = \"command\"\ncommand = [\"sh\", {:?}, \"{{prompt}}\"]\ntimeout = 30\nwritable = [{:?}]\n",
            script.display().to_string(),
            out.path().display().to_string()
        );
        std::fs::write(dir.path().join("director.toml"), config).expect("config");
        let client = LspClient::start(dir.path()).await;
        client
            .initialize(&file_uri(dir.path()), false, json!({ "trusted": true }))
            .await;
        let mock = MockOpenAi::start().await.expect("mock server");
        let fixture = Fixture { dir, mock, client };
        let tasks = fixture
            .open(".kiro/specs/sessions/tasks.md", "markdown")
            .await;
        fixture.open("src/session.rs", "rust").await;
        let fixture = TaskFixture {
            fixture,
            out,
            tasks,
        };
        fixture.wait_for_the_index().await;
        fixture
    }

    /// Waits until the workspace index knows the requirements file: the task's
    /// `_Requirements: 1.1_` then leads to it.
    async fn wait_for_the_index(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let definition = self
                .fixture
                .client
                .request(
                    "textDocument/definition",
                    json!({
                        "textDocument": { "uri": self.tasks },
                        "position": { "line": TASK_LINE + 2, "character": 19 },
                    }),
                )
                .await
                .expect("definition");
            if !definition.is_null() && definition != json!([]) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the spec index never read the requirements"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn out(&self, name: &str) -> PathBuf {
        self.out.path().join(name)
    }

    fn signal(&self, name: &str) {
        std::fs::write(self.out(name), "").expect("signal the agent");
    }

    async fn lenses(&self) -> Vec<Value> {
        let lenses = self
            .fixture
            .client
            .request(
                "textDocument/codeLens",
                json!({ "textDocument": { "uri": self.tasks } }),
            )
            .await
            .expect("codeLens");
        lenses.as_array().cloned().unwrap_or_default()
    }

    /// Runs the *Start task* lens of the task on `line`; returns the run.
    async fn start_task(&self, line: u32) -> u64 {
        let lenses = self.lenses().await;
        let lens = lenses
            .iter()
            .find(|lens| {
                lens["range"]["start"]["line"] == line
                    && lens["command"]["command"] == "director.startTask"
            })
            .unwrap_or_else(|| panic!("no Start task lens on line {line}: {lenses:#?}"));
        let command = &lens["command"];
        let result = self
            .fixture
            .client
            .request(
                "workspace/executeCommand",
                json!({ "command": command["command"], "arguments": command["arguments"] }),
            )
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "starting the task failed: {error}\n{}",
                    self.fixture.client.stderr()
                )
            });
        result["run"].as_u64().expect("run id")
    }

    fn task_line(&self) -> String {
        let text = self.fixture.client.text(&self.tasks);
        text.lines()
            .nth(TASK_LINE as usize)
            .expect("task line")
            .to_owned()
    }

    /// Waits until the client's buffer shows task 1 as `line`.
    async fn wait_task_line(&self, line: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while self.task_line() != line {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the task line stayed {:?}, not {line:?}\n{}",
                self.task_line(),
                self.fixture.client.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn wait_for_file(path: &Path) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.trim().is_empty()
        {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_started_task_is_marked_in_progress_then_done_when_everything_is_accepted() {
    let fixture = TaskFixture::start().await;
    let lenses = fixture.lenses().await;
    let start_lines: Vec<&Value> = lenses
        .iter()
        .filter(|lens| lens["command"]["title"] == "▶ Start task")
        .map(|lens| &lens["range"]["start"]["line"])
        .collect();
    assert_eq!(start_lines, [&json!(2), &json!(5)], "{lenses:#?}");
    let actions = fixture
        .fixture
        .code_actions(&fixture.tasks, range(TASK_LINE, 4, TASK_LINE, 4), vec![])
        .await;
    assert!(
        titles(&actions).contains(&format!("Start task with {AGENT}")),
        "{:?}",
        titles(&actions)
    );

    let run = fixture.start_task(TASK_LINE).await;
    // The box is marked before the command answers, while the agent still works.
    assert_eq!(
        fixture.task_line(),
        "- [-] 1. End idle sessions in `src/session.rs`"
    );
    let prompt = wait_for_file(&fixture.out("prompt.txt")).await;
    assert!(prompt.contains("1. End idle sessions"), "{prompt}");
    assert!(prompt.contains("Add the sweeper"), "{prompt}");
    assert!(
        prompt.contains("THE Session service SHALL end it"),
        "{prompt}"
    );
    assert!(!prompt.contains("2. Answer 401"), "{prompt}");
    assert!(prompt.contains("A sweeper wakes every minute"), "{prompt}");
    fixture.signal("go");

    fixture.fixture.wait_run_state(run, "proposed").await;
    assert!(fixture.task_line().starts_with("- [-] 1."));
    fixture
        .fixture
        .execute("director.acceptAll", json!({ "run": run }))
        .await
        .unwrap_or_else(|error| panic!("accept all failed: {error}"));
    let session = fixture.fixture.uri("src/session.rs");
    assert_eq!(fixture.fixture.client.text(&session), SESSION_SWEPT);
    fixture.fixture.wait_run_state(run, "settled").await;
    fixture
        .wait_task_line("- [x] 1. End idle sessions in `src/session.rs`")
        .await;
    // A done task offers no Start task lens any more, once the index has read
    // the changed line (it waits for typing to pause, then refreshes lenses).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let lenses = fixture.lenses().await;
        let offered = lenses.iter().any(|lens| {
            lens["range"]["start"]["line"] == TASK_LINE
                && lens["command"]["command"] == "director.startTask"
        });
        if !offered {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{lenses:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_failed_run_puts_the_box_back() {
    let fixture = TaskFixture::start().await;
    let run = fixture.start_task(TASK_LINE).await;
    assert!(fixture.task_line().starts_with("- [-] 1."));
    fixture.signal("fail");
    fixture.signal("go");
    fixture.fixture.wait_run_state(run, "failed").await;
    fixture
        .wait_task_line("- [ ] 1. End idle sessions in `src/session.rs`")
        .await;
}

#[tokio::test]
async fn a_task_line_edited_during_its_run_is_left_as_the_user_wrote_it() {
    let fixture = TaskFixture::start().await;
    let run = fixture.start_task(TASK_LINE).await;
    wait_for_file(&fixture.out("prompt.txt")).await;
    let end = fixture.task_line().len() as u32;
    fixture
        .fixture
        .client
        .change(
            &fixture.tasks,
            range(TASK_LINE, end, TASK_LINE, end),
            " today",
        )
        .await;
    fixture
        .fixture
        .execute("director.cancel", json!({ "run": run }))
        .await
        .expect("cancel");
    fixture.fixture.wait_run_state(run, "cancelled").await;
    let message =
        wait_message_containing(&fixture.fixture.client, "left the box of task 1", secs(15)).await;
    assert!(
        message["message"]
            .as_str()
            .is_some_and(|message| message.contains("changed since its run started")),
        "{message}"
    );
    assert_eq!(
        fixture.task_line(),
        "- [-] 1. End idle sessions in `src/session.rs` today"
    );
    let requests = fixture
        .fixture
        .client
        .server_requests("workspace/applyEdit");
    assert_eq!(requests.len(), 1, "only the [-] edit was asked for");
}

#[tokio::test]
async fn a_line_that_looks_like_a_task_but_is_not_has_a_diagnostic() {
    let fixture = TaskFixture::start().await;
    let found = fixture
        .fixture
        .wait_diagnostics_where(&fixture.tasks, "SPEC013", |found| !found.is_empty())
        .await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["range"]["start"]["line"], 7);
    assert!(
        found[0]["message"]
            .as_str()
            .is_some_and(|message| message.contains("one space after the bullet")),
        "{found:#?}"
    );
}
