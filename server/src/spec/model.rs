//! The one model every spec format is read into: specs, requirements with stable keys,
//! criteria, scenarios, EARS clauses, tasks, markers and spec-side links.
//!
//! All ranges are byte ranges into the file's text.

use std::ops::Range;
use std::path::PathBuf;

use crate::spec::ears::Ears;
use crate::spec::references::RefExpr;

/// The dialect a file is written in; it decides which rules and shapes apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Kiro,
    KiroBugfix,
    SpecKit,
    OpenSpec,
    OpenSpecDelta,
    Tessl,
    Native,
}

/// What a file is for within its spec; a spec is often spread over several files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileRole {
    Requirements,
    Design,
    Tasks,
    Steering,
    Constitution,
    Plan,
    Checklist,
    ChangeProposal,
}

/// The kind of a requirement, which decides which structure rules apply to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequirementKind {
    Functional,
    SuccessCriterion,
    Story,
    Defect,
    Expected,
    Preservation,
}

/// A normative keyword (RFC 2119 and Kiro's `SHALL CONTINUE TO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modal {
    ShallContinueTo,
    ShallNot,
    Shall,
    MustNot,
    Must,
    ShouldNot,
    Should,
    May,
    Other,
}

/// One parsed spec file: the model plus everything the rules need to know about it.
#[derive(Clone, Debug)]
pub struct SpecDocument {
    pub path: PathBuf,
    /// Spec identity shared by all files of one spec (Kiro folder, spec-kit folder,
    /// OpenSpec capability path, front matter `spec:`).
    pub spec_id: String,
    pub format: Format,
    pub role: FileRole,
    pub title: Option<String>,
    /// Front matter `status:` (draft, review, approved, implemented, deprecated).
    pub status: Option<String>,
    /// Front matter `ears: true|strict` turns EARS rules on for native files.
    pub ears: Option<String>,
    /// Front matter `traces:` globs: code these requirements govern.
    pub traces: Vec<String>,
    pub sections: Vec<Section>,
    pub requirements: Vec<Requirement>,
    /// Kiro design properties (`### Property N:`) with their `Validates:` references.
    pub properties: Vec<DesignProperty>,
    pub tasks: Vec<Task>,
    pub markers: Vec<Marker>,
    pub links: Vec<SpecLink>,
    /// Lines that look like a construct but fail to parse as one.
    pub observations: Vec<Observation>,
    /// Problems reading the file at all (binary, huge, malformed front matter).
    pub problems: Vec<ParseProblem>,
}

/// A Markdown heading and the extent of its section.
#[derive(Clone, Debug)]
pub struct Section {
    pub level: usize,
    pub title: String,
    pub heading_range: Range<usize>,
    /// From the end of the heading line to the next heading of the same or a higher level.
    pub body_range: Range<usize>,
}

