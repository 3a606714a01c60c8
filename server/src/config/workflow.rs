//! Workflows: named chains of steps declared under `[workflows.NAME]` in a
//! config file (implement → validate → review), each run as one tracked run.
//!
//! ```toml
//! [workflows.ship]
//! description = "Implement, check, review"
//! steps = [
//!   { agent = "coder", instruction = "Implement the function" },
//!   { check = true },
//!   { agent = "reviewer", review = true },
//! ]
//! ```
//!
//! The shape of each workflow is checked here; whether its agents exist (they
//! may come from the other config file) is checked once both files are read.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

use crate::config::{AgentConfig, ConfigProblem};
use crate::run::preset::PRESETS;

/// A named chain of steps on a selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowConfig {
    pub description: Option<String>,
    /// Never empty; the first step is a [`WorkflowStep::Delegate`].
    pub steps: Vec<WorkflowStep>,
}

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkflowStep {
    /// An agent rewrites the region (as the previous steps left it); its answer
    /// becomes the candidate text of the region.
    Delegate { agent: String, instruction: String },
    /// The candidate is checked: its syntax, and the check command of the agent
    /// that wrote it. A failure goes back to that agent with the errors.
    Validate,
    /// An agent reviews the candidate; its findings become diagnostics.
    Review { agent: String },
}

impl WorkflowStep {
    /// The agent the step asks; `None` for a validation step.
    pub fn agent(&self) -> Option<&str> {
        match self {
            WorkflowStep::Delegate { agent, .. } | WorkflowStep::Review { agent } => Some(agent),
            WorkflowStep::Validate => None,
        }
    }

    /// What progress calls the step.
    pub fn label(&self) -> &'static str {
        match self {
            WorkflowStep::Delegate { .. } => "delegate",
            WorkflowStep::Validate => "validate",
            WorkflowStep::Review { .. } => "review",
        }
    }
}

/// A step's agent as written, to check once every agent is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowAgentReference {
    pub workflow: String,
    pub agent: String,
    pub span: Range<usize>,
}

/// The steps as written, with spans for precise problems.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    agent: Option<Spanned<String>>,
    instruction: Option<Spanned<String>>,
    preset: Option<Spanned<String>>,
    check: Option<Spanned<bool>>,
    review: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkflow {
    description: Option<String>,
    steps: Spanned<Vec<Spanned<RawStep>>>,
}

/// Reads the `workflows` table of a config file into `workflows`, noting the
/// agents its steps name in `references` and its problems in `problems`.
pub fn parse_workflows(
    path: &Path,
    value: Spanned<DeValue<'_>>,
    workflows: &mut BTreeMap<String, WorkflowConfig>,
    references: &mut Vec<WorkflowAgentReference>,
    problems: &mut Vec<ConfigProblem>,
) {
    let span = value.span();
    let DeValue::Table(tables) = value.into_inner() else {
        problems.push(ConfigProblem {
            path: path.to_owned(),
            range: Some(span),
            message: "`workflows` must be a table of named workflows, such as [workflows.ship]"
                .to_owned(),
        });
        return;
    };
    for (name, workflow_value) in tables {
        let name = name.into_inner().into_owned();
        let workflow_span = workflow_value.span();
        let mut problem = |range: Range<usize>, message: String| {
            problems.push(ConfigProblem {
                path: path.to_owned(),
                range: Some(range),
                message: format!("workflow `{name}`: {message}"),
            });
        };
        let raw = match RawWorkflow::deserialize(ValueDeserializer::from(workflow_value)) {
            Ok(raw) => raw,
            Err(error) => {
                problem(
                    error.span().unwrap_or(workflow_span),
                    error.message().trim_end().to_owned(),
                );
                continue;
            }
        };
        let steps_span = raw.steps.span();
        let raw_steps = raw.steps.into_inner();
        if raw_steps.is_empty() {
            problem(
                steps_span,
                "`steps` is empty: name at least one step, such as { agent = \"coder\", \
                 instruction = \"Implement it\" }"
                    .to_owned(),
            );
            continue;
        }
        let mut steps = Vec::new();
        let mut workflow_references = Vec::new();
        let mut valid = true;
        for raw_step in raw_steps {
            match parse_step(raw_step) {
                Ok((step, reference)) => {
                    if let Some((agent, span)) = reference {
                        workflow_references.push(WorkflowAgentReference {
                            workflow: name.clone(),
                            agent,
                            span,
                        });
                    }
                    steps.push(step);
                }
                Err((range, message)) => {
                    problem(range, message);
                    valid = false;
                }
            }
        }
        if !valid {
            continue;
        }
        if !matches!(steps.first(), Some(WorkflowStep::Delegate { .. })) {
            problem(
                steps_span,
                "the first step must delegate to an agent, such as { agent = \"coder\", \
                 instruction = \"Implement it\" }: later steps work on its answer"
                    .to_owned(),
            );
            continue;
        }
        references.extend(workflow_references);
        workflows.insert(
            name,
            WorkflowConfig {
                description: raw.description,
                steps,
            },
        );
    }
}

