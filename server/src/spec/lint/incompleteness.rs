//! Incompleteness and clarification rules (SPEC-FORMATS §2.4): placeholder tokens,
//! open `[NEEDS CLARIFICATION]` questions and template leftovers.

use crate::spec::lint::{Emitter, LintContext, LintTarget, Rule, Severity};
use crate::spec::model::{FileRole, Format, MarkerKind};

pub static RULES: &[Rule] = &[
    Rule {
        id: "INC001",
        default_severity: Severity::Warning,
        summary: "Incomplete token (TBD, TODO, ???)",
        rationale: "Placeholders such as TBD, TODO or ??? mark text nobody has decided yet (NASA ARM incompletes); in an approved spec they are errors.",
        check: incomplete_token,
    },
    Rule {
        id: "INC002",
        default_severity: Severity::Warning,
        summary: "Open [NEEDS CLARIFICATION] question",
        rationale: "spec-kit allows at most 3 open questions per spec and none once the spec is approved or handed to implementing agents; answer them in `## Clarifications`.",
        check: needs_clarification,
    },
    Rule {
        id: "INC003",
        default_severity: Severity::Warning,
        summary: "Template leftover",
        rationale: "Bracketed template slots such as [FEATURE NAME], [DATE], [e.g., …], $ARGUMENTS or ACTION REQUIRED comments were never filled in.",
        check: template_leftover,
    },
];

fn incomplete_token(context: &LintContext<'_>, emitter: &mut Emitter) {
    let LintTarget::Spec(document) = context.target else {
        return;
    };
    for marker in &document.markers {
        if let MarkerKind::Incomplete { token } = &marker.kind {
            let finding = emitter.emit(marker.range.clone(), format!("incomplete: `{token}`"));
            if document.is_approved() {
                finding.severity = Severity::Error;
            }
        }
    }
}

fn needs_clarification(context: &LintContext<'_>, emitter: &mut Emitter) {
    let LintTarget::Spec(document) = context.target else {
        return;
    };
    let open: Vec<_> = document
        .markers
        .iter()
        .filter(|marker| matches!(marker.kind, MarkerKind::NeedsClarification { .. }))
        .collect();
    let spec_kit_limit = document.format == Format::SpecKit
        && document.role == FileRole::Requirements
        && open.len() > 3;
    for (position, marker) in open.iter().enumerate() {
        let MarkerKind::NeedsClarification { question } = &marker.kind else {
            continue;
        };
        let message = match question {
            Some(question) => format!("open question: {question}"),
            None => "open question needs clarification".to_string(),
        };
        let finding = emitter.emit(marker.range.clone(), message);
        if document.is_approved() {
            finding.severity = Severity::Error;
        }
        if spec_kit_limit && position == 3 {
            emitter.emit(
                marker.range.clone(),
                format!("{} open questions; spec-kit allows at most 3", open.len()),
            );
        }
    }
}

fn template_leftover(context: &LintContext<'_>, emitter: &mut Emitter) {
    let LintTarget::Spec(document) = context.target else {
        return;
    };
    for marker in &document.markers {
        if let MarkerKind::TemplatePlaceholder { text } = &marker.kind {
            emitter.emit(
                marker.range.clone(),
                format!("template placeholder `{text}` was never filled in"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::lint::Severity;
    use crate::spec::lint::test_support::{flagged, lint_files};

    #[test]
    fn markers_fire_and_code_spans_do_not() {
        let text = "# x\n## Requirements\n- **FR-001**: System MUST do [NEEDS CLARIFICATION: which?] TBD\n- **FR-002**: System MUST show [FEATURE NAME] and `TODO` in code\n";
        let found = flagged(&[("specs/001-x/spec.md", text)], "specs/001-x/spec.md");
        assert!(
            found.contains(&("INC002", "[NEEDS CLARIFICATION: which?]".to_string())),
            "{found:?}"
        );
        assert!(found.contains(&("INC001", "TBD".to_string())));
        assert!(found.contains(&("INC003", "[FEATURE NAME]".to_string())));
        assert!(!found.iter().any(|(_, text)| text == "TODO"));
    }

    #[test]
    fn approved_specs_make_markers_errors() {
        let text = "---\ndirector-spec: 1\nstatus: approved\n---\n# x\n## Purpose\nP.\n## Requirements\n### A-1: a\nX SHALL y TBD.\n";
        let severities: Vec<_> = lint_files(&[("x.md", text)], "x.md")
            .into_iter()
            .filter(|it| it.rule == "INC001")
            .map(|it| it.severity)
            .collect();
        assert_eq!(severities, [Severity::Error]);
    }

    #[test]
    fn clean_text_has_no_markers() {
        let text = "# x\n## Requirements\n- **FR-001**: System MUST log each attempt with [US1] and [P] tags.\n";
        let found = flagged(&[("specs/001-x/spec.md", text)], "specs/001-x/spec.md");
        assert!(
            !found.iter().any(|(rule, _)| rule.starts_with("INC")),
            "{found:?}"
        );
    }
}
