//! Structure and format validity rules (SPEC-FORMATS §2.1): mandatory sections,
//! scenarios and criteria, normative keywords, duplicates, misplaced headers, loose
//! scenario bullets and task-line shape.

use std::collections::HashMap;

use crate::spec::lint::{Emitter, LintContext, LintTarget, Rule, Severity};
use crate::spec::model::{FileRole, Format, ObservationKind, RequirementKind, SpecDocument};

pub static RULES: &[Rule] = &[
    Rule {
        id: "SPEC000",
        default_severity: Severity::Warning,
        summary: "Spec file could not be fully read",
        rationale: "Binary, huge or non-UTF-8 files, unterminated or unknown front matter and malformed Markdown are read as far as possible; this says what was skipped.",
        check: unreadable,
    },
    Rule {
        id: "SPEC001",
        default_severity: Severity::Error,
        summary: "Missing mandatory section",
        rationale: "Each format has sections its tools require (OpenSpec `## Purpose`/`## Requirements`, delta `## ADDED|MODIFIED|REMOVED|RENAMED Requirements`). Without them tools such as `openspec validate` reject the file (an error). Sections the templates suggest (change `## Why`/`## What Changes`, spec-kit's mandatory sections, Kiro `## Requirements`) are only warnings: their tools do not check them, and requirements are recognised by their shape whatever the section is called.",
        check: missing_section,
    },
    Rule {
        id: "SPEC002",
        default_severity: Severity::Warning,
        summary: "Requirement without scenario or acceptance criteria",
        rationale: "A requirement nobody can check is a wish. OpenSpec needs at least one `#### Scenario:` (an error there); Kiro needs acceptance criteria; spec-kit user stories need acceptance scenarios.",
        check: requirement_without_checks,
    },
    Rule {
        id: "SPEC003",
        default_severity: Severity::Warning,
        summary: "Requirement body lacks SHALL/MUST",
        rationale: "RFC 2119 keywords mark what is mandatory. OpenSpec's validator warns when a requirement has no SHALL or MUST.",
        check: missing_normative_keyword,
    },
    Rule {
        id: "SPEC004",
        default_severity: Severity::Error,
        summary: "SHALL/MUST only in the header",
        rationale: "OpenSpec reads the statement from the body; a header holding the only SHALL/MUST leaves the requirement empty. Move the statement to the line after the header.",
        check: normative_only_in_header,
    },
    Rule {
        id: "SPEC005",
        default_severity: Severity::Error,
        summary: "Duplicate requirement ID",
        rationale: "IDs are how tasks, code and people refer to requirements; a duplicate makes every reference ambiguous.",
        check: duplicate_requirement,
    },
    Rule {
        id: "SPEC006",
        default_severity: Severity::Error,
        summary: "Requirement header or delta header in the wrong place",
        rationale: "OpenSpec only sees `### Requirement:` under `## Requirements` (or a delta section), and delta headers are only valid in change folders; elsewhere they are invisible to validate, list and archive.",
        check: misplaced_header,
    },
    Rule {
        id: "SPEC007",
        default_severity: Severity::Warning,
        summary: "WHEN/THEN bullets without a `#### Scenario:` heading",
        rationale: "OpenSpec only reads scenarios under level-4 `#### Scenario:` headings (GUIDE_SCENARIO_FORMAT); bare WHEN/THEN bullets are lost.",
        check: loose_scenario,
    },
    Rule {
        id: "SPEC012",
        default_severity: Severity::Warning,
        summary: "Task numbering problem",
        rationale: "Duplicate task IDs, tasks under the wrong numbered group, gaps in major numbers and nesting deeper than two levels break agents and tools that start tasks by ID.",
        check: task_numbering,
    },
    Rule {
        id: "SPEC013",
        default_severity: Severity::Warning,
        summary: "Looks like a task but is not one",
        rationale: "Headings used as tasks, list items without a checkbox, malformed boxes such as `[ x]`, a missing space around the box (`-[ ]`, `- [ ]Do`), a box with no text and `[ ]*` on top-level tasks are not recognized as tasks, so editors cannot start or track them (no *Start task* lens).",
        check: not_quite_a_task,
    },
];

