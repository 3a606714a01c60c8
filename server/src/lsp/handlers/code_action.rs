//! Code actions: decisions on the hunks under the cursor, delegation of the
//! selection to every configured agent with every preset and to every configured
//! workflow, *Start task with AGENT* on a task line, and fixes for spec lint
//! findings (see [`super::spec_fixes`]). Computing them never waits on an agent:
//! each action only carries a command or an edit.

use super::execute_command::{
    ACCEPT, ACCEPT_ALL, APPLY_FIX, DELEGATE, DISMISS, REFINE, REJECT, REJECT_ALL, REVIEW,
    RUN_WORKFLOW, START_TASK,
};
use super::spec_fixes;
use crate::lsp::backend::Backend;
use crate::lsp::convert::offsets;
use crate::lsp::diagnostics::{FINDING_CODE, PROPOSAL_CODE, SOURCE};
use crate::proposal::HunkState;
use crate::run::preset::PRESETS;
use crate::spec::model::{FileRole, TaskStatus};
use crate::spec_assist::task_prompt::task_on_line;
use crate::workspace::lock;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

pub async fn code_actions(
    backend: &Backend,
    params: CodeActionParams,
) -> Result<Option<CodeActionResponse>> {
    let session = backend.session()?;
    let url = backend.url(&params.text_document.uri)?;
    let config = session.engine.config();
    let mut actions = spec_fixes::lint_actions(backend, &params, &config)?;
    actions.extend(start_task_actions(backend, &params, &url, &config));
    let untrusted: BTreeMap<&String, String> = config
        .agents
        .keys()
        .filter_map(|agent| Some((agent, session.engine.untrusted_reason(agent)?)))
        .collect();
    let workspace = lock(&session.engine.workspace);
    let Some(document) = workspace.documents.get(&url) else {
        return Ok(None);
    };
    let selection = offsets(document, params.range, session.encoding)?;

    let hunks: Vec<_> = workspace
        .proposals
        .open_hunks(&url)
        .into_iter()
        .filter(|hunk| hunk.range.start <= selection.end && selection.start <= hunk.range.end)
        .collect();
    let mut runs_offered = BTreeSet::new();
    for hunk in &hunks {
        let diagnostics = diagnostics_about(
            &params.context.diagnostics,
            PROPOSAL_CODE,
            "hunk",
            hunk.id.0,
        );
        let hunk_argument = json!({ "hunk": hunk.id.0 });
        if hunk.state == HunkState::Open {
            actions.push(quick_fix(
                format!("Accept this edit (run {})", hunk.run),
                ACCEPT,
                hunk_argument.clone(),
                &diagnostics,
                true,
            ));
        }
        actions.push(quick_fix(
            format!("Reject this edit (run {})", hunk.run),
            REJECT,
            hunk_argument,
            &diagnostics,
            false,
        ));
        runs_offered.insert(hunk.run);
    }
    for run in runs_offered {
        let run_argument = json!({ "run": run.0 });
        actions.push(quick_fix(
            format!("Accept all from run {run}"),
            ACCEPT_ALL,
            run_argument.clone(),
            &[],
            false,
        ));
        actions.push(quick_fix(
            format!("Reject all from run {run}"),
            REJECT_ALL,
            run_argument.clone(),
            &[],
            false,
        ));
        actions.push(quick_fix(
            format!("Refine run {run}"),
            REFINE,
            run_argument,
            &[],
            false,
        ));
    }

    for finding in workspace
        .findings
        .of_document(&url)
        .into_iter()
        .filter(|finding| {
            finding.range.start <= selection.end && selection.start <= finding.range.end
        })
    {
        let diagnostics = diagnostics_about(
            &params.context.diagnostics,
            FINDING_CODE,
            "finding",
            finding.id.0,
        );
        let argument = json!({ "finding": finding.id.0 });
        if finding.fix.is_some() {
            actions.push(quick_fix(
                format!("Apply fix (run {})", finding.run),
                APPLY_FIX,
                argument.clone(),
                &diagnostics,
                true,
            ));
        }
        actions.push(quick_fix(
            format!("Dismiss finding (run {})", finding.run),
            DISMISS,
            argument,
            &diagnostics,
            false,
        ));
    }

    let is_source = workspace.syntax.language(&url).is_some();
    if is_source {
        for (name, workflow) in &config.workflows {
            // A workflow runs only when all its agents may run here.
            let untrusted_reason = workflow
                .steps
                .iter()
                .filter_map(|step| step.agent())
                .find_map(|agent| untrusted.get(&agent.to_owned()));
            let title = format!("Run workflow {name}");
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: title.clone(),
                kind: Some(CodeActionKind::REFACTOR_REWRITE),
                command: Some(Command {
                    title,
                    command: RUN_WORKFLOW.to_owned(),
                    arguments: Some(vec![json!({
                        "uri": params.text_document.uri,
                        "range": params.range,
                        "workflow": name,
                    })]),
                }),
                disabled: untrusted_reason.map(|reason| CodeActionDisabled {
                    reason: reason.clone(),
                }),
                ..CodeAction::default()
            }));
        }
        for (agent, agent_config) in &config.agents {
            if let Some(reason) = untrusted.get(agent) {
                actions.push(untrusted_agent_action(&params, agent, reason));
                continue;
            }
            let title = if selection.is_empty() {
                format!("Review file with {agent}")
            } else {
                format!("Review with {agent}")
            };
            // A sandboxed agent edits files; it has no way to answer findings.
            let can_review = !agent_config.kind.edits_in_sandbox();
            actions.extend(can_review.then(|| {
                CodeActionOrCommand::CodeAction(CodeAction {
                    title: title.clone(),
                    kind: Some(CodeActionKind::REFACTOR_REWRITE),
                    command: Some(Command {
                        title,
                        command: REVIEW.to_owned(),
                        arguments: Some(vec![json!({
                            "uri": params.text_document.uri,
                            "range": params.range,
                            "agent": agent,
                        })]),
                    }),
                    ..CodeAction::default()
                })
            }));
            for preset in PRESETS {
                let arguments = json!({
                    "uri": params.text_document.uri,
                    "range": params.range,
                    "agent": agent,
                    "instruction": preset.instruction,
                });
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!("Delegate to {agent}: {}", preset.label),
                    kind: Some(CodeActionKind::REFACTOR_REWRITE),
                    command: Some(Command {
                        title: format!("Delegate to {agent}: {}", preset.label),
                        command: DELEGATE.to_owned(),
                        arguments: Some(vec![arguments]),
                    }),
                    ..CodeAction::default()
                }));
            }
        }
    }
    Ok(Some(actions))
}

