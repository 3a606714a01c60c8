//! Code actions for spec lint findings: the finding's mechanical fix as a versioned
//! edit (re-pinning a suspect trace is one), and otherwise, in spec files, *Fix with
//! agent*: a delegation of the enclosing requirement with the rule's rationale.

use super::execute_command::DELEGATE;
use crate::config::Config;
use crate::lsp::backend::Backend;
use crate::lsp::convert::{lsp_range, offsets, uri_from_url};
use crate::lsp::diagnostics::SOURCE;
use crate::lsp::spec_locations::cursor;
use crate::spec::lint::{Finding, lint_file, rule};
use serde_json::json;
use std::ops::Range;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

pub fn lint_actions(
    backend: &Backend,
    params: &CodeActionParams,
    config: &Config,
) -> Result<Vec<CodeActionOrCommand>> {
    let session = backend.session()?;
    // Findings are not published before the first build, so there is nothing to fix.
    if !backend.spec.is_built() {
        return Ok(Vec::new());
    }
    let Some(cursor) = cursor(backend, &params.text_document.uri, params.range.start)? else {
        return Ok(Vec::new());
    };
    let selection = offsets(&cursor.document, params.range, session.encoding)?;
    let (findings, requirement_ranges) = {
        let index = backend.spec.index();
        let indexed = index
            .spec(&cursor.path)
            .map(|spec| spec.text.clone())
            .or_else(|| index.code_file(&cursor.path).map(|code| code.text.clone()));
        if indexed.is_none_or(|text| cursor.document.text != *text) {
            return Ok(Vec::new());
        }
        let findings: Vec<Finding> = lint_file(&index, &cursor.path, &backend.spec.policy())
            .into_iter()
            .filter(|finding| {
                finding.range.start <= selection.end && selection.start <= finding.range.end
            })
            .collect();
        let requirement_ranges: Option<Vec<Range<usize>>> = index.spec(&cursor.path).map(|spec| {
            spec.document
                .requirements
                .iter()
                .map(|requirement| requirement.range.clone())
                .collect()
        });
        (findings, requirement_ranges)
    };
    let uri = uri_from_url(&cursor.document.uri)?;
    let mut actions = Vec::new();
    for finding in findings {
        let finding_range = lsp_range(&cursor.document, finding.range.clone(), session.encoding);
        let diagnostics: Vec<Diagnostic> = params
            .context
            .diagnostics
            .iter()
            .filter(|diagnostic| {
                diagnostic.source.as_deref() == Some(SOURCE)
                    && diagnostic.code == Some(NumberOrString::String(finding.rule.to_owned()))
                    && diagnostic.range == finding_range
            })
            .cloned()
            .collect();
        let diagnostics = (!diagnostics.is_empty()).then_some(diagnostics);
        if let Some(fix) = &finding.fix {
            let edits = fix
                .edits
                .iter()
                .map(|(range, new_text)| {
                    OneOf::Left(TextEdit {
                        range: lsp_range(&cursor.document, range.clone(), session.encoding),
                        new_text: new_text.clone(),
                    })
                })
                .collect();
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: fix.title.clone(),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics,
                is_preferred: Some(true),
                edit: Some(WorkspaceEdit {
                    document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
                        text_document: OptionalVersionedTextDocumentIdentifier {
                            uri: uri.clone(),
                            version: Some(cursor.document.version),
                        },
                        edits,
                    }])),
                    ..WorkspaceEdit::default()
                }),
                ..CodeAction::default()
            }));
            continue;
        }
        let Some(requirement_ranges) = &requirement_ranges else {
            continue;
        };
        let scope = requirement_ranges
            .iter()
            .find(|range| range.start <= finding.range.start && finding.range.end <= range.end)
            .cloned()
            .unwrap_or(finding.range.clone());
        let scope = lsp_range(&cursor.document, scope, session.encoding);
        let instruction = agent_instruction(&finding);
        for agent in config.agents.keys() {
            let title = format!("Fix {} with {agent}", finding.rule);
            // Offered but disabled, with how to trust, like every agent action.
            let disabled = session
                .engine
                .untrusted_reason(agent)
                .map(|reason| CodeActionDisabled { reason });
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: title.clone(),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: diagnostics.clone(),
                disabled,
                command: Some(Command {
                    title,
                    command: DELEGATE.to_owned(),
                    arguments: Some(vec![json!({
                        "uri": uri,
                        "range": scope,
                        "agent": agent,
                        "instruction": instruction,
                    })]),
                }),
                ..CodeAction::default()
            }));
        }
    }
    Ok(actions)
}

/// What an agent is asked to do about a finding with no mechanical fix.
pub fn agent_instruction(finding: &Finding) -> String {
    let (summary, rationale) =
        rule(finding.rule).map_or(("", ""), |rule| (rule.summary, rule.rationale));
    format!(
        "Fix the spec lint finding {} ({summary}): {}. Why it matters: {rationale} \
Rewrite this part of the spec so the finding no longer applies, keeping every requirement ID \
and the meaning the author intended.",
        finding.rule, finding.message
    )
}
