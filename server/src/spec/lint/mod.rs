//! The spec linter: a registry of rules (one file per family), each a plain function
//! from a file and the workspace index to findings with byte ranges, plus per-rule and
//! per-glob configuration, inline suppression and mechanical fixes as data.
//!
//! Adding a rule is one new [`Rule`] entry in its family's `RULES` table.

pub mod ambiguity;
pub mod config;
pub mod ears_rules;
pub mod incompleteness;
pub mod openspec_changes;
pub mod structure;
pub mod suppression;
pub mod traceability;

use std::ops::Range;
use std::path::Path;

use crate::spec::index::{IndexedCode, SpecIndex};
use crate::spec::lint::config::{LintPolicy, NeededRole};
use crate::spec::lint::suppression::Suppressions;
use crate::spec::model::SpecDocument;

/// How serious a finding is; ordered from least to most severe.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Hint,
    Info,
    Warning,
    Error,
}

/// A mechanical fix: text edits in the finding's own file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<(Range<usize>, String)>,
}

/// One lint result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub range: Range<usize>,
    pub message: String,
    pub fix: Option<Fix>,
}

/// One lint rule: its stable ID, default severity, hover text and check function.
pub struct Rule {
    pub id: &'static str,
    pub default_severity: Severity,
    /// One line for listings.
    pub summary: &'static str,
    /// Why the rule exists, shown on hover.
    pub rationale: &'static str,
    pub check: fn(&LintContext<'_>, &mut Emitter),
}

/// What a rule sees: the file being linted and the whole workspace.
pub struct LintContext<'a> {
    pub index: &'a SpecIndex,
    pub path: &'a Path,
    pub text: &'a str,
    pub target: LintTarget<'a>,
    /// Trace roles every requirement needs (TRC004).
    pub needs: &'a [NeededRole],
}

/// The kind of file being linted.
pub enum LintTarget<'a> {
    Spec(&'a SpecDocument),
    Code(&'a IndexedCode),
}

/// Collects one rule's findings with the rule's default severity.
pub struct Emitter {
    rule: &'static Rule,
    findings: Vec<Finding>,
}

impl Emitter {
    /// Records a finding; the returned reference lets the rule adjust severity or add
    /// a fix.
    pub fn emit(&mut self, range: Range<usize>, message: impl Into<String>) -> &mut Finding {
        self.findings.push(Finding {
            rule: self.rule.id,
            severity: self.rule.default_severity,
            range,
            message: message.into(),
            fix: None,
        });
        let last = self.findings.len() - 1;
        &mut self.findings[last]
    }
}

impl Finding {
    pub fn with_fix(
        &mut self,
        title: impl Into<String>,
        edits: Vec<(Range<usize>, String)>,
    ) -> &mut Finding {
        self.fix = Some(Fix {
            title: title.into(),
            edits,
        });
        self
    }
}

/// Every rule, in ID order within each family.
pub fn all_rules() -> impl Iterator<Item = &'static Rule> {
    structure::RULES
        .iter()
        .chain(openspec_changes::RULES)
        .chain(traceability::RULES)
        .chain(incompleteness::RULES)
        .chain(ears_rules::RULES)
        .chain(ambiguity::RULES)
}

/// The rule with this ID, for hover rationale and configuration checks.
pub fn rule(id: &str) -> Option<&'static Rule> {
    all_rules().find(|rule| rule.id == id)
}

/// Lints one indexed file (spec or code) with the configured severities and inline
/// suppressions applied. Files the index does not hold give no findings.
pub fn lint_file(index: &SpecIndex, path: &Path, policy: &LintPolicy) -> Vec<Finding> {
    let (text, target) = if let Some(spec) = index.spec(path) {
        (spec.text.as_ref(), LintTarget::Spec(&spec.document))
    } else if let Some(code) = index.code_file(path) {
        (code.text.as_ref(), LintTarget::Code(code))
    } else {
        return Vec::new();
    };
    let context = LintContext {
        index,
        path,
        text,
        target,
        needs: &policy.needs,
    };
    let relative = path.strip_prefix(index.root()).unwrap_or(path);
    let suppressions = Suppressions::parse(text);
    let mut findings = Vec::new();
    for rule in all_rules() {
        if policy.is_off(rule.id, relative) {
            continue;
        }
        let mut emitter = Emitter {
            rule,
            findings: Vec::new(),
        };
        (rule.check)(&context, &mut emitter);
        for mut finding in emitter.findings {
            if suppressions.suppresses(rule.id, finding.range.start) {
                continue;
            }
            match policy.severity(rule.id, relative, finding.severity) {
                Some(severity) => finding.severity = severity,
                None => continue,
            }
            findings.push(finding);
        }
    }
    findings.sort_by_key(|finding| (finding.range.start, finding.rule));
    findings
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::Path;

    use super::*;
    use crate::spec::lint::config::LintConfig;

    /// Indexes the given files (path, text) under a fake root and lints `target`.
    pub fn lint_files(files: &[(&str, &str)], target: &str) -> Vec<Finding> {
        let root = Path::new("/workspace");
        let mut index = SpecIndex::new(root);
        for (path, text) in files {
            index.update_file(&root.join(path), text);
        }
        let policy = LintPolicy::new(&LintConfig::default()).0;
        lint_file(&index, &root.join(target), &policy)
    }

    /// `(rule, flagged text)` pairs for one file.
    pub fn flagged(files: &[(&str, &str)], target: &str) -> Vec<(&'static str, String)> {
        let text = files
            .iter()
            .find(|(path, _)| *path == target)
            .map(|(_, text)| *text)
            .unwrap_or_default();
        lint_files(files, target)
            .into_iter()
            .map(|finding| {
                (
                    finding.rule,
                    text.get(finding.range.clone())
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect()
    }

    pub fn rules_fired(files: &[(&str, &str)], target: &str) -> Vec<&'static str> {
        let mut rules: Vec<_> = lint_files(files, target)
            .into_iter()
            .map(|finding| finding.rule)
            .collect();
        rules.sort_unstable();
        rules.dedup();
        rules
    }
}

#[cfg(test)]
mod wild_specs_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_documented() {
        let mut ids: Vec<_> = all_rules().map(|rule| rule.id).collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count);
        for rule in all_rules() {
            assert!(
                !rule.rationale.is_empty() && !rule.summary.is_empty(),
                "{}",
                rule.id
            );
        }
        for required in [
            "SPEC001", "SPEC002", "SPEC003", "SPEC004", "SPEC005", "SPEC006", "SPEC007", "SPEC012",
            "SPEC013", "TRC001", "TRC002", "TRC003", "TRC004", "TRC005", "INC001", "INC002",
            "INC003", "EARS001", "EARS002", "EARS003", "EARS004", "AMB001", "AMB002", "AMB003",
            "AMB004", "AMB009", "AMB011", "AMB015",
        ] {
            assert!(rule(required).is_some(), "{required} missing");
        }
    }
}
