//! Traceability and coverage rules (SPEC-FORMATS §2.2): dangling references,
//! requirements without tasks or code, tasks without requirements, suspect links.

use std::path::Path;

use crate::spec::index::coverage_of;
use crate::spec::lint::config::NeededRole;
use crate::spec::lint::{Emitter, LintContext, LintTarget, Rule, Severity};
use crate::spec::model::{FileRole, Format, RequirementKind, SpecDocument};
use crate::spec::references::RefExpr;
use crate::spec::trace::TraceRole;

pub static RULES: &[Rule] = &[
    Rule {
        id: "TRC001",
        default_severity: Severity::Error,
        summary: "Dangling reference",
        rationale: "A task, design property or code tag cites an ID that no spec defines; the link is broken and coverage is overstated.",
        check: dangling_reference,
    },
    Rule {
        id: "TRC002",
        default_severity: Severity::Warning,
        summary: "Requirement with no task",
        rationale: "When a spec has a task list, every requirement should be planned by at least one task, or it will not be built.",
        check: requirement_without_task,
    },
    Rule {
        id: "TRC003",
        default_severity: Severity::Warning,
        summary: "Task with no requirement reference",
        rationale: "A task that cites no requirement or story cannot be checked against the spec; setup and polish phases are informational only.",
        check: task_without_reference,
    },
    Rule {
        id: "TRC004",
        default_severity: Severity::Info,
        summary: "Requirement with no implementation or test trace",
        rationale: "Coverage in the OpenFastTrace sense: each requirement needs code that implements it and a test that checks it (configurable with `[lint] needs`).",
        check: requirement_without_trace,
    },
    Rule {
        id: "TRC005",
        default_severity: Severity::Warning,
        summary: "Suspect trace: requirement changed since the link was pinned",
        rationale: "The code tag pins a fingerprint of the requirement text; it differs now, so the code may no longer satisfy the requirement. Re-verify, then re-pin.",
        check: suspect_trace,
    },
];

fn dangling_reference(context: &LintContext<'_>, emitter: &mut Emitter) {
    match context.target {
        LintTarget::Spec(document) => {
            let spec_id = Some(document.spec_id.as_str());
            let references = document
                .tasks
                .iter()
                .flat_map(|task| task.refs.iter().chain(&task.validates))
                .chain(
                    document
                        .properties
                        .iter()
                        .flat_map(|property| &property.validates),
                );
            for reference in references {
                match reference {
                    RefExpr::Id {
                        id,
                        range,
                        inferred: false,
                    } if context.index.resolve(id, spec_id).is_none() => {
                        emitter.emit(
                            range.clone(),
                            format!("`{id}` does not name any known requirement"),
                        );
                    }
                    RefExpr::Unresolved { text, range } => {
                        emitter
                            .emit(
                                range.clone(),
                                format!("cannot read `{text}` as requirement references"),
                            )
                            .severity = Severity::Info;
                    }
                    _ => {}
                }
            }
        }
        LintTarget::Code(code) => {
            for trace in &code.traces {
                if trace.role != TraceRole::Mention
                    && context.index.resolve(&trace.reference, None).is_none()
                {
                    emitter.emit(
                        trace.reference_range.clone(),
                        format!("`{}` does not name any known requirement", trace.reference),
                    );
                }
            }
        }
    }
}

fn is_traceable(kind: RequirementKind) -> bool {
    matches!(
        kind,
        RequirementKind::Functional | RequirementKind::Expected | RequirementKind::Preservation
    )
}

fn spec_has_tasks(context: &LintContext<'_>, document: &SpecDocument) -> bool {
    context.index.specs().any(|(_, spec)| {
        spec.document.spec_id == document.spec_id
            && spec.document.role == FileRole::Tasks
            && !spec.document.tasks.is_empty()
    })
}

