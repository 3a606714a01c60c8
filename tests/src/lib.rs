//! End-to-end test support: an LSP client over the real binary's stdio and
//! mock agent servers on 127.0.0.1.
//!
//! Modules, in reading order:
//! - [`lsp_client`]: [`LspClient`], a strict editor-like client driving a server over stdio.
//! - [`mock_openai`]: a loopback OpenAI-compatible server with scripted answers and faults.
//! - [`mock_anthropic`]: the same for the Anthropic Messages API.
//! - [`installed_agents`]: the real agent CLIs the install script provides.
//! - [`lsp_values`]: `file_uri`, `pos`, `range`, `secs` for short tests.
//! - [`binary`]: finds or builds the real `director` binary once per test process.
//! - [`client_documents`]: the client's buffers and how edits apply to them.
//! - [`lsp_positions`]: LSP positions in utf-8 or utf-16 over plain text.
//! - [`lsp_framing`]: `Content-Length` framing of JSON-RPC messages.

pub mod binary;
pub mod client_documents;
pub mod installed_agents;
pub mod lsp_client;
pub mod lsp_framing;
pub mod lsp_positions;
pub mod lsp_values;
pub mod mock_anthropic;
pub mod mock_openai;

pub use binary::director_binary;
pub use lsp_client::{LspClient, RecordedServerRequest, ResponseError};
pub use lsp_values::{file_uri, pos, range, secs};
