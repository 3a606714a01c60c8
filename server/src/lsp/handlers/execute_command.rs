//! `workspace/executeCommand`: the commands behind code actions, code lenses and
//! editor plugins. Each takes one JSON object argument; see docs/lsp-extensions.md.

use crate::ids::{HunkId, RunId};
use crate::lsp::backend::Backend;
use crate::lsp::convert::{invalid_params, lsp_range, offsets, request_failed};
use crate::run::engine::{
    AcceptPlan, Delegation, EngineError, Review, TaskDelegation, WorkflowRun,
};
use crate::run::prompt::SpecContext;
use crate::run::review::FindingId;
use crate::spec_assist::agent_context::{self, DEFAULT_BUDGET_CHARS};
use crate::workspace::{FileOperation, lock};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

pub const DELEGATE: &str = "director.delegate";
pub const ACCEPT: &str = "director.accept";
pub const REJECT: &str = "director.reject";
pub const ACCEPT_ALL: &str = "director.acceptAll";
pub const REJECT_ALL: &str = "director.rejectAll";
pub const REFINE: &str = "director.refine";
pub const CANCEL: &str = "director.cancel";
pub const REVIEW: &str = "director.review";
pub const DISMISS: &str = "director.dismiss";
pub const APPLY_FIX: &str = "director.applyFix";
pub const RUN_WORKFLOW: &str = "director.runWorkflow";
pub const START_TASK: &str = "director.startTask";
pub const DELEGATE_TASK: &str = "director.delegateTask";

