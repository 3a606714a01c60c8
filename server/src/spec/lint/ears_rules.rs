//! EARS conformance rules (SPEC-FORMATS §2.5), on for Kiro files and for native files
//! whose front matter says `ears: true` or `ears: strict`.

use crate::spec::ears::EarsProblem;
use crate::spec::lint::{Emitter, LintContext, LintTarget, Rule, Severity};
use crate::spec::model::{Format, Modal, RequirementKind, SpecDocument, StatementPlace};

pub static RULES: &[Rule] = &[
    Rule {
        id: "EARS001",
        default_severity: Severity::Hint,
        summary: "Normative statement matches no EARS pattern",
        rationale: "EARS (Mavin et al.) gives each requirement one of five shapes: ubiquitous, WHEN (event), WHILE (state), IF…THEN (unwanted), WHERE (optional), ending in `the <system> shall <response>`. A statement in no shape is harder to test.",
        check: no_ears_pattern,
    },
    Rule {
        id: "EARS002",
        default_severity: Severity::Warning,
        summary: "Malformed EARS clause",
        rationale: "IF needs THEN; a WHEN clause should have one trigger (not several joined by `or`); a subject must name who shall respond, between the clauses and the modal.",
        check: malformed_clause,
    },
    Rule {
        id: "EARS003",
        default_severity: Severity::Info,
        summary: "EARS clause order",
        rationale: "EARS orders clauses WHERE → WHILE → WHEN/IF so that every requirement reads the same way.",
        check: clause_order,
    },
    Rule {
        id: "EARS004",
        default_severity: Severity::Warning,
        summary: "Non-SHALL modal in an acceptance criterion",
        rationale: "Acceptance criteria are obligations: write `THE <System> SHALL`, not should, will or may.",
        check: weak_criterion_modal,
    },
];

fn ears_document<'a>(context: &'a LintContext<'_>) -> Option<&'a SpecDocument> {
    let LintTarget::Spec(document) = context.target else {
        return None;
    };
    let enabled = match document.format {
        Format::Kiro | Format::KiroBugfix => true,
        Format::Native => matches!(document.ears.as_deref(), Some("true" | "strict")),
        _ => false,
    };
    enabled.then_some(document)
}

fn no_ears_pattern(context: &LintContext<'_>, emitter: &mut Emitter) {
    let Some(document) = ears_document(context) else {
        return;
    };
    let strict = document.ears.as_deref() == Some("strict");
    for (requirement, statement, _) in document.normative_statements() {
        if requirement.kind == RequirementKind::Defect || statement.modal.is_none() {
            continue;
        }
        if statement.ears.is_none() {
            let finding = emitter.emit(
                statement.range.clone(),
                "statement follows no EARS pattern (`[WHEN …,] THE <system> SHALL <response>`)",
            );
            if strict {
                finding.severity = Severity::Warning;
            }
        }
    }
}

fn malformed_clause(context: &LintContext<'_>, emitter: &mut Emitter) {
    let Some(document) = ears_document(context) else {
        return;
    };
    for (requirement, statement, _) in document.normative_statements() {
        if requirement.kind == RequirementKind::Defect {
            continue;
        }
        let Some(ears) = &statement.ears else {
            continue;
        };
        for problem in &ears.problems {
            let message = match problem {
                EarsProblem::IfWithoutThen => "IF clause without THEN",
                EarsProblem::MultipleTriggers => {
                    "WHEN clause joins several triggers with `or`; split the requirement"
                }
                EarsProblem::MissingSubject => {
                    "no subject before SHALL; name who responds (`THE <system> SHALL`)"
                }
                EarsProblem::ClauseOrder => continue,
            };
            emitter.emit(statement.range.clone(), message);
        }
    }
}

fn clause_order(context: &LintContext<'_>, emitter: &mut Emitter) {
    let Some(document) = ears_document(context) else {
        return;
    };
    for (_, statement, _) in document.normative_statements() {
        if statement
            .ears
            .as_ref()
            .is_some_and(|ears| ears.problems.contains(&EarsProblem::ClauseOrder))
        {
            emitter.emit(
                statement.range.clone(),
                "EARS clauses should appear in the order WHERE, WHILE, WHEN/IF",
            );
        }
    }
}

fn weak_criterion_modal(context: &LintContext<'_>, emitter: &mut Emitter) {
    let Some(document) = ears_document(context) else {
        return;
    };
    for (requirement, statement, place) in document.normative_statements() {
        if place != StatementPlace::Criterion || requirement.kind == RequirementKind::Defect {
            continue;
        }
        let weak = statement
            .text
            .split(|character: char| !character.is_alphanumeric())
            .find(|word| {
                matches!(
                    word.to_ascii_lowercase().as_str(),
                    "should" | "will" | "may"
                )
            });
        let has_shall = matches!(
            statement.modal,
            Some(
                Modal::Shall
                    | Modal::ShallNot
                    | Modal::ShallContinueTo
                    | Modal::Must
                    | Modal::MustNot
            )
        );
        if let (Some(word), false) = (weak, has_shall) {
            emitter.emit(
                statement.range.clone(),
                format!("acceptance criterion uses `{word}`; write SHALL"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::lint::test_support::flagged;

    const KIRO: &str = "# Requirements Document\n## Requirements\n### Requirement 1: Login\n**User Story:** As a user, I want to log in, so that I can work.\n#### Acceptance Criteria\n1. WHEN a user submits valid credentials, THE System SHALL create a session\n2. IF the password is wrong THE System SHALL reject it\n3. WHEN a user logs in, WHILE locked, THE System SHALL refuse\n4. THE System should log the attempt\n5. Passwords are checked and SHALL match\n6. SHALL be logged\n";

    #[test]
    fn each_ears_rule_fires_on_its_line_and_not_on_good_lines() {
        let found = flagged(
            &[(".kiro/specs/auth/requirements.md", KIRO)],
            ".kiro/specs/auth/requirements.md",
        );
        let lines = |rule: &str| -> Vec<String> {
            found
                .iter()
                .filter(|(id, _)| *id == rule)
                .map(|(_, text)| text.clone())
                .collect()
        };
        assert!(
            lines("EARS002")
                .iter()
                .any(|line| line.starts_with("IF the password")),
            "{found:?}"
        );
        assert!(
            lines("EARS002")
                .iter()
                .any(|line| line == "SHALL be logged")
        );
        assert_eq!(
            lines("EARS003"),
            ["WHEN a user logs in, WHILE locked, THE System SHALL refuse"]
        );
        assert_eq!(lines("EARS004"), ["THE System should log the attempt"]);
        assert!(
            !found
                .iter()
                .any(|(_, text)| text.starts_with("WHEN a user submits")),
            "{found:?}"
        );
    }

    #[test]
    fn ears_is_off_for_other_formats() {
        let text = "# x\n## Purpose\nP.\n## Requirements\n### Requirement: A\nSHALL be logged.\n#### Scenario: s\n- WHEN a\n- THEN b\n";
        let found = flagged(
            &[("openspec/specs/x/spec.md", text)],
            "openspec/specs/x/spec.md",
        );
        assert!(
            !found.iter().any(|(rule, _)| rule.starts_with("EARS")),
            "{found:?}"
        );
    }
}
