//! Normative keywords (RFC 2119, Kiro's `SHALL CONTINUE TO`) and EARS clause analysis
//! of a single statement: which pattern it follows and where its clauses are, for
//! hover highlighting and the EARS rules.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use crate::spec::model::Modal;
use crate::spec::statement_grammar::{ClauseKind, parse_statement};

/// The EARS pattern a statement follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EarsPattern {
    Ubiquitous,
    Event,
    State,
    Unwanted,
    Optional,
    Complex,
    /// Kiro's `WHEN … THEN … SHALL` variant of an event-driven requirement.
    KiroWhenThen,
}

/// A defect in an otherwise EARS-shaped statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EarsProblem {
    IfWithoutThen,
    MultipleTriggers,
    MissingSubject,
    ClauseOrder,
}

/// Clause spans of an EARS statement; all ranges are absolute byte ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ears {
    pub pattern: EarsPattern,
    pub where_: Option<Range<usize>>,
    pub while_: Vec<Range<usize>>,
    pub when: Option<Range<usize>>,
    pub if_: Option<Range<usize>>,
    pub subject: Option<Range<usize>>,
    pub response: Range<usize>,
    pub problems: Vec<EarsProblem>,
}

static UPPERCASE_MODAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(SHALL CONTINUE TO|SHALL NOT|SHALL|MUST NOT|MUST|SHOULD NOT|SHOULD|MAY|REQUIRED|RECOMMENDED|OPTIONAL)\b")
        .expect("static regex")
});
static LOWERCASE_MODAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(shall continue to|shall not|shall|must not|must)\b").expect("static regex")
});
/// The first normative keyword in `text`: uppercase RFC 2119 words, else lowercase
/// `shall`/`must` (normative in EARS).
pub fn find_modal(text: &str) -> Option<(Modal, Range<usize>)> {
    let found = UPPERCASE_MODAL
        .find(text)
        .or_else(|| LOWERCASE_MODAL.find(text))?;
    let modal = match found.as_str().to_ascii_uppercase().as_str() {
        "SHALL CONTINUE TO" => Modal::ShallContinueTo,
        "SHALL NOT" => Modal::ShallNot,
        "SHALL" => Modal::Shall,
        "MUST NOT" => Modal::MustNot,
        "MUST" => Modal::Must,
        "SHOULD NOT" => Modal::ShouldNot,
        "SHOULD" => Modal::Should,
        "MAY" => Modal::May,
        _ => Modal::Other,
    };
    Some((modal, found.range()))
}

/// Analyzes a statement whose text starts at byte `base` of its file. Returns `None`
/// when the statement has no EARS modal (SHALL/MUST family) at all. The clauses come
/// from the `requirements` grammar, the one editors highlight statements with.
pub fn analyze_ears(text: &str, base: usize) -> Option<Ears> {
    let parts = parse_statement(text)?;
    if !matches!(
        parts.modal,
        Modal::Shall | Modal::ShallNot | Modal::ShallContinueTo | Modal::Must | Modal::MustNot
    ) {
        return None;
    }
    let absolute = |range: &Range<usize>| base + range.start..base + range.end;
    let mut ears = Ears {
        pattern: EarsPattern::Ubiquitous,
        where_: None,
        while_: Vec::new(),
        when: None,
        if_: None,
        subject: parts.subject.as_ref().map(absolute),
        response: base + parts.modal_range.end..base + text.len(),
        problems: Vec::new(),
    };
    let mut then_terminated_when = false;
    let mut previous_rank = None;
    for clause in &parts.clauses {
        let condition = absolute(&clause.condition);
        match clause.kind {
            ClauseKind::Where => ears.where_ = Some(condition),
            ClauseKind::While => ears.while_.push(condition),
            ClauseKind::When => {
                if joins_several_triggers(&text[clause.condition.clone()]) {
                    ears.problems.push(EarsProblem::MultipleTriggers);
                }
                then_terminated_when = clause.ended_with_then;
                ears.when = Some(condition);
            }
            ClauseKind::If => {
                if !clause.ended_with_then {
                    ears.problems.push(EarsProblem::IfWithoutThen);
                }
                ears.if_ = Some(condition);
            }
        }
        let rank = clause_rank(clause.kind);
        if previous_rank.is_some_and(|previous| previous > rank) {
            ears.problems.push(EarsProblem::ClauseOrder);
        }
        previous_rank = Some(rank);
    }
    if ears.subject.is_none() {
        ears.problems.push(EarsProblem::MissingSubject);
    }
    let distinct = [
        ears.where_.is_some(),
        !ears.while_.is_empty(),
        ears.when.is_some(),
        ears.if_.is_some(),
    ]
    .into_iter()
    .filter(|present| *present)
    .count();
    ears.pattern = match distinct {
        0 => EarsPattern::Ubiquitous,
        1 if ears.when.is_some() && then_terminated_when => EarsPattern::KiroWhenThen,
        1 if ears.when.is_some() => EarsPattern::Event,
        1 if !ears.while_.is_empty() => EarsPattern::State,
        1 if ears.if_.is_some() => EarsPattern::Unwanted,
        1 => EarsPattern::Optional,
        _ => EarsPattern::Complex,
    };
    Some(ears)
}

