//! The journal in workspaces that attack it or that it cannot use: links in
//! or at `.director` are refused, an unusable `.director` is reported, and in
//! every case Director keeps working with a journal in memory and changes
//! nothing outside. Old JSON-lines journals, cut by crashes, are taken over
//! with every whole entry and the user is told what was skipped.

use crate::support::*;
use director_e2e::mock_openai::MockOpenAi;
use director_e2e::{director_binary, range, secs};
use serde_json::{Value, json};
use std::path::Path;

/// How a case plants its trap: in the workspace root, aiming outside.
type PlantLink = fn(&Path, &Path);
/// How a case makes `.director` unusable, in the workspace root.
type Spoil = fn(&Path);

/// A workspace holding `ADD_RS`, shaped by `hostile` before the server starts.
async fn fixture_with(hostile: impl FnOnce(&Path)) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let mock = MockOpenAi::start().await.expect("mock server");
    write_files(dir.path(), &[("src/lib.rs", ADD_RS)]);
    std::fs::write(dir.path().join("director.toml"), config_for(&mock, "")).expect("config");
    hostile(dir.path());
    let client = start_client(dir.path(), false).await;
    Fixture { dir, mock, client }
}

/// Waits for the warning Director shows about its journal and returns it.
async fn journal_warning(fixture: &Fixture) -> String {
    let params = wait_message_containing(&fixture.client, "journal", secs(10)).await;
    params["message"].as_str().unwrap_or_default().to_owned()
}

/// A run proposes, and the runs request lists it: the session works.
async fn assert_runs_still_work(fixture: &Fixture) {
    fixture.mock.push(answer(ADD_FIXED));
    let uri = fixture.open("src/lib.rs", "rust").await;
    let run = fixture
        .delegate(&uri, range(1, 4, 1, 4), "Fix the bug")
        .await;
    fixture.wait_proposals(&uri, 1).await;
    let runs = fixture
        .client
        .request("director/runs", json!({}))
        .await
        .expect("the runs request");
    assert_eq!(runs["runs"][0]["id"], run, "{runs}");
}

/// Every file under `dir` (not following links) with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a folder") {
        let entry = entry.expect("an entry");
        let path = entry.path();
        if entry.file_type().expect("a type").is_dir() {
            files.extend(snapshot(&path));
        } else {
            files.push((
                path.display().to_string(),
                std::fs::read(&path).unwrap_or_default(),
            ));
        }
    }
    files.sort();
    files
}

#[tokio::test]
async fn links_in_or_at_the_state_folder_are_refused_and_nothing_outside_changes() {
    let cases: [(&str, PlantLink); 4] = [
        ("the journal of earlier versions", |root, outside| {
            std::fs::create_dir(root.join(".director")).unwrap();
            std::os::unix::fs::symlink(outside.join("rc"), root.join(".director/journal.jsonl"))
                .unwrap();
        }),
        ("the database", |root, outside| {
            std::fs::create_dir(root.join(".director")).unwrap();
            std::os::unix::fs::symlink(outside.join("rc"), root.join(".director/journal.db"))
                .unwrap();
        }),
        ("the .gitignore, dangling", |root, outside| {
            std::fs::create_dir(root.join(".director")).unwrap();
            std::os::unix::fs::symlink(outside.join("created"), root.join(".director/.gitignore"))
                .unwrap();
        }),
        ("the folder itself", |root, outside| {
            std::os::unix::fs::symlink(outside, root.join(".director")).unwrap();
        }),
    ];
    for (case, plant) in cases {
        let outside = tempfile::tempdir().expect("temp dir");
        std::fs::write(outside.path().join("rc"), "export PATH=/usr/bin\n").unwrap();
        let before = snapshot(outside.path());
        let fixture = fixture_with(|root| plant(root, outside.path())).await;
        let warning = journal_warning(&fixture).await;
        assert!(
            warning.contains("symbolic link") && warning.contains("in memory"),
            "{case}: {warning}"
        );
        assert_runs_still_work(&fixture).await;
        assert_eq!(snapshot(outside.path()), before, "{case}: outside changed");
    }
}

