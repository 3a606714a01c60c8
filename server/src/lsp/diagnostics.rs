//! Proposals, review findings, config problems and spec lint findings as LSP
//! diagnostics. A hunk (or a review finding) becomes one diagnostic whose `data`
//! names it, so code actions need no lookup by range; a lint finding's code is
//! its rule ID.

use super::convert::lsp_range;
use super::hunk_view::hunk_summary;
use crate::config::ConfigProblem;
use crate::document::{Document, PositionEncoding};
use crate::proposal::{Hunk, HunkState};
use crate::run::review::{self, FindingSeverity};
use crate::spec::lint::{Finding, Severity};
use crate::workspace::Workspace;
use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::{Diagnostic, DiagnosticSeverity, DiagnosticTag, NumberOrString};
use url::Url;

pub const SOURCE: &str = "director";
pub const PROPOSAL_CODE: &str = "proposal";
pub const CONFIG_CODE: &str = "config";
pub const FINDING_CODE: &str = "finding";

/// What a review finding's diagnostic carries in `data`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct FindingData {
    pub finding: u64,
    pub run: u64,
    /// Whether the finding carries a fix that can become a proposal.
    pub fix: bool,
}

/// What a proposal diagnostic carries in `data`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ProposalData {
    pub hunk: u64,
    pub run: u64,
}

/// The diagnostics of runs on a document: open hunks, then review findings.
pub fn proposal_diagnostics(
    workspace: &Workspace,
    url: &Url,
    encoding: PositionEncoding,
) -> Vec<Diagnostic> {
    let Some(document) = workspace.proposal_document(url) else {
        return Vec::new();
    };
    let mut diagnostics: Vec<Diagnostic> = workspace
        .proposals
        .open_hunks(url)
        .into_iter()
        .map(|hunk| {
            let agent = workspace
                .runs
                .get(&hunk.run)
                .map_or("agent", |run| run.agent.as_str());
            hunk_diagnostic(document, hunk, agent, encoding)
        })
        .collect();
    diagnostics.extend(
        workspace
            .findings
            .of_document(url)
            .into_iter()
            .map(|finding| {
                // A workflow's findings already name their reviewer, which
                // is not the run's agent (the workflow's first).
                let in_workflow = workspace
                    .transcripts
                    .get(&finding.run)
                    .is_some_and(|transcript| !transcript.steps.is_empty());
                let label = match workspace.runs.get(&finding.run) {
                    _ if in_workflow => "workflow review".to_owned(),
                    Some(run) => format!("{} review", run.agent),
                    None => "agent review".to_owned(),
                };
                finding_diagnostic(document, finding, &label, encoding)
            }),
    );
    diagnostics
}

fn finding_diagnostic(
    document: &Document,
    finding: &review::Finding,
    label: &str,
    encoding: PositionEncoding,
) -> Diagnostic {
    let fix = if finding.fix.is_some() {
        " (fix available)"
    } else {
        ""
    };
    Diagnostic {
        range: lsp_range(document, finding.range.clone(), encoding),
        severity: Some(match finding.severity {
            FindingSeverity::Error => DiagnosticSeverity::ERROR,
            FindingSeverity::Warning => DiagnosticSeverity::WARNING,
            FindingSeverity::Info => DiagnosticSeverity::INFORMATION,
            FindingSeverity::Hint => DiagnosticSeverity::HINT,
        }),
        code: Some(NumberOrString::String(FINDING_CODE.to_owned())),
        source: Some(SOURCE.to_owned()),
        message: format!("{label} (run {}): {}{fix}", finding.run, finding.message),
        data: serde_json::to_value(FindingData {
            finding: finding.id.0,
            run: finding.run.0,
            fix: finding.fix.is_some(),
        })
        .ok(),
        ..Diagnostic::default()
    }
}

fn hunk_diagnostic(
    document: &Document,
    hunk: &Hunk,
    agent: &str,
    encoding: PositionEncoding,
) -> Diagnostic {
    let (severity, message) = match hunk.state {
        HunkState::Conflicted => (
            DiagnosticSeverity::WARNING,
            format!(
                "{agent} (run {}): conflicted: this text changed after the proposal was made; refine run {} to redo it on the current text",
                hunk.run, hunk.run
            ),
        ),
        HunkState::Stale => (
            DiagnosticSeverity::WARNING,
            format!(
                "{agent} (run {}): stale: the document no longer holds the text this proposal was made for",
                hunk.run
            ),
        ),
        _ => (
            DiagnosticSeverity::INFORMATION,
            format!(
                "{agent} (run {}): {}",
                hunk.run,
                hunk_summary(&document.text, hunk)
            ),
        ),
    };
    let tags = (hunk.state == HunkState::Open && !hunk.base_text.is_empty())
        .then(|| vec![DiagnosticTag::UNNECESSARY]);
    Diagnostic {
        range: lsp_range(document, hunk.range.clone(), encoding),
        severity: Some(severity),
        code: Some(NumberOrString::String(PROPOSAL_CODE.to_owned())),
        source: Some(SOURCE.to_owned()),
        message,
        tags,
        data: serde_json::to_value(ProposalData {
            hunk: hunk.id.0,
            run: hunk.run.0,
        })
        .ok(),
        ..Diagnostic::default()
    }
}

/// Config problems on a config file; `document` is the open buffer, or `None`
/// to read the file from disk.
pub fn config_diagnostics(
    document: Option<&Document>,
    problems: &[ConfigProblem],
    encoding: PositionEncoding,
) -> Vec<Diagnostic> {
    let from_disk;
    let document = match document {
        Some(document) => Some(document),
        None => {
            from_disk = problems.first().and_then(|problem| {
                let text = std::fs::read_to_string(&problem.path).ok()?;
                let url = Url::from_file_path(&problem.path).ok()?;
                Some(Document::new(url, 0, "toml".to_owned(), &text))
            });
            from_disk.as_ref()
        }
    };
    problems
        .iter()
        .map(|problem| {
            let range = match (document, &problem.range) {
                (Some(document), Some(range)) => lsp_range(document, range.clone(), encoding),
                _ => Default::default(),
            };
            Diagnostic {
                range,
                severity: Some(DiagnosticSeverity::ERROR),
                code: Some(NumberOrString::String(CONFIG_CODE.to_owned())),
                source: Some(SOURCE.to_owned()),
                message: problem.message.clone(),
                ..Diagnostic::default()
            }
        })
        .collect()
}

/// Spec lint findings on a document whose text the findings were computed from.
pub fn lint_diagnostics(
    document: &Document,
    findings: &[Finding],
    encoding: PositionEncoding,
) -> Vec<Diagnostic> {
    findings
        .iter()
        .map(|finding| Diagnostic {
            range: lsp_range(document, finding.range.clone(), encoding),
            severity: Some(match finding.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
                Severity::Info => DiagnosticSeverity::INFORMATION,
                Severity::Hint => DiagnosticSeverity::HINT,
            }),
            code: Some(NumberOrString::String(finding.rule.to_owned())),
            source: Some(SOURCE.to_owned()),
            message: finding.message.clone(),
            ..Diagnostic::default()
        })
        .collect()
}
