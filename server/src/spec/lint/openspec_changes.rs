//! OpenSpec change rules that look across files, as `openspec validate` does: a
//! change must carry at least one delta, and a MODIFIED requirement replaces the
//! whole block of the main spec, so it must keep every scenario the main spec has.

use std::path::{Component, Path, PathBuf};

use crate::spec::index::SpecIndex;
use crate::spec::lint::{Emitter, LintContext, LintTarget, Rule, Severity};
use crate::spec::model::{FileRole, Format, Requirement, SpecDocument};

pub static RULES: &[Rule] = &[
    Rule {
        id: "SPEC014",
        default_severity: Severity::Error,
        summary: "OpenSpec change with no delta",
        rationale: "A change folder must hold at least one delta (`specs/<capability>/spec.md` with an ADDED, MODIFIED, REMOVED or RENAMED entry), or set `skip_specs: true` in its `.openspec.yaml`; `openspec validate` rejects it otherwise, and archive has nothing to apply.",
        check: change_without_delta,
    },
    Rule {
        id: "SPEC015",
        default_severity: Severity::Error,
        summary: "MODIFIED requirement drops scenarios of the main spec",
        rationale: "A MODIFIED block replaces the whole requirement when the change is archived, so a scenario the main spec has and the block omits would be lost; `openspec validate` and archive refuse it. Copy the omitted scenarios into the block.",
        check: modified_drops_scenarios,
    },
];

/// The change folder (`…/openspec/changes/<id>`) a file sits in, if any.
fn change_folder(path: &Path) -> Option<PathBuf> {
    let components: Vec<Component<'_>> = path.components().collect();
    let position = components
        .windows(2)
        .position(|pair| pair[0].as_os_str() == "openspec" && pair[1].as_os_str() == "changes")?;
    let change = components.get(position + 2)?;
    if change.as_os_str() == "archive" {
        return None;
    }
    Some(components[..position + 3].iter().collect())
}

/// How many delta entries a delta spec holds: requirement blocks in ADDED,
/// MODIFIED and REMOVED sections, and `FROM:` lines of RENAMED pairs.
fn delta_entries(document: &SpecDocument, text: &str) -> usize {
    let blocks = document
        .requirements
        .iter()
        .filter(|requirement| requirement.delta.is_some())
        .count();
    let renames = document
        .sections
        .iter()
        .filter(|section| section.level == 2 && section.title.starts_with("RENAMED"))
        .flat_map(|section| text.get(section.body_range.clone()).unwrap_or("").lines())
        .filter(|line| {
            line.trim_start_matches(['-', '*', ' ', '`'])
                .trim_start_matches("**")
                .starts_with("FROM:")
        })
        .count();
    blocks + renames
}

/// Whether the change's `.openspec.yaml` declares that it changes no spec.
fn skips_specs(change: &Path) -> bool {
    std::fs::read_to_string(change.join(".openspec.yaml")).is_ok_and(|metadata| {
        metadata
            .lines()
            .any(|line| line.split('#').next().unwrap_or("").trim() == "skip_specs: true")
    })
}

/// The file a change-level finding is reported on: the proposal, else the task
/// list, else the design, so it is reported once.
fn reports_for_change(index: &SpecIndex, document: &SpecDocument, change: &Path) -> bool {
    let order = [FileRole::ChangeProposal, FileRole::Tasks, FileRole::Design];
    let first = order.iter().find_map(|role| {
        index.specs().map(|(_, spec)| &spec.document).find(|other| {
            other.role == *role
                && other.format == Format::OpenSpec
                && other.path.parent() == Some(change)
        })
    });
    first.is_some_and(|first| first.path == document.path)
}

fn change_without_delta(context: &LintContext<'_>, emitter: &mut Emitter) {
    let LintTarget::Spec(document) = context.target else {
        return;
    };
    if document.format != Format::OpenSpec {
        return;
    }
    let Some(change) = change_folder(&document.path) else {
        return;
    };
    if !reports_for_change(context.index, document, &change) {
        return;
    }
    let specs = change.join("specs");
    let deltas: usize = context
        .index
        .specs()
        .filter(|(path, spec)| {
            spec.document.format == Format::OpenSpecDelta && path.starts_with(&specs)
        })
        .map(|(_, spec)| delta_entries(&spec.document, &spec.text))
        .sum();
    if deltas == 0 && !skips_specs(&change) {
        emitter.emit(
            0..0,
            "change has no delta: add `specs/<capability>/spec.md` with an `## ADDED|MODIFIED|REMOVED|RENAMED Requirements` entry, or set `skip_specs: true` in `.openspec.yaml`",
        );
    }
}

/// The main spec a delta spec changes: `…/openspec/changes/<id>/specs/<cap>/spec.md`
/// changes `…/openspec/specs/<cap>/spec.md`.
fn main_spec_path(delta_path: &Path) -> Option<PathBuf> {
    let change = change_folder(delta_path)?;
    let capability = delta_path.strip_prefix(change.join("specs")).ok()?;
    let openspec = change.parent()?.parent()?;
    Some(openspec.join("specs").join(capability))
}

