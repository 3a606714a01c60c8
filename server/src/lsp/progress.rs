//! Run events forwarded to the editor: `$/progress` for every run (begin, reports
//! with the characters received so far and the tail of the text or the agent's
//! activity, end),
//! diagnostics when proposals change, one message when a run finishes, an
//! agent's permission questions as `window/showMessageRequest`, and the box of
//! the task a run was started from.

use super::backend::Backend;
use super::hunk_view::plural;
use crate::agent::acp::PermissionQuestion;
use crate::ids::RunId;
use crate::run::event::RunEvent;
use crate::run::state::RunState;
use crate::workspace::lock;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tower_lsp_server::ls_types::notification::Progress;
use tower_lsp_server::ls_types::*;

/// Reports are throttled so a fast stream does not flood the editor.
const REPORT_INTERVAL: Duration = Duration::from_millis(150);
/// How much of the end of the answer a report shows.
const TAIL_CHARS: usize = 60;
const TOKEN_PREFIX: &str = "director/run/";
/// How long a running agent may be silent before the progress says so (and
/// again after each further stretch as long).
const SILENCE: Duration = Duration::from_secs(30);
/// How often silent runs are looked for.
const SILENCE_CHECK: Duration = Duration::from_secs(5);

/// What the loop remembers about a run's progress.
#[derive(Debug, Default)]
struct RunProgress {
    token: Option<ProgressToken>,
    /// Characters of answer received: what a stream's pieces honestly count
    /// (a piece is not a token).
    characters: usize,
    text: String,
    last_report: Option<Instant>,
    /// When the running agent was last heard from; `None` before it runs.
    last_heard: Option<Instant>,
    /// How many stretches of [`SILENCE`] were reported since then.
    silences_reported: u32,
}

impl RunProgress {
    /// Notes that the agent was just heard from.
    fn heard(&mut self) {
        self.last_heard = Some(Instant::now());
        self.silences_reported = 0;
    }
}

/// What the progress says of an agent quiet for `quiet` when
/// `already_reported` stretches of silence were said: a new line once each
/// further [`SILENCE`] has passed, else nothing.
fn silence_note(quiet: Duration, already_reported: u32) -> Option<(u32, String)> {
    let stretches = u32::try_from(quiet.as_secs() / SILENCE.as_secs()).unwrap_or(u32::MAX);
    (stretches > already_reported).then(|| {
        let seconds = u64::from(stretches) * SILENCE.as_secs();
        (stretches, format!("no output for {seconds} s"))
    })
}

pub fn spawn_event_loop(backend: Backend, mut receiver: mpsc::UnboundedReceiver<RunEvent>) {
    tokio::spawn(async move {
        let mut runs: HashMap<RunId, RunProgress> = HashMap::new();
        let mut silence_check = tokio::time::interval(SILENCE_CHECK);
        loop {
            let event = tokio::select! {
                event = receiver.recv() => event,
                _ = silence_check.tick() => {
                    report_silences(&backend, &mut runs).await;
                    continue;
                }
            };
            let Some(event) = event else {
                break;
            };
            if let Some(run) = heard_from(&event) {
                runs.entry(run).or_default().heard();
            }
            match event {
                RunEvent::State { run, state } => {
                    on_state(&backend, &mut runs, run, state).await;
                    backend.update_task_box(run).await;
                }
                RunEvent::Delta { run, text } => {
                    let progress = runs.entry(run).or_default();
                    progress.characters += text.chars().count();
                    progress.text.push_str(&text);
                    let due = progress
                        .last_report
                        .is_none_or(|last| last.elapsed() >= REPORT_INTERVAL);
                    if due {
                        progress.last_report = Some(Instant::now());
                        let message = format!(
                            "run {run} · {} characters · {}",
                            progress.characters,
                            tail(&progress.text)
                        );
                        report(&backend, progress, message).await;
                    }
                }
                RunEvent::Retrying {
                    run,
                    attempt,
                    delay,
                    reason,
                } => {
                    let progress = runs.entry(run).or_default();
                    let message = format!(
                        "run {run} · {reason}; retry {attempt} in {:.1}s",
                        delay.as_secs_f32()
                    );
                    report(&backend, progress, message).await;
                }
                RunEvent::Step { run, step } => {
                    let progress = runs.entry(run).or_default();
                    report(&backend, progress, format!("run {run} · {step}")).await;
                }
                RunEvent::Activity { run, line } => {
                    let progress = runs.entry(run).or_default();
                    report(&backend, progress, format!("run {run} · {line}")).await;
                }
                RunEvent::Permission { run, question } => ask_permission(&backend, run, question),
                RunEvent::ProposalsChanged { uri } => backend.publish(&uri).await,
            }
        }
    });
}

