//! The harness's own copy of the documents it has opened, kept the way an
//! editor keeps its buffers.
//!
//! Edits from the test (`change`) and from the server (`workspace/applyEdit`)
//! both land here first; each returns the `textDocument/didChange` params the
//! client must send, so the server sees exactly what an editor would send.
//! A versioned edit for a version the buffer has moved past is refused, as
//! a real editor refuses it.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::lsp_positions::{PositionEncoding, Range, TextEdit, apply_text_edits};

/// Open documents by URI, with the encoding their positions are counted in.
#[derive(Debug)]
pub struct ClientDocuments {
    /// Set from the initialize result; every range is counted in it.
    pub encoding: PositionEncoding,
    /// Report every applied workspace edit as the whole new text, as editors
    /// with full synchronization do, instead of the exact edits.
    pub whole_text_changes: bool,
    /// Apply workspace edits for documents that are not open to their files
    /// on disk (creating the files `create` operations name), as an editor
    /// editing files in the background does; no `didChange` follows.
    pub edit_unopened_files: bool,
    documents: HashMap<String, OpenDocument>,
}

/// One open buffer.
#[derive(Debug, Clone)]
pub struct OpenDocument {
    pub language_id: String,
    /// Starts at 1 on open and grows by one with every change sent.
    pub version: i32,
    pub text: String,
}

impl ClientDocuments {
    /// No documents yet.
    pub fn new(encoding: PositionEncoding) -> ClientDocuments {
        ClientDocuments {
            encoding,
            whole_text_changes: false,
            edit_unopened_files: false,
            documents: HashMap::new(),
        }
    }

    /// Records a newly opened document and returns the `didOpen` params.
    pub fn open(&mut self, uri: &str, language_id: &str, text: &str) -> Value {
        let document = OpenDocument {
            language_id: language_id.to_owned(),
            version: 1,
            text: text.to_owned(),
        };
        let params = json!({
            "textDocument": {
                "uri": uri,
                "languageId": document.language_id,
                "version": document.version,
                "text": document.text,
            }
        });
        self.documents.insert(uri.to_owned(), document);
        params
    }

    /// Forgets a document and returns the `didClose` params.
    pub fn close(&mut self, uri: &str) -> Result<Value> {
        self.documents
            .remove(uri)
            .with_context(|| format!("{uri} is not open"))?;
        Ok(json!({ "textDocument": { "uri": uri } }))
    }

    /// The buffer for `uri`, if it is open.
    pub fn get(&self, uri: &str) -> Option<&OpenDocument> {
        self.documents.get(uri)
    }

    /// Applies one edit typed by the "user" and returns the `didChange` params.
    pub fn change(&mut self, uri: &str, range: Range, new_text: &str) -> Result<Value> {
        let edit = TextEdit {
            range,
            new_text: new_text.to_owned(),
        };
        let document = self
            .documents
            .get_mut(uri)
            .with_context(|| format!("{uri} is not open"))?;
        let (text, ordered_edits) = apply_text_edits(&document.text, &[edit], self.encoding)?;
        Ok(commit(uri, document, text, &ordered_edits, false))
    }

