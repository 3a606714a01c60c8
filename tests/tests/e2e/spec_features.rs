//! Spec intelligence in the editor: lint diagnostics while typing and their fixes,
//! hover, definition, references and rename across specs and code, ID completion,
//! symbols, spec context in delegated prompts, and files announced from disk.

use crate::support::*;
use director_e2e::{pos, range, secs};
use serde_json::{Value, json};
use std::time::Duration;

const SPEC: &str = "---\ndirector-spec: 1\nspec: auth\n---\n# Auth\n## Purpose\nP.\n## Requirements\n### Requirement: Idle timeout\n**ID**: AUTH-003\nTHE Session service SHALL expire idle sessions after 30 minutes.\n#### Scenario: Idle\n- WHEN 30 minutes pass\n- THEN the next request gets 401\n";
const STATEMENT_LINE: u32 = 10;
const STATEMENT: &str = "THE Session service SHALL expire idle sessions after 30 minutes.";
const TASKS: &str = "---\ndirector-spec: 1\nspec: auth\n---\n# Tasks\n- [x] 1. Expire sessions\n  - _Requirements: AUTH-003_\n";
const CODE: &str = "import time\n\n# @spec AUTH-003\ndef expire():\n    pass\n";
const AGENTS_MD: &str = "Always run the linter before committing.\n";

async fn spec_fixture() -> Fixture {
    Fixture::new(
        &[
            ("specs/auth.md", SPEC),
            ("specs/tasks.md", TASKS),
            ("src/session.py", CODE),
            ("AGENTS.md", AGENTS_MD),
        ],
        false,
    )
    .await
}

/// Polls `workspace/symbol` until `query` finds `count` requirements: the index is
/// built in the background after `initialized`.
pub(crate) async fn wait_symbols(fixture: &Fixture, query: &str, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let symbols = fixture
            .client
            .request("workspace/symbol", json!({ "query": query }))
            .await
            .expect("workspace/symbol");
        let symbols = symbols.as_array().cloned().unwrap_or_default();
        if symbols.len() == count {
            return symbols;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "workspace/symbol {query:?} found {symbols:?}, not {count} symbols\n{}",
            fixture.client.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn has_code(params: &Value, code: &str) -> bool {
    params["diagnostics"]
        .as_array()
        .is_some_and(|diagnostics| diagnostics.iter().any(|d| d["code"] == code))
}

#[tokio::test]
async fn lint_diagnostics_follow_typing_in_a_spec() {
    let fixture = spec_fixture().await;
    wait_symbols(&fixture, "AUTH-003", 1).await;
    let uri = fixture.open("specs/auth.md", "markdown").await;
    let end = STATEMENT.len() as u32 - 1;

    fixture
        .client
        .change(
            &uri,
            range(STATEMENT_LINE, end, STATEMENT_LINE, end),
            " if possible",
        )
        .await;
    let published = fixture
        .client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| params["uri"] == uri && has_code(params, "AMB003"),
            secs(10),
        )
        .await;
    let finding = published["diagnostics"]
        .as_array()
        .and_then(|diagnostics| diagnostics.iter().find(|d| d["code"] == "AMB003"))
        .expect("AMB003")
        .clone();
    assert_eq!(finding["source"], "director");
    assert_eq!(finding["severity"], 2, "AMB003 is a warning");
    assert_eq!(finding["range"]["start"]["line"], STATEMENT_LINE);

    // Hover on the finding explains the rule.
    let hover = fixture
        .client
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": finding["range"]["start"] }),
        )
        .await
        .expect("hover");
    let text = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(text.contains("**AMB003**"), "{text}");
    assert!(text.contains("loopholes"), "{text}");

    // With agents configured, the finding (which has no mechanical fix) offers an agent.
    let actions = fixture
        .code_actions(&uri, finding["range"].clone(), vec![finding.clone()])
        .await;
    assert!(
        titles(&actions).contains(&"Fix AMB003 with mock".to_owned()),
        "{:?}",
        titles(&actions)
    );

    fixture
        .client
        .change(
            &uri,
            range(STATEMENT_LINE, end, STATEMENT_LINE, end + 12),
            "",
        )
        .await;
    fixture
        .client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| params["uri"] == uri && !has_code(params, "AMB003"),
            secs(10),
        )
        .await;
}

