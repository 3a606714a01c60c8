//! The journal: a record of every run, output, proposal and decision, written
//! as things happen so that nothing is lost when the server stops, crashes or
//! is killed, and read back by what a restart needs, not all of history.
//!
//! It lives in `.director/journal.db` ([`store`]) in a folder checked against
//! links ([`state_dir`]); the JSON-lines journal of earlier versions is taken
//! over on first start ([`migration`]). When `.director` cannot be used the
//! journal is kept in memory, and the user is told why.

pub mod migration;
pub mod records;
pub mod state_dir;
pub mod store;

pub use records::{Decision, FindingOutcome, JournalEntry, Transcript, base_sha256};
pub use state_dir::STATE_DIR;
pub use store::OpenWork;

use crate::ids::RunId;
use crate::run::state::{RunRecord, RunState, now_ms};
use crate::run::summary::ProposalCounts;
use state_dir::{DATABASE_FILE, LEGACY_JOURNAL_FILE};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use store::{Store, StoreError};

/// An open journal. Each entry is one transaction; a failed write is logged
/// and never takes the server down.
#[derive(Debug)]
pub struct Journal {
    store: Option<Mutex<Store>>,
    /// The database file; `None` when the journal is kept in memory.
    path: Option<PathBuf>,
}

/// A journal just opened: the work it brings back, and what the user should
/// be told about it (parts it could not read, a `.director` it could not use).
#[derive(Debug)]
pub struct Opened {
    pub journal: Journal,
    pub open_work: OpenWork,
    pub notices: Vec<String>,
}

/// Why the journal could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    StateDir(#[from] state_dir::StateDirError),
    #[error("{}: {source}", .path.display())]
    Store { path: PathBuf, source: StoreError },
    #[error(transparent)]
    Migration(#[from] migration::MigrationError),
}

impl Journal {
    /// A journal kept in memory, for sessions without a workspace folder.
    pub fn in_memory() -> Journal {
        let store = Store::in_memory()
            .inspect_err(|error| tracing::error!("cannot keep a journal even in memory: {error}"))
            .ok();
        Journal {
            store: store.map(Mutex::new),
            path: None,
        }
    }

    /// Opens (creating if needed) the journal of the workspace at `root`,
    /// takes over a journal of an earlier version, records every run that
    /// was in flight as interrupted, and reads the work still open. Never
    /// fails: a journal that cannot be kept in `.director` is kept in memory.
    pub fn open(root: &Path) -> Opened {
        let mut notices = Vec::new();
        let kept = state_dir::prepare(root)
            .map_err(ReadError::from)
            .and_then(|dir| {
                let path = dir.join(DATABASE_FILE);
                let store = Store::open(&path).map_err(|source| ReadError::Store {
                    path: path.clone(),
                    source,
                })?;
                Ok((dir, path, store))
            })
            .and_then(|(dir, path, mut store)| {
                if let Some(migration) = migration::import(&dir, &mut store)? {
                    notices.extend(migration.skipped_notice());
                }
                if let Err(error) = migration::retire(&dir) {
                    tracing::warn!("cannot rename the journal taken over: {error}");
                }
                Ok((path, store))
            });
        let journal = match kept {
            Ok((path, store)) => Journal {
                store: Some(Mutex::new(store)),
                path: Some(path),
            },
            Err(error) => {
                notices.push(format!(
                    "Director cannot keep its journal in this workspace: {error}. \
                     This session's runs are kept in memory only and are lost when the server stops."
                ));
                Journal::in_memory()
            }
        };
        let open_work = journal.interrupt_and_read_open_work();
        for notice in &notices {
            tracing::warn!("{notice}");
        }
        Opened {
            journal,
            open_work,
            notices,
        }
    }

    fn interrupt_and_read_open_work(&self) -> OpenWork {
        let Some(mut store) = self.store() else {
            return OpenWork::default();
        };
        let read = store.runs_in_flight().and_then(|runs| {
            for run in runs {
                store.record(&JournalEntry::State {
                    run,
                    state: RunState::Interrupted,
                    reason: Some("the server stopped while the run was in flight".to_owned()),
                    usage: None,
                    time_ms: now_ms(),
                })?;
            }
            store.open_work()
        });
        read.unwrap_or_else(|error| {
            tracing::error!("cannot read the open work of the journal: {error}");
            OpenWork::default()
        })
    }