fn requirement_without_task(context: &LintContext<'_>, emitter: &mut Emitter) {
    let LintTarget::Spec(document) = context.target else {
        return;
    };
    if document.role != FileRole::Requirements || !spec_has_tasks(context, document) {
        return;
    }
    let links = context.index.all_links();
    for requirement in document
        .requirements
        .iter()
        .filter(|requirement| is_traceable(requirement.kind))
    {
        let coverage = coverage_of(
            links.get(&requirement.key).map_or(&[], Vec::as_slice),
            Some(&requirement.fingerprint),
        );
        if coverage.tasks == 0 {
            emitter.emit(
                requirement.heading_range.clone(),
                format!("no task references `{}`", requirement.local_id),
            );
        }
    }
}

fn task_without_reference(context: &LintContext<'_>, emitter: &mut Emitter) {
    let LintTarget::Spec(document) = context.target else {
        return;
    };
    // OpenSpec tasks never cite requirements: the change's deltas are their scope.
    if document.role != FileRole::Tasks || document.format == Format::OpenSpec {
        return;
    }
    for (index, task) in document.tasks.iter().enumerate() {
        if in_checklist_section(document, task.range.start) {
            continue;
        }
        let has_reference = |task: &crate::spec::model::Task| {
            task.story.is_some()
                || task
                    .refs
                    .iter()
                    .chain(&task.validates)
                    .any(|reference| match reference {
                        RefExpr::Id {
                            inferred: true, id, ..
                        } => context.index.resolve(id, Some(&document.spec_id)).is_some(),
                        _ => true,
                    })
        };
        let child_has_reference = document
            .tasks
            .iter()
            .any(|child| child.parent == Some(index) && has_reference(child));
        if has_reference(task) || child_has_reference {
            continue;
        }
        let phase = task.phase.as_deref().unwrap_or("").to_ascii_lowercase();
        let finding = emitter.emit(
            task.range.clone(),
            "task references no requirement or story",
        );
        if phase.contains("setup") || phase.contains("polish") || phase.contains("foundational") {
            finding.severity = Severity::Info;
        }
    }
}

/// Whether a task sits under a heading that makes it a checklist item (spec-kit's
/// "Quality Gates", "Validation Checklist", a "Definition of Done"), not work.
fn in_checklist_section(document: &SpecDocument, offset: usize) -> bool {
    document
        .sections
        .iter()
        .filter(|section| section.body_range.contains(&offset))
        .any(|section| {
            let title = section.title.to_ascii_lowercase();
            [
                "quality gate",
                "checklist",
                "definition of done",
                "success criteria",
                "validation",
            ]
            .iter()
            .any(|word| title.contains(word))
        })
}

fn requirement_without_trace(context: &LintContext<'_>, emitter: &mut Emitter) {
    let LintTarget::Spec(document) = context.target else {
        return;
    };
    // A change's delta is not built against; its requirements are traced once
    // archived into the main spec.
    if document.role != FileRole::Requirements || document.format == Format::OpenSpecDelta {
        return;
    }
    let links = context.index.all_links();
    for requirement in document
        .requirements
        .iter()
        .filter(|requirement| is_traceable(requirement.kind))
    {
        let coverage = coverage_of(
            links.get(&requirement.key).map_or(&[], Vec::as_slice),
            Some(&requirement.fingerprint),
        );
        let governed_by_glob = !document.traces.is_empty();
        let mut missing = Vec::new();
        if context.needs.contains(&NeededRole::Impl)
            && coverage.implementations == 0
            && !governed_by_glob
        {
            missing.push("implementation");
        }
        if context.needs.contains(&NeededRole::Test) && coverage.tests == 0 {
            missing.push("test");
        }
        if !missing.is_empty() {
            emitter.emit(
                requirement.heading_range.clone(),
                format!(
                    "`{}` has no {} trace",
                    requirement.local_id,
                    missing.join(" or ")
                ),
            );
        }
    }
}

