//! Task runs: an agent works on a whole task rather than a region and may edit
//! any file of the workspace. The run is anchored on a range (a tasks.md line
//! for Start task), tracked like a region while it is in flight or proposed.
//!
//! `command` agents run in a sandbox exactly like region runs (see
//! `sandboxed.rs`), with the task as their prompt; HTTP agents are shown the
//! task's files and answer with SEARCH/REPLACE blocks.

use super::proposing::syntax_warning;
use super::{Engine, EngineError, open_document_with_range};
use crate::agent::{ChatMessage, Completion};
use crate::document::Document;
use crate::ids::RunId;
use crate::run::boundary::relative_target;
use crate::run::edit_blocks::{EditedFile, apply_edit_blocks, parse_edit_blocks};
use crate::run::event::RunEvent;
use crate::run::prompt::{ShownFile, task_messages, task_refine_messages};
use crate::run::sandbox::FileChange;
use crate::run::state::{RunKind, RunRecord, RunState};
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
        let record = RunRecord::queued(
            id,
            RunKind::Task,
            task.agent.clone(),
            task.instruction,
            task.uri,
            task.range.clone(),
            document.version,
        );
        // The anchor's text; a range that splits a character has none.
        let base = document
            .text
            .get_byte_slice(task.range)
            .map(|slice| slice.to_string())
            .unwrap_or_default();
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
        let mut workspace = lock(&self.workspace);
        let (previous, transcript, (agent_name, agent)) =
            self.refinement_of(&workspace, run, agent_name)?;
        // The anchor need not be open any more: its tracked range, else where it was.
        let anchor = workspace
            .regions
            .get(&run)
            .map_or(previous.region.clone(), |region| region.range.clone());
        let document = workspace.documents.get(&previous.uri);
        let base_version = document.map_or(previous.base_version, |document| document.version);
        let base = document
            .and_then(|document| document.text.get_byte_slice(anchor.clone()))
            .map(|slice| slice.to_string())
            .unwrap_or_default();
        let messages = task_refine_messages(&transcript, feedback, previous.reason.as_deref());
        let id = workspace.allocate_run_id();
        let record = RunRecord {
            refined_from: Some(run),
            ..RunRecord::queued(
                id,
                RunKind::Task,
                agent_name.clone(),
                feedback.to_owned(),
                previous.uri,
                anchor,
                base_version,
            )
        };
        self.start(&mut workspace, record, base, messages, (agent_name, agent));
        Ok(id)
    }
}

impl Engine {
    /// Turns an HTTP agent's SEARCH/REPLACE answer into proposals in every file
    /// it edits. Blocks that do not apply and edits that add syntax errors are
    /// told in the run's reason (and sent back by Refine); the run fails only
    /// when nothing applies.
    pub(super) fn propose_task_answer(
        &self,
        id: RunId,
        messages: Vec<ChatMessage>,
        completion: Completion,
    ) {
        let Some(root) = self.root.clone() else {
            let mut workspace = lock(&self.workspace);
            self.record_output(&mut workspace, id, messages, &completion);
            return self.set_state(
                &mut workspace,
                id,
                RunState::Failed,
                Some("a task run needs a workspace folder for its edits".into()),
            );
        };
        let parsed = parse_edit_blocks(&completion.text);
        // Matched outside the workspace lock: a file the user edits meanwhile
        // gets conflicted hunks rather than edits at the wrong place.
        let applied = apply_edit_blocks(&root, &parsed, |relative| {
            self.current_text(&root.join(relative))
        });
        let mut problems = applied.failures;
        problems.extend(applied.files.iter().filter_map(|file| {
            let warning = file_syntax_warning(&root, file)?;
            Some(format!("{}: {warning}", file.path.display()))
        }));
        let mut workspace = lock(&self.workspace);
        self.record_output(&mut workspace, id, messages, &completion);
        if parsed.blocks.is_empty() && problems.is_empty() {
            return self.set_state(
                &mut workspace,
                id,
                RunState::Failed,
                Some("the answer holds no SEARCH/REPLACE block".into()),
            );
        }
        let mut hunk_ids = Vec::new();
        let mut uris = Vec::new();
        for file in applied.files {
            let change = FileChange {
                path: file.path,
                before: file.before,
                after: Some(file.after),
            };
            match self.propose_file(&mut workspace, id, &root, change) {
                Ok(Some((uri, ids))) => {
                    hunk_ids.extend(ids);
                    uris.push(uri);
                }
                Ok(None) => {}
                Err(refusal) => problems.push(refusal),
            }
        }
        let reason = (!problems.is_empty()).then(|| problems.join("\n"));
        if hunk_ids.is_empty() {
            let (state, reason) = match reason {
                Some(reason) => (RunState::Failed, reason),
                None => (RunState::Settled, "the agent proposed no change".to_owned()),
            };
            return self.set_state(&mut workspace, id, state, Some(reason));
        }
        let superseded = self.record_proposals(&mut workspace, id, hunk_ids);
        self.set_state(&mut workspace, id, RunState::Proposed, reason);
        for uri in uris.into_iter().chain(superseded) {
            let _ = self.events.send(RunEvent::ProposalsChanged { uri });
        }
    }

