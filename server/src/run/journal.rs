//! The journal: `.director/journal.jsonl`, an append-only record of every run,
//! output, proposal and decision, written line by line as things happen so that
//! nothing is lost when the server stops, crashes or is killed.
//!
//! Replaying it rebuilds the runs, the undecided hunks and the review findings
//! still open; runs that were in flight when the process died come back as
//! `interrupted`.

use super::state::{RunRecord, RunState, now_ms};
use crate::agent::{ChatMessage, TokenUsage};
use crate::ids::{HunkId, RunId};
use crate::proposal::{Hunk, HunkState};
use crate::run::recorded_finding::RecordedFinding;
use crate::run::review::FindingId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The folder under the workspace root that holds Director's state.
pub const STATE_DIR: &str = ".director";
const JOURNAL_FILE: &str = "journal.jsonl";

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JournalEntry {
    /// A run was created (queued).
    Run { run: RunRecord },
    /// A run changed state.
    State {
        run: RunId,
        state: RunState,
        reason: Option<String>,
        usage: Option<TokenUsage>,
        time_ms: u64,
    },
    /// What was sent to the agent and what it answered.
    Output { run: RunId, transcript: Transcript },
    /// A hunk was proposed; `base_sha256` identifies the text it applies to.
    Proposal { hunk: Hunk, base_sha256: String },
    /// The user accepted hunks and the editor is about to be asked to apply
    /// them: until a decision follows, their text may be in either state.
    AcceptIntent { hunks: Vec<HunkId>, time_ms: u64 },
    /// The user decided on a hunk.
    Decision {
        hunk: HunkId,
        decision: Decision,
        time_ms: u64,
    },
    /// A review found something, or a finding was anchored anew (its document
    /// closed): the latest entry of a finding is where it is.
    Finding { finding: RecordedFinding },
    /// The user is done with a finding.
    FindingDone {
        finding: FindingId,
        outcome: FindingOutcome,
        time_ms: u64,
    },
}

/// How a finding ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingOutcome {
    Dismissed,
    /// Its fix became proposals.
    Fixed,
}

/// The conversation of a run: the prompt messages and the agent's answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transcript {
    pub messages: Vec<ChatMessage>,
    pub answer: String,
    /// What each step of a workflow run did, in order; empty for other runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Accepted,
    Rejected,
    /// Replaced by the proposals of a refined run.
    Superseded,
}

/// What replaying a journal gives back.
#[derive(Debug, Default)]
pub struct Replay {
    pub runs: BTreeMap<RunId, RunRecord>,
    pub transcripts: BTreeMap<RunId, Transcript>,
    /// Every hunk ever proposed, with its last known decision.
    pub hunks: BTreeMap<HunkId, Hunk>,
    /// The findings nobody is done with yet: they come back on their documents.
    pub findings: BTreeMap<FindingId, RecordedFinding>,
    /// The highest finding id ever given, done or not.
    pub last_finding_id: u64,
    /// Lines that could not be read (for example one cut short by a crash).
    pub skipped_lines: Vec<String>,
}

impl Replay {
    pub fn next_run_id(&self) -> RunId {
        RunId(self.runs.keys().next_back().map_or(1, |id| id.0 + 1))
    }

    pub fn next_hunk_id(&self) -> HunkId {
        HunkId(self.hunks.keys().next_back().map_or(1, |id| id.0 + 1))
    }

    pub fn next_finding_id(&self) -> FindingId {
        FindingId(self.last_finding_id + 1)
    }

    /// Hunks nobody decided on yet: they come back as proposals.
    pub fn undecided_hunks(&self) -> impl Iterator<Item = &Hunk> {
        self.hunks
            .values()
            .filter(|hunk| !matches!(hunk.state, HunkState::Accepted | HunkState::Rejected))
    }