/// *Start task with AGENT* for each configured agent, on an open task's line of a
/// tasks file.
fn start_task_actions(
    backend: &Backend,
    params: &CodeActionParams,
    url: &url::Url,
    config: &crate::config::Config,
) -> Vec<CodeActionOrCommand> {
    let Ok(path) = url.to_file_path() else {
        return Vec::new();
    };
    let line = params.range.start.line;
    let is_open_task = {
        let index = backend.spec.index();
        index
            .spec(&path)
            .filter(|spec| spec.document.role == FileRole::Tasks)
            .and_then(|spec| {
                task_on_line(&spec.document, &spec.text, line as usize)
                    .map(|task| spec.document.tasks[task].status == TaskStatus::Todo)
            })
            .unwrap_or(false)
    };
    if !is_open_task {
        return Vec::new();
    }
    config
        .agents
        .keys()
        .map(|agent| {
            let title = format!("Start task with {agent}");
            let disabled = backend.session().ok().and_then(|session| {
                session
                    .engine
                    .untrusted_reason(agent)
                    .map(|reason| CodeActionDisabled { reason })
            });
            CodeActionOrCommand::CodeAction(CodeAction {
                title: title.clone(),
                kind: Some(CodeActionKind::REFACTOR_REWRITE),
                command: Some(Command {
                    title,
                    command: START_TASK.to_owned(),
                    arguments: Some(vec![json!({
                        "uri": params.text_document.uri,
                        "line": line,
                        "agent": agent,
                    })]),
                }),
                disabled,
                ..CodeAction::default()
            })
        })
        .collect()
}

fn quick_fix(
    title: String,
    command: &str,
    argument: serde_json::Value,
    diagnostics: &[Diagnostic],
    preferred: bool,
) -> CodeActionOrCommand {
    CodeActionOrCommand::CodeAction(CodeAction {
        title: title.clone(),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: (!diagnostics.is_empty()).then(|| diagnostics.to_vec()),
        is_preferred: preferred.then_some(true),
        command: Some(Command {
            title,
            command: command.to_owned(),
            arguments: Some(vec![argument]),
        }),
        ..CodeAction::default()
    })
}

/// Stands in for the delegate actions of an agent the workspace may not use
/// yet: disabled with `reason` (which says how to trust the workspace), and
/// refused with the same reason by clients that run disabled actions anyway.
fn untrusted_agent_action(
    params: &CodeActionParams,
    agent: &str,
    reason: &str,
) -> CodeActionOrCommand {
    let title = format!("Delegate to {agent}: trust this workspace first");
    let arguments = json!({
        "uri": params.text_document.uri,
        "range": params.range,
        "agent": agent,
        "instruction": PRESETS.first().map_or("", |preset| preset.instruction),
    });
    CodeActionOrCommand::CodeAction(CodeAction {
        title: title.clone(),
        kind: Some(CodeActionKind::REFACTOR_REWRITE),
        command: Some(Command {
            title,
            command: DELEGATE.to_owned(),
            arguments: Some(vec![arguments]),
        }),
        disabled: Some(CodeActionDisabled {
            reason: reason.to_owned(),
        }),
        ..CodeAction::default()
    })
}

/// The client's diagnostics of Director's kind `code` whose `data.<key>` is `id`,
/// so an action can say which diagnostic it resolves.
fn diagnostics_about(
    diagnostics: &[Diagnostic],
    code: &str,
    key: &str,
    id: u64,
) -> Vec<Diagnostic> {
    diagnostics
        .iter()
        .filter(|diagnostic| {
            diagnostic.source.as_deref() == Some(SOURCE)
                && diagnostic.code == Some(NumberOrString::String(code.to_owned()))
                && diagnostic
                    .data
                    .as_ref()
                    .and_then(|data| data.get(key))
                    .and_then(|value| value.as_u64())
                    == Some(id)
        })
        .cloned()
        .collect()
}
