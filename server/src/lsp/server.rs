//! The LSP lifecycle and document synchronisation; requests are routed to
//! [`super::handlers`].

use super::backend::{Backend, ClientSupport, Session};
use super::capabilities::server_capabilities;
use super::convert::{encoding_kind, range};
use super::handlers;
use super::progress;
use crate::config::discovery::{DiscoveryInputs, discover};
use crate::config::{self, ConfigProblem};
use crate::document::{ContentChange, Document, DocumentError, PositionEncoding};
use crate::run::engine::Engine;
use crate::run::journal::Journal;
use crate::run::sandbox_cleanup::clean_stale_sandboxes;
use crate::workspace::{Workspace, lock};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;
use tower_lsp_server::LanguageServer;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use url::Url;

/// Whether the client's workspace edits support the resource operation `kind`.
fn supports_resource_operation(params: &InitializeParams, kind: ResourceOperationKind) -> bool {
    params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|workspace| workspace.workspace_edit.as_ref())
        .and_then(|edit| edit.resource_operations.as_ref())
        .is_some_and(|operations| operations.contains(&kind))
}

/// The editor's trust signal: `initializationOptions: { "trusted": true }`.
fn editor_trusts_workspace(params: &InitializeParams) -> bool {
    params
        .initialization_options
        .as_ref()
        .and_then(|options| options.get("trusted"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let encoding = negotiate_encoding(&params);
        let support = ClientSupport {
            work_done_progress: params
                .capabilities
                .window
                .as_ref()
                .and_then(|window| window.work_done_progress)
                .unwrap_or(false),
            code_lens_refresh: params
                .capabilities
                .workspace
                .as_ref()
                .and_then(|workspace| workspace.code_lens.as_ref())
                .and_then(|code_lens| code_lens.refresh_support)
                .unwrap_or(false),
            watched_files_registration: params
                .capabilities
                .workspace
                .as_ref()
                .and_then(|workspace| workspace.did_change_watched_files.as_ref())
                .and_then(|watched| watched.dynamic_registration)
                .unwrap_or(false),
            create_files: supports_resource_operation(&params, ResourceOperationKind::Create),
            delete_files: supports_resource_operation(&params, ResourceOperationKind::Delete),
        };
        let root = workspace_root(&params);
        let mut workspace = Workspace::new(root.clone());
        let journal = match &root {
            Some(root) => {
                let opened = Journal::open(root);
                workspace.restore(opened.open_work);
                lock(&self.startup_notices).extend(opened.notices);
                opened.journal
            }
            None => Journal::in_memory(),
        };
        if let Some(root) = &root {
            self.spec.start(root);
        }
        let cleanup_root = root.clone();
        // A server that died may have left sandboxes and agents behind.
        tokio::task::spawn_blocking(move || {
            let cleanup = clean_stale_sandboxes(&std::env::temp_dir(), cleanup_root.as_deref());
            if !cleanup.removed_sandboxes.is_empty() {
                tracing::info!(
                    "removed {} stale sandboxes and killed {} agent process groups left by a server that stopped",
                    cleanup.removed_sandboxes.len(),
                    cleanup.killed_groups.len()
                );
            }
        });
        let loaded = config::load(root.as_deref());
        self.set_config_problems(&loaded.problems);
        let (events, receiver) = mpsc::unbounded_channel();
        *lock(&self.pending_events) = Some(receiver);
        let engine = Engine::new(workspace, journal, loaded.config, events);
        engine.set_trusted_by_editor(editor_trusts_workspace(&params));
        let _ = self.session.set(Session {
            engine,
            encoding,
            support,
            root,
        });
        Ok(InitializeResult {
            capabilities: server_capabilities(encoding_kind(encoding)),
            server_info: Some(ServerInfo {
                name: "director".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        if let Some(receiver) = lock(&self.pending_events).take() {
            progress::spawn_event_loop(self.clone(), receiver);
        }
        self.build_spec_index();
        if let Ok(session) = self.session() {
            let backend = self.clone();
            let dynamic = session.support.watched_files_registration;
            tokio::spawn(async move { backend.register_file_watcher(dynamic).await });
        }
        let notices = std::mem::take(&mut *lock(&self.startup_notices));
        for notice in notices {
            self.client.show_message(MessageType::WARNING, notice).await;
        }
        let problem_files: Vec<Url> = lock(&self.config_problems).keys().cloned().collect();
        let nothing_configured = problem_files.is_empty()
            && self
                .session()
                .is_ok_and(|session| session.engine.config().agents.is_empty());
        if nothing_configured {
            // Probing Ollama takes a moment; the editor is not kept waiting.
            let backend = self.clone();
            tokio::spawn(async move { backend.cast_discovered_agents().await });
        }
        for url in problem_files {
            self.client
                .show_message(
                    MessageType::ERROR,
                    format!(
                        "Director: {} has errors; see its diagnostics",
                        display(&url)
                    ),
                )
                .await;
            self.publish(&url).await;
        }
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let Ok(session) = self.session() else { return };
        let Ok(url) = self.url(&params.text_document.uri) else {
            return;
        };
        let document = Document::new(
            url.clone(),
            params.text_document.version,
            params.text_document.language_id,
            &params.text_document.text,
        );
        let (restored, has_findings) = {
            let mut workspace = lock(&session.engine.workspace);
            let restored = workspace.open_document(document);
            (restored, !workspace.findings.of_document(&url).is_empty())
        };
        // A hunk whose accept was under way when the server stopped may come
        // back accepted: that decision is journaled now.
        session.engine.hunks_changed(&url, &restored);
        self.spec_buffer_opened(&url);
        if !restored.is_empty() || has_findings || lock(&self.config_problems).contains_key(&url) {
            self.publish(&url).await;
        }
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let Ok(session) = self.session() else { return };
        let Ok(url) = self.url(&params.text_document.uri) else {
            return;
        };
        let changes: Vec<ContentChange> = params
            .content_changes
            .into_iter()
            .map(|change| ContentChange {
                range: change.range.map(range),
                text: change.text,
            })
            .collect();
        let changed = session.engine.change_document(
            &url,
            params.text_document.version,
            &changes,
            session.encoding,
        );
        match changed {
            Ok(hunks) => {
                session.engine.hunks_changed(&url, hunks.as_slice());
                self.spec_buffer_changed(&url);
            }
            Err(error @ DocumentError::UnknownDocument(_)) => {
                tracing::warn!("ignoring a change: {error}");
            }
            Err(error) => {
                self.document_diverged(params.text_document.uri, &url, &error)
                    .await;
            }
        }
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        let Ok(url) = self.url(&params.text_document.uri) else {
            return;
        };
        if let Ok(path) = url.to_file_path() {
            if self.is_config_file(&path) {
                self.reload_config(&path).await;
                if let Some(root) = self.session().ok().and_then(|session| session.root.clone()) {
                    if path == root.join(config::WORKSPACE_CONFIG_FILE_NAME) {
                        for problem in self.spec.reload_policy(&root) {
                            self.client
                                .show_message(MessageType::WARNING, problem)
                                .await;
                        }
                        self.publish_spec_diagnostics().await;
                    }
                }
            }
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let Ok(url) = self.url(&params.text_document.uri) else {
            return;
        };
        self.forget_document(params.text_document.uri, &url).await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        self.watched_files_changed(params).await;
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        self.guard("textDocument/hover", handlers::hover::hover(self, params))
            .await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        self.guard(
            "textDocument/codeAction",
            handlers::code_action::code_actions(self, params),
        )
        .await
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        self.guard(
            "textDocument/codeLens",
            handlers::code_lens::code_lenses(self, params),
        )
        .await
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        self.guard(
            "textDocument/definition",
            handlers::spec_navigation::definition(self, params),
        )
        .await
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        self.guard(
            "textDocument/references",
            handlers::spec_navigation::references(self, params),
        )
        .await
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        self.guard(
            "textDocument/prepareRename",
            handlers::spec_rename::prepare_rename(self, params),
        )
        .await
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        self.guard(
            "textDocument/rename",
            handlers::spec_rename::rename(self, params),
        )
        .await
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        self.guard(
            "textDocument/completion",
            handlers::spec_completion::completion(self, params),
        )
        .await
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        self.guard(
            "textDocument/documentSymbol",
            handlers::spec_symbols::document_symbols(self, params),
        )
        .await
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<WorkspaceSymbolResponse>> {
        self.guard(
            "workspace/symbol",
            handlers::spec_symbols::workspace_symbols(self, params),
        )
        .await
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        self.guard(
            "workspace/executeCommand",
            handlers::execute_command::execute_command(self, params),
        )
        .await
    }
}

impl Backend {
    /// Uses the agents the machine offers when none is configured, and says
    /// what was found either way.
    async fn cast_discovered_agents(&self) {
        let discovery = discover(&DiscoveryInputs::from_process()).await;
        let message = discovery.message();
        // Warned, not merely noted: running on guessed agents deserves a trace in the log.
        tracing::warn!("{message}");
        let found = !discovery.agents.is_empty();
        if let Ok(session) = self.session() {
            // A config saved while discovery ran wins over what it found.
            if found && session.engine.config().agents.is_empty() {
                session.engine.set_config(config::Config {
                    agents: discovery.agents,
                    ..config::Config::default()
                });
            }
        }
        let kind = if found {
            MessageType::INFO
        } else {
            MessageType::WARNING
        };
        self.client
            .show_message(kind, format!("Director: {message}"))
            .await;
    }

    fn is_config_file(&self, path: &Path) -> bool {
        let workspace_file = self
            .session()
            .ok()
            .and_then(|session| session.root.as_ref())
            .map(|root| root.join(config::WORKSPACE_CONFIG_FILE_NAME));
        workspace_file.as_deref() == Some(path)
            || config::user_config_path().as_deref() == Some(path)
    }

    /// Reloads the configuration after a config file was saved; a broken file
    /// keeps the last good configuration in force.
    async fn reload_config(&self, saved: &Path) {
        let Ok(session) = self.session() else { return };
        let loaded = config::load(session.root.as_deref());
        let saved_problems: Vec<&ConfigProblem> = loaded
            .problems
            .iter()
            .filter(|problem| problem.path == saved)
            .collect();
        let message = if saved_problems.is_empty() {
            session.engine.set_config(loaded.config);
            None
        } else {
            Some(format!(
                "Director: {} has errors ({}); the previous configuration stays in force",
                saved.display(),
                saved_problems[0].message
            ))
        };
        let previous: Vec<Url> = lock(&self.config_problems).keys().cloned().collect();
        self.set_config_problems(&loaded.problems);
        if let Some(message) = message {
            self.client.show_message(MessageType::ERROR, message).await;
        }
        let mut urls: Vec<Url> = lock(&self.config_problems).keys().cloned().collect();
        urls.extend(previous);
        urls.extend(Url::from_file_path(saved).ok());
        urls.sort();
        urls.dedup();
        for url in urls {
            self.publish(&url).await;
        }
    }

    fn set_config_problems(&self, problems: &[ConfigProblem]) {
        let mut by_file = lock(&self.config_problems);
        by_file.clear();
        for problem in problems {
            if let Ok(url) = Url::from_file_path(&problem.path) {
                by_file.entry(url).or_default().push(problem.clone());
            }
        }
    }
}

/// UTF-8 when the client offers it (no conversion needed), else UTF-16, the
/// encoding every client must support.
fn negotiate_encoding(params: &InitializeParams) -> PositionEncoding {
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|general| general.position_encodings.as_ref());
    match offered {
        Some(encodings) if encodings.contains(&PositionEncodingKind::UTF8) => {
            PositionEncoding::Utf8
        }
        _ => PositionEncoding::Utf16,
    }
}

fn workspace_root(params: &InitializeParams) -> Option<PathBuf> {
    let from_folders = params
        .workspace_folders
        .as_ref()
        .and_then(|folders| folders.first())
        .and_then(|folder| folder.uri.to_file_path().map(|path| path.into_owned()));
    #[allow(deprecated)]
    let from_root_uri = || {
        params
            .root_uri
            .as_ref()
            .and_then(|uri| uri.to_file_path().map(|path| path.into_owned()))
    };
    from_folders.or_else(from_root_uri)
}

fn display(url: &Url) -> String {
    url.to_file_path()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|()| url.to_string())
}
