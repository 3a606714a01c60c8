//! The agent's `fs/read_text_file` and `fs/write_text_file`, served from the
//! sandbox: it was seeded with the editor's unsaved buffers, so a read returns
//! what the user sees, and a write lands where the sandbox diff finds it.
//! Nothing outside the sandbox is read or written.

use std::path::{Path, PathBuf};

use crate::run::boundary::absolute_target;

use super::jsonrpc::{INTERNAL_ERROR, INVALID_PARAMS, RESOURCE_NOT_FOUND, RpcError};
use super::schema::{ReadTextFileRequest, WriteTextFileRequest};

/// `path` inside the sandbox `root`, if it stays there both as written and
/// once its links are resolved (a dangling link counts as outside), and is
/// not in `.git` or `.director` (see [`crate::run::boundary`]).
pub fn inside_sandbox(root: &Path, path: &Path) -> Option<PathBuf> {
    absolute_target(root, path)
        .ok()
        .map(|relative| root.join(relative))
}

/// The text `fs/read_text_file` asks for: the whole file, or `limit` lines
/// from line `line` (counted from 1).
pub fn read_text_file(root: &Path, request: &ReadTextFileRequest) -> Result<String, RpcError> {
    let path = inside_sandbox(root, &request.path).ok_or_else(|| outside(&request.path))?;
    let text = std::fs::read_to_string(&path).map_err(|error| {
        let code = if error.kind() == std::io::ErrorKind::NotFound {
            RESOURCE_NOT_FOUND
        } else {
            INTERNAL_ERROR
        };
        RpcError::new(
            code,
            format!("cannot read {}: {error}", request.path.display()),
        )
    })?;
    if request.line.is_none() && request.limit.is_none() {
        return Ok(text);
    }
    let skip = request.line.map_or(0, |line| line.saturating_sub(1)) as usize;
    let take = request.limit.map_or(usize::MAX, |limit| limit as usize);
    Ok(text.split_inclusive('\n').skip(skip).take(take).collect())
}

/// Writes the whole new text of a file inside the sandbox, creating it and
/// its folders when needed.
pub fn write_text_file(root: &Path, request: &WriteTextFileRequest) -> Result<(), RpcError> {
    let path = inside_sandbox(root, &request.path).ok_or_else(|| outside(&request.path))?;
    let failed = |error: std::io::Error| {
        RpcError::new(
            INTERNAL_ERROR,
            format!("cannot write {}: {error}", request.path.display()),
        )
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    std::fs::write(&path, &request.content).map_err(failed)
}

fn outside(path: &Path) -> RpcError {
    RpcError::new(
        INVALID_PARAMS,
        format!(
            "{} is outside the workspace copy this agent works in",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().canonicalize().expect("a path");
        std::fs::create_dir_all(root.join("src")).expect("a folder");
        std::fs::write(root.join("src/lib.rs"), "one\ntwo\nthree\nfour\n").expect("a file");
        (dir, root)
    }

    fn read(
        root: &Path,
        path: PathBuf,
        line: Option<u32>,
        limit: Option<u32>,
    ) -> Result<String, RpcError> {
        read_text_file(root, &ReadTextFileRequest { path, line, limit })
    }

    #[test]
    fn reads_honour_the_first_line_and_the_limit() {
        let (_dir, root) = sandbox();
        let file = root.join("src/lib.rs");
        assert_eq!(
            read(&root, file.clone(), None, None).expect("read"),
            "one\ntwo\nthree\nfour\n"
        );
        assert_eq!(
            read(&root, file.clone(), Some(2), Some(2)).expect("read"),
            "two\nthree\n"
        );
        assert_eq!(
            read(&root, file.clone(), Some(4), None).expect("read"),
            "four\n"
        );
        assert_eq!(
            read(&root, file.clone(), None, Some(1)).expect("read"),
            "one\n"
        );
        assert_eq!(read(&root, file, Some(9), Some(1)).expect("read"), "");
        let missing = read(&root, root.join("src/none.rs"), None, None).expect_err("missing");
        assert_eq!(missing.code, RESOURCE_NOT_FOUND);
    }

    #[test]
    fn nothing_outside_the_sandbox_is_read_or_written() {
        let (_dir, root) = sandbox();
        let escape = root.join("src/../../secret.txt");
        assert_eq!(
            read(&root, escape.clone(), None, None)
                .expect_err("refused")
                .code,
            INVALID_PARAMS
        );
        assert!(read(&root, PathBuf::from("src/lib.rs"), None, None).is_err());
        let refused = write_text_file(
            &root,
            &WriteTextFileRequest {
                path: escape,
                content: "x".into(),
            },
        );
        assert!(refused.is_err());
        assert!(!root.parent().expect("a parent").join("secret.txt").exists());

        let outside = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(outside.path().join("key"), "secret").expect("a file");
        std::os::unix::fs::symlink(outside.path(), root.join("link")).expect("a link");
        assert!(read(&root, root.join("link/key"), None, None).is_err());
        assert!(inside_sandbox(&root, &root.join("link/new.txt")).is_none());

        // A dangling link inside the sandbox is not followed out of it.
        let target = outside.path().join("created.txt");
        std::os::unix::fs::symlink(&target, root.join("dangling")).expect("a link");
        let refused = write_text_file(
            &root,
            &WriteTextFileRequest {
                path: root.join("dangling"),
                content: "x".into(),
            },
        );
        assert_eq!(refused.expect_err("refused").code, INVALID_PARAMS);
        assert!(!target.exists(), "nothing was created outside");
    }

    #[test]
    fn writes_create_the_file_and_its_folders() {
        let (_dir, root) = sandbox();
        let request = WriteTextFileRequest {
            path: root.join("src/deep/new.rs"),
            content: "fn new() {}\n".into(),
        };
        write_text_file(&root, &request).expect("written");
        assert_eq!(
            std::fs::read_to_string(root.join("src/deep/new.rs")).expect("a file"),
            "fn new() {}\n"
        );
    }
}
