//! The state the language server keeps between requests, beyond the engine:
//! what was negotiated with the client and the diagnostics it publishes.

use super::convert::{uri_from_url, url_from_uri};
use super::diagnostics;
use super::spec_sync::SpecState;
use super::task_runs::TaskRuns;
use crate::config::ConfigProblem;
use crate::document::PositionEncoding;
use crate::run::engine::Engine;
use crate::run::event::RunEvent;
use crate::spec::lint::lint_file;
use crate::workspace::lock;
use futures_util::FutureExt;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::mpsc;
use tower_lsp_server::Client;
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::{Diagnostic, MessageType, Uri};
use url::Url;

/// What the client said it supports, as far as Director cares.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientSupport {
    pub work_done_progress: bool,
    pub code_lens_refresh: bool,
    /// Whether `workspace/didChangeWatchedFiles` can be registered at run time.
    pub watched_files_registration: bool,
    /// Whether a workspace edit may create files (`resourceOperations`).
    pub create_files: bool,
    /// Whether a workspace edit may delete files (`resourceOperations`).
    pub delete_files: bool,
}

/// Everything fixed at `initialize`.
pub struct Session {
    pub engine: Arc<Engine>,
    pub encoding: PositionEncoding,
    pub support: ClientSupport,
    pub root: Option<PathBuf>,
}

/// The server; cheap to clone, so the loop that forwards run events can own one.
#[derive(Clone)]
pub struct Backend {
    pub client: Client,
    pub session: Arc<OnceLock<Session>>,
    /// Run events waiting for `initialized` to start the loop that forwards them.
    pub pending_events: Arc<Mutex<Option<mpsc::UnboundedReceiver<RunEvent>>>>,
    /// Problems in config files, published as diagnostics on those files.
    pub config_problems: Arc<Mutex<HashMap<Url, Vec<ConfigProblem>>>>,
    /// What the user must hear about once the editor can be told (`initialized`):
    /// a journal that could not be read whole or kept in the workspace.
    pub startup_notices: Arc<Mutex<Vec<String>>>,
    /// The spec index and lint policy; see [`super::spec_sync`].
    pub spec: Arc<SpecState>,
    /// Runs started from tasks, whose boxes follow them; see [`super::task_runs`].
    pub task_runs: Arc<TaskRuns>,
}

impl Backend {
    pub fn new(client: Client) -> Backend {
        Backend {
            client,
            session: Arc::new(OnceLock::new()),
            pending_events: Arc::new(Mutex::new(None)),
            config_problems: Arc::new(Mutex::new(HashMap::new())),
            startup_notices: Arc::new(Mutex::new(Vec::new())),
            spec: Arc::new(SpecState::new()),
            task_runs: Arc::new(TaskRuns::default()),
        }
    }

    pub fn session(&self) -> jsonrpc::Result<&Session> {
        self.session
            .get()
            .ok_or_else(|| jsonrpc::Error::new(jsonrpc::ErrorCode::ServerError(-32002)))
    }

    /// Publishes every diagnostic Director has for a document (proposals, config
    /// problems and spec lint findings together), so that no source wipes another's.
    pub async fn publish(&self, url: &Url) {
        let Ok(session) = self.session() else { return };
        let (mut all, version) = {
            let workspace = lock(&session.engine.workspace);
            let version = workspace
                .documents
                .get(url)
                .map(|document| document.version);
            (
                diagnostics::proposal_diagnostics(&workspace, url, session.encoding),
                version,
            )
        };
        if let Some(problems) = lock(&self.config_problems).get(url) {
            let workspace = lock(&session.engine.workspace);
            all.extend(diagnostics::config_diagnostics(
                workspace.documents.get(url),
                problems,
                session.encoding,
            ));
        }
        all.extend(self.lint_diagnostics(url));
        match uri_from_url(url) {
            Ok(uri) => self.client.publish_diagnostics(uri, all, version).await,
            Err(_) => tracing::error!("cannot publish diagnostics for {url}"),
        }
        if session.support.code_lens_refresh {
            let _ = self.client.code_lens_refresh().await;
        }
    }

    /// Runs a request handler, turning a panic into an internal error and a
    /// message instead of a dead server.
    pub async fn guard<T>(
        &self,
        method: &str,
        handler: impl Future<Output = jsonrpc::Result<T>>,
    ) -> jsonrpc::Result<T> {
        match AssertUnwindSafe(handler).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => {
                let detail = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("no details");
                tracing::error!("{method} panicked: {detail}");
                self.client
                    .show_message(
                        MessageType::ERROR,
                        format!("Director hit an internal error in {method}: {detail}"),
                    )
                    .await;
                Err(jsonrpc::Error::internal_error())
            }
        }
    }

    /// Lint findings on an open document, computed from the index (which holds the
    /// buffer's text); none for files the index does not read, and none before the
    /// index is first built.
    fn lint_diagnostics(&self, url: &Url) -> Vec<Diagnostic> {
        let Ok(session) = self.session() else {
            return Vec::new();
        };
        if !self.spec.is_built() {
            return Vec::new();
        }
        let (Ok(path), Some(document)) = (url.to_file_path(), self.open_document(url)) else {
            return Vec::new();
        };
        let policy = self.spec.policy();
        let findings = {
            let index = self.spec.index();
            let current = index
                .spec(&path)
                .map(|spec| spec.text.clone())
                .or_else(|| index.code_file(&path).map(|code| code.text.clone()));
            if current.is_none_or(|text| document.text != *text) {
                return Vec::new();
            }
            lint_file(&index, &path, &policy)
        };
        diagnostics::lint_diagnostics(&document, &findings, session.encoding)
    }

    pub fn url(&self, uri: &Uri) -> jsonrpc::Result<Url> {
        url_from_uri(uri)
    }
}
