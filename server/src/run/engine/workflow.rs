//! Workflows: the steps of a `[workflows.NAME]` table (delegate, validate,
//! review) run on a selection as ONE tracked run, with one id, one journal
//! record and one progress.
//!
//! A delegate step's answer becomes the region's candidate text; a validate
//! step checks the candidate (syntax, the author's check command) and sends a
//! failure back to the agent that wrote it, within its validation retries; a
//! review step asks an agent for findings on the candidate. At the end the
//! candidate becomes the run's proposals and the findings its diagnostics; the
//! transcript lists what every step did.

use super::validating::ValidationProblem;
use super::{Engine, EngineError, open_document_with_range, region_context};
use crate::agent::{AgentError, ChatMessage, ChatRequest, Completion, TokenUsage, backend_for};
use crate::config::{AgentConfig, WorkflowConfig, WorkflowStep};
use crate::ids::RunId;
use crate::run::check::CheckCancelled;
use crate::run::output::{extract_replacement, fit_to_region};
use crate::run::prompt::{
    RegionContext, SpecContext, region_messages, review_messages, validation_messages,
};
use crate::run::review::{ParsedReview, lines_range, parse_findings};
use crate::run::state::{RunKind, RunRecord, RunState};
use crate::workspace::{lock, refresh_syntax};
use std::ops::Range;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use url::Url;

/// A request to run a configured workflow on a region of an open document.
#[derive(Debug, Clone)]
pub struct WorkflowRun {
    pub uri: Url,
    /// The selection, in bytes; widened like a delegation's.
    pub range: Range<usize>,
    pub workflow: String,
}

/// The agent whose answer is the candidate, and its conversation so far, so a
/// failed validation can go back to it.
struct Author {
    name: String,
    agent: AgentConfig,
    messages: Vec<ChatMessage>,
    answer: String,
    /// The region text it rewrote, which its answer is fitted to.
    base: String,
}

/// What the steps so far produced.
struct WorkflowState {
    /// The region's text as the last delegate step left it.
    candidate: String,
    author: Option<Author>,
    /// Every step's tokens, each priced at its agent's price.
    usage: Option<TokenUsage>,
    /// Why the candidate failed its last validation, or a later step failed.
    warnings: Vec<String>,
    /// The last review: who reviewed and what they found.
    review: Option<(String, ParsedReview)>,
    /// One line per step done, for the transcript.
    steps: Vec<String>,
}

/// Why a step stopped.
enum StepFailure {
    Cancelled,
    Failed(String),
}

impl Engine {
    /// Starts the workflow on a region and returns the run's id at once.
    pub fn run_workflow(
        self: &Arc<Self>,
        request: WorkflowRun,
        spec: SpecContext,
    ) -> Result<RunId, EngineError> {
        let config = self.config();
        let workflow = config
            .workflows
            .get(&request.workflow)
            .cloned()
            .ok_or_else(|| EngineError::UnknownWorkflow {
                name: request.workflow.clone(),
                known: config.workflows.keys().cloned().collect(),
            })?;
        // Every agent must be usable before anything starts.
        let mut agents = Vec::new();
        for agent in workflow.steps.iter().filter_map(WorkflowStep::agent) {
            agents.push((agent, self.agent_config(&config, agent)?));
        }
        // The config guarantees a first delegate step: it names the run.
        let Some((first_agent, first_config)) = agents.first() else {
            return Err(EngineError::UnknownWorkflow {
                name: request.workflow,
                known: Vec::new(),
            });
        };
        refresh_syntax(&self.workspace, &request.uri);
        let mut workspace = lock(&self.workspace);
        let document = open_document_with_range(&workspace, &request.uri, &request.range)?;
        let (region, context) = region_context(
            &mut workspace,
            &document,
            request.range.clone(),
            first_config.context_lines as usize,
            spec,
        );
        let id = workspace.allocate_run_id();
        let labels: Vec<&str> = workflow.steps.iter().map(WorkflowStep::label).collect();
        let instruction = format!(
            "Workflow {}: {}",
            request.workflow,
            workflow
                .description
                .clone()
                .unwrap_or_else(|| labels.join(" → "))
        );
        let record = RunRecord::queued(
            id,
            RunKind::Workflow,
            (*first_agent).to_owned(),
            instruction,
            request.uri.clone(),
            region,
            document.version,
        );
        let token = self.register(&mut workspace, record);
        drop(workspace);
        let engine = Arc::clone(self);
        tokio::spawn(async move {
            engine.drive_workflow(id, workflow, context, token).await;
            lock(&engine.cancels).remove(&id);
        });
        Ok(id)
    }