#[tokio::test]
async fn a_journal_aimed_at_dev_zero_does_not_stop_the_server() {
    let fixture = fixture_with(|root| {
        std::fs::create_dir(root.join(".director")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", root.join(".director/journal.jsonl")).unwrap();
    })
    .await;
    let warning = journal_warning(&fixture).await;
    assert!(warning.contains("symbolic link"), "{warning}");
    assert_runs_still_work(&fixture).await;
}

#[tokio::test]
async fn a_state_folder_that_is_a_file_or_a_database_that_is_a_folder_is_reported() {
    let cases: [(&str, Spoil, &str); 2] = [
        (
            ".director is a file",
            |root| std::fs::write(root.join(".director"), "not a folder").unwrap(),
            "is not a folder",
        ),
        (
            "journal.db is a folder",
            |root| std::fs::create_dir_all(root.join(".director/journal.db")).unwrap(),
            "is not a regular file",
        ),
    ];
    for (case, plant, why) in cases {
        let fixture = fixture_with(plant).await;
        let warning = journal_warning(&fixture).await;
        assert!(warning.contains(why), "{case}: {warning}");
        assert!(
            fixture.client.stderr().contains(why),
            "{case}: the log says it too"
        );
        assert_runs_still_work(&fixture).await;
    }
}

/// The lines of an old journal: run 1 with a proposal on `src/lib.rs`, then
/// run 2 whose line was cut inside a character, then run 3's line torn by a
/// crash with run 4 glued to it by the next session.
fn old_journal(root: &Path) -> Vec<u8> {
    let uri = director_e2e::file_uri(root).to_string() + "/src/lib.rs";
    let run = |id: u64, instruction: &str| {
        json!({
            "event": "run",
            "run": {
                "id": id, "agent": "mock", "instruction": instruction, "uri": uri,
                "region": { "start": 36, "end": 49 }, "base_version": 0,
                "refined_from": null, "state": "proposed", "reason": null,
                "created_ms": 1_000 * id, "finished_ms": null, "usage": null, "hunks": [],
            }
        })
        .to_string()
    };
    let proposal = json!({
        "event": "proposal",
        "base_sha256": "",
        "hunk": {
            "id": 1, "run": 1, "uri": uri, "range": { "start": 42, "end": 43 },
            "base_text": "-", "new_text": "+", "context_before": "pub fn add(a: i32, b: i32) -> i32 {\n    a ",
            "context_after": " b\n}\n", "state": "open",
        }
    })
    .to_string();
    let cut = run(2, "Simplify — é");
    let cut = &cut.as_bytes()[..cut.find('é').unwrap() + 1];
    let torn = run(3, "Tidy");
    let mut bytes = format!("{}\n{proposal}\n", run(1, "Fix the bug")).into_bytes();
    bytes.extend_from_slice(cut);
    bytes.push(b'\n');
    bytes.extend_from_slice(&torn.as_bytes()[..40]);
    bytes.extend_from_slice(format!("{}\n", run(4, "Rename")).as_bytes());
    bytes
}

#[tokio::test]
async fn an_old_journal_cut_by_crashes_is_taken_over_with_every_whole_entry() {
    let fixture = fixture_with(|root| {
        std::fs::create_dir(root.join(".director")).unwrap();
        std::fs::write(root.join(".director/journal.jsonl"), old_journal(root)).unwrap();
    })
    .await;
    let warning = journal_warning(&fixture).await;
    assert!(
        warning.contains("could not read 2 of the lines") && warning.contains("line 3"),
        "{warning}"
    );
    assert!(fixture.client.stderr().contains("skipped line 4"));

    // Run 1's proposal comes back; runs 1 and 4 are listed, new runs go on from 5.
    let uri = fixture.open("src/lib.rs", "rust").await;
    let restored = fixture.wait_proposals(&uri, 1).await;
    assert_eq!(restored[0]["range"], range(1, 6, 1, 7));
    let runs = fixture
        .client
        .request("director/runs", json!({}))
        .await
        .expect("the runs request");
    let ids: Vec<&Value> = runs["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|run| &run["id"])
        .collect();
    assert_eq!(ids, [&json!(4), &json!(1)], "{runs}");
    fixture.mock.push(answer(ADD_FIXED));
    fixture
        .execute("director.reject", json!({ "hunk": 1 }))
        .await
        .expect("reject");
    assert_eq!(
        fixture.delegate(&uri, range(1, 4, 1, 4), "Fix").await,
        5,
        "new work is journaled after the old"
    );
    let dir = fixture.dir.path().join(".director");
    assert!(!dir.join("journal.jsonl").exists());
    assert_eq!(
        std::fs::read(dir.join("journal.jsonl.migrated")).unwrap(),
        old_journal(fixture.dir.path()),
        "the old journal is kept as it was"
    );

    // A terminal sees the same history, and the new run.
    let output = std::process::Command::new(director_binary())
        .args(["runs", "--json", "--workspace"])
        .arg(fixture.dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let ids: Vec<&Value> = listed["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| &run["id"])
        .collect();
    assert_eq!(ids, [&json!(5), &json!(4), &json!(1)], "{listed}");
    assert_eq!(listed["runs"][2]["proposals"]["rejected"], 1, "{listed}");
}

#[tokio::test]
async fn the_runs_command_refuses_a_linked_state_folder() {
    let outside = tempfile::tempdir().expect("temp dir");
    let root = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(outside.path(), root.path().join(".director")).unwrap();
    let output = std::process::Command::new(director_binary())
        .args(["runs", "--workspace"])
        .arg(root.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("symbolic link"), "{error}");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}
