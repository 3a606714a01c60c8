//! Requests that read the spec index wait for its first build instead of answering
//! from the few files open so far: on a workspace large enough that the build
//! takes visible time, the first lint diagnostics of a tasks file are its final
//! ones, and hover, definition and *Start task* sent while the build runs answer
//! from the whole index.

use crate::support::write_files;
use director_e2e::{LspClient, file_uri, secs};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// Requirements, each with two criteria, and a task per requirement.
const REQUIREMENTS: usize = 300;
/// Source files around the spec, enough that building the index takes a while.
const FILLER_FILES: usize = 4000;
/// The task whose requirement hover, definition and *Start task* are asked about.
const TASK: usize = 150;
const TASKS_FILE: &str = ".kiro/specs/big/tasks.md";

/// The line of task `task` in the tasks file, and of its `_Requirements:` line after it.
fn task_line(task: usize) -> u32 {
    (2 + 2 * (task - 1)) as u32
}

/// A Kiro spec with `REQUIREMENTS` requirements and tasks (plus one task naming a
/// requirement that does not exist: the only true finding), many source files, and
/// a command agent that writes its prompt to `out/prompt.txt`.
fn write_workspace(root: &Path, out: &Path) {
    let mut requirements =
        String::from("# Requirements Document\n\n## Introduction\nBig.\n\n## Requirements\n");
    let mut tasks = String::from("# Implementation Plan\n\n");
    for i in 1..=REQUIREMENTS {
        requirements.push_str(&format!(
            "\n### Requirement {i}: Thing {i}\n**User Story:** As a user, I want thing {i}, so that it works.\n\n\
             #### Acceptance Criteria\n1. WHEN event {i} happens, THE System SHALL record it.\n\
             2. IF input {i} is invalid, THEN THE System SHALL reject it.\n"
        ));
        tasks.push_str(&format!(
            "- [ ] {i}. Build thing {i}\n  - _Requirements: {i}.1, {i}.2_\n"
        ));
    }
    tasks.push_str(&format!(
        "- [ ] {}. Build the missing thing\n  - _Requirements: 999.1_\n",
        REQUIREMENTS + 1
    ));
    let filler = "pub fn next(x: u32) -> u32 {\n    x + 1\n}\n".repeat(150);
    let mut files = vec![
        (".kiro/specs/big/requirements.md".to_owned(), requirements),
        (TASKS_FILE.to_owned(), tasks),
    ];
    files.extend((0..FILLER_FILES).map(|n| (format!("src/m{}/f{n}.rs", n / 100), filler.clone())));
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(path, text)| (path.as_str(), text.as_str()))
        .collect();
    write_files(root, &files);
    let script = out.join("agent.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" > {:?}\n",
            out.join("prompt.txt")
        ),
    )
    .expect("agent script");
    std::fs::write(
        root.join("director.toml"),
        format!(
            // The agent runs confined: the folder it reports into must be
            // writable to it.
            "[agents.mock]\nkind = \"command\"\ncommand = [\"sh\", {:?}, \"{{prompt}}\"]\ntimeout = 30\nwritable = [{:?}]\n",
            script.display().to_string(),
            out.display().to_string()
        ),
    )
    .expect("config");
}

/// The big workspace, served with info logs (they say when a request waited),
/// and its tasks file opened right after `initialized`, while the index builds.
struct BigWorkspace {
    _dir: tempfile::TempDir,
    out: tempfile::TempDir,
    client: LspClient,
    tasks: String,
}

impl BigWorkspace {
    async fn start() -> BigWorkspace {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = tempfile::tempdir().expect("temp dir");
        write_workspace(dir.path(), out.path());
        let client =
            LspClient::start_with_env(dir.path(), &[("DIRECTOR_LOG", "director=info")]).await;
        client
            .initialize(&file_uri(dir.path()), false, json!({ "trusted": true }))
            .await;
        let tasks = file_uri(dir.path().join(TASKS_FILE));
        let text = std::fs::read_to_string(dir.path().join(TASKS_FILE)).expect("tasks");
        client.open(&tasks, "markdown", &text).await;
        BigWorkspace {
            _dir: dir,
            out,
            client,
            tasks,
        }
    }

    /// Fails when no request arrived while the index was building: the test
    /// would then prove nothing (the machine built the index too fast).
    fn assert_a_request_waited_for_the_index(&self) {
        let stderr = self.client.stderr();
        assert!(
            stderr.contains("waiting for the initial spec index"),
            "no request arrived while the index was building; make the workspace larger:\n{stderr}"
        );
    }

    fn published_for_tasks(&self) -> Vec<Value> {
        self.client
            .notifications("textDocument/publishDiagnostics")
            .into_iter()
            .filter(|params| params["uri"] == self.tasks.as_str())
            .collect()
    }
}

#[tokio::test]
async fn the_first_spec_diagnostics_of_a_tasks_file_are_its_final_ones() {
    let workspace = BigWorkspace::start().await;
    // Sent while the build runs, to show below that it did run meanwhile.
    workspace
        .client
        .request("workspace/symbol", json!({ "query": "Thing" }))
        .await
        .expect("workspace/symbol");

    let first = workspace
        .client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| {
                params["uri"] == workspace.tasks.as_str()
                    && params["diagnostics"]
                        .as_array()
                        .is_some_and(|d| !d.is_empty())
            },
            secs(60),
        )
        .await;
    let diagnostics = first["diagnostics"].as_array().expect("diagnostics");
    let missing_task_reference = task_line(REQUIREMENTS + 1) + 1;
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(
        diagnostics[0]["range"]["start"]["line"],
        missing_task_reference
    );
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .is_some_and(|message| message.contains("999.1")),
        "{diagnostics:#?}"
    );
    // Nothing was published before with other findings.
    for params in workspace.published_for_tasks() {
        let count = params["diagnostics"].as_array().map_or(0, Vec::len);
        assert!(count <= 1, "{params:#}");
    }
    workspace.assert_a_request_waited_for_the_index();
}

#[tokio::test]
async fn spec_requests_sent_while_the_index_builds_answer_from_the_whole_index() {
    let workspace = BigWorkspace::start().await;
    let reference = json!({
        "textDocument": { "uri": workspace.tasks },
        "position": { "line": task_line(TASK) + 1, "character": 20 },
    });
    let start_task = json!({
        "command": "director.startTask",
        "arguments": [{ "uri": workspace.tasks, "line": task_line(TASK) }],
    });
    let (hover, definition, started) = tokio::join!(
        workspace
            .client
            .request("textDocument/hover", reference.clone()),
        workspace
            .client
            .request("textDocument/definition", reference),
        workspace
            .client
            .request("workspace/executeCommand", start_task),
    );
    let hover = hover.expect("hover").to_string();
    assert!(hover.contains(&format!("Thing {TASK}")), "{hover}");
    let definition = definition.expect("definition").to_string();
    assert!(definition.contains("requirements.md"), "{definition}");
    started.unwrap_or_else(|error| {
        panic!("Start task failed: {error}\n{}", workspace.client.stderr())
    });
    let prompt_file = workspace.out.path().join("prompt.txt");
    let deadline = tokio::time::Instant::now() + secs(30);
    let prompt = loop {
        if let Ok(prompt) = std::fs::read_to_string(&prompt_file)
            && !prompt.trim().is_empty()
        {
            break prompt;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the agent never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        prompt.contains(&format!("WHEN event {TASK} happens"))
            && prompt.contains(&format!("IF input {TASK} is invalid")),
        "the prompt lacks the task's acceptance criteria:\n{prompt}"
    );
    workspace.assert_a_request_waited_for_the_index();
}
