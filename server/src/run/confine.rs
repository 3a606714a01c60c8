//! Kernel-enforced confinement of every program Director starts for a run
//! (a `command` or `acp` agent, a `check` command), with bubblewrap (`bwrap`,
//! the tool Claude Code's and Codex's own sandboxes build on).
//!
//! Inside, the program sees the whole file system read-only, a private `/tmp`,
//! its own `/dev` and `/proc`, no `/run` (where services' sockets are), and
//! may write only to the folders it is given:
//! the run's sandbox copy, the sandbox worktree's own git folder, and the
//! folders its CLI keeps its settings and caches in. The real workspace, its
//! `.git` and the user's home cannot be changed. It runs in its own user and
//! PID namespaces: when the program Director started ends, or is killed, the
//! kernel kills every process it left, including those that called `setsid`.
//! The network stays open unless the agent's config closes it.
//!
//! Where bubblewrap cannot run, the programs run unconfined only if the user
//! opted out of confinement in the user config (`allow_unconfined_agents`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::process::Command;

/// The bubblewrap program looked up on `PATH`.
const BWRAP: &str = "bwrap";
/// Where distributions install it, for a server started with a `PATH` that
/// lacks it (an editor launched from a desktop, a trimmed environment).
const BWRAP_FALLBACKS: &[&str] = &["/usr/bin/bwrap", "/usr/local/bin/bwrap"];

/// How the programs of one run are started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confinement {
    /// Inside bubblewrap.
    Bubblewrap(Jail),
    /// As ordinary child processes: the user opted out where bubblewrap
    /// cannot run.
    Unconfined,
}

/// What a confined program may change and reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jail {
    /// The `bwrap` program.
    pub bwrap: PathBuf,
    /// Folders and files the program may write; everything else is read-only.
    pub writable: Vec<PathBuf>,
    /// Paths inside a writable folder that stay read-only.
    pub read_only: Vec<PathBuf>,
    /// Whether the program may reach the network.
    pub network: bool,
}

impl Confinement {
    /// The command that starts `program` with `arguments` in `working_dir`,
    /// confined as this says.
    pub fn command(&self, program: &str, arguments: &[String], working_dir: &Path) -> Command {
        let mut command = match self {
            Confinement::Unconfined => {
                let mut command = Command::new(program);
                command.args(arguments);
                command
            }
            Confinement::Bubblewrap(jail) => {
                let mut command = Command::new(&jail.bwrap);
                let needed = needed_below_private_folders(program, arguments);
                command
                    .args(jail.arguments(working_dir, &needed))
                    .arg("--")
                    .arg(program)
                    .args(arguments);
                command
            }
        };
        command.current_dir(working_dir);
        command
    }
}

impl Jail {
    /// bubblewrap's options, in order: later mounts lie over earlier ones.
    /// `needed` are folders below the private ones (`/tmp`, `/var/tmp`) that
    /// the program needs to start: they stay visible, read-only.
    fn arguments(&self, working_dir: &Path, needed: &[PathBuf]) -> Vec<OsString> {
        let mut arguments: Vec<OsString> = [
            "--die-with-parent",
            "--unshare-user",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
            "--tmpfs",
            "/var/tmp",
            // The sockets of the machine's services (the user's D-Bus and
            // systemd, Docker) would let it act outside; name resolution stays.
            "--tmpfs",
            "/run",
            "--ro-bind-try",
            "/run/systemd/resolve",
            "/run/systemd/resolve",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        if !self.network {
            arguments.push("--unshare-net".into());
        }
        // bubblewrap refuses to bind what does not exist.
        let needed = needed.to_vec();
        for (option, paths) in [
            ("--ro-bind", &needed),
            ("--bind", &self.writable),
            ("--ro-bind", &self.read_only),
        ] {
            for path in paths.iter().filter(|path| path.exists()) {
                arguments.push(option.into());
                arguments.push(path.into());
                arguments.push(path.into());
            }
        }
        // Its /tmp is its own: a TMPDIR below the real one would not exist.
        arguments.extend(["--setenv", "TMPDIR", "/tmp", "--chdir"].map(OsString::from));
        arguments.push(working_dir.into());
        arguments
    }
}

/// Folders the jail replaces with private, empty ones.
const PRIVATE_FOLDERS: &[&str] = &["/tmp", "/var/tmp"];

/// The folders directly below a private folder that hold the program (found
/// on `PATH`, links followed) or a file its arguments name: a program kept in
/// `/tmp/tools/…`, or a script there it is told to run, must still start. Only
/// those folders come back, read-only; the rest of `/tmp` (other programs'
/// sockets, say) stays out of sight.
fn needed_below_private_folders(program: &str, arguments: &[String]) -> Vec<PathBuf> {
    let program = if program.contains('/') {
        Some(PathBuf::from(program))
    } else {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|folder| folder.join(program))
                .find(|candidate| candidate.is_file())
        })
    };
    let named = arguments
        .iter()
        .map(PathBuf::from)
        .filter(|argument| argument.is_absolute() && argument.exists());
    let mut needed: Vec<PathBuf> = Vec::new();
    for path in program.into_iter().chain(named) {
        let resolved = path.canonicalize().ok();
        for path in std::iter::once(path).chain(resolved) {
            let top = PRIVATE_FOLDERS.iter().find_map(|private| {
                let first = path.strip_prefix(private).ok()?.components().next()?;
                Some(Path::new(private).join(first))
            });
            if let Some(top) = top.filter(|top| !needed.contains(top)) {
                needed.push(top);
            }
        }
    }
    needed
}