fn scenario_names(requirement: &Requirement) -> Vec<&str> {
    requirement
        .scenarios
        .iter()
        .map(|scenario| scenario.name.as_str())
        .collect()
}

fn modified_drops_scenarios(context: &LintContext<'_>, emitter: &mut Emitter) {
    let LintTarget::Spec(document) = context.target else {
        return;
    };
    if document.format != Format::OpenSpecDelta {
        return;
    }
    let Some(main) = main_spec_path(&document.path).and_then(|path| context.index.spec(&path))
    else {
        return;
    };
    for requirement in &document.requirements {
        if requirement.delta.as_deref() != Some("MODIFIED") {
            continue;
        }
        let Some(current) = main.document.requirements.iter().find(|it| {
            !it.outside_requirements_section && it.title.is_some() && it.title == requirement.title
        }) else {
            continue;
        };
        let mut kept = scenario_names(requirement);
        let missing: Vec<&str> = scenario_names(current)
            .into_iter()
            .filter(|name| match kept.iter().position(|it| it == name) {
                Some(found) => {
                    kept.remove(found);
                    false
                }
                None => true,
            })
            .collect();
        if !missing.is_empty() {
            emitter.emit(
                requirement.heading_range.clone(),
                format!(
                    "MODIFIED `{}` omits scenario(s) the main spec still has: {}; archiving would drop them",
                    requirement.title.as_deref().unwrap_or(&requirement.local_id),
                    missing
                        .iter()
                        .map(|name| format!("\"{name}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::lint::test_support::flagged;

    const MAIN: &str = "# Auth\n## Purpose\nSign users in.\n## Requirements\n### Requirement: Login\nThe system SHALL sign users in.\n#### Scenario: Good password\n- WHEN the password matches\n- THEN a session starts\n#### Scenario: Bad password\n- WHEN it does not\n- THEN an error shows\n";
    const PROPOSAL: &str = "# Change\n## Why\nBecause.\n## What Changes\n- Login.\n";

    #[test]
    fn a_change_without_any_delta_is_an_error_once() {
        let files = [
            ("openspec/changes/c/proposal.md", PROPOSAL),
            ("openspec/changes/c/tasks.md", "## 1. Do\n- [ ] 1.1 Do it\n"),
        ];
        let on_proposal = flagged(&files, "openspec/changes/c/proposal.md");
        assert!(
            on_proposal.iter().any(|(rule, _)| *rule == "SPEC014"),
            "{on_proposal:?}"
        );
        let on_tasks = flagged(&files, "openspec/changes/c/tasks.md");
        assert!(!on_tasks.iter().any(|(rule, _)| *rule == "SPEC014"));
    }

    #[test]
    fn a_rename_only_delta_counts_as_a_delta() {
        let delta = "## RENAMED Requirements\n- FROM: `### Requirement: Login`\n- TO: `### Requirement: Sign in`\n";
        let files = [
            ("openspec/specs/auth/spec.md", MAIN),
            ("openspec/changes/c/proposal.md", PROPOSAL),
            ("openspec/changes/c/specs/auth/spec.md", delta),
        ];
        let on_proposal = flagged(&files, "openspec/changes/c/proposal.md");
        assert!(!on_proposal.iter().any(|(rule, _)| *rule == "SPEC014"));
        let on_delta = flagged(&files, "openspec/changes/c/specs/auth/spec.md");
        assert!(
            !on_delta.iter().any(|(rule, _)| rule.starts_with("SPEC0")),
            "{on_delta:?}"
        );
    }

    #[test]
    fn a_modified_block_must_keep_the_main_spec_s_scenarios() {
        let delta = "## MODIFIED Requirements\n### Requirement: Login\nThe system SHALL sign users in with a password.\n#### Scenario: Good password\n- WHEN the password matches\n- THEN a session starts\n";
        let files = [
            ("openspec/specs/auth/spec.md", MAIN),
            ("openspec/changes/c/proposal.md", PROPOSAL),
            ("openspec/changes/c/specs/auth/spec.md", delta),
        ];
        let found = flagged(&files, "openspec/changes/c/specs/auth/spec.md");
        assert_eq!(
            found,
            [("SPEC015", "### Requirement: Login".to_string())],
            "{found:?}"
        );
        let complete = format!(
            "{delta}#### Scenario: Bad password\n- WHEN it does not\n- THEN an error shows\n"
        );
        let files = [
            ("openspec/specs/auth/spec.md", MAIN),
            ("openspec/changes/c/specs/auth/spec.md", complete.as_str()),
        ];
        let found = flagged(&files, "openspec/changes/c/specs/auth/spec.md");
        assert!(found.is_empty(), "{found:?}");
    }
}