    fn store(&self) -> Option<MutexGuard<'_, Store>> {
        let store = self.store.as_ref()?;
        Some(match store.lock() {
            Ok(store) => store,
            Err(poisoned) => poisoned.into_inner(),
        })
    }

    /// The database file; `None` when the journal is kept in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Records one entry.
    pub fn append(&self, entry: &JournalEntry) {
        let Some(mut store) = self.store() else {
            return;
        };
        if let Err(error) = store.record(entry) {
            tracing::error!("cannot write the journal: {error}");
        }
    }

    /// A run of any session, with the ids of its hunks.
    pub fn run(&self, id: RunId) -> Option<RunRecord> {
        self.store()?
            .run(id)
            .inspect_err(|error| tracing::error!("cannot read run {id} from the journal: {error}"))
            .ok()
            .flatten()
    }

    /// What was sent to run `id`'s agent and what it answered.
    pub fn transcript(&self, id: RunId) -> Option<Transcript> {
        self.store()?
            .transcript(id)
            .inspect_err(|error| {
                tracing::error!("cannot read the transcript of run {id} from the journal: {error}")
            })
            .ok()
            .flatten()
    }

    /// Every run recorded, newest first, with its hunks counted by state.
    pub fn runs_with_counts(&self) -> Vec<(RunRecord, ProposalCounts)> {
        let Some(store) = self.store() else {
            return Vec::new();
        };
        store.runs_with_counts().unwrap_or_else(|error| {
            tracing::error!("cannot list the runs of the journal: {error}");
            Vec::new()
        })
    }
}

