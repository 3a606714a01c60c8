//! `.director/`, the folder under the workspace root that holds the journal,
//! checked before anything in it is opened.
//!
//! A repository is not trusted just for being opened, and it can ship a
//! `.director` of its own: a symbolic link there, or inside it, would make
//! Director write wherever the link points (a shell rc file, `/dev/zero`).
//! So the folder must be a real folder whose entries are no links, its files
//! regular files, and files are created only where nothing exists yet.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The folder under the workspace root that holds Director's state.
pub const STATE_DIR: &str = ".director";
/// The journal's database, with its WAL companions next to it.
pub const DATABASE_FILE: &str = "journal.db";
/// The journal of earlier versions, one JSON line per entry.
pub const LEGACY_JOURNAL_FILE: &str = "journal.jsonl";
const GITIGNORE_FILE: &str = ".gitignore";
const GITIGNORE: &str = "# Director's journal and state; not for version control.\n*\n";

/// The files Director opens in `.director`, which must be regular files.
const OWN_FILES: [&str; 5] = [
    DATABASE_FILE,
    "journal.db-wal",
    "journal.db-shm",
    LEGACY_JOURNAL_FILE,
    GITIGNORE_FILE,
];

/// Why `.director` cannot hold the journal.
#[derive(Debug, thiserror::Error)]
pub enum StateDirError {
    #[error(
        "{0} is a symbolic link, and Director does not follow links in its state folder \
         (a repository could aim one at any file you can write)"
    )]
    Link(PathBuf),
    #[error("{0} is not a folder")]
    NotAFolder(PathBuf),
    #[error("{0} is not a regular file")]
    NotAFile(PathBuf),
    #[error("cannot use {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StateDirError + '_ {
    move |source| StateDirError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Checks `.director` under `root` without changing anything; `None` when
/// there is none.
pub fn inspect(root: &Path) -> Result<Option<PathBuf>, StateDirError> {
    let dir = root.join(STATE_DIR);
    match std::fs::symlink_metadata(&dir) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error(&dir)(error)),
        Ok(metadata) if metadata.file_type().is_symlink() => return Err(StateDirError::Link(dir)),
        Ok(metadata) if !metadata.is_dir() => return Err(StateDirError::NotAFolder(dir)),
        Ok(_) => {}
    }
    for entry in std::fs::read_dir(&dir).map_err(io_error(&dir))? {
        let entry = entry.map_err(io_error(&dir))?;
        let path = entry.path();
        // `file_type` describes the entry itself, never where a link points.
        let file_type = entry.file_type().map_err(io_error(&path))?;
        if file_type.is_symlink() {
            return Err(StateDirError::Link(path));
        }
        if OWN_FILES.iter().any(|name| entry.file_name() == *name) && !file_type.is_file() {
            return Err(StateDirError::NotAFile(path));
        }
    }
    Ok(Some(dir))
}

/// Creates `.director` under `root` when there is none, with a `.gitignore`
/// that keeps it out of version control, and checks it.
pub fn prepare(root: &Path) -> Result<PathBuf, StateDirError> {
    let dir = root.join(STATE_DIR);
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(io_error(&dir)(error)),
    }
    let dir = inspect(root)?
        .ok_or_else(|| io_error(&dir)(io::Error::new(io::ErrorKind::NotFound, "it vanished")))?;
    let gitignore = dir.join(GITIGNORE_FILE);
    // `create_new` never follows a link: it fails on anything already there.
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&gitignore)
    {
        Ok(mut file) => file
            .write_all(GITIGNORE.as_bytes())
            .map_err(io_error(&gitignore))?,
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(io_error(&gitignore)(error)),
    }
    Ok(dir)
}

/// Reads a file of `.director` without following a link in its place.
pub fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(nix::libc::O_NOFOLLOW);
    }
    let mut bytes = Vec::new();
    options.open(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}
