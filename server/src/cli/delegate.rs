//! `director delegate`: the editor's pipeline without an editor. It runs an
//! agent on a region of a file, prints the proposed diff, and with `--apply`
//! writes it. Without `--apply` the proposals stay in the journal, so the
//! editor shows them when the file is next opened.

use super::workspace_root::find_workspace_root;
use crate::config;
use crate::document::{
    ContentChange, Document, PositionEncoding, byte_range_to_range, char_position_to_offset,
    whole_lines,
};
use crate::run::engine::{Delegation, Engine};
use crate::run::event::RunEvent;
use crate::run::journal::Journal;
use crate::run::state::RunState;
use crate::workspace::{Workspace, lock};
use anyhow::{Context, bail};
use std::io::{IsTerminal, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::mpsc;
use url::Url;

#[derive(Debug, clap::Args)]
pub struct DelegateArgs {
    /// The file to work on.
    pub file: PathBuf,
    /// The region: `L1:C1-L2:C2` (1-based lines and columns, columns counted in
    /// characters, the end exclusive) or `L1-L2` (whole lines, inclusive).
    /// An empty or partial region widens to the enclosing function, method or class.
    #[arg(long)]
    pub range: String,
    /// The agent, by its name in director.toml or the user config.
    #[arg(long)]
    pub agent: String,
    /// Write the proposed change to the file instead of only printing it.
    #[arg(long)]
    pub apply: bool,
    /// The workspace folder (default: the nearest folder above the file with a
    /// director.toml, .director/ or .git).
    #[arg(long)]
    pub workspace: Option<PathBuf>,
    /// What the agent should do.
    pub instruction: String,
}

pub async fn run(args: DelegateArgs) -> anyhow::Result<ExitCode> {
    let path = std::fs::canonicalize(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {} as UTF-8 text", path.display()))?;
    let root = match &args.workspace {
        Some(root) => std::fs::canonicalize(root)
            .with_context(|| format!("cannot open {}", root.display()))?,
        None => find_workspace_root(path.parent().unwrap_or(Path::new("/"))),
    };
    let loaded = config::load(Some(&root));
    for problem in &loaded.problems {
        eprintln!("warning: {}: {}", problem.path.display(), problem.message);
    }
    let opened = Journal::open(&root);
    for notice in &opened.notices {
        eprintln!("warning: {notice}");
    }
    let journal = opened.journal;
    let mut workspace = Workspace::new(Some(root.clone()));
    workspace.restore(opened.open_work);
    let url = Url::from_file_path(&path)
        .map_err(|()| anyhow::anyhow!("{} is not an absolute path", path.display()))?;
    let document = Document::new(url.clone(), 0, String::new(), &text);
    let range = parse_region(&args.range, &document)?;
    workspace.open_document(document);
    let (events, mut receiver) = mpsc::unbounded_channel();
    let engine = Engine::new(workspace, journal, loaded.config, events);
    let run = engine.delegate(Delegation {
        uri: url.clone(),
        range,
        agent: args.agent.clone(),
        instruction: args.instruction.clone(),
    })?;
    let show_progress = std::io::stderr().is_terminal();
    let mut characters = 0usize;
    let final_state = loop {
        let event = tokio::select! {
            event = receiver.recv() => event,
            _ = tokio::signal::ctrl_c() => {
                let _ = engine.cancel(run);
                continue;
            }
        };
        match event {
            Some(RunEvent::Delta { text, .. }) => {
                characters += text.chars().count();
                if show_progress {
                    eprint!("\rrun {run}: {characters} characters received");
                }
            }
            Some(RunEvent::Retrying {
                attempt,
                delay,
                reason,
                ..
            }) => {
                eprintln!(
                    "run {run}: {reason}; retry {attempt} in {:.1}s",
                    delay.as_secs_f32()
                );
            }
            Some(RunEvent::State { run: id, state }) if id == run && !state.is_in_flight() => {
                break state;
            }
            Some(_) => {}
            None => bail!("the run engine stopped unexpectedly"),
        }
    };
    if show_progress && characters > 0 {
        eprintln!();
    }
    // The diff names the file as git does: relative to the workspace.
    let shown = path
        .strip_prefix(&root)
        .unwrap_or(&path)
        .display()
        .to_string();
    report(
        &engine,
        run,
        final_state,
        &url,
        &text,
        (&path, &shown),
        args.apply,
    )
}

/// Prints the outcome and, when asked, applies it to the file.
fn report(
    engine: &Arc<Engine>,
    run: crate::ids::RunId,
    state: RunState,
    url: &Url,
    original: &str,
    (path, shown): (&Path, &str),
    apply: bool,
) -> anyhow::Result<ExitCode> {
    let reason = lock(&engine.workspace)
        .runs
        .get(&run)
        .and_then(|record| record.reason.clone());
    match state {
        RunState::Proposed => {}
        RunState::Settled => {
            eprintln!(
                "run {run}: {}",
                reason.unwrap_or_else(|| "no change".into())
            );
            return Ok(ExitCode::SUCCESS);
        }
        _ => {
            eprintln!(
                "run {run} {}: {}",
                state.as_str(),
                reason.unwrap_or_default()
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    if let Some(reason) = reason {
        eprintln!("warning: {reason}");
    }
    let hunks = engine.open_hunks_of_run(run)?;
    let plan = engine.begin_accept(&hunks)?;
    let mut proposed = original.to_owned();
    let mut edits = plan.edits.clone();
    edits.sort_by_key(|edit| std::cmp::Reverse(edit.range.start));
    for edit in &edits {
        proposed.replace_range(edit.range.clone(), &edit.new_text);
    }
    let diff = similar::TextDiff::from_lines(original, &proposed);
    let unified = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{shown}"), &format!("b/{shown}"))
        .to_string();
    std::io::stdout().lock().write_all(unified.as_bytes())?;
    if !apply {
        engine.settle_accept(&plan, false);
        eprintln!(
            "run {run}: {} proposed; they wait in the journal for review in the editor, or run again with --apply",
            hunks.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    write_atomically(path, &proposed)?;
    // Settled before the document changes, as an editor confirms an applied
    // edit: the change then lands the accept, which nothing else does.
    engine.settle_accept(&plan, true);
    {
        let mut workspace = lock(&engine.workspace);
        let document = workspace
            .documents
            .get(url)
            .cloned()
            .context("the document vanished")?;
        let mut version = document.version;
        let mut changed = Vec::new();
        for edit in &edits {
            version += 1;
            let current = workspace
                .documents
                .get(url)
                .cloned()
                .context("the document vanished")?;
            let change = ContentChange {
                range: Some(byte_range_to_range(
                    &current.text,
                    edit.range.clone(),
                    PositionEncoding::Utf8,
                )),
                text: edit.new_text.clone(),
            };
            changed.extend(
                workspace
                    .change_document(url, version, &[change], PositionEncoding::Utf8)?
                    .hunks,
            );
        }
        drop(workspace);
        engine.hunks_changed(url, &changed);
    }
    eprintln!("run {run}: applied to {shown}");
    Ok(ExitCode::SUCCESS)
}

/// Replaces a file's contents without ever leaving it half written.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let folder = path.parent().context("the file has no folder")?;
    let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
    temporary.write_all(text.as_bytes())?;
    if let Ok(metadata) = std::fs::metadata(path) {
        temporary
            .as_file()
            .set_permissions(metadata.permissions())?;
    }
    temporary
        .persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Parses `L1:C1-L2:C2` or `L1-L2` into a byte range of `document`.
pub fn parse_region(text: &str, document: &Document) -> anyhow::Result<Range<usize>> {
    let usage = || format!("--range must look like 12:1-20:1 or 12-20 (1-based), not '{text}'");
    let (start, end) = text.split_once('-').with_context(usage)?;
    let number = |part: &str| {
        part.trim()
            .parse::<usize>()
            .ok()
            .filter(|value| *value >= 1)
    };
    match (start.split_once(':'), end.split_once(':')) {
        (Some((line1, column1)), Some((line2, column2))) => {
            let (line1, column1, line2, column2) = (
                number(line1).with_context(usage)?,
                number(column1).with_context(usage)?,
                number(line2).with_context(usage)?,
                number(column2).with_context(usage)?,
            );
            let at = |line: usize, column: usize| {
                char_position_to_offset(&document.text, line - 1, column - 1)
                    .with_context(|| format!("--range: {line}:{column} is not in {}", document.uri))
            };
            let (start, end) = (at(line1, column1)?, at(line2, column2)?);
            if start > end {
                bail!("--range ends before it starts");
            }
            Ok(start..end)
        }
        (None, None) => {
            let (line1, line2) = (
                number(start).with_context(usage)?,
                number(end).with_context(usage)?,
            );
            if line1 > line2 {
                bail!("--range ends before it starts");
            }
            let start = char_position_to_offset(&document.text, line1 - 1, 0)
                .with_context(|| format!("--range: line {line1} is not in {}", document.uri))?;
            let last = char_position_to_offset(&document.text, line2 - 1, 0)
                .with_context(|| format!("--range: line {line2} is not in {}", document.uri))?;
            let end = (last + 1).min(document.text.len_bytes()).max(start);
            Ok(whole_lines(&document.text, start..end))
        }
        _ => bail!(usage()),
    }
}