/// Every run recorded in the workspace at `root`, newest first, with its
/// hunks counted by state, read without creating anything (for `director
/// runs`). A journal of an earlier version not yet taken over is read as is.
pub fn read_runs(root: &Path) -> Result<Vec<(RunRecord, ProposalCounts)>, ReadError> {
    let Some(dir) = state_dir::inspect(root)? else {
        return Ok(Vec::new());
    };
    let database = dir.join(DATABASE_FILE);
    let store_error = |source| ReadError::Store {
        path: database.clone(),
        source,
    };
    let store = if database.exists() {
        Store::open_to_read(&database).map_err(store_error)?
    } else if dir.join(LEGACY_JOURNAL_FILE).exists() {
        let mut store = Store::in_memory().map_err(store_error)?;
        migration::import(&dir, &mut store)?;
        store
    } else {
        return Ok(Vec::new());
    };
    store.runs_with_counts().map_err(store_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::HunkId;
    use crate::proposal::{Hunk, HunkState};
    use crate::run::recorded_finding::RecordedFinding;
    use crate::run::review::FindingId;
    use crate::run::state::RunKind;
    use url::Url;

    fn record(id: u64, state: RunState) -> RunRecord {
        RunRecord {
            state,
            created_ms: 1,
            ..RunRecord::queued(
                RunId(id),
                RunKind::Task,
                "local".into(),
                "Simplify".into(),
                Url::parse("file:///project/src/lib.rs").unwrap(),
                0..10,
                3,
            )
        }
    }

    fn hunk(id: u64, run: u64) -> Hunk {
        Hunk {
            id: HunkId(id),
            run: RunId(run),
            uri: Url::parse("file:///project/src/lib.rs").unwrap(),
            range: 4..5,
            base_text: "-".into(),
            new_text: "+".into(),
            context_before: "a ".into(),
            context_after: " b".into(),
            state: HunkState::Open,
        }
    }

    fn state(run: u64, state: RunState, time_ms: u64) -> JournalEntry {
        JournalEntry::State {
            run: RunId(run),
            state,
            reason: None,
            usage: None,
            time_ms,
        }
    }

    #[test]
    fn a_journal_brings_back_open_work_and_interrupts_runs_in_flight() {
        let root = tempfile::tempdir().unwrap();
        {
            let opened = Journal::open(root.path());
            assert!(opened.notices.is_empty(), "{:?}", opened.notices);
            assert!(opened.open_work.runs.is_empty());
            let journal = opened.journal;
            journal.append(&JournalEntry::Run {
                run: record(1, RunState::Queued),
            });
            journal.append(&state(1, RunState::Proposed, 5));
            for id in [1, 2] {
                journal.append(&JournalEntry::Proposal {
                    hunk: hunk(id, 1),
                    base_sha256: base_sha256("-"),
                });
            }
            journal.append(&JournalEntry::Decision {
                hunk: HunkId(1),
                decision: Decision::Accepted,
                time_ms: 6,
            });
            journal.append(&JournalEntry::Output {
                run: RunId(1),
                transcript: Transcript {
                    answer: "done".into(),
                    ..Transcript::default()
                },
            });
            journal.append(&JournalEntry::Run {
                run: record(2, RunState::Queued),
            });
            journal.append(&state(2, RunState::Running, 7));
            journal.append(&JournalEntry::Run {
                run: record(3, RunState::Queued),
            });
            journal.append(&state(3, RunState::Settled, 8));
        }
        let gitignore = std::fs::read_to_string(root.path().join(".director/.gitignore")).unwrap();
        assert!(gitignore.lines().any(|line| line == "*"));

        let opened = Journal::open(root.path());
        let work = &opened.open_work;
        // Only the run with an undecided hunk is open work; history waits.
        assert_eq!(work.runs.len(), 1);
        assert_eq!(work.runs[0].id, RunId(1));
        assert_eq!(work.runs[0].kind, RunKind::Task);
        assert_eq!(work.runs[0].hunks, vec![HunkId(1), HunkId(2)]);
        let undecided: Vec<HunkId> = work.hunks.iter().map(|hunk| hunk.id).collect();
        assert_eq!(undecided, vec![HunkId(2)]);
        assert_eq!((work.last_run, work.last_hunk), (3, 2));

        let journal = &opened.journal;
        assert_eq!(journal.run(RunId(2)).unwrap().state, RunState::Interrupted);
        assert_eq!(journal.run(RunId(3)).unwrap().finished_ms, Some(8));
        assert_eq!(journal.transcript(RunId(1)).unwrap().answer, "done");
        assert!(journal.transcript(RunId(2)).is_none());

        // The interruption was itself journaled: a plain read sees it too.
        let listed = read_runs(root.path()).unwrap();
        let ids: Vec<u64> = listed.iter().map(|(run, _)| run.id.0).collect();
        assert_eq!(ids, [3, 2, 1], "newest first");
        assert_eq!(listed[1].0.state, RunState::Interrupted);
        assert_eq!((listed[2].1.open, listed[2].1.accepted), (1, 1));
    }

    #[test]
    fn findings_come_back_until_the_user_is_done_with_them() {
        use crate::run::review::{Finding, FindingSeverity};
        let finding = |id: u64| RecordedFinding {
            finding: Finding {
                id: FindingId(id),
                run: RunId(1),
                uri: Url::parse("file:///project/src/lib.rs").unwrap(),
                range: 0..5,
                severity: FindingSeverity::Warning,
                message: "unused".into(),
                fix: Some("fixed".into()),
            },
            base_text: "fn a(".into(),
        };
        let root = tempfile::tempdir().unwrap();
        {
            let journal = Journal::open(root.path()).journal;
            journal.append(&JournalEntry::Run {
                run: record(1, RunState::Settled),
            });
            for id in [1, 2, 3] {
                journal.append(&JournalEntry::Finding {
                    finding: finding(id),
                });
            }
            journal.append(&JournalEntry::FindingDone {
                finding: FindingId(1),
                outcome: FindingOutcome::Dismissed,
                time_ms: 8,
            });
            journal.append(&JournalEntry::FindingDone {
                finding: FindingId(3),
                outcome: FindingOutcome::Fixed,
                time_ms: 9,
            });
        }
        let work = Journal::open(root.path()).open_work;
        assert_eq!(work.findings, vec![finding(2)]);
        assert_eq!(work.last_finding, 3);
        assert_eq!(
            work.runs.len(),
            1,
            "the run of an open finding is open work"
        );
    }

    #[test]
    fn an_old_journal_is_taken_over_once_and_its_unreadable_lines_are_reported() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(STATE_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        let line = |entry: &JournalEntry| serde_json::to_string(entry).unwrap();
        // An old line: no kind. A torn line with the next run glued to it.
        let mut old = serde_json::to_value(JournalEntry::Run {
            run: record(1, RunState::Proposed),
        })
        .unwrap();
        old["run"].as_object_mut().unwrap().remove("kind");
        let second = line(&JournalEntry::Run {
            run: record(2, RunState::Queued),
        });
        std::fs::write(
            dir.join(LEGACY_JOURNAL_FILE),
            format!(
                "{old}\n{}\n{}{second}\n",
                line(&JournalEntry::Proposal {
                    hunk: hunk(1, 1),
                    base_sha256: base_sha256("-"),
                }),
                &second[..15],
            ),
        )
        .unwrap();
        let opened = Journal::open(root.path());
        assert_eq!(opened.notices.len(), 1, "{:?}", opened.notices);
        assert!(opened.notices[0].contains("line 3"), "{:?}", opened.notices);
        let work = &opened.open_work;
        assert_eq!(
            work.runs[0].kind,
            RunKind::Region,
            "old runs read as regions"
        );
        assert_eq!(work.hunks.len(), 1);
        assert_eq!(work.last_run, 2);
        assert_eq!(
            opened.journal.run(RunId(2)).unwrap().state,
            RunState::Interrupted
        );
        assert!(!dir.join(LEGACY_JOURNAL_FILE).exists());
        assert!(dir.join(migration::MIGRATED_FILE).exists());
        drop(opened);

        let again = Journal::open(root.path());
        assert!(again.notices.is_empty(), "{:?}", again.notices);
        assert_eq!(again.open_work.hunks.len(), 1);
    }

    #[test]
    fn a_workspace_without_a_journal_has_no_runs() {
        let root = tempfile::tempdir().unwrap();
        assert!(read_runs(root.path()).unwrap().is_empty());
        assert!(
            !root.path().join(STATE_DIR).exists(),
            "reading creates nothing"
        );
    }

    #[test]
    fn an_unusable_state_folder_leaves_a_journal_in_memory_and_says_why() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join(STATE_DIR)).unwrap();
        let opened = Journal::open(root.path());
        assert!(opened.journal.path().is_none());
        assert!(
            opened.notices[0].contains("symbolic link"),
            "{:?}",
            opened.notices
        );
        opened.journal.append(&JournalEntry::Run {
            run: record(1, RunState::Queued),
        });
        assert!(opened.journal.run(RunId(1)).is_some(), "kept in memory");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert!(read_runs(root.path()).is_err());
    }
}