#[derive(Clone, Debug)]
pub struct Requirement {
    /// Global key `<spec-id>#<local-id>`.
    pub key: String,
    pub local_id: String,
    /// Other names tasks use for it (`Requirement 2`, the OpenSpec header text).
    pub aliases: Vec<String>,
    pub title: Option<String>,
    pub kind: RequirementKind,
    pub statements: Vec<Statement>,
    pub criteria: Vec<Criterion>,
    pub scenarios: Vec<Scenario>,
    /// 8 hex characters over the normalized requirement text.
    pub fingerprint: String,
    pub range: Range<usize>,
    pub heading_range: Range<usize>,
    /// Where the ID is written (an `**ID**:` value, a heading ID), for rename and go-to.
    pub id_range: Option<Range<usize>>,
    /// OpenSpec `### Requirement:` header outside `## Requirements` or a delta section.
    pub outside_requirements_section: bool,
    /// The OpenSpec delta operation section it sits in (ADDED, MODIFIED, …).
    pub delta: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Criterion {
    pub key: String,
    pub local_id: String,
    pub statement: Statement,
    pub range: Range<usize>,
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub key: String,
    pub name: String,
    pub steps: Vec<Statement>,
    pub range: Range<usize>,
}

/// One normative sentence; `range` covers exactly `text` in the file.
#[derive(Clone, Debug)]
pub struct Statement {
    pub text: String,
    pub range: Range<usize>,
    pub modal: Option<Modal>,
    pub ears: Option<Ears>,
}

#[derive(Clone, Debug)]
pub struct DesignProperty {
    pub local_id: String,
    pub title: String,
    pub validates: Vec<RefExpr>,
    pub range: Range<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    Todo,
    InProgress,
    Done,
}

#[derive(Clone, Debug)]
pub struct Task {
    pub id: Option<String>,
    pub title: String,
    pub status: TaskStatus,
    pub optional: bool,
    pub parallel: bool,
    pub story: Option<String>,
    pub refs: Vec<RefExpr>,
    pub depends: Vec<String>,
    pub validates: Vec<RefExpr>,
    /// Index of the parent task in `SpecDocument::tasks`, by indentation or ID prefix.
    pub parent: Option<usize>,
    /// The `## N.` group the task sits under, if any.
    pub group: Option<u32>,
    /// The phase heading title the task sits under (setup/polish phases matter).
    pub phase: Option<String>,
    pub range: Range<usize>,
    /// The one character inside `[ ]`, for status toggles.
    pub box_range: Range<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MarkerKind {
    NeedsClarification { question: Option<String> },
    Incomplete { token: String },
    TemplatePlaceholder { text: String },
}

#[derive(Clone, Debug)]
pub struct Marker {
    pub kind: MarkerKind,
    pub range: Range<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecLinkKind {
    Test,
    Generate,
    Describe,
    Use,
    Impl,
}

/// A Tessl-style `[@test](path)` link written in the spec itself.
#[derive(Clone, Debug)]
pub struct SpecLink {
    pub kind: SpecLinkKind,
    pub target: String,
    /// The requirement the link sits in, if any.
    pub requirement: Option<String>,
    pub range: Range<usize>,
}

/// A line that looks like a construct but is not one, kept for the structure rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObservationKind {
    /// WHEN/THEN bullets directly under a requirement, with no `#### Scenario:`.
    LooseScenarioBullets { requirement: String },
    /// `Scenario:` heading at a level other than 4.
    ScenarioWrongLevel,
    /// `### Task 1` and friends.
    HeadingUsedAsTask,
    /// A numbered task-like list item with no checkbox.
    TaskWithoutCheckbox,
    /// `[ x]`, `[xx]` and other boxes that are not one character.
    MalformedCheckbox,
    /// `[ ]*` on a top-level task.
    OptionalTopLevelTask,
    /// A checkbox item with a space missing or misplaced: `-[ ] 1. Do`, `- [ ]Do`,
    /// `[ ] Do` with no bullet.
    TaskBoxSpacing,
    /// A checkbox item with no text after the box.
    EmptyTask,
    /// A delta header (`## ADDED Requirements`) in a main spec.
    DeltaHeaderInMainSpec,
}

#[derive(Clone, Debug)]
pub struct Observation {
    pub kind: ObservationKind,
    pub range: Range<usize>,
}

/// A reason a file could only be partly read, or not at all.
#[derive(Clone, Debug)]
pub struct ParseProblem {
    pub message: String,
    pub range: Range<usize>,
}

impl SpecDocument {
    /// Every normative statement in the file with the requirement it belongs to:
    /// body sentences with a modal, criteria and scenario steps.
    pub fn normative_statements(
        &self,
    ) -> impl Iterator<Item = (&Requirement, &Statement, StatementPlace)> {
        self.requirements.iter().flat_map(|requirement| {
            let body = requirement
                .statements
                .iter()
                .filter(|statement| statement.modal.is_some())
                .map(move |statement| (requirement, statement, StatementPlace::Body));
            let criteria = requirement.criteria.iter().map(move |criterion| {
                (requirement, &criterion.statement, StatementPlace::Criterion)
            });
            let steps = requirement.scenarios.iter().flat_map(move |scenario| {
                scenario
                    .steps
                    .iter()
                    .map(move |step| (requirement, step, StatementPlace::ScenarioStep))
            });
            body.chain(criteria).chain(steps)
        })
    }

    /// Whether the spec has been signed off, which makes open questions errors.
    pub fn is_approved(&self) -> bool {
        matches!(self.status.as_deref(), Some("approved" | "implemented"))
    }
}

/// Where a normative statement sits within its requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatementPlace {
    Body,
    Criterion,
    ScenarioStep,
}
