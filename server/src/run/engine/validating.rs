//! Validation of an agent's work before it is proposed: no syntax errors added
//! to any file it changed (tree-sitter), and the agent's `check` command passing
//! in a sandbox where the work is applied. What fails goes back to the agent
//! with the errors, at most `validation_retries` times; what still fails is
//! proposed with a warning that says why.

use super::Engine;
use super::proposing::syntax_warning;
use crate::agent::{AgentBackend, AgentError, AgentEvent, ChatMessage, ChatRequest, Completion};
use crate::config::AgentConfig;
use crate::ids::RunId;
use crate::run::check::{CheckCancelled, CheckOutcome, run_check};
use crate::run::event::RunEvent;
use crate::run::output::{extract_replacement, fit_to_region};
use crate::run::prompt::validation_messages;
use crate::run::sandbox::Sandbox;
use crate::run::state::RunKind;
use crate::syntax::{Language, validate_replacement};
use crate::workspace::{Workspace, lock};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;
use url::Url;

/// Why an agent's work does not pass validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ValidationProblem {
    /// Short, for progress: "syntax errors", "the check failed".
    pub summary: &'static str,
    /// The errors, for the agent and for the run's warning.
    pub message: String,
    /// False when asking the agent again cannot help (the check cannot run).
    pub retryable: bool,
}

/// How to reach an HTTP agent within a run: its backend, its settings, where
/// its progress goes and the run's cancel.
pub(super) struct AgentCall<'a> {
    pub backend: &'a dyn AgentBackend,
    pub agent: &'a AgentConfig,
    pub sink: &'a (dyn Fn(AgentEvent) + Send + Sync),
    pub token: &'a CancellationToken,
}

/// An HTTP agent's final answer, with the conversation that led to it and the
/// warning it is proposed with when it still fails validation.
pub(super) struct ValidatedAnswer {
    pub completion: Result<Completion, AgentError>,
    pub messages: Vec<ChatMessage>,
    pub warning: Option<String>,
}

impl Engine {
    /// Asks the agent, validates its answer on the run's region and sends it back
    /// with the problems until it passes or the agent's `validation_retries` are spent.
    pub(super) async fn complete_validated(
        &self,
        id: RunId,
        base: &str,
        mut messages: Vec<ChatMessage>,
        call: &AgentCall<'_>,
    ) -> ValidatedAnswer {
        let AgentCall {
            backend,
            agent,
            sink,
            token,
        } = *call;
        let mut attempt = 0;
        loop {
            let request = ChatRequest {
                messages: messages.clone(),
            };
            let completion = backend.complete(&request, sink, token).await;
            let Ok(answer) = &completion else {
                return ValidatedAnswer {
                    completion,
                    messages,
                    warning: None,
                };
            };
            let problem = match self
                .answer_problem(id, base, &answer.text, agent, token)
                .await
            {
                Ok(problem) => problem,
                Err(CheckCancelled) => {
                    return ValidatedAnswer {
                        completion: Err(AgentError::Cancelled),
                        messages,
                        warning: None,
                    };
                }
            };
            let Some(problem) = problem else {
                return ValidatedAnswer {
                    completion,
                    messages,
                    warning: None,
                };
            };
            if !problem.retryable || attempt >= agent.validation_retries {
                return ValidatedAnswer {
                    completion,
                    messages,
                    warning: Some(problem.message),
                };
            }
            attempt += 1;
            self.report_validation_retry(id, attempt, agent.validation_retries, &problem);
            messages = validation_messages(&messages, &answer.text, &problem.message);
        }
    }

    /// Why an answer on run `id`'s region does not pass validation. `None` for
    /// reviews, task runs (their answers are checked file by file when proposed,
    /// as warnings), unreadable answers (they fail on their own) and answers
    /// that pass.
    pub(super) async fn answer_problem(
        &self,
        id: RunId,
        base: &str,
        answer: &str,
        agent: &AgentConfig,
        token: &CancellationToken,
    ) -> Result<Option<ValidationProblem>, CheckCancelled> {
        {
            let workspace = lock(&self.workspace);
            if matches!(
                workspace.run_kind(id),
                Some(RunKind::Review | RunKind::Task)
            ) {
                return Ok(None);
            }
        }
        let Ok(replacement) = extract_replacement(answer) else {
            return Ok(None);
        };
        self.region_problem(id, &fit_to_region(&replacement, base), agent, token)
            .await
    }

