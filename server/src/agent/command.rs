//! The `command` kind: a CLI agent (`claude -p`, `codex exec`, …) run as a
//! child process in a sandbox folder, its output streamed as progress.
//!
//! The agent runs in its own process group so that a timeout or a cancel kills
//! everything it started, not only the first process; the group is recorded
//! while it runs, and the agent dies with the server (see
//! [`crate::agent::spawn_tied`]), so not even a killed server leaves it
//! running. Its stdin is closed: `codex exec` would otherwise wait for more
//! input. Its edits are not read from its output: the caller diffs the
//! sandbox once it exits.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use crate::agent::AgentEvent;
use crate::agent::spawn_tied::spawn_tied_to_server;
use crate::config::agent_config::CommandSettings;

/// Variables every agent sees beside the ones its config names: enough to find
/// programs, its own settings and credentials, and the locale.
const PASSED_ENVIRONMENT: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
];

/// How many of the last output lines a failure quotes.
const TAIL_LINES: usize = 20;

/// How long the output is still read after the agent exited and its group was killed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// One launch of a CLI agent.
#[derive(Debug, Clone)]
pub struct CommandLaunch<'a> {
    pub agent: &'a str,
    pub settings: &'a CommandSettings,
    pub timeout: Duration,
    /// Replaces `{prompt}` in the arguments.
    pub prompt: &'a str,
    /// Replaces `{file}`: the delegated file, relative to the working directory.
    pub file: &'a str,
    /// The sandbox's copy of the workspace.
    pub working_dir: &'a Path,
    /// Where the agent's process group is written while it runs, so that the
    /// next server can kill it should this one die first.
    pub group_file: Option<&'a Path>,
}

/// Why a CLI agent's run did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("the agent was cancelled")]
    Cancelled,
    /// The reason ends with the tail of the agent's output.
    #[error("{0}")]
    Failed(String),
}

