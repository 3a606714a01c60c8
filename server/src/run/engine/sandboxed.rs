//! Runs of agents that edit files in a sandbox copy of the workspace: the
//! sandbox is seeded with the open buffers, and its changes become proposals
//! file by file, once they pass validation (see [`super::validating`]) or
//! the agent's validation retries are spent.

use super::{Engine, display_path};
use crate::agent::acp::{AcpLaunch, PermissionQuestion, run_acp};
use crate::agent::command::{CommandError, CommandLaunch, run_command};
use crate::agent::{AgentEvent, ChatMessage, Role, TokenUsage};
use crate::config::agent_config::CommandSettings;
use crate::config::{AgentConfig, AgentKind};
use crate::ids::{HunkId, RunId};
use crate::proposal::diff_hunks;
use crate::run::boundary::relative_target;
use crate::run::check::CheckCancelled;
use crate::run::confine::{Confinement, confinement_for};
use crate::run::event::RunEvent;
use crate::run::journal::{JournalEntry, Transcript};
use crate::run::prompt::command_validation_prompt;
use crate::run::sandbox::{FileChange, Sandbox, SandboxOutcome};
use crate::run::state::{RunKind, RunState};
use crate::workspace::{FileOperation, Workspace, lock};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use url::Url;

impl Engine {
    /// The life of a `command` or `acp` run once it may start: a sandbox seeded
    /// with the open buffers, the agent run in it, and its changes proposed
    /// file by file.
    pub(super) async fn drive_command(
        self: &Arc<Self>,
        id: RunId,
        name: &str,
        agent: &AgentConfig,
        token: &CancellationToken,
    ) {
        let Some(settings) = agent.command.clone() else {
            return self.finish(
                id,
                RunState::Failed,
                Some(format!("agent `{name}` has no command")),
            );
        };
        let Some((root, file, prompt, unsaved)) = self.command_inputs(id) else {
            return self.finish(
                id,
                RunState::Failed,
                Some("a sandboxed agent needs a workspace folder to copy into its sandbox".into()),
            );
        };
        let sandbox_root = root.clone();
        let created =
            tokio::task::spawn_blocking(move || Sandbox::create(&sandbox_root, &unsaved)).await;
        let sandbox = match created {
            Ok(Ok(sandbox)) => sandbox,
            Ok(Err(error)) => {
                return self.finish(
                    id,
                    RunState::Failed,
                    Some(format!("cannot create the sandbox: {error}")),
                );
            }
            Err(error) => {
                return self.finish(
                    id,
                    RunState::Failed,
                    Some(format!("cannot create the sandbox: {error}")),
                );
            }
        };
        let confinement = match self.confinement(&sandbox, Some(&settings)) {
            Ok(confinement) => confinement,
            Err(reason) => {
                let _ = tokio::task::spawn_blocking(move || drop(sandbox)).await;
                return self.finish(id, RunState::Failed, Some(reason));
            }
        };
        if confinement == Confinement::Unconfined {
            self.report_step(
                id,
                "running unconfined, as your user config allows: bubblewrap cannot confine it here"
                    .to_owned(),
            );
        }
        let events = self.events.clone();
        // The tokens of every turn the agent reported, retries included.
        let usage = std::sync::Mutex::new(None::<TokenUsage>);
        let sink = |event: AgentEvent| {
            let event = match event {
                AgentEvent::Delta(text) => RunEvent::Delta { run: id, text },
                AgentEvent::Activity(line) => RunEvent::Activity { run: id, line },
                AgentEvent::Usage(turn) => {
                    let mut usage = lock(&usage);
                    *usage = Some(usage.map_or(turn, |sum| sum.plus(turn)));
                    return;
                }
                AgentEvent::Retrying { .. } => return,
            };
            let _ = events.send(event);
        };
        let group_file = sandbox.agent_group_file();
        let questions = self.events.clone();
        let ask_user = move |question: PermissionQuestion| {
            // Without a front end to ask, the question is dropped: no answer.
            let _ = questions.send(RunEvent::Permission { run: id, question });
        };
        // The agent runs again in the same sandbox while its work fails
        // validation, told what fails, within the agent's validation retries;
        // for an ACP agent that is a new session and turn.
        let mut messages = Vec::new();
        let mut current_prompt = prompt.clone();
        let mut attempt = 0;
        let (result, warning) = loop {
            messages.push(ChatMessage {
                role: Role::User,
                content: current_prompt.clone(),
            });
            let ran = if agent.kind == AgentKind::Acp {
                let launch = AcpLaunch {
                    agent: name,
                    settings: &settings,
                    timeout: agent.timeout,
                    prompt: &current_prompt,
                    working_dir: sandbox.workspace_dir(),
                    group_file: Some(&group_file),
                    confinement: &confinement,
                };
                run_acp(&launch, &sink, &ask_user, token).await
            } else {
                let launch = CommandLaunch {
                    agent: name,
                    settings: &settings,
                    timeout: agent.timeout,
                    prompt: &current_prompt,
                    file: &file,
                    working_dir: sandbox.workspace_dir(),
                    group_file: Some(&group_file),
                    confinement: &confinement,
                };
                run_command(&launch, &sink, token).await
            };
            let output = match ran {
                Ok(output) => output,
                Err(error) => break (Err(error), None),
            };
            let problem = match self.sandbox_problem(id, &sandbox, agent, token).await {
                Ok(problem) => problem,
                Err(CheckCancelled) => break (Err(CommandError::Cancelled), None),
            };
            let Some(problem) = problem else {
                break (Ok(output), None);
            };
            if !problem.retryable || attempt >= agent.validation_retries {
                break (Ok(output), Some(problem.message));
            }
            attempt += 1;
            self.report_validation_retry(id, attempt, agent.validation_retries, &problem);
            messages.push(ChatMessage {
                role: Role::Assistant,
                content: output,
            });
            current_prompt = command_validation_prompt(&prompt, &problem.message);
        };
        let usage = lock(&usage).map(|usage| usage.priced(agent.price.as_ref()));
        if let Some(record) = lock(&self.workspace).runs.get_mut(&id) {
            record.usage = usage;
        }
        let changes = result.as_ref().ok().map(|_| {
            sandbox.changes().map(|mut changes| {
                // What the CLI writes for itself is not the user's to accept.
                changes.retain(|change| !settings.is_own_file(&change.path));
                changes
            })
        });
        let keep = settings.keep_sandbox;
        let kept = tokio::task::spawn_blocking(move || {
            if keep {
                Some(sandbox.keep())
            } else {
                drop(sandbox);
                None
            }
        })
        .await
        .ok()
        .flatten();
        if let Some(path) = kept {
            tracing::info!("run {id}: the sandbox is kept at {}", path.display());
        }
        let output = match result {
            Ok(output) => output,
            Err(CommandError::Cancelled) => {
                return self.finish(
                    id,
                    RunState::Cancelled,
                    Some("cancelled by the user".into()),
                );
            }
            Err(CommandError::Failed(reason)) => {
                return self.finish(id, RunState::Failed, Some(reason));
            }
        };
        let outcome = match changes {
            Some(Ok(files)) => SandboxOutcome { files },
            Some(Err(error)) => {
                return self.finish(
                    id,
                    RunState::Failed,
                    Some(format!("cannot read the sandbox's changes: {error}")),
                );
            }
            None => SandboxOutcome::default(),
        };
        self.propose_files(id, &root, messages, output, outcome, warning);
    }
    /// How the programs of a run in `sandbox` are confined: writable in the
    /// sandbox and in the folders the agent's CLI keeps for itself
    /// (`settings`; `None` for an HTTP agent's check), or why they may not
    /// run at all.
    pub(super) fn confinement(
        &self,
        sandbox: &Sandbox,
        settings: Option<&CommandSettings>,
    ) -> Result<Confinement, String> {
        let (mut writable, read_only) = sandbox.jail_paths();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        if let Some(settings) = settings {
            writable.extend(settings.writable_paths(home.as_deref()));
        }
        let network = settings.is_none_or(|settings| settings.network);
        confinement_for(
            writable,
            read_only,
            network,
            self.config().allow_unconfined_agents,
        )
    }

