//! The `acp` kind: an Agent Client Protocol v1 agent (`gemini --acp`,
//! `claude-code-acp`, …) started in a sandbox folder, Director being its client.
//!
//! One turn per run: `initialize`, `session/new` in the sandbox, then
//! `session/prompt` with the run's prompt. While the agent works Director
//! streams its messages, plan and tool calls as progress, serves its file
//! reads and writes from the sandbox, and answers its permission requests
//! (see [`permission`]). Like a `command` agent it runs in its own process
//! group, killed when the turn ends, times out or is cancelled; its edits are
//! read by diffing the sandbox afterwards.

pub mod files;
pub mod jsonrpc;
pub mod permission;
pub mod schema;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStderr, ChildStdout};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::agent::command::CommandError;
use crate::agent::plain_text::{AnsiStripper, without_ansi};
use crate::agent::process::{
    describe_failure, kill_process_group, process_group, record_process_group, sandboxed_command,
    with_tail,
};
use crate::agent::spawn_tied::spawn_tied_to_server;
use crate::agent::{AgentEvent, TokenUsage};
use crate::config::agent_config::CommandSettings;
use crate::run::confine::Confinement;
use jsonrpc::{INVALID_PARAMS, Incoming, METHOD_NOT_FOUND, RpcError};
use permission::Verdict;
use schema::{
    CancelNotification, ClientCapabilities, ContentBlock, FileSystemCapability, Implementation,
    InitializeRequest, InitializeResponse, NewSessionRequest, NewSessionResponse,
    PermissionOutcome, PlanEntryStatus, PromptRequest, PromptResponse, ReadTextFileRequest,
    ReadTextFileResponse, RequestPermissionRequest, RequestPermissionResponse, SessionNotification,
    SessionUpdate, StopReason, ToolCallStatus, TurnUsage, WriteTextFileRequest,
};

/// How long the agent may take to end its turn after `session/cancel`
/// before its process group is killed.
const CANCEL_GRACE: Duration = Duration::from_secs(2);

/// How long stderr is still read once the agent is gone.
const STDERR_DRAIN: Duration = Duration::from_secs(2);

/// How much of the end of stderr is kept for a failure's explanation.
const STDERR_KEPT_BYTES: usize = 64 * 1024;

/// One launch of an ACP agent.
#[derive(Debug, Clone)]
pub struct AcpLaunch<'a> {
    pub agent: &'a str,
    pub settings: &'a CommandSettings,
    pub timeout: Duration,
    /// Sent as the turn's only text block.
    pub prompt: &'a str,
    /// The sandbox's copy of the workspace: the session's `cwd`, and the only
    /// place the agent's file requests may reach.
    pub working_dir: &'a Path,
    /// Where the agent's process group is recorded while it runs (see
    /// [`crate::run::sandbox_cleanup`]); `None` to not record it.
    pub group_file: Option<&'a Path>,
    /// What the agent may change and reach.
    pub confinement: &'a Confinement,
}

/// A permission request only the user can answer, and where the answer goes:
/// the index of the chosen choice, or `None` when the user gave none.
#[derive(Debug)]
pub struct PermissionQuestion {
    pub message: String,
    pub choices: Vec<String>,
    pub reply: oneshot::Sender<Option<usize>>,
}