#[tokio::test]
async fn a_quick_fix_repins_a_suspect_trace() {
    let fixture = Fixture::new(
        &[
            ("specs/auth.md", SPEC),
            (
                "src/pinned.py",
                "# @spec AUTH-003@deadbeef\ndef check():\n    pass\n",
            ),
        ],
        false,
    )
    .await;
    wait_symbols(&fixture, "AUTH-003", 1).await;
    let uri = fixture.open("src/pinned.py", "python").await;
    let published = fixture
        .client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| params["uri"] == uri && has_code(params, "TRC005"),
            secs(10),
        )
        .await;
    let suspect = published["diagnostics"]
        .as_array()
        .and_then(|diagnostics| diagnostics.iter().find(|d| d["code"] == "TRC005"))
        .expect("TRC005")
        .clone();
    let actions = fixture
        .code_actions(&uri, suspect["range"].clone(), vec![suspect.clone()])
        .await;
    let repin = actions
        .iter()
        .find(|action| action["title"] == "Mark as re-verified (re-pin)")
        .unwrap_or_else(|| panic!("no re-pin in {:?}", titles(&actions)));
    assert_eq!(repin["kind"], "quickfix");
    assert_eq!(repin["diagnostics"][0]["code"], "TRC005");
    let change = &repin["edit"]["documentChanges"][0];
    assert_eq!(
        change["textDocument"]["version"],
        fixture.client.version(&uri)
    );
    let edit = &change["edits"][0];
    let new_pin = edit["newText"].as_str().expect("new pin").to_owned();
    assert_eq!(new_pin.len(), 8);
    fixture
        .client
        .change(&uri, edit["range"].clone(), &new_pin)
        .await;
    assert!(
        fixture
            .client
            .text(&uri)
            .starts_with(&format!("# @spec AUTH-003@{new_pin}\n"))
    );
    fixture
        .client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| params["uri"] == uri && !has_code(params, "TRC005"),
            secs(10),
        )
        .await;
}

#[tokio::test]
async fn hover_definition_references_and_rename_cross_spec_and_code() {
    let fixture = spec_fixture().await;
    wait_symbols(&fixture, "AUTH-003", 1).await;
    let code_uri = fixture.open("src/session.py", "python").await;
    let spec_uri = fixture.uri("specs/auth.md");
    let tasks_uri = fixture.uri("specs/tasks.md");

    let hover = fixture
        .client
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": code_uri }, "position": pos(4, 5) }),
        )
        .await
        .expect("hover");
    let text = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(text.contains("AUTH-003 · Idle timeout"), "{text}");
    assert!(text.contains("SHALL expire idle sessions"), "{text}");
    assert!(text.contains("**Scenario: Idle**"), "{text}");
    assert!(text.contains("Tasks: [x] 1 Expire sessions"), "{text}");

    let on_tag = json!({ "textDocument": { "uri": code_uri }, "position": pos(2, 10) });
    let definition = fixture
        .client
        .request("textDocument/definition", on_tag.clone())
        .await
        .expect("definition");
    assert_eq!(definition["uri"], spec_uri);
    assert_eq!(definition["range"], range(9, 8, 9, 16));

    let mut with_context = on_tag.clone();
    with_context["context"] = json!({ "includeDeclaration": true });
    let references = fixture
        .client
        .request("textDocument/references", with_context)
        .await
        .expect("references");
    let mut uris: Vec<&str> = references
        .as_array()
        .expect("locations")
        .iter()
        .filter_map(|location| location["uri"].as_str())
        .collect();
    uris.sort_unstable();
    let mut expected = vec![spec_uri.as_str(), tasks_uri.as_str(), code_uri.as_str()];
    expected.sort_unstable();
    assert_eq!(uris, expected);

    let prepared = fixture
        .client
        .request("textDocument/prepareRename", on_tag.clone())
        .await
        .expect("prepareRename");
    assert_eq!(prepared["placeholder"], "AUTH-003");
    assert_eq!(prepared["range"], range(2, 8, 2, 16));

    let mut rename = on_tag.clone();
    rename["newName"] = json!("AUTH-010");
    let edit = fixture
        .client
        .request("textDocument/rename", rename)
        .await
        .expect("rename");
    let changes = edit["documentChanges"]
        .as_array()
        .expect("document changes");
    assert_eq!(changes.len(), 3, "{changes:#?}");
    for change in changes {
        let uri = change["textDocument"]["uri"].as_str().unwrap_or_default();
        let version = &change["textDocument"]["version"];
        if uri == code_uri {
            assert_eq!(
                *version,
                fixture.client.version(&code_uri),
                "open buffers are versioned"
            );
            assert_eq!(change["edits"][0]["range"], range(2, 8, 2, 16));
        } else {
            assert!(version.is_null(), "{uri} is not open");
        }
        assert!(
            change["edits"]
                .as_array()
                .expect("edits")
                .iter()
                .all(|edit| edit["newText"] == "AUTH-010")
        );
    }

    let taken = fixture
        .client
        .request(
            "textDocument/rename",
            json!({ "textDocument": { "uri": code_uri }, "position": pos(2, 10), "newName": "not an id" }),
        )
        .await;
    assert!(taken.is_err(), "an invalid ID is refused");
}

