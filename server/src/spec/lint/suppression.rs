//! Inline suppression. SPEC-FORMATS does not define a syntax, so Director uses a
//! comment that works in Markdown and in code:
//! `<!-- director-disable AMB002, AMB011 -->` (or `// director-disable TRC005`)
//! silences the listed rules on the next line; `director-disable-file RULE…` silences
//! them in the whole file. With no rule listed, every rule is silenced.

use std::sync::LazyLock;

use regex::Regex;

static DISABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"director-disable(?P<file>-file)?(?P<rules>(?:[ \t,]+[A-Z]+[0-9]+)*)")
        .expect("static regex")
});

/// Parsed suppression comments of one file.
#[derive(Debug, Default)]
pub struct Suppressions {
    /// (rules, None for the whole file or the byte range of the suppressed line).
    entries: Vec<(Vec<String>, Option<std::ops::Range<usize>>)>,
}

impl Suppressions {
    pub fn parse(text: &str) -> Suppressions {
        let mut suppressions = Suppressions::default();
        if memchr::memmem::find(text.as_bytes(), b"director-disable").is_none() {
            return suppressions;
        }
        for found in DISABLE.captures_iter(text) {
            let rules = found["rules"]
                .split(|character: char| character == ',' || character.is_whitespace())
                .filter(|rule| !rule.is_empty())
                .map(str::to_string)
                .collect();
            let scope = if found.name("file").is_some() {
                None
            } else {
                let start = found.get(0).map_or(0, |it| it.end());
                let next_line_start = text[start..]
                    .find('\n')
                    .map_or(text.len(), |position| start + position + 1);
                let next_line_end = text[next_line_start..]
                    .find('\n')
                    .map_or(text.len(), |position| next_line_start + position);
                Some(next_line_start..next_line_end)
            };
            suppressions.entries.push((rules, scope));
        }
        suppressions
    }

    /// Whether a finding of `rule` starting at `offset` is silenced.
    pub fn suppresses(&self, rule: &str, offset: usize) -> bool {
        self.entries.iter().any(|(rules, scope)| {
            (rules.is_empty() || rules.iter().any(|listed| listed == rule))
                && scope
                    .as_ref()
                    .is_none_or(|line| line.start <= offset && offset <= line.end)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_line_and_file_scopes() {
        let text = "a\n<!-- director-disable AMB002 -->\nfast\nfast again\n<!-- director-disable-file INC001 -->\n";
        let suppressions = Suppressions::parse(text);
        let first = text.find("fast").expect("test fixture");
        let second = text.find("fast again").expect("test fixture");
        assert!(suppressions.suppresses("AMB002", first));
        assert!(!suppressions.suppresses("AMB002", second));
        assert!(!suppressions.suppresses("AMB001", first));
        assert!(suppressions.suppresses("INC001", 0));
    }
}