    /// The life of a workflow run: its steps in order, then its proposals.
    async fn drive_workflow(
        &self,
        id: RunId,
        workflow: WorkflowConfig,
        context: RegionContext,
        token: CancellationToken,
    ) {
        self.enter(id, RunState::Running);
        let total = workflow.steps.len();
        let mut state = WorkflowState {
            candidate: context.region.clone(),
            author: None,
            usage: None,
            warnings: Vec::new(),
            review: None,
            steps: Vec::new(),
        };
        for (index, step) in workflow.steps.iter().enumerate() {
            let label = format!("step {}/{total}: {}", index + 1, step.label());
            self.report_step(id, label.clone());
            let outcome = match step {
                WorkflowStep::Delegate { agent, instruction } => {
                    self.delegate_step(id, agent, instruction, &context, &mut state, &token)
                        .await
                }
                WorkflowStep::Validate => self.validate_step(id, &mut state, &token).await,
                WorkflowStep::Review { agent } => {
                    self.review_step(id, agent, &context, &mut state, &token)
                        .await
                }
            };
            match outcome {
                Ok(note) => state.steps.push(format!("{label}: {note}")),
                Err(StepFailure::Cancelled) => {
                    state.steps.push(format!("{label}: cancelled"));
                    self.log_steps(id, &state.steps);
                    return self.finish(
                        id,
                        RunState::Cancelled,
                        Some("cancelled by the user".into()),
                    );
                }
                // Without a candidate there is nothing to carry on with.
                Err(StepFailure::Failed(reason)) if state.author.is_none() => {
                    state.steps.push(format!("{label}: failed: {reason}"));
                    self.log_steps(id, &state.steps);
                    return self.finish(id, RunState::Failed, Some(format!("{label}: {reason}")));
                }
                // The candidate so far is kept: a failing later step is a warning.
                Err(StepFailure::Failed(reason)) => {
                    state.steps.push(format!("{label}: failed: {reason}"));
                    state.warnings.push(format!("{label} failed: {reason}"));
                }
            }
            self.log_steps(id, &state.steps);
        }
        self.finish_workflow(id, &context, state);
    }

    /// A delegate step: the agent rewrites the candidate; its answer is the new one.
    async fn delegate_step(
        &self,
        id: RunId,
        name: &str,
        instruction: &str,
        context: &RegionContext,
        state: &mut WorkflowState,
        token: &CancellationToken,
    ) -> Result<String, StepFailure> {
        let agent = self
            .agent_config(&self.config(), name)
            .map_err(|error| StepFailure::Failed(error.to_string()))?;
        let base = state.candidate.clone();
        let step_context = RegionContext {
            region: base.clone(),
            ..context.clone()
        };
        let messages = region_messages(instruction, &step_context);
        let completion = self.ask(id, name, &agent, &messages, token).await?;
        add_usage(&mut state.usage, completion.usage, &agent);
        let replacement = extract_replacement(&completion.text)
            .map_err(|error| StepFailure::Failed(error.to_string()))?;
        state.candidate = fit_to_region(&replacement, &base);
        // A new candidate has not been validated yet.
        state.warnings.clear();
        let lines = state.candidate.lines().count();
        state.author = Some(Author {
            name: name.to_owned(),
            agent,
            messages,
            answer: completion.text,
            base,
        });
        Ok(format!("{name} wrote {lines} lines"))
    }