/// How a run's programs are started: inside bubblewrap, writable only in
/// `writable` (those that exist when it starts) but for `read_only`; or, where bubblewrap
/// cannot run here, unconfined when the user allowed it
/// (`allow_unconfined_agents`), the first time with a warning in the log.
/// Otherwise why they may not run, with what to do.
pub fn confinement_for(
    writable: Vec<PathBuf>,
    read_only: Vec<PathBuf>,
    network: bool,
    allow_unconfined: bool,
) -> Result<Confinement, String> {
    static WARNED: AtomicBool = AtomicBool::new(false);
    match bubblewrap() {
        Ok(bwrap) => Ok(Confinement::Bubblewrap(Jail {
            bwrap: bwrap.to_owned(),
            writable,
            read_only,
            network,
        })),
        Err(reason) if allow_unconfined => {
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "local agents and checks run unconfined, as the user config allows: {reason}"
                );
            }
            Ok(Confinement::Unconfined)
        }
        Err(reason) => Err(format!(
            "Director confines local agents and checks so that they cannot change anything \
             outside their sandbox, and cannot here: {reason}. Install bubblewrap, or accept \
             the risk with `allow_unconfined_agents = true` in your user config ({})",
            crate::config::user_config_path().map_or_else(
                || "config.toml".to_owned(),
                |path| path.display().to_string()
            )
        )),
    }
}

/// The `bwrap` to confine programs with, or why there is none that works
/// here; looked up and tried once per server.
pub fn bubblewrap() -> Result<&'static Path, &'static str> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match FOUND.get_or_init(find_bubblewrap) {
        Ok(path) => Ok(path),
        Err(reason) => Err(reason),
    }
}

