//! A workspace with files, a `director.toml` naming the mock agent, the mock,
//! and a client talking to the real server in that workspace.

use director_e2e::mock_openai::{MockOpenAi, Reply};
use director_e2e::{LspClient, ResponseError, file_uri, range, secs};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const AGENT: &str = "mock";

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub mock: MockOpenAi,
    pub client: LspClient,
}

/// The workspace config naming the mock as agent `mock`; `extra` lines
/// (`key = value`) add to or override the defaults.
pub fn config_for(mock: &MockOpenAi, extra: &str) -> String {
    let url = mock.url();
    let defaults = [
        ("kind", "\"openai\"".to_owned()),
        ("base_url", format!("\"{url}\"")),
        ("model", "\"mock-model\"".to_owned()),
        ("timeout", "5".to_owned()),
        ("retries", "2".to_owned()),
    ];
    let overridden = |key: &str| {
        extra.lines().any(|line| {
            line.split('=')
                .next()
                .is_some_and(|name| name.trim() == key)
        })
    };
    let mut table = format!("[agents.{AGENT}]\n");
    for (key, value) in defaults.iter().filter(|(key, _)| !overridden(key)) {
        table.push_str(&format!("{key} = {value}\n"));
    }
    table.push_str(extra);
    table.push('\n');
    table
}

impl Fixture {
    /// A workspace holding `files`, served with utf-8 positions when `utf8`.
    pub async fn new(files: &[(&str, &str)], utf8: bool) -> Fixture {
        Fixture::with_config(files, utf8, "").await
    }

    /// As [`Fixture::new`], with extra lines in the agent's config table.
    pub async fn with_config(files: &[(&str, &str)], utf8: bool, extra: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let mock = MockOpenAi::start().await.expect("mock server");
        write_files(dir.path(), files);
        std::fs::write(dir.path().join("director.toml"), config_for(&mock, extra)).expect("config");
        let client = start_client(dir.path(), utf8).await;
        Fixture { dir, mock, client }
    }

    /// A workspace whose `src/lib.rs` (`ADD_RS`) is open with one proposal from
    /// run 1, the fix `ADD_FIXED`; returns the fixture and the file's URI.
    pub async fn with_add_proposal(utf8: bool) -> (Fixture, String) {
        let fixture = Fixture::new(&[("src/lib.rs", ADD_RS)], utf8).await;
        fixture.mock.push(answer(ADD_FIXED));
        let uri = fixture.open("src/lib.rs", "rust").await;
        fixture
            .delegate(&uri, range(1, 4, 1, 4), "Fix the bug")
            .await;
        fixture.wait_proposals(&uri, 1).await;
        (fixture, uri)
    }

    /// A workspace whose `src/main.rs` (`TWO_FUNCTIONS`) is open with run 1's
    /// two proposals, `TWO_FUNCTIONS_CHANGED`; returns the fixture, the URI
    /// and the proposals.
    pub async fn with_two_proposals(utf8: bool) -> (Fixture, String, Vec<Value>) {
        let fixture = Fixture::new(&[("src/main.rs", TWO_FUNCTIONS)], utf8).await;
        fixture.mock.push(answer(TWO_FUNCTIONS_CHANGED));
        let uri = fixture.open("src/main.rs", "rust").await;
        fixture
            .delegate(&uri, range(0, 0, 7, 0), "Multiply by ten")
            .await;
        let proposals = fixture.wait_proposals(&uri, 2).await;
        (fixture, uri, proposals)
    }

    /// Waits for diagnostics of `uri` whose proposals satisfy `predicate`, and
    /// returns those proposals.
    pub async fn wait_proposals_where(
        &self,
        uri: &str,
        predicate: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        self.wait_diagnostics_where(uri, "proposal", predicate)
            .await
    }