    /// Why `replacement` of run `id`'s region does not pass validation: the
    /// syntax errors it adds, else the failure of the agent's check run in a
    /// sandbox seeded with the open buffers and the replaced file.
    pub(super) async fn region_problem(
        &self,
        id: RunId,
        replacement: &str,
        agent: &AgentConfig,
        token: &CancellationToken,
    ) -> Result<Option<ValidationProblem>, CheckCancelled> {
        self.report_step(id, "validating: syntax".to_owned());
        let (root, seed) = {
            let workspace = lock(&self.workspace);
            let Some(region) = workspace.regions.get(&id) else {
                return Ok(None);
            };
            let Some(document) = workspace.documents.get(&region.uri) else {
                return Ok(None);
            };
            if let Some(warning) = syntax_warning(document, &region.range, replacement) {
                return Ok(Some(ValidationProblem {
                    summary: "syntax errors",
                    message: warning,
                    retryable: true,
                }));
            }
            if agent.check.is_none() {
                return Ok(None);
            }
            let original = document.text.to_string();
            let start = region.range.start.min(original.len());
            let end = region.range.end.min(original.len()).max(start);
            let proposed = match (original.get(..start), original.get(end..)) {
                (Some(before), Some(after)) => format!("{before}{replacement}{after}"),
                _ => return Ok(None),
            };
            let root = workspace.root.clone();
            let seed = root
                .as_deref()
                .map(|root| sandbox_seed(&workspace, root, Some((&region.uri, proposed))));
            (root, seed)
        };
        let (Some(root), Some(seed)) = (root, seed) else {
            return Ok(Some(ValidationProblem {
                summary: "the check cannot run",
                message: "the check was not run: it needs a workspace folder".to_owned(),
                retryable: false,
            }));
        };
        let created = tokio::task::spawn_blocking(move || Sandbox::create(&root, &seed)).await;
        let sandbox = match created {
            Ok(Ok(sandbox)) => sandbox,
            Ok(Err(error)) => return Ok(Some(sandbox_problem(&error.to_string()))),
            Err(error) => return Ok(Some(sandbox_problem(&error.to_string()))),
        };
        let problem = self.check_problem(id, &sandbox, agent, token).await;
        // Removing a worktree runs git: not on the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || drop(sandbox)).await;
        problem
    }

    /// Why the files a command agent changed in `sandbox` do not pass
    /// validation: the syntax errors it added to each, else its failing check.
    pub(super) async fn sandbox_problem(
        &self,
        id: RunId,
        sandbox: &Sandbox,
        agent: &AgentConfig,
        token: &CancellationToken,
    ) -> Result<Option<ValidationProblem>, CheckCancelled> {
        self.report_step(id, "validating: syntax".to_owned());
        let changes = match sandbox.changes() {
            Ok(changes) => changes,
            Err(error) => return Ok(Some(sandbox_problem(&error.to_string()))),
        };
        let errors: Vec<String> = changes
            .iter()
            .filter_map(|change| {
                let after = change.after.as_deref()?;
                let before = change.before.as_deref().unwrap_or_default();
                file_syntax_problem(&change.path, before, after)
            })
            .collect();
        if !errors.is_empty() {
            return Ok(Some(ValidationProblem {
                summary: "syntax errors",
                message: errors.join("\n"),
                retryable: true,
            }));
        }
        self.check_problem(id, sandbox, agent, token).await
    }

