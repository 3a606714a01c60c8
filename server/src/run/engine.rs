//! The run engine: turns a delegation into a tracked run, streams the agent's
//! answer, and turns it into proposals; records every step in the journal.
//!
//! Requests never wait on an agent: `delegate` registers the run and returns its
//! id at once; the work happens on a spawned task bounded by the agent's
//! `max_concurrent` and cancelled through a token.

use super::event::RunEvent;
use super::journal::{Decision, Journal, JournalEntry, Transcript, base_sha256};
use super::output::{extract_replacement, fit_to_region};
use super::prompt::{
    RegionContext, SpecContext, refine_messages, region_messages, review_messages,
    validation_messages,
};
use super::review::{FindingId, lines_range, parse_findings};
use super::sandbox::{FileChange, Sandbox, SandboxOutcome};
use super::state::{RunRecord, RunState, now_ms};
use crate::agent::command::{CommandError, CommandLaunch, run_command};
use crate::agent::{
    AgentError, AgentEvent, ChatMessage, ChatRequest, Completion, Role, backend_for,
};
use crate::config::trust::untrusted_reason;
use crate::config::{AgentConfig, AgentKind, Config};
use crate::ids::{HunkId, RunId};
use crate::proposal::{AcceptEdit, HunkState, diff_hunks};
use crate::syntax::{Language, validate_replacement};
use crate::workspace::{FileOperation, TrackedRegion, Workspace, lock};
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use url::Url;

/// Why a run could not be started or a decision could not be made. These are
/// answered to the editor as errors on the request that asked.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the document {0} is not open")]
    UnknownDocument(Url),
    #[error("the range {start}..{end} is outside the document ({len} bytes)")]
    RangeOutOfDocument {
        start: usize,
        end: usize,
        len: usize,
    },
    #[error("no agent named '{name}' is configured{}", known_agents(.known))]
    UnknownAgent { name: String, known: Vec<String> },
    #[error("there is no run {0}")]
    UnknownRun(RunId),
    #[error("there is no proposal {0}")]
    UnknownHunk(HunkId),
    #[error("run {0} has no transcript to refine")]
    NothingToRefine(RunId),
    #[error("no proposal was named")]
    NothingToAccept,
    #[error("{0}")]
    Proposal(#[from] crate::proposal::ProposalError),
    /// A workspace-defined agent in a workspace the user has not trusted.
    #[error("{0}")]
    Untrusted(String),
    #[error("agent `{0}` is a command agent: it edits files in a sandbox and cannot review yet")]
    CommandAgentCannotReview(String),
    #[error("there is no finding {0}")]
    UnknownFinding(FindingId),
    #[error("finding {0} has no fix")]
    FindingHasNoFix(FindingId),
}

/// How many times an answer that adds syntax errors is sent back to the agent
/// before it is proposed with a warning.
const VALIDATION_RETRIES: u32 = 2;

fn known_agents(known: &[String]) -> String {
    if known.is_empty() {
        "; no agent is configured (add one under [agents] in director.toml)".to_owned()
    } else {
        format!("; configured agents: {}", known.join(", "))
    }
}

/// A request to rewrite a region of an open document.
#[derive(Debug, Clone)]
pub struct Delegation {
    pub uri: Url,
    /// The selection, in bytes; widened to the enclosing item when empty or partial.
    pub range: Range<usize>,
    pub agent: String,
    pub instruction: String,
}

/// A request to review a region (the whole document when the range is empty).
#[derive(Debug, Clone)]
pub struct Review {
    pub uri: Url,
    pub range: Range<usize>,
    pub agent: String,
}

/// Edits that accept hunks, to be applied by the editor as one versioned edit.
#[derive(Debug, Clone)]
pub struct AcceptPlan {
    pub uri: Url,
    /// `None` when the editor has not opened the file: the edit then names no version.
    pub version: Option<i32>,
    /// Set when accepting creates or deletes the whole file.
    pub file_operation: Option<FileOperation>,
    /// The document the edits are computed against (at `version`).
    pub document: crate::document::Document,
    pub hunks: Vec<HunkId>,
    pub edits: Vec<AcceptEdit>,
}

pub struct Engine {
    pub workspace: Mutex<Workspace>,
    journal: Journal,
    config: RwLock<Arc<Config>>,
    events: mpsc::UnboundedSender<RunEvent>,
    limits: Mutex<HashMap<String, (usize, Arc<Semaphore>)>>,
    cancels: Mutex<HashMap<RunId, CancellationToken>>,
    /// The editor said the workspace is trusted (initializationOptions `trusted`).
    trusted_by_editor: AtomicBool,
    /// The workspace root, fixed at start, for trust checks that must not lock
    /// the workspace.
    root: Option<PathBuf>,
}

