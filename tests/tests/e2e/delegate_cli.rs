//! `director delegate` runs the same pipeline headless.

use crate::support::*;
use director_e2e::director_binary;
use director_e2e::mock_openai::MockOpenAi;

fn delegate(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(director_binary())
        .arg("delegate")
        .args(args)
        .current_dir(dir)
        .env("XDG_CONFIG_HOME", dir.join(".no-user-config"))
        .output()
        .expect("run director delegate")
}

#[tokio::test]
async fn delegate_prints_the_diff_and_apply_writes_it() {
    let mock = MockOpenAi::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("director.toml", &config_for(&mock, "")),
            ("src/lib.rs", ADD_RS),
        ],
    );
    mock.push(answer(ADD_FIXED));
    let dir_path = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        delegate(
            &dir_path,
            &[
                "src/lib.rs",
                "--range",
                "2:5-2:5",
                "--agent",
                AGENT,
                "Fix the bug",
            ],
        )
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("-    a - b\n+    a + b\n"), "{stdout}");
    // Named as git names it, relative to the workspace.
    assert!(
        stdout.starts_with("--- a/src/lib.rs\n+++ b/src/lib.rs\n"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("src/lib.rs")).unwrap(),
        ADD_RS
    );

    mock.push(answer(ADD_FIXED));
    let dir_path = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        delegate(
            &dir_path,
            &[
                "src/lib.rs",
                "--range",
                "1-3",
                "--agent",
                AGENT,
                "--apply",
                "Fix the bug",
            ],
        )
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("src/lib.rs")).unwrap(),
        ADD_FIXED
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("WARN") && !stderr.contains("accept in progress"),
        "applying warns of nothing: {stderr}"
    );
    let runs = std::process::Command::new(director_binary())
        .arg("runs")
        .current_dir(dir.path())
        .output()
        .expect("run director runs");
    let runs = String::from_utf8_lossy(&runs.stdout);
    assert!(
        runs.contains("1 accepted"),
        "the applied hunk is journalled accepted: {runs}"
    );

    let bad = delegate(
        dir.path(),
        &["src/lib.rs", "--range", "nonsense", "--agent", AGENT, "x"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--range must look like"));
    let unknown = delegate(
        dir.path(),
        &["src/lib.rs", "--range", "1-1", "--agent", "ghost", "x"],
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no agent named 'ghost'"));
}
