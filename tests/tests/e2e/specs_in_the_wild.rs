//! Specs as real repositories write them (issue #13): `director check FILE` as a
//! pre-commit hook runs on the file's workspace, and the editor answers from the
//! same model as `check` (criteria read by their written numbers, references kept
//! inside the citing spec, group headings over tasks).

use crate::spec_features::wait_symbols;
use crate::support::*;
use director_e2e::{director_binary, pos, range};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const REQUIREMENTS: &str = "# Requirements\n## Requirements\n### Requirement 1: Export\n#### Acceptance Criteria\n1. WHEN asked THE tool SHALL export\n2. THE tool SHALL stream\n2.1. WHEN streaming THE tool SHALL report progress\n3. THE tool SHALL log every export\n";
const TASKS: &str =
    "# Tasks\n## Task 1: Logging\n- [ ] 1.1 Log exports\n  - _Requirements: 1.3, 8.6_\n";
const OTHER_PACKAGE: &str = "# Requirements\n## Requirements\n### Requirement 8: Audit\n#### Acceptance Criteria\n1. THE app SHALL log\n2. THE app SHALL keep logs\n3. THE app SHALL rotate\n4. THE app SHALL ship\n5. THE app SHALL alert\n6. THE app SHALL archive\n";

/// Runs `director check --format json PATH` in `folder`; returns the exit code
/// and the report.
fn check(folder: &Path, path: &str) -> (Option<i32>, Value) {
    let output = Command::new(director_binary())
        .args(["check", "--format", "json", path])
        .current_dir(folder)
        .output()
        .expect("run director check");
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "no JSON report ({error}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), report)
}

fn findings(report: &Value) -> Vec<(String, String, String)> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|it| {
            (
                it["file"].as_str().unwrap_or_default().to_string(),
                it["code"].as_str().unwrap_or_default().to_string(),
                it["severity"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Defect 1: a hook passes one changed file; its folder is not the workspace.
#[test]
fn check_on_one_file_walks_up_to_the_workspace_and_reports_that_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_files(
        dir.path(),
        &[
            ("app/.kiro/specs/io/requirements.md", REQUIREMENTS),
            (
                "app/.kiro/specs/io/tasks.md",
                "# Tasks\n- [ ] 1. Export\n  - _Requirements: 1.1, 1.9_\n",
            ),
        ],
    );
    let app = dir.path().join("app");

    let (code, report) = check(&app, ".kiro/specs/io/tasks.md");
    assert_eq!(code, Some(1), "{report:#}");
    let found = findings(&report);
    assert!(
        found.contains(&(
            ".kiro/specs/io/tasks.md".to_string(),
            "TRC001".to_string(),
            "error".to_string()
        )),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .all(|(file, _, _)| file == ".kiro/specs/io/tasks.md"),
        "only the file asked about is reported: {found:?}"
    );

    // From the spec's own folder, with a path relative to it.
    let (code, report) = check(&app.join(".kiro/specs/io"), "tasks.md");
    assert_eq!(code, Some(1), "{report:#}");

    // A clean file passes, though it is checked against the whole workspace.
    let (code, report) = check(&app, ".kiro/specs/io/requirements.md");
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(
        report["requirements"][0]["key"], "io#R1",
        "the file's requirements are read in its layout: {report:#}"
    );
}

/// Defects 2, 7 and 10 in the editor: definition and hover follow the number
/// written, a number the citing spec lacks is reported and resolves nowhere, and
/// the task under a `## Task 1:` group keeps its *Start task* lens.
#[tokio::test]
async fn the_editor_answers_from_the_same_model_as_check() {
    let fixture = Fixture::new(
        &[
            ("web/.kiro/specs/io/requirements.md", REQUIREMENTS),
            ("web/.kiro/specs/io/tasks.md", TASKS),
            ("api/.kiro/specs/io/requirements.md", OTHER_PACKAGE),
        ],
        false,
    )
    .await;
    wait_symbols(&fixture, "Export", 1).await;
    let tasks = fixture
        .open("web/.kiro/specs/io/tasks.md", "markdown")
        .await;
    let requirements = fixture.uri("web/.kiro/specs/io/requirements.md");

    let dangling = fixture
        .wait_diagnostics_where(&tasks, "TRC001", |found| !found.is_empty())
        .await;
    assert_eq!(dangling.len(), 1, "{dangling:#?}");
    assert_eq!(dangling[0]["range"], range(3, 24, 3, 27));
    assert_eq!(dangling[0]["severity"], 1);

    let on_reference = json!({ "textDocument": { "uri": tasks }, "position": pos(3, 20) });
    let definition = fixture
        .client
        .request("textDocument/definition", on_reference.clone())
        .await
        .expect("definition");
    assert_eq!(definition["uri"], requirements, "{definition:#}");
    assert_eq!(definition["range"]["start"]["line"], 7, "{definition:#}");
    let hover = fixture
        .client
        .request("textDocument/hover", on_reference)
        .await
        .expect("hover");
    let text = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(text.contains("SHALL log every export"), "{text}");

    let elsewhere = fixture
        .client
        .request(
            "textDocument/definition",
            json!({ "textDocument": { "uri": tasks }, "position": pos(3, 25) }),
        )
        .await
        .expect("definition");
    assert!(
        elsewhere.is_null() || elsewhere == json!([]),
        "`8.6` of another package is not this spec's: {elsewhere:#}"
    );

    let lenses = fixture
        .client
        .request(
            "textDocument/codeLens",
            json!({ "textDocument": { "uri": tasks } }),
        )
        .await
        .expect("codeLens");
    let starts: Vec<_> = lenses
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|lens| lens["command"]["command"] == "director.startTask")
        .map(|lens| lens["range"]["start"]["line"].clone())
        .collect();
    assert_eq!(starts, [json!(2)]);
}