/// Runs the agent to its end and returns everything it printed (stdout and
/// stderr, interleaved as they came), each piece also sent as a
/// [`AgentEvent::Delta`].
pub async fn run_command(
    launch: &CommandLaunch<'_>,
    events: &(dyn Fn(AgentEvent) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<String, CommandError> {
    let argv: Vec<String> = launch
        .settings
        .argv
        .iter()
        .map(|argument| {
            argument
                .replace("{prompt}", launch.prompt)
                .replace("{file}", launch.file)
        })
        .collect();
    let Some((program, arguments)) = argv.split_first() else {
        return Err(CommandError::Failed(format!(
            "agent `{}` has an empty command",
            launch.agent
        )));
    };
    let mut command = sandboxed_command(program, arguments, launch.settings, launch.working_dir);
    command.stdin(Stdio::null());
    let mut child = spawn_tied_to_server(command).await.map_err(|error| {
        CommandError::Failed(format!(
            "cannot start agent `{}` ({program}): {error}",
            launch.agent
        ))
    })?;
    let group = process_group(&child);
    record_process_group(launch.agent, group, launch.group_file);
    let kill_group = || {
        kill_process_group(group);
        if let Some(group_file) = launch.group_file {
            let _ = std::fs::remove_file(group_file);
        }
    };
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(forward_output(stdout, sender.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(forward_output(stderr, sender.clone()));
    }
    drop(sender);

    let mut output = Vec::new();
    let mut record = |chunk: Vec<u8>| {
        events(AgentEvent::Delta(
            String::from_utf8_lossy(&chunk).into_owned(),
        ));
        output.extend_from_slice(&chunk);
    };
    let deadline = tokio::time::sleep(launch.timeout);
    tokio::pin!(deadline);
    let mut output_open = true;
    let exit = loop {
        tokio::select! {
            chunk = receiver.recv(), if output_open => match chunk {
                Some(chunk) => record(chunk),
                None => output_open = false,
            },
            status = child.wait() => break Ok(status),
            () = &mut deadline => break Err(false),
            () = cancel.cancelled() => break Err(true),
        }
    };
    // Whatever the end, nothing the agent started outlives its run.
    kill_group();
    let status = match exit {
        Ok(status) => status,
        Err(cancelled) => {
            let _ = child.wait().await;
            if cancelled {
                return Err(CommandError::Cancelled);
            }
            drain(&mut receiver, &mut record).await;
            return Err(CommandError::Failed(with_tail(
                format!(
                    "agent `{}` did not finish within {} s (its timeout) and was killed",
                    launch.agent,
                    launch.timeout.as_secs()
                ),
                &output,
            )));
        }
    };
    drain(&mut receiver, &mut record).await;
    let status = status.map_err(|error| {
        CommandError::Failed(format!("waiting for agent `{}`: {error}", launch.agent))
    })?;
    if status.success() {
        return Ok(String::from_utf8_lossy(&output).into_owned());
    }
    let how = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "failed".to_owned(),
    };
    Err(CommandError::Failed(with_tail(
        format!("agent `{}` {how}", launch.agent),
        &output,
    )))
}

/// The launch of a local agent in `working_dir`: in its own process group
/// (see [`process_group`]), killed when dropped, with piped output and
/// only the environment its settings allow.
pub(crate) fn sandboxed_command(
    program: &str,
    arguments: &[String],
    settings: &CommandSettings,
    working_dir: &Path,
) -> Command {
    let mut command = Command::new(program);
    command
        .args(arguments)
        .current_dir(working_dir)
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for name in PASSED_ENVIRONMENT
        .iter()
        .copied()
        .chain(settings.env.iter().map(String::as_str))
    {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
}

/// The process group a [`sandboxed_command`] started; read it before waiting
/// for the child, which forgets its id once reaped.
pub(crate) fn process_group(child: &tokio::process::Child) -> Option<Pid> {
    child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw)
}

/// Writes the agent's process group into the sandbox, so that a server
/// started after this one died can find and stop an agent left running.
pub(crate) fn record_process_group(agent: &str, group: Option<Pid>, group_file: Option<&Path>) {
    let (Some(group), Some(group_file)) = (group, group_file) else {
        return;
    };
    if let Err(error) = std::fs::write(group_file, group.to_string()) {
        tracing::warn!("cannot record agent `{agent}`'s process group: {error}");
    }
}

/// Kills everything left in `group`.
pub(crate) fn kill_process_group(group: Option<Pid>) {
    if let Some(group) = group {
        // The group may already be gone; there is nothing else to do then.
        let _ = killpg(group, Signal::SIGKILL);
    }
}

/// Sends what `pipe` yields, chunk by chunk, until it closes.
async fn forward_output(
    mut pipe: impl AsyncRead + Unpin,
    sender: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
) {
    let mut buffer = vec![0u8; 8192];
    while let Ok(read) = pipe.read(&mut buffer).await {
        if read == 0 || sender.send(buffer[..read].to_vec()).is_err() {
            break;
        }
    }
}

/// Reads what is left of the output, for a bounded time: a process that left
/// the group could keep a pipe open forever.
async fn drain(
    receiver: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
    record: &mut impl FnMut(Vec<u8>),
) {
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while let Some(chunk) = receiver.recv().await {
            record(chunk);
        }
    })
    .await;
}

