//! A private copy of the workspace for one `command` run, so a CLI agent can
//! edit files freely while the user keeps working; what it changed comes back
//! as a diff against the copy's seed and becomes proposals.
//!
//! In a git repository the copy is a detached worktree with the working tree's
//! dirty and untracked files copied over; elsewhere it is a plain copy. Either
//! way the editor's unsaved buffers are written over the files they edit.
//!
//! The programs a run starts in it are confined to it by the kernel (see
//! [`crate::run::confine`] and [`Sandbox::jail_paths`]).
//!
//! Beside the copy (`tree/`), the sandbox folder holds what a later server
//! needs to clean up after one that died: the owning server's pid, the agent's
//! process group while it runs, and a marker when the user asked to keep it
//! (see [`crate::run::sandbox_cleanup`]).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Folders never copied nor diffed: version control, build output, dependencies
/// and Director's own journal.
const SKIPPED_FOLDERS: &[&str] = &[".git", "target", "node_modules", ".director"];

/// The prefix of every sandbox folder's name, in the temporary directory.
pub const SANDBOX_PREFIX: &str = "director-sandbox-";
/// The file in a sandbox folder holding the pid of the server that made it.
pub const OWNER_FILE: &str = "owner.pid";
/// The file in a sandbox folder holding the running agent's process group.
pub const AGENT_GROUP_FILE: &str = "agent.pgid";
/// The file whose presence says the sandbox was kept on request.
pub const KEPT_FILE: &str = "kept";

/// Files larger than this are neither seeded into the diff nor proposed.
const MAX_DIFFED_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// One file the agent changed, added or deleted, by its path relative to the
/// workspace root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: PathBuf,
    /// The seed's text; `None` when the agent created the file.
    pub before: Option<String>,
    /// The text the agent left; `None` when the agent deleted the file.
    pub after: Option<String>,
}

/// What a sandboxed run produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SandboxOutcome {
    pub files: Vec<FileChange>,
}

/// A copy of the workspace for one run; removed when dropped unless kept.
#[derive(Debug)]
pub struct Sandbox {
    /// Holds the temporary folder; `None` once kept.
    folder: Option<tempfile::TempDir>,
    kept_at: PathBuf,
    /// The worktree's folder and the repository it belongs to, for `git worktree remove`.
    worktree: Option<(PathBuf, PathBuf)>,
    /// Where the workspace root is inside the sandbox: the agent's working directory.
    workspace_dir: PathBuf,
    /// The copy: the workspace's repository (or the workspace) as a whole.
    tree: PathBuf,
    /// In a git workspace, the worktree's own folder in the repository's
    /// `.git` (its index, HEAD and logs).
    worktree_git_dir: Option<PathBuf>,
    /// The text of every text file as seeded, by relative path.
    seed: BTreeMap<PathBuf, String>,
}

