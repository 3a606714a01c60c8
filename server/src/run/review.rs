//! Review runs: the agent reads a region and answers with findings instead of a
//! rewrite. Findings live beside proposals, re-anchored on every edit with the
//! same rule as hunks, until the user dismisses them or applies their fix.
//!
//! The answer format (also in the prompt and in docs/lsp-extensions.md) is one
//! entry per finding, `- line N: severity: message` or `- lines N-M: …`,
//! optionally followed right below by a fenced block that replaces those lines.
//! Anything else in the answer is prose and is ignored.

use crate::document::ByteEdit;
use crate::ids::RunId;
use crate::proposal::reanchor;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::LazyLock;
use url::Url;

/// One finding of a review; unique within the workspace, across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FindingId(pub u64);

impl std::fmt::Display for FindingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingSeverity {
    Error,
    Warning,
    Info,
    Hint,
}

impl FindingSeverity {
    fn from_word(word: &str) -> Option<FindingSeverity> {
        match word.to_ascii_lowercase().as_str() {
            "error" | "bug" => Some(FindingSeverity::Error),
            "warning" | "warn" => Some(FindingSeverity::Warning),
            "info" | "information" | "note" => Some(FindingSeverity::Info),
            "hint" | "nit" | "style" => Some(FindingSeverity::Hint),
            _ => None,
        }
    }
}

/// A finding anchored to the live document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub id: FindingId,
    pub run: RunId,
    pub uri: Url,
    /// The lines the finding is about, without the last line's line break.
    pub range: Range<usize>,
    pub severity: FindingSeverity,
    pub message: String,
    /// The replacement of `range` the agent suggests, if any.
    pub fix: Option<String>,
}

/// A finding as the agent wrote it: 1-based, inclusive line numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFinding {
    pub first_line: usize,
    pub last_line: usize,
    pub severity: FindingSeverity,
    pub message: String,
    pub fix: Option<String>,
}

/// What an answer held: the findings, and a note for each entry that was skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedReview {
    pub findings: Vec<ParsedFinding>,
    pub skipped: Vec<String>,
}

static ENTRY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*[-*]?\s*\**lines?\s+(\d+)(?:\s*(?:-|–|\.\.|to)\s*(\d+))?\**\s*:\s*([a-z]+)\s*:\s*(.*\S)\s*$")
        .unwrap_or_else(|error| unreachable!("the entry pattern is valid: {error}"))
});

/// A line that looks like an entry but may not be one: worth a note when skipped.
static ENTRY_LIKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*[-*]\s*\**lines?\b")
        .unwrap_or_else(|error| unreachable!("the entry-like pattern is valid: {error}"))
});

/// Reads the findings of an answer; prose is ignored, malformed entries are noted.
pub fn parse_findings(answer: &str) -> ParsedReview {
    let lines: Vec<&str> = answer.lines().collect();
    let mut review = ParsedReview::default();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        index += 1;
        let Some(captures) = ENTRY.captures(line) else {
            if ENTRY_LIKE.is_match(line) {
                review
                    .skipped
                    .push(format!("not a finding entry: {}", line.trim()));
            }
            continue;
        };
        let first_line: Option<usize> = captures[1].parse().ok();
        let last_line: Option<usize> = match captures.get(2) {
            Some(last) => last.as_str().parse().ok(),
            None => first_line,
        };
        let severity = FindingSeverity::from_word(&captures[3]);
        let fix = take_fence(&lines, &mut index);
        match (first_line, last_line, severity) {
            (Some(first), Some(last), Some(severity)) if first >= 1 && first <= last => {
                review.findings.push(ParsedFinding {
                    first_line: first,
                    last_line: last,
                    severity,
                    message: captures[4].to_owned(),
                    fix,
                });
            }
            (_, _, None) => review.skipped.push(format!(
                "unknown severity '{}' in: {}",
                &captures[3],
                line.trim()
            )),
            _ => review
                .skipped
                .push(format!("bad line numbers in: {}", line.trim())),
        }
    }
    review
}