    /// The failure of the agent's check in `sandbox`; `None` when it passes or
    /// the agent has none.
    async fn check_problem(
        &self,
        id: RunId,
        sandbox: &Sandbox,
        agent: &AgentConfig,
        token: &CancellationToken,
    ) -> Result<Option<ValidationProblem>, CheckCancelled> {
        let Some(check) = &agent.check else {
            return Ok(None);
        };
        self.report_step(id, format!("validating: `{}`", check.join(" ")));
        // A check writes where an agent's CLI does: its sandbox, and the
        // folders the agent's config lets it write (a build cache).
        let confinement = match self.confinement(sandbox, agent.command.as_ref()) {
            Ok(confinement) => confinement,
            Err(reason) => {
                return Ok(Some(ValidationProblem {
                    summary: "the check cannot run",
                    message: format!("the check was not run: {reason}"),
                    retryable: false,
                }));
            }
        };
        let outcome = run_check(
            check,
            sandbox.workspace_dir(),
            &confinement,
            agent.timeout,
            token,
        )
        .await?;
        Ok(match outcome {
            CheckOutcome::Passed => None,
            CheckOutcome::Failed(message) => Some(ValidationProblem {
                summary: "the check failed",
                message,
                retryable: true,
            }),
            CheckOutcome::CannotRun(message) => Some(ValidationProblem {
                summary: "the check cannot run",
                message,
                retryable: false,
            }),
        })
    }

    /// Tells the editor what the run is doing now.
    pub(super) fn report_step(&self, id: RunId, step: String) {
        let _ = self.events.send(RunEvent::Step { run: id, step });
    }

    /// Tells the editor the work goes back to the agent with its problems.
    pub(super) fn report_validation_retry(
        &self,
        id: RunId,
        attempt: u32,
        retries: u32,
        problem: &ValidationProblem,
    ) {
        let _ = self.events.send(RunEvent::Retrying {
            run: id,
            attempt,
            delay: std::time::Duration::ZERO,
            reason: format!("{attempt}/{retries}: {}", problem.summary),
        });
    }
}

/// The open buffers as (path relative to `root`, text), for a sandbox seed;
/// `replaced` overrides one document's text with the edit under validation.
pub(super) fn sandbox_seed(
    workspace: &Workspace,
    root: &Path,
    replaced: Option<(&Url, String)>,
) -> Vec<(PathBuf, String)> {
    let (replaced_uri, replaced_text) = match replaced {
        Some((uri, text)) => (Some(uri), Some(text)),
        None => (None, None),
    };
    let mut seed: Vec<(PathBuf, String)> = workspace
        .documents
        .all()
        .filter(|document| Some(&document.uri) != replaced_uri)
        .filter_map(|document| {
            let relative = relative_path(root, &document.uri)?;
            Some((relative, document.text.to_string()))
        })
        .collect();
    if let (Some(uri), Some(text)) = (replaced_uri, replaced_text) {
        if let Some(relative) = relative_path(root, uri) {
            seed.push((relative, text));
        }
    }
    seed
}

fn relative_path(root: &Path, uri: &Url) -> Option<PathBuf> {
    let path = uri.to_file_path().ok()?;
    Some(path.strip_prefix(root).ok()?.to_owned())
}

/// The first syntax error a changed file gained, as "path line N: message".
fn file_syntax_problem(path: &Path, before: &str, after: &str) -> Option<String> {
    let language = Language::from_path(path)?;
    let report = validate_replacement(language, before, after);
    let first = report.introduced_errors.first()?;
    let line = after
        .get(..first.range.start)
        .map_or(0, |text| text.matches('\n').count())
        + 1;
    Some(format!(
        "{} does not parse as {} (line {line}: {})",
        path.display(),
        language.name(),
        first.message
    ))
}

fn sandbox_problem(error: &str) -> ValidationProblem {
    ValidationProblem {
        summary: "the check cannot run",
        message: format!("the check was not run: cannot create its sandbox: {error}"),
        retryable: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_gains_a_syntax_error_is_named_with_its_line() {
        let before = "fn a() {}\n";
        let after = "fn a() {}\nfn b( {\n";
        let problem =
            file_syntax_problem(Path::new("src/lib.rs"), before, after).expect("a syntax problem");
        assert!(
            problem.starts_with("src/lib.rs does not parse as Rust (line 2:"),
            "{problem}"
        );
        assert_eq!(
            file_syntax_problem(Path::new("src/lib.rs"), before, "fn b() {}\n"),
            None
        );
        // A file Director cannot parse is not blamed.
        assert_eq!(
            file_syntax_problem(Path::new("notes.unknown"), "", "(((\n"),
            None
        );
    }
}
