//! Clarity and ambiguity rules (SPEC-FORMATS §2.3): lexical checks on normative
//! statements (sentences with a modal, criteria and scenario steps), each with a
//! default word list drawn from INCOSE, NASA ARM, QuARS and ISO/IEC/IEEE 29148.

use std::sync::LazyLock;

use regex::Regex;

use crate::spec::lint::{Emitter, LintContext, LintTarget, Rule, Severity};
use crate::spec::model::{RequirementKind, Statement, StatementPlace};

pub static RULES: &[Rule] = &[
    Rule {
        id: "AMB001",
        default_severity: Severity::Warning,
        summary: "Vague quantifier",
        rationale: "Words like some, several, many or approximately leave the amount to the reader (INCOSE R7). State the number.",
        check: vague_quantifier,
    },
    Rule {
        id: "AMB002",
        default_severity: Severity::Warning,
        summary: "Vague or subjective adjective",
        rationale: "Words like adequate, robust, easy or user-friendly cannot be tested (INCOSE R7, ISO 29148 subjective language). Say what observable property is meant.",
        check: vague_adjective,
    },
    Rule {
        id: "AMB003",
        default_severity: Severity::Warning,
        summary: "Escape clause",
        rationale: "Phrases like as appropriate, if possible or where necessary let an implementation skip the requirement (INCOSE R8, ISO 29148 loopholes).",
        check: escape_clause,
    },
    Rule {
        id: "AMB004",
        default_severity: Severity::Warning,
        summary: "Open-ended clause",
        rationale: "Including but not limited to, etc. and such as make the requirement's scope unbounded (INCOSE R9). List every case.",
        check: open_ended_clause,
    },
    Rule {
        id: "AMB009",
        default_severity: Severity::Warning,
        summary: "Weak modal in normative text",
        rationale: "may, might, can, could, will, usually or should beside SHALL make it unclear whether the behaviour is required (RFC 2119, NASA ARM options).",
        check: weak_modal,
    },
    Rule {
        id: "AMB011",
        default_severity: Severity::Warning,
        summary: "Indefinite time",
        rationale: "Soon, immediately, promptly or periodically need a number and a unit to be testable (INCOSE R35).",
        check: indefinite_time,
    },
    Rule {
        id: "AMB015",
        default_severity: Severity::Warning,
        summary: "Unmeasured quality attribute",
        rationale: "Fast, scalable, secure, reliable or responsive without a number and unit cannot be verified (spec-kit analyze, INCOSE R34). State the measure, e.g. `within 200 ms`.",
        check: unmeasured_quality,
    },
];

fn lexicon(words: &[&str]) -> Regex {
    let alternatives: Vec<String> = words
        .iter()
        .map(|word| regex::escape(word).replace(' ', r"\s+"))
        .collect();
    Regex::new(&format!(r"(?i)\b(?:{})\b", alternatives.join("|"))).expect("static lexicon")
}