/// The fenced block right below an entry (blank lines allowed between), if any;
/// advances `index` past it.
fn take_fence(lines: &[&str], index: &mut usize) -> Option<String> {
    let mut start = *index;
    while lines.get(start).is_some_and(|line| line.trim().is_empty()) {
        start += 1;
    }
    let opening = lines.get(start)?.trim_start();
    let marker = if opening.starts_with("```") {
        "```"
    } else if opening.starts_with("~~~") {
        "~~~"
    } else {
        return None;
    };
    let end =
        (start + 1..lines.len()).find(|&line| lines[line].trim_start().starts_with(marker))?;
    *index = end + 1;
    // As in Markdown, a fence indented under a list item indents its lines too.
    let indent = lines[start].len() - opening.len();
    let body: Vec<&str> = lines[start + 1..end]
        .iter()
        .map(|line| {
            let spaces = line.len() - line.trim_start_matches(' ').len();
            &line[spaces.min(indent)..]
        })
        .collect();
    Some(body.join("\n"))
}

/// Every finding not yet dismissed, by document.
#[derive(Debug, Default)]
pub struct FindingStore {
    findings: BTreeMap<FindingId, Finding>,
    next_id: u64,
}

impl FindingStore {
    /// Adds a finding and returns its id.
    pub fn add(
        &mut self,
        run: RunId,
        uri: &Url,
        range: Range<usize>,
        parsed: ParsedFinding,
    ) -> FindingId {
        self.next_id += 1;
        let id = FindingId(self.next_id);
        self.findings.insert(
            id,
            Finding {
                id,
                run,
                uri: uri.clone(),
                range,
                severity: parsed.severity,
                message: parsed.message,
                fix: parsed.fix,
            },
        );
        id
    }

    /// An empty store whose next finding is `next_id`, so that findings read
    /// back from the journal keep their ids and new ones do not reuse them.
    pub fn with_next_id(next_id: u64) -> FindingStore {
        FindingStore {
            findings: BTreeMap::new(),
            next_id: next_id.saturating_sub(1),
        }
    }

    /// Puts back a finding that was journaled, under its own id.
    pub fn restore(&mut self, finding: Finding) {
        self.next_id = self.next_id.max(finding.id.0);
        self.findings.insert(finding.id, finding);
    }

    pub fn get(&self, id: FindingId) -> Option<&Finding> {
        self.findings.get(&id)
    }

    pub fn remove(&mut self, id: FindingId) -> Option<Finding> {
        self.findings.remove(&id)
    }

    pub fn of_document(&self, uri: &Url) -> Vec<&Finding> {
        self.findings
            .values()
            .filter(|finding| &finding.uri == uri)
            .collect()
    }

    /// Takes a document's findings out (it was closed; its text may change
    /// unseen until it opens again).
    pub fn take_document(&mut self, uri: &Url) -> Vec<Finding> {
        let (taken, kept) = std::mem::take(&mut self.findings)
            .into_iter()
            .partition(|(_, finding)| &finding.uri == uri);
        self.findings = kept;
        taken.into_values().collect()
    }

    /// Moves a document's findings through edits; true when any finding moved.
    pub fn apply_edits(&mut self, uri: &Url, edits: &[ByteEdit]) -> bool {
        let mut moved = false;
        for finding in self
            .findings
            .values_mut()
            .filter(|finding| &finding.uri == uri)
        {
            for edit in edits {
                let range = reanchor(&finding.range, edit).range;
                moved |= range != finding.range;
                finding.range = range;
            }
        }
        moved
    }
}

