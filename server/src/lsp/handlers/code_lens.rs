//! Code lenses above proposed hunks (Accept | Reject, or Refine when conflicted),
//! above regions an agent is working on (Cancel) and above every open task of a
//! tasks file (Start task).

use super::execute_command::{ACCEPT, CANCEL, REFINE, REJECT, START_TASK};
use crate::lsp::backend::Backend;
use crate::lsp::convert::lsp_range;
use crate::proposal::HunkState;
use crate::spec::model::{FileRole, TaskStatus};
use crate::workspace::lock;
use serde_json::json;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

pub async fn code_lenses(
    backend: &Backend,
    params: CodeLensParams,
) -> Result<Option<Vec<CodeLens>>> {
    let session = backend.session()?;
    let url = backend.url(&params.text_document.uri)?;
    let mut lenses = start_task_lenses(backend, &params.text_document.uri, &url);
    let workspace = lock(&session.engine.workspace);
    let Some(document) = workspace.documents.get(&url) else {
        return Ok(None);
    };
    for hunk in workspace.proposals.open_hunks(&url) {
        let range = lsp_range(document, hunk.range.clone(), session.encoding);
        let argument = json!({ "hunk": hunk.id.0 });
        let run_argument = json!({ "run": hunk.run.0 });
        let commands = match hunk.state {
            HunkState::Open => vec![
                (
                    format!("✓ Accept (run {})", hunk.run),
                    ACCEPT,
                    argument.clone(),
                ),
                ("✗ Reject".to_owned(), REJECT, argument),
            ],
            HunkState::Conflicted => vec![
                (
                    format!("⚠ Refine run {} on the current text", hunk.run),
                    REFINE,
                    run_argument,
                ),
                ("✗ Reject".to_owned(), REJECT, argument),
            ],
            _ => vec![("✗ Reject".to_owned(), REJECT, argument)],
        };
        for (title, command, argument) in commands {
            lenses.push(CodeLens {
                range,
                command: Some(Command {
                    title,
                    command: command.to_owned(),
                    arguments: Some(vec![argument]),
                }),
                data: None,
            });
        }
    }
    for (run, region) in &workspace.regions {
        if region.uri != url {
            continue;
        }
        let Some(record) = workspace
            .runs
            .get(run)
            .filter(|record| record.state.is_in_flight())
        else {
            continue;
        };
        let start = region.range.start;
        lenses.push(CodeLens {
            range: lsp_range(document, start..start, session.encoding),
            command: Some(Command {
                title: format!(
                    "⏳ run {run} ({}) {} · Cancel",
                    record.agent,
                    record.state.as_str()
                ),
                command: CANCEL.to_owned(),
                arguments: Some(vec![json!({ "run": run.0 })]),
            }),
            data: None,
        });
    }
    Ok(Some(lenses))
}

/// *Start task* above each open (`[ ]`) task the index reads in a tasks file. Lines
/// that look like tasks but are not get a SPEC013 diagnostic instead, so a missing
/// lens always has a visible reason.
fn start_task_lenses(backend: &Backend, uri: &Uri, url: &url::Url) -> Vec<CodeLens> {
    let Ok(path) = url.to_file_path() else {
        return Vec::new();
    };
    let index = backend.spec.index();
    let Some(spec) = index
        .spec(&path)
        .filter(|spec| spec.document.role == FileRole::Tasks)
    else {
        return Vec::new();
    };
    spec.document
        .tasks
        .iter()
        .filter(|task| task.status == TaskStatus::Todo)
        .map(|task| {
            // Column 0 is the same in every position encoding.
            let line = spec.text[..task.range.start].matches('\n').count() as u32;
            let start = Position::new(line, 0);
            CodeLens {
                range: Range::new(start, start),
                command: Some(Command {
                    title: "▶ Start task".to_owned(),
                    command: START_TASK.to_owned(),
                    arguments: Some(vec![json!({ "uri": uri, "line": line })]),
                }),
                data: None,
            }
        })
        .collect()
}
