//! Hover on a proposed hunk shows it as a diff; elsewhere, the spec hover: why a
//! lint rule fired, the requirements governing code, a requirement's coverage.

use crate::lsp::backend::Backend;
use crate::lsp::convert::{lsp_range, offset};
use crate::lsp::hunk_view::hunk_as_diff;
use crate::lsp::spec_locations::cursor;
use crate::spec::lint::{lint_file, rule};
use crate::spec_assist;
use crate::workspace::lock;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

pub async fn hover(backend: &Backend, params: HoverParams) -> Result<Option<Hover>> {
    if let Some(hover) = hunk_hover(backend, &params)? {
        return Ok(Some(hover));
    }
    spec_hover(backend, params).await
}

/// Lint rationales for findings under the cursor, then the spec hover.
async fn spec_hover(backend: &Backend, params: HoverParams) -> Result<Option<Hover>> {
    let session = backend.session()?;
    let position = params.text_document_position_params;
    let Some(cursor) = cursor(backend, &position.text_document.uri, position.position)? else {
        return Ok(None);
    };
    let (findings, hover) = {
        let index = backend.spec.built_index().await;
        let findings = lint_file(&index, &cursor.path, &backend.spec.policy());
        (
            findings,
            spec_assist::hover::spec_hover(&index, &cursor.path, cursor.offset),
        )
    };
    let mut rules: Vec<&str> = findings
        .iter()
        .filter(|finding| {
            finding.range.start <= cursor.offset && cursor.offset <= finding.range.end
        })
        .map(|finding| finding.rule)
        .collect();
    rules.dedup();
    let mut sections: Vec<String> = rules
        .into_iter()
        .filter_map(rule)
        .map(spec_assist::hover::rule_markdown)
        .collect();
    let mut range = None;
    if let Some(hover) = hover {
        sections.push(hover.markdown);
        range = hover
            .range
            .map(|range| lsp_range(&cursor.document, range, session.encoding));
    }
    if sections.is_empty() {
        return Ok(None);
    }
    Ok(Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: sections.join("\n\n---\n\n"),
        }),
        range,
    }))
}

fn hunk_hover(backend: &Backend, params: &HoverParams) -> Result<Option<Hover>> {
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
