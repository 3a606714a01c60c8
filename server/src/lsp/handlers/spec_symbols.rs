//! `textDocument/documentSymbol` for spec files (requirements with their criteria
//! and scenarios, design properties, tasks) and `workspace/symbol` for requirements.

use super::spec_navigation::indexed_text;
use crate::document::{Document, PositionEncoding};
use crate::lsp::backend::Backend;
use crate::lsp::convert::lsp_range;
use crate::lsp::spec_locations::{cursor, location};
use crate::spec::index::{SpecSymbol, SpecSymbolKind};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

pub async fn document_symbols(
    backend: &Backend,
    params: DocumentSymbolParams,
) -> Result<Option<DocumentSymbolResponse>> {
    let session = backend.session()?;
    let start = Position::default();
    let Some(cursor) = cursor(backend, &params.text_document.uri, start)? else {
        return Ok(None);
    };
    let symbols = {
        let index = backend.spec.built_index().await;
        if index
            .spec(&cursor.path)
            .is_none_or(|spec| cursor.document.text != *spec.text)
        {
            return Ok(None);
        }
        index.document_symbols(&cursor.path)
    };
    let symbols = symbols
        .into_iter()
        .map(|symbol| document_symbol(&cursor.document, symbol, session.encoding))
        .collect();
    Ok(Some(DocumentSymbolResponse::Nested(symbols)))
}

pub async fn workspace_symbols(
    backend: &Backend,
    params: WorkspaceSymbolParams,
) -> Result<Option<WorkspaceSymbolResponse>> {
    let hits = {
        let index = backend.spec.built_index().await;
        index
            .workspace_symbols(&params.query)
            .into_iter()
            .filter_map(|symbol| {
                let text = indexed_text(&index, &symbol.path)?;
                Some((symbol, text))
            })
            .collect::<Vec<_>>()
    };
    let symbols = hits
        .into_iter()
        .filter_map(|(symbol, text)| {
            let location = location(backend, &symbol.path, symbol.range, &text)?;
            let container = symbol.key.split_once('#').map(|(spec, _)| spec.to_owned());
            Some(WorkspaceSymbol {
                name: symbol.name,
                kind: SymbolKind::KEY,
                tags: None,
                container_name: container,
                location: OneOf::Left(location),
                data: None,
            })
        })
        .collect();
    Ok(Some(WorkspaceSymbolResponse::Nested(symbols)))
}

#[allow(deprecated)]
fn document_symbol(
    document: &Document,
    symbol: SpecSymbol,
    encoding: PositionEncoding,
) -> DocumentSymbol {
    let children: Vec<DocumentSymbol> = symbol
        .children
        .into_iter()
        .map(|child| document_symbol(document, child, encoding))
        .collect();
    DocumentSymbol {
        name: symbol.name,
        detail: symbol.detail,
        kind: match symbol.kind {
            SpecSymbolKind::Requirement => SymbolKind::KEY,
            SpecSymbolKind::Criterion => SymbolKind::ENUM_MEMBER,
            SpecSymbolKind::Scenario => SymbolKind::EVENT,
            SpecSymbolKind::Task => SymbolKind::EVENT,
            SpecSymbolKind::Property => SymbolKind::PROPERTY,
        },
        tags: None,
        deprecated: None,
        range: lsp_range(document, symbol.range.clone(), encoding),
        selection_range: lsp_range(document, symbol.selection_range, encoding),
        children: (!children.is_empty()).then_some(children),
    }
}
