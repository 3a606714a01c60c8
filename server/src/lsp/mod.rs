//! The language server: a thin adapter between LSP and the plain Rust modules.
//! It is the only module that knows about LSP types.
//!
//! Which handler serves which method:
//! - lifecycle and document sync: [`server`];
//! - `textDocument/codeAction`: [`handlers::code_action`];
//! - `textDocument/codeLens`: [`handlers::code_lens`];
//! - `textDocument/hover`: [`handlers::hover`] (proposals, then specs);
//! - `textDocument/definition`, `references`: [`handlers::spec_navigation`];
//! - `textDocument/prepareRename`, `rename`: [`handlers::spec_rename`];
//! - `textDocument/completion`: [`handlers::spec_completion`];
//! - `textDocument/documentSymbol`, `workspace/symbol`: [`handlers::spec_symbols`];
//! - the spec index, its updates and `workspace/didChangeWatchedFiles`: [`spec_sync`];
//! - `workspace/executeCommand`: [`handlers::execute_command`];
//! - *Start task* and the task box that follows its run: [`task_runs`];
//! - `director/runs`, `director/run`: [`handlers::runs`];
//! - `window/workDoneProgress/cancel`: [`progress`];
//! - diagnostics for proposals, config problems and spec lint: [`diagnostics`].

mod backend;
mod capabilities;
mod convert;
mod diagnostics;
mod handlers;
mod hunk_view;
mod progress;
mod server;
mod spec_locations;
mod spec_sync;
mod stdin_guard;
mod task_runs;

use backend::Backend;
use tower_lsp_server::{LspService, Server};

/// Serves LSP over stdin/stdout until the client says `exit`.
pub async fn serve_stdio() {
    let (service, socket) = LspService::build(Backend::new)
        .custom_method("director/runs", Backend::runs_request)
        .custom_method("director/run", Backend::run_request)
        .custom_method("window/workDoneProgress/cancel", Backend::progress_cancel)
        .finish();
    Server::new(
        stdin_guard::guard(tokio::io::stdin()),
        tokio::io::stdout(),
        socket,
    )
    .serve(service)
    .await;
}
