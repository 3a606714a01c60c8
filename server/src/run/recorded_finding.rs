//! A review finding as the journal keeps it, so that findings outlive a
//! restart (or their document being closed) and come back where their lines are
//! when the document opens again — or not at all when those lines changed.

use crate::run::review::Finding;
use serde::{Deserialize, Serialize};

/// A finding and the text of its lines when it was last anchored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedFinding {
    pub finding: Finding,
    pub base_text: String,
}

impl RecordedFinding {
    /// Records `finding` on `text`, the document it is anchored in.
    pub fn new(finding: Finding, text: &ropey::Rope) -> RecordedFinding {
        let base_text = slice(text, &finding.range).unwrap_or_default();
        RecordedFinding { finding, base_text }
    }

    /// The finding anchored in `text`: where it was when its lines are still
    /// there, else where they moved to when they occur exactly once; `None`
    /// when they changed, since the finding may no longer hold.
    pub fn reanchored(self, text: &ropey::Rope) -> Option<Finding> {
        let RecordedFinding {
            mut finding,
            base_text,
        } = self;
        if base_text.is_empty() {
            return None;
        }
        if slice(text, &finding.range).as_deref() == Some(base_text.as_str()) {
            return Some(finding);
        }
        let whole = text.to_string();
        let mut occurrences = whole.match_indices(&base_text);
        let (start, _) = occurrences.next()?;
        if occurrences.next().is_some() {
            return None;
        }
        finding.range = start..start + base_text.len();
        Some(finding)
    }
}

/// The text of `range` in `text`, when the range lies in it on char boundaries.
fn slice(text: &ropey::Rope, range: &std::ops::Range<usize>) -> Option<String> {
    if range.start > range.end || range.end > text.len_bytes() {
        return None;
    }
    text.get_byte_slice(range.clone())
        .map(|slice| slice.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RunId;
    use crate::run::review::{FindingId, FindingSeverity};
    use url::Url;

    const TEXT: &str = "fn a() {}\nfn b() { a - b }\n";

    fn recorded(range: std::ops::Range<usize>) -> RecordedFinding {
        let finding = Finding {
            id: FindingId(3),
            run: RunId(1),
            uri: Url::parse("file:///a.rs").unwrap(),
            range,
            severity: FindingSeverity::Error,
            message: "subtracts".into(),
            fix: None,
        };
        RecordedFinding::new(finding, &ropey::Rope::from_str(TEXT))
    }

    #[test]
    fn a_finding_comes_back_where_its_lines_are() {
        let finding = recorded(10..26);
        assert_eq!(finding.base_text, "fn b() { a - b }");
        let same = finding.clone().reanchored(&ropey::Rope::from_str(TEXT));
        assert_eq!(same.map(|finding| finding.range), Some(10..26));
        let moved = ropey::Rope::from_str(&format!("// new\n{TEXT}"));
        assert_eq!(
            finding
                .clone()
                .reanchored(&moved)
                .map(|finding| finding.range),
            Some(17..33)
        );
        let changed = ropey::Rope::from_str("fn a() {}\nfn b() { a + b }\n");
        assert_eq!(finding.clone().reanchored(&changed), None);
        // Moved, and found twice: which one it was about is unknown.
        let twice = ropey::Rope::from_str(&format!("// new\n{TEXT}{TEXT}"));
        assert_eq!(finding.reanchored(&twice), None);
    }
}
