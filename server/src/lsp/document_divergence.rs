//! When the editor's text and Director's part ways. LSP has no way to ask an
//! editor for a document's text again, so a `didChange` Director cannot apply
//! exactly (a position inside a character, a range that ends before it starts)
//! is never guessed at: Director forgets the document, as if the editor had
//! closed it, and asks the user to reopen it. Its proposals wait, as for any
//! closed file, and come back re-anchored on the text the editor sends with
//! `didOpen`.

use super::backend::Backend;
use crate::document::DocumentError;
use crate::workspace::lock;
use tower_lsp_server::ls_types::{MessageType, Uri};
use url::Url;

impl Backend {
    /// Stops tracking a document: its proposals wait for it to be opened again,
    /// the index reads it from disk, and its diagnostics are cleared.
    pub async fn forget_document(&self, uri: Uri, url: &Url) {
        let Ok(session) = self.session() else { return };
        // The spec index rereads the file first, so that the memory closing the
        // document returns to the system includes that reading's.
        self.spec_buffer_closed(url);
        lock(&session.engine.workspace).close_document(url);
        self.client.publish_diagnostics(uri, Vec::new(), None).await;
    }

    /// Forgets a document whose change could not be applied, and says so.
    pub async fn document_diverged(&self, uri: Uri, url: &Url, error: &DocumentError) {
        tracing::error!("lost track of {url}: {error}");
        self.forget_document(uri, url).await;
        self.client
            .show_message(
                MessageType::ERROR,
                format!(
                    "Director lost track of {url}: the editor sent a change it cannot apply \
                     exactly ({error}). Close and reopen the file to resume; its proposals \
                     come back then."
                ),
            )
            .await;
    }
}
