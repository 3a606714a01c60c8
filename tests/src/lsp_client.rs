//! An LSP client that drives a real server process over stdio, for e2e tests.
//!
//! It behaves like a small but strict editor: it keeps its own copy of every
//! open document, answers the server's requests (applying
//! `workspace/applyEdit` to its buffers and reporting the change back with
//! `didChange`, refusing stale versions), and records everything it receives
//! so tests can assert on it. Every wait has a timeout, and every failure
//! panics with the recent traffic and the server's stderr, so a failing e2e
//! test explains itself.
//!
//! ```no_run
//! use director_e2e::{LspClient, ResponseError, file_uri, secs};
//! use serde_json::{Value, json};
//!
//! async fn delegate(workspace: &std::path::Path) -> Result<(), ResponseError> {
//!     let mut client = LspClient::start(workspace).await;
//!     client.initialize(&file_uri(workspace), true, Value::Null).await;
//!     let uri = file_uri(workspace.join("src/lib.rs"));
//!     client.open(&uri, "rust", "fn answer() -> u32 { 41 }\n").await;
//!     let command = json!({ "command": "director.delegate", "arguments": [] });
//!     client.request("workspace/executeCommand", command).await?;
//!     let has_proposal = |params: &Value| {
//!         params["uri"] == uri.as_str()
//!             && params["diagnostics"].as_array().is_some_and(|diagnostics| {
//!                 diagnostics.iter().any(|diagnostic| diagnostic["code"] == "proposal")
//!             })
//!     };
//!     client.wait_notification("textDocument/publishDiagnostics", has_proposal, secs(10)).await;
//!     client.shutdown_and_exit().await;
//!     Ok(())
//! }
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use crate::binary::director_binary;
use crate::client_documents::ClientDocuments;
use crate::lsp_framing::{encode_message, read_message_body};
use crate::lsp_positions::{PositionEncoding, Range};

/// How long `request` waits for an answer before it panics.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long `shutdown_and_exit` gives the server to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Messages kept for failure reports, and how many of them a report shows.
const TRAFFIC_KEPT: usize = 200;
const TRAFFIC_SHOWN: usize = 40;
const TRAFFIC_ENTRY_MAX_CHARS: usize = 1500;
const STDERR_SHOWN_BYTES: usize = 8192;

/// A running language server and the editor-like state the client keeps.
pub struct LspClient {
    child: Child,
    shared: Arc<Shared>,
    /// The tasks reading the server's stdout and stderr: they end at the
    /// pipes' end, after the server exits.
    pipe_readers: Vec<tokio::task::JoinHandle<()>>,
    next_request_id: AtomicI64,
    /// Holds the HOME and XDG directories the server sees; removed on drop.
    isolated_home: TempDir,
}

/// A JSON-RPC error the server answered a request with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResponseError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

/// A request the server sent to the client, and what the client answered.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedServerRequest {
    pub method: String,
    pub params: Value,
    pub answer: Result<Value, ResponseError>,
}

impl LspClient {
    /// Starts the real `director lsp` in `workspace`.
    pub async fn start(workspace: &Path) -> LspClient {
        LspClient::start_with_env(workspace, &[]).await
    }

    /// Starts the real `director lsp` in `workspace` with extra environment
    /// variables (API keys, mock endpoints).
    pub async fn start_with_env(workspace: &Path, env: &[(&str, &str)]) -> LspClient {
        LspClient::spawn(&director_binary(), &["lsp"], workspace, env).await
    }

