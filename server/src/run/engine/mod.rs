//! The run engine: turns a delegation into a tracked run, streams the agent's
//! answer, and turns it into proposals; records every step in the journal.
//!
//! Requests never wait on an agent: `delegate` registers the run and returns its
//! id at once; the work happens on a spawned task bounded by the agent's
//! `max_concurrent` and cancelled through a token.

mod decisions;
mod history;
mod proposing;
mod reviewing;
mod sandboxed;
mod task_run;
mod validating;
mod workflow;

use super::event::RunEvent;
use super::journal::{Journal, JournalEntry, Transcript};
use super::prompt::{RegionContext, SpecContext, refine_messages, region_messages};
use super::review::FindingId;
use super::state::{RunKind, RunRecord, RunState, now_ms};
use crate::agent::{AgentError, AgentEvent, ChatMessage, backend_for};
use crate::config::trust::untrusted_reason;
use crate::config::{AgentConfig, Config};
use crate::document::{ContentChange, DocumentError, PositionEncoding};
use crate::ids::{HunkId, RunId};
use crate::proposal::AcceptEdit;
use crate::run::boundary::absolute_target;
use crate::syntax::ReparseQueue;
use crate::workspace::{FileOperation, TrackedRegion, Workspace, lock, refresh_syntax};
use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
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
    #[error("agent `{0}` edits files in a sandbox and cannot review yet")]
    CommandAgentCannotReview(String),
    #[error("there is no finding {0}")]
    UnknownFinding(FindingId),
    #[error("no workflow named '{name}' is configured{}", known_workflows(.known))]
    UnknownWorkflow { name: String, known: Vec<String> },
    #[error("finding {0} has no fix")]
    FindingHasNoFix(FindingId),
    /// A proposal whose file lies outside the workspace, or in `.git` or
    /// `.director`: it is never applied.
    #[error("this change is refused: {0}")]
    OutsideBoundary(String),
}

fn known_agents(known: &[String]) -> String {
    if known.is_empty() {
        "; no agent is configured (add one under [agents] in director.toml)".to_owned()
    } else {
        format!("; configured agents: {}", known.join(", "))
    }
}