impl Sandbox {
    /// Copies `workspace_root` and writes `unsaved` (relative path, text) over it.
    pub fn create(workspace_root: &Path, unsaved: &[(PathBuf, String)]) -> io::Result<Sandbox> {
        let workspace_root = &workspace_root.canonicalize()?;
        let folder = tempfile::Builder::new().prefix(SANDBOX_PREFIX).tempdir()?;
        std::fs::write(
            folder.path().join(OWNER_FILE),
            std::process::id().to_string(),
        )?;
        let tree = folder.path().join("tree");
        let (worktree, workspace_dir) = match git_toplevel(workspace_root) {
            Some(toplevel) if add_worktree(&toplevel, &tree) => {
                let relative = workspace_root
                    .strip_prefix(&toplevel)
                    .unwrap_or(Path::new(""));
                let workspace_dir = tree.join(relative);
                overlay_working_tree(workspace_root, &workspace_dir)?;
                (Some((tree.clone(), toplevel)), workspace_dir)
            }
            _ => {
                copy_folder(workspace_root, &tree)?;
                (None, tree.clone())
            }
        };
        let worktree_git_dir = worktree.as_ref().and_then(|_| worktree_git_dir(&tree));
        let mut sandbox = Sandbox {
            kept_at: folder.path().to_owned(),
            folder: Some(folder),
            worktree,
            workspace_dir,
            tree,
            worktree_git_dir,
            seed: BTreeMap::new(),
        };
        for (relative, text) in unsaved {
            let Some(path) = sandbox.path_inside(relative) else {
                continue;
            };
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, text)?;
        }
        sandbox.seed = text_files(&sandbox.workspace_dir)?;
        Ok(sandbox)
    }

    /// The agent's working directory: the workspace root inside the sandbox.
    pub fn workspace_dir(&self) -> &Path {
        &self.workspace_dir
    }

    /// What the run's programs may write (the copy, and in a git workspace
    /// the worktree's own git folder, so that `git status` and `git add`
    /// work), and what stays read-only inside those: the files that tie the
    /// worktree to the repository. The repository's own `.git` stays
    /// read-only (see [`crate::run::confine`]).
    pub fn jail_paths(&self) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let mut writable = vec![self.tree.clone()];
        let mut read_only = vec![self.tree.join(".git")];
        if let Some(git_dir) = &self.worktree_git_dir {
            writable.push(git_dir.clone());
            read_only.extend(
                ["gitdir", "commondir"]
                    .iter()
                    .map(|name| git_dir.join(name))
                    .filter(|path| path.exists()),
            );
        }
        read_only.retain(|path| path.exists());
        (writable, read_only)
    }

    /// Where the running agent's process group is recorded.
    pub fn agent_group_file(&self) -> PathBuf {
        self.kept_at.join(AGENT_GROUP_FILE)
    }

    /// Every text file the agent changed, added or deleted since the seed.
    pub fn changes(&self) -> io::Result<Vec<FileChange>> {
        let now = text_files(&self.workspace_dir)?;
        let mut changes = Vec::new();
        for (path, before) in &self.seed {
            match now.get(path) {
                Some(after) if after == before => {}
                Some(after) => changes.push(FileChange {
                    path: path.clone(),
                    before: Some(before.clone()),
                    after: Some(after.clone()),
                }),
                // A file that became binary or too large is not proposed as deleted.
                None if self.workspace_dir.join(path).exists() => {}
                None => changes.push(FileChange {
                    path: path.clone(),
                    before: Some(before.clone()),
                    after: None,
                }),
            }
        }
        for (path, after) in now {
            if !self.seed.contains_key(&path) {
                changes.push(FileChange {
                    path,
                    before: None,
                    after: Some(after),
                });
            }
        }
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(changes)
    }

    /// Leaves the sandbox on disk and returns where it is.
    pub fn keep(mut self) -> PathBuf {
        if let Some(folder) = self.folder.take() {
            if let Err(error) = std::fs::write(folder.path().join(KEPT_FILE), "") {
                tracing::warn!("cannot mark the kept sandbox: {error}");
            }
            let _ = folder.keep();
        }
        self.worktree = None;
        self.kept_at.clone()
    }

    /// `relative` inside the sandbox, or `None` when it would leave it.
    fn path_inside(&self, relative: &Path) -> Option<PathBuf> {
        let stays_inside = relative
            .components()
            .all(|component| matches!(component, std::path::Component::Normal(_)));
        stays_inside.then(|| self.workspace_dir.join(relative))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some((tree, repository)) = self.worktree.take() {
            let removed = Command::new("git")
                .arg("-C")
                .arg(&repository)
                .args(["worktree", "remove", "--force"])
                .arg(&tree)
                .output();
            if !removed.is_ok_and(|output| output.status.success()) {
                tracing::warn!("could not remove the sandbox worktree {}", tree.display());
            }
        }
    }
}

/// The top folder of the git repository holding `folder`, if it is in one with a commit.
pub(crate) fn git_toplevel(folder: &Path) -> Option<PathBuf> {
    let output = Command::new("git")
        .arg("-C")
        .arg(folder)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let toplevel = String::from_utf8(output.stdout).ok()?;
    // Canonical, so that the workspace root (also canonicalized) strips as a prefix.
    let toplevel = PathBuf::from(toplevel.trim_end_matches(['\n', '\r']));
    let folder = folder.canonicalize().ok()?;
    folder.starts_with(&toplevel).then_some(toplevel)
}