    /// Starts any stdio language server.
    ///
    /// The environment is hermetic: only `PATH`, `RUST_LOG` and
    /// `RUST_BACKTRACE` are inherited, `HOME` and the XDG directories point
    /// into a private temporary directory (see [`LspClient::home_dir`]), and
    /// `env` is added last.
    pub async fn spawn(
        program: &Path,
        args: &[&str],
        cwd: &Path,
        env: &[(&str, &str)],
    ) -> LspClient {
        let isolated_home = tempfile::Builder::new()
            .prefix("director-e2e-home")
            .tempdir()
            .expect("cannot create a home directory for the server");
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for inherited in ["PATH", "RUST_LOG", "RUST_BACKTRACE"] {
            if let Some(value) = std::env::var_os(inherited) {
                command.env(inherited, value);
            }
        }
        for (variable, directory) in [
            ("HOME", "home"),
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_DATA_HOME", "data"),
            ("XDG_STATE_HOME", "state"),
            ("XDG_CACHE_HOME", "cache"),
        ] {
            let path = isolated_home.path().join(directory);
            std::fs::create_dir_all(&path).expect("cannot create an XDG directory");
            command.env(variable, path);
        }
        command.envs(env.iter().copied());
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {} {args:?}: {error}", program.display()));
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (arrivals, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new()),
            writer: tokio::sync::Mutex::new(stdin),
            arrivals,
            stderr: Mutex::new(Vec::new()),
            program: format!("{} {}", program.display(), args.join(" ")),
        });
        let pipe_readers = vec![
            tokio::spawn(read_server_messages(Arc::clone(&shared), stdout)),
            tokio::spawn(collect_stderr(Arc::clone(&shared), stderr)),
        ];
        LspClient {
            child,
            shared,
            pipe_readers,
            next_request_id: AtomicI64::new(1),
            isolated_home,
        }
    }

    /// The server's process id, for measuring its memory and CPU; `None` once
    /// it has exited.
    pub fn server_pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The private directory holding the server's `HOME` (`home/`) and XDG
    /// directories (`config/`, `data/`, `state/`, `cache/`).
    pub fn home_dir(&self) -> &Path {
        self.isolated_home.path()
    }

    /// Runs `initialize` then `initialized` and returns the initialize result.
    ///
    /// The client offers `utf-16`, and `utf-8` first when `offer_utf8`; it
    /// adopts the encoding the server picks and panics if the server picks
    /// one it was not offered.
    pub async fn initialize(
        &self,
        root_uri: &str,
        offer_utf8: bool,
        initialization_options: Value,
    ) -> Value {
        let offered: &[&str] = if offer_utf8 {
            &["utf-8", "utf-16"]
        } else {
            &["utf-16"]
        };
        let creates_files = self.shared.lock().documents.edit_unopened_files;
        let mut params = initialize_params(root_uri, offered, creates_files);
        if !initialization_options.is_null() {
            params["initializationOptions"] = initialization_options;
        }
        let result = match self.request("initialize", params).await {
            Ok(result) => result,
            Err(error) => panic!(
                "{}",
                self.failure_report(&format!("initialize failed: {error}"))
            ),
        };
        let chosen = result["capabilities"]["positionEncoding"]
            .as_str()
            .unwrap_or("utf-16");
        let encoding = match PositionEncoding::from_lsp_name(chosen) {
            Some(encoding) if offered.contains(&chosen) => encoding,
            _ => panic!(
                "the server chose positionEncoding {chosen:?}, but the client offered {offered:?}"
            ),
        };
        self.shared.lock().documents.encoding = encoding;
        self.notify("initialized", json!({})).await;
        result
    }

    /// The position encoding the server chose (utf-16 before `initialize`).
    pub fn position_encoding(&self) -> PositionEncoding {
        self.shared.lock().documents.encoding
    }

    /// Sends a request and waits up to [`DEFAULT_REQUEST_TIMEOUT`] for its answer.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, ResponseError> {
        self.request_with_timeout(method, params, DEFAULT_REQUEST_TIMEOUT)
            .await
    }

    /// Sends a request and waits up to `timeout` for its answer; panics with
    /// a traffic report if none comes.
    pub async fn request_with_timeout(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, ResponseError> {
        let id = self.next_request_id.fetch_add(1, Ordering::Relaxed);
        let (answer_sender, answer_receiver) = oneshot::channel();
        self.shared
            .lock()
            .pending_requests
            .insert(id, answer_sender);
        let mut message = json!({ "jsonrpc": "2.0", "id": id, "method": method });
        if !params.is_null() {
            message["params"] = params;
        }
        self.send_or_panic(&message).await;
        match tokio::time::timeout(timeout, answer_receiver).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => panic!(
                "{}",
                self.failure_report(&format!(
                    "the server stopped before answering {method} (id {id})"
                ))
            ),
            Err(_) => panic!(
                "{}",
                self.failure_report(&format!(
                    "no answer to {method} (id {id}) within {timeout:?}"
                ))
            ),
        }
    }

    /// Sends a notification.
    pub async fn notify(&self, method: &str, params: Value) {
        let mut message = json!({ "jsonrpc": "2.0", "method": method });
        if !params.is_null() {
            message["params"] = params;
        }
        self.send_or_panic(&message).await;
    }

    /// Writes bytes to the server's stdin as they are, for malformed-input tests.
    pub async fn send_raw(&self, bytes: &[u8]) {
        let mut writer = self.shared.writer.lock().await;
        self.shared
            .lock()
            .record_traffic(format!("-> raw {:?}", String::from_utf8_lossy(bytes)));
        let written = match writer.write_all(bytes).await {
            Ok(()) => writer.flush().await,
            Err(error) => Err(error),
        };
        drop(writer);
        if let Err(error) = written {
            panic!(
                "{}",
                self.failure_report(&format!("cannot write to the server: {error}"))
            );
        }
    }

    /// Opens a document at version 1 and sends `didOpen`.
    pub async fn open(&self, uri: &str, language_id: &str, text: &str) {
        let mut writer = self.shared.writer.lock().await;
        let params = self.shared.lock().documents.open(uri, language_id, text);
        let message =
            json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": params });
        self.write_or_panic(&mut writer, &message).await;
    }

    /// Replaces `range` (in the negotiated encoding) with `new_text`, bumps
    /// the version and sends an incremental `didChange`.
    pub async fn change(&self, uri: &str, range: Value, new_text: &str) {
        let range: Range = serde_json::from_value(range).expect("change needs an LSP range");
        let mut writer = self.shared.writer.lock().await;
        let changed = self.shared.lock().documents.change(uri, range, new_text);
        let params = match changed {
            Ok(params) => params,
            Err(error) => panic!("cannot change {uri}: {error:#}"),
        };
        let message =
            json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": params });
        self.write_or_panic(&mut writer, &message).await;
    }

    /// Forgets a document and sends `didClose`.
    pub async fn close(&self, uri: &str) {
        let mut writer = self.shared.writer.lock().await;
        let closed = self.shared.lock().documents.close(uri);
        let params = match closed {
            Ok(params) => params,
            Err(error) => panic!("cannot close {uri}: {error:#}"),
        };
        let message =
            json!({ "jsonrpc": "2.0", "method": "textDocument/didClose", "params": params });
        self.write_or_panic(&mut writer, &message).await;
    }

    /// The client's current text of an open document.
    pub fn text(&self, uri: &str) -> String {
        match self.shared.lock().documents.get(uri) {
            Some(document) => document.text.clone(),
            None => panic!("{uri} is not open"),
        }
    }

    /// The client's current version of an open document.
    pub fn version(&self, uri: &str) -> i32 {
        match self.shared.lock().documents.get(uri) {
            Some(document) => document.version,
            None => panic!("{uri} is not open"),
        }
    }

    /// With `true`, every later `workspace/applyEdit` is answered
    /// `applied: false` and changes nothing, as when a user dismisses the
    /// edit; `false` goes back to applying edits.
    pub fn set_refuse_edits(&self, refuse: bool) {
        self.shared.lock().refuse_edits = refuse;
    }

    /// With `true`, every later `workspace/applyEdit` changes the buffers but
    /// is neither reported in a `didChange` nor answered, as when the editor
    /// applies an edit and the server dies before hearing of it; the test
    /// then kills the server.
    pub fn set_hold_edits(&self, hold: bool) {
        self.shared.lock().hold_edits = hold;
    }

    /// With `true`, applied workspace edits are reported as the whole new
    /// text (see [`ClientDocuments::whole_text_changes`]).
    pub fn set_report_whole_text(&self, whole_text: bool) {
        self.shared.lock().documents.whole_text_changes = whole_text;
    }

    /// With `true`, workspace edits for files that are not open are applied
    /// on disk (see [`ClientDocuments::edit_unopened_files`]); set before
    /// `initialize`, the client also advertises that it creates files.
    pub fn set_edit_unopened_files(&self, on_disk: bool) {
        self.shared.lock().documents.edit_unopened_files = on_disk;
    }

    /// Answers every later `window/showMessageRequest` that offers an action
    /// titled `title` with that action, as a user clicking it; `None` (the
    /// default) dismisses them, answering null.
    pub fn set_message_request_choice(&self, title: Option<&str>) {
        self.shared.lock().message_request_choice = title.map(str::to_owned);
    }

    /// Returns the params of the first notification `method` that matches
    /// `predicate` and has not been returned by an earlier wait, waiting up
    /// to `timeout` for it to arrive.
    pub async fn wait_notification(
        &self,
        method: &str,
        predicate: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Value {
        self.wait_for(
            &format!("a matching {method} notification"),
            timeout,
            |state| {
                let position =
                    state
                        .unconsumed_notifications
                        .iter()
                        .position(|(queued_method, params)| {
                            queued_method == method && predicate(params)
                        })?;
                state
                    .unconsumed_notifications
                    .remove(position)
                    .map(|(_, params)| params)
            },
        )
        .await
    }

    /// Returns the first request `method` from the server that matches
    /// `predicate` and has not been returned by an earlier wait, waiting up
    /// to `timeout` for it. The client has already answered it.
    pub async fn wait_server_request(
        &self,
        method: &str,
        predicate: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> RecordedServerRequest {
        self.wait_for(
            &format!("a matching {method} request from the server"),
            timeout,
            |state| {
                let position = state
                    .unconsumed_server_requests
                    .iter()
                    .position(|request| request.method == method && predicate(&request.params))?;
                state.unconsumed_server_requests.remove(position)
            },
        )
        .await
    }

    /// The params of every notification `method` received so far, in order.
    pub fn notifications(&self, method: &str) -> Vec<Value> {
        let state = self.shared.lock();
        let matching = state
            .received
            .iter()
            .filter(|message| message["method"] == method && message.get("id").is_none());
        matching
            .map(|message| message.get("params").cloned().unwrap_or(Value::Null))
            .collect()
    }

    /// Every request `method` the server sent so far, with the client's answer.
    pub fn server_requests(&self, method: &str) -> Vec<RecordedServerRequest> {
        let state = self.shared.lock();
        state
            .server_requests
            .iter()
            .filter(|request| request.method == method)
            .cloned()
            .collect()
    }

    /// Every message received from the server so far, in order.
    pub fn received_messages(&self) -> Vec<Value> {
        self.shared.lock().received.clone()
    }

    /// Problems reading the server's output: bad frames, bad JSON, answers
    /// to unknown ids. A well-behaved server leaves this empty.
    pub fn protocol_errors(&self) -> Vec<String> {
        self.shared.lock().protocol_errors.clone()
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.shared.lock_stderr()).into_owned()
    }

    /// Sends `shutdown` and `exit` and asserts the server exits with 0.
    pub async fn shutdown_and_exit(&mut self) {
        if let Err(error) = self.request("shutdown", Value::Null).await {
            panic!(
                "{}",
                self.failure_report(&format!("shutdown failed: {error}"))
            );
        }
        self.notify("exit", Value::Null).await;
        let status = self.wait_for_exit(EXIT_TIMEOUT).await;
        if !status.success() {
            panic!(
                "{}",
                self.failure_report(&format!(
                    "the server exited with {status} after shutdown and exit"
                ))
            );
        }
    }

    /// Waits for the server to exit by itself and for what it wrote before
    /// to be read (messages and stderr); panics after `timeout`.
    pub async fn wait_for_exit(&mut self, timeout: Duration) -> ExitStatus {
        let exited = async {
            let status = self.child.wait().await;
            // A process the server left behind may still hold its pipes open:
            // what the server wrote is in by the time they end, or soon after.
            let readers = futures_util::future::join_all(self.pipe_readers.drain(..));
            let _ = tokio::time::timeout(Duration::from_secs(2), readers).await;
            status
        };
        match tokio::time::timeout(timeout, exited).await {
            Ok(Ok(status)) => status,
            Ok(Err(error)) => panic!("cannot wait for the server: {error}"),
            Err(_) => panic!(
                "{}",
                self.failure_report(&format!("the server did not exit within {timeout:?}"))
            ),
        }
    }

    /// Kills the server with SIGKILL, as a crash would, and reaps it.
    pub async fn kill(&mut self) -> ExitStatus {
        if let Err(error) = self.child.start_kill() {
            panic!("cannot kill the server: {error}");
        }
        self.wait_for_exit(EXIT_TIMEOUT).await
    }

    /// A description of recent traffic and stderr, headed by `headline`;
    /// every panic in this client carries one.
    pub fn failure_report(&self, headline: &str) -> String {
        let state = self.shared.lock();
        let mut report = format!("{headline}\nserver: {}\n", self.shared.program);
        let shown = state.traffic.len().min(TRAFFIC_SHOWN);
        report += &format!(
            "--- last {shown} of {} messages (-> to server, <- from server):\n",
            state.traffic_total
        );
        for entry in state.traffic.iter().skip(state.traffic.len() - shown) {
            report += entry;
            report.push('\n');
        }
        if !state.protocol_errors.is_empty() {
            report += &format!(
                "--- protocol errors:\n{}\n",
                state.protocol_errors.join("\n")
            );
        }
        if let Some(reason) = &state.reader_stopped {
            report += &format!("--- reading stopped: {reason}\n");
        }
        drop(state);
        let stderr = self.shared.lock_stderr();
        let stderr_start = stderr.len().saturating_sub(STDERR_SHOWN_BYTES);
        report += &format!(
            "--- server stderr ({} bytes, last {} shown):\n",
            stderr.len(),
            stderr.len() - stderr_start
        );
        report += &String::from_utf8_lossy(&stderr[stderr_start..]);
        report
    }

    async fn send_or_panic(&self, message: &Value) {
        let mut writer = self.shared.writer.lock().await;
        self.write_or_panic(&mut writer, message).await;
    }

    async fn write_or_panic(&self, writer: &mut ChildStdin, message: &Value) {
        if let Err(error) = write_message(&self.shared, writer, message).await {
            panic!(
                "{}",
                self.failure_report(&format!("cannot write to the server: {error}"))
            );
        }
    }

    /// Polls `take` on every arrival until it yields, the server's output
    /// ends, or `timeout` passes.
    async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut take: impl FnMut(&mut State) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        let mut arrivals = self.shared.arrivals.subscribe();
        loop {
            arrivals.borrow_and_update();
            let stopped = {
                let mut state = self.shared.lock();
                if let Some(found) = take(&mut state) {
                    return found;
                }
                state.reader_stopped.is_some()
            };
            if stopped {
                panic!(
                    "{}",
                    self.failure_report(&format!(
                        "waiting for {what}, but the server's output ended"
                    ))
                );
            }
            if tokio::time::timeout_at(deadline, arrivals.changed())
                .await
                .is_err()
            {
                panic!(
                    "{}",
                    self.failure_report(&format!("no {what} within {timeout:?}"))
                );
            }
        }
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} (code {})", self.message, self.code)?;
        if let Some(data) = &self.data {
            write!(formatter, " data: {data}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ResponseError {}

/// State shared by the test, the reader task and the stderr task.
struct Shared {
    state: Mutex<State>,
    /// Held across a buffer change and the `didChange` that reports it, so
    /// versions reach the server in order.
    writer: tokio::sync::Mutex<ChildStdin>,
    /// Bumped after every message received and when reading stops.
    arrivals: watch::Sender<u64>,
    stderr: Mutex<Vec<u8>>,
    program: String,
}

impl Shared {
    /// Locks the state even after a panicking test poisoned it, so failure
    /// reports can still be written.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_stderr(&self) -> MutexGuard<'_, Vec<u8>> {
        self.stderr.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct State {
    documents: ClientDocuments,
    pending_requests: HashMap<i64, oneshot::Sender<Result<Value, ResponseError>>>,
    received: Vec<Value>,
    unconsumed_notifications: VecDeque<(String, Value)>,
    server_requests: Vec<RecordedServerRequest>,
    unconsumed_server_requests: VecDeque<RecordedServerRequest>,
    refuse_edits: bool,
    hold_edits: bool,
    /// The title of the action `window/showMessageRequest` is answered with
    /// when the request offers it; otherwise the answer is null (dismissed).
    message_request_choice: Option<String>,
    /// The last `TRAFFIC_KEPT` messages both ways, abbreviated.
    traffic: VecDeque<String>,
    traffic_total: usize,
    protocol_errors: Vec<String>,
    reader_stopped: Option<String>,
}

impl State {
    fn new() -> State {
        State {
            documents: ClientDocuments::new(PositionEncoding::Utf16),
            pending_requests: HashMap::new(),
            received: Vec::new(),
            unconsumed_notifications: VecDeque::new(),
            server_requests: Vec::new(),
            unconsumed_server_requests: VecDeque::new(),
            refuse_edits: false,
            hold_edits: false,
            message_request_choice: None,
            traffic: VecDeque::new(),
            traffic_total: 0,
            protocol_errors: Vec::new(),
            reader_stopped: None,
        }
    }

    fn record_traffic(&mut self, mut entry: String) {
        if let Some((cut, _)) = entry.char_indices().nth(TRAFFIC_ENTRY_MAX_CHARS) {
            entry.truncate(cut);
            entry += " …";
        }
        if self.traffic.len() == TRAFFIC_KEPT {
            self.traffic.pop_front();
        }
        self.traffic.push_back(entry);
        self.traffic_total += 1;
    }
}

/// What the client advertises: what a capable editor supports, minus
/// resource operations in workspace edits, which it cannot apply, except
/// creating files when it edits files on disk.
fn initialize_params(root_uri: &str, position_encodings: &[&str], creates_files: bool) -> Value {
    let resource_operations: &[&str] = if creates_files { &["create"] } else { &[] };
    let root_name = root_uri
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("workspace");
    json!({
        "processId": std::process::id(),
        "clientInfo": { "name": "director-e2e", "version": env!("CARGO_PKG_VERSION") },
        "rootUri": root_uri,
        "workspaceFolders": [{ "uri": root_uri, "name": root_name }],
        "capabilities": {
            "general": { "positionEncodings": position_encodings },
            "workspace": {
                "applyEdit": true,
                "workspaceEdit": { "documentChanges": true, "resourceOperations": resource_operations, "failureHandling": "transactional" },
                "configuration": true,
                "workspaceFolders": true,
                "executeCommand": {},
                "codeLens": { "refreshSupport": true },
            },
            "textDocument": {
                "synchronization": { "didSave": true },
                "publishDiagnostics": {
                    "relatedInformation": true,
                    "versionSupport": true,
                    "tagSupport": { "valueSet": [1, 2] },
                    "codeDescriptionSupport": true,
                    "dataSupport": true,
                },
                "codeAction": {
                    "codeActionLiteralSupport": {
                        "codeActionKind": { "valueSet": ["", "quickfix", "refactor", "refactor.rewrite", "source"] },
                    },
                    "isPreferredSupport": true,
                    "dataSupport": true,
                    "resolveSupport": { "properties": ["edit"] },
                },
                "codeLens": {},
                "hover": { "contentFormat": ["markdown", "plaintext"] },
                "completion": { "completionItem": { "snippetSupport": false } },
                "definition": { "linkSupport": true },
                "references": {},
                "rename": { "prepareSupport": true },
            },
            "window": { "workDoneProgress": true, "showMessage": {} },
        },
    })
}

async fn write_message(
    shared: &Shared,
    writer: &mut ChildStdin,
    message: &Value,
) -> std::io::Result<()> {
    shared.lock().record_traffic(format!("-> {message}"));
    writer.write_all(&encode_message(message)).await?;
    writer.flush().await
}

/// Reads the server's stdout until it ends, dispatching every message.
async fn read_server_messages(shared: Arc<Shared>, stdout: ChildStdout) {
    let mut reader = BufReader::new(stdout);
    let stop_reason = loop {
        let body = match read_message_body(&mut reader).await {
            Ok(Some(body)) => body,
            Ok(None) => break "the server closed its stdout".to_owned(),
            Err(error) => {
                let reason = format!("unreadable frame: {error:#}");
                shared.lock().protocol_errors.push(reason.clone());
                break reason;
            }
        };
        match serde_json::from_slice::<Value>(&body) {
            Ok(message) => dispatch_incoming(&shared, message).await,
            Err(error) => {
                let mut state = shared.lock();
                state.record_traffic(format!(
                    "<- invalid JSON {:?}",
                    String::from_utf8_lossy(&body)
                ));
                state
                    .protocol_errors
                    .push(format!("a message body is not JSON: {error}"));
            }
        }
        shared.arrivals.send_modify(|count| *count += 1);
    };
    let mut state = shared.lock();
    state.reader_stopped = Some(stop_reason);
    // Dropping the senders wakes every request still waiting for an answer.
    state.pending_requests.clear();
    drop(state);
    shared.arrivals.send_modify(|count| *count += 1);
}

async fn collect_stderr(shared: Arc<Shared>, mut stderr: ChildStderr) {
    let mut chunk = [0; 4096];
    while let Ok(bytes_read) = stderr.read(&mut chunk).await {
        if bytes_read == 0 {
            break;
        }
        shared.lock_stderr().extend_from_slice(&chunk[..bytes_read]);
    }
}

async fn dispatch_incoming(shared: &Shared, message: Value) {
    {
        let mut state = shared.lock();
        state.record_traffic(format!("<- {message}"));
        state.received.push(message.clone());
    }
    let method = message
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    match (method, message.get("id")) {
        (Some(method), Some(id)) => answer_server_request(shared, id.clone(), method, params).await,
        (Some(method), None) => shared
            .lock()
            .unconsumed_notifications
            .push_back((method, params)),
        (None, Some(id)) => deliver_response(shared, id, &message),
        (None, None) => shared
            .lock()
            .protocol_errors
            .push(format!("neither request nor response: {message}")),
    }
}

fn deliver_response(shared: &Shared, id: &Value, message: &Value) {
    let mut state = shared.lock();
    let Some(sender) = id
        .as_i64()
        .and_then(|id| state.pending_requests.remove(&id))
    else {
        state
            .protocol_errors
            .push(format!("a response to no pending request: {message}"));
        return;
    };
    let answer = match (message.get("result"), message.get("error")) {
        (Some(result), None) => Ok(result.clone()),
        (None, Some(error)) => match ResponseError::deserialize(error) {
            Ok(error) => Err(error),
            Err(parse_error) => {
                state
                    .protocol_errors
                    .push(format!("malformed error object ({parse_error}): {message}"));
                return;
            }
        },
        _ => {
            state.protocol_errors.push(format!(
                "a response needs exactly one of result and error: {message}"
            ));
            return;
        }
    };
    // The test may have given up waiting; then nobody needs the answer.
    let _ = sender.send(answer);
}

async fn answer_server_request(shared: &Shared, id: Value, method: String, params: Value) {
    if method == "workspace/applyEdit" {
        let mut state = shared.lock();
        if state.hold_edits {
            let held = state.documents.apply_workspace_edit(&params);
            let answer = Ok(json!({ "held": held.is_ok() }));
            state.server_requests.push(RecordedServerRequest {
                method: method.clone(),
                params: params.clone(),
                answer: answer.clone(),
            });
            state
                .unconsumed_server_requests
                .push_back(RecordedServerRequest {
                    method,
                    params,
                    answer,
                });
            return;
        }
    }
    let answer = match method.as_str() {
        "window/workDoneProgress/create"
        | "client/registerCapability"
        | "client/unregisterCapability"
        | "workspace/codeLens/refresh" => Ok(Value::Null),
        "window/showMessageRequest" => {
            let choice = shared.lock().message_request_choice.clone();
            let chosen = choice.and_then(|title| {
                params["actions"]
                    .as_array()?
                    .iter()
                    .find(|action| action["title"] == title.as_str())
                    .cloned()
            });
            Ok(chosen.unwrap_or(Value::Null))
        }
        "workspace/configuration" => {
            let item_count = params["items"].as_array().map_or(0, Vec::len);
            Ok(Value::Array(vec![Value::Null; item_count]))
        }
        "workspace/applyEdit" => Ok(apply_workspace_edit(shared, &params).await),
        _ => Err(ResponseError {
            code: -32601,
            message: format!("the test client does not handle {method}"),
            data: None,
        }),
    };
    let mut response = json!({ "jsonrpc": "2.0", "id": id });
    match &answer {
        Ok(result) => response["result"] = result.clone(),
        Err(error) => {
            response["error"] = json!({ "code": error.code, "message": error.message });
        }
    }
    let recorded = RecordedServerRequest {
        method,
        params,
        answer,
    };
    {
        let mut state = shared.lock();
        state.server_requests.push(recorded.clone());
        state.unconsumed_server_requests.push_back(recorded);
    }
    let mut writer = shared.writer.lock().await;
    // A write error means the server is gone; the reader sees that next.
    let _ = write_message(shared, &mut writer, &response).await;
}

/// Applies the edit like an editor: the buffers change, the server hears
/// about it through `didChange`, and only then gets the answer.
async fn apply_workspace_edit(shared: &Shared, params: &Value) -> Value {
    let mut writer = shared.writer.lock().await;
    let applied = {
        let mut state = shared.lock();
        if state.refuse_edits {
            return json!({ "applied": false, "failureReason": "the test client refuses edits" });
        }
        state.documents.apply_workspace_edit(params)
    };
    match applied {
        Ok(did_change_params) => {
            for params in did_change_params {
                let message = json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": params });
                // A write error means the server is gone; the reader sees that next.
                let _ = write_message(shared, &mut writer, &message).await;
            }
            json!({ "applied": true })
        }
        Err(error) => json!({ "applied": false, "failureReason": format!("{error:#}") }),
    }
}