static VAGUE_QUANTIFIERS: LazyLock<Regex> = LazyLock::new(|| {
    lexicon(&[
        "a lot of",
        "a few",
        "almost always",
        "very nearly",
        "close to",
        "approximately",
        "several",
        "many",
        "numerous",
        "various",
        "diverse",
        "most",
        "nearly",
        "about",
        "almost",
        "some",
    ])
});
static QUALITY_WORDS: &[&str] = &[
    "fast",
    "scalable",
    "performant",
    "secure",
    "reliable",
    "responsive",
    "efficient",
];
static VAGUE_ADJECTIVES: LazyLock<Regex> = LazyLock::new(|| {
    lexicon(&[
        "adequate",
        "appropriate",
        "sufficient",
        "reasonable",
        "effective",
        "flexible",
        "robust",
        "quick",
        "quickly",
        "slow",
        "easy",
        "easily",
        "simple",
        "intuitive",
        "user-friendly",
        "seamless",
        "transparent",
        "graceful",
        "significant",
        "minimal",
        "typical",
        "relevant",
        "common",
        "generic",
        "proficient",
        "customary",
        "good",
        "bad",
        "clear",
        "useful",
        "modern",
        "clean",
        "high-quality",
    ])
});
static ESCAPE_CLAUSES: LazyLock<Regex> = LazyLock::new(|| {
    lexicon(&[
        "as appropriate",
        "as applicable",
        "as required",
        "as necessary",
        "if necessary",
        "if needed",
        "if possible",
        "where possible",
        "as far as possible",
        "as much as possible",
        "so far as is possible",
        "to the extent practical",
        "to the extent possible",
        "to the extent necessary",
        "if practical",
        "if practicable",
        "when necessary",
        "where appropriate",
    ])
});
static OPEN_ENDED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bincluding but not limited to\b|\bbut not limited to\b|\betc\.|\band so on\b|\band so forth\b|\bsuch as\b|\bamong others\b")
        .expect("static regex")
});
static WEAK_MODALS: LazyLock<Regex> = LazyLock::new(|| {
    lexicon(&[
        "may",
        "might",
        "can",
        "could",
        "should",
        "will",
        "optionally",
        "possibly",
        "ideally",
        "usually",
    ])
});
static INDEFINITE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    lexicon(&[
        "eventually",
        "soon",
        "immediately",
        "instantly",
        "in real time",
        "timely",
        "promptly",
        "periodically",
        "regularly",
        "simultaneously",
    ])
});
static NUMBER_WITH_UNIT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d+(?:\.\d+)?\s*(?:%|[A-Za-zµ]+)").expect("static regex"));
static STRONG_MODAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:SHALL|MUST)\b").expect("static regex"));

/// Normative statements of the file, skipping user stories and defect descriptions.
fn statements<'a>(context: &'a LintContext<'_>) -> Vec<&'a Statement> {
    let LintTarget::Spec(document) = context.target else {
        return Vec::new();
    };
    document
        .normative_statements()
        .filter(|(requirement, _, _)| {
            !matches!(
                requirement.kind,
                RequirementKind::Story | RequirementKind::Defect
            )
        })
        .map(|(_, statement, _)| statement)
        .collect()
}

/// Whether a match is not the writer's own wording: inside `inline code` or a
/// "quoted" string (an identifier, a UI label such as "coming soon"), or one part
/// of a compound (`quick-reference`, `most-recently-modified`, `mobile/responsive`).
fn is_quoted_or_compound(text: &str, found: &regex::Match<'_>) -> bool {
    let before = &text[..found.start()];
    let inside = |quote: char| before.matches(quote).count() % 2 == 1;
    let next = text[found.end()..].chars().next();
    let previous = before.chars().next_back();
    inside('`') || inside('"') || matches!(next, Some('-' | '/')) || previous == Some('/')
}

/// The writer's own wording that `pattern` matches in a statement.
fn own_words<'t>(text: &'t str, pattern: &'t Regex) -> impl Iterator<Item = regex::Match<'t>> {
    pattern
        .find_iter(text)
        .filter(move |found| !is_quoted_or_compound(text, found))
}

/// The words of a statement before `offset`, back to the start of its clause.
fn clause_before(text: &str, offset: usize) -> &str {
    let before = &text[..offset];
    let start = before
        .char_indices()
        .rev()
        .find(|(_, character)| [',', ';', ':', '.', '(', '—'].contains(character))
        .map_or(0, |(position, character)| position + character.len_utf8());
    &before[start..]
}

/// Whether a vague word is made precise right after it (`an appropriate exit
/// code: 0 …`, `a clear message indicating what is missing`, `specifically …`).
fn defined_right_after(text: &str, end: usize) -> bool {
    let after = &text[end..];
    let clause = after.split(['.', ',', ';']).next().unwrap_or(after);
    let near: String = clause.chars().take(48).collect();
    [":", "specifically", "e.g.", "i.e.", " like ", "indicating"]
        .iter()
        .any(|marker| near.contains(marker))
}

fn report_matches(
    context: &LintContext<'_>,
    emitter: &mut Emitter,
    pattern: &Regex,
    message: impl Fn(&str) -> String,
) {
    for statement in statements(context) {
        for found in own_words(&statement.text, pattern) {
            let range = statement.range.start + found.start()..statement.range.start + found.end();
            emitter.emit(range, message(found.as_str()));
        }
    }
}

