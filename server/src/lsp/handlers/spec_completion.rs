//! `textDocument/completion` of requirement IDs after `@spec` in code and in the
//! requirement lists of tasks and designs.

use crate::lsp::backend::Backend;
use crate::lsp::convert::lsp_range;
use crate::lsp::spec_locations::cursor;
use crate::spec_assist::completion::id_prefix;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

pub async fn completion(
    backend: &Backend,
    params: CompletionParams,
) -> Result<Option<CompletionResponse>> {
    let session = backend.session()?;
    let position = params.text_document_position;
    let Some(cursor) = cursor(backend, &position.text_document.uri, position.position)? else {
        return Ok(None);
    };
    let text = &cursor.document.text;
    let line_start = text.line_to_byte(text.byte_to_line(cursor.offset));
    let line = cursor.document.slice(line_start..cursor.offset);
    let in_spec = cursor
        .path
        .extension()
        .is_some_and(|extension| extension == "md");
    let Some(prefix) = id_prefix(&line, in_spec) else {
        return Ok(None);
    };
    let replaced = lsp_range(
        &cursor.document,
        cursor.offset - prefix.len()..cursor.offset,
        session.encoding,
    );
    let completions = backend.spec.built_index().await.id_completions(prefix);
    let items = completions
        .into_iter()
        .map(|completion| CompletionItem {
            label: completion.label.clone(),
            kind: Some(CompletionItemKind::REFERENCE),
            detail: completion.detail,
            text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                range: replaced,
                new_text: completion.label,
            })),
            ..CompletionItem::default()
        })
        .collect();
    Ok(Some(CompletionResponse::Array(items)))
}
