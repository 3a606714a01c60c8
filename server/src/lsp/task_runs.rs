//! *Start task*: runs started from a line of a tasks file, and the task box that
//! follows each run. Which mark a run calls for and whether the line may still be
//! touched is decided in [`crate::spec_assist::task_box`]; this adapter only reads
//! the text, asks the editor to apply the one-character edit (a versioned
//! `workspace/applyEdit` for an open buffer) or writes a closed file, and says so
//! when it refuses.

use super::backend::Backend;
use super::convert::{invalid_params, lsp_range, request_failed, uri_from_url};
use crate::document::Document;
use crate::ids::RunId;
use crate::run::engine::TaskDelegation;
use crate::spec::model::FileRole;
use crate::spec_assist::task_box::{StartedTask, TaskMark, mark_for_run, plan_box_edit};
use crate::spec_assist::task_prompt::{TASK_BUDGET_CHARS, assemble, task_on_line};
use crate::workspace::lock;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use url::Url;

/// How long a box edit the editor applied may take to come back as `didChange`.
const APPLIED_EDIT_ECHO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The runs started from tasks whose box Director still looks after.
#[derive(Default)]
pub struct TaskRuns {
    runs: Mutex<HashMap<RunId, TaskRun>>,
    /// One box update at a time, so two updates never race for the same buffer version.
    updating: tokio::sync::Mutex<()>,
}

#[derive(Debug, Clone)]
struct TaskRun {
    url: Url,
    task: StartedTask,
}

impl Backend {
    /// Starts the task on line `line` of the tasks file `url` with `agent` (the
    /// first configured agent when `None`), and marks its box `[-]`.
    pub async fn start_task(&self, url: Url, line: u32, agent: Option<String>) -> Result<RunId> {
        let session = self.session()?;
        let path = url
            .to_file_path()
            .map_err(|()| invalid_params(format!("{url} is not a file")))?;
        let (prompt, started) = {
            let index = self.spec.built_index().await;
            let spec = index
                .spec(&path)
                .filter(|spec| spec.document.role == FileRole::Tasks)
                .ok_or_else(|| invalid_params(format!("{url} is not a tasks file")))?;
            let task_index =
                task_on_line(&spec.document, &spec.text, line as usize).ok_or_else(|| {
                    invalid_params(format!(
                        "line {} is not a task line (see the SPEC013 diagnostics for lines that \
                         look like tasks)",
                        line + 1
                    ))
                })?;
            let task = &spec.document.tasks[task_index];
            let prompt = assemble(&index, &path, task_index, TASK_BUDGET_CHARS)
                .ok_or_else(|| request_failed("the task could not be read"))?;
            let started = StartedTask {
                label: prompt.label.clone(),
                line: spec.text.get(task.range.clone()).unwrap_or("").to_owned(),
                box_column: task.box_range.start - task.range.start,
                line_start: task.range.start,
            };
            (prompt, started)
        };
        let agent = match agent {
            Some(agent) => agent,
            None => session
                .engine
                .config()
                .agents
                .keys()
                .next()
                .cloned()
                .ok_or_else(|| {
                    invalid_params(
                        "no agent is configured (add one under [agents] in director.toml)",
                    )
                })?,
        };
        let run = session
            .engine
            .delegate_task(TaskDelegation {
                uri: url.clone(),
                range: prompt.anchor.clone(),
                agent,
                instruction: prompt.instruction,
                files: prompt.files,
            })
            .map_err(|error| invalid_params(error.to_string()))?;
        lock(&self.task_runs.runs).insert(run, TaskRun { url, task: started });
        self.update_task_box(run).await;
        Ok(run)
    }