fn vague_quantifier(context: &LintContext<'_>, emitter: &mut Emitter) {
    static CONDITION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:[-*+]\s+)?(?:\*\*)?(?i:when|given|if|and|while)\b").expect("static regex")
    });
    for statement in statements(context) {
        let text = statement.text.as_str();
        for found in own_words(text, &VAGUE_QUANTIFIERS) {
            let word = found.as_str().to_ascii_lowercase();
            let before = text[..found.start()].to_ascii_lowercase();
            let after = text[found.end()..].trim_start();
            // "at most 10" and "at least" are bounds, not vague amounts; "about"
            // only blurs a number ("about 5 s"), elsewhere it means "concerning";
            // "some" in a condition is "at least one" (`WHEN some tasks are open`).
            let precise = (word == "most" && before.trim_end().ends_with(" at"))
                || (word == "about" && !after.starts_with(|c: char| c.is_ascii_digit()))
                || (word == "some" && CONDITION.is_match(text));
            if precise {
                continue;
            }
            let range = statement.range.start + found.start()..statement.range.start + found.end();
            emitter.emit(
                range,
                format!("vague quantifier `{}`; state the number", found.as_str()),
            );
        }
    }
}

fn vague_adjective(context: &LintContext<'_>, emitter: &mut Emitter) {
    static TERM: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?i:\s+(?:up\b|scope|value|config|configuration|settings?\b))")
            .expect("static regex")
    });
    for statement in statements(context) {
        let text = statement.text.as_str();
        for found in own_words(text, &VAGUE_ADJECTIVES) {
            let word = found.as_str();
            let after = &text[found.end()..];
            // `the relevant stage` points at one thing; `clean up` and an
            // `effective scope` are terms; `a common \`Trait\`` names its meaning.
            let lowered_before = text[..found.start()].to_ascii_lowercase();
            let clause_after = after.split([',', '.', ';']).next().unwrap_or(after);
            // "the minimal providers required for X" is exactly what X needs.
            let referential = (word.eq_ignore_ascii_case("relevant")
                && lowered_before.ends_with("the "))
                || (word.eq_ignore_ascii_case("minimal")
                    && [" required", " needed", " necessary"]
                        .iter()
                        .any(|bound| clause_after.contains(bound)));
            if referential
                || TERM.is_match(after)
                || after.trim_start().starts_with('`')
                || defined_right_after(text, found.end())
            {
                continue;
            }
            let range = statement.range.start + found.start()..statement.range.start + found.end();
            emitter.emit(
                range,
                format!("vague adjective `{word}`; say what observable property is meant"),
            );
        }
    }
}

fn escape_clause(context: &LintContext<'_>, emitter: &mut Emitter) {
    report_matches(context, emitter, &ESCAPE_CLAUSES, |phrase| {
        format!("escape clause `{phrase}` lets the requirement be skipped")
    });
}

fn open_ended_clause(context: &LintContext<'_>, emitter: &mut Emitter) {
    report_matches(context, emitter, &OPEN_ENDED, |phrase| {
        format!("open-ended `{phrase}`; list every case")
    });
}

fn weak_modal(context: &LintContext<'_>, emitter: &mut Emitter) {
    static SUBORDINATE: LazyLock<Regex> = LazyLock::new(|| {
        lexicon(&[
            "before", "after", "until", "so", "that", "which", "what", "because", "if", "unless",
            "when", "whenever", "where", "while", "once", "whether", "how",
        ])
    });
    let LintTarget::Spec(document) = context.target else {
        return;
    };
    // Scenario steps describe what happens; only requirements and criteria
    // state what must.
    let normative = document
        .normative_statements()
        .filter(|(requirement, _, place)| {
            *place != StatementPlace::ScenarioStep
                && !matches!(
                    requirement.kind,
                    RequirementKind::Story | RequirementKind::Defect
                )
        });
    for (_, statement, _) in normative {
        let text = statement.text.as_str();
        let has_strong_modal = STRONG_MODAL.is_match(text);
        for found in own_words(text, &WEAK_MODALS) {
            let word = found.as_str();
            let lowered = word.to_ascii_lowercase();
            // Uppercase MAY/SHOULD alone are RFC 2119 keywords; "should" is only weak
            // beside SHALL/MUST. A modal inside a subordinate clause ("before the
            // tasks may begin", "so that users can list") describes, not requires.
            if (!has_strong_modal && (lowered == "should" || word == "MAY"))
                || SUBORDINATE.is_match(clause_before(text, found.start()))
            {
                continue;
            }
            let range = statement.range.start + found.start()..statement.range.start + found.end();
            emitter.emit(
                range,
                format!(
                    "weak modal `{word}` in a normative statement; use SHALL or MUST, or drop it"
                ),
            );
        }
    }
}

