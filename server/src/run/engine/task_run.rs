//! Task runs: an agent works on a whole task rather than a region and may edit
//! any file of the workspace. The run is anchored on a range (a tasks.md line
//! for Start task), tracked like a region while it is in flight or proposed.
//!
//! `command` agents run in a sandbox exactly like region runs (see
//! `sandboxed.rs`), with the task as their prompt; HTTP agents are shown the
//! task's files and answer with SEARCH/REPLACE blocks.

use super::{Engine, EngineError, open_document_with_range};
use crate::ids::RunId;
use crate::run::edit_blocks::workspace_relative_path;
use crate::run::prompt::{ShownFile, task_messages, task_refine_messages};
use crate::run::state::{RunRecord, RunState, now_ms};
use crate::workspace::{Workspace, lock};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

/// Work on a whole task rather than a region: the agent may edit any file of
/// the workspace.
#[derive(Debug, Clone)]
pub struct TaskDelegation {
    /// The file the run is anchored on (a tasks.md line for Start task).
    pub uri: Url,
    /// The anchor, in bytes of the open document; tracked like a region.
    pub range: Range<usize>,
    pub agent: String,
    /// The full task prompt, assembled by the caller.
    pub instruction: String,
    /// Workspace-relative files to show an HTTP agent in full.
    pub files: Vec<PathBuf>,
}

impl Engine {
    /// Starts a run on a task and returns its id at once.
    pub fn delegate_task(self: &Arc<Self>, task: TaskDelegation) -> Result<RunId, EngineError> {
        let config = self.config();
        let agent = self.agent_config(&config, &task.agent)?;
        let disk_texts = read_shown_files(self.root.as_deref(), &task.files);
        let mut workspace = lock(&self.workspace);
        let document = open_document_with_range(&workspace, &task.uri, &task.range)?;
        let shown = shown_files(&workspace, disk_texts);
        let messages = task_messages(&task.instruction, &shown);
        let id = workspace.allocate_run_id();
        workspace.task_runs.insert(id);
        let record = RunRecord {
            id,
            agent: task.agent.clone(),
            instruction: task.instruction,
            uri: task.uri,
            region: task.range.clone(),
            base_version: document.version,
            refined_from: None,
            state: RunState::Queued,
            reason: None,
            created_ms: now_ms(),
            finished_ms: None,
            usage: None,
            hunks: Vec::new(),
        };
        let base = document.slice(task.range);
        self.start(&mut workspace, record, base, messages, (task.agent, agent));
        Ok(id)
    }

    /// Starts a new task run continuing the conversation of task run `run` with
    /// the user's feedback and the problems of its answer (blocks that did not
    /// apply, syntax errors). Its proposals replace the open ones of `run`.
    pub(super) fn refine_task(
        self: &Arc<Self>,
        run: RunId,
        feedback: &str,
        agent_name: Option<&str>,
    ) -> Result<RunId, EngineError> {
        let config = self.config();
        let mut workspace = lock(&self.workspace);
        let previous = workspace
            .runs
            .get(&run)
            .cloned()
            .ok_or(EngineError::UnknownRun(run))?;
        let transcript = workspace
            .transcripts
            .get(&run)
            .cloned()
            .ok_or(EngineError::NothingToRefine(run))?;
        let agent_name = agent_name.unwrap_or(&previous.agent).to_owned();
        let agent = self.agent_config(&config, &agent_name)?;
        // The anchor need not be open any more: its tracked range, else where it was.
        let anchor = workspace
            .regions
            .get(&run)
            .map_or(previous.region.clone(), |region| region.range.clone());
        let document = workspace.documents.get(&previous.uri);
        let base_version = document.map_or(previous.base_version, |document| document.version);
        let base = document
            .filter(|document| anchor.end <= document.text.len_bytes())
            .map(|document| document.slice(anchor.clone()))
            .unwrap_or_default();
        let messages = task_refine_messages(&transcript, feedback, previous.reason.as_deref());
        let id = workspace.allocate_run_id();
        workspace.task_runs.insert(id);
        let record = RunRecord {
            id,
            agent: agent_name.clone(),
            instruction: feedback.to_owned(),
            uri: previous.uri,
            region: anchor,
            base_version,
            refined_from: Some(run),
            state: RunState::Queued,
            reason: None,
            created_ms: now_ms(),
            finished_ms: None,
            usage: None,
            hunks: Vec::new(),
        };
        self.start(&mut workspace, record, base, messages, (agent_name, agent));
        Ok(id)
    }
}

/// The listed files that stay inside the workspace, with their text on disk
/// (`None` when unreadable); read before the workspace is locked.
fn read_shown_files(root: Option<&Path>, files: &[PathBuf]) -> Vec<(PathBuf, Option<String>)> {
    let Some(root) = root else {
        return Vec::new();
    };
    files
        .iter()
        .filter_map(|file| {
            let relative = workspace_relative_path(root, &file.to_string_lossy()).ok()?;
            let text = std::fs::read_to_string(root.join(&relative)).ok();
            Some((root.join(relative), text))
        })
        .collect()
}

/// The files to show the agent: each one's open buffer, else its disk text;
/// files that are neither are left out.
fn shown_files(workspace: &Workspace, files: Vec<(PathBuf, Option<String>)>) -> Vec<ShownFile> {
    files
        .into_iter()
        .filter_map(|(path, disk)| {
            let open = Url::from_file_path(&path)
                .ok()
                .and_then(|uri| workspace.documents.get(&uri))
                .map(|document| document.text.to_string());
            let text = open.or(disk)?;
            let root = workspace.root.as_deref()?;
            let relative = path.strip_prefix(root).ok()?;
            Some(ShownFile {
                path: relative.display().to_string(),
                text,
            })
        })
        .collect()
}