/// Finds `bwrap` (on `PATH`, else where distributions put it) and checks
/// that it can make the namespaces Director asks for (user namespaces may be
/// disabled).
fn find_bubblewrap() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|folder| folder.join(BWRAP))
        .chain(BWRAP_FALLBACKS.iter().map(PathBuf::from))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            "bubblewrap (`bwrap`) is not installed (on Debian and Ubuntu: apt-get install \
             bubblewrap)"
                .to_owned()
        })?;
    let jail = Jail {
        bwrap: path.clone(),
        writable: Vec::new(),
        read_only: Vec::new(),
        network: true,
    };
    // bubblewrap itself, by its absolute path, is a program that surely runs inside.
    let tried = std::process::Command::new(&path)
        .args(jail.arguments(Path::new("/"), &[]))
        .arg("--")
        .arg(&path)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    match tried {
        Ok(output) if output.status.success() => Ok(path),
        Ok(output) => Err(format!(
            "bubblewrap ({}) cannot make a sandbox here: {} (user namespaces may be \
             disabled: see `sysctl kernel.unprivileged_userns_clone` and \
             `user.max_user_namespaces`)",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(error) => Err(format!(
            "bubblewrap ({}) cannot run: {error}",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A jail writable in `dir` only, with the network as asked.
    fn jail(dir: &Path, network: bool) -> Confinement {
        let bwrap = bubblewrap()
            .unwrap_or_else(|reason| panic!("these tests need bubblewrap: {reason}"))
            .to_owned();
        Confinement::Bubblewrap(Jail {
            bwrap,
            writable: vec![dir.to_owned()],
            read_only: vec![dir.join("locked")],
            network,
        })
    }

    async fn run(confinement: &Confinement, dir: &Path, script: &str) -> (bool, String) {
        let output = confinement
            .command("sh", &["-c".to_owned(), script.to_owned()], dir)
            .env("TMPDIR", "/tmp/director-no-such-folder")
            .output()
            .await
            .expect("bwrap starts");
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        (output.status.success(), text)
    }

    #[test]
    fn the_folders_in_tmp_holding_the_program_or_its_scripts_stay_visible() {
        let tools = tempfile::tempdir_in("/tmp").expect("a folder in /tmp");
        let program = tools.path().join("bin/agent");
        let script = tools.path().join("agent.sh");
        std::fs::create_dir_all(program.parent().expect("bin")).expect("bin");
        std::fs::write(&program, "").expect("program");
        std::fs::write(&script, "").expect("script");
        let program = program.display().to_string();
        let arguments = [
            script.display().to_string(),
            "/tmp/no-such-folder/x".to_owned(),
            "--flag".to_owned(),
        ];
        assert_eq!(
            needed_below_private_folders(&program, &arguments),
            [tools.path().to_path_buf()]
        );
        assert!(needed_below_private_folders("sh", &["-c".to_owned()]).is_empty());
    }

    #[tokio::test]
    async fn a_confined_program_writes_only_where_it_may() {
        let dir = tempfile::tempdir_in(concat!(env!("CARGO_MANIFEST_DIR"), "/../target"))
            .expect("a temporary directory");
        let sandbox = dir.path().join("sandbox");
        std::fs::create_dir_all(sandbox.join("locked")).expect("a folder");
        let outside = dir.path().join("outside.txt");
        std::fs::write(&outside, "mine\n").expect("a file");
        let confinement = jail(&sandbox, true);
        let script = format!(
            "echo agent > here.txt && echo ok-inside; \
             echo agent > {outside} || echo refused-outside; \
             echo agent > locked/x || echo refused-locked; \
             echo agent > $TMPDIR/private && echo ok-tmp; \
             [ -z \"$(ls -A /run | grep -v systemd)\" ] && echo no-sockets; \
             echo $$",
            outside = outside.display()
        );
        let (success, output) = run(&confinement, &sandbox, &script).await;
        assert!(success, "{output}");
        // Writing `outside` fails, or (when this checkout lies in /tmp) lands in
        // the program's private /tmp: either way the real file is untouched,
        // as asserted below.
        for expected in ["ok-inside", "refused-locked", "ok-tmp", "no-sockets"] {
            assert!(output.contains(expected), "{expected}: {output}");
        }
        assert_eq!(
            std::fs::read_to_string(sandbox.join("here.txt")).expect("written"),
            "agent\n"
        );
        assert_eq!(std::fs::read_to_string(&outside).expect("a file"), "mine\n");
        assert!(!sandbox.join("locked/x").exists());
        assert!(!Path::new("/tmp/private").exists(), "its /tmp is its own");
        // In its own PID namespace the shell is not the server's child's pid.
        let pid: u32 = output
            .lines()
            .find_map(|line| line.trim().parse().ok())
            .expect("a pid");
        assert!(pid < 10, "a fresh PID namespace: {pid}");
    }

    #[tokio::test]
    async fn processes_that_left_the_session_die_with_the_program() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let sandbox = dir.path().to_owned();
        let confinement = jail(&sandbox, false);
        // The survivor keeps writing a heartbeat after the program's end.
        let script = "setsid sh -c 'while true; do date +%s%N > beat; sleep 0.05; done' \
                      >/dev/null 2>&1 & \
                      while [ ! -s beat ]; do sleep 0.05; done; echo started";
        let (success, output) = run(&confinement, &sandbox, script).await;
        assert!(success && output.contains("started"), "{output}");
        let beat = || std::fs::read_to_string(sandbox.join("beat")).unwrap_or_default();
        let mut last = beat();
        let mut still = 0;
        // Stopped beats stay equal over several intervals.
        for _ in 0..100 {
            tokio::time::sleep(std::time::Duration::from_millis(60)).await;
            let now = beat();
            if now == last {
                still += 1;
                if still == 5 {
                    break;
                }
            } else {
                still = 0;
                last = now;
            }
        }
        assert_eq!(still, 5, "the setsid survivor still beats");
    }

    #[tokio::test]
    async fn the_network_can_be_closed() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (_, output) = run(&jail(dir.path(), false), dir.path(), "cat /proc/net/dev").await;
        let interfaces: Vec<&str> = output
            .lines()
            .skip(2)
            .filter_map(|line| line.split(':').next())
            .map(str::trim)
            .collect();
        assert_eq!(interfaces, ["lo"], "{output}");
    }
}