fn indefinite_time(context: &LintContext<'_>, emitter: &mut Emitter) {
    for statement in statements(context) {
        if NUMBER_WITH_UNIT.is_match(&statement.text) {
            continue;
        }
        for found in own_words(&statement.text, &INDEFINITE_TIME) {
            // "immediately after the header" is a position, not a time.
            let after = statement.text[found.end()..]
                .trim_start()
                .to_ascii_lowercase();
            if ["after", "before", "below", "above", "following"]
                .iter()
                .any(|word| after.starts_with(word))
            {
                continue;
            }
            let range = statement.range.start + found.start()..statement.range.start + found.end();
            emitter.emit(
                range,
                format!(
                    "indefinite time `{}`; give a number and unit",
                    found.as_str()
                ),
            );
        }
    }
}

fn unmeasured_quality(context: &LintContext<'_>, emitter: &mut Emitter) {
    static QUALITY: LazyLock<Regex> = LazyLock::new(|| lexicon(QUALITY_WORDS));
    for statement in statements(context) {
        if NUMBER_WITH_UNIT.is_match(&statement.text) {
            continue;
        }
        for found in own_words(&statement.text, &QUALITY) {
            // "an index for efficient lookup" gives a reason, not a quality goal.
            if statement.text[..found.start()]
                .to_ascii_lowercase()
                .ends_with("for ")
            {
                continue;
            }
            let range = statement.range.start + found.start()..statement.range.start + found.end();
            emitter.emit(
                range,
                format!(
                    "`{}` has no measure; state a number and unit",
                    found.as_str()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::lint::test_support::flagged;

    fn spec(statement: &str) -> String {
        format!(
            "---\ndirector-spec: 1\n---\n# x\n## Purpose\nP.\n## Requirements\n### A-1: a\n{statement}\n#### Scenario: s\n- WHEN a\n- THEN b\n"
        )
    }

    #[track_caller]
    fn check(statement: &str, expected: &[(&str, &str)]) {
        let text = spec(statement);
        let found: Vec<_> = flagged(&[("x.md", &text)], "x.md")
            .into_iter()
            .filter(|(rule, _)| rule.starts_with("AMB"))
            .collect();
        let expected: Vec<_> = expected
            .iter()
            .map(|(rule, word)| (*rule, word.to_string()))
            .collect();
        assert_eq!(found, expected, "{statement}");
    }

    #[test]
    fn each_ambiguity_rule_fires() {
        check(
            "THE System SHALL retry several times.",
            &[("AMB001", "several")],
        );
        check(
            "THE System SHALL show a user-friendly error.",
            &[("AMB002", "user-friendly")],
        );
        check(
            "THE System SHALL retry if possible.",
            &[("AMB003", "if possible")],
        );
        check(
            "THE System SHALL log fields such as IP.",
            &[("AMB004", "such as")],
        );
        check("THE System SHALL log and may email.", &[("AMB009", "may")]);
        check(
            "THE System SHALL lock the account immediately.",
            &[("AMB011", "immediately")],
        );
        check("THE API SHALL be fast.", &[("AMB015", "fast")]);
    }

    #[test]
    fn clause_boundaries_may_be_wide_characters() {
        check(
            "THE API SHALL retry — callers can wait.",
            &[("AMB009", "can")],
        );
        check("THE API SHALL retry — so callers can wait.", &[]);
    }

    #[test]
    fn measured_and_precise_statements_pass() {
        check(
            "THE API SHALL respond within 200 ms after each request.",
            &[],
        );
        check(
            "THE System SHALL hash passwords with bcrypt at cost factor 12.",
            &[],
        );
        check("THE API SHALL accept at most 10 requests per minute.", &[]);
        check("Users SHOULD enable two-factor authentication.", &[]);
        check("THE API SHALL be fast, answering within 50 ms.", &[]);
        check("Some prose without a modal is not normative.", &[]);
    }
}
