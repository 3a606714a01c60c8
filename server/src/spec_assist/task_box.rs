//! The checkbox of a task started as a run: which mark the run's state calls for
//! (`[-]` while it works or waits for decisions, `[x]` once every proposal was
//! accepted, `[ ]` when it failed, was cancelled or everything was rejected), and
//! the guarded one-character edit that sets it. The edit is refused when the task
//! line changed since the run started (its text apart from the box): the user's
//! text always wins over Director's bookkeeping.

use crate::proposal::HunkState;
use crate::run::state::RunState;
use std::ops::Range;

/// The box characters a task line may hold (SPEC-FORMATS R5).
const BOX_CHARACTERS: &[u8] = b" xX-~/";

/// A task a run was started from, as its line read then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedTask {
    /// The task's ID or title, for messages.
    pub label: String,
    /// The whole task line when the run started, without its line break.
    pub line: String,
    /// The byte offset of the box character within `line`.
    pub box_column: usize,
    /// Where the line started in the file then; the nearest matching line wins
    /// when the run no longer tracks where it is.
    pub line_start: usize,
}

/// The state of a task's box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskMark {
    Todo,
    InProgress,
    Done,
}

impl TaskMark {
    pub fn character(self) -> char {
        match self {
            TaskMark::Todo => ' ',
            TaskMark::InProgress => '-',
            TaskMark::Done => 'x',
        }
    }

    /// Whether the run is over as far as the box is concerned.
    pub fn is_final(self) -> bool {
        self != TaskMark::InProgress
    }
}

/// The mark a run in `state` whose hunks are in `hunks` calls for. `None` leaves the
/// box alone for good: a settled run whose proposals were partly accepted and
/// partly rejected did part of the task, which only the user can judge.
pub fn mark_for_run(state: RunState, hunks: &[HunkState]) -> Option<TaskMark> {
    match state {
        RunState::Queued | RunState::Running | RunState::Proposed => Some(TaskMark::InProgress),
        RunState::Failed | RunState::Cancelled | RunState::Interrupted => Some(TaskMark::Todo),
        RunState::Settled => {
            let accepted = hunks
                .iter()
                .filter(|state| **state == HunkState::Accepted)
                .count();
            if accepted == 0 {
                Some(TaskMark::Todo)
            } else if accepted == hunks.len() {
                Some(TaskMark::Done)
            } else {
                None
            }
        }
    }
}

/// The one-character edit that sets a task's box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxEdit {
    /// The box character's byte range in the file's current text.
    pub range: Range<usize>,
    pub new_text: String,
}

/// Why a box was not set: the task line (named by its label) was edited or
/// removed since the run started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the line of task {0} changed since its run started")]
pub struct LineChanged(pub String);

/// The edit that sets `task`'s box to `mark` in `text`, `None` when the box shows
/// it already. `tracked_offset` is where the run's anchor is now, when the engine
/// still tracks it: the line there must be the task line. Without it the line is
/// found by its text, nearest to where it was.
pub fn plan_box_edit(
    task: &StartedTask,
    text: &str,
    tracked_offset: Option<usize>,
    mark: TaskMark,
) -> Result<Option<BoxEdit>, LineChanged> {
    let line_start = match tracked_offset {
        Some(offset) => {
            let start = line_start_at(text, offset.min(text.len()));
            if !is_same_task_line(task, line_at(text, start)) {
                return Err(LineChanged(task.label.clone()));
            }
            start
        }
        None => nearest_matching_line(task, text).ok_or_else(|| LineChanged(task.label.clone()))?,
    };
    let box_offset = line_start + task.box_column;
    let current = text.as_bytes()[box_offset];
    let wanted = mark.character();
    if current == wanted as u8 || (mark == TaskMark::Done && current == b'X') {
        return Ok(None);
    }
    Ok(Some(BoxEdit {
        range: box_offset..box_offset + 1,
        new_text: wanted.to_string(),
    }))
}

/// Whether `line` is the task line apart from its box character.
fn is_same_task_line(task: &StartedTask, line: &str) -> bool {
    let (now, then) = (line.as_bytes(), task.line.as_bytes());
    let column = task.box_column;
    now.len() == then.len()
        && column < now.len()
        && BOX_CHARACTERS.contains(&now[column])
        && now[..column] == then[..column]
        && now[column + 1..] == then[column + 1..]
}

fn nearest_matching_line(task: &StartedTask, text: &str) -> Option<usize> {
    let mut offset = 0;
    let mut best: Option<usize> = None;
    for raw_line in text.split_inclusive('\n') {
        let start = offset;
        offset += raw_line.len();
        if is_same_task_line(task, raw_line.trim_end_matches(['\n', '\r'])) {
            let distance = start.abs_diff(task.line_start);
            if best.is_none_or(|known| distance < known.abs_diff(task.line_start)) {
                best = Some(start);
            }
        }
    }
    best
}