/// Runs one turn of the agent to its end and returns its transcript: its
/// message text with its plans, each message piece also sent as an
/// [`AgentEvent::Delta`] and each plan or tool call as an
/// [`AgentEvent::Activity`]. Permission requests the policy cannot decide go
/// to `ask_user`.
pub async fn run_acp(
    launch: &AcpLaunch<'_>,
    events: &(dyn Fn(AgentEvent) + Send + Sync),
    ask_user: &(dyn Fn(PermissionQuestion) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<String, CommandError> {
    let agent = launch.agent;
    let Some((program, arguments)) = launch.settings.argv.split_first() else {
        return Err(CommandError::Failed(format!(
            "agent `{agent}` has an empty command"
        )));
    };
    let root = launch.working_dir.canonicalize().map_err(|error| {
        CommandError::Failed(format!("cannot open the sandbox folder: {error}"))
    })?;
    let mut command = sandboxed_command(
        launch.confinement,
        program,
        arguments,
        &launch.settings.env,
        &root,
    );
    command.stdin(Stdio::piped());
    let mut child = spawn_tied_to_server(command).await.map_err(|error| {
        CommandError::Failed(format!("cannot start agent `{agent}` ({program}): {error}"))
    })?;
    let group = process_group(&child);
    record_process_group(group, launch.group_file);
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        kill_process_group(group);
        return Err(CommandError::Failed(format!(
            "agent `{agent}` started without its standard streams"
        )));
    };
    let (outgoing, mut outgoing_lines) = mpsc::unbounded_channel::<String>();
    // The only writer of stdin: whole lines, in order, whatever the turn does.
    tokio::spawn(async move {
        let mut stdin = stdin;
        while let Some(line) = outgoing_lines.recv().await {
            if stdin.write_all(line.as_bytes()).await.is_err() || stdin.flush().await.is_err() {
                break;
            }
        }
    });
    let stderr_log = Arc::new(Mutex::new(Vec::new()));
    let stderr_reader = tokio::spawn(collect_stderr(stderr, Arc::clone(&stderr_log)));

    let (answers, answer_receiver) = mpsc::unbounded_channel();
    let mut client = Client {
        agent,
        root,
        outgoing,
        lines: BufReader::new(stdout).lines(),
        next_id: 0,
        events,
        ask_user,
        answers,
        answer_receiver,
        waiting_for_user: HashMap::new(),
        tool_titles: HashMap::new(),
        tool_paths: HashMap::new(),
        session_id: None,
        prompt_id: None,
        stopping: false,
        transcript: String::new(),
        message_text: AnsiStripper::default(),
        context_used: None,
    };
    let deadline = tokio::time::sleep(launch.timeout);
    tokio::pin!(deadline);
    let ended = tokio::select! {
        result = client.converse(launch.prompt) => Ended::Turn(result),
        () = &mut deadline => Ended::TimedOut,
        () = cancel.cancelled() => Ended::Cancelled,
    };
    if matches!(ended, Ended::TimedOut | Ended::Cancelled) {
        client.stop_turn().await;
    }
    let exited = if matches!(ended, Ended::Turn(Err(TurnFailure::Exited))) {
        tokio::time::timeout(STDERR_DRAIN, child.wait()).await.ok()
    } else {
        None
    };
    // Whatever the end, nothing the agent started outlives its turn.
    kill_process_group(group);
    if let Some(group_file) = launch.group_file {
        let _ = std::fs::remove_file(group_file);
    }
    let _ = child.wait().await;
    let _ = tokio::time::timeout(STDERR_DRAIN, stderr_reader).await;
    let stderr =
        String::from_utf8_lossy(&stderr_log.lock().unwrap_or_else(PoisonError::into_inner))
            .into_owned();
    let transcript = client.transcript;
    match ended {
        Ended::Cancelled => Err(CommandError::Cancelled),
        Ended::TimedOut => Err(CommandError::Failed(with_tail(
            format!(
                "agent `{agent}` did not finish within {} s (its timeout) and was killed",
                launch.timeout.as_secs()
            ),
            &stderr,
        ))),
        Ended::Turn(Ok(StopReason::Cancelled)) => Err(CommandError::Cancelled),
        Ended::Turn(Ok(StopReason::Refusal)) => Err(CommandError::Failed(with_tail(
            format!("agent `{agent}` refused the task"),
            &transcript,
        ))),
        Ended::Turn(Ok(_)) => Ok(transcript),
        Ended::Turn(Err(TurnFailure::Exited)) => {
            let how = match exited.and_then(Result::ok) {
                Some(status) => describe_failure(status),
                None => "closed its output".to_owned(),
            };
            Err(CommandError::Failed(with_tail(
                format!("agent `{agent}` {how} before ending its turn"),
                &stderr,
            )))
        }
        Ended::Turn(Err(TurnFailure::Protocol(detail))) => Err(CommandError::Failed(with_tail(
            format!("agent `{agent}` {detail}"),
            &stderr,
        ))),
    }
}

/// How the turn ended.
enum Ended {
    Turn(Result<StopReason, TurnFailure>),
    TimedOut,
    Cancelled,
}

/// Why a turn stopped before the agent answered the prompt.
enum TurnFailure {
    /// The agent's output ended: it exited or crashed.
    Exited,
    /// The agent answered an error or something that is not ACP; the detail
    /// reads after the agent's name.
    Protocol(String),
}

/// The client side of one connection: what was sent, what waits for an
/// answer, and the transcript so far.
struct Client<'a> {
    agent: &'a str,
    /// The canonical sandbox folder.
    root: PathBuf,
    outgoing: mpsc::UnboundedSender<String>,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: u64,
    events: &'a (dyn Fn(AgentEvent) + Send + Sync),
    ask_user: &'a (dyn Fn(PermissionQuestion) + Send + Sync),
    /// The user's answers to permission questions, by the request's id.
    answers: mpsc::UnboundedSender<(Value, Option<usize>)>,
    answer_receiver: mpsc::UnboundedReceiver<(Value, Option<usize>)>,
    /// Permission requests put to the user and not answered yet, by their id
    /// as text.
    waiting_for_user: HashMap<String, (Value, RequestPermissionRequest)>,
    /// Tool call titles by id, since updates name only what changed.
    tool_titles: HashMap<String, String>,
    /// The files each tool call named in its updates, by id: a permission
    /// request about it may name none (claude-code-acp's do not).
    tool_paths: HashMap<String, Vec<PathBuf>>,
    session_id: Option<String>,
    prompt_id: Option<u64>,
    /// Set once the turn is being cancelled: permissions are then refused.
    stopping: bool,
    transcript: String,
    /// The agent's message text made plain, piece by piece.
    message_text: AnsiStripper,
    /// The context size its last `usage_update` reported.
    context_used: Option<u64>,
}

