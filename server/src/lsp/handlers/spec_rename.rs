//! `textDocument/prepareRename` and `textDocument/rename` of requirement IDs: one
//! workspace edit over specs, tasks and code tags, versioned for open buffers.

use super::spec_navigation::indexed_text;
use crate::lsp::backend::Backend;
use crate::lsp::convert::{lsp_range, request_failed, uri_from_url};
use crate::lsp::spec_locations::{cursor, document_for};
use crate::spec_assist::rename::{rename_edits, rename_target};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

pub async fn prepare_rename(
    backend: &Backend,
    params: TextDocumentPositionParams,
) -> Result<Option<PrepareRenameResponse>> {
    let session = backend.session()?;
    let Some(cursor) = cursor(backend, &params.text_document.uri, params.position)? else {
        return Ok(None);
    };
    let target = rename_target(
        &*backend.spec.built_index().await,
        &cursor.path,
        cursor.offset,
    );
    Ok(
        target.map(|target| PrepareRenameResponse::RangeWithPlaceholder {
            range: lsp_range(&cursor.document, target.range, session.encoding),
            placeholder: target.placeholder,
        }),
    )
}

pub async fn rename(backend: &Backend, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
    let session = backend.session()?;
    let position = params.text_document_position;
    let Some(cursor) = cursor(backend, &position.text_document.uri, position.position)? else {
        return Ok(None);
    };
    let files = {
        let index = backend.spec.built_index().await;
        let Some(target) = rename_target(&index, &cursor.path, cursor.offset) else {
            return Err(request_failed("there is no requirement ID to rename here"));
        };
        let edits = rename_edits(&index, &target.key, &params.new_name).map_err(request_failed)?;
        edits
            .into_iter()
            .filter_map(|(path, edits)| {
                let text = indexed_text(&index, &path)?;
                Some((path, edits, text))
            })
            .collect::<Vec<_>>()
    };
    let mut document_edits = Vec::new();
    for (path, edits, text) in files {
        let Some(document) = document_for(backend, &path, &text) else {
            continue;
        };
        if document.text != *text {
            return Err(request_failed(format!(
                "{} changed since it was indexed; try again",
                path.display()
            )));
        }
        let is_open = backend.open_document(&document.uri).is_some();
        document_edits.push(TextDocumentEdit {
            text_document: OptionalVersionedTextDocumentIdentifier {
                uri: uri_from_url(&document.uri)?,
                version: is_open.then_some(document.version),
            },
            edits: edits
                .into_iter()
                .map(|(range, new_text)| {
                    OneOf::Left(TextEdit {
                        range: lsp_range(&document, range, session.encoding),
                        new_text,
                    })
                })
                .collect(),
        });
    }
    Ok(Some(WorkspaceEdit {
        document_changes: Some(DocumentChanges::Edits(document_edits)),
        ..WorkspaceEdit::default()
    }))
}