/// The problems of references to agents that are not configured or cannot do
/// the step, given every agent of both files.
pub fn agent_reference_problems(
    path: &Path,
    references: &[WorkflowAgentReference],
    agents: &BTreeMap<String, AgentConfig>,
) -> Vec<ConfigProblem> {
    references
        .iter()
        .filter_map(|reference| {
            let message = match agents.get(&reference.agent) {
                None => format!(
                    "no agent named `{}` is configured; configured agents: {}",
                    reference.agent,
                    agents.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                // Steps hand one region's text from agent to agent; a
                // sandboxed agent's result is files, not that text.
                Some(agent) if agent.kind.edits_in_sandbox() => format!(
                    "agent `{0}` is a {1} agent: it edits files in a sandbox, while a \
                     workflow hands the region's new text from step to step, so its steps \
                     need an agent that answers in text (openai, anthropic); delegate to \
                     `{0}` on its own instead",
                    reference.agent,
                    agent.kind.name()
                ),
                Some(_) => return None,
            };
            Some(ConfigProblem {
                path: path.to_owned(),
                range: Some(reference.span.clone()),
                message: format!("workflow `{}`: {message}", reference.workflow),
            })
        })
        .collect()
}

type StepProblem = (Range<usize>, String);

/// One step and the agent it names (with its span).
#[allow(clippy::type_complexity)]
fn parse_step(
    raw_step: Spanned<RawStep>,
) -> Result<(WorkflowStep, Option<(String, Range<usize>)>), StepProblem> {
    let step_span = raw_step.span();
    let raw = raw_step.into_inner();
    let is_check = raw.check.as_ref().is_some_and(|check| *check.get_ref());
    let is_review = raw.review.as_ref().is_some_and(|review| *review.get_ref());
    if let Some(check) = raw.check.as_ref().filter(|check| !*check.get_ref()) {
        return Err((
            check.span(),
            "write `check = true` for a validation step, or leave `check` out".to_owned(),
        ));
    }
    if let Some(review) = raw.review.as_ref().filter(|review| !*review.get_ref()) {
        return Err((
            review.span(),
            "write `review = true` for a review step, or leave `review` out".to_owned(),
        ));
    }
    if is_check {
        let extra = [
            raw.agent.as_ref().map(Spanned::span),
            raw.instruction.as_ref().map(Spanned::span),
            raw.preset.as_ref().map(Spanned::span),
            raw.review.as_ref().map(Spanned::span),
        ];
        if let Some(span) = extra.into_iter().flatten().next() {
            return Err((
                span,
                "a `check = true` step takes nothing else: it runs the checks of the agent \
                 whose answer it validates"
                    .to_owned(),
            ));
        }
        return Ok((WorkflowStep::Validate, None));
    }
    let Some(agent) = raw.agent else {
        return Err((
            step_span,
            "a step is { agent = \"a\", instruction = \"…\" }, { agent = \"a\", preset = \
             \"Simplify\" }, { check = true } or { agent = \"b\", review = true }"
                .to_owned(),
        ));
    };
    let agent_span = agent.span();
    let agent = agent.into_inner();
    if is_review {
        if let Some(span) = [
            raw.instruction.as_ref().map(Spanned::span),
            raw.preset.as_ref().map(Spanned::span),
        ]
        .into_iter()
        .flatten()
        .next()
        {
            return Err((
                span,
                "a review step takes no instruction: the reviewer reports findings".to_owned(),
            ));
        }
        return Ok((
            WorkflowStep::Review {
                agent: agent.clone(),
            },
            Some((agent, agent_span)),
        ));
    }
    let instruction = match (raw.instruction, raw.preset) {
        (Some(instruction), None) if !instruction.get_ref().trim().is_empty() => {
            instruction.into_inner()
        }
        (Some(instruction), None) => {
            return Err((instruction.span(), "`instruction` is empty".to_owned()));
        }
        (None, Some(preset)) => {
            let found = PRESETS
                .iter()
                .find(|known| known.label.eq_ignore_ascii_case(preset.get_ref()));
            match found {
                Some(known) => known.instruction.to_owned(),
                None => {
                    let labels: Vec<&str> = PRESETS.iter().map(|known| known.label).collect();
                    return Err((
                        preset.span(),
                        format!(
                            "unknown preset `{}`, the presets are: {}",
                            preset.get_ref(),
                            labels.join(", ")
                        ),
                    ));
                }
            }
        }
        (Some(instruction), Some(_)) => {
            return Err((
                instruction.span(),
                "set either `instruction` or `preset`, not both".to_owned(),
            ));
        }
        (None, None) => {
            return Err((
                step_span,
                format!(
                    "the step of agent `{agent}` needs an `instruction` or a `preset` (or \
                     `review = true`)"
                ),
            ));
        }
    };
    Ok((
        WorkflowStep::Delegate {
            agent: agent.clone(),
            instruction,
        },
        Some((agent, agent_span)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigOrigin;
    use crate::config::file::{ConfigFile, parse_file};

    const AGENTS: &str = "[agents.coder]\nkind = \"openai\"\nmodel = \"m\"\n\n";

    fn parse(workflows: &str) -> Result<ConfigFile, Vec<ConfigProblem>> {
        parse_file(
            Path::new("director.toml"),
            &format!("{AGENTS}{workflows}"),
            ConfigOrigin::Workspace,
        )
    }

    /// The one problem of `workflows`, as the text it points at and its message.
    #[track_caller]
    fn single_problem(workflows: &str) -> (String, String) {
        let text = format!("{AGENTS}{workflows}");
        let problems = parse(workflows).expect_err("a problem");
        assert_eq!(problems.len(), 1, "{problems:?}");
        let range = problems[0].range.clone().expect("a located problem");
        (text[range].to_owned(), problems[0].message.clone())
    }

    #[test]
    fn every_step_kind_is_read_with_presets_expanded() {
        let file = parse(
            "[workflows.ship]\ndescription = \"Implement then review\"\nsteps = [\n  { agent = \"coder\", instruction = \"Implement it\" },\n  { agent = \"coder\", preset = \"simplify\" },\n  { check = true },\n  { agent = \"coder\", review = true },\n]\n",
        )
        .expect("a valid config");
        let ship = &file.workflows["ship"];
        assert_eq!(ship.description.as_deref(), Some("Implement then review"));
        assert_eq!(
            ship.steps,
            [
                WorkflowStep::Delegate {
                    agent: "coder".into(),
                    instruction: "Implement it".into()
                },
                WorkflowStep::Delegate {
                    agent: "coder".into(),
                    instruction: PRESETS[1].instruction.into()
                },
                WorkflowStep::Validate,
                WorkflowStep::Review {
                    agent: "coder".into()
                },
            ]
        );
        let labels: Vec<&str> = ship.steps.iter().map(WorkflowStep::label).collect();
        assert_eq!(labels, ["delegate", "delegate", "validate", "review"]);
        assert_eq!(file.workflow_agents.len(), 3);
    }

    #[test]
    fn empty_steps_and_a_first_step_that_is_not_a_delegation_are_refused() {
        let (located, message) = single_problem("[workflows.w]\nsteps = []\n");
        assert_eq!(located, "[]");
        assert!(
            message.starts_with("workflow `w`: `steps` is empty"),
            "{message}"
        );
        let (_, message) = single_problem("[workflows.w]\nsteps = [{ check = true }]\n");
        assert!(
            message.contains("the first step must delegate"),
            "{message}"
        );
        let (_, message) = single_problem("[workflows.w]\ndescription = \"x\"\n");
        assert!(message.contains("missing field `steps`"), "{message}");
    }

    #[test]
    fn bad_steps_are_located() {
        let (located, message) =
            single_problem("[workflows.w]\nsteps = [{ agent = \"coder\", preset = \"polish\" }]\n");
        assert_eq!(located, "\"polish\"");
        assert!(message.contains("unknown preset `polish`"), "{message}");
        assert!(message.contains("Implement, Simplify"), "{message}");
        let (located, message) = single_problem("[workflows.w]\nsteps = [{ agent = \"coder\" }]\n");
        assert_eq!(located, "{ agent = \"coder\" }");
        assert!(
            message.contains("needs an `instruction` or a `preset`"),
            "{message}"
        );
        let (located, message) = single_problem(
            "[workflows.w]\nsteps = [{ agent = \"coder\", instruction = \"x\" }, { check = true, agent = \"coder\" }]\n",
        );
        assert_eq!(located, "\"coder\"");
        assert!(message.contains("takes nothing else"), "{message}");
        let (located, message) = single_problem(
            "[workflows.w]\nsteps = [{ agent = \"coder\", instruction = \"x\", run = 1 }]\n",
        );
        assert_eq!(located, "run");
        assert!(message.contains("unknown field `run`"), "{message}");
        let (_, message) = single_problem(
            "[workflows.w]\nsteps = [{ agent = \"coder\", instruction = \"x\" }, { agent = \"coder\", review = true, preset = \"Simplify\" }]\n",
        );
        assert!(message.contains("takes no instruction"), "{message}");
        let problems = parse_file(
            Path::new("director.toml"),
            "workflows = 3\n",
            ConfigOrigin::Workspace,
        )
        .expect_err("a problem");
        assert_eq!(problems[0].range, Some(12..13));
        assert!(problems[0].message.contains("table of named workflows"));
    }

    #[test]
    fn agent_references_must_be_configured_text_agents() {
        let file = parse(
            "[agents.cli]\nkind = \"command\"\ncommand = [\"tool\"]\n\n[workflows.w]\nsteps = [{ agent = \"cli\", instruction = \"x\" }, { agent = \"nobody\", review = true }]\n",
        )
        .expect("the shape is valid");
        let problems = agent_reference_problems(
            Path::new("director.toml"),
            &file.workflow_agents,
            &file.agents,
        );
        let messages: Vec<&str> = problems
            .iter()
            .map(|problem| problem.message.as_str())
            .collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[0].contains(
                "`cli` is a command agent: it edits files in a sandbox, while a workflow hands \
                 the region's new text from step to step"
            ),
            "{messages:?}"
        );
        assert!(
            messages[1].starts_with(
                "workflow `w`: no agent named `nobody` is configured; configured agents: cli, coder"
            ),
            "{messages:?}"
        );
    }
}