/// The worktree's own git folder, below the repository's `.git/worktrees`.
fn worktree_git_dir(tree: &Path) -> Option<PathBuf> {
    let output = Command::new("git")
        .arg("-C")
        .arg(tree)
        .args(["rev-parse", "--absolute-git-dir"])
        .output()
        .ok()?;
    let git_dir = String::from_utf8(output.stdout).ok()?;
    let git_dir = PathBuf::from(git_dir.trim_end_matches(['\n', '\r']));
    (output.status.success() && git_dir.parent()?.ends_with(".git/worktrees")).then_some(git_dir)
}

/// `git worktree add --detach` of HEAD; false when it cannot be made (no commit yet).
fn add_worktree(repository: &Path, tree: &Path) -> bool {
    Command::new("git")
        .arg("-C")
        .arg(repository)
        .args(["worktree", "add", "--detach", "--quiet"])
        .arg(tree)
        .arg("HEAD")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Makes the worktree look like the working tree: the tracked and untracked
/// (not ignored) files as they are on disk, and the deleted ones gone.
fn overlay_working_tree(workspace_root: &Path, workspace_dir: &Path) -> io::Result<()> {
    let output = Command::new("git")
        .arg("-C")
        .arg(workspace_root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "git ls-files failed in {}",
            workspace_root.display()
        )));
    }
    for relative in output.stdout.split(|&byte| byte == 0) {
        let Ok(relative) = std::str::from_utf8(relative) else {
            continue;
        };
        if relative.is_empty() {
            continue;
        }
        let source = workspace_root.join(relative);
        let target = workspace_dir.join(relative);
        match std::fs::read(&source) {
            Ok(content) => {
                if std::fs::read(&target).ok().as_deref() != Some(content.as_slice()) {
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::write(&target, content)?;
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let _ = std::fs::remove_file(&target);
            }
            // A folder (a submodule) or an unreadable file stays as committed.
            Err(_) => {}
        }
    }
    Ok(())
}

/// Copies `source` into `target`, skipping [`SKIPPED_FOLDERS`] and symlinks.
fn copy_folder(source: &Path, target: &Path) -> io::Result<()> {
    std::fs::create_dir_all(target)?;
    for entry in std::fs::read_dir(source)? {
        let entry = entry?;
        let file_type = entry.file_type()?;
        let name = entry.file_name();
        if file_type.is_dir() {
            if SKIPPED_FOLDERS.iter().any(|skipped| name == *skipped) {
                continue;
            }
            copy_folder(&entry.path(), &target.join(&name))?;
        } else if file_type.is_file() {
            std::fs::copy(entry.path(), target.join(&name))?;
        }
    }
    Ok(())
}