    /// Brings the box of the task `run` was started from in line with the run's
    /// state; called when the run starts and on every state change.
    pub async fn update_task_box(&self, run: RunId) {
        let Ok(session) = self.session() else { return };
        let _one_at_a_time = self.task_runs.updating.lock().await;
        let (task_run, mark, tracked, document) = {
            let workspace = lock(&session.engine.workspace);
            let Some(record) = workspace.runs.get(&run) else {
                return;
            };
            let mut runs = lock(&self.task_runs.runs);
            // A refinement carries on the task of the run it refines.
            if let Some(previous) = record.refined_from {
                if let Some(task_run) = runs.remove(&previous) {
                    runs.insert(run, task_run);
                }
            }
            let Some(task_run) = runs.get(&run).cloned() else {
                return;
            };
            let hunks: Vec<_> = workspace
                .proposals
                .hunks_of_run(run)
                .into_iter()
                .map(|hunk| hunk.state)
                .collect();
            let Some(mark) = mark_for_run(record.state, &hunks) else {
                runs.remove(&run);
                return;
            };
            if mark.is_final() {
                runs.remove(&run);
            }
            let tracked = workspace
                .regions
                .get(&run)
                .filter(|region| region.uri == task_run.url)
                .map(|region| region.range.start);
            let document = workspace.documents.get(&task_run.url).cloned();
            (task_run, mark, tracked, document)
        };
        let outcome = match document {
            Some(document) => self.set_open_box(&task_run, &document, tracked, mark).await,
            None => self.set_closed_box(&task_run, mark),
        };
        if let Err(reason) = outcome {
            lock(&self.task_runs.runs).remove(&run);
            let message = format!(
                "Director left the box of task {} alone (run {run}): {reason}",
                task_run.task.label
            );
            tracing::warn!("{message}");
            self.client
                .show_message(MessageType::WARNING, message)
                .await;
        }
    }

    /// Asks the editor for the one-character edit, naming the buffer's version.
    async fn set_open_box(
        &self,
        task_run: &TaskRun,
        document: &Document,
        tracked: Option<usize>,
        mark: TaskMark,
    ) -> std::result::Result<(), String> {
        let Ok(session) = self.session() else {
            return Ok(());
        };
        let text = document.text.to_string();
        let Some(edit) = plan_box_edit(&task_run.task, &text, tracked, mark)
            .map_err(|refusal| refusal.to_string())?
        else {
            return Ok(());
        };
        let uri = uri_from_url(&task_run.url).map_err(|error| error.message.to_string())?;
        let change = TextDocumentEdit {
            text_document: OptionalVersionedTextDocumentIdentifier {
                uri,
                version: Some(document.version),
            },
            edits: vec![OneOf::Left(TextEdit {
                range: lsp_range(document, edit.range, session.encoding),
                new_text: edit.new_text,
            })],
        };
        let workspace_edit = WorkspaceEdit {
            document_changes: Some(DocumentChanges::Edits(vec![change])),
            ..WorkspaceEdit::default()
        };
        match self.client.apply_edit(workspace_edit).await {
            Ok(response) if response.applied => {
                self.wait_for_version_after(&task_run.url, document.version)
                    .await;
                Ok(())
            }
            Ok(response) => Err(format!(
                "the editor did not apply the edit ({})",
                response
                    .failure_reason
                    .unwrap_or_else(|| "no reason given".to_owned())
            )),
            Err(error) => Err(format!("the editor did not apply the edit ({error})")),
        }
    }

    /// Waits (briefly) for the editor's `didChange` of an applied edit: the
    /// answer to `workspace/applyEdit` can arrive before it, and the next box
    /// edit must name the version the buffer is really at.
    async fn wait_for_version_after(&self, url: &Url, version: i32) {
        let Ok(session) = self.session() else { return };
        let deadline = tokio::time::Instant::now() + APPLIED_EDIT_ECHO_TIMEOUT;
        while tokio::time::Instant::now() < deadline {
            let current = lock(&session.engine.workspace)
                .documents
                .get(url)
                .map(|document| document.version);
            if current.is_none_or(|current| current > version) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Writes the one character into a tasks file no editor buffer holds, when its
    /// line on disk is still the task line.
    fn set_closed_box(
        &self,
        task_run: &TaskRun,
        mark: TaskMark,
    ) -> std::result::Result<(), String> {
        let path = task_run
            .url
            .to_file_path()
            .map_err(|()| format!("{} is not a file", task_run.url))?;
        let mut text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let Some(edit) = plan_box_edit(&task_run.task, &text, None, mark)
            .map_err(|refusal| refusal.to_string())?
        else {
            return Ok(());
        };
        text.replace_range(edit.range, &edit.new_text);
        std::fs::write(&path, text)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        self.reindex_from_disk(Path::new(&path));
        Ok(())
    }
}