pub const COMMANDS: &[&str] = &[
    DELEGATE,
    ACCEPT,
    REJECT,
    ACCEPT_ALL,
    REJECT_ALL,
    REFINE,
    CANCEL,
    REVIEW,
    DISMISS,
    APPLY_FIX,
    RUN_WORKFLOW,
    START_TASK,
    DELEGATE_TASK,
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkflowArguments {
    uri: Uri,
    range: Range,
    workflow: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewArguments {
    uri: Uri,
    /// Left out or empty: the whole document.
    range: Option<Range>,
    agent: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingArguments {
    finding: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DelegateArguments {
    uri: Uri,
    range: Range,
    /// May be left out when exactly one agent is configured.
    agent: Option<String>,
    instruction: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartTaskArguments {
    uri: Uri,
    /// The task's line, 0-based.
    line: u32,
    /// Left out: the first configured agent.
    agent: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DelegateTaskArguments {
    /// The document the run is anchored on, open in the editor.
    uri: Uri,
    /// The anchor (e.g. a task's line), tracked while the run is in flight or proposed.
    range: Range,
    agent: String,
    instruction: String,
    /// Workspace-relative files to show an HTTP agent in full.
    #[serde(default)]
    files: Vec<std::path::PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HunkArguments {
    hunk: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunArguments {
    run: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefineArguments {
    run: u64,
    feedback: Option<String>,
    agent: Option<String>,
}

/// Used when a client offers Refine without a way to type feedback.
const DEFAULT_FEEDBACK: &str =
    "That is not right yet. Look again at the instruction and the code, and improve your answer.";

pub async fn execute_command(
    backend: &Backend,
    params: ExecuteCommandParams,
) -> Result<Option<Value>> {
    let arguments = params.arguments;
    match params.command.as_str() {
        DELEGATE => delegate(backend, parse(DELEGATE, arguments)?).await,
        DELEGATE_TASK => delegate_task(backend, parse(DELEGATE_TASK, arguments)?),
        ACCEPT => {
            let arguments: HunkArguments = parse(ACCEPT, arguments)?;
            accept(backend, vec![HunkId(arguments.hunk)]).await
        }
        REJECT => {
            let arguments: HunkArguments = parse(REJECT, arguments)?;
            let session = backend.session()?;
            session
                .engine
                .reject(&[HunkId(arguments.hunk)])
                .map_err(engine_error)?;
            Ok(Some(json!({ "rejected": [arguments.hunk] })))
        }
        ACCEPT_ALL => {
            let arguments: RunArguments = parse(ACCEPT_ALL, arguments)?;
            let session = backend.session()?;
            let hunks = session
                .engine
                .open_hunks_of_run(RunId(arguments.run))
                .map_err(engine_error)?;
            if hunks.is_empty() {
                return Err(request_failed(format!(
                    "run {} has no open proposals",
                    arguments.run
                )));
            }
            // One edit per document: a multi-file run's documents are accepted
            // one after the other, stopping at the first the editor refuses.
            let mut accepted = Vec::new();
            for group in session.engine.hunks_by_document(&hunks) {
                accept(backend, group.clone()).await?;
                accepted.extend(group);
            }
            Ok(Some(json!({ "applied": true, "hunks": accepted })))
        }
        REJECT_ALL => {
            let arguments: RunArguments = parse(REJECT_ALL, arguments)?;
            let session = backend.session()?;
            let hunks = session
                .engine
                .open_hunks_of_run(RunId(arguments.run))
                .map_err(engine_error)?;
            session.engine.reject(&hunks).map_err(engine_error)?;
            Ok(Some(json!({ "rejected": hunks })))
        }
        REFINE => {
            let arguments: RefineArguments = parse(REFINE, arguments)?;
            let session = backend.session()?;
            let feedback = arguments
                .feedback
                .filter(|feedback| !feedback.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_FEEDBACK.to_owned());
            let run = session
                .engine
                .refine(RunId(arguments.run), &feedback, arguments.agent.as_deref())
                .map_err(engine_error)?;
            Ok(Some(json!({ "run": run })))
        }
        CANCEL => {
            let arguments: RunArguments = parse(CANCEL, arguments)?;
            let session = backend.session()?;
            let cancelled = session
                .engine
                .cancel(RunId(arguments.run))
                .map_err(engine_error)?;
            Ok(Some(json!({ "cancelled": cancelled })))
        }
        REVIEW => review(backend, parse(REVIEW, arguments)?),
        DISMISS => {
            let arguments: FindingArguments = parse(DISMISS, arguments)?;
            let session = backend.session()?;
            session
                .engine
                .dismiss(FindingId(arguments.finding))
                .map_err(engine_error)?;
            Ok(Some(json!({ "dismissed": arguments.finding })))
        }
        APPLY_FIX => {
            let arguments: FindingArguments = parse(APPLY_FIX, arguments)?;
            let session = backend.session()?;
            let hunks = session
                .engine
                .apply_fix(FindingId(arguments.finding))
                .map_err(engine_error)?;
            Ok(Some(json!({ "hunks": hunks })))
        }
        RUN_WORKFLOW => run_workflow(backend, parse(RUN_WORKFLOW, arguments)?).await,
        START_TASK => {
            let arguments: StartTaskArguments = parse(START_TASK, arguments)?;
            let url = backend.url(&arguments.uri)?;
            let run = backend
                .start_task(url, arguments.line, arguments.agent)
                .await?;
            Ok(Some(json!({ "run": run })))
        }
        unknown => Err(invalid_params(format!(
            "unknown command '{unknown}'; Director's commands are {}",
            COMMANDS.join(", ")
        ))),
    }
}

async fn delegate(backend: &Backend, arguments: DelegateArguments) -> Result<Option<Value>> {
    let session = backend.session()?;
    let url = backend.url(&arguments.uri)?;
    let range = {
        let workspace = lock(&session.engine.workspace);
        let document = workspace
            .documents
            .get(&url)
            .ok_or_else(|| invalid_params(format!("the document {url} is not open")))?;
        offsets(document, arguments.range, session.encoding)?
    };
    let agent = match arguments.agent {
        Some(agent) => agent,
        None => {
            let config = session.engine.config();
            let mut names = config.agents.keys();
            match (names.next(), names.next()) {
                (Some(only), None) => only.clone(),
                _ => {
                    return Err(invalid_params(format!(
                        "name the agent: configured agents are {}",
                        config.agents.keys().cloned().collect::<Vec<_>>().join(", ")
                    )));
                }
            }
        }
    };
    if arguments.instruction.trim().is_empty() {
        return Err(invalid_params("the instruction is empty"));
    }
    let spec = match (&session.root, url.to_file_path()) {
        (Some(_), Ok(path)) => agent_context::gather(
            &*backend.spec.built_index().await,
            &path,
            range.clone(),
            DEFAULT_BUDGET_CHARS,
        ),
        _ => SpecContext::default(),
    };
    let run = session
        .engine
        .delegate_with_spec(
            Delegation {
                uri: url,
                range,
                agent,
                instruction: arguments.instruction,
            },
            spec,
        )
        .map_err(engine_error)?;
    Ok(Some(json!({ "run": run })))
}

async fn run_workflow(backend: &Backend, arguments: WorkflowArguments) -> Result<Option<Value>> {
    let session = backend.session()?;
    let url = backend.url(&arguments.uri)?;
    let range = {
        let workspace = lock(&session.engine.workspace);
        let document = workspace
            .documents
            .get(&url)
            .ok_or_else(|| invalid_params(format!("the document {url} is not open")))?;
        offsets(document, arguments.range, session.encoding)?
    };
    let spec = match (&session.root, url.to_file_path()) {
        (Some(_), Ok(path)) => agent_context::gather(
            &*backend.spec.built_index().await,
            &path,
            range.clone(),
            DEFAULT_BUDGET_CHARS,
        ),
        _ => SpecContext::default(),
    };
    let run = session
        .engine
        .run_workflow(
            WorkflowRun {
                uri: url,
                range,
                workflow: arguments.workflow,
            },
            spec,
        )
        .map_err(engine_error)?;
    Ok(Some(json!({ "run": run })))
}

fn delegate_task(backend: &Backend, arguments: DelegateTaskArguments) -> Result<Option<Value>> {
    let session = backend.session()?;
    let url = backend.url(&arguments.uri)?;
    if arguments.instruction.trim().is_empty() {
        return Err(invalid_params("the instruction is empty"));
    }
    let range = {
        let workspace = lock(&session.engine.workspace);
        let document = workspace
            .documents
            .get(&url)
            .ok_or_else(|| invalid_params(format!("the document {url} is not open")))?;
        offsets(document, arguments.range, session.encoding)?
    };
    let run = session
        .engine
        .delegate_task(TaskDelegation {
            uri: url,
            range,
            agent: arguments.agent,
            instruction: arguments.instruction,
            files: arguments.files,
        })
        .map_err(engine_error)?;
    Ok(Some(json!({ "run": run })))
}

fn review(backend: &Backend, arguments: ReviewArguments) -> Result<Option<Value>> {
    let session = backend.session()?;
    let url = backend.url(&arguments.uri)?;
    let range = match arguments.range {
        Some(range) => {
            let workspace = lock(&session.engine.workspace);
            let document = workspace
                .documents
                .get(&url)
                .ok_or_else(|| invalid_params(format!("the document {url} is not open")))?;
            offsets(document, range, session.encoding)?
        }
        None => 0..0,
    };
    let run = session
        .engine
        .review(Review {
            uri: url,
            range,
            agent: arguments.agent,
        })
        .map_err(engine_error)?;
    Ok(Some(json!({ "run": run })))
}

/// Accepts hunks by asking the editor to apply one versioned edit: the editor's
/// undo works, and an editor whose buffer moved on refuses it.
async fn accept(backend: &Backend, hunks: Vec<HunkId>) -> Result<Option<Value>> {
    let session = backend.session()?;
    let plan: AcceptPlan = session.engine.begin_accept(&hunks).map_err(engine_error)?;
    let edit = workspace_edit(backend, &plan)?;
    let response = backend.client.apply_edit(edit).await;
    let (applied, reason) = match response {
        Ok(response) => (response.applied, response.failure_reason),
        Err(error) => (false, Some(error.message.to_string())),
    };
    session.engine.settle_accept(&plan, applied);
    if applied {
        Ok(Some(json!({ "applied": true, "hunks": plan.hunks })))
    } else {
        let reason = reason.unwrap_or_else(|| "the editor refused the edit".to_owned());
        Err(request_failed(format!(
            "the edit was not applied: {reason}"
        )))
    }
}

fn workspace_edit(backend: &Backend, plan: &AcceptPlan) -> Result<WorkspaceEdit> {
    let session = backend.session()?;
    let uri = crate::lsp::convert::uri_from_url(&plan.uri)?;
    if plan.file_operation == Some(FileOperation::Delete) {
        if !session.support.delete_files {
            return Err(request_failed(format!(
                "the agent deleted {}, but this editor cannot delete files through the \
                 language server (no `delete` in workspaceEdit.resourceOperations): delete \
                 it yourself, then reject the proposal",
                plan.uri
            )));
        }
        return Ok(WorkspaceEdit {
            document_changes: Some(DocumentChanges::Operations(vec![
                DocumentChangeOperation::Op(ResourceOp::Delete(DeleteFile {
                    uri,
                    options: None,
                    annotation_id: None,
                })),
            ])),
            ..WorkspaceEdit::default()
        });
    }
    let edits = plan
        .edits
        .iter()
        .map(|edit| {
            OneOf::Left(TextEdit {
                range: lsp_range(&plan.document, edit.range.clone(), session.encoding),
                new_text: edit.new_text.clone(),
            })
        })
        .collect();
    let text_edit = TextDocumentEdit {
        text_document: OptionalVersionedTextDocumentIdentifier {
            uri: uri.clone(),
            version: plan.version,
        },
        edits,
    };
    if plan.file_operation != Some(FileOperation::Create) {
        return Ok(WorkspaceEdit {
            document_changes: Some(DocumentChanges::Edits(vec![text_edit])),
            ..WorkspaceEdit::default()
        });
    }
    if !session.support.create_files {
        return Err(request_failed(format!(
            "the agent created {}, but this editor cannot create files through the language \
             server (no `create` in workspaceEdit.resourceOperations)",
            plan.uri
        )));
    }
    Ok(WorkspaceEdit {
        document_changes: Some(DocumentChanges::Operations(vec![
            DocumentChangeOperation::Op(ResourceOp::Create(CreateFile {
                uri,
                options: None,
                annotation_id: None,
            })),
            DocumentChangeOperation::Edit(text_edit),
        ])),
        ..WorkspaceEdit::default()
    })
}

fn parse<T: DeserializeOwned>(command: &str, arguments: Vec<Value>) -> Result<T> {
    let [argument]: [Value; 1] = arguments.try_into().map_err(|arguments: Vec<Value>| {
        invalid_params(format!(
            "{command} takes exactly one argument object, got {}",
            arguments.len()
        ))
    })?;
    serde_json::from_value(argument)
        .map_err(|error| invalid_params(format!("bad arguments for {command}: {error}")))
}

fn engine_error(error: EngineError) -> tower_lsp_server::jsonrpc::Error {
    match error {
        EngineError::Proposal(_) => request_failed(error.to_string()),
        _ => invalid_params(error.to_string()),
    }
}