fn spec_document<'a>(context: &'a LintContext<'_>) -> Option<&'a SpecDocument> {
    match context.target {
        LintTarget::Spec(document) => Some(document),
        LintTarget::Code(_) => None,
    }
}

fn unreadable(context: &LintContext<'_>, emitter: &mut Emitter) {
    let Some(document) = spec_document(context) else {
        return;
    };
    for problem in &document.problems {
        emitter.emit(problem.range.clone(), problem.message.clone());
    }
}

fn has_section(document: &SpecDocument, level: usize, name: &str) -> bool {
    document.sections.iter().any(|section| {
        section.level == level
            && section
                .title
                .to_ascii_lowercase()
                .starts_with(&name.to_ascii_lowercase())
    })
}

/// Words the spec generators use for a template section, per language, matched
/// anywhere in a level-2 title (`## 3. Functional Requirements`, `## 要件`).
fn section_words(name: &str) -> &'static [&'static str] {
    match name {
        "Requirements" => &[
            "requirements",
            "requisitos",
            "exigences",
            "anforderungen",
            "требования",
            "要件",
            "需求",
            "요구사항",
        ],
        "User Scenarios" => &["user scenarios", "user stories", "scenarios", "stories"],
        "Success Criteria" => &["success criteria", "success metrics"],
        "Why" => &["why"],
        "What Changes" => &["what changes", "changes"],
        _ => &[],
    }
}

fn has_section_like(document: &SpecDocument, name: &str) -> bool {
    document.sections.iter().any(|section| {
        let title = section.title.to_lowercase();
        section.level == 2 && section_words(name).iter().any(|word| title.contains(word))
    })
}

fn missing_section(context: &LintContext<'_>, emitter: &mut Emitter) {
    let Some(document) = spec_document(context) else {
        return;
    };
    if !document.problems.is_empty() && document.sections.is_empty() {
        return;
    }
    let required: &[&str] = match (document.format, document.role) {
        (Format::OpenSpec | Format::Native, FileRole::Requirements) => &["Purpose", "Requirements"],
        (Format::OpenSpec, FileRole::ChangeProposal) => &["Why", "What Changes"],
        (Format::SpecKit, FileRole::Requirements) => {
            &["User Scenarios", "Requirements", "Success Criteria"]
        }
        (Format::Kiro, FileRole::Requirements) => &["Requirements"],
        (Format::OpenSpecDelta, _) => {
            let has_delta_section = document.requirements.iter().any(|it| it.delta.is_some())
                || document
                    .sections
                    .iter()
                    .any(|section| section.level == 2 && DELTA_SECTION.is_match(&section.title));
            if !has_delta_section {
                emitter.emit(
                    0..0,
                    "delta spec has no `## ADDED|MODIFIED|REMOVED|RENAMED Requirements` section",
                );
            }
            return;
        }
        _ => return,
    };
    let anchor = document
        .sections
        .first()
        .map_or(0..0, |section| section.heading_range.clone());
    // Only OpenSpec's validator (and Director's native form) requires sections;
    // elsewhere they are the generator's template, and a requirement found by its
    // shape is found whatever its section is called.
    let enforced = matches!(
        (document.format, document.role),
        (Format::OpenSpec | Format::Native, FileRole::Requirements)
    );
    for name in required {
        let present = if enforced {
            has_section(document, 2, name)
        } else {
            has_section(document, 2, name)
                || has_section_like(document, name)
                || (*name == "Requirements" && !document.requirements.is_empty())
        };
        if !present {
            let finding = emitter.emit(
                anchor.clone(),
                format!("missing mandatory section `## {name}`"),
            );
            if !enforced {
                finding.severity = Severity::Warning;
            }
        }
    }
}

static DELTA_SECTION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^(?:ADDED|MODIFIED|REMOVED|RENAMED)\s+Requirements\s*$")
        .expect("static regex")
});