/// The run whose agent an event shows alive.
fn heard_from(event: &RunEvent) -> Option<RunId> {
    match event {
        RunEvent::Delta { run, .. }
        | RunEvent::Retrying { run, .. }
        | RunEvent::Step { run, .. }
        | RunEvent::Activity { run, .. } => Some(*run),
        RunEvent::State {
            run,
            state: RunState::Running,
        } => Some(*run),
        RunEvent::State { .. }
        | RunEvent::Permission { .. }
        | RunEvent::ProposalsChanged { .. } => None,
    }
}

/// Tells, in their progress, of running agents silent for a while.
async fn report_silences(backend: &Backend, runs: &mut HashMap<RunId, RunProgress>) {
    for (run, progress) in runs.iter_mut() {
        let Some(last_heard) = progress.last_heard else {
            continue;
        };
        if let Some((stretches, note)) =
            silence_note(last_heard.elapsed(), progress.silences_reported)
        {
            progress.silences_reported = stretches;
            report(backend, progress, format!("run {run} · {note}")).await;
        }
    }
}

async fn on_state(
    backend: &Backend,
    runs: &mut HashMap<RunId, RunProgress>,
    run: RunId,
    state: RunState,
) {
    let Ok(session) = backend.session() else {
        return;
    };
    let Some(record) = lock(&session.engine.workspace).runs.get(&run).cloned() else {
        return;
    };
    let progress = runs.entry(run).or_default();
    match state {
        RunState::Queued => {
            if session.support.work_done_progress {
                let token = ProgressToken::String(format!("{TOKEN_PREFIX}{run}"));
                if backend
                    .client
                    .create_work_done_progress(token.clone())
                    .await
                    .is_ok()
                {
                    progress.token = Some(token.clone());
                    let begin = WorkDoneProgress::Begin(WorkDoneProgressBegin {
                        title: format!("{}: {}", record.agent, first_line(&record.instruction)),
                        cancellable: Some(true),
                        message: Some(format!("run {run} queued")),
                        percentage: None,
                    });
                    send(backend, token, begin).await;
                }
            }
        }
        RunState::Running => {
            report(
                backend,
                progress,
                format!("run {run} · waiting for the agent"),
            )
            .await;
        }
        RunState::Proposed
        | RunState::Settled
        | RunState::Failed
        | RunState::Cancelled
        | RunState::Interrupted => {
            let hunks = record.hunks.len();
            let outcome = match state {
                RunState::Proposed => format!("{} to review", plural(hunks, "proposal")),
                RunState::Settled => record
                    .reason
                    .clone()
                    .unwrap_or_else(|| "settled".to_owned()),
                RunState::Failed => record.reason.clone().unwrap_or_else(|| "failed".to_owned()),
                _ => format!(
                    "{}: {}",
                    state.as_str(),
                    record.reason.clone().unwrap_or_default()
                ),
            };
            let finished = runs.remove(&run);
            if let Some(token) = finished.and_then(|progress| progress.token) {
                let end = WorkDoneProgress::End(WorkDoneProgressEnd {
                    message: Some(format!("run {run}: {outcome}")),
                });
                send(backend, token, end).await;
            }
            let (kind, text) = match state {
                RunState::Failed => (
                    MessageType::ERROR,
                    format!("Director run {run} ({}) failed: {outcome}", record.agent),
                ),
                RunState::Proposed => (
                    MessageType::INFO,
                    format!("Director run {run} ({}): {outcome}", record.agent),
                ),
                _ => return,
            };
            backend.client.show_message(kind, text).await;
        }
    }
}

