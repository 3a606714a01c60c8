//! Hover on a proposed hunk shows it as a diff.

use crate::lsp::backend::Backend;
use crate::lsp::convert::{lsp_range, offset};
use crate::lsp::hunk_view::hunk_as_diff;
use crate::workspace::lock;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

pub async fn hover(backend: &Backend, params: HoverParams) -> Result<Option<Hover>> {
    let session = backend.session()?;
    let url = backend.url(&params.text_document_position_params.text_document.uri)?;
    let workspace = lock(&session.engine.workspace);
    let Some(document) = workspace.documents.get(&url) else {
        return Ok(None);
    };
    let at = offset(
        document,
        params.text_document_position_params.position,
        session.encoding,
    )?;
    let Some(hunk) = workspace
        .proposals
        .open_hunks(&url)
        .into_iter()
        .find(|hunk| hunk.range.start <= at && at <= hunk.range.end)
    else {
        return Ok(None);
    };
    let run = workspace.runs.get(&hunk.run);
    let agent = run.map_or("agent", |run| run.agent.as_str());
    let instruction = run.map_or("", |run| run.instruction.as_str());
    let diff = hunk_as_diff(&document.text, hunk);
    let fence = "`".repeat(
        diff.split(|c| c != '`')
            .map(str::len)
            .max()
            .unwrap_or(0)
            .max(2)
            + 1,
    );
    let markdown = format!(
        "**Director** · run {} · {agent} · {:?}\n\n{}\n\n{fence}diff\n{diff}{fence}",
        hunk.run,
        hunk.state,
        instruction.lines().next().unwrap_or(""),
    );
    Ok(Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: markdown,
        }),
        range: Some(lsp_range(document, hunk.range.clone(), session.encoding)),
    }))
}
