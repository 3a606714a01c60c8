//! Cleaning up after a server that died: a server killed mid-run leaves its
//! sandbox folders, their git worktrees and possibly its agents' processes
//! behind. At startup, every sandbox whose owning server is gone and that was
//! not kept on request is removed, after the process group its agent ran in is
//! killed; then the workspace repository forgets worktrees whose folder is gone.
//!
//! Sandboxes of servers still running (other editors, other workspaces) are
//! left alone: their owner's pid is alive.

use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use crate::run::sandbox::{AGENT_GROUP_FILE, KEPT_FILE, OWNER_FILE, SANDBOX_PREFIX, git_toplevel};

/// What the cleanup removed, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cleanup {
    pub removed_sandboxes: Vec<PathBuf>,
    pub killed_groups: Vec<i32>,
}

/// Removes the stale sandboxes in `temp_dir` and prunes the worktrees of the
/// repository holding `workspace_root`. Never fails: what cannot be removed is
/// logged and left.
pub fn clean_stale_sandboxes(temp_dir: &Path, workspace_root: Option<&Path>) -> Cleanup {
    let mut cleanup = Cleanup::default();
    let Ok(entries) = std::fs::read_dir(temp_dir) else {
        return cleanup;
    };
    for entry in entries.flatten() {
        let is_sandbox = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(SANDBOX_PREFIX));
        let folder = entry.path();
        if !is_sandbox || !folder.is_dir() || !is_stale(&folder) {
            continue;
        }
        if let Some(group) = read_pid(&folder.join(AGENT_GROUP_FILE))
            && group_works_in(group, &folder)
            && killpg(Pid::from_raw(group), Signal::SIGKILL).is_ok()
        {
            cleanup.killed_groups.push(group);
        }
        match std::fs::remove_dir_all(&folder) {
            Ok(()) => cleanup.removed_sandboxes.push(folder),
            Err(error) => tracing::warn!(
                "cannot remove the stale sandbox {}: {error}",
                folder.display()
            ),
        }
    }
    if let Some(repository) = workspace_root.and_then(git_toplevel) {
        let pruned = Command::new("git")
            .arg("-C")
            .arg(&repository)
            .args(["worktree", "prune"])
            .output();
        if !pruned.is_ok_and(|output| output.status.success()) {
            tracing::warn!("`git worktree prune` failed in {}", repository.display());
        }
    }
    cleanup
}

/// Whether the sandbox in `folder` belongs to a server that is gone and was
/// not kept on request. A sandbox without an owner is not Director's to judge.
fn is_stale(folder: &Path) -> bool {
    if folder.join(KEPT_FILE).exists() {
        return false;
    }
    let Some(owner) = read_pid(&folder.join(OWNER_FILE)) else {
        return false;
    };
    owner != std::process::id() as i32 && !is_alive(owner)
}

/// Whether a process `pid` exists (one we may not signal exists too).
fn is_alive(pid: i32) -> bool {
    match kill(Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(error) => error == nix::errno::Errno::EPERM,
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|pid| *pid > 1)
}

/// Whether some process of group `group` runs in `folder`: a recorded group id
/// may since have been given to an unrelated group, which must not be killed.
fn group_works_in(group: i32, folder: &Path) -> bool {
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return false;
    };
    let folder = folder.canonicalize().unwrap_or_else(|_| folder.to_owned());
    processes.flatten().any(|process| {
        let path = process.path();
        let in_group = std::fs::read_to_string(path.join("stat"))
            .ok()
            .and_then(|stat| process_group_of(&stat))
            == Some(group);
        in_group && std::fs::read_link(path.join("cwd")).is_ok_and(|cwd| cwd.starts_with(&folder))
    })
}