fn requirement_without_checks(context: &LintContext<'_>, emitter: &mut Emitter) {
    let Some(document) = spec_document(context) else {
        return;
    };
    for requirement in &document.requirements {
        let checked = !requirement.scenarios.is_empty() || !requirement.criteria.is_empty();
        let applies = match (document.format, requirement.kind) {
            (_, RequirementKind::Story) => true,
            (Format::SpecKit | Format::KiroBugfix | Format::Tessl, _) => false,
            (_, RequirementKind::Functional) => {
                requirement.delta.as_deref() != Some("REMOVED")
                    && requirement.delta.as_deref() != Some("RENAMED")
            }
            _ => false,
        };
        if applies && !checked {
            let what = match (document.format, requirement.kind) {
                (_, RequirementKind::Story) => "acceptance scenarios",
                (Format::Kiro, _) => "acceptance criteria",
                _ => "`#### Scenario:` or acceptance criteria",
            };
            let finding = emitter.emit(
                requirement.heading_range.clone(),
                format!("requirement `{}` has no {what}", requirement.local_id),
            );
            if matches!(document.format, Format::OpenSpec | Format::OpenSpecDelta) {
                finding.severity = Severity::Error;
            }
        }
    }
}

fn body_is_normative(requirement: &crate::spec::model::Requirement) -> bool {
    let normative = |text: &str| {
        let upper = text.to_ascii_uppercase();
        ["SHALL", "MUST"].iter().any(|keyword| {
            upper.match_indices(keyword).any(|(index, _)| {
                let before = upper[..index].chars().next_back();
                let after = upper[index + keyword.len()..].chars().next();
                !before.is_some_and(char::is_alphanumeric)
                    && !after.is_some_and(char::is_alphanumeric)
            })
        })
    };
    requirement
        .statements
        .iter()
        .any(|statement| normative(&statement.text))
        || requirement
            .criteria
            .iter()
            .any(|criterion| normative(&criterion.statement.text))
}

/// Whether a requirement is written in a script whose normative words are not
/// SHALL/MUST (`〜しなければならない`), so the keyword rules cannot judge it.
fn written_in_other_script(requirement: &crate::spec::model::Requirement) -> bool {
    let texts = requirement.statements.iter().chain(
        requirement
            .criteria
            .iter()
            .map(|criterion| &criterion.statement),
    );
    texts.into_iter().any(|statement| {
        statement
            .text
            .chars()
            .any(|character| ('\u{2E80}'..='\u{D7FF}').contains(&character))
    })
}

fn normative_check_applies(
    document: &SpecDocument,
    requirement: &crate::spec::model::Requirement,
) -> bool {
    let keywords_unreadable =
        document.format == Format::Kiro && written_in_other_script(requirement);
    requirement.kind == RequirementKind::Functional
        && !matches!(document.format, Format::Tessl)
        && !keywords_unreadable
        && !matches!(requirement.delta.as_deref(), Some("REMOVED" | "RENAMED"))
}

/// An OpenSpec requirement with no text between its header and its first
/// scenario: `openspec validate` rejects it, whatever the header says.
fn openspec_body_missing(
    document: &SpecDocument,
    requirement: &crate::spec::model::Requirement,
) -> bool {
    matches!(document.format, Format::OpenSpec | Format::OpenSpecDelta)
        && document.role == FileRole::Requirements
        && requirement.statements.is_empty()
}

fn missing_normative_keyword(context: &LintContext<'_>, emitter: &mut Emitter) {
    let Some(document) = spec_document(context) else {
        return;
    };
    for requirement in &document.requirements {
        let header = &context.text[requirement.heading_range.clone()];
        let header_normative = header.contains("SHALL") || header.contains("MUST");
        if normative_check_applies(document, requirement)
            && !body_is_normative(requirement)
            && !header_normative
        {
            let finding = emitter.emit(
                requirement.heading_range.clone(),
                format!(
                    "requirement `{}` has no SHALL or MUST statement",
                    requirement.local_id
                ),
            );
            if openspec_body_missing(document, requirement) {
                finding.severity = Severity::Error;
            }
        }
    }
}

