//! Starting an agent's process so that it dies with the server, even when the
//! server is killed and has no chance to kill it.
//!
//! On Linux the child asks the kernel for SIGKILL when its parent dies
//! (`PR_SET_PDEATHSIG`). The kernel sends it when the *thread* that forked the
//! child exits, not the process, and `tokio::process::Command::spawn` forks on
//! whichever thread calls it: a runtime worker, or a blocking-pool thread that
//! exits after idling a few seconds. So every agent is forked by one thread
//! that lives as long as the process. The signal only reaches the agent's first
//! process: confined (see [`crate::run::confine`]) that is bubblewrap, whose
//! death ends the agent's PID namespace and everything in it; unconfined, the
//! rest of its group is killed by the next server's startup cleanup
//! ([`crate::run::sandbox_cleanup`]).

use std::io;
use std::sync::{OnceLock, mpsc};

use tokio::process::{Child, Command};
use tokio::sync::oneshot;

/// A command to start, the runtime to register the child with, and where to
/// send the result.
type SpawnRequest = (
    Command,
    tokio::runtime::Handle,
    oneshot::Sender<io::Result<Child>>,
);

/// The lasting thread's inbox; `None` when the thread could not be started.
static SPAWNER: OnceLock<Option<mpsc::Sender<SpawnRequest>>> = OnceLock::new();

/// Starts `command`, asking on Linux that it be killed when the server dies.
pub async fn spawn_tied_to_server(mut command: Command) -> io::Result<Child> {
    #[cfg(target_os = "linux")]
    die_with_this_process(&mut command);
    let Some(spawner) = SPAWNER.get_or_init(start_spawner) else {
        return command.spawn();
    };
    let (reply, answer) = oneshot::channel();
    if let Err(mpsc::SendError((mut command, _, _))) =
        spawner.send((command, tokio::runtime::Handle::current(), reply))
    {
        return command.spawn();
    }
    answer
        .await
        .unwrap_or_else(|_| Err(io::Error::other("the agent spawner stopped")))
}

/// The thread that forks every agent; it never exits, since the inbox's
/// sender lives in a static.
fn start_spawner() -> Option<mpsc::Sender<SpawnRequest>> {
    let (sender, inbox) = mpsc::channel::<SpawnRequest>();
    let started = std::thread::Builder::new()
        .name("director-agent-spawner".to_owned())
        .spawn(move || {
            for (mut command, runtime, reply) in inbox {
                let _entered = runtime.enter();
                let _ = reply.send(command.spawn());
            }
        });
    match started {
        Ok(_) => Some(sender),
        Err(error) => {
            tracing::warn!("cannot start the agent spawner thread: {error}");
            None
        }
    }
}

#[cfg(target_os = "linux")]
fn die_with_this_process(command: &mut Command) {
    use nix::sys::signal::Signal;
    let server = nix::unistd::getpid();
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: it makes two system calls
    // (prctl, getppid) and allocates nothing on success.
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)?;
            // The server may have died between the fork and the prctl.
            if nix::unistd::getppid() != server {
                return Err(io::Error::other("the server exited"));
            }
            Ok(())
        });
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Starts `program` from a short-lived thread, which then exits.
    fn spawn_from_a_passing_thread(program: &str, arguments: &[&str]) -> Child {
        let runtime = tokio::runtime::Handle::current();
        let (program, arguments) = (
            program.to_owned(),
            arguments
                .iter()
                .map(|argument| (*argument).to_owned())
                .collect::<Vec<_>>(),
        );
        std::thread::spawn(move || {
            runtime.block_on(async {
                let mut command = Command::new(program);
                command
                    .args(arguments)
                    .stdout(std::process::Stdio::piped())
                    .kill_on_drop(true);
                spawn_tied_to_server(command)
                    .await
                    .expect("the program starts")
            })
        })
        .join()
        .expect("the thread ends")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_agent_asks_to_die_with_the_server_but_not_with_the_thread_that_asked() {
        // prctl(PR_GET_PDEATHSIG = 2) from inside the child.
        let child = spawn_from_a_passing_thread(
            "python3",
            &[
                "-c",
                "import ctypes; s = ctypes.c_int(); \
                 ctypes.CDLL(None).prctl(2, ctypes.byref(s)); print(s.value)",
            ],
        );
        let output = child.wait_with_output().await.expect("python3 ends");
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "9");

        let mut sleeper = spawn_from_a_passing_thread("sleep", &["30"]);
        // Had the passing thread forked it, its exit would have killed it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            sleeper.try_wait().expect("a status").is_none(),
            "still running"
        );
        sleeper.kill().await.expect("killed");
    }
}
