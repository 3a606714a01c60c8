//! The journal of earlier versions, `.director/journal.jsonl` (one JSON entry
//! a line), taken over into the store on first start.
//!
//! Such a file may have been cut anywhere by a crash, even inside a character,
//! and a later append may have been glued to a torn line; every line that
//! reads whole is kept, and the others are reported by number.

use super::records::JournalEntry;
use super::state_dir::{self, LEGACY_JOURNAL_FILE};
use super::store::{Store, StoreError};
use crate::run::state::now_ms;
use std::path::Path;

/// A line of the old journal that could not be taken over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// Counted from 1.
    pub number: usize,
    pub why: String,
}

/// What taking over an old journal did.
#[derive(Debug, Default)]
pub struct Migration {
    pub entries: usize,
    pub skipped: Vec<SkippedLine>,
}

impl Migration {
    /// A sentence for the user about the lines that were skipped; `None`
    /// when none were.
    pub fn skipped_notice(&self) -> Option<String> {
        let first = self.skipped.first()?;
        let more = match self.skipped.len() {
            1 => String::new(),
            count => format!(" and {} more", count - 1),
        };
        Some(format!(
            "Director could not read {} of the lines of {STATE_DIR_FILE} \
             (line {}: {}{more}); the {} entries that read whole were kept",
            self.skipped.len(),
            first.number,
            first.why,
            self.entries,
        ))
    }
}

const STATE_DIR_FILE: &str = ".director/journal.jsonl";
/// What the old journal is renamed to once taken over, kept as it was.
pub const MIGRATED_FILE: &str = "journal.jsonl.migrated";

/// Reads the entries of an old journal, keeping each line that reads whole,
/// and the entry an append glued to the end of a torn line.
pub fn read_lines(bytes: &[u8]) -> (Vec<JournalEntry>, Vec<SkippedLine>) {
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for (index, line) in bytes.split(|&byte| byte == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse(line) {
            Ok(entry) => entries.push(entry),
            Err(why) => {
                skipped.push(SkippedLine {
                    number: index + 1,
                    why,
                });
                entries.extend(glued_entry(line));
            }
        }
    }
    (entries, skipped)
}

fn parse(bytes: &[u8]) -> Result<JournalEntry, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| "not UTF-8 text (cut inside a character?)".to_owned())?;
    serde_json::from_str(text).map_err(|error| error.to_string())
}

/// The whole entry at the end of a torn line: each entry starts with its
/// `event` tag, so the last place one starts that parses to the end is it.
fn glued_entry(line: &[u8]) -> Option<JournalEntry> {
    const START: &[u8] = b"{\"event\":";
    (1..line.len())
        .filter(|&at| line[at..].starts_with(START))
        .find_map(|at| parse(&line[at..]).ok())
}

/// Takes the old journal in `dir` over into `store`, unless there is none
/// or it was taken over before. The file itself is left where it is.
pub fn import(dir: &Path, store: &mut Store) -> Result<Option<Migration>, MigrationError> {
    let path = dir.join(LEGACY_JOURNAL_FILE);
    if !path.exists() || store.imported(LEGACY_JOURNAL_FILE)? {
        return Ok(None);
    }
    let bytes = state_dir::read_file(&path)?;
    let (entries, skipped) = read_lines(&bytes);
    let migration = Migration {
        entries: entries.len(),
        skipped,
    };
    store.import(LEGACY_JOURNAL_FILE, entries, now_ms())?;
    for line in &migration.skipped {
        tracing::warn!(
            "skipped line {} of {}: {}",
            line.number,
            path.display(),
            line.why
        );
    }
    Ok(Some(migration))
}

/// Renames the old journal in `dir`, once taken over, so that it is read
/// only once; it stays as it was for whoever wants to look at it.
pub fn retire(dir: &Path) -> std::io::Result<()> {
    let path = dir.join(LEGACY_JOURNAL_FILE);
    if !path.exists() {
        return Ok(());
    }
    std::fs::rename(&path, dir.join(MIGRATED_FILE))
}

/// Why an old journal could not be taken over.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("cannot read {STATE_DIR_FILE}: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(entry: &JournalEntry) -> String {
        serde_json::to_string(entry).expect("an entry serializes")
    }

    fn finding_done(id: u64) -> JournalEntry {
        JournalEntry::FindingDone {
            finding: crate::run::review::FindingId(id),
            outcome: super::super::records::FindingOutcome::Dismissed,
            time_ms: 1,
        }
    }

    #[test]
    fn a_line_cut_inside_a_character_costs_that_line_only() {
        let whole = line(&finding_done(1));
        let with_accent = "{\"event\":\"finding_done\",\"finding\":2,\"outcome\":\"dismissed\",\"time_ms\":1,\"note\":\"é\"}";
        let cut = &with_accent.as_bytes()[..with_accent.find('é').expect("an é") + 1];
        let mut bytes = format!("{whole}\n").into_bytes();
        bytes.extend_from_slice(cut);
        bytes.extend_from_slice(format!("\n{}\n", line(&finding_done(3))).as_bytes());
        let (entries, skipped) = read_lines(&bytes);
        assert_eq!(entries.len(), 2);
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].number, 2);
        assert!(skipped[0].why.contains("UTF-8"), "{:?}", skipped[0]);
    }

    #[test]
    fn a_torn_line_with_an_entry_glued_to_it_is_reported_and_the_rest_kept() {
        let torn = &line(&finding_done(1))[..20];
        let bytes = format!(
            "{}\n{torn}{}\n{}\n",
            line(&finding_done(1)),
            line(&finding_done(2)),
            line(&finding_done(3))
        );
        let (entries, skipped) = read_lines(bytes.as_bytes());
        // The torn entry is lost; the one glued to it is not.
        assert_eq!(entries.len(), 3);
        assert!(matches!(
            entries[1],
            JournalEntry::FindingDone { finding, .. } if finding.0 == 2
        ));
        assert_eq!(
            skipped.iter().map(|line| line.number).collect::<Vec<_>>(),
            [2]
        );
        let migration = Migration {
            entries: entries.len(),
            skipped,
        };
        let notice = migration.skipped_notice().expect("a notice");
        assert!(notice.contains("line 2"), "{notice}");
        assert!(
            notice.contains("the 3 entries that read whole were kept"),
            "{notice}"
        );
    }
}