#[tokio::test]
async fn completion_inside_spec_tags_and_symbols() {
    let fixture = spec_fixture().await;
    wait_symbols(&fixture, "AUTH-003", 1).await;
    let code_uri = fixture.open("src/session.py", "python").await;
    fixture
        .client
        .change(&code_uri, range(1, 0, 1, 0), "# @spec AU")
        .await;
    let completion = fixture
        .client
        .request(
            "textDocument/completion",
            json!({ "textDocument": { "uri": code_uri }, "position": pos(1, 10) }),
        )
        .await
        .expect("completion");
    let items = completion.as_array().expect("items");
    let item = items
        .iter()
        .find(|item| item["label"] == "AUTH-003")
        .unwrap_or_else(|| panic!("no AUTH-003 in {items:#?}"));
    assert_eq!(item["detail"], "Idle timeout");
    assert_eq!(item["textEdit"]["range"], range(1, 8, 1, 10));
    let outside = fixture
        .client
        .request(
            "textDocument/completion",
            json!({ "textDocument": { "uri": code_uri }, "position": pos(0, 6) }),
        )
        .await
        .expect("completion");
    assert!(outside.is_null(), "no IDs outside tags: {outside}");

    let spec_uri = fixture.open("specs/auth.md", "markdown").await;
    let symbols = fixture
        .client
        .request(
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": spec_uri } }),
        )
        .await
        .expect("documentSymbol");
    assert_eq!(symbols[0]["name"], "AUTH-003");
    assert_eq!(symbols[0]["detail"], "Idle timeout");
    assert_eq!(symbols[0]["children"][0]["name"], "Scenario: Idle");

    let found = wait_symbols(&fixture, "idle", 1).await;
    assert_eq!(found[0]["name"], "AUTH-003 Idle timeout");
    assert_eq!(found[0]["location"]["uri"], spec_uri);
}

#[tokio::test]
async fn a_delegated_prompt_carries_the_governing_requirement_and_agents_md() {
    let fixture = spec_fixture().await;
    wait_symbols(&fixture, "AUTH-003", 1).await;
    fixture
        .mock
        .push(answer("def expire():\n    return None\n"));
    let uri = fixture.open("src/session.py", "python").await;
    let run = fixture
        .delegate(&uri, range(4, 4, 4, 8), "Implement from spec")
        .await;
    fixture.wait_agent_requests(1).await;
    let request = &fixture.mock.requests()[0];
    let user = request.body["messages"][1]["content"]
        .as_str()
        .expect("user message");
    assert!(
        user.contains("Requirements that govern this region"),
        "{user}"
    );
    assert!(
        user.contains("AUTH-003 Idle timeout (specs/auth.md)"),
        "{user}"
    );
    assert!(user.contains(STATEMENT), "{user}");
    assert!(user.contains("#### Scenario: Idle"), "{user}");
    assert!(user.contains("`@spec AUTH-003`"), "{user}");
    assert!(
        user.contains("Always run the linter before committing."),
        "{user}"
    );
    fixture.wait_run_state(run, "proposed").await;
}

#[tokio::test]
async fn a_file_announced_from_disk_is_indexed() {
    let fixture = spec_fixture().await;
    wait_symbols(&fixture, "AUTH-003", 1).await;
    assert!(wait_symbols(&fixture, "BILL", 0).await.is_empty());
    let billing = "---\ndirector-spec: 1\nspec: billing\n---\n# Billing\n## Requirements\n### Requirement: Invoices\n**ID**: BILL-001\nTHE Billing service SHALL issue an invoice every month.\n";
    write_files(fixture.dir.path(), &[("specs/billing.md", billing)]);
    fixture
        .client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({ "changes": [{ "uri": fixture.uri("specs/billing.md"), "type": 1 }] }),
        )
        .await;
    let found = wait_symbols(&fixture, "BILL", 1).await;
    assert_eq!(found[0]["name"], "BILL-001 Invoices");

    std::fs::remove_file(fixture.path("specs/billing.md")).expect("remove");
    fixture
        .client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({ "changes": [{ "uri": fixture.uri("specs/billing.md"), "type": 3 }] }),
        )
        .await;
    wait_symbols(&fixture, "BILL", 0).await;
}