/// Puts an agent's permission question to the user with
/// `window/showMessageRequest`, one button per choice, and sends back the
/// choice; a dismissed request or an editor error is no answer. The question
/// waits for the user on its own task so other runs' progress keeps flowing.
fn ask_permission(backend: &Backend, run: RunId, question: PermissionQuestion) {
    let backend = backend.clone();
    tokio::spawn(async move {
        let actions = question
            .choices
            .iter()
            .map(|choice| MessageActionItem {
                title: choice.clone(),
                properties: HashMap::new(),
            })
            .collect();
        let answer = backend
            .client
            .show_message_request(
                MessageType::WARNING,
                format!("Director run {run}: {}", question.message),
                Some(actions),
            )
            .await;
        let choice = match answer {
            Ok(Some(item)) => question
                .choices
                .iter()
                .position(|choice| *choice == item.title),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(
                    "run {run}: the editor did not answer a permission question: {error}"
                );
                None
            }
        };
        // The run may have ended meanwhile; then nobody needs the answer.
        let _ = question.reply.send(choice);
    });
}

async fn report(backend: &Backend, progress: &RunProgress, message: String) {
    if let Some(token) = &progress.token {
        let value = WorkDoneProgress::Report(WorkDoneProgressReport {
            cancellable: Some(true),
            message: Some(message),
            percentage: None,
        });
        send(backend, token.clone(), value).await;
    }
}

async fn send(backend: &Backend, token: ProgressToken, value: WorkDoneProgress) {
    backend
        .client
        .send_notification::<Progress>(ProgressParams {
            token,
            value: ProgressParamsValue::WorkDone(value),
        })
        .await;
}

impl Backend {
    /// The cancel button of a run's progress cancels the run.
    pub async fn progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        let ProgressToken::String(token) = params.token else {
            return;
        };
        let Some(run) = token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|id| id.parse().ok())
            .map(RunId)
        else {
            return;
        };
        if let Ok(session) = self.session() {
            if let Err(error) = session.engine.cancel(run) {
                tracing::warn!("cannot cancel run {run}: {error}");
            }
        }
    }
}

/// The last characters of the answer so far, on one line.
fn tail(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let count = flat.chars().count();
    if count <= TAIL_CHARS {
        flat
    } else {
        let skip = count - TAIL_CHARS;
        format!("…{}", flat.chars().skip(skip).collect::<String>())
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    match line.char_indices().nth(50) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_told_once_per_stretch() {
        assert_eq!(silence_note(Duration::from_secs(29), 0), None);
        assert_eq!(
            silence_note(Duration::from_secs(31), 0),
            Some((1, "no output for 30 s".to_owned()))
        );
        assert_eq!(silence_note(Duration::from_secs(59), 1), None);
        assert_eq!(
            silence_note(Duration::from_secs(95), 1),
            Some((3, "no output for 90 s".to_owned()))
        );
    }

    #[test]
    fn only_what_comes_from_a_running_agent_shows_it_alive() {
        let run = RunId(4);
        let delta = RunEvent::Delta {
            run,
            text: "x".into(),
        };
        assert_eq!(heard_from(&delta), Some(run));
        let running = RunEvent::State {
            run,
            state: RunState::Running,
        };
        assert_eq!(heard_from(&running), Some(run));
        let queued = RunEvent::State {
            run,
            state: RunState::Queued,
        };
        assert_eq!(heard_from(&queued), None);
    }
}