fn normative_only_in_header(context: &LintContext<'_>, emitter: &mut Emitter) {
    let Some(document) = spec_document(context) else {
        return;
    };
    for requirement in &document.requirements {
        let header = &context.text[requirement.heading_range.clone()];
        let header_normative = header.contains("SHALL") || header.contains("MUST");
        if normative_check_applies(document, requirement)
            && header_normative
            && !body_is_normative(requirement)
        {
            // With body text, OpenSpec only warns; with none, it rejects.
            let finding = emitter.emit(
                requirement.heading_range.clone(),
                "SHALL/MUST appears only in the header; move the statement to the line immediately after the header",
            );
            if !openspec_body_missing(document, requirement) {
                finding.severity = Severity::Warning;
            }
        }
    }
}

fn duplicate_requirement(context: &LintContext<'_>, emitter: &mut Emitter) {
    let Some(document) = spec_document(context) else {
        return;
    };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for requirement in &document.requirements {
        let id_range = requirement
            .id_range
            .clone()
            .unwrap_or(requirement.heading_range.clone());
        let section = requirement.delta.as_deref().unwrap_or("");
        let name = requirement.local_id.as_str();
        let count = seen.entry(name).or_default();
        *count += 1;
        if *count > 1
            && document
                .requirements
                .iter()
                .filter(|other| {
                    other.local_id == name && other.delta.as_deref().unwrap_or("") == section
                })
                .count()
                > 1
        {
            emitter.emit(
                id_range,
                format!("requirement ID `{name}` is used more than once in this spec"),
            );
            continue;
        }
        if document.format == Format::OpenSpecDelta {
            continue;
        }
        let elsewhere = context
            .index
            .other_definitions(name, &document.path)
            .into_iter()
            .find(|other_path| {
                looks_global(name)
                    || context
                        .index
                        .spec(other_path)
                        .is_some_and(|other| other.document.spec_id == document.spec_id)
            });
        if let Some(other) = elsewhere {
            emitter.emit(
                id_range,
                format!(
                    "requirement ID `{name}` is also defined in {}",
                    other.display()
                ),
            );
        }
    }
}

/// Native and spec-kit style IDs (`AUTH-003`) are meant to be unique workspace-wide;
/// Kiro `R1` and OpenSpec slugs only within their spec.
fn looks_global(id: &str) -> bool {
    id.contains('-')
        && id
            .chars()
            .next()
            .is_some_and(|character| character.is_ascii_uppercase())
        && !id.starts_with("FR-")
        && !id.starts_with("SC-")
}

fn misplaced_header(context: &LintContext<'_>, emitter: &mut Emitter) {
    let Some(document) = spec_document(context) else {
        return;
    };
    for requirement in &document.requirements {
        if requirement.outside_requirements_section
            && matches!(
                document.format,
                Format::OpenSpec | Format::Native | Format::OpenSpecDelta
            )
        {
            let finding = emitter.emit(
                requirement.heading_range.clone(),
                "`### Requirement:` outside `## Requirements` is invisible to OpenSpec validate, list and archive",
            );
            // In a delta, OpenSpec ignores the block with a warning.
            if document.format == Format::OpenSpecDelta {
                finding.severity = Severity::Warning;
            }
        }
    }
    for observation in &document.observations {
        if observation.kind == ObservationKind::DeltaHeaderInMainSpec {
            emitter.emit(
                observation.range.clone(),
                "delta headers are only valid inside openspec/changes/<change>/specs/",
            );
        }
    }
}

fn loose_scenario(context: &LintContext<'_>, emitter: &mut Emitter) {
    let Some(document) = spec_document(context) else {
        return;
    };
    for observation in &document.observations {
        match &observation.kind {
            ObservationKind::LooseScenarioBullets { requirement } => {
                let name = requirement.rsplit('#').next().unwrap_or(requirement);
                let line_start = context.text[..observation.range.start]
                    .rfind('\n')
                    .map_or(0, |position| position + 1);
                emitter
                    .emit(
                        observation.range.clone(),
                        format!("WHEN/THEN bullets under `{name}` are not in a `#### Scenario:`"),
                    )
                    .with_fix(
                        "Wrap in a scenario",
                        vec![(
                            line_start..line_start,
                            "#### Scenario: Describe the scenario\n".to_string(),
                        )],
                    );
            }
            ObservationKind::ScenarioWrongLevel => {
                let line = &context.text[observation.range.clone()];
                let hashes = line.len() - line.trim_start_matches('#').len();
                emitter
                    .emit(
                        observation.range.clone(),
                        "scenario headings must be level 4 (`#### Scenario:`)",
                    )
                    .with_fix(
                        "Make it a level-4 heading",
                        vec![(
                            observation.range.start..observation.range.start + hashes,
                            "####".to_string(),
                        )],
                    );
            }
            _ => {}
        }
    }
}