/// EARS orders clauses WHERE → WHILE → WHEN/IF.
fn clause_rank(kind: ClauseKind) -> u8 {
    match kind {
        ClauseKind::Where => 0,
        ClauseKind::While => 1,
        ClauseKind::When | ClauseKind::If => 2,
    }
}

/// Whether a WHEN condition joins triggers with `or`. Two states of one thing
/// (`configuration is invalid or missing`) are one trigger.
fn joins_several_triggers(condition: &str) -> bool {
    let lowered = condition.to_ascii_lowercase();
    let Some((before, after)) = lowered.split_once(" or ") else {
        return false;
    };
    let states_of_one_thing = [" is ", " are ", " was ", " were "]
        .iter()
        .any(|verb| format!("{before} ").contains(verb))
        && after.split_whitespace().count() == 1;
    !states_of_one_thing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn pattern(text: &str) -> (EarsPattern, Vec<EarsProblem>) {
        let ears = analyze_ears(text, 0).expect("EARS modal");
        (ears.pattern, ears.problems)
    }

    #[test]
    fn classifies_each_pattern() {
        assert_eq!(
            pattern("THE System SHALL hash passwords").0,
            EarsPattern::Ubiquitous
        );
        assert_eq!(
            pattern("WHEN a user logs in, THE System SHALL log it").0,
            EarsPattern::Event
        );
        assert_eq!(
            pattern("WHEN a user logs in THEN the system SHALL log it").0,
            EarsPattern::KiroWhenThen
        );
        assert_eq!(
            pattern("WHILE locked, THE API SHALL reject logins").0,
            EarsPattern::State
        );
        assert_eq!(
            pattern("IF the token expired, THEN THE API SHALL respond 401").0,
            EarsPattern::Unwanted
        );
        assert_eq!(
            pattern("WHERE 2FA is enabled, THE System SHALL ask for a code").0,
            EarsPattern::Optional
        );
        assert_eq!(
            pattern("WHILE active, WHEN a request arrives, THE System SHALL extend it").0,
            EarsPattern::Complex
        );
    }

    #[test]
    fn keeps_clause_spans() {
        let text = "WHEN a session idles, THE Session service SHALL invalidate it";
        let ears = analyze_ears(text, 100).expect("test fixture");
        let when = ears.when.expect("test fixture");
        assert_eq!(&text[when.start - 100..when.end - 100], "a session idles");
        let subject = ears.subject.expect("test fixture");
        assert_eq!(
            &text[subject.start - 100..subject.end - 100],
            "THE Session service"
        );
        assert_eq!(&text[ears.response.start - 100..], " invalidate it");
    }

    #[test]
    fn reports_defects() {
        assert!(
            pattern("IF the token expired the API SHALL fail")
                .1
                .contains(&EarsProblem::IfWithoutThen)
        );
        assert!(
            pattern("WHEN a or b, THE API SHALL fail")
                .1
                .contains(&EarsProblem::MultipleTriggers)
        );
        assert!(
            !pattern("WHEN the setting is invalid or missing, THE API SHALL use defaults")
                .1
                .contains(&EarsProblem::MultipleTriggers)
        );
        assert!(
            pattern("SHALL log everything")
                .1
                .contains(&EarsProblem::MissingSubject)
        );
        assert!(
            pattern("WHEN x, WHERE y, THE API SHALL z")
                .1
                .contains(&EarsProblem::ClauseOrder)
        );
        assert!(pattern("WHERE y, WHEN x, THE API SHALL z").1.is_empty());
        assert_eq!(analyze_ears("The API should log", 0), None);
    }

    #[test]
    fn finds_modals_case_aware() {
        assert_eq!(
            find_modal("System MUST NOT leak").map(|it| it.0),
            Some(Modal::MustNot)
        );
        assert_eq!(
            find_modal("the system shall log").map(|it| it.0),
            Some(Modal::Shall)
        );
        assert_eq!(find_modal("users may log in"), None);
    }
}