/// Every text file below `root` (UTF-8, no NUL byte, not too large), by
/// relative path, skipping [`SKIPPED_FOLDERS`].
fn text_files(root: &Path) -> io::Result<BTreeMap<PathBuf, String>> {
    let mut files = BTreeMap::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let file_type = entry.file_type()?;
            let path = entry.path();
            if file_type.is_dir() {
                if !SKIPPED_FOLDERS
                    .iter()
                    .any(|skipped| entry.file_name() == *skipped)
                {
                    folders.push(path);
                }
                continue;
            }
            if !file_type.is_file() || entry.metadata()?.len() > MAX_DIFFED_FILE_BYTES {
                continue;
            }
            let Ok(text) = String::from_utf8(std::fs::read(&path)?) else {
                continue;
            };
            if text.contains('\0') {
                continue;
            }
            if let Ok(relative) = path.strip_prefix(root) {
                files.insert(relative.to_owned(), text);
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a folder");
        std::fs::write(path, text).expect("a writable file");
    }

    fn git(root: &Path, arguments: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(root)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(arguments)
            .status()
            .expect("git runs");
        assert!(status.success(), "git {arguments:?}");
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).expect("a readable file")
    }

    #[test]
    fn a_plain_folder_is_copied_seeded_and_diffed() {
        let workspace = tempfile::tempdir().expect("a temporary directory");
        let root = workspace.path();
        write(root, "src/lib.rs", "fn a() {}\n");
        write(root, "notes.txt", "keep\n");
        write(root, "gone.txt", "bye\n");
        write(root, "target/debug/out", "built\n");
        write(root, ".director/journal.jsonl", "{}\n");
        let unsaved = [(PathBuf::from("src/lib.rs"), "fn unsaved() {}\n".to_owned())];
        let sandbox = Sandbox::create(root, &unsaved).expect("a sandbox");
        let dir = sandbox.workspace_dir().to_owned();
        assert_eq!(read(&dir.join("src/lib.rs")), "fn unsaved() {}\n");
        assert!(!dir.join("target").exists());
        assert!(!dir.join(".director").exists());

        write(&dir, "src/lib.rs", "fn edited() {}\n");
        write(&dir, "src/new.rs", "fn new() {}\n");
        std::fs::remove_file(dir.join("gone.txt")).expect("removable");
        std::fs::write(dir.join("blob.bin"), [0u8, 1, 2]).expect("writable");
        let changes = sandbox.changes().expect("a diff");
        assert_eq!(
            changes,
            [
                FileChange {
                    path: "gone.txt".into(),
                    before: Some("bye\n".into()),
                    after: None
                },
                FileChange {
                    path: "src/lib.rs".into(),
                    before: Some("fn unsaved() {}\n".into()),
                    after: Some("fn edited() {}\n".into())
                },
                FileChange {
                    path: "src/new.rs".into(),
                    before: None,
                    after: Some("fn new() {}\n".into())
                },
            ]
        );
        // The workspace itself is untouched.
        assert_eq!(read(&root.join("src/lib.rs")), "fn a() {}\n");
        let folder = dir.parent().expect("the sandbox folder").to_owned();
        drop(sandbox);
        assert!(!folder.exists(), "the sandbox is removed");
    }

    #[test]
    fn a_git_workspace_gets_a_worktree_with_its_dirty_and_untracked_files() {
        let workspace = tempfile::tempdir().expect("a temporary directory");
        let root = &workspace.path().canonicalize().expect("a real path");
        git(root, &["init", "--quiet"]);
        write(root, "tracked.txt", "committed\n");
        write(root, "deleted.txt", "committed\n");
        write(root, ".gitignore", "ignored.txt\n");
        git(root, &["add", "."]);
        git(root, &["commit", "--quiet", "-m", "seed"]);
        write(root, "tracked.txt", "dirty\n");
        write(root, "untracked.txt", "new\n");
        write(root, "ignored.txt", "secret build output\n");
        std::fs::remove_file(root.join("deleted.txt")).expect("removable");

        let sandbox = Sandbox::create(root, &[]).expect("a sandbox");
        let dir = sandbox.workspace_dir().to_owned();
        assert!(dir.join(".git").is_file(), "a worktree has a .git file");
        let (writable, read_only) = sandbox.jail_paths();
        assert_eq!(writable.len(), 2, "{writable:?}");
        assert_eq!(writable[0], dir);
        assert!(
            writable[1].starts_with(root.join(".git/worktrees")),
            "{writable:?}"
        );
        assert!(read_only.contains(&dir.join(".git")), "{read_only:?}");
        assert!(
            read_only.contains(&writable[1].join("gitdir")),
            "{read_only:?}"
        );
        assert_eq!(read(&dir.join("tracked.txt")), "dirty\n");
        assert_eq!(read(&dir.join("untracked.txt")), "new\n");
        assert!(!dir.join("ignored.txt").exists());
        assert!(!dir.join("deleted.txt").exists());
        assert_eq!(sandbox.changes().expect("a diff"), []);

        write(&dir, "tracked.txt", "agent\n");
        let changes = sandbox.changes().expect("a diff");
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].after.as_deref(), Some("agent\n"));
        drop(sandbox);
        assert!(!dir.exists());
        let worktrees = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(["worktree", "list"])
            .output()
            .expect("git runs");
        assert_eq!(
            String::from_utf8_lossy(&worktrees.stdout).lines().count(),
            1,
            "the worktree is deregistered"
        );
    }

    #[test]
    fn a_kept_sandbox_stays_and_unsaved_paths_cannot_escape() {
        let workspace = tempfile::tempdir().expect("a temporary directory");
        write(workspace.path(), "a.txt", "a\n");
        let escape = [(PathBuf::from("../escaped.txt"), "x".to_owned())];
        let sandbox = Sandbox::create(workspace.path(), &escape).expect("a sandbox");
        let folder = sandbox.keep();
        assert!(folder.join("tree/a.txt").exists());
        assert!(folder.join(KEPT_FILE).exists(), "marked as kept on request");
        assert!(!folder.join("escaped.txt").exists());
        std::fs::remove_dir_all(folder).expect("removable");
    }
}
