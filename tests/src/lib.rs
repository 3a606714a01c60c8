//! End-to-end test support: an LSP client over the real binary's stdio and
//! mock agent servers on 127.0.0.1.

pub mod mock_openai;
