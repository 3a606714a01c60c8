//! Finding the workspace a terminal command works on.

use std::path::{Path, PathBuf};

/// The nearest folder at or above `start` that holds a `director.toml`, a
/// `.director/` journal or a `.git`, else `start` itself.
pub fn find_workspace_root(start: &Path) -> PathBuf {
    for folder in start.ancestors() {
        let marked = ["director.toml", ".director", ".git"]
            .iter()
            .any(|marker| folder.join(marker).exists());
        if marked {
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
}
