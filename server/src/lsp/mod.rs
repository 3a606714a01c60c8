//! The language server: a thin adapter between LSP and the plain Rust modules.
//! It is the only module that knows about LSP types.
//!
//! Which handler serves which method:
//! - lifecycle and document sync: [`server`]; changes that cannot be applied:
//!   [`document_divergence`];
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
//! - diagnostics for proposals, config problems and spec lint: [`diagnostics`];
//! - malformed frames and messages: [`stdin_guard`] (with [`frame_reader`] and
//!   [`message_check`]) and the answers of [`protocol_errors`].

mod backend;
mod capabilities;
mod convert;
mod diagnostics;
mod document_divergence;
mod frame_reader;
mod handlers;
mod hunk_view;
mod message_check;
mod progress;
mod protocol_errors;
mod server;
mod spec_locations;
mod spec_sync;
mod stdin_guard;
mod task_runs;

pub use frame_reader::{FrameDecoder, FramingError};
pub use stdin_guard::screen;

use backend::Backend;
use protocol_errors::AnswerEveryRequest;
use tower_lsp_server::{LspService, Server};

/// How many requests are served at once. Requests that need the spec index wait
/// for its first build, and while every slot waits, later messages (`didChange`
/// among them) queue behind them; the framework's default of 4 is too few.
const CONCURRENT_REQUESTS: usize = 64;

/// Serves LSP over stdin/stdout until the client says `exit` or closes stdin;
/// an error when stdin stopped being a stream of frames.
pub async fn serve_stdio() -> Result<(), FramingError> {
    let (service, socket) = LspService::build(Backend::new)
        .custom_method("director/runs", Backend::runs_request)
        .custom_method("director/run", Backend::run_request)
        .custom_method("window/workDoneProgress/cancel", Backend::progress_cancel)
        .finish();
    let (input, verdict) = stdin_guard::guard(tokio::io::stdin());
    Server::new(input, tokio::io::stdout(), socket)
        .concurrency_level(CONCURRENT_REQUESTS)
        .serve(AnswerEveryRequest::new(service))
        .await;
    match verdict.broken() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