/// `reason`, then the last [`TAIL_LINES`] lines of `output` when there is any.
pub(crate) fn with_tail(reason: String, output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    if tail.trim().is_empty() {
        format!("{reason}; it printed nothing")
    } else {
        format!("{reason}; the end of its output:\n{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn settings(script: &str) -> CommandSettings {
        CommandSettings {
            argv: vec![
                "sh".into(),
                "-c".into(),
                script.into(),
                "agent".into(),
                "{prompt}".into(),
                "{file}".into(),
            ],
            env: vec![],
            keep_sandbox: false,
        }
    }

    async fn run(
        script: &str,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> (Result<String, CommandError>, String, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let settings = settings(script);
        let group_file = dir.path().join("agent.pgid");
        let launch = CommandLaunch {
            agent: "fake",
            settings: &settings,
            timeout,
            prompt: "do it",
            file: "src/lib.rs",
            working_dir: dir.path(),
            group_file: Some(&group_file),
        };
        let streamed = Mutex::new(String::new());
        let sink = |event: AgentEvent| {
            if let AgentEvent::Delta(text) = event {
                streamed.lock().expect("unpoisoned").push_str(&text);
            }
        };
        let result = run_command(&launch, &sink, cancel).await;
        let streamed = streamed.into_inner().expect("unpoisoned");
        (result, streamed, dir)
    }

    #[tokio::test]
    async fn the_agent_runs_in_its_folder_with_its_placeholders_and_streams_its_output() {
        let (result, streamed, dir) = run(
            "echo \"prompt=$1 file=$2\"; echo oops >&2; pwd > where.txt",
            Duration::from_secs(10),
            &CancellationToken::new(),
        )
        .await;
        let output = result.expect("a successful run");
        assert!(output.contains("prompt=do it file=src/lib.rs"), "{output}");
        assert!(output.contains("oops"), "{output}");
        assert_eq!(streamed, output);
        let where_ = std::fs::read_to_string(dir.path().join("where.txt")).expect("written");
        assert_eq!(
            Path::new(where_.trim()).canonicalize().expect("a path"),
            dir.path().canonicalize().expect("a path")
        );
    }

    #[tokio::test]
    async fn the_agent_s_process_group_is_recorded_while_it_runs() {
        let (result, _, dir) = run(
            "while [ ! -s agent.pgid ]; do sleep 0.05; done; echo \"group=$(cat agent.pgid) leader=$$\"",
            Duration::from_secs(10),
            &CancellationToken::new(),
        )
        .await;
        let output = result.expect("a successful run");
        let (group, leader) = output
            .trim()
            .strip_prefix("group=")
            .and_then(|rest| rest.split_once(" leader="))
            .expect("both ids");
        assert_eq!(group, leader, "the agent leads its own group");
        assert!(
            !dir.path().join("agent.pgid").exists(),
            "removed after the run"
        );
    }

    #[tokio::test]
    async fn a_failure_quotes_the_tail_of_the_output() {
        let (result, _, _dir) = run(
            "for i in $(seq 1 30); do echo line $i; done; exit 3",
            Duration::from_secs(10),
            &CancellationToken::new(),
        )
        .await;
        let Err(CommandError::Failed(reason)) = result else {
            panic!("expected a failure, got {result:?}");
        };
        assert!(
            reason.starts_with("agent `fake` exited with status 3"),
            "{reason}"
        );
        assert!(reason.ends_with("line 30"), "{reason}");
        assert!(reason.contains("line 11\n"), "{reason}");
        assert!(!reason.contains("line 10\n"), "{reason}");
    }

    #[tokio::test]
    async fn a_hang_is_killed_with_everything_it_started() {
        let (result, _, dir) = run(
            "sleep 60 & echo $! > child.pid; echo started; wait",
            Duration::from_millis(500),
            &CancellationToken::new(),
        )
        .await;
        let Err(CommandError::Failed(reason)) = result else {
            panic!("expected a failure, got {result:?}");
        };
        assert!(reason.contains("did not finish within"), "{reason}");
        assert!(reason.ends_with("started"), "{reason}");
        let pid = std::fs::read_to_string(dir.path().join("child.pid")).expect("a pid");
        let pid = Pid::from_raw(pid.trim().parse().expect("a number"));
        // The grandchild is gone (possibly a zombie until reaped by init briefly).
        let mut alive = true;
        for _ in 0..50 {
            alive = nix::sys::signal::kill(pid, None).is_ok()
                && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|stat| stat.contains(") Z "));
            if !alive {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!alive, "the sleeping grandchild was killed");
    }

    #[tokio::test]
    async fn a_cancel_stops_the_agent_promptly() {
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            trigger.cancel();
        });
        let started = std::time::Instant::now();
        let (result, _, _dir) = run("sleep 30", Duration::from_secs(60), &cancel).await;
        assert_eq!(result, Err(CommandError::Cancelled));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_missing_program_is_a_clear_failure() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let settings = CommandSettings {
            argv: vec!["director-no-such-agent".into()],
            env: vec![],
            keep_sandbox: false,
        };
        let launch = CommandLaunch {
            agent: "ghost",
            settings: &settings,
            timeout: Duration::from_secs(5),
            prompt: "",
            file: "",
            working_dir: dir.path(),
            group_file: None,
        };
        let result = run_command(&launch, &|_| {}, &CancellationToken::new()).await;
        let Err(CommandError::Failed(reason)) = result else {
            panic!("expected a failure, got {result:?}");
        };
        assert!(reason.starts_with("cannot start agent `ghost`"), "{reason}");
    }
}