/// What arrived while waiting for an answer.
enum Arrival {
    Line(Option<String>),
    UserAnswer(Option<(Value, Option<usize>)>),
}

impl Client<'_> {
    /// The whole turn, up to the agent's answer to the prompt.
    async fn converse(&mut self, prompt: &str) -> Result<StopReason, TurnFailure> {
        let initialize = InitializeRequest {
            protocol_version: schema::PROTOCOL_VERSION,
            client_capabilities: ClientCapabilities {
                fs: FileSystemCapability {
                    read_text_file: true,
                    write_text_file: true,
                },
                terminal: false,
            },
            client_info: Implementation {
                name: "director".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
        };
        let initialized: InitializeResponse = self.call("initialize", &initialize).await?;
        if initialized.protocol_version != schema::PROTOCOL_VERSION {
            return Err(TurnFailure::Protocol(format!(
                "speaks ACP version {}; Director speaks version {}",
                initialized.protocol_version,
                schema::PROTOCOL_VERSION
            )));
        }
        let new_session = NewSessionRequest {
            cwd: self.root.clone(),
            mcp_servers: [],
        };
        let session: NewSessionResponse = self.call("session/new", &new_session).await?;
        self.session_id = Some(session.session_id.clone());
        let request = PromptRequest {
            session_id: session.session_id,
            prompt: vec![ContentBlock::Text {
                text: prompt.to_owned(),
            }],
        };
        let answer: PromptResponse = self.call("session/prompt", &request).await?;
        if let Some(usage) = self.turn_usage(answer.usage) {
            (self.events)(AgentEvent::Usage(usage));
        }
        Ok(answer.stop_reason)
    }

    /// What the turn cost: the tokens the agent counted for it, else the
    /// context it last reported using (what its model last read, a lower
    /// bound of its input tokens).
    fn turn_usage(&self, counted: Option<TurnUsage>) -> Option<TokenUsage> {
        let (prompt_tokens, completion_tokens) = match (counted, self.context_used) {
            (Some(counted), _) => (counted.input_tokens, counted.output_tokens),
            (None, Some(used)) => (used, 0),
            (None, None) => return None,
        };
        Some(TokenUsage {
            prompt_tokens,
            completion_tokens,
            cost_usd: None,
        })
    }

    /// Cancels the turn: `session/cancel`, every pending permission answered
    /// `cancelled`, then a short wait for the agent to end its turn.
    async fn stop_turn(&mut self) {
        self.stopping = true;
        let Some(session_id) = self.session_id.clone() else {
            return;
        };
        self.send(jsonrpc::notification_line(
            "session/cancel",
            &CancelNotification { session_id },
        ));
        for (_, (id, _)) in std::mem::take(&mut self.waiting_for_user) {
            self.respond_permission(&id, PermissionOutcome::Cancelled);
        }
        if let Some(prompt_id) = self.prompt_id {
            let _ = tokio::time::timeout(
                CANCEL_GRACE,
                self.await_response(prompt_id, "session/prompt"),
            )
            .await;
        }
    }

    /// Sends a request and serves the agent until it answers.
    async fn call<Answer: DeserializeOwned>(
        &mut self,
        method: &str,
        params: &impl Serialize,
    ) -> Result<Answer, TurnFailure> {
        let id = self.next_id;
        self.next_id += 1;
        if method == "session/prompt" {
            self.prompt_id = Some(id);
        }
        self.send(jsonrpc::request_line(id, method, params));
        let answer = self.await_response(id, method).await?;
        serde_json::from_value(answer).map_err(|error| {
            TurnFailure::Protocol(format!(
                "answered {method} with something that is not ACP: {error}"
            ))
        })
    }

    /// Handles what the agent sends until the response to request `id`.
    async fn await_response(&mut self, id: u64, method: &str) -> Result<Value, TurnFailure> {
        loop {
            let arrival = tokio::select! {
                line = self.lines.next_line() => Arrival::Line(line.ok().flatten()),
                answer = self.answer_receiver.recv() => Arrival::UserAnswer(answer),
            };
            let line = match arrival {
                Arrival::Line(Some(line)) => line,
                Arrival::Line(None) => return Err(TurnFailure::Exited),
                Arrival::UserAnswer(Some((request_id, choice))) => {
                    self.on_user_answer(&request_id, choice);
                    continue;
                }
                Arrival::UserAnswer(None) => continue,
            };
            if line.trim().is_empty() {
                continue;
            }
            match jsonrpc::parse_line(&line) {
                Ok(Incoming::Response {
                    id: answered,
                    result,
                }) => {
                    if answered == id {
                        return result.map_err(|error| {
                            TurnFailure::Protocol(format!(
                                "answered {method} with an error: {error}"
                            ))
                        });
                    }
                    tracing::debug!("agent {}: an answer to no pending request", self.agent);
                }
                Ok(Incoming::Request {
                    id: request_id,
                    method,
                    params,
                }) => self.on_request(request_id, &method, params),
                Ok(Incoming::Notification { method, params }) => {
                    if method == "session/update" {
                        self.on_update(params);
                    }
                }
                Err(reason) => {
                    tracing::warn!(
                        "agent {}: ignoring a line of its output that is not JSON-RPC ({reason})",
                        self.agent
                    );
                }
            }
        }
    }

    /// Answers a request from the agent, now or once the user has.
    fn on_request(&mut self, id: Value, method: &str, params: Value) {
        let answer = match method {
            "fs/read_text_file" => {
                parse_params::<ReadTextFileRequest>(params).and_then(|request| {
                    let content = files::read_text_file(&self.root, &request)?;
                    to_value(&ReadTextFileResponse { content })
                })
            }
            "fs/write_text_file" => {
                parse_params::<WriteTextFileRequest>(params).and_then(|request| {
                    files::write_text_file(&self.root, &request)?;
                    Ok(Value::Null)
                })
            }
            "session/request_permission" => {
                match parse_params::<RequestPermissionRequest>(params) {
                    Ok(request) => return self.on_permission_request(id, request),
                    Err(error) => Err(error),
                }
            }
            _ => Err(RpcError::new(
                METHOD_NOT_FOUND,
                format!("Director does not handle {method}"),
            )),
        };
        self.send(jsonrpc::response_line(&id, answer));
    }

    fn on_permission_request(&mut self, id: Value, request: RequestPermissionRequest) {
        if self.stopping {
            return self.respond_permission(&id, PermissionOutcome::Cancelled);
        }
        let earlier = request
            .tool_call
            .tool_call_id
            .as_ref()
            .and_then(|tool_call_id| self.tool_paths.get(tool_call_id))
            .cloned()
            .unwrap_or_default();
        match permission::judge(&self.root, &request, &earlier) {
            Verdict::Allow(option_id) => {
                self.respond_permission(&id, PermissionOutcome::Selected { option_id });
            }
            Verdict::AskUser => {
                let (message, choices) =
                    permission::question(self.agent, &self.root, &request, &earlier);
                self.activity(format!("waiting for your answer: {message}"));
                let (reply, answered) = oneshot::channel();
                (self.ask_user)(PermissionQuestion {
                    message,
                    choices,
                    reply,
                });
                let answers = self.answers.clone();
                let request_id = id.clone();
                tokio::spawn(async move {
                    // A dropped question (no editor to ask) is no answer.
                    let choice = answered.await.ok().flatten();
                    let _ = answers.send((request_id, choice));
                });
                self.waiting_for_user.insert(id.to_string(), (id, request));
            }
        }
    }

    fn on_user_answer(&mut self, id: &Value, choice: Option<usize>) {
        // A question answered after the turn was cancelled was already refused.
        if let Some((id, request)) = self.waiting_for_user.remove(&id.to_string()) {
            let outcome = permission::outcome_for_choice(&request, choice);
            self.respond_permission(&id, outcome);
        }
    }

    fn respond_permission(&self, id: &Value, outcome: PermissionOutcome) {
        let answer = to_value(&RequestPermissionResponse { outcome });
        self.send(jsonrpc::response_line(id, answer));
    }

    /// Turns a `session/update` into progress and transcript.
    fn on_update(&mut self, params: Value) {
        let notification: SessionNotification = match serde_json::from_value(params) {
            Ok(notification) => notification,
            Err(error) => {
                tracing::warn!(
                    "agent {}: an update Director cannot read: {error}",
                    self.agent
                );
                return;
            }
        };
        match notification.update {
            SessionUpdate::AgentMessageChunk {
                content: ContentBlock::Text { text },
            } => {
                let text = self.message_text.strip(&text);
                if text.is_empty() {
                    return;
                }
                self.transcript.push_str(&text);
                (self.events)(AgentEvent::Delta(text));
            }
            SessionUpdate::Plan { entries } => {
                let steps: Vec<String> = entries
                    .iter()
                    .map(|entry| {
                        let mark = match entry.status {
                            PlanEntryStatus::Completed => "[x]",
                            PlanEntryStatus::InProgress => "[~]",
                            PlanEntryStatus::Pending => "[ ]",
                        };
                        format!("{mark} {}", without_ansi(&entry.content))
                    })
                    .collect();
                let line = format!("plan: {}", steps.join(", "));
                if !self.transcript.is_empty() && !self.transcript.ends_with('\n') {
                    self.transcript.push('\n');
                }
                self.transcript.push_str(&line);
                self.transcript.push('\n');
                self.activity(line);
            }
            SessionUpdate::ToolCall {
                tool_call_id,
                title,
                status,
                locations,
                raw_input,
            } => {
                self.remember_paths(&tool_call_id, locations, raw_input);
                let title = without_ansi(&title);
                self.tool_titles.insert(tool_call_id, title.clone());
                let status = status.unwrap_or(ToolCallStatus::Pending);
                self.activity(format!("tool: {title} ({})", status_name(status)));
            }
            SessionUpdate::ToolCallUpdate {
                tool_call_id,
                title,
                status,
                locations,
                raw_input,
            } => {
                self.remember_paths(&tool_call_id, locations, raw_input);
                if let Some(title) = title {
                    self.tool_titles
                        .insert(tool_call_id.clone(), without_ansi(&title));
                }
                if let Some(status) = status {
                    let title = self
                        .tool_titles
                        .get(&tool_call_id)
                        .cloned()
                        .unwrap_or(tool_call_id);
                    self.activity(format!("tool: {title} ({})", status_name(status)));
                }
            }
            SessionUpdate::UsageUpdate { used, size, cost } => {
                self.context_used = Some(used);
                let cost = cost.map_or_else(String::new, |cost| {
                    format!(", {:.2} {} so far", cost.amount, cost.currency)
                });
                self.activity(format!("context: {used} of {size} tokens{cost}"));
            }
            SessionUpdate::AgentMessageChunk { .. } | SessionUpdate::Other => {}
        }
    }

    /// Keeps the files a tool call's update names, for a permission request
    /// about it that names none.
    fn remember_paths(
        &mut self,
        tool_call_id: &str,
        locations: Option<Vec<schema::ToolCallLocation>>,
        raw_input: Option<Value>,
    ) {
        let mut paths: Vec<PathBuf> = locations
            .into_iter()
            .flatten()
            .map(|location| location.path)
            .collect();
        if let Some(raw_input) = &raw_input {
            paths.extend(permission::paths_in_raw_input(&self.root, raw_input));
        }
        if !paths.is_empty() {
            self.tool_paths
                .entry(tool_call_id.to_owned())
                .or_default()
                .extend(paths);
        }
    }

    fn activity(&self, line: String) {
        (self.events)(AgentEvent::Activity(line));
    }

    fn send(&self, line: String) {
        // The writer stops only when the agent's stdin closed; reading its
        // output then ends the turn.
        let _ = self.outgoing.send(line);
    }
}

