//! Positions for spec features: the ID under the cursor of an open buffer, and
//! byte ranges in any indexed file turned into LSP locations (through the open
//! buffer when there is one, else through the text the index read).

use super::backend::Backend;
use super::convert::{lsp_range, offset, uri_from_url};
use crate::document::Document;
use std::ops::Range;
use std::path::{Path, PathBuf};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{Location, Position, Uri};
use url::Url;

/// An open buffer and a byte offset in it.
pub struct Cursor {
    pub path: PathBuf,
    pub document: Document,
    pub offset: usize,
}

/// The cursor in an open file buffer; `None` for unknown buffers and non-file URIs.
pub fn cursor(backend: &Backend, uri: &Uri, position: Position) -> Result<Option<Cursor>> {
    let session = backend.session()?;
    let url = backend.url(uri)?;
    let (Ok(path), Some(document)) = (url.to_file_path(), backend.open_document(&url)) else {
        return Ok(None);
    };
    let offset = offset(&document, position, session.encoding)?;
    Ok(Some(Cursor {
        path,
        document,
        offset,
    }))
}

/// The document positions in `path` are converted through: its open buffer, or
/// `indexed_text` when it is not open.
pub fn document_for(backend: &Backend, path: &Path, indexed_text: &str) -> Option<Document> {
    let url = Url::from_file_path(path).ok()?;
    backend
        .open_document(&url)
        .or_else(|| Some(Document::new(url, 0, String::new(), indexed_text)))
}

/// A byte range of `path` as an LSP location.
pub fn location(
    backend: &Backend,
    path: &Path,
    range: Range<usize>,
    indexed_text: &str,
) -> Option<Location> {
    let session = backend.session().ok()?;
    let document = document_for(backend, path, indexed_text)?;
    Some(Location {
        uri: uri_from_url(&document.uri).ok()?,
        range: lsp_range(&document, range, session.encoding),
    })
}