    /// A validate step: the candidate's syntax and its author's check; what
    /// fails goes back to the author, within its validation retries.
    async fn validate_step(
        &self,
        id: RunId,
        state: &mut WorkflowState,
        token: &CancellationToken,
    ) -> Result<String, StepFailure> {
        let Some(author) = state.author.as_mut() else {
            return Ok("nothing to validate yet".to_owned());
        };
        let mut attempt = 0;
        loop {
            let problem = self
                .region_problem(id, &state.candidate, &author.agent, token)
                .await
                .map_err(|CheckCancelled| StepFailure::Cancelled)?;
            let Some(problem) = problem else {
                return Ok(match attempt {
                    0 => "passed".to_owned(),
                    1 => format!("passed after {} fixed it once", author.name),
                    _ => format!("passed after {} fixed it {attempt} times", author.name),
                });
            };
            if !problem.retryable || attempt >= author.agent.validation_retries {
                let note = format!("failed: {}", problem.summary);
                state.warnings.push(problem.message);
                return Ok(note);
            }
            attempt += 1;
            self.report_validation_retry(id, attempt, author.agent.validation_retries, &problem);
            self.fix_candidate(
                id,
                author,
                &problem,
                &mut state.candidate,
                &mut state.usage,
                token,
            )
            .await?;
        }
    }

    /// Sends the candidate back to its author with `problem`, and takes its answer.
    async fn fix_candidate(
        &self,
        id: RunId,
        author: &mut Author,
        problem: &ValidationProblem,
        candidate: &mut String,
        usage: &mut Option<TokenUsage>,
        token: &CancellationToken,
    ) -> Result<(), StepFailure> {
        author.messages = validation_messages(&author.messages, &author.answer, &problem.message);
        let completion = self
            .ask(id, &author.name, &author.agent, &author.messages, token)
            .await?;
        add_usage(usage, completion.usage, &author.agent);
        let replacement = extract_replacement(&completion.text)
            .map_err(|error| StepFailure::Failed(error.to_string()))?;
        *candidate = fit_to_region(&replacement, &author.base);
        author.answer = completion.text;
        Ok(())
    }

    /// A review step: the agent reports findings on the candidate, its lines
    /// numbered as they will be once the candidate is accepted.
    async fn review_step(
        &self,
        id: RunId,
        name: &str,
        context: &RegionContext,
        state: &mut WorkflowState,
        token: &CancellationToken,
    ) -> Result<String, StepFailure> {
        let agent = self
            .agent_config(&self.config(), name)
            .map_err(|error| StepFailure::Failed(error.to_string()))?;
        let first_line = {
            let workspace = lock(&self.workspace);
            workspace
                .regions
                .get(&id)
                .and_then(|region| {
                    let document = workspace.documents.get(&region.uri)?;
                    let start = region.range.start.min(document.text.len_bytes());
                    Some(document.text.byte_to_line(start) + 1)
                })
                .unwrap_or(1)
        };
        let review_context = RegionContext {
            path: context.path.clone(),
            language: context.language.clone(),
            region: state.candidate.clone(),
            ..RegionContext::default()
        };
        let messages = review_messages(&review_context, first_line);
        let completion = self.ask(id, name, &agent, &messages, token).await?;
        add_usage(&mut state.usage, completion.usage, &agent);
        let review = parse_findings(&completion.text);
        let note = format!("{name} found {}", findings_count(review.findings.len()));
        state.review = Some((name.to_owned(), review));
        Ok(note)
    }

    /// One request to an agent within the run, under its concurrency limit.
    async fn ask(
        &self,
        id: RunId,
        name: &str,
        agent: &AgentConfig,
        messages: &[ChatMessage],
        token: &CancellationToken,
    ) -> Result<Completion, StepFailure> {
        let backend =
            backend_for(name, agent).map_err(|error| StepFailure::Failed(error.to_string()))?;
        let limit = self.limit_for(name, agent.max_concurrent as usize);
        let _permit = tokio::select! {
            permit = limit.acquire_owned() => permit
                .map_err(|_| StepFailure::Failed("the agent's queue was closed".to_owned()))?,
            () = token.cancelled() => return Err(StepFailure::Cancelled),
        };
        let sink = self.event_sink(id);
        let request = ChatRequest {
            messages: messages.to_vec(),
        };
        match backend.complete(&request, &sink, token).await {
            Ok(completion) => Ok(completion),
            Err(AgentError::Cancelled) => Err(StepFailure::Cancelled),
            Err(error) => Err(StepFailure::Failed(format!("agent `{name}`: {error}"))),
        }
    }