/// The process group in a `/proc/<pid>/stat` line: the third field after the
/// command name, which is in parentheses and may itself hold spaces.
fn process_group_of(stat: &str) -> Option<i32> {
    let (_, after_name) = stat.rsplit_once(')')?;
    after_name.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A pid no process has: a child that was reaped.
    fn dead_pid() -> i32 {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("true runs");
        let pid = child.id() as i32;
        child.wait().expect("reaped");
        pid
    }

    fn sandbox(temp: &Path, name: &str, owner: i32) -> PathBuf {
        let folder = temp.join(format!("{SANDBOX_PREFIX}{name}"));
        std::fs::create_dir_all(folder.join("tree")).expect("a folder");
        std::fs::write(folder.join(OWNER_FILE), owner.to_string()).expect("an owner");
        folder
    }

    #[test]
    fn the_stat_line_gives_the_process_group_even_with_spaces_in_the_name() {
        assert_eq!(
            process_group_of("42 (my agent) S 1 4242 4242 0 -1"),
            Some(4242)
        );
        assert_eq!(process_group_of("garbage"), None);
    }

    #[test]
    fn only_sandboxes_of_dead_servers_not_kept_are_removed_with_their_agents() {
        let temp = tempfile::tempdir().expect("a temporary directory");
        let dead = dead_pid();
        let stale = sandbox(temp.path(), "stale", dead);
        let kept = sandbox(temp.path(), "kept", dead);
        std::fs::write(kept.join(KEPT_FILE), "").expect("a marker");
        let live = sandbox(temp.path(), "live", std::process::id() as i32);
        let unowned = temp.path().join(format!("{SANDBOX_PREFIX}unowned"));
        std::fs::create_dir_all(&unowned).expect("a folder");
        let unrelated = temp.path().join("unrelated");
        std::fs::create_dir_all(&unrelated).expect("a folder");

        // An agent left running in the stale sandbox, in its own group.
        let mut agent = {
            use std::os::unix::process::CommandExt;
            std::process::Command::new("sleep")
                .arg("60")
                .current_dir(stale.join("tree"))
                .process_group(0)
                .spawn()
                .expect("sleep runs")
        };
        std::fs::write(stale.join(AGENT_GROUP_FILE), agent.id().to_string()).expect("a group");

        let cleanup = clean_stale_sandboxes(temp.path(), None);
        assert_eq!(cleanup.removed_sandboxes, std::slice::from_ref(&stale));
        assert_eq!(cleanup.killed_groups, [agent.id() as i32]);
        let status = agent.wait().expect("the agent ends");
        assert!(!status.success(), "killed, not finished: {status:?}");
        assert!(!stale.exists());
        assert!(kept.exists() && live.exists() && unowned.exists() && unrelated.exists());

        let mut elsewhere = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .expect("sleep runs");
        // A recorded group id now used by a process working elsewhere is spared.
        let other = sandbox(temp.path(), "other", dead);
        std::fs::write(other.join(AGENT_GROUP_FILE), elsewhere.id().to_string()).expect("a group");
        let cleanup = clean_stale_sandboxes(temp.path(), None);
        assert_eq!(cleanup.killed_groups, Vec::<i32>::new());
        std::thread::sleep(Duration::from_millis(50));
        assert!(elsewhere.try_wait().expect("a status").is_none(), "spared");
        elsewhere.kill().expect("killed");
        let _ = elsewhere.wait();
    }

    #[test]
    fn worktrees_whose_folder_is_gone_are_pruned() {
        let temp = tempfile::tempdir().expect("a temporary directory");
        let repository = temp.path().join("repo");
        std::fs::create_dir_all(&repository).expect("a folder");
        let git = |arguments: &[&str]| {
            let output = Command::new("git")
                .arg("-C")
                .arg(&repository)
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(arguments)
                .output()
                .expect("git runs");
            assert!(output.status.success(), "{arguments:?}: {output:?}");
            String::from_utf8_lossy(&output.stdout).into_owned()
        };
        git(&["init", "-q"]);
        std::fs::write(repository.join("a.txt"), "a\n").expect("a file");
        git(&["add", "."]);
        git(&["commit", "-qm", "first"]);
        let stale = sandbox(temp.path(), "stale", dead_pid());
        let tree = stale.join("tree").join("wt");
        git(&[
            "worktree",
            "add",
            "--detach",
            "-q",
            &tree.display().to_string(),
            "HEAD",
        ]);
        assert_eq!(git(&["worktree", "list"]).lines().count(), 2);

        clean_stale_sandboxes(temp.path(), Some(&repository));
        assert!(!stale.exists());
        assert_eq!(git(&["worktree", "list"]).lines().count(), 1);
    }
}
