//! `director runs`: the runs recorded in a workspace's journal, in a terminal.

use super::workspace_root::find_workspace_root;
use crate::run::journal::read_journal;
use crate::run::state::now_ms;
use crate::run::summary::RunSummary;
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    /// The workspace folder (default: the nearest folder above the current one
    /// with a director.toml, .director/ or .git).
    #[arg(long)]
    pub workspace: Option<PathBuf>,
    /// Print JSON (the shape of the `director/runs` request) instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: RunsArgs) -> anyhow::Result<()> {
    let root = match args.workspace {
        Some(root) => root,
        None => {
            find_workspace_root(&std::env::current_dir().context("cannot read the current folder")?)
        }
    };
    let replay = read_journal(&root)
        .with_context(|| format!("cannot read the journal of {}", root.display()))?;
    let runs: Vec<RunSummary> = replay
        .runs
        .values()
        .rev()
        .map(|record| {
            let hunks = replay.hunks.values().filter(|hunk| hunk.run == record.id);
            RunSummary::with_hunks(record, hunks)
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        let total: u64 = runs.iter().map(|run| run.tokens).sum();
        let value = serde_json::json!({ "runs": runs, "totalTokens": total });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(());
    }
    if runs.is_empty() {
        writeln!(out, "No runs recorded in {}", root.display())?;
        return Ok(());
    }
    write!(out, "{}", format_table(&runs, &root, now_ms()))?;
    Ok(())
}

/// The table `director runs` prints, one row a run and a total.
pub fn format_table(runs: &[RunSummary], root: &std::path::Path, now: u64) -> String {
    let rows: Vec<[String; 7]> = runs
        .iter()
        .map(|run| {
            let file = url::Url::parse(&run.uri)
                .ok()
                .and_then(|url| url.to_file_path().ok())
                .map(|path| {
                    path.strip_prefix(root)
                        .map(|relative| relative.to_path_buf())
                        .unwrap_or(path)
                })
                .map_or_else(|| run.uri.clone(), |path| path.display().to_string());
            [
                run.id.to_string(),
                run.agent.clone(),
                run.state.as_str().to_owned(),
                file,
                age(now.saturating_sub(run.created_ms)),
                run.tokens.to_string(),
                proposals(run),
            ]
        })
        .collect();
    let header = ["ID", "AGENT", "STATE", "FILE", "AGE", "TOKENS", "PROPOSALS"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut table = String::new();
    let mut push_row = |cells: Vec<&str>| {
        let line: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        table.push_str(line.join("  ").trim_end());
        table.push('\n');
    };
    push_row(header.to_vec());
    for row in &rows {
        push_row(row.iter().map(String::as_str).collect());
    }
    let total: u64 = runs.iter().map(|run| run.tokens).sum();
    table.push_str(&format!("{} runs, {total} tokens in all\n", runs.len()));
    table
}

fn proposals(run: &RunSummary) -> String {
    let counts = &run.proposals;
    let parts = [
        (counts.open, "open"),
        (counts.conflicted, "conflicted"),
        (counts.stale, "stale"),
        (counts.accepted, "accepted"),
        (counts.rejected, "rejected"),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, name)| format!("{count} {name}"))
        .collect();
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.join(", ")
    }
}

fn age(milliseconds: u64) -> String {
    let seconds = milliseconds / 1000;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::state::RunState;
    use crate::run::summary::ProposalCounts;

    #[test]
    fn the_table_shows_one_row_per_run_and_a_total() {
        let run = RunSummary {
            id: 7,
            agent: "local".into(),
            instruction: "Simplify".into(),
            state: RunState::Proposed,
            uri: "file:///work/project/src/lib.rs".into(),
            reason: None,
            refined_from: None,
            created_ms: 1_000,
            finished_ms: Some(2_000),
            prompt_tokens: 100,
            completion_tokens: 20,
            tokens: 120,
            proposals: ProposalCounts {
                open: 2,
                accepted: 1,
                ..ProposalCounts::default()
            },
        };
        let table = format_table(&[run], std::path::Path::new("/work/project"), 181_000);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("ID  AGENT  STATE"));
        assert!(
            lines[1]
                .starts_with("7   local  proposed  src/lib.rs  3m   120     2 open, 1 accepted"),
            "{table}"
        );
        assert_eq!(lines[2], "1 runs, 120 tokens in all");
    }
}