    fn apply(&mut self, entry: JournalEntry) {
        match entry {
            JournalEntry::Run { run } => {
                self.runs.insert(run.id, run);
            }
            JournalEntry::State {
                run,
                state,
                reason,
                usage,
                time_ms,
            } => {
                if let Some(record) = self.runs.get_mut(&run) {
                    record.state = state;
                    if reason.is_some() {
                        record.reason = reason;
                    }
                    if usage.is_some() {
                        record.usage = usage;
                    }
                    if !state.is_in_flight() && record.finished_ms.is_none() {
                        record.finished_ms = Some(time_ms);
                    }
                }
            }
            JournalEntry::Output { run, transcript } => {
                self.transcripts.insert(run, transcript);
            }
            JournalEntry::Proposal { hunk, .. } => {
                if let Some(record) = self.runs.get_mut(&hunk.run) {
                    record.hunks.push(hunk.id);
                }
                self.hunks.insert(hunk.id, hunk);
            }
            JournalEntry::AcceptIntent { hunks, .. } => {
                for id in &hunks {
                    if let Some(hunk) = self.hunks.get_mut(id) {
                        hunk.state = HunkState::Applying;
                    }
                }
            }
            JournalEntry::Decision { hunk, decision, .. } => {
                if let Some(hunk) = self.hunks.get_mut(&hunk) {
                    hunk.state = match decision {
                        Decision::Accepted => HunkState::Accepted,
                        Decision::Rejected | Decision::Superseded => HunkState::Rejected,
                    };
                }
            }
            JournalEntry::Finding { finding } => {
                self.last_finding_id = self.last_finding_id.max(finding.finding.id.0);
                self.findings.insert(finding.finding.id, finding);
            }
            JournalEntry::FindingDone { finding, .. } => {
                self.findings.remove(&finding);
            }
        }
    }
}

/// An open journal. Appends are serialized by a lock and flushed one line at a
/// time; a failed write is logged and never takes the server down.
#[derive(Debug)]
pub struct Journal {
    file: Option<Mutex<File>>,
    path: Option<PathBuf>,
}

impl Journal {
    /// A journal that records nothing, for sessions without a workspace folder.
    pub fn disabled() -> Journal {
        Journal {
            file: None,
            path: None,
        }
    }

    /// Opens (creating if needed) the journal of the workspace at `root`, replays
    /// it, and records every run that was in flight as interrupted.
    pub fn open(root: &Path) -> io::Result<(Journal, Replay)> {
        let dir = root.join(STATE_DIR);
        std::fs::create_dir_all(&dir)?;
        let gitignore = dir.join(".gitignore");
        if !gitignore.exists() {
            std::fs::write(
                &gitignore,
                "# Director's journal and state; not for version control.\n*\n",
            )?;
        }
        let path = dir.join(JOURNAL_FILE);
        let mut replay = read_journal_file(&path)?;
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let journal = Journal {
            file: Some(Mutex::new(file)),
            path: Some(path),
        };
        let interrupted: Vec<RunId> = replay
            .runs
            .values()
            .filter(|run| run.state.is_in_flight())
            .map(|run| run.id)
            .collect();
        for run in interrupted {
            let entry = JournalEntry::State {
                run,
                state: RunState::Interrupted,
                reason: Some("the server stopped while the run was in flight".to_owned()),
                usage: None,
                time_ms: now_ms(),
            };
            journal.append(&entry);
            replay.apply(entry);
        }
        Ok((journal, replay))
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Appends one entry and flushes it to the operating system.
    pub fn append(&self, entry: &JournalEntry) {
        let Some(file) = &self.file else { return };
        let mut line = match serde_json::to_string(entry) {
            Ok(line) => line,
            Err(error) => {
                tracing::error!("cannot serialize a journal entry: {error}");
                return;
            }
        };
        line.push('\n');
        let mut file = match file.lock() {
            Ok(file) => file,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Err(error) = file.write_all(line.as_bytes()).and_then(|()| file.flush()) {
            tracing::error!("cannot write the journal: {error}");
        }
    }
}

/// Reads the journal of the workspace at `root` without changing it (for
/// `director runs`). A workspace without a journal has no runs.
pub fn read_journal(root: &Path) -> io::Result<Replay> {
    read_journal_file(&root.join(STATE_DIR).join(JOURNAL_FILE))
}

fn read_journal_file(path: &Path) -> io::Result<Replay> {
    let mut replay = Replay::default();
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(replay),
        Err(error) => return Err(error),
    };
    for line in BufReader::new(file).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<JournalEntry>(&line) {
            Ok(entry) => replay.apply(entry),
            Err(error) => {
                tracing::warn!("skipping an unreadable journal line: {error}");
                replay.skipped_lines.push(line);
            }
        }
    }
    Ok(replay)
}