fn known_workflows(known: &[String]) -> String {
    if known.is_empty() {
        "; no workflow is configured (add one under [workflows] in director.toml)".to_owned()
    } else {
        format!("; configured workflows: {}", known.join(", "))
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

pub use reviewing::Review;
pub use task_run::TaskDelegation;
pub use workflow::WorkflowRun;

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
    /// Documents whose syntax trees went stale, parsed once typing pauses.
    reparse: ReparseQueue,
}

impl Engine {
    pub fn new(
        workspace: Workspace,
        journal: Journal,
        config: Config,
        events: mpsc::UnboundedSender<RunEvent>,
    ) -> Arc<Engine> {
        Arc::new_cyclic(|engine: &Weak<Engine>| {
            let engine = engine.clone();
            let reparse = ReparseQueue::spawn(move |uri| {
                if let Some(engine) = engine.upgrade() {
                    refresh_syntax(&engine.workspace, uri);
                }
            });
            Engine {
                root: workspace.root.clone(),
                workspace: Mutex::new(workspace),
                journal,
                config: RwLock::new(Arc::new(config)),
                events,
                limits: Mutex::new(HashMap::new()),
                cancels: Mutex::new(HashMap::new()),
                trusted_by_editor: AtomicBool::new(false),
                reparse,
            }
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

    /// Refuses a change to `uri` unless it is a file of the workspace (see
    /// [`crate::run::boundary`]), judged now: a link may have appeared since
    /// the proposal was made. Without a workspace folder only region runs
    /// exist, and they propose on the document the user delegated from.
    fn within_boundary(&self, uri: &Url) -> Result<(), EngineError> {
        let Some(root) = self.root.as_deref() else {
            return Ok(());
        };
        let path = uri
            .to_file_path()
            .map_err(|()| EngineError::OutsideBoundary(format!("{uri} is not a local file")))?;
        absolute_target(root, &path)
            .map(drop)
            .map_err(EngineError::OutsideBoundary)
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Applies an editor change to the workspace (see
    /// [`Workspace::change_document`]) and schedules the reparse it makes
    /// worthwhile. Returns the hunks whose range or state changed.
    pub fn change_document(
        &self,
        uri: &Url,
        version: i32,
        changes: &[ContentChange],
        encoding: PositionEncoding,
    ) -> Result<Vec<HunkId>, DocumentError> {
        let changed = lock(&self.workspace).change_document(uri, version, changes, encoding)?;
        if changed.tree_is_stale {
            self.reparse.schedule(uri.clone());
        }
        Ok(changed.hunks)
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
        refresh_syntax(&self.workspace, &delegation.uri);
        let mut workspace = lock(&self.workspace);
        let document = open_document_with_range(&workspace, &delegation.uri, &delegation.range)?;
        let (region, context) = region_context(
            &mut workspace,
            &document,
            delegation.range.clone(),
            agent.context_lines as usize,
            spec,
        );
        let messages = region_messages(&delegation.instruction, &context);
        let id = workspace.allocate_run_id();
        let record = RunRecord::queued(
            id,
            RunKind::Region,
            delegation.agent.clone(),
            delegation.instruction.clone(),
            delegation.uri.clone(),
            region.clone(),
            document.version,
        );
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
        // After a restart the run may be history, read from the journal.
        self.recall(run);
        if lock(&self.workspace).run_kind(run) == Some(RunKind::Task) {
            return self.refine_task(run, feedback, agent_name);
        }
        let mut workspace = lock(&self.workspace);
        let (previous, transcript, (agent_name, agent)) =
            self.refinement_of(&workspace, run, agent_name)?;
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
            refined_from: Some(run),
            ..RunRecord::queued(
                id,
                RunKind::Region,
                agent_name,
                feedback.to_owned(),
                previous.uri.clone(),
                region.clone(),
                document.version,
            )
        };
        let base = document.slice(region);
        let name = record.agent.clone();
        self.start(&mut workspace, record, base, messages, (name, agent));
        Ok(id)
    }

    /// What refining `run` starts from: its record, its conversation, and the
    /// agent to continue it (the same one unless the user named another).
    fn refinement_of(
        &self,
        workspace: &Workspace,
        run: RunId,
        agent_name: Option<&str>,
    ) -> Result<(RunRecord, Transcript, (String, AgentConfig)), EngineError> {
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
        let agent = self.agent_config(&self.config(), &agent_name)?;
        Ok((previous, transcript, (agent_name, agent)))
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
        let token = self.register(workspace, record);
        let engine = Arc::clone(self);
        tokio::spawn(async move {
            Arc::clone(&engine)
                .drive(id, base, messages, agent, token)
                .await;
            lock(&engine.cancels).remove(&id);
        });
    }

    /// Makes a queued run known: its tracked region, its journal record and
    /// its cancel token, which is returned for the task that drives it.
    fn register(&self, workspace: &mut Workspace, record: RunRecord) -> CancellationToken {
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
        token
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
        if agent.kind.edits_in_sandbox() {
            return self.drive_command(id, &name, &agent, &token).await;
        }
        let backend = match backend_for(&name, &agent) {
            Ok(backend) => backend,
            Err(error) => return self.finish(id, RunState::Failed, Some(error.to_string())),
        };
        let sink = self.event_sink(id);
        let call = validating::AgentCall {
            backend: backend.as_ref(),
            agent: &agent,
            sink: &sink,
            token: &token,
        };
        let validating::ValidatedAnswer {
            completion,
            messages,
            warning,
        } = self.complete_validated(id, &base, messages, &call).await;
        match completion {
            Ok(mut completion) => {
                // Priced now, at the price in force for this run, so a later
                // price change does not rewrite the journal's history.
                completion.usage = completion
                    .usage
                    .map(|usage| usage.priced(agent.price.as_ref()));
                self.propose(id, &base, messages, completion, warning)
            }
            Err(AgentError::Cancelled) => self.finish(
                id,
                RunState::Cancelled,
                Some("cancelled by the user".into()),
            ),
            Err(error) => self.finish(id, RunState::Failed, Some(error.to_string())),
        }
    }

    /// Where an agent's progress goes: answer pieces and endpoint retries
    /// become the run's events.
    fn event_sink(&self, id: RunId) -> impl Fn(AgentEvent) + Send + Sync + 'static {
        let events = self.events.clone();
        move |event: AgentEvent| {
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
                AgentEvent::Usage(_) | AgentEvent::Activity(_) => return,
            };
            let _ = events.send(message);
        }
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

/// The region a selection widens to (the enclosing item, else whole lines)
/// and what the agent is told about it. Widening needs an exact tree: callers
/// bring it up to date with [`refresh_syntax`] before locking, and what typing
/// changed since is parsed here.
fn region_context(
    workspace: &mut Workspace,
    document: &crate::document::Document,
    selection: Range<usize>,
    context_lines: usize,
    spec: SpecContext,
) -> (Range<usize>, RegionContext) {
    let tree = workspace.syntax.up_to_date(&document.uri, &document.text);
    let region = match &tree {
        Some(tree) => tree.widen_selection(&document.text, selection),
        None => crate::document::whole_lines(&document.text, selection),
    };
    let signature = tree
        .as_ref()
        .and_then(|tree| tree.enclosing_item(&document.text, region.clone()))
        .map(|item| item.signature);
    let context = RegionContext {
        path: display_path(workspace.root.as_deref(), &document.uri),
        language: workspace
            .syntax
            .language(&document.uri)
            .map(|language| language.name().to_owned()),
        enclosing_signature: signature,
        before: context_before(&document.text, region.start, context_lines),
        region: document.slice(region.clone()),
        after: context_after(&document.text, region.end, context_lines),
        spec,
    };
    (region, context)
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
