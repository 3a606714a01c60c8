//! The journal's store: an SQLite database (`.director/journal.db`, in WAL
//! mode) with one row per run, hunk, finding and transcript.
//!
//! SQLite because the journal is appended to all the time, must survive the
//! process dying at any moment (each entry is one transaction), and is queried
//! rather than replayed: a restart reads the open work through indexes, and a
//! run's transcript or a list of all runs is read when someone asks for it.
//! Rows keep their record as JSON next to the columns that queries use.

use super::records::{Decision, JournalEntry, Transcript};
use crate::agent::TokenUsage;
use crate::ids::{HunkId, RunId};
use crate::proposal::{Hunk, HunkState};
use crate::run::recorded_finding::RecordedFinding;
use crate::run::state::{RunRecord, RunState};
use crate::run::summary::ProposalCounts;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// Bumped when the schema changes; a database from a newer Director is refused.
const SCHEMA_VERSION: i64 = 1;

fn schema_version(connection: &Connection) -> Result<i64, StoreError> {
    Ok(connection.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    agent TEXT NOT NULL,
    state TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_in_flight ON runs(id) WHERE state IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS runs_agent ON runs(agent, kind);
CREATE TABLE IF NOT EXISTS transcripts (
    run INTEGER PRIMARY KEY,
    transcript TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hunks (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL,
    state TEXT NOT NULL,
    decision TEXT,
    decided_ms INTEGER,
    base_sha256 TEXT NOT NULL,
    hunk TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS hunks_run ON hunks(run);
CREATE INDEX IF NOT EXISTS hunks_undecided ON hunks(run) WHERE decision IS NULL;
CREATE TABLE IF NOT EXISTS findings (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL,
    outcome TEXT,
    done_ms INTEGER,
    finding TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_open ON findings(run) WHERE outcome IS NULL;
CREATE TABLE IF NOT EXISTS imports (
    source TEXT PRIMARY KEY,
    time_ms INTEGER NOT NULL
);
";

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("a record does not read back: {0}")]
    Record(#[from] serde_json::Error),
    #[error("it was written by a newer Director (schema {0}, this one knows {SCHEMA_VERSION})")]
    NewerSchema(i64),
}

/// What a restart takes over: the work still open, and where the ids go on.
#[derive(Debug, Default)]
pub struct OpenWork {
    /// The runs that own an undecided hunk or an open finding.
    pub runs: Vec<RunRecord>,
    pub hunks: Vec<Hunk>,
    pub findings: Vec<RecordedFinding>,
    pub last_run: u64,
    pub last_hunk: u64,
    pub last_finding: u64,
}

/// A connection to the journal's database.
#[derive(Debug)]
pub struct Store {
    connection: Connection,
}

impl Store {
    /// Opens the database at `path` without following a symbolic link there,
    /// creating it if needed, for the server to write.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NOFOLLOW
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(2))?;
        // WAL: appends do not rewrite the database, readers (`director runs`)
        // do not block the server, and a crash loses no committed entry.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        Store::prepare(connection)
    }

    /// Opens the existing database at `path` to read it, without following a
    /// symbolic link there and without writing anything (not even a
    /// checkpoint, which would make a reader wait for the disk).
    pub fn open_to_read(path: &Path) -> Result<Store, StoreError> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NOFOLLOW
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(2))?;
        let version = schema_version(&connection)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema(version));
        }
        Ok(Store { connection })
    }

    /// A store that lives as long as the process: for a workspace whose
    /// `.director` cannot be used, and for sessions without a workspace.
    pub fn in_memory() -> Result<Store, StoreError> {
        Store::prepare(Connection::open_in_memory()?)
    }

    fn prepare(connection: Connection) -> Result<Store, StoreError> {
        let version = schema_version(&connection)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema(version));
        }
        if version < SCHEMA_VERSION {
            connection.execute_batch(SCHEMA)?;
            connection.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        Ok(Store { connection })
    }

    /// Records one entry, atomically.
    pub fn record(&mut self, entry: &JournalEntry) -> Result<(), StoreError> {
        let transaction = self.connection.transaction()?;
        record_in(&transaction, entry)?;
        transaction.commit()?;
        Ok(())
    }

    /// Records the entries read from `source` (an older journal file) in one
    /// transaction, together with the fact that `source` was imported.
    pub fn import(
        &mut self,
        source: &str,
        entries: impl IntoIterator<Item = JournalEntry>,
        time_ms: u64,
    ) -> Result<(), StoreError> {
        let transaction = self.connection.transaction()?;
        for entry in entries {
            record_in(&transaction, &entry)?;
        }
        transaction.execute(
            "INSERT OR REPLACE INTO imports (source, time_ms) VALUES (?1, ?2)",
            params![source, time_ms],
        )?;
        transaction.commit()?;
        // Move the import into the database now, so that no later start has
        // to read a WAL as large as the old journal.
        self.connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Whether `source` was imported already.
    pub fn imported(&self, source: &str) -> Result<bool, StoreError> {
        Ok(self
            .connection
            .query_row("SELECT 1 FROM imports WHERE source = ?1", [source], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    /// The runs that were queued or running.
    pub fn runs_in_flight(&self) -> Result<Vec<RunId>, StoreError> {
        let mut statement = self
            .connection
            .prepare("SELECT id FROM runs WHERE state IN ('queued', 'running') ORDER BY id")?;
        let ids = statement
            .query_map([], |row| row.get::<_, u64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids.into_iter().map(RunId).collect())
    }

    /// The undecided hunks, the open findings and their runs.
    pub fn open_work(&self) -> Result<OpenWork, StoreError> {
        let last = |table: &str| -> Result<u64, StoreError> {
            let last: Option<u64> =
                self.connection
                    .query_row(&format!("SELECT max(id) FROM {table}"), [], |row| {
                        row.get(0)
                    })?;
            Ok(last.unwrap_or(0))
        };
        let hunks = self.hunks("WHERE decision IS NULL", [])?;
        let findings = self.rows(
            "SELECT finding FROM findings WHERE outcome IS NULL ORDER BY id",
            [],
        )?;
        let mut runs = Vec::new();
        let mut statement = self.connection.prepare(
            "SELECT record FROM runs WHERE id IN
                 (SELECT run FROM hunks WHERE decision IS NULL
                  UNION SELECT run FROM findings WHERE outcome IS NULL)
             ORDER BY id",
        )?;
        let records = statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        for record in records {
            runs.push(self.with_hunks(serde_json::from_str(&record)?)?);
        }
        Ok(OpenWork {
            runs,
            hunks,
            findings,
            last_run: last("runs")?,
            last_hunk: last("hunks")?,
            last_finding: last("findings")?,
        })
    }

    /// One run, with its hunks' ids.
    pub fn run(&self, id: RunId) -> Result<Option<RunRecord>, StoreError> {
        let record: Option<String> = self
            .connection
            .query_row("SELECT record FROM runs WHERE id = ?1", [id.0], |row| {
                row.get(0)
            })
            .optional()?;
        match record {
            Some(record) => Ok(Some(self.with_hunks(serde_json::from_str(&record)?)?)),
            None => Ok(None),
        }
    }

    /// What was sent to run `id`'s agent and what it answered.
    pub fn transcript(&self, id: RunId) -> Result<Option<Transcript>, StoreError> {
        let transcript: Option<String> = self
            .connection
            .query_row(
                "SELECT transcript FROM transcripts WHERE run = ?1",
                [id.0],
                |row| row.get(0),
            )
            .optional()?;
        Ok(transcript
            .map(|transcript| serde_json::from_str(&transcript))
            .transpose()?)
    }

    /// Every run, newest first, with how many of its hunks are in each state.
    pub fn runs_with_counts(&self) -> Result<Vec<(RunRecord, ProposalCounts)>, StoreError> {
        let mut counts: HashMap<u64, ProposalCounts> = HashMap::new();
        let mut statement = self
            .connection
            .prepare("SELECT run, state, count(*) FROM hunks GROUP BY run, state")?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, u64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, usize>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (run, state, count) in rows {
            let state: HunkState = from_name(&state)?;
            counts.entry(run).or_default().add(state, count);
        }
        let mut statement = self
            .connection
            .prepare("SELECT id, record FROM runs ORDER BY id DESC")?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, u64>(0)?, row.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, record)| {
                let record: RunRecord = serde_json::from_str(&record)?;
                Ok((record, counts.remove(&id).unwrap_or_default()))
            })
            .collect()
    }

    fn with_hunks(&self, mut record: RunRecord) -> Result<RunRecord, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT id FROM hunks WHERE run = ?1 ORDER BY id")?;
        record.hunks = statement
            .query_map([record.id.0], |row| row.get::<_, u64>(0).map(HunkId))?
            .collect::<Result<_, _>>()?;
        Ok(record)
    }

    fn hunks<P: rusqlite::Params>(&self, filter: &str, params: P) -> Result<Vec<Hunk>, StoreError> {
        let mut statement = self.connection.prepare(&format!(
            "SELECT hunk, state FROM hunks {filter} ORDER BY id"
        ))?;
        let rows = statement
            .query_map(params, |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(hunk, state)| {
                let mut hunk: Hunk = serde_json::from_str(&hunk)?;
                hunk.state = from_name(&state)?;
                Ok(hunk)
            })
            .collect()
    }

    fn rows<T: DeserializeOwned, P: rusqlite::Params>(
        &self,
        query: &str,
        params: P,
    ) -> Result<Vec<T>, StoreError> {
        let mut statement = self.connection.prepare(query)?;
        let rows = statement
            .query_map(params, |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        rows.iter()
            .map(|row| Ok(serde_json::from_str(row)?))
            .collect()
    }
}

/// Writes one entry inside an open transaction. Entries about a run, hunk or
/// finding the store never saw change nothing, as replaying them never did.
fn record_in(connection: &Connection, entry: &JournalEntry) -> Result<(), StoreError> {
    match entry {
        JournalEntry::Run { run } => {
            let stored = RunRecord {
                hunks: Vec::new(),
                ..run.clone()
            };
            connection.execute(
                "INSERT OR REPLACE INTO runs (id, kind, agent, state, created_ms, record)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    run.id.0,
                    run.kind.as_str(),
                    run.agent,
                    run.state.as_str(),
                    run.created_ms,
                    serde_json::to_string(&stored)?
                ],
            )?;
        }
        JournalEntry::State {
            run,
            state,
            reason,
            usage,
            time_ms,
        } => {
            let record: Option<String> = connection
                .query_row("SELECT record FROM runs WHERE id = ?1", [run.0], |row| {
                    row.get(0)
                })
                .optional()?;
            let Some(record) = record else { return Ok(()) };
            let mut record: RunRecord = serde_json::from_str(&record)?;
            change_state(&mut record, *state, reason.clone(), *usage, *time_ms);
            connection.execute(
                "UPDATE runs SET state = ?2, record = ?3 WHERE id = ?1",
                params![run.0, state.as_str(), serde_json::to_string(&record)?],
            )?;
        }
        JournalEntry::Output { run, transcript } => {
            connection.execute(
                "INSERT OR REPLACE INTO transcripts (run, transcript) VALUES (?1, ?2)",
                params![run.0, serde_json::to_string(transcript)?],
            )?;
        }
        JournalEntry::Proposal { hunk, base_sha256 } => {
            connection.execute(
                "INSERT INTO hunks (id, run, state, base_sha256, hunk) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET
                     run = excluded.run, base_sha256 = excluded.base_sha256, hunk = excluded.hunk,
                     state = CASE WHEN decision IS NULL THEN excluded.state ELSE state END",
                params![
                    hunk.id.0,
                    hunk.run.0,
                    name(&hunk.state)?,
                    base_sha256,
                    serde_json::to_string(hunk)?
                ],
            )?;
        }
        JournalEntry::AcceptIntent { hunks, .. } => {
            let applying = name(&HunkState::Applying)?;
            for hunk in hunks {
                connection.execute(
                    "UPDATE hunks SET state = ?2 WHERE id = ?1 AND decision IS NULL",
                    params![hunk.0, applying],
                )?;
            }
        }
        JournalEntry::Decision {
            hunk,
            decision,
            time_ms,
        } => {
            let state = match decision {
                Decision::Accepted => HunkState::Accepted,
                Decision::Rejected | Decision::Superseded => HunkState::Rejected,
            };
            connection.execute(
                "UPDATE hunks SET state = ?2, decision = ?3, decided_ms = ?4 WHERE id = ?1",
                params![hunk.0, name(&state)?, name(decision)?, time_ms],
            )?;
        }
        JournalEntry::Finding { finding } => {
            connection.execute(
                "INSERT OR REPLACE INTO findings (id, run, outcome, done_ms, finding)
                 VALUES (?1, ?2, NULL, NULL, ?3)",
                params![
                    finding.finding.id.0,
                    finding.finding.run.0,
                    serde_json::to_string(finding)?
                ],
            )?;
        }
        JournalEntry::FindingDone {
            finding,
            outcome,
            time_ms,
        } => {
            connection.execute(
                "UPDATE findings SET outcome = ?2, done_ms = ?3 WHERE id = ?1",
                params![finding.0, name(outcome)?, time_ms],
            )?;
        }
    }
    Ok(())
}

/// A run's record after a state change: a reason or usage replaces the
/// earlier one, and the first state that ends the run sets when it finished.
fn change_state(
    record: &mut RunRecord,
    state: RunState,
    reason: Option<String>,
    usage: Option<TokenUsage>,
    time_ms: u64,
) {
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

/// The name serde gives a unit variant, as kept in a column.
fn name(value: &impl Serialize) -> Result<String, StoreError> {
    match serde_json::to_value(value)? {
        serde_json::Value::String(name) => Ok(name),
        other => Ok(other.to_string()),
    }
}

fn from_name<T: DeserializeOwned>(name: &str) -> Result<T, StoreError> {
    Ok(serde_json::from_value(serde_json::Value::String(
        name.to_owned(),
    ))?)
}