fn line_start_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset]
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(0, |position| position + 1)
}

fn line_at(text: &str, start: usize) -> &str {
    let rest = &text.as_bytes()[start..];
    let end = rest
        .iter()
        .position(|byte| *byte == b'\n')
        .map_or(text.len(), |position| start + position);
    // `start` follows a line break (or is 0) and `end` is one: both are boundaries.
    text.get(start..end).unwrap_or("").trim_end_matches('\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "# Tasks\n- [ ] 1. Parse the config\n  - _Requirements: 1.1_\n- [ ] 2. Render ünïcode\n";

    fn started(line: &str) -> StartedTask {
        let line_start = TEXT.find(line).expect("line in text");
        StartedTask {
            label: "T".to_owned(),
            line: line.to_owned(),
            box_column: 3,
            line_start,
        }
    }

    fn apply(text: &str, edit: &BoxEdit) -> String {
        let mut text = text.to_owned();
        text.replace_range(edit.range.clone(), &edit.new_text);
        text
    }

    #[test]
    fn marks_follow_the_run() {
        use HunkState::{Accepted, Open, Rejected};
        assert_eq!(
            mark_for_run(RunState::Queued, &[]),
            Some(TaskMark::InProgress)
        );
        assert_eq!(
            mark_for_run(RunState::Proposed, &[Open]),
            Some(TaskMark::InProgress)
        );
        assert_eq!(
            mark_for_run(RunState::Settled, &[Accepted, Accepted]),
            Some(TaskMark::Done)
        );
        assert_eq!(
            mark_for_run(RunState::Settled, &[Rejected, Rejected]),
            Some(TaskMark::Todo)
        );
        assert_eq!(mark_for_run(RunState::Settled, &[]), Some(TaskMark::Todo));
        assert_eq!(mark_for_run(RunState::Settled, &[Accepted, Rejected]), None);
        assert_eq!(mark_for_run(RunState::Failed, &[]), Some(TaskMark::Todo));
        assert_eq!(
            mark_for_run(RunState::Cancelled, &[Open]),
            Some(TaskMark::Todo)
        );
    }

    #[test]
    fn sets_one_character_at_the_tracked_line() {
        let task = started("- [ ] 2. Render ünïcode");
        let tracked = Some(task.line_start + 4);
        let edit = plan_box_edit(&task, TEXT, tracked, TaskMark::InProgress)
            .expect("allowed")
            .expect("an edit");
        assert_eq!(edit.range.len(), 1);
        let running = apply(TEXT, &edit);
        assert!(running.contains("- [-] 2. Render ünïcode\n"));
        assert!(running.contains("- [ ] 1. Parse the config\n"));
        let done = plan_box_edit(&task, &running, tracked, TaskMark::Done)
            .expect("allowed")
            .expect("an edit");
        assert!(apply(&running, &done).contains("- [x] 2. Render ünïcode\n"));
        assert_eq!(
            plan_box_edit(&task, &running, tracked, TaskMark::InProgress),
            Ok(None)
        );
    }

    #[test]
    fn finds_the_line_by_its_text_when_it_moved() {
        let task = started("- [ ] 1. Parse the config");
        let moved = format!(
            "# Title\n\nIntro.\n{}",
            TEXT.replace("- [ ] 1.", "- [-] 1.")
        );
        let edit = plan_box_edit(&task, &moved, None, TaskMark::Done)
            .expect("allowed")
            .expect("an edit");
        assert!(apply(&moved, &edit).contains("- [x] 1. Parse the config\n"));
    }

    #[test]
    fn refuses_when_the_line_changed_wherever_it_is_looked_for() {
        let task = started("- [ ] 1. Parse the config");
        let edited = TEXT.replace("Parse the config", "Parse the config file");
        let tracked = Some(task.line_start);
        assert_eq!(
            plan_box_edit(&task, &edited, tracked, TaskMark::Done),
            Err(LineChanged("T".to_owned()))
        );
        assert_eq!(
            plan_box_edit(&task, &edited, None, TaskMark::Done),
            Err(LineChanged("T".to_owned()))
        );
        let unboxed = TEXT.replace("- [ ] 1.", "- [?] 1.");
        assert!(plan_box_edit(&task, &unboxed, tracked, TaskMark::Done).is_err());
        assert!(plan_box_edit(&task, "", tracked, TaskMark::Done).is_err());
        assert!(plan_box_edit(&task, "short", Some(99), TaskMark::Done).is_err());
    }
}
