//! The one boundary every change an agent proposes must stay within: a file
//! of the workspace (or of a run's sandbox copy), judged after resolving
//! symbolic links, and never inside version control (`.git`) nor Director's
//! own folder (`.director`).
//!
//! Every run kind's proposals, every accept and every file an ACP agent asks
//! Director to read or write pass through here, so that a folder linked to
//! somewhere else, a dangling link or a `..` cannot carry a change outside.

use std::path::{Component, Path, PathBuf};

/// Folders no proposal may reach, whatever their depth: a repository's
/// configuration and hooks, and Director's journal.
const FORBIDDEN_FOLDERS: &[&str] = &[".git", ".director"];

/// The form of `path` (relative, as an agent names files) relative to `root`,
/// or why a change may not target it: it is absolute, climbs out with `..`,
/// lies in `.git` or `.director`, or leads out of `root` through a link.
pub fn relative_target(root: &Path, path: &Path) -> Result<PathBuf, String> {
    let shown = path.display().to_string();
    let path = shown.as_str();
    let mut relative = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(format!("the path {path} leaves the workspace")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "the path {path} is absolute; name files relative to the workspace"
                ));
            }
        }
    }
    resolve(root, relative, path)
}

/// [`relative_target`] for an absolute `path`, which must lie below `root`
/// once its `.` and `..` are removed.
pub fn absolute_target(root: &Path, path: &Path) -> Result<PathBuf, String> {
    let shown = path.display().to_string();
    if !path.is_absolute() {
        return Err(format!("the path {shown} is not absolute"));
    }
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    let canonical_root = canonical_root(root, &shown)?;
    let relative = normal
        .strip_prefix(&canonical_root)
        .or_else(|_| normal.strip_prefix(root))
        .map_err(|_| outside(&shown))?
        .to_owned();
    resolve(&canonical_root, relative, &shown)
}

/// `relative` if it names a file below `root` that is in no forbidden folder,
/// both as written and once the links along it are resolved.
fn resolve(root: &Path, relative: PathBuf, shown: &str) -> Result<PathBuf, String> {
    if relative.as_os_str().is_empty() {
        return Err(format!("the path {shown} names no file"));
    }
    forbidden_folder(&relative, shown)?;
    let canonical_root = canonical_root(root, shown)?;
    // The deepest part of the path that exists decides where it leads: a new
    // file's folder may be a link out of the workspace too, and a link whose
    // target is missing (dangling) cannot be resolved, so it counts as outside.
    let mut existing = canonical_root.join(&relative);
    while std::fs::symlink_metadata(&existing).is_err() {
        if !existing.pop() {
            return Err(outside(shown));
        }
    }
    let canonical = std::fs::canonicalize(&existing).map_err(|_| outside(shown))?;
    let real = canonical
        .strip_prefix(&canonical_root)
        .map_err(|_| outside(shown))?;
    forbidden_folder(real, shown)?;
    Ok(relative)
}

fn canonical_root(root: &Path, shown: &str) -> Result<PathBuf, String> {
    std::fs::canonicalize(root).map_err(|error| {
        format!(
            "the path {shown} cannot be checked: the folder {} cannot be resolved ({error})",
            root.display()
        )
    })
}

fn forbidden_folder(relative: &Path, shown: &str) -> Result<(), String> {
    match relative.components().find_map(|component| {
        FORBIDDEN_FOLDERS
            .iter()
            .find(|folder| component.as_os_str() == **folder)
    }) {
        Some(folder) => Err(format!(
            "the path {shown} is inside `{folder}`, which agents may not change"
        )),
        None => Ok(()),
    }
}

fn outside(shown: &str) -> String {
    format!("the path {shown} leads out of the workspace")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn workspace() -> (tempfile::TempDir, PathBuf, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().canonicalize().expect("a path");
        std::fs::create_dir_all(root.join("src")).expect("a folder");
        std::fs::write(root.join("src/lib.rs"), "fn a() {}\n").expect("a file");
        let elsewhere = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(elsewhere.path().join("key"), "secret").expect("a file");
        (dir, root, elsewhere)
    }

    #[test]
    fn files_of_the_workspace_new_or_not_are_targets() {
        let (_dir, root, _elsewhere) = workspace();
        assert_eq!(
            relative_target(&root, Path::new("src/lib.rs")),
            Ok(PathBuf::from("src/lib.rs"))
        );
        assert_eq!(
            relative_target(&root, Path::new("./src/deep/new.rs")),
            Ok(PathBuf::from("src/deep/new.rs"))
        );
        assert_eq!(
            absolute_target(&root, &root.join("src/x/../lib.rs")),
            Ok(PathBuf::from("src/lib.rs"))
        );
        // A link that stays inside is fine.
        symlink(root.join("src"), root.join("code")).expect("a link");
        assert_eq!(
            relative_target(&root, Path::new("code/lib.rs")),
            Ok(PathBuf::from("code/lib.rs"))
        );
    }

    #[test]
    fn climbing_out_absolute_paths_and_links_out_are_refused() {
        let (_dir, root, elsewhere) = workspace();
        let refused = |path: &str| relative_target(&root, Path::new(path)).expect_err(path);
        assert!(refused("../x").contains("leaves the workspace"));
        assert!(refused("/etc/passwd").contains("is absolute"));
        assert!(
            absolute_target(&root, &root.join("../x"))
                .expect_err("outside")
                .contains("leads out")
        );
        assert!(absolute_target(&root, Path::new("/etc/passwd")).is_err());
        symlink(elsewhere.path(), root.join("out")).expect("a link");
        assert!(refused("out/key").contains("leads out"));
        assert!(refused("out/new/file.txt").contains("leads out"));
        // A dangling link is outside until proven inside.
        symlink(elsewhere.path().join("missing.txt"), root.join("dangling")).expect("a link");
        assert!(refused("dangling").contains("leads out"));
        assert!(
            absolute_target(&root, &root.join("dangling"))
                .expect_err("dangling")
                .contains("leads out")
        );
    }

    #[test]
    fn version_control_and_director_s_folder_are_refused_even_through_a_link() {
        let (_dir, root, _elsewhere) = workspace();
        std::fs::create_dir_all(root.join(".git/hooks")).expect("a folder");
        std::fs::create_dir_all(root.join(".director")).expect("a folder");
        for path in [
            ".git/config",
            ".git/hooks/pre-commit",
            ".director/journal.jsonl",
            "vendor/dep/.git/config",
        ] {
            let reason = relative_target(&root, Path::new(path)).expect_err(path);
            assert!(reason.contains("agents may not change"), "{reason}");
        }
        symlink(root.join(".git"), root.join("innocent")).expect("a link");
        let reason =
            relative_target(&root, Path::new("innocent/config")).expect_err("through a link");
        assert!(reason.contains("`.git`"), "{reason}");
    }
}