    /// What a command run needs from the workspace: its root, the delegated
    /// file's relative path, the prompt, and the open buffers to seed.
    #[allow(clippy::type_complexity)]
    pub(super) fn command_inputs(
        &self,
        id: RunId,
    ) -> Option<(PathBuf, String, String, Vec<(PathBuf, String)>)> {
        let workspace = lock(&self.workspace);
        let root = workspace.root.clone()?;
        let record = workspace.runs.get(&id)?;
        let file = display_path(Some(&root), &record.uri);
        let region = workspace
            .regions
            .get(&id)
            .map_or(record.region.clone(), |region| region.range.clone());
        let lines = workspace.documents.get(&record.uri).map(|document| {
            let len = document.text.len_bytes();
            (
                document.text.byte_to_line(region.start.min(len)) + 1,
                // The region ends after its last line's newline.
                document.text.byte_to_line(
                    region
                        .end
                        .min(len)
                        .saturating_sub(1)
                        .max(region.start.min(len)),
                ) + 1,
            )
        });
        // A task run works on the whole workspace, not on a place in one file.
        let place = match lines {
            _ if record.kind == RunKind::Task => String::new(),
            Some((first, last)) => format!("Work in {file}, lines {first} to {last}. "),
            None => format!("Work in {file}. "),
        };
        // A refined run carries on from the prompt of the run it refines.
        let earlier = record
            .refined_from
            .and_then(|previous| workspace.transcripts.get(&previous))
            .and_then(|transcript| transcript.messages.last())
            .map(|message| {
                format!(
                    "{}\n\nYour earlier attempt needs more work: ",
                    message.content
                )
            })
            .unwrap_or_default();
        let prompt = format!(
            "{earlier}{}\n\n{place}Edit the files in the current folder directly; \
             do not ask for confirmation.",
            record.instruction
        );
        let unsaved = workspace
            .documents
            .all()
            .filter_map(|document| {
                let path = document.uri.to_file_path().ok()?;
                let relative = path.strip_prefix(&root).ok()?.to_owned();
                Some((relative, document.text.to_string()))
            })
            .collect();
        Some((root, file, prompt, unsaved))
    }
    /// Turns a sandbox's changes into hunks, file by file, on each file's text
    /// as it is now: the open buffer, else the disk; `warning` says why they
    /// failed validation, if they did.
    pub(super) fn propose_files(
        &self,
        id: RunId,
        root: &Path,
        messages: Vec<ChatMessage>,
        output: String,
        outcome: SandboxOutcome,
        warning: Option<String>,
    ) {
        let mut workspace = lock(&self.workspace);
        let transcript = Transcript {
            messages,
            answer: output,
            steps: Vec::new(),
        };
        self.journal.append(&JournalEntry::Output {
            run: id,
            transcript: transcript.clone(),
        });
        workspace.transcripts.insert(id, transcript);
        let mut hunk_ids = Vec::new();
        let mut uris = Vec::new();
        let mut refusals = Vec::new();
        for change in outcome.files {
            match self.propose_file(&mut workspace, id, root, change) {
                Ok(Some((uri, ids))) => {
                    hunk_ids.extend(ids);
                    uris.push(uri);
                }
                Ok(None) => {}
                Err(refusal) => refusals.push(refusal),
            }
        }
        let refused = (!refusals.is_empty())
            .then(|| format!("changes that were not proposed: {}", refusals.join("; ")));
        if hunk_ids.is_empty() {
            let reason = refused.unwrap_or_else(|| "the agent proposed no change".into());
            return self.set_state(&mut workspace, id, RunState::Settled, Some(reason));
        }
        let warning = match (warning, refused) {
            (Some(warning), Some(refused)) => Some(format!("{warning}\n{refused}")),
            (warning, refused) => warning.or(refused),
        };
        let superseded = self.record_proposals(&mut workspace, id, hunk_ids);
        self.set_state(&mut workspace, id, RunState::Proposed, warning);
        for uri in uris.into_iter().chain(superseded) {
            let _ = self.events.send(RunEvent::ProposalsChanged { uri });
        }
    }
    /// The hunks of one changed file, `None` when it has none. The agent's
    /// edit is diffed from the seed it saw, so a hunk whose text the user
    /// changed meanwhile is conflicted rather than silently reverting the
    /// user's edit. A file outside the workspace's boundary (see
    /// [`crate::run::boundary`]) is refused with the reason.
    pub(super) fn propose_file(
        &self,
        workspace: &mut Workspace,
        id: RunId,
        root: &Path,
        change: FileChange,
    ) -> Result<Option<(Url, Vec<HunkId>)>, String> {
        relative_target(root, &change.path)?;
        Ok(self.propose_hunks(workspace, id, root, change))
    }

