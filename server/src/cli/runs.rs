//! `director runs`: the runs recorded in a workspace's journal, in a terminal.

use super::workspace_root::find_workspace_root;
use crate::run::journal::read_runs;
use crate::run::state::now_ms;
use crate::run::summary::{RunList, RunSummary};
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
    let runs: Vec<RunSummary> = read_runs(&root)
        .with_context(|| format!("cannot read the journal of {}", root.display()))?
        .into_iter()
        .map(|(record, counts)| RunSummary::with_counts(&record, counts))
        .collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        let list = RunList::new(runs);
        writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
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
    let rows: Vec<[String; 8]> = runs
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
                run.cost_usd.map_or_else(|| "-".to_owned(), dollars),
                proposals(run),
            ]
        })
        .collect();
    let header = [
        "ID",
        "AGENT",
        "STATE",
        "FILE",
        "AGE",
        "TOKENS",
        "COST",
        "PROPOSALS",
    ];
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
    let (total_tokens, total_cost_usd) = RunList::totals(runs);
    let total = match total_cost_usd {
        Some(cost) => format!("{total_tokens} tokens, {}", dollars(cost)),
        None => format!("{total_tokens} tokens"),
    };
    table.push_str(&format!("{} runs, {total} in all\n", runs.len()));
    table
}

/// A cost in US dollars: cents once it is a dollar or more, else the four
/// decimals a single run usually needs to show more than `$0.00`.
fn dollars(cost: f64) -> String {
    if cost >= 1.0 {
        format!("${cost:.2}")
    } else {
        format!("${cost:.4}")
    }
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

    fn summary(id: u64, tokens: (u64, u64), cost_usd: Option<f64>) -> RunSummary {
        RunSummary {
            id,
            agent: "claude".into(),
            instruction: "Simplify".into(),
            state: RunState::Settled,
            uri: "file:///work/project/src/lib.rs".into(),
            reason: None,
            refined_from: None,
            created_ms: 1_000,
            finished_ms: Some(2_000),
            prompt_tokens: tokens.0,
            completion_tokens: tokens.1,
            tokens: tokens.0 + tokens.1,
            cost_usd,
            proposals: ProposalCounts::default(),
        }
    }

    #[test]
    fn costs_are_shown_per_run_and_summed_over_the_priced_runs() {
        let runs = [
            summary(3, (1_000_000, 100_000), Some(4.5)),
            summary(2, (900, 100), None),
            summary(1, (2_000, 500), Some(0.0135)),
        ];
        let table = format_table(&runs, std::path::Path::new("/work/project"), 61_000);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].contains("TOKENS   COST     PROPOSALS"), "{table}");
        assert!(lines[1].contains("1100000  $4.50    -"), "{table}");
        assert!(lines[2].contains("1000     -        -"), "{table}");
        assert!(lines[3].contains("2500     $0.0135  -"), "{table}");
        assert_eq!(lines[4], "3 runs, 1103500 tokens, $4.51 in all");

        let json = serde_json::to_value(RunList::new(runs.to_vec())).expect("JSON");
        assert_eq!(json["totalTokens"], 1_103_500);
        assert!((json["totalCostUsd"].as_f64().expect("a total") - 4.5135).abs() < 1e-9);
        assert_eq!(json["runs"][0]["costUsd"], 4.5);
        assert_eq!(json["runs"][1]["costUsd"], serde_json::Value::Null);
    }

    #[test]
    fn without_any_price_there_is_no_total_cost() {
        let runs = [summary(1, (10, 5), None)];
        let table = format_table(&runs, std::path::Path::new("/work/project"), 61_000);
        assert_eq!(table.lines().last(), Some("1 runs, 15 tokens in all"));
        let json = serde_json::to_value(RunList::new(runs.to_vec())).expect("JSON");
        assert_eq!(json["totalCostUsd"], serde_json::Value::Null);
    }

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
            cost_usd: None,
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
            lines[1].starts_with(
                "7   local  proposed  src/lib.rs  3m   120     -     2 open, 1 accepted"
            ),
            "{table}"
        );
        assert_eq!(lines[2], "1 runs, 120 tokens in all");
    }
}