fn task_numbering(context: &LintContext<'_>, emitter: &mut Emitter) {
    let Some(document) = spec_document(context) else {
        return;
    };
    anonymous_tasks(context, document, emitter);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut previous_major: Option<u32> = None;
    for task in &document.tasks {
        let Some(id) = task.id.as_deref() else {
            continue;
        };
        let id_start = context.text[task.range.clone()]
            .find(id)
            .map_or(task.range.start, |offset| task.range.start + offset);
        let id_range = id_start..id_start + id.len();
        let count = seen.entry(id).or_default();
        *count += 1;
        if *count == 2 {
            emitter.emit(id_range.clone(), format!("task ID `{id}` is duplicated"));
        }
        let mut parts = id.split('.');
        let major: Option<u32> = parts.next().and_then(|it| it.parse().ok());
        if let (Some(group), Some(major)) = (task.group, major) {
            if group != major {
                emitter.emit(
                    id_range.clone(),
                    format!("task `{id}` is under group {group}"),
                );
            }
        }
        if id.split('.').count() > 2 {
            emitter.emit(
                id_range.clone(),
                format!("task `{id}` is nested deeper than two levels"),
            );
        }
        if !id.contains('.') {
            if let (Some(previous), Some(major)) = (previous_major, major) {
                if major != previous + 1 && major != previous {
                    emitter.emit(id_range.clone(), format!("task `{id}` follows task `{previous}`; major numbers should be sequential"));
                }
            }
            previous_major = major.or(previous_major);
        }
    }
}

/// Tasks without an ID in a list whose other tasks have one: agents and
/// `_Requirements:_` lines cannot reference them. The fix numbers the task after
/// its siblings (`3.` at the top level, `2.4` under task `2`). A list with no
/// IDs at all is a plain checklist and is left alone.
fn anonymous_tasks(context: &LintContext<'_>, document: &SpecDocument, emitter: &mut Emitter) {
    if document.tasks.iter().all(|task| task.id.is_none()) {
        return;
    }
    let mut assigned: Vec<Option<String>> =
        document.tasks.iter().map(|task| task.id.clone()).collect();
    for (index, task) in document.tasks.iter().enumerate() {
        if task.id.is_some() {
            continue;
        }
        let parent_id = task
            .parent
            .and_then(|parent| assigned.get(parent).cloned().flatten());
        let siblings = document
            .tasks
            .iter()
            .zip(&assigned)
            .filter(|(other, _)| other.parent == task.parent)
            .filter_map(|(_, id)| id.as_deref());
        let last_number = siblings
            .filter_map(|id| {
                id.rsplit('.')
                    .next()
                    .and_then(|last| last.parse::<u32>().ok())
            })
            .max()
            .unwrap_or(0);
        let id = match &parent_id {
            Some(parent) => format!("{parent}.{}", last_number + 1),
            None => (last_number + 1).to_string(),
        };
        let after_box = task.box_range.end + 1;
        let line = &context.text[after_box.min(task.range.end)..task.range.end];
        let skipped = line.len() - line.trim_start_matches(['*', ' ', '\t']).len();
        let insert_at = after_box + skipped;
        let separator = if parent_id.is_some() { " " } else { ". " };
        emitter
            .emit(
                task.range.clone(),
                "task has no ID; agents and requirements cannot reference it",
            )
            .with_fix(
                format!("Number it {id}"),
                vec![(insert_at..insert_at, format!("{id}{separator}"))],
            );
        assigned[index] = Some(id);
    }
}

