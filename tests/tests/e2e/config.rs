//! A malformed config gives diagnostics and a message, keeps the last good
//! config in force, and reloads when saved.

use crate::support::*;
use director_e2e::mock_openai::MockOpenAi;
use director_e2e::{range, secs};
use serde_json::json;

#[tokio::test]
async fn a_broken_config_is_reported_and_the_last_good_one_stays_until_fixed() {
    let fixture = Fixture::new(&[("src/lib.rs", ADD_RS)], false).await;
    let config_uri = fixture.uri("director.toml");
    let good = std::fs::read_to_string(fixture.path("director.toml")).unwrap();
    let broken = format!("{good}api_key = \"sk-live-should-not-be-here\"\n");
    std::fs::write(fixture.path("director.toml"), &broken).unwrap();
    fixture.client.open(&config_uri, "toml", &broken).await;
    fixture
        .client
        .notify(
            "textDocument/didSave",
            json!({ "textDocument": { "uri": config_uri } }),
        )
        .await;

    let diagnostics = fixture
        .client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| {
                params["uri"] == config_uri && !params["diagnostics"].as_array().unwrap().is_empty()
            },
            secs(10),
        )
        .await;
    let diagnostic = &diagnostics["diagnostics"][0];
    assert_eq!(diagnostic["severity"], 1);
    assert_eq!(diagnostic["code"], "config");
    assert!(
        diagnostic["message"]
            .as_str()
            .unwrap()
            .contains("api_key_env"),
        "{diagnostic}"
    );
    let lines = broken.lines().count() as u64;
    assert_eq!(
        diagnostic["range"]["start"]["line"],
        lines - 1,
        "points at the offending line"
    );
    let message = fixture
        .client
        .wait_notification("window/showMessage", |p| p["type"] == 1, secs(5))
        .await;
    assert!(
        message["message"]
            .as_str()
            .unwrap()
            .contains("previous configuration stays")
    );

    // The last good config still works.
    fixture.mock.push(answer(ADD_FIXED));
    let uri = fixture.open("src/lib.rs", "rust").await;
    fixture.delegate(&uri, range(1, 4, 1, 4), "Fix").await;
    fixture.wait_proposals(&uri, 1).await;

    // Fixed, with a second agent: saved, reloaded, diagnostics cleared.
    let second = MockOpenAi::start().await.unwrap();
    let fixed = format!(
        "{good}\n[agents.second]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"m\"\n",
        second.url()
    );
    std::fs::write(fixture.path("director.toml"), &fixed).unwrap();
    fixture
        .client
        .notify(
            "textDocument/didSave",
            json!({ "textDocument": { "uri": config_uri } }),
        )
        .await;
    fixture
        .client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| {
                params["uri"] == config_uri && params["diagnostics"].as_array().unwrap().is_empty()
            },
            secs(10),
        )
        .await;
    let actions = fixture.code_actions(&uri, range(0, 0, 0, 0), vec![]).await;
    assert!(
        titles(&actions)
            .iter()
            .any(|title| title == "Delegate to second: Simplify")
    );
    assert!(
        !fixture.client.stderr().contains("sk-live"),
        "the key must never be logged"
    );
}

#[tokio::test]
async fn a_config_broken_at_startup_is_reported_after_initialize() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[(
            "director.toml",
            "[agents.x]\nkind = \"telepathy\"\nmodel = \"m\"\n",
        )],
    );
    let client = start_client(dir.path(), false).await;
    let diagnostics = client
        .wait_notification(
            "textDocument/publishDiagnostics",
            |params| params["uri"].as_str().unwrap().ends_with("director.toml"),
            secs(10),
        )
        .await;
    let message = diagnostics["diagnostics"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("telepathy") && message.contains("openai"),
        "{message}"
    );
    client
        .wait_notification("window/showMessage", |p| p["type"] == 1, secs(5))
        .await;
}
