//! Checking an agent's proposed whole-file text for syntax errors it added,
//! without blaming it for errors the file already had.

use std::collections::HashMap;
use std::time::Duration;

use similar::{DiffOp, TextDiff};

use crate::syntax::errors::syntax_errors_of;
use crate::syntax::tree::parse_str;
use crate::syntax::{Language, ParseFailure, SyntaxError};

/// Line matching between the two texts gives up after this long and treats
/// the rest as changed, which can only blame more errors, never hide one.
const LINE_DIFF_TIME_LIMIT: Duration = Duration::from_secs(1);

/// What a proposed text does to the file's syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationReport {
    /// Errors in the proposed text that the original did not have, with
    /// ranges in the proposed text. Empty means the proposal is acceptable.
    pub introduced_errors: Vec<SyntaxError>,
    /// Set when a text could not be parsed (too large, too slow), so nothing
    /// was checked.
    pub skipped: Option<ParseFailure>,
}

/// Compares the syntax errors of a proposed whole-file text with those of
/// the original. An error counts as pre-existing when the original has one
/// with the same message on the matching unchanged line, at the end of both
/// texts, or on a line with the same content (a moved or re-indented line).
pub fn validate_replacement(
    language: Language,
    original_text: &str,
    proposed_text: &str,
) -> ValidationReport {
    let trees = parse_str(language, original_text).and_then(|original| {
        parse_str(language, proposed_text).map(|proposed| (original, proposed))
    });
    let (original_tree, proposed_tree) = match trees {
        Ok(trees) => trees,
        Err(failure) => {
            return ValidationReport {
                introduced_errors: Vec::new(),
                skipped: Some(failure),
            };
        }
    };
    let proposed_errors = syntax_errors_of(proposed_tree.root_node());
    if proposed_errors.is_empty() {
        return ValidationReport {
            introduced_errors: Vec::new(),
            skipped: None,
        };
    }
    let original_errors = syntax_errors_of(original_tree.root_node());
    ValidationReport {
        introduced_errors: introduced_errors(
            original_text,
            &original_errors,
            proposed_text,
            proposed_errors,
        ),
        skipped: None,
    }
}

/// An error reduced to what survives moving it: where it is, by line, and
/// what it says.
struct LocatedError<'text> {
    line: usize,
    line_text: &'text str,
    at_end: bool,
    message: String,
}

fn locate<'text>(
    text: &'text str,
    line_starts: &[usize],
    error: &SyntaxError,
) -> LocatedError<'text> {
    let line = line_starts
        .partition_point(|&start| start <= error.range.start)
        .saturating_sub(1);
    let line_start = line_starts.get(line).copied().unwrap_or(0);
    let line_end = line_starts.get(line + 1).copied().unwrap_or(text.len());
    LocatedError {
        line,
        line_text: text.get(line_start..line_end).unwrap_or_default().trim(),
        at_end: error.range.start >= text.len(),
        message: error.message.clone(),
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(offset, _)| offset + 1))
        .collect()
}

fn introduced_errors(
    original_text: &str,
    original_errors: &[SyntaxError],
    proposed_text: &str,
    proposed_errors: Vec<SyntaxError>,
) -> Vec<SyntaxError> {
    let original_line_starts = line_starts(original_text);
    let proposed_line_starts = line_starts(proposed_text);
    let mut unmatched_original: Vec<Option<LocatedError<'_>>> = original_errors
        .iter()
        .map(|error| Some(locate(original_text, &original_line_starts, error)))
        .collect();
    let original_line_of_proposed = unchanged_lines(original_text, proposed_text);

    let mut take_original = |matches: &dyn Fn(&LocatedError<'_>) -> bool| {
        let slot = unmatched_original
            .iter_mut()
            .find(|slot| slot.as_ref().is_some_and(matches));
        slot.map(Option::take).is_some()
    };
    let mut still_unmatched = Vec::new();
    for error in proposed_errors {
        let located = locate(proposed_text, &proposed_line_starts, &error);
        let original_line = original_line_of_proposed.get(&located.line).copied();
        let pre_existing = take_original(&|original| {
            original.message == located.message
                && ((located.at_end && original.at_end) || original_line == Some(original.line))
        });
        if !pre_existing {
            still_unmatched.push((error, located));
        }
    }
    // Second chance for lines the agent moved or re-indented.
    still_unmatched
        .into_iter()
        .filter(|(_, located)| {
            !take_original(&|original| {
                original.message == located.message
                    && !located.line_text.is_empty()
                    && original.line_text == located.line_text
            })
        })
        .map(|(error, _)| error)
        .collect()
}