fn not_quite_a_task(context: &LintContext<'_>, emitter: &mut Emitter) {
    let Some(document) = spec_document(context) else {
        return;
    };
    for observation in &document.observations {
        let line = &context.text[observation.range.clone()];
        let indent = &line[..line.len() - line.trim_start().len()];
        match observation.kind {
            ObservationKind::HeadingUsedAsTask => {
                let title = line.trim_start_matches('#').trim();
                let title = title.strip_prefix("Task").map_or(title, str::trim_start);
                emitter
                    .emit(
                        observation.range.clone(),
                        "heading used as a task; editors and agents only start checkbox tasks",
                    )
                    .with_fix(
                        "Make it a task line",
                        vec![(observation.range.clone(), format!("- [ ] {title}"))],
                    );
            }
            ObservationKind::TaskWithoutCheckbox => {
                let content = line
                    .trim_start()
                    .trim_start_matches(['-', '*', '+'])
                    .trim_start();
                emitter
                    .emit(
                        observation.range.clone(),
                        "numbered task without a checkbox",
                    )
                    .with_fix(
                        "Add a checkbox",
                        vec![(
                            observation.range.clone(),
                            format!("{indent}- [ ] {content}"),
                        )],
                    );
            }
            ObservationKind::MalformedCheckbox => {
                let open = line.find('[').unwrap_or(0);
                let close = line[open..]
                    .find(']')
                    .map_or(open, |position| open + position);
                let inside = &line[open + 1..close];
                let replacement = if inside.contains(['x', 'X']) {
                    "x"
                } else {
                    " "
                };
                emitter
                    .emit(
                        observation.range.clone(),
                        format!("malformed checkbox `[{inside}]`; use `[ ]`, `[x]` or `[-]`"),
                    )
                    .with_fix(
                        "Fix the checkbox",
                        vec![(
                            observation.range.start + open + 1..observation.range.start + close,
                            replacement.to_string(),
                        )],
                    );
            }
            ObservationKind::OptionalTopLevelTask => {
                let star = line.find("]*").map_or(0, |position| position + 1);
                emitter
                    .emit(
                        observation.range.clone(),
                        "`[ ]*` (optional) is only valid on sub-tasks",
                    )
                    .with_fix(
                        "Remove the optional marker",
                        vec![(
                            observation.range.start + star..observation.range.start + star + 1,
                            String::new(),
                        )],
                    );
            }
            ObservationKind::TaskBoxSpacing => {
                let open = line.find('[').unwrap_or(0);
                let close = line[open..]
                    .find(']')
                    .map_or(open, |position| open + position);
                let optional = line[close + 1..].starts_with('*');
                let after = close + 1 + usize::from(optional);
                let content = line[after..].trim();
                emitter
                    .emit(
                        observation.range.clone(),
                        "checkbox item is not a task: write `- [ ] ` with one space after the bullet and one after the box",
                    )
                    .with_fix(
                        "Fix the task line's spacing",
                        vec![(
                            observation.range.clone(),
                            format!(
                                "{indent}- {}{} {content}",
                                &line[open..=close],
                                if optional { "*" } else { "" }
                            ),
                        )],
                    );
            }
            ObservationKind::EmptyTask => {
                emitter.emit(
                    observation.range.clone(),
                    "task has no text after its checkbox; say what is to be done",
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::lint::test_support::{flagged, lint_files, rules_fired};

    const OPENSPEC: &str = "# cli Specification\n## Purpose\nDefine how validation reports problems to the person running it.\n## Requirements\n### Requirement: Validation output\nThe validator SHALL list each problem.\n#### Scenario: One problem\n- **WHEN** a file has one problem\n- **THEN** one line is printed\n";

    #[test]
    fn clean_openspec_spec_has_no_structure_findings() {
        let rules = rules_fired(
            &[("openspec/specs/cli/spec.md", OPENSPEC)],
            "openspec/specs/cli/spec.md",
        );
        assert!(
            !rules.iter().any(|rule| rule.starts_with("SPEC")),
            "{rules:?}"
        );
    }

    #[test]
    fn missing_sections_and_scenarios() {
        let text = "# x\n## Requirements\n### Requirement: Output\nThe tool prints things.\n";
        let found = flagged(
            &[("openspec/specs/x/spec.md", text)],
            "openspec/specs/x/spec.md",
        );
        assert!(found.contains(&("SPEC001", "# x".to_string())), "{found:?}");
        assert!(found.contains(&("SPEC002", "### Requirement: Output".to_string())));
        assert!(found.contains(&("SPEC003", "### Requirement: Output".to_string())));
        let severity = lint_files(
            &[("openspec/specs/x/spec.md", text)],
            "openspec/specs/x/spec.md",
        )
        .into_iter()
        .find(|finding| finding.rule == "SPEC002")
        .map(|finding| finding.severity);
        assert_eq!(severity, Some(crate::spec::lint::Severity::Error));
    }

    #[test]
    fn header_only_modal_and_misplaced_header() {
        let text = "# x\n## Purpose\nA purpose long enough to satisfy anyone reading it, truly.\n### Requirement: Tool SHALL print\nPrints.\n#### Scenario: a\n- WHEN x\n- THEN y\n## Requirements\n## ADDED Requirements\n";
        let rules = rules_fired(
            &[("openspec/specs/x/spec.md", text)],
            "openspec/specs/x/spec.md",
        );
        assert!(rules.contains(&"SPEC004"), "{rules:?}");
        assert!(rules.contains(&"SPEC006"));
        assert!(!rules.contains(&"SPEC003"));
    }

    #[test]
    fn duplicates_within_and_across_specs() {
        let a = "---\ndirector-spec: 1\nspec: a\n---\n# A\n## Purpose\nP.\n## Requirements\n### AUTH-001: One\nX SHALL y.\n1. x SHALL y\n### AUTH-001: Two\nX SHALL z.\n1. x SHALL y\n";
        let b = "---\ndirector-spec: 1\nspec: b\n---\n# B\n## Purpose\nP.\n## Requirements\n### AUTH-001: Three\nX SHALL w.\n1. x SHALL y\n";
        let found = flagged(&[("a.md", a), ("b.md", b)], "b.md");
        assert!(
            found
                .iter()
                .any(|(rule, text)| *rule == "SPEC005" && text == "AUTH-001"),
            "{found:?}"
        );
        let found = lint_files(&[("a.md", a), ("b.md", b)], "a.md");
        assert!(
            found
                .iter()
                .any(|finding| finding.rule == "SPEC005"
                    && finding.message.contains("more than once"))
        );
    }

    #[test]
    fn loose_bullets_get_a_wrap_fix() {
        let text = "# x\n## Purpose\nP.\n## Requirements\n### Requirement: Out\nThe tool SHALL print.\n- WHEN a\n- THEN b\n";
        let findings = lint_files(
            &[("openspec/specs/x/spec.md", text)],
            "openspec/specs/x/spec.md",
        );
        let finding = findings
            .iter()
            .find(|finding| finding.rule == "SPEC007")
            .expect("SPEC007");
        assert_eq!(&text[finding.range.clone()], "- WHEN a\n- THEN b");
        let fix = finding.fix.as_ref().expect("test fixture");
        let mut fixed = text.to_string();
        let (range, replacement) = &fix.edits[0];
        fixed.replace_range(range.clone(), replacement);
        assert!(fixed.contains("print.\n#### Scenario: Describe the scenario\n- WHEN a"));
    }

    #[test]
    fn a_task_without_an_id_gets_the_next_number() {
        let text = "# Tasks\n- [ ] 1. Parse\n  - [ ] 1.1 Lexer\n  - [ ] Tokens\n- [ ] Render\n";
        let path = ".kiro/specs/f/tasks.md";
        let findings = lint_files(&[(path, text)], path);
        let fixes: Vec<(String, String)> = findings
            .iter()
            .filter(|finding| finding.rule == "SPEC012")
            .map(|finding| {
                let fix = finding.fix.as_ref().expect("a fix");
                let mut fixed = text.to_string();
                let (range, replacement) = &fix.edits[0];
                fixed.replace_range(range.clone(), replacement);
                (fix.title.clone(), fixed)
            })
            .collect();
        assert_eq!(fixes.len(), 2, "{findings:?}");
        assert_eq!(fixes[0].0, "Number it 1.2");
        assert!(
            fixes[0].1.contains("  - [ ] 1.2 Tokens\n"),
            "{}",
            fixes[0].1
        );
        assert_eq!(fixes[1].0, "Number it 2");
        assert!(fixes[1].1.contains("- [ ] 2. Render\n"), "{}", fixes[1].1);
    }

    #[test]
    fn a_plain_checklist_without_ids_is_left_alone() {
        let text = "# Tasks\n- [ ] Parse\n- [ ] Render\n";
        let found = flagged(
            &[(".kiro/specs/f/tasks.md", text)],
            ".kiro/specs/f/tasks.md",
        );
        assert!(
            !found.iter().any(|(rule, _)| *rule == "SPEC012"),
            "{found:?}"
        );
    }

    #[test]
    fn task_shapes_and_numbering() {
        let text = "# Tasks\n## 1. Setup\n- [ ] 1.1 First\n- [ ] 1.1 Again\n- [ ] 2.1 Wrong group\n- [ ] 1.2.3 Deep\n### Task 4 heading\n- 5. no box\n- [ x] 6 bad box\n- [ ]* 7 optional top\n";
        let found = flagged(
            &[(".kiro/specs/f/tasks.md", text)],
            ".kiro/specs/f/tasks.md",
        );
        let spec012: Vec<_> = found
            .iter()
            .filter(|(rule, _)| *rule == "SPEC012")
            .map(|(_, text)| text.as_str())
            .collect();
        assert_eq!(spec012, ["1.1", "2.1", "1.2.3", "7"]);
        let spec013: Vec<_> = found
            .iter()
            .filter(|(rule, _)| *rule == "SPEC013")
            .map(|(_, text)| text.as_str())
            .collect();
        assert_eq!(
            spec013,
            [
                "### Task 4 heading",
                "- 5. no box",
                "- [ x] 6 bad box",
                "- [ ]* 7 optional top"
            ]
        );
    }

    #[test]
    fn task_like_lines_that_would_lose_their_lens_are_flagged_with_a_fix() {
        let text = "# Tasks\n- [ ] 1. Setup\n  - Create folders\n  - _Requirements: 1.1_\n-[ ] 2. No space after the bullet\n- [ ]3. No space after the box\n* [ ]*3.1 Optional, no space\n[ ] 4. No bullet\n- [ ] \n- 5. Numbered, no box\n6. Ordered, no box\n- [ ] 7. Fine\n  1. a numbered detail stays a detail\n## Strategy\n1. Finish the setup first\n";
        let path = ".kiro/specs/f/tasks.md";
        let findings: Vec<_> = lint_files(&[(path, text)], path)
            .into_iter()
            .filter(|finding| finding.rule == "SPEC013")
            .collect();
        let lines: Vec<&str> = findings
            .iter()
            .map(|finding| &text[finding.range.clone()])
            .collect();
        assert_eq!(
            lines,
            [
                "-[ ] 2. No space after the bullet",
                "- [ ]3. No space after the box",
                "* [ ]*3.1 Optional, no space",
                "[ ] 4. No bullet",
                "- [ ] ",
                "- 5. Numbered, no box",
                "6. Ordered, no box",
            ]
        );
        let fixed: Vec<String> = findings
            .iter()
            .filter_map(|finding| finding.fix.as_ref())
            .map(|fix| fix.edits[0].1.clone())
            .collect();
        assert_eq!(
            fixed,
            [
                "- [ ] 2. No space after the bullet",
                "- [ ] 3. No space after the box",
                "- [ ]* 3.1 Optional, no space",
                "- [ ] 4. No bullet",
                "- [ ] 5. Numbered, no box",
                "- [ ] 6. Ordered, no box",
            ]
        );
        let document = crate::spec::parse::parse_spec_text(
            std::path::Path::new(path),
            &crate::spec::discovery::Classification {
                format: crate::spec::model::Format::Kiro,
                role: crate::spec::model::FileRole::Tasks,
                spec_id: "f".to_string(),
            },
            text,
        );
        let ids: Vec<_> = document
            .tasks
            .iter()
            .map(|task| task.id.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(ids, ["1", "7"]);
        assert_eq!(document.tasks[0].refs.len(), 1);
    }
}