    /// Waits for diagnostics of `uri` whose Director diagnostics with `code`
    /// satisfy `predicate`, and returns those diagnostics.
    pub async fn wait_diagnostics_where(
        &self,
        uri: &str,
        code: &str,
        predicate: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let params = self
            .client
            .wait_notification(
                "textDocument/publishDiagnostics",
                |params| params["uri"] == uri && predicate(&director_diagnostics_in(params, code)),
                secs(15),
            )
            .await;
        director_diagnostics_in(&params, code)
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn uri(&self, relative: &str) -> String {
        file_uri(self.path(relative))
    }

    /// Opens a workspace file in the client with its text from disk.
    pub async fn open(&self, relative: &str, language_id: &str) -> String {
        let uri = self.uri(relative);
        let text = std::fs::read_to_string(self.path(relative)).expect("read file");
        self.client.open(&uri, language_id, &text).await;
        uri
    }

    pub async fn execute(&self, command: &str, argument: Value) -> Result<Value, ResponseError> {
        self.client
            .request(
                "workspace/executeCommand",
                json!({ "command": command, "arguments": [argument] }),
            )
            .await
    }

    /// Delegates a range to the mock agent and returns the run id.
    pub async fn delegate(&self, uri: &str, range: Value, instruction: &str) -> u64 {
        let result = self
            .execute(
                "director.delegate",
                json!({ "uri": uri, "range": range, "agent": AGENT, "instruction": instruction }),
            )
            .await
            .unwrap_or_else(|error| panic!("delegate failed: {error}\n{}", self.client.stderr()));
        result["run"].as_u64().expect("run id")
    }

    /// Refines `run` with `feedback` and returns the new run's id.
    pub async fn refine(&self, run: u64, feedback: &str) -> u64 {
        let result = self
            .execute(
                "director.refine",
                json!({ "run": run, "feedback": feedback }),
            )
            .await
            .unwrap_or_else(|error| panic!("refine failed: {error}\n{}", self.client.stderr()));
        result["run"].as_u64().expect("run id")
    }

    /// Delegates the task on line 3 of the open `tasks` file to the mock agent
    /// with `instruction`; returns the run.
    pub async fn delegate_task(&self, tasks: &str, instruction: &str) -> u64 {
        self.execute(
            "director.delegateTask",
            json!({
                "uri": tasks,
                "range": range(2, 0, 3, 0),
                "agent": AGENT,
                "instruction": instruction,
            }),
        )
        .await
        .unwrap_or_else(|error| panic!("delegateTask failed: {error}"))["run"]
            .as_u64()
            .expect("a run id")
    }

    /// Waits for the diagnostics of `uri` to hold exactly `count` proposals.
    pub async fn wait_proposals(&self, uri: &str, count: usize) -> Vec<Value> {
        let params = self
            .client
            .wait_notification(
                "textDocument/publishDiagnostics",
                |params| params["uri"] == uri && proposals_in(params).len() == count,
                secs(15),
            )
            .await;
        proposals_in(&params)
    }

    /// Polls `director/runs` until run `run` is in `state`.
    pub async fn wait_run_state(&self, run: u64, state: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let runs = self
                .client
                .request("director/runs", json!({}))
                .await
                .expect("director/runs");
            let found = runs["runs"]
                .as_array()
                .and_then(|runs| runs.iter().find(|candidate| candidate["id"] == run))
                .cloned();
            if let Some(found) = found.as_ref().filter(|found| found["state"] == state) {
                return found.clone();
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "run {run} never reached {state}; last seen {found:?}\n{}",
                    self.client.stderr()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the mock agent has received `count` requests.
    pub async fn wait_agent_requests(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while self.mock.requests().len() < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the agent received {} requests, not {count}",
                self.mock.requests().len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The code actions at `range` of `uri`, with the diagnostics there as context.
    pub async fn code_actions(
        &self,
        uri: &str,
        range: Value,
        diagnostics: Vec<Value>,
    ) -> Vec<Value> {
        let result = self
            .client
            .request(
                "textDocument/codeAction",
                json!({
                    "textDocument": { "uri": uri },
                    "range": range,
                    "context": { "diagnostics": diagnostics },
                }),
            )
            .await
            .expect("codeAction");
        result.as_array().cloned().unwrap_or_default()
    }

    /// Runs the command of the code action titled `title`.
    pub async fn run_action(&self, actions: &[Value], title: &str) -> Result<Value, ResponseError> {
        let action = actions
            .iter()
            .find(|action| action["title"] == title)
            .unwrap_or_else(|| panic!("no code action titled {title:?} in {:#?}", titles(actions)));
        let command = &action["command"];
        self.client
            .request(
                "workspace/executeCommand",
                json!({ "command": command["command"], "arguments": command["arguments"] }),
            )
            .await
    }
}

/// Waits for a `window/showMessage` whose text contains `text`; returns its params.
pub async fn wait_message_containing(client: &LspClient, text: &str, timeout: Duration) -> Value {
    client
        .wait_notification(
            "window/showMessage",
            |params| {
                params["message"]
                    .as_str()
                    .is_some_and(|message| message.contains(text))
            },
            timeout,
        )
        .await
}

pub async fn start_client(dir: &Path, utf8: bool) -> LspClient {
    let client = LspClient::start(dir).await;
    client.initialize(&file_uri(dir), utf8, Value::Null).await;
    client
}

pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (relative, text) in files {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write file");
    }
}

pub fn proposals_in(params: &Value) -> Vec<Value> {
    director_diagnostics_in(params, "proposal")
}

/// Director's diagnostics with `code` in a publishDiagnostics notification.
pub fn director_diagnostics_in(params: &Value, code: &str) -> Vec<Value> {
    params["diagnostics"]
        .as_array()
        .map(|diagnostics| {
            diagnostics
                .iter()
                .filter(|diagnostic| {
                    diagnostic["source"] == "director" && diagnostic["code"] == code
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

pub fn titles(actions: &[Value]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|action| action["title"].as_str().map(str::to_owned))
        .collect()
}

/// An answer that replaces the region with `code`, with prose around it.
pub fn answer(code: &str) -> Reply {
    Reply::stream(
        &[
            "Here is the new version:\n\n```rust\n",
            code,
            "```\n\nThis should do it.",
        ],
        Some((120, 30)),
    )
}

pub const ADD_RS: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n";
pub const ADD_FIXED: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n";
pub const TWO_FUNCTIONS: &str = "fn one() -> i32 {\n    1\n}\n\nfn two() -> i32 {\n    2\n}\n";
pub const TWO_FUNCTIONS_CHANGED: &str =
    "fn one() -> i32 {\n    10\n}\n\nfn two() -> i32 {\n    20\n}\n";
pub const OTHER_RS: &str = "pub fn twice(x: i32) -> i32 {\n    x + x\n}\n";
pub const OTHER_FIXED: &str = "pub fn twice(x: i32) -> i32 {\n    x * 2\n}\n";
