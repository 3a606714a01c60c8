//! The YAML front matter some spec formats start with (`director-spec`, `spec`,
//! `status`, `traces`, Tessl `targets`, Kiro steering `inclusion`).
//!
//! Only the flat subset these formats use is read: `key: value`, `key: [a, b]` and
//! block lists (`key:` followed by `- item` lines). Anything else is kept as raw text,
//! so an unusual header never stops the rest of the file from being read.

use std::ops::Range;

/// The parsed header and where it ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrontMatter {
    pub entries: Vec<FrontMatterEntry>,
    /// Byte range of the whole block including both `---` lines.
    pub range: Range<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontMatterEntry {
    pub key: String,
    pub value: FrontMatterValue,
    pub key_range: Range<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrontMatterValue {
    Scalar(String),
    List(Vec<String>),
}

/// The outcome of looking for front matter at the start of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrontMatterRead {
    Absent,
    Present(FrontMatter),
    /// An opening `---` with no closing line; the whole file is then body text.
    Unterminated,
}

/// Reads front matter from the start of `text`.
pub fn read_front_matter(text: &str) -> FrontMatterRead {
    let Some(after_open) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return FrontMatterRead::Absent;
    };
    let body_start = text.len() - after_open.len();
    let mut entries: Vec<FrontMatterEntry> = Vec::new();
    let mut offset = body_start;
    for line in after_open.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        if content == "---" || content == "..." {
            return FrontMatterRead::Present(FrontMatter {
                entries,
                range: 0..offset,
            });
        }
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(item) = trimmed.strip_prefix("- ") {
            if let Some(FrontMatterEntry { value, .. }) = entries.last_mut() {
                let item = unquote(strip_comment(item));
                match value {
                    FrontMatterValue::List(items) => items.push(item),
                    FrontMatterValue::Scalar(scalar) if scalar.is_empty() => {
                        *value = FrontMatterValue::List(vec![item]);
                    }
                    FrontMatterValue::Scalar(_) => {}
                }
            }
            continue;
        }
        if content.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, raw_value)) = content.split_once(':') else {
            continue;
        };
        let raw_value = strip_comment(raw_value).trim();
        let value = match raw_value
            .strip_prefix('[')
            .and_then(|it| it.strip_suffix(']'))
        {
            Some(inner) => FrontMatterValue::List(
                inner
                    .split(',')
                    .map(unquote)
                    .filter(|item| !item.is_empty())
                    .collect(),
            ),
            None => FrontMatterValue::Scalar(unquote(raw_value)),
        };
        let key_start = line_start;
        entries.push(FrontMatterEntry {
            key: key.trim().to_string(),
            value,
            key_range: key_start..key_start + key.len(),
        });
    }
    FrontMatterRead::Unterminated
}

impl FrontMatter {
    pub fn scalar(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|entry| entry.key == key)
            .and_then(|entry| match &entry.value {
                FrontMatterValue::Scalar(value) => Some(value.as_str()),
                FrontMatterValue::List(_) => None,
            })
    }

    /// A list value; a scalar counts as a one-item list.
    pub fn list(&self, key: &str) -> Vec<String> {
        match self
            .entries
            .iter()
            .find(|entry| entry.key == key)
            .map(|entry| &entry.value)
        {
            Some(FrontMatterValue::List(items)) => items.clone(),
            Some(FrontMatterValue::Scalar(value)) if !value.is_empty() => vec![value.clone()],
            _ => Vec::new(),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|entry| entry.key == key)
    }
}

/// Whether the text starts with front matter naming Director's native form.
pub fn declares_native_spec(text: &str) -> bool {
    match read_front_matter(text) {
        FrontMatterRead::Present(front_matter) => front_matter.has("director-spec"),
        _ => false,
    }
}

fn strip_comment(value: &str) -> &str {
    match value.find(" #") {
        Some(position) => &value[..position],
        None => value,
    }
}

fn unquote(value: &str) -> String {
    let value = value.trim();
    let unquoted = value
        .strip_prefix('"')
        .and_then(|it| it.strip_suffix('"'))
        .or_else(|| {
            value
                .strip_prefix('\'')
                .and_then(|it| it.strip_suffix('\''))
        })
        .unwrap_or(value);
    unquoted.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scalars_inline_lists_and_block_lists() {
        let text = "---\ndirector-spec: 1\nspec: auth-session\nstatus: approved   # comment\ntraces: [src/auth/**, \"lib/*.rs\"]\ntargets:\n  - a.ts\n  - b.ts\n---\n# Title\n";
        let FrontMatterRead::Present(front_matter) = read_front_matter(text) else {
            panic!("no front matter")
        };
        assert_eq!(front_matter.scalar("spec"), Some("auth-session"));
        assert_eq!(front_matter.scalar("status"), Some("approved"));
        assert_eq!(front_matter.list("traces"), vec!["src/auth/**", "lib/*.rs"]);
        assert_eq!(front_matter.list("targets"), vec!["a.ts", "b.ts"]);
        assert_eq!(&text[front_matter.range.end..], "# Title\n");
    }

    #[test]
    fn unterminated_and_absent_front_matter_are_reported_not_fatal() {
        assert_eq!(
            read_front_matter("---\nspec: x\n# no end"),
            FrontMatterRead::Unterminated
        );
        assert_eq!(read_front_matter("# Title\n---\n"), FrontMatterRead::Absent);
        assert!(!declares_native_spec("---\nname: x\n---\n"));
        assert!(declares_native_spec("---\ndirector-spec: 1\n---\n"));
    }
}
