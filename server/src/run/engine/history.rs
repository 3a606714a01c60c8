//! Runs of earlier sessions: the workspace holds only the open work after a
//! restart, and the rest of a run (its record, its transcript) is read from
//! the journal when someone asks for it.

use super::Engine;
use crate::ids::RunId;
use crate::run::summary::RunSummary;
use crate::workspace::lock;

impl Engine {
    /// Makes sure the workspace holds run `run` and its transcript, reading
    /// them from the journal when this session has not seen them; false when
    /// no session ever had such a run.
    pub fn recall(&self, run: RunId) -> bool {
        let (known, has_transcript) = {
            let workspace = lock(&self.workspace);
            (
                workspace.runs.contains_key(&run),
                workspace.transcripts.contains_key(&run),
            )
        };
        let record = (!known).then(|| self.journal.run(run)).flatten();
        let transcript = (!has_transcript)
            .then(|| self.journal.transcript(run))
            .flatten();
        let mut workspace = lock(&self.workspace);
        if let Some(record) = record {
            workspace.runs.entry(run).or_insert(record);
        }
        if let Some(transcript) = transcript {
            workspace.transcripts.entry(run).or_insert(transcript);
        }
        workspace.runs.contains_key(&run)
    }

    /// Every run, newest first: those this session holds as they are now,
    /// the others as the journal recorded them.
    pub fn run_summaries(&self) -> Vec<RunSummary> {
        let history = self.journal.runs_with_counts();
        let workspace = lock(&self.workspace);
        let mut summaries: Vec<RunSummary> = history
            .iter()
            .map(|(record, counts)| match workspace.runs.get(&record.id) {
                Some(live) => RunSummary::of(live, &workspace),
                None => RunSummary::with_counts(record, counts.clone()),
            })
            .collect();
        // Runs the journal failed to record are still this session's.
        let recorded: std::collections::HashSet<u64> =
            summaries.iter().map(|summary| summary.id).collect();
        summaries.extend(
            workspace
                .runs
                .values()
                .filter(|record| !recorded.contains(&record.id.0))
                .map(|record| RunSummary::of(record, &workspace)),
        );
        summaries.sort_by_key(|summary| std::cmp::Reverse(summary.id));
        summaries
    }
}
