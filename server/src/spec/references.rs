//! Requirement reference expressions as tasks and design properties write them:
//! `1.1, 2.3`, `1.1–1.5`, `Requirement 2 (Error handling)`, `AUTH-003.1`.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// One reference, or text that could not be read as one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefExpr {
    Id {
        id: String,
        range: Range<usize>,
        /// Picked up from prose rather than a `_Requirements:_` list; unknown inferred
        /// IDs are dropped instead of reported as dangling.
        inferred: bool,
    },
    Unresolved {
        text: String,
        range: Range<usize>,
    },
}

static REFERENCE_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9][A-Za-z0-9._/#~@-]*$").expect("static regex"));
/// `Requirement 2`, also after prose (`Foundation for Requirements 6`).
static REQUIREMENT_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\s)(?i:requirements?)\s+(?P<n>\d+(?:\.\d+)*)$").expect("static regex")
});
/// A bare requirement number, as Kiro task lists write them (`6, 9, 15`).
static BARE_NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d+$").expect("static regex"));
/// A parenthesised title after a reference: `12.2 (Kiro CLI Execution)`.
static TRAILING_TITLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s*\([^()]*\)\s*$").expect("static regex"));
static DASH_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<a>(?P<major>\d+)\.(?P<from>\d+))\s*[–—-]\s*(?P<b>(?P<major2>\d+)\.(?P<to>\d+))$",
    )
    .expect("static regex")
});
static INLINE_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Z][A-Z0-9]*-\d+(?:\.\d+)*\b").expect("static regex"));

/// Parses a reference list whose text starts at byte `base` of its file. Lists are
/// cut at `,`, `;` and ` and `, never inside parentheses (a title such as
/// `(Build Artifacts and Logging)` is one piece with its reference).
pub fn parse_reference_list(text: &str, base: usize) -> Vec<RefExpr> {
    let mut references = Vec::new();
    let mut piece_start = 0;
    let separators = text
        .match_indices([',', ';'])
        .map(|(index, separator)| (index, separator.len()));
    let and_separators = text
        .match_indices(" and ")
        .map(|(index, separator)| (index, separator.len()));
    let mut cuts: Vec<(usize, usize)> = separators
        .chain(and_separators)
        .filter(|(index, _)| parenthesis_depth(&text[..*index]) == 0)
        .collect();
    cuts.sort_unstable();
    cuts.push((text.len(), 0));
    for (cut, separator_length) in cuts {
        if cut < piece_start {
            continue;
        }
        let piece = &text[piece_start..cut];
        let leading = piece.len() - piece.trim_start().len();
        let trimmed = piece.trim();
        let range = base + piece_start + leading..base + piece_start + leading + trimmed.len();
        piece_start = cut + separator_length;
        if trimmed.is_empty() {
            continue;
        }
        references.extend(parse_one_reference(trimmed, range));
    }
    references
}

/// ID-shaped words (`FR-001`, `AUTH-003.1`) in free text, as inferred references.
pub fn inline_references(text: &str, base: usize) -> Vec<RefExpr> {
    INLINE_ID
        .find_iter(text)
        .map(|found| RefExpr::Id {
            id: found.as_str().to_string(),
            range: base + found.start()..base + found.end(),
            inferred: true,
        })
        .collect()
}

/// How many parentheses are open at the end of `text`.
fn parenthesis_depth(text: &str) -> usize {
    text.chars()
        .fold(0usize, |depth, character| match character {
            '(' => depth + 1,
            ')' => depth.saturating_sub(1),
            _ => depth,
        })
}

fn parse_one_reference(piece: &str, range: Range<usize>) -> Vec<RefExpr> {
    let identifier = |id: String| RefExpr::Id {
        id,
        range: range.clone(),
        inferred: false,
    };
    let piece = piece.trim_matches(|character| matches!(character, '`' | '*' | '_' | '.'));
    let piece = match TRAILING_TITLE.find(piece) {
        Some(title) if title.start() > 0 => &piece[..title.start()],
        _ => piece,
    };
    let piece = piece.trim_matches(|character| matches!(character, '`' | '*' | '_' | '.'));
    if BARE_NUMBER.is_match(piece) {
        return vec![identifier(format!("Requirement {piece}"))];
    }
    if let Some(captures) = REQUIREMENT_WORD.captures(piece) {
        let number = &captures["n"];
        return vec![identifier(if number.contains('.') {
            number.to_string()
        } else {
            format!("Requirement {number}")
        })];
    }
    let piece = piece.strip_prefix("Requirements ").unwrap_or(piece);
    if let Some(captures) = DASH_RANGE.captures(piece) {
        let from: u32 = captures["from"].parse().unwrap_or(0);
        let to: u32 = captures["to"].parse().unwrap_or(0);
        if captures["major"] == captures["major2"] && from <= to && to - from < 100 {
            let major = &captures["major"];
            return (from..=to)
                .map(|minor| identifier(format!("{major}.{minor}")))
                .collect();
        }
        return vec![
            identifier(captures["a"].to_string()),
            identifier(captures["b"].to_string()),
        ];
    }
    // A plain word (`All`, `Documentation`) names nothing; only ID-shaped tokens,
    // which carry a number, are references.
    if REFERENCE_TOKEN.is_match(piece)
        && piece.contains(|character: char| character.is_ascii_digit())
    {
        return vec![identifier(piece.to_string())];
    }
    vec![RefExpr::Unresolved {
        text: piece.to_string(),
        range,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<String> {
        parse_reference_list(text, 0)
            .into_iter()
            .map(|reference| match reference {
                RefExpr::Id { id, .. } => id,
                RefExpr::Unresolved { text, .. } => format!("?{text}"),
            })
            .collect()
    }

    #[test]
    fn reads_lists_ranges_and_prose() {
        assert_eq!(
            ids("1.1, 2.3; AUTH-003.1 and FR-001"),
            ["1.1", "2.3", "AUTH-003.1", "FR-001"]
        );
        assert_eq!(ids("1.1–1.3"), ["1.1", "1.2", "1.3"]);
        assert_eq!(
            ids("Requirement 2 (Comprehensive Error Handling)"),
            ["Requirement 2"]
        );
        assert_eq!(ids("Requirements 2.1"), ["2.1"]);
        assert_eq!(
            ids("All requirements need setup"),
            ["?All requirements need setup"]
        );
    }

    #[test]
    fn titles_bare_numbers_and_plain_words() {
        assert_eq!(
            ids("Foundation for Requirements 6, 9, 15"),
            ["Requirement 6", "Requirement 9", "Requirement 15"]
        );
        assert_eq!(
            ids("12.2 (Kiro CLI Execution), Requirement 9.2 (Build Artifacts and Logging)"),
            ["12.2", "9.2"]
        );
        assert_eq!(ids("Documentation"), ["?Documentation"]);
        assert_eq!(ids("All"), ["?All"]);
    }

    #[test]
    fn ranges_point_at_each_piece() {
        let text = "1.1, AUTH-2";
        let references = parse_reference_list(text, 10);
        let RefExpr::Id { range, .. } = &references[1] else {
            panic!()
        };
        assert_eq!(&text[range.start - 10..range.end - 10], "AUTH-2");
    }
}
