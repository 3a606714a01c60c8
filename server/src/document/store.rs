//! Every document the editor has open, by URI.

use std::collections::HashMap;

use url::Url;

use super::{ByteEdit, ContentChange, Document, DocumentError, PositionEncoding};

/// The open documents. A plain map: the LSP layer wraps it in a mutex and applies
/// each notification in one step, without awaiting while it holds the lock.
#[derive(Debug, Default)]
pub struct DocumentStore {
    documents: HashMap<Url, Document>,
}

impl DocumentStore {
    pub fn new() -> DocumentStore {
        DocumentStore::default()
    }

    /// Starts tracking `document`. Opening a URI that is already open replaces
    /// it: the editor's `didOpen` text is the truth from then on.
    pub fn open(&mut self, document: Document) {
        if self.documents.contains_key(&document.uri) {
            tracing::warn!(uri = %document.uri, "document opened twice; replacing it");
        }
        self.documents.insert(document.uri.clone(), document);
    }

    /// Applies a `didChange`; see [`Document::apply_changes`] for how versions
    /// and positions are treated.
    pub fn change(
        &mut self,
        uri: &Url,
        version: i32,
        changes: &[ContentChange],
        encoding: PositionEncoding,
    ) -> Result<Vec<ByteEdit>, DocumentError> {
        self.documents
            .get_mut(uri)
            .ok_or_else(|| DocumentError::UnknownDocument(uri.clone()))?
            .apply_changes(version, changes, encoding)
    }

    /// Stops tracking a document and hands back its last state.
    pub fn close(&mut self, uri: &Url) -> Result<Document, DocumentError> {
        self.documents
            .remove(uri)
            .ok_or_else(|| DocumentError::UnknownDocument(uri.clone()))
    }

    pub fn get(&self, uri: &Url) -> Option<&Document> {
        self.documents.get(uri)
    }

    /// Every open document, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = &Document> {
        self.documents.values()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;
    use crate::document::{Position, Range};

    fn uri() -> Url {
        Url::parse("file:///tmp/a.rs").unwrap()
    }

    #[test]
    fn changes_reach_the_open_document() {
        let mut store = DocumentStore::new();
        store.open(Document::new(uri(), 1, "rust".into(), "fn a() {}\n"));
        let change = ContentChange {
            range: Some(Range {
                start: Position {
                    line: 0,
                    character: 3,
                },
                end: Position {
                    line: 0,
                    character: 4,
                },
            }),
            text: "b".into(),
        };
        let edits = store
            .change(&uri(), 2, &[change], PositionEncoding::Utf16)
            .unwrap();
        assert_eq!(edits.len(), 1);
        let document = store.get(&uri()).unwrap();
        assert_eq!(document.text.to_string(), "fn b() {}\n");
        assert_eq!(document.version, 2);
    }

    #[test]
    fn unknown_uri_is_a_clear_error() {
        let mut store = DocumentStore::new();
        let error = store
            .change(&uri(), 2, &[], PositionEncoding::Utf8)
            .unwrap_err();
        assert_eq!(error.to_string(), "document file:///tmp/a.rs is not open");
        assert!(store.get(&uri()).is_none());
        assert!(store.close(&uri()).is_err());
    }

    #[test]
    fn closing_forgets_the_document() {
        let mut store = DocumentStore::new();
        store.open(Document::new(uri(), 1, "rust".into(), "x"));
        assert_eq!(store.close(&uri()).unwrap().text.to_string(), "x");
        assert!(store.get(&uri()).is_none());
    }
}
