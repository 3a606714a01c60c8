//! `textDocument/definition` and `textDocument/references` on requirement IDs in
//! code tags, task references, design `Validates` lines and requirement headings.

use crate::lsp::backend::Backend;
use crate::lsp::spec_locations::{cursor, location};
use crate::spec::index::SpecIndex;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

pub async fn definition(
    backend: &Backend,
    params: GotoDefinitionParams,
) -> Result<Option<GotoDefinitionResponse>> {
    let position = params.text_document_position_params;
    let Some(cursor) = cursor(backend, &position.text_document.uri, position.position)? else {
        return Ok(None);
    };
    let sites = {
        let index = backend.spec.built_index().await;
        let Some(id) = index.id_at(&cursor.path, cursor.offset) else {
            return Ok(None);
        };
        with_texts(&index, index.references(&id.key).into_iter().take(1))
    };
    let locations = to_locations(backend, sites);
    Ok(locations
        .into_iter()
        .next()
        .map(GotoDefinitionResponse::Scalar))
}

pub async fn references(
    backend: &Backend,
    params: ReferenceParams,
) -> Result<Option<Vec<Location>>> {
    let position = params.text_document_position;
    let Some(cursor) = cursor(backend, &position.text_document.uri, position.position)? else {
        return Ok(None);
    };
    let sites = {
        let index = backend.spec.built_index().await;
        let Some(id) = index.id_at(&cursor.path, cursor.offset) else {
            return Ok(None);
        };
        let skip = usize::from(!params.context.include_declaration);
        with_texts(&index, index.references(&id.key).into_iter().skip(skip))
    };
    Ok(Some(to_locations(backend, sites)))
}

type Site = (PathBuf, Range<usize>, Arc<str>);

/// Pairs each site with the text the index read, so positions can be converted
/// after the index lock is released.
pub fn with_texts(
    index: &SpecIndex,
    sites: impl Iterator<Item = (PathBuf, Range<usize>)>,
) -> Vec<Site> {
    sites
        .filter_map(|(path, range)| {
            let text = indexed_text(index, &path)?;
            Some((path, range, text))
        })
        .collect()
}

pub fn indexed_text(index: &SpecIndex, path: &Path) -> Option<Arc<str>> {
    index
        .spec(path)
        .map(|spec| spec.text.clone())
        .or_else(|| index.code_file(path).map(|code| code.text.clone()))
}

fn to_locations(backend: &Backend, sites: Vec<Site>) -> Vec<Location> {
    sites
        .into_iter()
        .filter_map(|(path, range, text)| location(backend, &path, range, &text))
        .collect()
}