/// The identity of a hunk's base text, recorded with each proposal.
pub fn base_sha256(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn record(id: u64, state: RunState) -> RunRecord {
        RunRecord {
            id: RunId(id),
            agent: "local".into(),
            instruction: "Simplify".into(),
            uri: Url::parse("file:///project/src/lib.rs").unwrap(),
            region: 0..10,
            base_version: 3,
            refined_from: None,
            state,
            reason: None,
            created_ms: 1,
            finished_ms: None,
            usage: None,
            hunks: Vec::new(),
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

    #[test]
    fn a_journal_replays_runs_hunks_and_decisions_and_interrupts_runs_in_flight() {
        let root = tempfile::tempdir().unwrap();
        {
            let (journal, replay) = Journal::open(root.path()).unwrap();
            assert!(replay.runs.is_empty());
            journal.append(&JournalEntry::Run {
                run: record(1, RunState::Queued),
            });
            journal.append(&JournalEntry::State {
                run: RunId(1),
                state: RunState::Proposed,
                reason: None,
                usage: None,
                time_ms: 5,
            });
            journal.append(&JournalEntry::Proposal {
                hunk: hunk(1, 1),
                base_sha256: base_sha256("-"),
            });
            journal.append(&JournalEntry::Proposal {
                hunk: hunk(2, 1),
                base_sha256: base_sha256("-"),
            });
            journal.append(&JournalEntry::Decision {
                hunk: HunkId(1),
                decision: Decision::Accepted,
                time_ms: 6,
            });
            journal.append(&JournalEntry::Run {
                run: record(2, RunState::Queued),
            });
            journal.append(&JournalEntry::State {
                run: RunId(2),
                state: RunState::Running,
                reason: None,
                usage: None,
                time_ms: 7,
            });
        }
        let gitignore = std::fs::read_to_string(root.path().join(".director/.gitignore")).unwrap();
        assert!(gitignore.lines().any(|line| line == "*"));

        let (_journal, replay) = Journal::open(root.path()).unwrap();
        assert_eq!(replay.runs[&RunId(1)].state, RunState::Proposed);
        assert_eq!(replay.runs[&RunId(1)].hunks, vec![HunkId(1), HunkId(2)]);
        assert_eq!(replay.runs[&RunId(2)].state, RunState::Interrupted);
        assert_eq!(replay.hunks[&HunkId(1)].state, HunkState::Accepted);
        let undecided: Vec<HunkId> = replay.undecided_hunks().map(|hunk| hunk.id).collect();
        assert_eq!(undecided, vec![HunkId(2)]);
        assert_eq!(replay.next_run_id(), RunId(3));
        assert_eq!(replay.next_hunk_id(), HunkId(3));

        // The interruption was itself journaled: a plain read sees it too.
        assert_eq!(
            read_journal(root.path()).unwrap().runs[&RunId(2)].state,
            RunState::Interrupted
        );
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
            let (journal, _) = Journal::open(root.path()).unwrap();
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
        let (_journal, replay) = Journal::open(root.path()).unwrap();
        assert_eq!(replay.findings.keys().collect::<Vec<_>>(), [&FindingId(2)]);
        assert_eq!(replay.findings[&FindingId(2)], finding(2));
        assert_eq!(replay.next_finding_id(), FindingId(4));
    }

    #[test]
    fn a_line_cut_short_by_a_crash_is_skipped() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(STATE_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        let whole = serde_json::to_string(&JournalEntry::Run {
            run: record(1, RunState::Proposed),
        })
        .unwrap();
        std::fs::write(
            dir.join(JOURNAL_FILE),
            format!("{whole}\n{{\"event\":\"run\",\"ru"),
        )
        .unwrap();
        let replay = read_journal(root.path()).unwrap();
        assert_eq!(replay.runs.len(), 1);
        assert_eq!(replay.skipped_lines.len(), 1);
    }

    #[test]
    fn a_workspace_without_a_journal_has_no_runs() {
        let root = tempfile::tempdir().unwrap();
        assert!(read_journal(root.path()).unwrap().runs.is_empty());
        assert!(
            !root.path().join(STATE_DIR).exists(),
            "reading creates nothing"
        );
    }
}
