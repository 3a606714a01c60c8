//! `director/runs` and `director/run`: the runs for editor plugins' views.

use crate::ids::RunId;
use crate::lsp::backend::Backend;
use crate::lsp::convert::{invalid_params, lsp_range};
use crate::run::summary::{RunDetail, RunList};
use crate::workspace::lock;
use serde::Deserialize;
use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunParams {
    run: u64,
}

/// `director/runs` takes an empty object (or `null`); there is nothing to filter by yet.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsParams {}

impl Backend {
    /// `director/runs`: every run, newest first, with totals.
    pub async fn runs_request(&self, _params: Option<RunsParams>) -> Result<Value> {
        self.guard("director/runs", async {
            let session = self.session()?;
            let runs = session.engine.run_summaries();
            serde_json::to_value(RunList::new(runs))
                .map_err(|_| tower_lsp_server::jsonrpc::Error::internal_error())
        })
        .await
    }

    /// `director/run`: one run with its transcript and proposals.
    pub async fn run_request(&self, params: RunParams) -> Result<Value> {
        self.guard("director/run", async {
            let session = self.session()?;
            let id = RunId(params.run);
            session.engine.recall(id);
            let workspace = lock(&session.engine.workspace);
            let record = workspace
                .runs
                .get(&id)
                .ok_or_else(|| invalid_params(format!("there is no run {id}")))?;
            let document = workspace.documents.get(&record.uri);
            let detail = RunDetail::of(record, &workspace, |range| {
                document.map(|document| lsp_range(document, range, session.encoding))
            });
            serde_json::to_value(detail)
                .map_err(|_| tower_lsp_server::jsonrpc::Error::internal_error())
        })
        .await
    }
}
