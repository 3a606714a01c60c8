//! Normative keywords (RFC 2119, Kiro's `SHALL CONTINUE TO`) and EARS clause analysis
//! of a single statement: which pattern it follows and where its clauses are, for
//! hover highlighting and the EARS rules.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use crate::spec::model::Modal;

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
static EARS_MODAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(shall continue to|shall not|shall|must not|must)\b").expect("static regex")
});
static CLAUSE_KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:\*\*)?(where|while|when|if)(?:\*\*)?\b").expect("static regex")
});
static THEN_KEYWORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?:,\s*)?\b(?:\*\*)?then(?:\*\*)?\b").expect("static regex"));

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
/// when the statement has no EARS modal (SHALL/MUST family) at all.
pub fn analyze_ears(text: &str, base: usize) -> Option<Ears> {
    let modal = EARS_MODAL.find(text)?;
    let prefix = &text[..modal.start()];
    let mut problems = Vec::new();
    let mut ears = Ears {
        pattern: EarsPattern::Ubiquitous,
        where_: None,
        while_: Vec::new(),
        when: None,
        if_: None,
        subject: None,
        response: base + modal.end()..base + text.len(),
        problems: Vec::new(),
    };
    let mut kinds: Vec<&'static str> = Vec::new();
    let mut then_terminated_when = false;
    let mut position = skip_whitespace(prefix, 0);
    while let Some(keyword) = CLAUSE_KEYWORD.captures(&prefix[position..]) {
        let keyword_text = keyword[1].to_ascii_lowercase();
        let condition_start = position + keyword.get(0).map_or(0, |it| it.end());
        let rest = &prefix[condition_start..];
        let then = THEN_KEYWORD.find(rest);
        let comma = find_clause_comma(rest);
        let (condition_end, next_position, ended_with_then) = match (comma, then) {
            (Some(comma), Some(then)) if then.start() <= comma => (
                condition_start + then.start(),
                condition_start + then.end(),
                true,
            ),
            (Some(comma), _) => {
                let after_comma = condition_start + comma + 1;
                match THEN_KEYWORD.find(&prefix[after_comma..]) {
                    Some(then)
                        if prefix[after_comma..after_comma + then.start()]
                            .trim()
                            .is_empty() =>
                    {
                        (condition_start + comma, after_comma + then.end(), true)
                    }
                    _ => (condition_start + comma, after_comma, false),
                }
            }
            (None, Some(then)) => (
                condition_start + then.start(),
                condition_start + then.end(),
                true,
            ),
            (None, None) => (prefix.len(), prefix.len(), false),
        };
        let raw_condition = &prefix[condition_start..condition_end];
        let condition_text = raw_condition.trim();
        let trimmed_start =
            condition_start + (raw_condition.len() - raw_condition.trim_start().len());
        let condition = base + trimmed_start..base + trimmed_start + condition_text.len();
        match keyword_text.as_str() {
            "where" => ears.where_ = Some(condition),
            "while" => ears.while_.push(condition),
            "when" => {
                if condition_text.to_ascii_lowercase().contains(" or ") {
                    problems.push(EarsProblem::MultipleTriggers);
                }
                then_terminated_when = ended_with_then;
                ears.when = Some(condition);
            }
            _ => {
                if !ended_with_then {
                    problems.push(EarsProblem::IfWithoutThen);
                }
                ears.if_ = Some(condition);
            }
        }
        let kind = if keyword_text == "if" {
            "when"
        } else {
            clause_rank_name(&keyword_text)
        };
        if kinds
            .last()
            .is_some_and(|previous| clause_rank(previous) > clause_rank(kind))
        {
            problems.push(EarsProblem::ClauseOrder);
        }
        kinds.push(kind);
        position = skip_whitespace(prefix, next_position);
    }
    let subject_text = prefix[position..].trim();
    if subject_text.is_empty() {
        problems.push(EarsProblem::MissingSubject);
    } else {
        let subject_start =
            position + (prefix[position..].len() - prefix[position..].trim_start().len());
        ears.subject = Some(base + subject_start..base + subject_start + subject_text.len());
    }
    let has = |keyword: &str| ears_has_clause(&ears, keyword);
    let distinct = ["where", "while", "when", "if"]
        .iter()
        .filter(|keyword| has(keyword))
        .count();
    ears.pattern = match distinct {
        0 => EarsPattern::Ubiquitous,
        1 if has("when") && then_terminated_when => EarsPattern::KiroWhenThen,
        1 if has("when") => EarsPattern::Event,
        1 if has("while") => EarsPattern::State,
        1 if has("if") => EarsPattern::Unwanted,
        1 => EarsPattern::Optional,
        _ => EarsPattern::Complex,
    };
    ears.problems = problems;
    Some(ears)
}

fn ears_has_clause(ears: &Ears, keyword: &str) -> bool {
    match keyword {
        "where" => ears.where_.is_some(),
        "while" => !ears.while_.is_empty(),
        "when" => ears.when.is_some(),
        _ => ears.if_.is_some(),
    }
}

fn clause_rank_name(keyword: &str) -> &'static str {
    match keyword {
        "where" => "where",
        "while" => "while",
        _ => "when",
    }
}

/// EARS orders clauses WHERE → WHILE → WHEN/IF.
fn clause_rank(kind: &str) -> u8 {
    match kind {
        "where" => 0,
        "while" => 1,
        _ => 2,
    }
}

/// The comma that ends a clause: the first one followed by another clause keyword,
/// THEN, or the subject (anything); commas inside parentheses do not count.
fn find_clause_comma(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (index, character) in text.char_indices() {
        match character {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => return Some(index),
            _ => {}
        }
    }
    None
}

fn skip_whitespace(text: &str, position: usize) -> usize {
    let position = position.min(text.len());
    position + (text[position..].len() - text[position..].trim_start().len())
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