/// The byte range of 1-based lines `first..=last` of `text`, without the last
/// line's line break; `None` when the lines are not in the text.
pub fn lines_range(text: &ropey::Rope, first: usize, last: usize) -> Option<Range<usize>> {
    let line_count = text.len_lines();
    if first == 0 || last < first || last > line_count {
        return None;
    }
    let start = text.line_to_byte(first - 1);
    let mut end = text.line_to_byte(last);
    let bytes = text.byte_slice(start..end).to_string();
    let trimmed = bytes.trim_end_matches(['\n', '\r']);
    end = start + trimmed.len();
    // A line past the text's last line break is empty; no finding is about it.
    if last == line_count && start == text.len_bytes() {
        return None;
    }
    Some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_with_and_without_fixes_are_read_and_prose_is_ignored() {
        let answer = "Here is my review.\n\n- line 3: warning: `b` is unused\n- lines 5-6: error: adds instead of subtracting\n  ```rust\n  a - b\n  ```\nThat is all.\n";
        let review = parse_findings(answer);
        assert_eq!(review.skipped, Vec::<String>::new());
        assert_eq!(
            review.findings,
            vec![
                ParsedFinding {
                    first_line: 3,
                    last_line: 3,
                    severity: FindingSeverity::Warning,
                    message: "`b` is unused".into(),
                    fix: None,
                },
                ParsedFinding {
                    first_line: 5,
                    last_line: 6,
                    severity: FindingSeverity::Error,
                    message: "adds instead of subtracting".into(),
                    fix: Some("a - b".into()),
                },
            ]
        );
    }

    #[test]
    fn malformed_entries_are_skipped_with_a_note() {
        let review = parse_findings(
            "- line 4: catastrophic: the end is near\n- line 9-2: error: backwards\n- line: error: no number\n- line 1: hint: ok\n",
        );
        assert_eq!(review.findings.len(), 1);
        assert_eq!(review.findings[0].first_line, 1);
        assert_eq!(review.skipped.len(), 3, "{:?}", review.skipped);
        assert!(review.skipped[0].contains("unknown severity 'catastrophic'"));
        assert!(review.skipped[1].contains("bad line numbers"));
    }

    #[test]
    fn no_findings_is_an_empty_review() {
        assert_eq!(parse_findings("No findings."), ParsedReview::default());
    }

    #[test]
    fn lines_map_to_bytes_without_the_last_line_break() {
        let text = ropey::Rope::from_str("a\nbb\nccc\n");
        assert_eq!(lines_range(&text, 2, 2), Some(2..4));
        assert_eq!(lines_range(&text, 1, 3), Some(0..8));
        assert_eq!(lines_range(&text, 4, 4), None);
        assert_eq!(lines_range(&text, 0, 1), None);
    }

    #[test]
    fn findings_move_with_edits_above_them() {
        let uri = Url::parse("file:///a.rs").unwrap();
        let mut store = FindingStore::default();
        let parsed = parse_findings("- line 2: info: x").findings.remove(0);
        let id = store.add(RunId(1), &uri, 10..20, parsed);
        let edit = ByteEdit {
            start: 0,
            old_end: 0,
            new_end: 3,
            start_point: Default::default(),
            old_end_point: Default::default(),
            new_end_point: Default::default(),
            new_text: "abc".into(),
        };
        assert!(store.apply_edits(&uri, &[edit]));
        assert_eq!(
            store.get(id).map(|finding| finding.range.clone()),
            Some(13..23)
        );
        assert_eq!(store.take_document(&uri).len(), 1);
        assert!(store.get(id).is_none());
    }

    #[test]
    fn restored_findings_keep_their_ids_and_new_ones_follow() {
        let uri = Url::parse("file:///a.rs").unwrap();
        let mut store = FindingStore::with_next_id(4);
        let parsed = parse_findings("- line 1: info: x").findings.remove(0);
        let mut first = FindingStore::default();
        let id = first.add(RunId(1), &uri, 0..1, parsed.clone());
        let mut restored = first.remove(id).expect("the finding");
        restored.id = FindingId(7);
        store.restore(restored);
        assert!(store.get(FindingId(7)).is_some());
        assert_eq!(store.add(RunId(2), &uri, 0..1, parsed), FindingId(8));
    }
}
