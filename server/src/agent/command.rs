//! The `command` kind: a CLI agent (`claude -p`, `codex exec`, …) run as a
//! child process in a sandbox folder, its output streamed as progress.
//!
//! The process handling (own group recorded while it runs, tied to the
//! server, timeout, cancel) is [`super::process`]'s. The agent's edits are not
//! read from its output: the caller diffs the sandbox once it exits.

use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::agent::AgentEvent;
use crate::agent::plain_text::{AnsiStripper, without_ansi};
use crate::agent::process::{
    ProcessError, ProcessLaunch, describe_failure, run_process, with_tail,
};
use crate::config::agent_config::CommandSettings;
use crate::run::confine::Confinement;

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
    /// What the agent may change and reach.
    pub confinement: &'a Confinement,
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
    let Some(program) = argv.first() else {
        return Err(CommandError::Failed(format!(
            "agent `{}` has an empty command",
            launch.agent
        )));
    };
    let process = ProcessLaunch {
        argv: &argv,
        working_dir: launch.working_dir,
        env: &launch.settings.env,
        timeout: launch.timeout,
        group_file: launch.group_file,
        confinement: launch.confinement,
    };
    let stripper = std::sync::Mutex::new(AnsiStripper::default());
    let on_output = |text: &str| {
        let plain = stripper
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .strip(text);
        if !plain.is_empty() {
            events(AgentEvent::Delta(plain));
        }
    };
    match run_process(&process, &on_output, cancel).await {
        Ok(exit) if exit.status.success() => Ok(without_ansi(&exit.output)),
        Ok(exit) => Err(CommandError::Failed(with_tail(
            format!("agent `{}` {}", launch.agent, describe_failure(exit.status)),
            &exit.output,
        ))),
        Err(ProcessError::Cancelled) => Err(CommandError::Cancelled),
        Err(ProcessError::Spawn(error)) => Err(CommandError::Failed(format!(
            "cannot start agent `{}` ({program}): {error}",
            launch.agent
        ))),
        Err(ProcessError::TimedOut { output }) => Err(CommandError::Failed(with_tail(
            format!(
                "agent `{}` did not finish within {} s (its timeout) and was killed",
                launch.agent,
                launch.timeout.as_secs()
            ),
            &output,
        ))),
        Err(ProcessError::Wait(error)) => Err(CommandError::Failed(format!(
            "waiting for agent `{}`: {error}",
            launch.agent
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::unistd::Pid;
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
            writable: vec![],
            own_files: vec![],
            network: true,
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
            confinement: &Confinement::Unconfined,
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
    async fn colour_and_cursor_codes_never_reach_the_stream_the_output_or_a_failure() {
        let script = "printf '\\033[1;32mdone\\033[0m\\n'; printf '\\033[2K\\033[31merror: bad\\033[0m\\n' >&2";
        let (result, streamed, _dir) =
            run(script, Duration::from_secs(10), &CancellationToken::new()).await;
        let output = result.expect("a successful run");
        assert!(
            output.contains("done\n") && output.contains("error: bad\n"),
            "{output:?}"
        );
        assert!(!output.contains('\x1b'), "{output:?}");
        assert_eq!(streamed, output);
        let failing = format!("{script}; exit 1");
        let (result, _, _dir) =
            run(&failing, Duration::from_secs(10), &CancellationToken::new()).await;
        let Err(CommandError::Failed(reason)) = result else {
            panic!("expected a failure, got {result:?}");
        };
        assert!(reason.contains("\nerror: bad"), "{reason:?}");
        assert!(!reason.contains('\x1b'), "{reason:?}");
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
            writable: vec![],
            own_files: vec![],
            network: true,
        };
        let launch = CommandLaunch {
            agent: "ghost",
            settings: &settings,
            timeout: Duration::from_secs(5),
            prompt: "",
            file: "",
            working_dir: dir.path(),
            group_file: None,
            confinement: &Confinement::Unconfined,
        };
        let result = run_command(&launch, &|_| {}, &CancellationToken::new()).await;
        let Err(CommandError::Failed(reason)) = result else {
            panic!("expected a failure, got {result:?}");
        };
        assert!(reason.starts_with("cannot start agent `ghost`"), "{reason}");
    }
}
