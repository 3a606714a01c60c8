//! SEARCH/REPLACE edit blocks, the multi-file edit format of task runs
//! (aider's `diff` format, AGENT-PROTOCOLS.md §5): parsing them out of an
//! answer, and keeping their paths inside the workspace.

use std::path::{Component, Path, PathBuf};

/// The workspace-relative form of `path`, or why an agent may not touch it:
/// it is absolute, climbs out with `..`, or leads out of `root` through a
/// symbolic link.
pub fn workspace_relative_path(root: &Path, path: &str) -> Result<PathBuf, String> {
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
    if relative.as_os_str().is_empty() {
        return Err("the block names no file".to_owned());
    }
    let outside = || format!("the path {path} leads out of the workspace");
    let canonical_root = std::fs::canonicalize(root).map_err(|_| outside())?;
    // The deepest part of the path that exists decides where it leads: a new
    // file's folder may be a link out of the workspace too.
    let mut existing = root.join(&relative);
    while std::fs::symlink_metadata(&existing).is_err() {
        if !existing.pop() {
            return Err(outside());
        }
    }
    let canonical = std::fs::canonicalize(&existing).map_err(|_| outside())?;
    if canonical.starts_with(&canonical_root) {
        Ok(relative)
    } else {
        Err(outside())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_workspace_are_made_relative() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("src")).unwrap();
        assert_eq!(
            workspace_relative_path(root.path(), "./src/lib.rs"),
            Ok(PathBuf::from("src/lib.rs"))
        );
        assert_eq!(
            workspace_relative_path(root.path(), "new/dir/file.rs"),
            Ok(PathBuf::from("new/dir/file.rs"))
        );
    }

    #[test]
    fn paths_leaving_the_workspace_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let absolute = outside.path().join("x.rs");
        assert!(
            workspace_relative_path(root.path(), &absolute.display().to_string())
                .unwrap_err()
                .contains("absolute")
        );
        assert!(
            workspace_relative_path(root.path(), "src/../../x.rs")
                .unwrap_err()
                .contains("leaves the workspace")
        );
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
            assert!(
                workspace_relative_path(root.path(), "link/x.rs")
                    .unwrap_err()
                    .contains("leads out of the workspace")
            );
        }
        assert!(workspace_relative_path(root.path(), "").is_err());
    }
}