impl Engine {
    pub fn new(
        workspace: Workspace,
        journal: Journal,
        config: Config,
        events: mpsc::UnboundedSender<RunEvent>,
    ) -> Arc<Engine> {
        Arc::new(Engine {
            root: workspace.root.clone(),
            workspace: Mutex::new(workspace),
            journal,
            config: RwLock::new(Arc::new(config)),
            events,
            limits: Mutex::new(HashMap::new()),
            cancels: Mutex::new(HashMap::new()),
            trusted_by_editor: AtomicBool::new(false),
        })
    }

    pub fn config(&self) -> Arc<Config> {
        match self.config.read() {
            Ok(config) => config.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the configuration for runs started from now on.
    pub fn set_config(&self, config: Config) {
        match self.config.write() {
            Ok(mut current) => *current = Arc::new(config),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(config),
        }
    }

    /// Records the editor's trust in the workspace, which lets the workspace's
    /// own command agents run.
    pub fn set_trusted_by_editor(&self, trusted: bool) {
        self.trusted_by_editor.store(trusted, Ordering::Relaxed);
    }

    /// Why the agent `name` may not run here, with how to trust the workspace;
    /// `None` when it may (or is not configured).
    pub fn untrusted_reason(&self, name: &str) -> Option<String> {
        let config = self.config();
        let agent = config.agents.get(name)?;
        untrusted_reason(
            &config,
            name,
            agent,
            self.root.as_deref(),
            self.trusted_by_editor.load(Ordering::Relaxed),
        )
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Starts a run on a region and returns its id at once.
    pub fn delegate(self: &Arc<Self>, delegation: Delegation) -> Result<RunId, EngineError> {
        self.delegate_with_spec(delegation, SpecContext::default())
    }

    /// As [`Engine::delegate`], telling the agent what the project's specs say about
    /// the region (gathered by the caller, who owns the spec index).
    pub fn delegate_with_spec(
        self: &Arc<Self>,
        delegation: Delegation,
        spec: SpecContext,
    ) -> Result<RunId, EngineError> {
        let config = self.config();
        let agent = self.agent_config(&config, &delegation.agent)?;
        let mut workspace = lock(&self.workspace);
        let document = open_document_with_range(&workspace, &delegation.uri, &delegation.range)?;
        let tree = workspace.trees.get(&delegation.uri);
        let region = match tree {
            Some(tree) => tree.widen_selection(&document.text, delegation.range.clone()),
            None => crate::document::whole_lines(&document.text, delegation.range.clone()),
        };
        let signature = tree
            .and_then(|tree| tree.enclosing_item(&document.text, region.clone()))
            .map(|item| item.signature);
        let language = tree.map(|tree| tree.language().name().to_owned());
        let context = RegionContext {
            path: display_path(workspace.root.as_deref(), &delegation.uri),
            language,
            enclosing_signature: signature,
            before: context_before(&document.text, region.start, agent.context_lines as usize),
            region: document.slice(region.clone()),
            after: context_after(&document.text, region.end, agent.context_lines as usize),
            spec,
        };
        let messages = region_messages(&delegation.instruction, &context);
        let id = workspace.allocate_run_id();
        let record = RunRecord {
            id,
            agent: delegation.agent.clone(),
            instruction: delegation.instruction.clone(),
            uri: delegation.uri.clone(),
            region: region.clone(),
            base_version: document.version,
            refined_from: None,
            state: RunState::Queued,
            reason: None,
            created_ms: now_ms(),
            finished_ms: None,
            usage: None,
            hunks: Vec::new(),
        };
        let name = delegation.agent.clone();
        self.start(
            &mut workspace,
            record,
            context.region,
            messages,
            (name, agent),
        );
        Ok(id)
    }

    /// Starts a new run on the region of `run`, continuing its conversation with
    /// the user's feedback. Its proposals replace the open ones of `run`.
    pub fn refine(
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
        let document = workspace
            .documents
            .get(&previous.uri)
            .cloned()
            .ok_or_else(|| EngineError::UnknownDocument(previous.uri.clone()))?;
        let region = current_region_of(&workspace, &previous)
            .ok_or_else(|| EngineError::UnknownDocument(previous.uri.clone()))?;
        let messages = refine_messages(&transcript, feedback);
        let id = workspace.allocate_run_id();
        let record = RunRecord {
            id,
            agent: agent_name,
            instruction: feedback.to_owned(),
            uri: previous.uri.clone(),
            region: region.clone(),
            base_version: document.version,
            refined_from: Some(run),
            state: RunState::Queued,
            reason: None,
            created_ms: now_ms(),
            finished_ms: None,
            usage: None,
            hunks: Vec::new(),
        };
        let base = document.slice(region);
        let name = record.agent.clone();
        self.start(&mut workspace, record, base, messages, (name, agent));
        Ok(id)
    }

    /// Cancels a run that is queued or running; other runs are left as they are.
    pub fn cancel(&self, run: RunId) -> Result<bool, EngineError> {
        if !lock(&self.workspace).runs.contains_key(&run) {
            return Err(EngineError::UnknownRun(run));
        }
        match lock(&self.cancels).get(&run) {
            Some(token) => {
                token.cancel();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Rejects hunks: they disappear and the decision is recorded.
    pub fn reject(&self, hunks: &[HunkId]) -> Result<(), EngineError> {
        let mut workspace = lock(&self.workspace);
        for &id in hunks {
            let hunk = workspace
                .proposals
                .get(id)
                .ok_or(EngineError::UnknownHunk(id))?;
            let uri = hunk.uri.clone();
            workspace.proposals.reject(id)?;
            self.record_decisions(&mut workspace, &[id]);
            let _ = self.events.send(RunEvent::ProposalsChanged { uri });
        }
        Ok(())
    }

    /// The hunks of a run that are still waiting for a decision.
    pub fn open_hunks_of_run(&self, run: RunId) -> Result<Vec<HunkId>, EngineError> {
        let workspace = lock(&self.workspace);
        if !workspace.runs.contains_key(&run) {
            return Err(EngineError::UnknownRun(run));
        }
        Ok(workspace
            .proposals
            .hunks_of_run(run)
            .into_iter()
            .filter(|hunk| {
                matches!(
                    hunk.state,
                    HunkState::Open | HunkState::Conflicted | HunkState::Stale
                )
            })
            .map(|hunk| hunk.id)
            .collect())
    }

    /// `hunks` grouped by the document they are in, in order of first
    /// appearance, for runs that proposed edits in several files; unknown hunks
    /// are left out.
    pub fn hunks_by_document(&self, hunks: &[HunkId]) -> Vec<Vec<HunkId>> {
        let workspace = lock(&self.workspace);
        let mut groups: Vec<(Url, Vec<HunkId>)> = Vec::new();
        for &id in hunks {
            let Some(hunk) = workspace.proposals.get(id) else {
                continue;
            };
            match groups.iter_mut().find(|(uri, _)| *uri == hunk.uri) {
                Some((_, group)) => group.push(id),
                None => groups.push((hunk.uri.clone(), vec![id])),
            }
        }
        groups.into_iter().map(|(_, group)| group).collect()
    }

    /// Prepares the edit that accepts `hunks` (all in one document). Hunks whose
    /// base text is no longer intact are refused: nothing is ever applied to text
    /// other than the text it was computed from.
    pub fn begin_accept(&self, hunks: &[HunkId]) -> Result<AcceptPlan, EngineError> {
        let mut workspace = lock(&self.workspace);
        let first = *hunks.first().ok_or(EngineError::NothingToAccept)?;
        let uri = workspace
            .proposals
            .get(first)
            .ok_or(EngineError::UnknownHunk(first))?
            .uri
            .clone();
        let version = workspace
            .documents
            .get(&uri)
            .map(|document| document.version);
        let document = workspace
            .proposal_document(&uri)
            .cloned()
            .ok_or_else(|| EngineError::UnknownDocument(uri.clone()))?;
        let file_operation = hunks
            .iter()
            .find_map(|hunk| workspace.file_operations.get(hunk).copied());
        let mut edits = Vec::new();
        let mut accepted = Vec::new();
        let mut refusal = None;
        for &id in hunks {
            match workspace.proposals.get(id) {
                Some(hunk) if hunk.uri == uri => {}
                _ => return Err(EngineError::UnknownHunk(id)),
            }
            match workspace.proposals.begin_accept(id, &document.text) {
                Ok(edit) => {
                    edits.push(edit);
                    accepted.push(id);
                }
                Err(error) => refusal = Some(error),
            }
        }
        if edits.is_empty() {
            let _ = self
                .events
                .send(RunEvent::ProposalsChanged { uri: uri.clone() });
            return Err(match refusal {
                Some(error) => EngineError::Proposal(error),
                None => EngineError::UnknownHunk(first),
            });
        }
        Ok(AcceptPlan {
            uri,
            version,
            file_operation,
            document,
            hunks: accepted,
            edits,
        })
    }

    /// Records the editor's answer to an accept edit.
    pub fn settle_accept(&self, plan: &AcceptPlan, applied: bool) {
        let mut workspace = lock(&self.workspace);
        if plan.version.is_none() && applied {
            // No didChange will come for a file the editor has not opened: the
            // snapshot moves on by the edit itself.
            let mut text = plan.document.text.clone();
            let mut edits = plan.edits.clone();
            edits.sort_by_key(|edit| std::cmp::Reverse(edit.range.start));
            for edit in edits {
                let start = text.byte_to_char(edit.range.start.min(text.len_bytes()));
                let end = text.byte_to_char(edit.range.end.min(text.len_bytes()));
                text.remove(start..end);
                text.insert(start, &edit.new_text);
            }
            let after = crate::document::Document::new(
                plan.uri.clone(),
                plan.document.version,
                plan.document.language_id.clone(),
                &text.to_string(),
            );
            workspace.unopened.insert(plan.uri.clone(), after);
        }
        if let Some(document) = workspace.proposal_document(&plan.uri).cloned() {
            for &id in &plan.hunks {
                if let Err(error) = workspace
                    .proposals
                    .settle_accept(id, applied, &document.text)
                {
                    tracing::warn!("settling the accept of hunk {id}: {error}");
                }
            }
        }
        self.record_decisions(&mut workspace, &plan.hunks);
        let _ = self.events.send(RunEvent::ProposalsChanged {
            uri: plan.uri.clone(),
        });
    }

    /// Called after a document change moved or settled hunks.
    pub fn hunks_changed(&self, uri: &Url, hunks: &[HunkId]) {
        let mut workspace = lock(&self.workspace);
        let findings_moved = workspace.findings_moved.remove(uri);
        if hunks.is_empty() {
            if findings_moved {
                let _ = self
                    .events
                    .send(RunEvent::ProposalsChanged { uri: uri.clone() });
            }
            return;
        }
        self.record_decisions(&mut workspace, hunks);
        let _ = self
            .events
            .send(RunEvent::ProposalsChanged { uri: uri.clone() });
    }

    /// Journals the decisions on `hunks` that are new, and settles runs whose
    /// hunks are all decided.
    fn record_decisions(&self, workspace: &mut Workspace, hunks: &[HunkId]) {
        let mut runs = Vec::new();
        for &id in hunks {
            let Some(hunk) = workspace.proposals.get(id) else {
                continue;
            };
            let decision = match hunk.state {
                HunkState::Accepted => Decision::Accepted,
                HunkState::Rejected => Decision::Rejected,
                _ => continue,
            };
            let run = hunk.run;
            if workspace.recorded_decisions.insert(id) {
                self.journal.append(&JournalEntry::Decision {
                    hunk: id,
                    decision,
                    time_ms: now_ms(),
                });
                runs.push(run);
            }
        }
        runs.dedup();
        for run in runs {
            let all_decided = workspace
                .proposals
                .hunks_of_run(run)
                .iter()
                .all(|hunk| matches!(hunk.state, HunkState::Accepted | HunkState::Rejected));
            let proposed = workspace
                .runs
                .get(&run)
                .is_some_and(|record| record.state == RunState::Proposed);
            if all_decided && proposed {
                self.set_state(workspace, run, RunState::Settled, None);
            }
        }
    }

    fn agent_config(&self, config: &Config, name: &str) -> Result<AgentConfig, EngineError> {
        let agent = config
            .agents
            .get(name)
            .cloned()
            .ok_or_else(|| EngineError::UnknownAgent {
                name: name.to_owned(),
                known: config.agents.keys().cloned().collect(),
            })?;
        match self.untrusted_reason(name) {
            Some(reason) => Err(EngineError::Untrusted(reason)),
            None => Ok(agent),
        }
    }

    /// Registers a new run and spawns its task.
    fn start(
        self: &Arc<Self>,
        workspace: &mut Workspace,
        record: RunRecord,
        base: String,
        messages: Vec<ChatMessage>,
        agent: (String, AgentConfig),
    ) {
        let id = record.id;
        workspace.regions.insert(
            id,
            TrackedRegion {
                uri: record.uri.clone(),
                range: record.region.clone(),
                intact: true,
            },
        );
        self.journal.append(&JournalEntry::Run {
            run: record.clone(),
        });
        workspace.runs.insert(id, record);
        let token = CancellationToken::new();
        lock(&self.cancels).insert(id, token.clone());
        let _ = self.events.send(RunEvent::State {
            run: id,
            state: RunState::Queued,
        });
        let engine = Arc::clone(self);
        tokio::spawn(async move {
            Arc::clone(&engine)
                .drive(id, base, messages, agent, token)
                .await;
            lock(&engine.cancels).remove(&id);
        });
    }

    /// The life of one run after it was queued.
    async fn drive(
        self: Arc<Self>,
        id: RunId,
        base: String,
        messages: Vec<ChatMessage>,
        (name, agent): (String, AgentConfig),
        token: CancellationToken,
    ) {
        let limit = self.limit_for(&name, agent.max_concurrent as usize);
        let _permit = tokio::select! {
            permit = limit.acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return self.finish(id, RunState::Failed, Some("the agent's queue was closed".into())),
            },
            () = token.cancelled() => return self.finish(id, RunState::Cancelled, Some("cancelled while queued".into())),
        };
        self.enter(id, RunState::Running);
        if agent.kind == AgentKind::Command {
            return self.drive_command(id, &name, &agent, &token).await;
        }
        let backend = match backend_for(&name, &agent) {
            Ok(backend) => backend,
            Err(error) => return self.finish(id, RunState::Failed, Some(error.to_string())),
        };
        let mut messages = messages;
        let mut validation_attempt = 0;
        let events = self.events.clone();
        let sink = move |event: AgentEvent| {
            let message = match event {
                AgentEvent::Delta(text) => RunEvent::Delta { run: id, text },
                AgentEvent::Retrying {
                    attempt,
                    delay,
                    reason,
                } => RunEvent::Retrying {
                    run: id,
                    attempt,
                    delay,
                    reason,
                },
                AgentEvent::Usage(_) => return,
            };
            let _ = events.send(message);
        };
        let completion = loop {
            let request = ChatRequest {
                messages: messages.clone(),
            };
            let result = backend.complete(&request, &sink, &token).await;
            let Ok(completion) = &result else {
                break result;
            };
            if validation_attempt >= VALIDATION_RETRIES {
                break result;
            }
            let Some(problem) = self.validation_problem(id, &base, &completion.text) else {
                break result;
            };
            validation_attempt += 1;
            let _ = self.events.send(RunEvent::Retrying {
                run: id,
                attempt: validation_attempt,
                delay: std::time::Duration::ZERO,
                reason: format!("{validation_attempt}/{VALIDATION_RETRIES}: syntax errors"),
            });
            messages = validation_messages(&messages, &completion.text, &problem);
        };
        match completion {
            Ok(mut completion) => {
                // Priced now, at the price in force for this run, so a later
                // price change does not rewrite the journal's history.
                completion.usage = completion
                    .usage
                    .map(|usage| usage.priced(agent.price.as_ref()));
                self.propose(id, &base, messages, completion)
            }
            Err(AgentError::Cancelled) => self.finish(
                id,
                RunState::Cancelled,
                Some("cancelled by the user".into()),
            ),
            Err(error) => self.finish(id, RunState::Failed, Some(error.to_string())),
        }
    }

    /// The life of a `command` run once it may start: a sandbox seeded with the
    /// open buffers, the CLI run in it, and its changes proposed file by file.
    async fn drive_command(
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
                Some("a command agent needs a workspace folder to copy into its sandbox".into()),
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
        let events = self.events.clone();
        let sink = move |event: AgentEvent| {
            if let AgentEvent::Delta(text) = event {
                let _ = events.send(RunEvent::Delta { run: id, text });
            }
        };
        let launch = CommandLaunch {
            agent: name,
            settings: &settings,
            timeout: agent.timeout,
            prompt: &prompt,
            file: &file,
            working_dir: sandbox.workspace_dir(),
        };
        let result = run_command(&launch, &sink, token).await;
        let changes = result.as_ref().ok().map(|_| sandbox.changes());
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
        let messages = vec![ChatMessage {
            role: Role::User,
            content: prompt,
        }];
        self.propose_files(id, &root, messages, output, outcome);
    }

    /// What a command run needs from the workspace: its root, the delegated
    /// file's relative path, the prompt, and the open buffers to seed.
    #[allow(clippy::type_complexity)]
    fn command_inputs(
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
        let place = match lines {
            Some((first, last)) => format!("in {file}, lines {first} to {last}"),
            None => format!("in {file}"),
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
            "{earlier}{}\n\nWork {place}. Edit the files in the current folder directly; \
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
    /// as it is now: the open buffer, else the disk.
    fn propose_files(
        &self,
        id: RunId,
        root: &Path,
        messages: Vec<ChatMessage>,
        output: String,
        outcome: SandboxOutcome,
    ) {
        let mut workspace = lock(&self.workspace);
        let transcript = Transcript {
            messages,
            answer: output,
        };
        self.journal.append(&JournalEntry::Output {
            run: id,
            transcript: transcript.clone(),
        });
        workspace.transcripts.insert(id, transcript);
        let mut hunk_ids = Vec::new();
        let mut uris = Vec::new();
        for change in outcome.files {
            let Some((uri, ids)) = self.propose_file(&mut workspace, id, root, change) else {
                continue;
            };
            hunk_ids.extend(ids);
            uris.push(uri);
        }
        if hunk_ids.is_empty() {
            return self.set_state(
                &mut workspace,
                id,
                RunState::Settled,
                Some("the agent proposed no change".into()),
            );
        }
        let superseded = self.record_proposals(&mut workspace, id, hunk_ids);
        self.set_state(&mut workspace, id, RunState::Proposed, None);
        for uri in uris.into_iter().chain(superseded) {
            let _ = self.events.send(RunEvent::ProposalsChanged { uri });
        }
    }

    /// The hunks of one changed file. The agent's edit is diffed from the seed
    /// it saw, so a hunk whose text the user changed meanwhile is conflicted
    /// rather than silently reverting the user's edit.
    fn propose_file(
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

    /// Why an answer should go back to the agent: it adds syntax errors to the
    /// file. `None` for reviews, unreadable answers (they fail on their own) and
    /// answers that parse.
    fn validation_problem(&self, id: RunId, base: &str, answer: &str) -> Option<String> {
        let workspace = lock(&self.workspace);
        if workspace.reviews.contains(&id) {
            return None;
        }
        let region = workspace.regions.get(&id)?;
        let document = workspace.documents.get(&region.uri)?;
        let replacement = fit_to_region(&extract_replacement(answer).ok()?, base);
        syntax_warning(document, &region.range, &replacement)
    }

    /// Turns the agent's answer into hunks on the region as it is now.
    fn propose(&self, id: RunId, base: &str, messages: Vec<ChatMessage>, completion: Completion) {
        if lock(&self.workspace).reviews.contains(&id) {
            return self.record_findings(id, messages, completion);
        }
        let mut workspace = lock(&self.workspace);
        self.record_output(&mut workspace, id, messages, &completion);
        let region = workspace.regions.get(&id).cloned();
        let replacement = match extract_replacement(&completion.text) {
            Ok(replacement) => fit_to_region(&replacement, base),
            Err(error) => {
                return self.set_state(
                    &mut workspace,
                    id,
                    RunState::Failed,
                    Some(error.to_string()),
                );
            }
        };
        let diffs = diff_hunks(base, &replacement);
        if diffs.is_empty() {
            return self.set_state(
                &mut workspace,
                id,
                RunState::Settled,
                Some("the agent proposed no change".into()),
            );
        }
        let Some(region) = region else {
            return self.set_state(
                &mut workspace,
                id,
                RunState::Failed,
                Some("the run lost track of its region".into()),
            );
        };
        let Some(document) = workspace.documents.get(&region.uri).cloned() else {
            return self.set_state(
                &mut workspace,
                id,
                RunState::Failed,
                Some("the document was closed before the answer arrived".into()),
            );
        };
        let warning = syntax_warning(&document, &region.range, &replacement);
        let hunk_ids =
            workspace
                .proposals
                .add(id, &region.uri, region.range.start, diffs, &document.text);
        if !region.intact {
            for &hunk in &hunk_ids {
                workspace.proposals.mark_conflicted(hunk);
            }
        }
        let superseded = self.record_proposals(&mut workspace, id, hunk_ids);
        let reason = match (warning, region.intact) {
            (Some(warning), _) => Some(warning),
            (None, false) => Some(
                "the region was edited while the agent worked; the proposals are conflicted".into(),
            ),
            (None, true) => None,
        };
        self.set_state(&mut workspace, id, RunState::Proposed, reason);
        let _ = self
            .events
            .send(RunEvent::ProposalsChanged { uri: region.uri });
        for uri in superseded {
            let _ = self.events.send(RunEvent::ProposalsChanged { uri });
        }
    }

    /// Starts a review of a region and returns its run id at once; its answer
    /// becomes findings (see [`super::review`]).
    pub fn review(self: &Arc<Self>, review: Review) -> Result<RunId, EngineError> {
        let config = self.config();
        let agent = self.agent_config(&config, &review.agent)?;
        if agent.kind == AgentKind::Command {
            return Err(EngineError::CommandAgentCannotReview(review.agent));
        }
        let mut workspace = lock(&self.workspace);
        let document = open_document_with_range(&workspace, &review.uri, &review.range)?;
        let region = if review.range.is_empty() {
            0..document.text.len_bytes()
        } else {
            crate::document::whole_lines(&document.text, review.range.clone())
        };
        let context = RegionContext {
            path: display_path(workspace.root.as_deref(), &review.uri),
            language: workspace
                .trees
                .get(&review.uri)
                .map(|tree| tree.language().name().to_owned()),
            region: document.slice(region.clone()),
            ..RegionContext::default()
        };
        let messages = review_messages(&context, document.text.byte_to_line(region.start) + 1);
        let id = workspace.allocate_run_id();
        workspace.reviews.insert(id);
        let record = RunRecord {
            id,
            agent: review.agent.clone(),
            instruction: "Review".to_owned(),
            uri: review.uri.clone(),
            region,
            base_version: document.version,
            refined_from: None,
            state: RunState::Queued,
            reason: None,
            created_ms: now_ms(),
            finished_ms: None,
            usage: None,
            hunks: Vec::new(),
        };
        self.start(
            &mut workspace,
            record,
            context.region,
            messages,
            (review.agent, agent),
        );
        Ok(id)
    }

    /// Removes a finding for good.
    pub fn dismiss(&self, finding: FindingId) -> Result<(), EngineError> {
        let mut workspace = lock(&self.workspace);
        let removed = workspace
            .findings
            .remove(finding)
            .ok_or(EngineError::UnknownFinding(finding))?;
        let _ = self
            .events
            .send(RunEvent::ProposalsChanged { uri: removed.uri });
        Ok(())
    }

    /// Turns a finding's fix into proposal hunks of the finding's run, on the
    /// finding's lines as they are now; the finding is then done.
    pub fn apply_fix(&self, finding: FindingId) -> Result<Vec<HunkId>, EngineError> {
        let mut workspace = lock(&self.workspace);
        let found = workspace
            .findings
            .get(finding)
            .cloned()
            .ok_or(EngineError::UnknownFinding(finding))?;
        let fix = found
            .fix
            .clone()
            .ok_or(EngineError::FindingHasNoFix(finding))?;
        let document = workspace
            .documents
            .get(&found.uri)
            .cloned()
            .ok_or_else(|| EngineError::UnknownDocument(found.uri.clone()))?;
        let base = document.slice(found.range.clone());
        let diffs = diff_hunks(&base, &fit_to_region(&fix, &base));
        let hunk_ids = workspace.proposals.add(
            found.run,
            &found.uri,
            found.range.start,
            diffs,
            &document.text,
        );
        for &hunk in &hunk_ids {
            if let Some(hunk) = workspace.proposals.get(hunk) {
                self.journal.append(&JournalEntry::Proposal {
                    hunk: hunk.clone(),
                    base_sha256: base_sha256(&hunk.base_text),
                });
            }
        }
        if let Some(record) = workspace.runs.get_mut(&found.run) {
            record.hunks.extend(hunk_ids.iter().copied());
        }
        workspace.findings.remove(finding);
        let _ = self
            .events
            .send(RunEvent::ProposalsChanged { uri: found.uri });
        Ok(hunk_ids)
    }

    /// Journals a run's new hunks, gives them to the run, and retires the open
    /// hunks of the run it refines; returns the documents those were on.
    fn record_proposals(
        &self,
        workspace: &mut Workspace,
        id: RunId,
        hunk_ids: Vec<HunkId>,
    ) -> Vec<Url> {
        for &hunk in &hunk_ids {
            if let Some(hunk) = workspace.proposals.get(hunk) {
                self.journal.append(&JournalEntry::Proposal {
                    hunk: hunk.clone(),
                    base_sha256: base_sha256(&hunk.base_text),
                });
            }
        }
        let superseded = self.supersede_previous(workspace, id);
        if let Some(record) = workspace.runs.get_mut(&id) {
            record.hunks = hunk_ids;
        }
        superseded
    }

    /// Journals what the agent was told and answered, and the tokens it used.
    fn record_output(
        &self,
        workspace: &mut Workspace,
        id: RunId,
        messages: Vec<ChatMessage>,
        completion: &Completion,
    ) {
        let transcript = Transcript {
            messages,
            answer: completion.text.clone(),
        };
        self.journal.append(&JournalEntry::Output {
            run: id,
            transcript: transcript.clone(),
        });
        workspace.transcripts.insert(id, transcript);
        if let Some(record) = workspace.runs.get_mut(&id) {
            record.usage = completion.usage;
        }
    }

    /// Turns a review's answer into findings on the document as it is now.
    fn record_findings(&self, id: RunId, messages: Vec<ChatMessage>, completion: Completion) {
        let mut workspace = lock(&self.workspace);
        self.record_output(&mut workspace, id, messages, &completion);
        let Some(uri) = workspace.runs.get(&id).map(|record| record.uri.clone()) else {
            return;
        };
        let Some(document) = workspace.documents.get(&uri).cloned() else {
            return self.set_state(
                &mut workspace,
                id,
                RunState::Failed,
                Some("the document was closed before the review arrived".into()),
            );
        };
        let mut review = parse_findings(&completion.text);
        let mut count = 0;
        for finding in review.findings {
            match lines_range(&document.text, finding.first_line, finding.last_line) {
                Some(range) => {
                    workspace.findings.add(id, &uri, range, finding);
                    count += 1;
                }
                None => review
                    .skipped
                    .push(format!("line {} is not in the document", finding.last_line)),
            }
        }
        let mut reason = match count {
            0 => "no findings".to_owned(),
            1 => "1 finding".to_owned(),
            count => format!("{count} findings"),
        };
        if !review.skipped.is_empty() {
            reason.push_str(&format!(
                "; skipped {} malformed: {}",
                review.skipped.len(),
                review.skipped.join("; ")
            ));
        }
        let state = if count == 0 {
            RunState::Settled
        } else {
            RunState::Proposed
        };
        self.set_state(&mut workspace, id, state, Some(reason));
        let _ = self.events.send(RunEvent::ProposalsChanged { uri });
    }

    /// A refined run's proposals replace the undecided ones of the run it refines.
    fn supersede_previous(&self, workspace: &mut Workspace, id: RunId) -> Vec<Url> {
        let Some(previous) = workspace
            .runs
            .get(&id)
            .and_then(|record| record.refined_from)
        else {
            return Vec::new();
        };
        let mut uris = Vec::new();
        let undecided: Vec<(HunkId, Url)> = workspace
            .proposals
            .hunks_of_run(previous)
            .into_iter()
            .filter(|hunk| !matches!(hunk.state, HunkState::Accepted | HunkState::Rejected))
            .map(|hunk| (hunk.id, hunk.uri.clone()))
            .collect();
        for (hunk, uri) in undecided {
            if workspace.proposals.reject(hunk).is_err() {
                continue;
            }
            workspace.recorded_decisions.insert(hunk);
            self.journal.append(&JournalEntry::Decision {
                hunk,
                decision: Decision::Superseded,
                time_ms: now_ms(),
            });
            uris.push(uri);
        }
        if workspace
            .runs
            .get(&previous)
            .is_some_and(|record| record.state == RunState::Proposed)
        {
            self.set_state(
                workspace,
                previous,
                RunState::Settled,
                Some(format!("refined as run {id}")),
            );
        }
        uris.dedup();
        uris
    }

    fn finish(&self, id: RunId, state: RunState, reason: Option<String>) {
        let mut workspace = lock(&self.workspace);
        self.set_state(&mut workspace, id, state, reason);
    }

    fn enter(&self, id: RunId, state: RunState) {
        let mut workspace = lock(&self.workspace);
        self.set_state(&mut workspace, id, state, None);
    }

    fn set_state(
        &self,
        workspace: &mut Workspace,
        id: RunId,
        state: RunState,
        reason: Option<String>,
    ) {
        let Some(record) = workspace.runs.get_mut(&id) else {
            return;
        };
        record.state = state;
        if reason.is_some() {
            record.reason = reason.clone();
        }
        if !state.is_in_flight() {
            record.finished_ms = Some(now_ms());
        }
        // A run's region is tracked while it may still be refined: in flight or proposed.
        if !state.is_in_flight() && state != RunState::Proposed {
            workspace.regions.remove(&id);
        }
        self.journal.append(&JournalEntry::State {
            run: id,
            state,
            reason,
            usage: record.usage,
            time_ms: now_ms(),
        });
        let _ = self.events.send(RunEvent::State { run: id, state });
    }

    /// The semaphore that bounds an agent's concurrent runs; a changed
    /// `max_concurrent` takes effect for runs queued from then on.
    fn limit_for(&self, name: &str, max_concurrent: usize) -> Arc<Semaphore> {
        let mut limits = lock(&self.limits);
        let entry = limits
            .entry(name.to_owned())
            .or_insert_with(|| (max_concurrent, Arc::new(Semaphore::new(max_concurrent))));
        if entry.0 != max_concurrent {
            *entry = (max_concurrent, Arc::new(Semaphore::new(max_concurrent)));
        }
        entry.1.clone()
    }
}

/// A snapshot of an open document, after checking that `range` lies in it.
fn open_document_with_range(
    workspace: &Workspace,
    uri: &Url,
    range: &Range<usize>,
) -> Result<crate::document::Document, EngineError> {
    let document = workspace
        .documents
        .get(uri)
        .cloned()
        .ok_or_else(|| EngineError::UnknownDocument(uri.clone()))?;
    let len = document.text.len_bytes();
    if range.start > range.end || range.end > len {
        return Err(EngineError::RangeOutOfDocument {
            start: range.start,
            end: range.end,
            len,
        });
    }
    Ok(document)
}

/// Where the region of a run is in the current document: its tracked region
/// (kept in step with every edit while the run is in flight or proposed), else
/// its original range, clamped to the document.
fn current_region_of(workspace: &Workspace, run: &RunRecord) -> Option<Range<usize>> {
    if let Some(region) = workspace.regions.get(&run.id) {
        return Some(region.range.clone());
    }
    let document = workspace.documents.get(&run.uri)?;
    let len = document.text.len_bytes();
    Some(crate::document::whole_lines(
        &document.text,
        run.region.start.min(len)..run.region.end.min(len),
    ))
}

/// A warning when the replacement adds syntax errors to the file.
fn syntax_warning(
    document: &crate::document::Document,
    region: &Range<usize>,
    replacement: &str,
) -> Option<String> {
    let language = Language::from_language_id(&document.language_id).or_else(|| {
        document
            .uri
            .to_file_path()
            .ok()
            .and_then(|path| Language::from_path(&path))
    })?;
    let original = document.text.to_string();
    let start = region.start.min(original.len());
    let end = region.end.min(original.len());
    let proposed = format!(
        "{}{}{}",
        original.get(..start)?,
        replacement,
        original.get(end..)?
    );
    let report = validate_replacement(language, &original, &proposed);
    let first = report.introduced_errors.first()?;
    let line = proposed
        .get(..first.range.start)
        .map_or(0, |before| before.matches('\n').count())
        + 1;
    Some(format!(
        "the proposed code does not parse as {} (line {line}: {})",
        language.name(),
        first.message
    ))
}

fn context_before(text: &ropey::Rope, offset: usize, lines: usize) -> String {
    let line = text.byte_to_line(offset.min(text.len_bytes()));
    let first = line.saturating_sub(lines);
    let start = text.line_to_byte(first);
    text.byte_slice(start..offset.min(text.len_bytes()).max(start))
        .to_string()
}

fn context_after(text: &ropey::Rope, offset: usize, lines: usize) -> String {
    let len = text.len_bytes();
    let offset = offset.min(len);
    let line = text.byte_to_line(offset);
    let last = (line + lines).min(text.len_lines());
    let end = text.line_to_byte(last).max(offset);
    text.byte_slice(offset..end).to_string()
}

/// The document's path relative to the workspace root, or its URI.
pub fn display_path(root: Option<&std::path::Path>, uri: &Url) -> String {
    match uri.to_file_path() {
        Ok(path) => root
            .and_then(|root| path.strip_prefix(root).ok())
            .unwrap_or(&path)
            .display()
            .to_string(),
        Err(()) => uri.to_string(),
    }
}