/// For each line of `proposed` that the diff keeps unchanged, its line number
/// in `original`.
fn unchanged_lines(original: &str, proposed: &str) -> HashMap<usize, usize> {
    let diff = TextDiff::configure()
        .timeout(LINE_DIFF_TIME_LIMIT)
        .diff_lines(original, proposed);
    let mut lines = HashMap::new();
    for operation in diff.ops() {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = *operation
        {
            for offset in 0..len {
                lines.insert(new_index + offset, old_index + offset);
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::test_fixture;

    /// The text and message of each error the proposal introduces.
    fn introduced(language: Language, original: &str, proposed: &str) -> Vec<(String, String)> {
        let report = validate_replacement(language, original, proposed);
        assert_eq!(report.skipped, None);
        report
            .introduced_errors
            .into_iter()
            .map(|error| (proposed[error.range].to_owned(), error.message))
            .collect()
    }

    /// For each language: a clean edit passes, a broken edit is caught, and
    /// a file that was already broken elsewhere only counts the new error.
    #[track_caller]
    fn check(
        language: Language,
        source: &str,
        clean_edit: (&str, &str),
        breaking_edit: (&str, &str),
        pre_existing_break: (&str, &str),
    ) {
        let edited = |text: &str, (old, new): (&str, &str)| {
            assert!(text.contains(old), "{old:?} not in sample");
            text.replacen(old, new, 1)
        };
        assert_eq!(
            introduced(language, source, &edited(source, clean_edit)),
            Vec::new()
        );
        assert_ne!(
            introduced(language, source, &edited(source, breaking_edit)),
            Vec::new()
        );

        let already_broken = edited(source, pre_existing_break);
        assert!(
            !validate_errors(language, &already_broken).is_empty(),
            "the pre-existing break is an error"
        );
        assert_eq!(
            introduced(
                language,
                &already_broken,
                &edited(&already_broken, clean_edit)
            ),
            Vec::new()
        );
        assert_ne!(
            introduced(
                language,
                &already_broken,
                &edited(&already_broken, breaking_edit)
            ),
            Vec::new()
        );
    }

    fn validate_errors(language: Language, text: &str) -> Vec<SyntaxError> {
        syntax_errors_of(parse_str(language, text).expect("parses").root_node())
    }

    #[test]
    fn rust() {
        check(
            Language::Rust,
            test_fixture::RUST,
            (
                "build(tokens)",
                "let ast = build(tokens)?;\n        Ok(ast)",
            ),
            ("self.input.len()", "self.input.len("),
            (
                "assert!(Parser::parse(\"\").is_ok());",
                "assert!(Parser::parse(\"\").is_ok();",
            ),
        );
    }

    #[test]
    fn python() {
        check(
            Language::Python,
            test_fixture::PYTHON,
            (
                "return data",
                "if not data:\n            raise ValueError(path)\n        return data",
            ),
            ("return Loader()", "return Loader("),
            ("Loader().load(\"x\")", "Loader().load(\"x\"))"),
        );
    }

    #[test]
    fn typescript() {
        check(
            Language::TypeScript,
            test_fixture::TYPESCRIPT,
            ("this.port = 0;", "this.port = 0;\n    this.stopped = true;"),
            ("await this.listen(ctx);", "await this.listen(ctx;"),
            (
                "run(ctx: Context): Promise<void>;",
                "run(ctx: Context): Promise<void>;;)",
            ),
        );
    }

    #[test]
    fn tsx() {
        check(
            Language::Tsx,
            test_fixture::TSX,
            ("Hello {name}", "Hello, <b>{name}</b>"),
            (
                "return <Greeting name=\"x\" />;",
                "return <Greeting name=\"x\" >;",
            ),
            (
                "type Props = { name: string };",
                "type Props = { name: string }};",
            ),
        );
    }

    #[test]
    fn javascript() {
        check(
            Language::JavaScript,
            test_fixture::JAVASCRIPT,
            (
                "this.items.push(item);",
                "this.items.push(item);\n    return this;",
            ),
            ("this.items = [];", "this.items = [;"),
            ("const fs = require(\"fs\");", "const fs = require(\"fs\";"),
        );
    }

    #[test]
    fn go() {
        check(
            Language::Go,
            test_fixture::GO,
            (
                "println(\"hi\")",
                "if len(os.Args) > 1 {\n\t\tprintln(os.Args[1])\n\t}",
            ),
            ("return s.listen(ctx)", "return s.listen(ctx"),
            ("port int", "port int int ]"),
        );
    }

    #[test]
    fn a_re_indented_pre_existing_error_is_not_blamed() {
        let original = "def f():\n    x = (1,\n\ndef g():\n    pass\n";
        let proposed = "class C:\n    def f():\n        x = (1,\n\n    def g():\n        pass\n";
        let errors_before = validate_errors(Language::Python, original);
        assert!(!errors_before.is_empty());
        assert_eq!(introduced(Language::Python, original, proposed), Vec::new());
    }

    #[test]
    fn unparseable_texts_are_reported_as_skipped() {
        let huge = " ".repeat(crate::syntax::MAX_PARSE_BYTES + 1);
        let report = validate_replacement(Language::Go, "package main\n", &huge);
        assert_eq!(
            report.skipped,
            Some(ParseFailure::TooLarge { bytes: huge.len() })
        );
        assert!(report.introduced_errors.is_empty());
    }
}
