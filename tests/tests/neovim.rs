//! The Neovim plugin (editors/neovim) in a real Neovim 0.10+: its Lua unit
//! tests, and end-to-end scripts that drive the real `director lsp` against the
//! loopback OpenAI mock. Neovim must be installed: these tests fail, never
//! skip, without it (`cargo xtask setup` installs it).

use director_e2e::director_binary;
use director_e2e::mock_openai::{MockOpenAi, Reply};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

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

/// The agent's answer: one in-line insertion (": u32") and one inserted line.
const ANSWER: &str = r#"pub fn total(items: &[u32]) -> u32 {
    let mut sum: u32 = 0;
    for item in items {
        sum += item;
    }
    sum
}

pub fn greeting() -> &'static str {
    // Greets the caller.
    "hello"
}
"#;

#[test]
fn lua_unit_tests_pass() {
    let workspace = tempfile::tempdir().expect("temp dir");
    let run = run_script("unit.lua", workspace.path(), &[]);
    run.assert_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegate_review_accept_and_reject_from_neovim() {
    let mock = MockOpenAi::start().await.expect("mock server");
    mock.push(Reply::Stream {
        chunks: vec![
            "Here it is:\n\n```rust\n".to_owned(),
            ANSWER[..40].to_owned(),
            ANSWER[40..].to_owned(),
            "```\n".to_owned(),
        ],
        usage: Some((100, 40)),
        // Slow enough for the statusline to show the run in progress.
        delay: Duration::from_millis(250),
    });
    // Run 2 on greeting(), then its refinement (run 3), then run 4 that never
    // answers and is cancelled.
    mock.push(Reply::stream(
        &[
            "```rust\n",
            "pub fn greeting() -> &'static str {\n    \"hi\"\n}\n",
            "```\n",
        ],
        None,
    ));
    mock.push(Reply::stream(
        &[
            "```rust\n",
            "pub fn greeting() -> &'static str {\n    \"hey\"\n}\n",
            "```\n",
        ],
        None,
    ));
    mock.push(Reply::Stall);
    let workspace = tempfile::tempdir().expect("temp dir");
    let agent = |name: &str| {
        format!(
            "[agents.{name}]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"mock-model\"\ntimeout = 20\n",
            mock.url()
        )
    };
    std::fs::write(
        workspace.path().join("director.toml"),
        format!("{}\n{}", agent("mock"), agent("spare")),
    )
    .expect("write director.toml");
    std::fs::create_dir_all(workspace.path().join("src")).expect("mkdir src");
    std::fs::write(workspace.path().join("src/lib.rs"), SOURCE).expect("write src/lib.rs");

    let director = director_binary();
    let director = director
        .to_str()
        .expect("utf-8 path to director")
        .to_owned();
    let workspace_path = workspace.path().to_owned();
    let run = tokio::task::spawn_blocking(move || {
        run_script(
            "e2e_delegate.lua",
            &workspace_path,
            &[("DIRECTOR_BIN", &director)],
        )
    })
    .await
    .expect("script thread");
    run.assert_passed();

    let requests = mock.requests();
    assert_eq!(
        requests.len(),
        4,
        "four requests to the agent\n{}",
        run.report()
    );
    let prompt = requests[0].body["messages"].to_string();
    assert!(
        prompt.contains("Instruction: Tidy up"),
        "the instruction typed at the prompt reached the agent: {prompt}"
    );
    let refinement = requests[2].body["messages"].to_string();
    assert!(
        refinement.contains("Feedback on your answer: Even shorter"),
        "the refinement's feedback reached the agent: {refinement}"
    );
    let saved =
        std::fs::read_to_string(workspace.path().join("src/lib.rs")).expect("read src/lib.rs");
    assert_eq!(
        saved, SOURCE,
        "nothing was written to disk: accepting edits the buffer only"
    );
}

#[test]
fn a_missing_director_executable_is_reported() {
    let workspace = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(workspace.path().join("src")).expect("mkdir src");
    std::fs::write(workspace.path().join("src/lib.rs"), SOURCE).expect("write src/lib.rs");
    std::fs::write(workspace.path().join("src/other.py"), "print('hi')\n")
        .expect("write src/other.py");
    let run = run_script("e2e_missing_server.lua", workspace.path(), &[]);
    run.assert_passed();
}

/// What one Neovim run left behind.
struct ScriptRun {
    script: String,
    success: bool,
    status: String,
    stdout: String,
    stderr: String,
    result: String,
    lsp_log: String,
}

impl ScriptRun {
    fn report(&self) -> String {
        format!(
            "nvim -l {} exited with {}\n--- results\n{}\n--- stdout\n{}\n--- stderr\n{}\n--- lsp.log (tail)\n{}",
            self.script, self.status, self.result, self.stdout, self.stderr, self.lsp_log
        )
    }

    fn assert_passed(&self) {
        assert!(
            self.success && self.result.trim_end().ends_with("PASS"),
            "{}",
            self.report()
        );
    }
}

/// Runs editors/neovim/tests/`script` in a headless, config-less Neovim whose
/// state and config folders are inside `workspace`, with a time limit.
fn run_script(script: &str, workspace: &Path, extra_env: &[(&str, &str)]) -> ScriptRun {
    let nvim = neovim();
    let script_path = plugin_root().join("tests").join(script);
    let home = tempfile::tempdir().expect("temp dir");
    let result_path = home.path().join("result.txt");
    let mut command = std::process::Command::new(nvim);
    command
        .args(["--headless", "--clean", "-u", "NONE", "-l"])
        .arg(&script_path)
        .current_dir(workspace)
        .env("DIRECTOR_WORKSPACE", workspace)
        .env("DIRECTOR_TEST_RESULT", &result_path)
        .env(
            "DIRECTOR_USER_CONFIG",
            home.path().join("no-user-config.toml"),
        )
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in extra_env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("start nvim");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let timed_out = loop {
        if child.try_wait().expect("wait for nvim").is_some() {
            break false;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break true;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().expect("nvim output");
    let lsp_log =
        std::fs::read_to_string(home.path().join("state/nvim/lsp.log")).unwrap_or_default();
    let lsp_log_tail: Vec<&str> = lsp_log.lines().rev().take(60).collect();
    ScriptRun {
        script: script.to_owned(),
        success: output.status.success() && !timed_out,
        status: if timed_out {
            "a timeout after 90 s".to_owned()
        } else {
            output.status.to_string()
        },
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        result: std::fs::read_to_string(&result_path)
            .unwrap_or_else(|_| "(no result file)".to_owned()),
        lsp_log: lsp_log_tail
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn plugin_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/neovim")
}

/// Neovim 0.10 or newer: `$DIRECTOR_NVIM`, else `nvim` on PATH, else where
/// tests/editors/install-neovim.sh puts it. Panics (so the tests fail, not
/// skip) when none of them is one.
fn neovim() -> PathBuf {
    static NEOVIM: OnceLock<PathBuf> = OnceLock::new();
    NEOVIM.get_or_init(find_neovim).clone()
}

fn find_neovim() -> PathBuf {
    const INSTALL: &str = "install it with `eval \"$(cargo xtask setup)\"`";
    if let Some(path) = std::env::var_os("DIRECTOR_NVIM") {
        let path = PathBuf::from(path);
        return match neovim_version(&path) {
            Some(version) if version >= (0, 10) => path,
            found => panic!(
                "DIRECTOR_NVIM={} is not Neovim 0.10 or newer (found {found:?}); {INSTALL}",
                path.display()
            ),
        };
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")));
    let mut candidates = vec![PathBuf::from("nvim")];
    candidates.extend(cache.map(|cache| cache.join("director-tools/nvim10/nvim")));
    let mut seen = Vec::new();
    for candidate in candidates {
        match neovim_version(&candidate) {
            Some(version) if version >= (0, 10) => return candidate,
            found => seen.push(format!("{}: {found:?}", candidate.display())),
        }
    }
    panic!(
        "the Neovim plugin tests need Neovim 0.10 or newer and found none ({}); {INSTALL}",
        seen.join(", ")
    );
}

/// (major, minor) from `nvim --version`, or None when it does not run.
fn neovim_version(nvim: &Path) -> Option<(u32, u32)> {
    let output = std::process::Command::new(nvim)
        .arg("--version")
        .output()
        .ok()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let version = stdout.lines().next()?.strip_prefix("NVIM v")?;
    let mut numbers = version
        .split(['.', '-'])
        .map(|part| part.parse::<u32>().ok());
    Some((numbers.next()??, numbers.next()??))
}
