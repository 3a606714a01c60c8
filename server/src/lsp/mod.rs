//! FIXME: module lsp is being written.
