//! Finding the workspace a terminal command works on.

use std::path::{Path, PathBuf};

/// What marks a workspace root for every command.
const WORKSPACE_MARKERS: &[&str] = &["director.toml", ".director", ".git"];

/// What also marks the root of a spec workspace: the folders spec tools keep at
/// the top of a repository, so that `director check` on one file of a project
/// without `.git` (a vendored copy, an unpacked archive) still sees its layout.
const SPEC_WORKSPACE_MARKERS: &[&str] = &[
    "director.toml",
    ".director",
    ".git",
    ".kiro",
    "openspec",
    ".specify",
];

/// The nearest folder at or above `start` that holds a `director.toml`, a
/// `.director/` journal or a `.git`, else `start` itself.
pub fn find_workspace_root(start: &Path) -> PathBuf {
    nearest_marked_ancestor(start, WORKSPACE_MARKERS)
}

/// The nearest folder at or above `start` that holds a workspace marker or a
/// spec tool's top folder (`.kiro`, `openspec`, `.specify`), else `start`.
pub fn find_spec_workspace_root(start: &Path) -> PathBuf {
    nearest_marked_ancestor(start, SPEC_WORKSPACE_MARKERS)
}

fn nearest_marked_ancestor(start: &Path, markers: &[&str]) -> PathBuf {
    for folder in start.ancestors() {
        if markers.iter().any(|marker| folder.join(marker).exists()) {
            return folder.to_path_buf();
        }
    }
    start.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nearest_marked_ancestor() {
        let temp = tempfile::tempdir().unwrap();
        let nested = temp.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(temp.path().join("a/director.toml"), "").unwrap();
        assert_eq!(find_workspace_root(&nested), temp.path().join("a"));
    }

    #[test]
    fn a_spec_tool_folder_marks_a_spec_workspace() {
        let temp = tempfile::tempdir().unwrap();
        let spec_folder = temp.path().join("app/.kiro/specs/auth");
        std::fs::create_dir_all(&spec_folder).unwrap();
        assert_eq!(
            find_spec_workspace_root(&spec_folder),
            temp.path().join("app")
        );
    }
}