    /// A file's text as the user sees it: the open buffer, else the disk.
    fn current_text(&self, path: &Path) -> Option<String> {
        let open = Url::from_file_path(path).ok().and_then(|uri| {
            lock(&self.workspace)
                .documents
                .get(&uri)
                .map(|document| document.text.to_string())
        });
        open.or_else(|| std::fs::read_to_string(path).ok())
    }
}

/// Why an edited file no longer parses, when its edit adds syntax errors.
fn file_syntax_warning(root: &Path, file: &EditedFile) -> Option<String> {
    let uri = Url::from_file_path(root.join(&file.path)).ok()?;
    let before = file.before.clone().unwrap_or_default();
    let document = Document::new(uri, 0, String::new(), &before);
    syntax_warning(&document, &(0..before.len()), &file.after)
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
            let relative = relative_target(root, file).ok()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn edited(path: &str, before: Option<&str>, after: &str) -> EditedFile {
        EditedFile {
            path: path.into(),
            before: before.map(str::to_owned),
            after: after.to_owned(),
        }
    }

    #[test]
    fn an_edit_that_adds_syntax_errors_is_warned_about_by_file() {
        let root = tempfile::tempdir().unwrap();
        let broken = edited("src/lib.rs", Some("fn a() {}\n"), "fn a() {\n");
        let warning = file_syntax_warning(root.path(), &broken).unwrap();
        assert!(warning.contains("does not parse as"), "{warning}");
        let fine = edited("src/lib.rs", Some("fn a() {}\n"), "fn b() {}\n");
        assert_eq!(file_syntax_warning(root.path(), &fine), None);
        let created = edited("src/new.rs", None, "fn c() {}\n");
        assert_eq!(file_syntax_warning(root.path(), &created), None);
    }

    #[test]
    fn shown_files_prefer_the_open_buffer_and_skip_missing_ones() {
        let root = tempfile::tempdir().unwrap();
        let mut workspace = Workspace::new(Some(root.path().to_owned()));
        let open_path = root.path().join("open.rs");
        let uri = Url::from_file_path(&open_path).unwrap();
        workspace.open_document(Document::new(uri, 1, "rust".into(), "unsaved\n"));
        let shown = shown_files(
            &workspace,
            vec![
                (open_path, Some("on disk\n".into())),
                (root.path().join("disk.rs"), Some("disk\n".into())),
                (root.path().join("missing.rs"), None),
            ],
        );
        assert_eq!(
            shown,
            vec![
                ShownFile {
                    path: "open.rs".into(),
                    text: "unsaved\n".into()
                },
                ShownFile {
                    path: "disk.rs".into(),
                    text: "disk\n".into()
                },
            ]
        );
    }
}
