//! Running a local program for a run: a CLI agent, an ACP agent, or the check
//! command that validates an edit, confined as the run says (see
//! [`crate::run::confine`]). The program runs in its own process group
//! so that a timeout or a cancel kills everything it started, not only the
//! first process; the group can be recorded while it runs, and the program
//! dies with the server (see [`crate::agent::spawn_tied`]), so not even a
//! killed server leaves it running. Its output (stdout and stderr, interleaved
//! as they came) is streamed and kept.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use crate::agent::spawn_tied::spawn_tied_to_server;
use crate::run::confine::Confinement;

/// Variables every program sees beside the ones its config names: enough to
/// find programs, its own settings and credentials, and the locale.
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
pub const TAIL_LINES: usize = 20;

/// How long the output is still read after the program exited and its group was killed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// One launch of a local program.
#[derive(Debug, Clone)]
pub struct ProcessLaunch<'a> {
    /// The program, then its arguments; never empty.
    pub argv: &'a [String],
    pub working_dir: &'a Path,
    /// Names of environment variables passed through beside [`PASSED_ENVIRONMENT`].
    pub env: &'a [String],
    pub timeout: Duration,
    /// Where the program's process group is written while it runs, so that the
    /// next server can kill it should this one die first.
    pub group_file: Option<&'a Path>,
    /// What the program may change and reach.
    pub confinement: &'a Confinement,
}

/// A program that ran to its end, successfully or not.
#[derive(Debug, Clone)]
pub struct ProcessExit {
    pub status: ExitStatus,
    /// Everything it printed, lossily decoded.
    pub output: String,
}

/// Why a program did not run to its end.
#[derive(Debug)]
pub enum ProcessError {
    /// The run was cancelled; the program's group was killed.
    Cancelled,
    /// It could not be started (missing program, bad folder).
    Spawn(std::io::Error),
    /// It outlived its timeout and its group was killed; `output` is what it printed.
    TimedOut { output: String },
    /// Waiting for it failed.
    Wait(std::io::Error),
}

/// Runs a program to its end, each piece of its output also given to `on_output`.
pub async fn run_process(
    launch: &ProcessLaunch<'_>,
    on_output: &(dyn Fn(&str) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<ProcessExit, ProcessError> {
    let Some((program, arguments)) = launch.argv.split_first() else {
        return Err(ProcessError::Spawn(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the command is empty",
        )));
    };
    let mut command = sandboxed_command(
        launch.confinement,
        program,
        arguments,
        launch.env,
        launch.working_dir,
    );
    // Closed: `codex exec` would otherwise wait for more input.
    command.stdin(Stdio::null());
    let mut child = spawn_tied_to_server(command)
        .await
        .map_err(ProcessError::Spawn)?;
    let group = process_group(&child);
    record_process_group(group, launch.group_file);
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
        on_output(&String::from_utf8_lossy(&chunk));
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
    // Whatever the end, nothing the program started outlives it.
    kill_group();
    let status = match exit {
        Ok(status) => status,
        Err(cancelled) => {
            let _ = child.wait().await;
            if cancelled {
                return Err(ProcessError::Cancelled);
            }
            drain(&mut receiver, &mut record).await;
            return Err(ProcessError::TimedOut {
                output: String::from_utf8_lossy(&output).into_owned(),
            });
        }
    };
    drain(&mut receiver, &mut record).await;
    let status = status.map_err(ProcessError::Wait)?;
    Ok(ProcessExit {
        status,
        output: String::from_utf8_lossy(&output).into_owned(),
    })
}

/// The launch of a local program in `working_dir`, confined as
/// `confinement` says: in its own process group (see [`process_group`]),
/// killed when dropped, with piped output and only [`PASSED_ENVIRONMENT`] and
/// the variables named in `env`.
pub fn sandboxed_command(
    confinement: &Confinement,
    program: &str,
    arguments: &[String],
    env: &[String],
    working_dir: &Path,
) -> Command {
    let mut command = confinement.command(program, arguments, working_dir);
    command
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for name in PASSED_ENVIRONMENT
        .iter()
        .copied()
        .chain(env.iter().map(String::as_str))
    {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
}

/// The process group a [`sandboxed_command`] started; read it before waiting
/// for the child, which forgets its id once reaped.
pub fn process_group(child: &tokio::process::Child) -> Option<Pid> {
    child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw)
}

/// Writes a process group into the sandbox, so that a server started after
/// this one died can find and stop a program left running.
pub fn record_process_group(group: Option<Pid>, group_file: Option<&Path>) {
    let (Some(group), Some(group_file)) = (group, group_file) else {
        return;
    };
    if let Err(error) = std::fs::write(group_file, group.to_string()) {
        tracing::warn!(
            "cannot record a process group in {}: {error}",
            group_file.display()
        );
    }
}

/// Kills everything left in `group`.
pub fn kill_process_group(group: Option<Pid>) {
    if let Some(group) = group {
        // The group may already be gone; there is nothing else to do then.
        let _ = killpg(group, Signal::SIGKILL);
    }
}

/// How a program that did not succeed ended: "exited with status 3".
pub fn describe_failure(status: ExitStatus) -> String {
    match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "failed".to_owned(),
    }
}

/// `reason`, then the last [`TAIL_LINES`] lines of `output` when there is
/// any, as plain text.
pub fn with_tail(reason: String, output: &str) -> String {
    let output = crate::agent::plain_text::without_ansi(output);
    let lines: Vec<&str> = output.lines().collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    if tail.trim().is_empty() {
        format!("{reason}; it printed nothing")
    } else {
        format!("{reason}; the end of its output:\n{tail}")
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