fn suspect_trace(context: &LintContext<'_>, emitter: &mut Emitter) {
    let LintTarget::Code(code) = context.target else {
        return;
    };
    for trace in &code.traces {
        let Some((pin, pin_range)) = &trace.pin else {
            continue;
        };
        let Some(location) = context
            .index
            .resolve(&trace.reference, None)
            .and_then(|key| context.index.item(key))
        else {
            continue;
        };
        let Some(requirement) = context.index.requirement(&location.requirement_key) else {
            continue;
        };
        let current = &requirement.requirement.fingerprint;
        if current != pin {
            emitter
                .emit(
                    trace.reference_range.start..pin_range.end,
                    format!("`{}` changed since this link was pinned ({pin} → {current}); re-verify the code", trace.reference),
                )
                .with_fix("Mark as re-verified (re-pin)", vec![(pin_range.clone(), current.clone())]);
        }
    }
}

/// Whether a path looks like a test file, for reports that group traces.
pub fn is_test_path(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.contains("/tests/")
        || text.contains("/test/")
        || path.file_name().is_some_and(|name| {
            let name = name.to_string_lossy();
            name.starts_with("test_")
                || name.contains("_test.")
                || name.contains(".test.")
                || name.contains(".spec.")
        })
}

#[cfg(test)]
mod tests {
    use crate::spec::lint::test_support::{flagged, lint_files};

    const SPEC: &str = "---\ndirector-spec: 1\nspec: auth\n---\n# Auth\n## Purpose\nP.\n## Requirements\n### AUTH-001: Hashing\nTHE System SHALL hash passwords with bcrypt cost 12.\n1. WHEN a password is stored, THE System SHALL hash it <!-- AUTH-001.1 -->\n### AUTH-002: Lockout\nTHE System SHALL lock accounts after 5 failures.\n1. x SHALL y\n";
    const TASKS: &str = "---\ndirector-spec: 1\nspec: auth\n---\n# Tasks\n- [ ] 1. Hash\n  - _Requirements: AUTH-001.1, AUTH-009_\n- [ ] 2. Wander\n- [ ] 3. Lock\n  - _Requirements: All of them_\n";

    #[test]
    fn dangling_and_unresolved_task_references() {
        let found = flagged(&[("auth.md", SPEC), ("tasks.md", TASKS)], "tasks.md");
        assert!(
            found.contains(&("TRC001", "AUTH-009".to_string())),
            "{found:?}"
        );
        assert!(found.contains(&("TRC001", "All of them".to_string())));
        assert!(
            !found
                .iter()
                .any(|(rule, text)| *rule == "TRC001" && text == "AUTH-001.1")
        );
        assert!(found.contains(&("TRC003", "- [ ] 2. Wander".to_string())));
    }

    #[test]
    fn requirements_without_tasks_and_traces() {
        let code = "# @spec AUTH-001\ndef hash():\n    pass\n";
        let files = [
            ("auth.md", SPEC),
            ("tasks.md", TASKS),
            ("src/auth.py", code),
        ];
        let found = flagged(&files, "auth.md");
        let trc002: Vec<_> = found
            .iter()
            .filter(|(rule, _)| *rule == "TRC002")
            .map(|(_, text)| text.as_str())
            .collect();
        assert_eq!(trc002, ["### AUTH-002: Lockout"]);
        let trc004: Vec<_> = lint_files(&files, "auth.md")
            .into_iter()
            .filter(|it| it.rule == "TRC004")
            .map(|it| it.message)
            .collect();
        assert_eq!(
            trc004,
            [
                "`AUTH-001` has no test trace",
                "`AUTH-002` has no implementation or test trace"
            ]
        );
    }

    #[test]
    fn dangling_code_tag_and_suspect_pin_with_repin_fix() {
        let index_fingerprint = {
            let findings = lint_files(
                &[
                    ("auth.md", SPEC),
                    ("a.py", "# @spec AUTH-001@00000000\nx = 1\n"),
                ],
                "a.py",
            );
            let finding = findings
                .into_iter()
                .find(|it| it.rule == "TRC005")
                .expect("TRC005");
            finding.fix.expect("fix").edits[0].1.clone()
        };
        assert_eq!(index_fingerprint.len(), 8);
        let pinned = format!("# @spec AUTH-001@{index_fingerprint} AUTH-404\nx = 1\n");
        let found = flagged(&[("auth.md", SPEC), ("a.py", &pinned)], "a.py");
        assert_eq!(found, [("TRC001", "AUTH-404".to_string())]);
    }
}
