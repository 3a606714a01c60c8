//! Review runs: findings come back as diagnostics, move with edits above them,
//! can be dismissed, and a finding's fix becomes an ordinary proposal.

use crate::support::*;
use director_e2e::mock_openai::Reply;
use director_e2e::range;
use serde_json::json;

const SUB_RS: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n\npub fn unused() {}\n";

#[tokio::test]
async fn review_findings_move_with_edits_are_dismissed_and_a_fix_is_accepted() {
    let fixture = Fixture::new(&[("src/lib.rs", SUB_RS)], false).await;
    fixture.mock.push(Reply::stream(
        &[
            "I looked at the file.\n\n",
            "- line 2: error: subtracts where the name says add\n",
            "  ```rust\n      a + b\n  ```\n",
            "- line 5: hint: `unused` is never called\n",
            "- line 99: warning: past the end\n",
            "Overall fine.",
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
    assert_eq!(findings[0]["severity"], 1, "{findings:#?}");
    assert_eq!(findings[0]["range"]["start"]["line"], 1);
    assert!(
        findings[0]["message"]
            .as_str()
            .is_some_and(|message| message.contains("mock review (run 1): subtracts")),
        "{findings:#?}"
    );
    assert_eq!(findings[1]["severity"], 4);
    assert_eq!(findings[1]["range"]["start"]["line"], 4);
    let run = fixture.wait_run_state(1, "proposed").await;
    assert!(
        run["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("2 findings") && reason.contains("line 99")),
        "{run:#?}"
    );
    let request = &fixture.mock.requests()[0].body;
    assert!(
        request.to_string().contains("    2 |     a - b"),
        "{request}"
    );

    // An edit above the findings moves them down a line.
    fixture
        .client
        .change(&uri, range(0, 0, 0, 0), "// reviewed\n")
        .await;
    let findings = fixture
        .wait_diagnostics_where(&uri, "finding", |findings| {
            findings.len() == 2 && findings[0]["range"]["start"]["line"] == 2
        })
        .await;
    assert_eq!(findings[1]["range"]["start"]["line"], 5);

    // Dismissing the hint leaves the error.
    let hint = findings[1].clone();
    let actions = fixture
        .code_actions(&uri, hint["range"].clone(), vec![hint.clone()])
        .await;
    fixture
        .run_action(&actions, "Dismiss finding (run 1)")
        .await
        .expect("dismiss");
    let findings = fixture
        .wait_diagnostics_where(&uri, "finding", |findings| findings.len() == 1)
        .await;
    assert_eq!(findings[0]["range"]["start"]["line"], 2);

    // The error's fix becomes a proposal, which is accepted.
    let error = findings[0].clone();
    let actions = fixture
        .code_actions(&uri, error["range"].clone(), vec![error.clone()])
        .await;
    fixture
        .run_action(&actions, "Apply fix (run 1)")
        .await
        .expect("apply fix");
    let proposals = fixture.wait_proposals(&uri, 1).await;
    let finding_gone = fixture
        .client
        .notifications("textDocument/publishDiagnostics")
        .last()
        .map(|params| director_diagnostics_in(params, "finding"))
        .unwrap_or_default();
    assert!(finding_gone.is_empty(), "{finding_gone:#?}");
    let hunk = proposals[0]["data"]["hunk"].as_u64().expect("hunk id");
    fixture
        .execute("director.accept", json!({ "hunk": hunk }))
        .await
        .expect("accept");
    assert_eq!(
        fixture.client.text(&uri),
        format!("// reviewed\n{}", SUB_RS.replace("a - b", "a + b"))
    );
}