    /// Keeps the step log in the run's transcript, so `director/run` shows
    /// the steps while they run; proposing keeps it.
    fn log_steps(&self, id: RunId, steps: &[String]) {
        let mut workspace = lock(&self.workspace);
        let transcript = workspace.transcripts.entry(id).or_default();
        transcript.steps = steps.to_vec();
    }

    /// The findings of the review on the region's lines, then the candidate as
    /// the run's proposals.
    fn finish_workflow(&self, id: RunId, context: &RegionContext, state: WorkflowState) {
        let Some(author) = state.author else {
            return self.finish(
                id,
                RunState::Failed,
                Some("no step of the workflow produced code".into()),
            );
        };
        let mut reasons = state.warnings;
        if let Some((reviewer, review)) = state.review {
            reasons.push(self.add_workflow_findings(id, &reviewer, review));
        }
        let completion = Completion {
            text: author.answer,
            usage: state.usage,
            finish_reason: None,
        };
        let reason = (!reasons.is_empty()).then(|| reasons.join("; "));
        self.propose(id, &context.region, author.messages, completion, reason);
    }

    /// Adds a review's findings to the run, on the document lines of the
    /// region they will be once the candidate is accepted (kept inside the
    /// region); returns the review's summary. A fix is dropped: it replaces
    /// the candidate's lines, not the document's.
    fn add_workflow_findings(&self, id: RunId, reviewer: &str, review: ParsedReview) -> String {
        let mut workspace = lock(&self.workspace);
        let Some(region) = workspace.regions.get(&id).cloned() else {
            return format!("the findings of {reviewer} were lost with the region");
        };
        let Some(document) = workspace.documents.get(&region.uri).cloned() else {
            return format!("the findings of {reviewer} were lost with the document");
        };
        let len = document.text.len_bytes();
        let first_line = document.text.byte_to_line(region.range.start.min(len)) + 1;
        let last_line = document.text.byte_to_line(
            region
                .range
                .end
                .min(len)
                .saturating_sub(1)
                .max(region.range.start.min(len)),
        ) + 1;
        let mut count = 0;
        for mut finding in review.findings {
            let first = finding.first_line.clamp(first_line, last_line);
            let last = finding.last_line.clamp(first, last_line);
            let Some(range) = lines_range(&document.text, first, last) else {
                continue;
            };
            finding.fix = None;
            finding.message = format!("{reviewer}: {}", finding.message);
            workspace.findings.add(id, &region.uri, range, finding);
            count += 1;
        }
        format!("the review by {reviewer} found {}", findings_count(count))
    }
}

/// "no findings", "1 finding", "3 findings".
fn findings_count(count: usize) -> String {
    match count {
        0 => "no findings".to_owned(),
        1 => "1 finding".to_owned(),
        count => format!("{count} findings"),
    }
}

/// Adds a step's tokens, priced at its agent's price, to the run's total.
fn add_usage(total: &mut Option<TokenUsage>, usage: Option<TokenUsage>, agent: &AgentConfig) {
    let Some(usage) = usage.map(|usage| usage.priced(agent.price.as_ref())) else {
        return;
    };
    *total = Some(match total.take() {
        None => usage,
        Some(sum) => sum.plus(usage),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::agent_config::Price;

    #[test]
    fn usage_adds_up_over_steps_each_at_its_agent_s_price() {
        let mut agent = crate::agent::test_support::test_agent_config(
            crate::config::AgentKind::OpenAi,
            "http://127.0.0.1:1/v1",
            64,
        );
        let mut total = None;
        let step = TokenUsage {
            prompt_tokens: 1_000_000,
            completion_tokens: 0,
            cost_usd: None,
        };
        add_usage(&mut total, Some(step), &agent);
        add_usage(&mut total, None, &agent);
        agent.price = Some(Price {
            input_per_mtok: 2.0,
            output_per_mtok: 0.0,
        });
        add_usage(&mut total, Some(step), &agent);
        let total = total.expect("a total");
        assert_eq!(total.prompt_tokens, 2_000_000);
        assert_eq!(total.cost_usd, Some(2.0));
    }
}
