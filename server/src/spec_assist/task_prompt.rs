//! What an agent is told when a task is started from a tasks file: the task with its
//! sub-items (sub-tasks included), the requirements it links with their criteria and
//! scenarios as written, the design notes of the same spec (`design.md`, `plan.md`),
//! the steering files, and which code files to show it (those that trace to the
//! linked requirements, and those the task names).

use crate::run::prompt::{ContextEntry, fenced};
use crate::spec::index::{LinkKind, SpecIndex};
use crate::spec::model::{FileRole, SpecDocument, Task};
use crate::spec::references::RefExpr;
use crate::spec_assist::agent_context::{fit_to_budget, steering_files};
use regex::Regex;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// How many characters of requirements, design notes and steering a task prompt carries.
pub const TASK_BUDGET_CHARS: usize = 24_000;

/// At most this many files are shown to the agent, traced files first.
const MAX_FILES: usize = 24;

/// A file path as tasks write them: `src/auth/expiry.rs`, in backticks or not.
static MENTIONED_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s`(])(?P<path>[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)*\.[A-Za-z0-9]{1,8})")
        .expect("static regex")
});

/// Everything a run started from a task needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPrompt {
    /// The whole instruction for the agent, in Markdown.
    pub instruction: String,
    /// Workspace-relative paths of the code files to show the agent.
    pub files: Vec<PathBuf>,
    /// The task line: the run's anchor in the tasks file.
    pub anchor: Range<usize>,
    /// The task's ID, or its title when it has none, for messages.
    pub label: String,
}

/// The index of the task whose line is line `line` (0-based) of `text`.
pub fn task_on_line(document: &SpecDocument, text: &str, line: usize) -> Option<usize> {
    let start = line_start(text, line)?;
    document
        .tasks
        .iter()
        .position(|task| task.range.start == start)
}

/// The prompt for task `task_index` of the tasks file at `path` (as the index holds
/// it), with at most `budget` characters of spec context.
pub fn assemble(
    index: &SpecIndex,
    path: &Path,
    task_index: usize,
    budget: usize,
) -> Option<TaskPrompt> {
    let spec = index.spec(path)?;
    let document = &spec.document;
    let task = document.tasks.get(task_index)?;
    let root = index.root();
    let relative = path.strip_prefix(root).unwrap_or(path);
    let block = task_block(&spec.text, document, task_index);
    let task_text = spec.text.get(block).unwrap_or("").trim_end();

    let requirements = linked_requirements(index, document, task_index);
    let design = design_notes(index, path);
    let mut files = traced_files(index, &requirements);
    for mentioned in mentioned_files(root, task_text) {
        if !files.contains(&mentioned) {
            files.push(mentioned);
        }
    }
    files.truncate(MAX_FILES);

    let mut steering: Vec<ContextEntry> = Vec::new();
    for relative_file in std::iter::once(relative).chain(files.iter().map(PathBuf::as_path)) {
        for entry in steering_files(root, relative_file) {
            if !steering.iter().any(|kept| kept.title == entry.title) {
                steering.push(entry);
            }
        }
    }
    let requirement_ids: Vec<String> = requirements
        .iter()
        .map(|requirement| requirement.id.clone())
        .collect();
    let requirement_count = requirements.len();
    let mut spec_entries: Vec<ContextEntry> = requirements
        .into_iter()
        .map(|requirement| requirement.entry)
        .collect();
    spec_entries.extend(design);
    let (spec_entries, steering) = fit_to_budget(spec_entries, steering, budget);
    let (requirement_entries, design_entries) =
        spec_entries.split_at(requirement_count.min(spec_entries.len()));

    let label = task.id.clone().unwrap_or_else(|| task.title.clone());
    let mut instruction = format!(
        "Carry out task {label} of the spec `{}` ({}). Do this task and its sub-items only; \
         leave the other tasks and the spec files alone.\n\n{}\n",
        document.spec_id,
        relative.display(),
        fenced("md", task_text)
    );
    push_section(
        &mut instruction,
        "Requirements this task implements:",
        requirement_entries,
    );
    if !requirement_entries.is_empty() {
        let example = requirement_ids.first().map_or("REQ-1", String::as_str);
        instruction.push_str(&format!(
            "\nWhere your code implements one of these requirements, add a comment tag \
             `@spec <ID>` (for example `@spec {example}`) just above the code that implements \
             it, keeping the tags already there.\n"
        ));
    }
    push_section(
        &mut instruction,
        "Design notes of this spec:",
        design_entries,
    );
    push_section(&mut instruction, "Project guidance to follow:", &steering);
    Some(TaskPrompt {
        instruction,
        files,
        anchor: task.range.clone(),
        label,
    })
}

/// A requirement a task links, with the IDs the task cites it by.
struct LinkedRequirement {
    key: String,
    /// The requirement's own ID, for the `@spec` tag example.
    id: String,
    entry: ContextEntry,
}

/// The task line and what belongs to it: the following lines that are indented
/// deeper than it, blank, or lines of its sub-tasks, up to the next heading or the
/// next task that is not one of its sub-tasks.
fn task_block(text: &str, document: &SpecDocument, task_index: usize) -> Range<usize> {
    let task = &document.tasks[task_index];
    let indent = indentation(&text[task.range.clone()]);
    let next_heading = document
        .sections
        .iter()
        .map(|section| section.heading_range.start)
        .filter(|start| *start > task.range.start)
        .min()
        .unwrap_or(text.len());
    let mut end = task.range.end;
    let mut offset = task.range.end;
    for line in text[task.range.end..next_heading].split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        if start == task.range.end {
            // The rest of the task line itself (its newline).
            end = offset;
            continue;
        }
        let content = line.trim_end_matches(['\n', '\r']);
        match document
            .tasks
            .iter()
            .position(|other| other.range.start == start)
        {
            Some(other) if !is_descendant(document, other, task_index) => break,
            Some(_) => end = offset,
            None if content.trim().is_empty() => {}
            None if indentation(content) > indent => end = offset,
            None => break,
        }
    }
    task.range.start..end
}

fn is_descendant(document: &SpecDocument, mut candidate: usize, ancestor: usize) -> bool {
    while let Some(parent) = document.tasks.get(candidate).and_then(|task| task.parent) {
        if parent == ancestor {
            return true;
        }
        candidate = parent;
    }
    false
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The requirements the task and its sub-tasks reference (`_Requirements:_`,
/// `Validates:`, inline IDs, spec-kit stories), each once, in order of citation.
fn linked_requirements(
    index: &SpecIndex,
    document: &SpecDocument,
    task_index: usize,
) -> Vec<LinkedRequirement> {
    let context = Some(document.spec_id.as_str());
    let tasks = document
        .tasks
        .iter()
        .enumerate()
        .filter(|(position, _)| {
            *position == task_index || is_descendant(document, *position, task_index)
        })
        .map(|(_, task)| task);
    let mut cited: Vec<(String, Vec<String>)> = Vec::new();
    for task in tasks {
        for reference in references_of(task) {
            let Some(location) = index
                .resolve(&reference, context)
                .and_then(|key| index.item(key))
            else {
                continue;
            };
            let key = location.requirement_key.clone();
            match cited.iter_mut().find(|(known, _)| *known == key) {
                Some((_, ids)) if !ids.contains(&reference) => ids.push(reference),
                Some(_) => {}
                None => cited.push((key, vec![reference])),
            }
        }
    }
    cited
        .into_iter()
        .filter_map(|(key, ids)| {
            let found = index.requirement(&key)?;
            let spec = index.spec(&found.document.path)?;
            let requirement = found.requirement;
            let text = spec.text.get(requirement.range.clone())?.trim();
            let relative = found
                .document
                .path
                .strip_prefix(index.root())
                .unwrap_or(&found.document.path);
            let name = match &requirement.title {
                Some(title) => format!("{} {title}", requirement.local_id),
                None => requirement.local_id.clone(),
            };
            let title = format!(
                "{name} ({}; the task cites {})",
                relative.display(),
                ids.join(", ")
            );
            Some(LinkedRequirement {
                key,
                id: requirement.local_id.clone(),
                entry: ContextEntry {
                    title,
                    text: text.to_owned(),
                },
            })
        })
        .collect()
}

fn references_of(task: &Task) -> Vec<String> {
    let mut references: Vec<String> = task
        .refs
        .iter()
        .chain(&task.validates)
        .filter_map(|reference| match reference {
            RefExpr::Id { id, .. } => Some(id.clone()),
            RefExpr::Unresolved { .. } => None,
        })
        .collect();
    references.extend(task.story.clone());
    references
}

/// The design files of the spec the tasks file belongs to: `design.md` or
/// `plan.md` in the same folder.
fn design_notes(index: &SpecIndex, tasks_path: &Path) -> Vec<ContextEntry> {
    let folder = tasks_path.parent();
    index
        .specs()
        .filter(|(path, spec)| {
            path.parent() == folder
                && matches!(spec.document.role, FileRole::Design | FileRole::Plan)
        })
        .map(|(path, spec)| ContextEntry {
            title: path
                .strip_prefix(index.root())
                .unwrap_or(path)
                .display()
                .to_string(),
            text: spec.text.trim().to_owned(),
        })
        .filter(|entry| !entry.text.is_empty())
        .collect()
}

/// Code files that trace to the requirements: `@spec` tags and other code traces,
/// then spec-side links (`[@impl](../src/x.rs)`) that name existing files; by
/// their paths relative to the workspace.
fn traced_files(index: &SpecIndex, requirements: &[LinkedRequirement]) -> Vec<PathBuf> {
    let root = index.root();
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut files: Vec<PathBuf> = Vec::new();
    let mut add = |path: PathBuf| {
        let relative = path
            .strip_prefix(root)
            .or_else(|_| path.strip_prefix(&canonical_root))
            .map(Path::to_path_buf);
        if let Ok(relative) = relative {
            if !files.contains(&relative) {
                files.push(relative);
            }
        }
    };
    for requirement in requirements {
        let mut links = index.links_to(&requirement.key);
        links.sort_by(|left, right| left.path.cmp(&right.path));
        for link in links {
            match &link.kind {
                LinkKind::Code { .. } => add(link.path),
                LinkKind::SpecSideLink { target, .. } => {
                    let folder = link.path.parent().unwrap_or(root);
                    if let Ok(path) = folder.join(target).canonicalize() {
                        if path.is_file() {
                            add(path);
                        }
                    }
                }
                LinkKind::Task { .. } | LinkKind::DesignProperty { .. } => {}
            }
        }
    }
    files
}

/// Existing files under `root` that the task text names by relative path, as named.
fn mentioned_files(root: &Path, task_text: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for captures in MENTIONED_PATH.captures_iter(task_text) {
        let relative = Path::new(&captures["path"]);
        if relative.is_absolute()
            || relative
                .components()
                .any(|part| matches!(part, std::path::Component::ParentDir))
        {
            continue;
        }
        if root.join(relative).is_file() && !files.iter().any(|known| known == relative) {
            files.push(relative.to_path_buf());
        }
    }
    files
}

fn push_section(instruction: &mut String, heading: &str, entries: &[ContextEntry]) {
    if entries.is_empty() {
        return;
    }
    instruction.push_str(&format!("\n{heading}\n"));
    for entry in entries {
        instruction.push_str(&format!(
            "\n{}\n{}\n",
            entry.title,
            fenced("md", &entry.text)
        ));
    }
}

/// The byte offset where line `line` (0-based) starts.
fn line_start(text: &str, line: usize) -> Option<usize> {
    if line == 0 {
        return Some(0);
    }
    text.match_indices('\n')
        .nth(line - 1)
        .map(|(position, _)| position + 1)
        .filter(|start| *start <= text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUIREMENTS: &str = "# Requirements Document\n## Introduction\nSessions.\n## Requirements\n### Requirement 1: Idle timeout\n**User Story:** As a user, I want idle sessions to end, so that nobody borrows mine.\n#### Acceptance Criteria\n1. WHEN a session is idle for 30 minutes, THE Session service SHALL end it.\n2. IF a request carries an ended session, THEN THE API SHALL answer 401.\n### Requirement 2: Audit\n**User Story:** As an admin, I want a log.\n#### Acceptance Criteria\n1. WHEN a session ends, THE Session service SHALL log it.\n";
    const DESIGN: &str =
        "# Design\n## Overview\nA sweeper task runs every minute over the session table.\n";
    const TASKS: &str = "# Implementation Plan\n- [ ] 1. Expire idle sessions in `src/expiry.rs`\n  - Add the sweeper\n  - _Requirements: 1.1_\n- [ ] 1.1 Answer 401 for ended sessions\n  - _Requirements: 1.2_\n\n- [ ] 2. Log ended sessions\n  - _Requirements: 2.1_\n## Later\n- [ ] 3. Nothing yet\n";
    const CODE: &str = "// @spec 1.1\nfn sweep() {}\n";

    fn workspace() -> (tempfile::TempDir, SpecIndex) {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().canonicalize().expect("root");
        let files = [
            (".kiro/specs/auth/requirements.md", REQUIREMENTS),
            (".kiro/specs/auth/design.md", DESIGN),
            (".kiro/specs/auth/tasks.md", TASKS),
            ("src/expiry.rs", "fn expire() {}\n"),
            ("src/sweep.rs", CODE),
            ("AGENTS.md", "Run cargo test before answering.\n"),
        ];
        for (relative, text) in files {
            let path = root.join(relative);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let index = SpecIndex::build(&root);
        (dir, index)
    }

    fn tasks_path(index: &SpecIndex) -> PathBuf {
        index.root().join(".kiro/specs/auth/tasks.md")
    }

    #[test]
    fn finds_the_task_on_a_line() {
        let (_dir, index) = workspace();
        let spec = index.spec(&tasks_path(&index)).expect("tasks indexed");
        let found = |line| task_on_line(&spec.document, &spec.text, line);
        assert_eq!(found(1), Some(0));
        assert_eq!(found(2), None);
        assert_eq!(found(4), Some(1));
        assert_eq!(found(7), Some(2));
        assert_eq!(found(99), None);
    }

    #[test]
    fn a_parent_task_brings_its_sub_tasks_requirements_design_and_steering() {
        let (_dir, index) = workspace();
        let prompt = assemble(&index, &tasks_path(&index), 0, TASK_BUDGET_CHARS).expect("a prompt");
        let instruction = &prompt.instruction;
        assert!(instruction.starts_with("Carry out task 1 of the spec `auth`"));
        assert!(instruction.contains("  - Add the sweeper\n"));
        assert!(instruction.contains("- [ ] 1.1 Answer 401 for ended sessions"));
        assert!(!instruction.contains("Log ended sessions"), "{instruction}");
        assert!(instruction.contains("1.1, 1.2"), "{instruction}");
        assert!(instruction.contains("SHALL answer 401"));
        assert!(!instruction.contains("SHALL log it"));
        assert!(instruction.contains("A sweeper task runs every minute"));
        assert!(instruction.contains("Run cargo test before answering."));
        assert!(instruction.contains("`@spec R1`"), "{instruction}");
        assert_eq!(
            prompt.files,
            [Path::new("src/sweep.rs"), Path::new("src/expiry.rs")]
        );
        let spec = index.spec(&tasks_path(&index)).expect("indexed");
        assert_eq!(
            &spec.text[prompt.anchor.clone()],
            "- [ ] 1. Expire idle sessions in `src/expiry.rs`"
        );
        assert_eq!(prompt.label, "1");
    }

    #[test]
    fn a_leaf_task_stops_at_the_next_task_and_a_heading_ends_the_last() {
        let (_dir, index) = workspace();
        let path = tasks_path(&index);
        let leaf = assemble(&index, &path, 1, TASK_BUDGET_CHARS).expect("a prompt");
        assert!(leaf.instruction.contains("_Requirements: 1.2_"));
        assert!(!leaf.instruction.contains("Add the sweeper"));
        // The code traces to requirement 1, whichever of its criteria a task cites.
        assert_eq!(leaf.files, [Path::new("src/sweep.rs")]);
        let last = assemble(&index, &path, 2, TASK_BUDGET_CHARS).expect("a prompt");
        assert!(!last.instruction.contains("Nothing yet"));
        assert!(last.instruction.contains("SHALL log it"));
        assert!(last.files.is_empty(), "{:?}", last.files);
    }

    #[test]
    fn the_budget_drops_design_notes_and_steering_before_requirements() {
        let (_dir, index) = workspace();
        let prompt = assemble(&index, &tasks_path(&index), 2, 300).expect("a prompt");
        assert!(prompt.instruction.contains("SHALL log it"));
        assert!(!prompt.instruction.contains("Project guidance"));
        assert!(assemble(&index, &tasks_path(&index), 9, 300).is_none());
    }
}