    fn propose_hunks(
        &self,
        workspace: &mut Workspace,
        id: RunId,
        root: &Path,
        change: FileChange,
    ) -> Option<(Url, Vec<HunkId>)> {
        let uri = Url::from_file_path(root.join(&change.path)).ok()?;
        let operation = match (&change.before, &change.after) {
            (None, _) => Some(FileOperation::Create),
            (_, None) => Some(FileOperation::Delete),
            _ => None,
        };
        let before = change.before.unwrap_or_default();
        let after = change.after.unwrap_or_default();
        let diffs = diff_hunks(&before, &after);
        if diffs.is_empty() {
            return None;
        }
        if workspace.documents.get(&uri).is_none() {
            let disk = std::fs::read_to_string(root.join(&change.path)).unwrap_or_default();
            let language = change
                .path
                .extension()
                .and_then(|extension| extension.to_str())
                .unwrap_or_default()
                .to_owned();
            workspace.unopened.insert(
                uri.clone(),
                crate::document::Document::new(uri.clone(), 0, language, &disk),
            );
        }
        let text = workspace.proposal_document(&uri)?.text.clone();
        let ids = workspace.proposals.add(id, &uri, 0, diffs, &text);
        if let Some(operation) = operation {
            for &hunk in &ids {
                workspace.file_operations.insert(hunk, operation);
            }
        }
        Some((uri, ids))
    }
}