fn status_name(status: ToolCallStatus) -> &'static str {
    match status {
        ToolCallStatus::Pending => "pending",
        ToolCallStatus::InProgress => "in progress",
        ToolCallStatus::Completed => "completed",
        ToolCallStatus::Failed => "failed",
    }
}

fn parse_params<Params: DeserializeOwned>(params: Value) -> Result<Params, RpcError> {
    serde_json::from_value(params).map_err(|error| RpcError::new(INVALID_PARAMS, error.to_string()))
}

fn to_value(answer: &impl Serialize) -> Result<Value, RpcError> {
    serde_json::to_value(answer)
        .map_err(|error| RpcError::new(jsonrpc::INTERNAL_ERROR, error.to_string()))
}

/// Keeps the end of the agent's stderr for a failure's explanation.
async fn collect_stderr(mut stderr: ChildStderr, log: Arc<Mutex<Vec<u8>>>) {
    let mut buffer = vec![0u8; 8192];
    while let Ok(read) = stderr.read(&mut buffer).await {
        if read == 0 {
            break;
        }
        let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
        log.extend_from_slice(&buffer[..read]);
        let excess = log.len().saturating_sub(STDERR_KEPT_BYTES);
        log.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    const INITIALIZED: &str = r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":1}}"#;
    const SESSION: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"sessionId":"s"}}"#;

    /// Runs a shell script as the agent in a fresh folder; returns the result,
    /// the events it caused, and the folder.
    async fn run(
        script: &str,
        timeout: Duration,
    ) -> (
        Result<String, CommandError>,
        Vec<AgentEvent>,
        tempfile::TempDir,
    ) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let settings = CommandSettings {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            env: vec![],
            keep_sandbox: false,
            writable: vec![],
            own_files: vec![],
            network: true,
        };
        let launch = AcpLaunch {
            agent: "fake",
            settings: &settings,
            timeout,
            prompt: "do it",
            working_dir: dir.path(),
            group_file: None,
            confinement: &Confinement::Unconfined,
        };
        let events = Mutex::new(Vec::new());
        let sink = |event: AgentEvent| events.lock().expect("unpoisoned").push(event);
        let result = run_acp(&launch, &sink, &|_| {}, &CancellationToken::new()).await;
        (result, events.into_inner().expect("unpoisoned"), dir)
    }

    #[tokio::test]
    async fn a_turn_streams_the_agent_s_text_and_refuses_unknown_methods() {
        let script = format!(
            "read l; echo '{INITIALIZED}'; read l; echo '{SESSION}'; read l; \
             echo '{{\"jsonrpc\":\"2.0\",\"method\":\"session/update\",\"params\":{{\"sessionId\":\"s\",\"update\":{{\"sessionUpdate\":\"agent_message_chunk\",\"content\":{{\"type\":\"text\",\"text\":\"done\"}}}}}}}}'; \
             echo '{{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"terminal/create\",\"params\":{{}}}}'; \
             read answer; echo \"$answer\" > answer.json; \
             echo '{{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{{\"stopReason\":\"end_turn\"}}}}'; read l"
        );
        let (result, events, dir) = run(&script, Duration::from_secs(10)).await;
        assert_eq!(result, Ok("done".to_owned()));
        assert_eq!(events, [AgentEvent::Delta("done".into())]);
        let answer = std::fs::read_to_string(dir.path().join("answer.json")).expect("answered");
        let answer: Value = serde_json::from_str(&answer).expect("JSON");
        assert_eq!(answer["id"], 9);
        assert_eq!(answer["error"]["code"], METHOD_NOT_FOUND);
    }

    /// A fake agent's turn: the `session/update`s given (as JSON), then the
    /// prompt's answer `result`.
    fn turn_script(updates: &[&str], result: &str) -> String {
        let updates: String = updates
            .iter()
            .map(|update| {
                format!(
                    "printf '%s\\n' '{{\"jsonrpc\":\"2.0\",\"method\":\"session/update\",\"params\":{{\"sessionId\":\"s\",\"update\":{update}}}}}'; "
                )
            })
            .collect();
        format!(
            "read l; echo '{INITIALIZED}'; read l; echo '{SESSION}'; read l; {updates}\
             printf '%s\\n' '{{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{result}}}'; read l"
        )
    }

    #[tokio::test]
    async fn the_turn_s_usage_is_reported_and_its_text_is_plain() {
        let script = turn_script(
            &[
                r#"{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"\u001b[1mDone\u001b["}}"#,
                r#"{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"0m."}}"#,
                r#"{"sessionUpdate":"tool_call","toolCallId":"t","title":"\u001b[32mwrite\u001b[0m","status":"completed"}"#,
                r#"{"sessionUpdate":"usage_update","used":900,"size":200000}"#,
            ],
            r#"{"stopReason":"end_turn","usage":{"inputTokens":1200,"outputTokens":34,"totalTokens":1234}}"#,
        );
        let (result, events, _dir) = run(&script, Duration::from_secs(10)).await;
        assert_eq!(result, Ok("Done.".to_owned()));
        assert_eq!(
            events,
            [
                AgentEvent::Delta("Done".into()),
                AgentEvent::Delta(".".into()),
                AgentEvent::Activity("tool: write (completed)".into()),
                AgentEvent::Activity("context: 900 of 200000 tokens".into()),
                AgentEvent::Usage(TokenUsage {
                    prompt_tokens: 1200,
                    completion_tokens: 34,
                    cost_usd: None,
                }),
            ]
        );
    }

    #[tokio::test]
    async fn without_a_turn_count_the_context_used_is_the_input_counted() {
        let script = turn_script(
            &[r#"{"sessionUpdate":"usage_update","used":900,"size":200000}"#],
            r#"{"stopReason":"end_turn"}"#,
        );
        let (_, events, _dir) = run(&script, Duration::from_secs(10)).await;
        assert_eq!(
            events.last(),
            Some(&AgentEvent::Usage(TokenUsage {
                prompt_tokens: 900,
                completion_tokens: 0,
                cost_usd: None,
            }))
        );
        let script = turn_script(&[], r#"{"stopReason":"end_turn"}"#);
        let (_, events, _dir) = run(&script, Duration::from_secs(10)).await;
        assert!(
            !events
                .iter()
                .any(|event| matches!(event, AgentEvent::Usage(_))),
            "no count is no usage: {events:?}"
        );
    }

    #[tokio::test]
    async fn another_protocol_version_fails_the_run() {
        let script =
            r#"read l; echo '{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":2}}'; read l"#;
        let (result, _, _dir) = run(script, Duration::from_secs(10)).await;
        let Err(CommandError::Failed(reason)) = result else {
            panic!("expected a failure, got {result:?}");
        };
        assert!(
            reason.starts_with("agent `fake` speaks ACP version 2; Director speaks version 1"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn an_error_answer_fails_the_run_with_the_agent_s_stderr() {
        let script = r#"read l; echo 'no credentials found' >&2; echo '{"jsonrpc":"2.0","id":0,"error":{"code":-32000,"message":"Authentication required"}}'; read l"#;
        let (result, _, _dir) = run(script, Duration::from_secs(10)).await;
        let Err(CommandError::Failed(reason)) = result else {
            panic!("expected a failure, got {result:?}");
        };
        assert!(
            reason.starts_with(
                "agent `fake` answered initialize with an error: Authentication required (JSON-RPC error -32000)"
            ),
            "{reason}"
        );
        assert!(reason.ends_with("no credentials found"), "{reason}");
    }

    #[tokio::test]
    async fn a_timeout_cancels_the_session_then_kills_the_agent() {
        let script = format!(
            "read l; echo '{INITIALIZED}'; read l; echo '{SESSION}'; read l; \
             echo 'still thinking' >&2; read cancel; echo \"$cancel\" > cancel.json; sleep 30"
        );
        let started = std::time::Instant::now();
        let (result, _, dir) = run(&script, Duration::from_millis(500)).await;
        let Err(CommandError::Failed(reason)) = result else {
            panic!("expected a failure, got {result:?}");
        };
        assert!(reason.contains("did not finish within 0 s"), "{reason}");
        assert!(reason.ends_with("still thinking"), "{reason}");
        let cancel = std::fs::read_to_string(dir.path().join("cancel.json")).expect("a cancel");
        let cancel: Value = serde_json::from_str(&cancel).expect("JSON");
        assert_eq!(cancel["method"], "session/cancel");
        assert_eq!(cancel["params"]["sessionId"], "s");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