    /// Applies the params of a `workspace/applyEdit` request all or nothing
    /// and returns one `didChange` params per changed document.
    pub fn apply_workspace_edit(&mut self, params: &Value) -> Result<Vec<Value>> {
        let request = ApplyWorkspaceEditParams::deserialize(params)
            .context("malformed workspace/applyEdit params")?;
        let (created, edits_by_document) = request.edit.edits_by_document()?;
        if !created.is_empty() && !self.edit_unopened_files {
            bail!("resource operation \"create\" is not supported by the test client");
        }
        let mut planned = Vec::new();
        let mut on_disk = Vec::new();
        for (uri, version_edits) in edits_by_document {
            let (mut text, version) = match self.documents.get(&uri) {
                Some(document) => (document.text.clone(), Some(document.version)),
                None if self.edit_unopened_files => {
                    let path = file_path(&uri)?;
                    let text = if created.contains(&uri) && !path.exists() {
                        String::new()
                    } else {
                        std::fs::read_to_string(&path)
                            .with_context(|| format!("cannot read {}", path.display()))?
                    };
                    (text, None)
                }
                None => bail!(
                    "{uri} is not open in the client (open: {:?})",
                    self.open_uris()
                ),
            };
            let mut ordered_edits = Vec::new();
            for (expected_version, edits) in version_edits {
                if let Some(expected_version) = expected_version
                    && Some(expected_version) != version
                {
                    let current = version.map_or("not open".to_owned(), |version| {
                        format!("at version {version}")
                    });
                    bail!("{uri} is {current} but the edit is for version {expected_version}");
                }
                let (next_text, next_edits) = apply_text_edits(&text, &edits, self.encoding)
                    .with_context(|| format!("cannot apply the edit to {uri}"))?;
                text = next_text;
                ordered_edits.extend(next_edits);
            }
            match version {
                Some(_) => planned.push((uri, text, ordered_edits)),
                None => on_disk.push((file_path(&uri)?, text)),
            }
        }
        for (path, text) in on_disk {
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        let mut did_change_params = Vec::with_capacity(planned.len());
        for (uri, text, ordered_edits) in planned {
            let document = self
                .documents
                .get_mut(&uri)
                .with_context(|| format!("{uri} is not open"))?;
            did_change_params.push(commit(
                &uri,
                document,
                text,
                &ordered_edits,
                self.whole_text_changes,
            ));
        }
        Ok(did_change_params)
    }

    fn open_uris(&self) -> Vec<&str> {
        let mut uris: Vec<&str> = self.documents.keys().map(String::as_str).collect();
        uris.sort_unstable();
        uris
    }
}

/// The path of a `file://` URI.
fn file_path(uri: &str) -> Result<std::path::PathBuf> {
    url::Url::parse(uri)
        .ok()
        .and_then(|url| url.to_file_path().ok())
        .with_context(|| format!("{uri} is not a file URI"))
}

/// Stores the new text, bumps the version and describes the change the way
/// `textDocument/didChange` does: the edits, or the `whole_text`.
fn commit(
    uri: &str,
    document: &mut OpenDocument,
    text: String,
    ordered_edits: &[TextEdit],
    whole_text: bool,
) -> Value {
    document.version += 1;
    document.text = text;
    let content_changes: Vec<Value> = if whole_text {
        vec![json!({ "text": document.text })]
    } else {
        ordered_edits
            .iter()
            .map(|edit| json!({ "range": edit.range, "text": edit.new_text }))
            .collect()
    };
    json!({
        "textDocument": { "uri": uri, "version": document.version },
        "contentChanges": content_changes,
    })
}

#[derive(Deserialize)]
struct ApplyWorkspaceEditParams {
    edit: WorkspaceEdit,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WorkspaceEdit {
    changes: Option<BTreeMap<String, Vec<TextEdit>>>,
    document_changes: Option<Vec<DocumentChange>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum DocumentChange {
    TextDocumentEdit(TextDocumentEdit),
    ResourceOperation { kind: String, uri: Option<String> },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TextDocumentEdit {
    text_document: OptionalVersionedTextDocumentIdentifier,
    edits: Vec<TextEdit>,
}

#[derive(Deserialize)]
struct OptionalVersionedTextDocumentIdentifier {
    uri: String,
    version: Option<i32>,
}

/// Edits for one document, each batch with the version it expects (if any).
type VersionedEdits = Vec<(Option<i32>, Vec<TextEdit>)>;

impl WorkspaceEdit {
    /// The files to create and the edits grouped by document;
    /// `documentChanges` wins over `changes`, as it does in a client that
    /// supports both.
    fn edits_by_document(self) -> Result<(Vec<String>, BTreeMap<String, VersionedEdits>)> {
        let mut created = Vec::new();
        let mut grouped: BTreeMap<String, VersionedEdits> = BTreeMap::new();
        if let Some(document_changes) = self.document_changes {
            for change in document_changes {
                match change {
                    DocumentChange::TextDocumentEdit(edit) => grouped
                        .entry(edit.text_document.uri)
                        .or_default()
                        .push((edit.text_document.version, edit.edits)),
                    DocumentChange::ResourceOperation {
                        kind,
                        uri: Some(uri),
                    } if kind == "create" => created.push(uri),
                    DocumentChange::ResourceOperation { kind, .. } => {
                        bail!("resource operation {kind:?} is not supported by the test client")
                    }
                }
            }
        } else if let Some(changes) = self.changes {
            for (uri, edits) in changes {
                grouped.entry(uri).or_default().push((None, edits));
            }
        }
        Ok((created, grouped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "file:///w/a.rs";

    fn documents_with(text: &str, encoding: PositionEncoding) -> ClientDocuments {
        let mut documents = ClientDocuments::new(encoding);
        documents.open(URI, "rust", text);
        documents
    }

    fn versioned_edit(version: i32, range: Value, new_text: &str) -> Value {
        json!({ "edit": { "documentChanges": [{
            "textDocument": { "uri": URI, "version": version },
            "edits": [{ "range": range, "newText": new_text }],
        }]}})
    }

    fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> Value {
        json!({ "start": { "line": l1, "character": c1 }, "end": { "line": l2, "character": c2 } })
    }

    #[test]
    fn versioned_edit_applies_and_bumps_the_version() {
        let mut documents = documents_with("fn 😀() {}\r\n// 漢字\r\n", PositionEncoding::Utf16);
        let changes = documents
            .apply_workspace_edit(&versioned_edit(1, range(1, 3, 1, 5), "kanji"))
            .unwrap();
        let document = documents.get(URI).unwrap();
        assert_eq!(document.text, "fn 😀() {}\r\n// kanji\r\n");
        assert_eq!(document.version, 2);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0]["textDocument"]["version"], 2);
        assert_eq!(changes[0]["contentChanges"][0]["range"], range(1, 3, 1, 5));
    }

    #[test]
    fn stale_version_is_refused_and_leaves_the_text_alone() {
        let mut documents = documents_with("abc", PositionEncoding::Utf8);
        documents
            .change(URI, serde_json::from_value(range(0, 0, 0, 0)).unwrap(), "x")
            .unwrap();
        let error = documents
            .apply_workspace_edit(&versioned_edit(1, range(0, 0, 0, 1), "y"))
            .unwrap_err();
        assert!(error.to_string().contains("version 2"), "{error}");
        assert_eq!(documents.get(URI).unwrap().text, "xabc");
    }

    #[test]
    fn plain_changes_apply_without_a_version_check() {
        let mut documents = documents_with("a😀b", PositionEncoding::Utf8);
        let params = json!({ "edit": { "changes": { URI: [{ "range": range(0, 1, 0, 5), "newText": "-" }] } } });
        documents.apply_workspace_edit(&params).unwrap();
        assert_eq!(documents.get(URI).unwrap().text, "a-b");
    }

    #[test]
    fn unknown_documents_and_resource_operations_are_refused() {
        let mut documents = documents_with("a", PositionEncoding::Utf8);
        let unknown = json!({ "edit": { "changes": { "file:///w/other.rs": [] } } });
        assert!(documents.apply_workspace_edit(&unknown).is_err());
        let create = json!({ "edit": { "documentChanges": [{ "kind": "create", "uri": "file:///w/new.rs" }] } });
        assert!(documents.apply_workspace_edit(&create).is_err());
    }
}
