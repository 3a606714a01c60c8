//! Trace links written in code: Director's `@spec` tag (SPEC-FORMATS §3.2), the foreign
//! syntaxes projects already use (OpenFastTrace `[impl->req~x~1]`, StrictDoc
//! `@relation(...)`), and bare mentions of requirement IDs.
//!
//! Scanning is cheap on purpose: a file without any marker bytes costs one `memchr`
//! pass per marker before any regex runs, so 20,000 source files scan quickly.

use std::cell::OnceCell;
use std::ops::Range;
use std::sync::LazyLock;

use memchr::memmem;
use regex::Regex;
use ropey::Rope;

use crate::syntax::{Language, SyntaxTree};

/// What a piece of code does for a requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TraceRole {
    Impl,
    Test,
    Doc,
    /// A bare ID in a comment: a low-confidence link shown as "mentioned".
    Mention,
}

/// Which syntax a trace was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceSource {
    SpecTag,
    OpenFastTrace,
    StrictDoc,
    Mention,
}

/// One link from code to a requirement, before resolution against the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeTrace {
    /// The reference as written: `AUTH-003`, `auth-session#AUTH-003`, `req~x~1`.
    pub reference: String,
    pub reference_range: Range<usize>,
    /// The pinned fingerprint (`@1f9c2a7b`) and where it is written.
    pub pin: Option<(String, Range<usize>)>,
    pub role: TraceRole,
    pub source: TraceSource,
    /// The code this trace governs.
    pub scope: Range<usize>,
}

static SPEC_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"@spec(?:\((?P<role>impl|test|doc)\))?(?P<refs>(?:[ \t,]+(?:[a-z0-9][a-z0-9._/-]*#)?[A-Za-z0-9][A-Za-z0-9._/~-]*(?:@[0-9a-f]{8})?)+)")
        .expect("static regex")
});
static SPEC_RANGE_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"@spec-(?P<edge>begin|end)(?:\((?P<role>impl|test|doc)\))?[ \t]+(?P<ref>(?:[a-z0-9][a-z0-9._/-]*#)?[A-Za-z0-9][A-Za-z0-9._/~-]*)")
        .expect("static regex")
});
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?P<ref>(?:[a-z0-9][a-z0-9._/-]*#)?[A-Za-z0-9][A-Za-z0-9._/~-]*?)(?:@(?P<pin>[0-9a-f]{8}))?\.?$")
        .expect("static regex")
});
static OFT_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(?P<role>impl|utest|itest|test|dsn|doc)\s*->\s*(?P<id>[a-z]+~[^~\]\s]+~\d+)\]")
        .expect("static regex")
});
static STRICTDOC_RELATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"@relation[({](?P<args>[^)}]*)[)}]").expect("static regex"));
static MENTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Z][A-Z0-9]*(?:[-_][A-Z0-9]+)*[-_]\d+[a-z]?(?:\.\d+)*\b")
        .expect("static regex")
});

/// Finds every trace in a source file. Mentions are candidates: the index keeps only
/// those naming a known requirement.
pub fn scan_code(text: &str, language: Option<Language>) -> Vec<CodeTrace> {
    let bytes = text.as_bytes();
    let mut traces = Vec::new();
    let scoper = Scoper::new(text, language);
    if memmem::find(bytes, b"@spec").is_some() {
        scan_spec_tags(text, &scoper, &mut traces);
    }
    if memmem::find(bytes, b"->").is_some() {
        for found in OFT_TAG.captures_iter(text) {
            let Some(id) = found.name("id") else { continue };
            let role = match &found["role"] {
                "impl" | "dsn" => TraceRole::Impl,
                "doc" => TraceRole::Doc,
                _ => TraceRole::Test,
            };
            traces.push(CodeTrace {
                reference: id.as_str().to_string(),
                reference_range: id.range(),
                pin: None,
                role,
                source: TraceSource::OpenFastTrace,
                scope: scoper.scope(id.start()),
            });
        }
    }
    if memmem::find(bytes, b"@relation").is_some() {
        scan_strictdoc(text, &scoper, &mut traces);
    }
    if has_mention_candidate(bytes) {
        for found in MENTION.find_iter(text) {
            if traces.iter().any(|trace| {
                trace.reference_range.start <= found.start()
                    && found.end() <= trace.reference_range.end
            }) {
                continue;
            }
            traces.push(CodeTrace {
                reference: found.as_str().to_string(),
                reference_range: found.range(),
                pin: None,
                role: TraceRole::Mention,
                source: TraceSource::Mention,
                scope: line_range(text, found.start()),
            });
        }
    }
    traces
}

/// Finds what a tag governs: the item tree-sitter finds for it when the file's
/// language is known, else the line-based heuristic of [`tag_scope`].
/// The file is parsed only when its first tag is scoped: most source files have none.
struct Scoper<'text> {
    text: &'text str,
    language: Option<Language>,
    syntax: OnceCell<Option<(Rope, SyntaxTree)>>,
}

impl<'text> Scoper<'text> {
    fn new(text: &'text str, language: Option<Language>) -> Scoper<'text> {
        Scoper {
            text,
            language,
            syntax: OnceCell::new(),
        }
    }

    /// The item a tag at `offset` governs: the innermost item around the tag (a
    /// tag in an item's leading comments governs the item from the line after the
    /// tag; one inside its body, a docstring say, governs all of it), else the item
    /// at the first code line after it. Trailing tags and file-header tags keep
    /// their line-based meaning.
    fn scope(&self, offset: usize) -> Range<usize> {
        let text = self.text;
        let fallback = tag_scope(text, offset);
        let syntax = self.syntax.get_or_init(|| {
            let language = self.language?;
            let rope = Rope::from_str(self.text);
            SyntaxTree::parse(language, &rope).map(|tree| (rope, tree))
        });
        let Some((rope, tree)) = syntax else {
            return fallback;
        };
        let tag_line = line_range(text, offset);
        let trailing = !text[tag_line.start..offset].trim().is_empty()
            && !is_comment_line(&text[tag_line.start..offset]);
        if trailing || fallback == (0..text.len()) {
            return fallback;
        }
        let after_tag = (tag_line.end + 1).min(text.len());
        if let Some(item) = tree.enclosing_item(rope, offset..offset) {
            let leading = &text[item.range.start.min(tag_line.start)..tag_line.start];
            return if leading
                .lines()
                .all(|line| line.trim().is_empty() || is_comment_line(line))
            {
                after_tag.min(item.range.end)..item.range.end
            } else {
                item.range
            };
        }
        let next_code = fallback.start
            + (text[fallback.start..].len() - text[fallback.start..].trim_start().len());
        match tree.enclosing_item(rope, next_code..next_code) {
            Some(item) if item.range.start >= tag_line.start => {
                item.range.start.max(after_tag)..item.range.end
            }
            _ => fallback,
        }
    }
}

/// The code a tag at `tag_offset` governs when the language is unknown: a tag
/// trailing code governs that line; a file-header tag (before any code, followed
/// by a blank line) governs the file; otherwise the next non-comment line and the
/// lines indented under it (plus a closing bracket line) are the governed item.
pub fn tag_scope(text: &str, tag_offset: usize) -> Range<usize> {
    let tag_line = line_range(text, tag_offset);
    let before_tag = &text[tag_line.start..tag_offset.min(tag_line.end)];
    if !is_comment_line(before_tag) && !before_tag.trim().is_empty() {
        return tag_line;
    }
    let mut lines = LineIter {
        text,
        offset: tag_line.end.saturating_add(1).min(text.len()),
    };
    let code_before_tag = text[..tag_line.start]
        .lines()
        .any(|line| !line.trim().is_empty() && !is_comment_line(line));
    let mut item_start = None;
    let mut item_indent = 0;
    let mut end = tag_line.end;
    let mut saw_blank_before_item = false;
    while let Some((range, line)) = lines.next_line() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match item_start {
            None => {
                if trimmed.is_empty() {
                    saw_blank_before_item = true;
                    continue;
                }
                if is_comment_line(line) {
                    continue;
                }
                if saw_blank_before_item && !code_before_tag {
                    return 0..text.len();
                }
                item_start = Some(range.start);
                item_indent = indent;
                end = range.end;
                let is_decorator = trimmed.starts_with('@') || trimmed.starts_with("#[");
                if is_decorator {
                    item_start = Some(range.start);
                    item_indent = usize::MAX;
                }
            }
            Some(_) if item_indent == usize::MAX => {
                end = range.end;
                if !(trimmed.starts_with('@') || trimmed.starts_with("#[")) {
                    item_indent = indent;
                }
            }
            Some(_) => {
                if trimmed.is_empty() {
                    continue;
                }
                if indent > item_indent {
                    end = range.end;
                    continue;
                }
                if indent == item_indent && trimmed.starts_with(['}', ')', ']']) {
                    end = range.end;
                }
                break;
            }
        }
    }
    match item_start {
        Some(start) => start..end,
        None => tag_line,
    }
}

fn scan_spec_tags(text: &str, scoper: &Scoper<'_>, traces: &mut Vec<CodeTrace>) {
    for found in SPEC_TAG.captures_iter(text) {
        let Some(refs) = found.name("refs") else {
            continue;
        };
        let role = match found.name("role").map(|it| it.as_str()) {
            Some("test") => TraceRole::Test,
            Some("doc") => TraceRole::Doc,
            _ => TraceRole::Impl,
        };
        let scope = scoper.scope(refs.start());
        let mut offset = refs.start();
        for token in refs
            .as_str()
            .split(|character: char| character == ',' || character.is_whitespace())
        {
            let token_start = offset;
            offset += token.len() + 1;
            if token.is_empty() {
                continue;
            }
            // Words after the IDs are prose ("@spec AUTH-1 hashes passwords"), not refs.
            if !token.contains(|character: char| {
                character.is_ascii_digit() || matches!(character, '#' | '-' | '~')
            }) {
                break;
            }
            let Some(parts) = REFERENCE.captures(token) else {
                continue;
            };
            let reference = &parts["ref"];
            let pin = parts.name("pin").map(|pin| {
                (
                    pin.as_str().to_string(),
                    token_start + pin.start()..token_start + pin.end(),
                )
            });
            traces.push(CodeTrace {
                reference: reference.to_string(),
                reference_range: token_start..token_start + reference.len(),
                pin,
                role,
                source: TraceSource::SpecTag,
                scope: scope.clone(),
            });
        }
    }
    let mut open: Vec<(String, Range<usize>, TraceRole, usize)> = Vec::new();
    for found in SPEC_RANGE_TAG.captures_iter(text) {
        let Some(reference) = found.name("ref") else {
            continue;
        };
        let role = match found.name("role").map(|it| it.as_str()) {
            Some("test") => TraceRole::Test,
            Some("doc") => TraceRole::Doc,
            _ => TraceRole::Impl,
        };
        if &found["edge"] == "begin" {
            open.push((
                reference.as_str().to_string(),
                reference.range(),
                role,
                (line_range(text, reference.start()).end + 1).min(text.len()),
            ));
        } else if let Some(position) = open
            .iter()
            .rposition(|(name, ..)| name == reference.as_str())
        {
            let (name, range, role, scope_start) = open.remove(position);
            let scope_end = line_range(text, reference.start()).start;
            traces.push(CodeTrace {
                reference: name,
                reference_range: range,
                pin: None,
                role,
                source: TraceSource::SpecTag,
                scope: scope_start.min(scope_end)..scope_end,
            });
        }
    }
}

fn scan_strictdoc(text: &str, scoper: &Scoper<'_>, traces: &mut Vec<CodeTrace>) {
    for found in STRICTDOC_RELATION.captures_iter(text) {
        let Some(arguments) = found.name("args") else {
            continue;
        };
        let mut role = TraceRole::Impl;
        let mut references = Vec::new();
        let mut offset = arguments.start();
        for argument in arguments.as_str().split(',') {
            let argument_start = offset + (argument.len() - argument.trim_start().len());
            offset += argument.len() + 1;
            let argument = argument.trim();
            match argument.split_once('=') {
                Some(("role", value)) if value.trim().to_ascii_lowercase().starts_with("test") => {
                    role = TraceRole::Test
                }
                Some(_) => {}
                None if !argument.is_empty() => references.push((
                    argument.to_string(),
                    argument_start..argument_start + argument.len(),
                )),
                None => {}
            }
        }
        let scope = scoper.scope(arguments.start());
        for (reference, reference_range) in references {
            traces.push(CodeTrace {
                reference,
                reference_range,
                pin: None,
                role,
                source: TraceSource::StrictDoc,
                scope: scope.clone(),
            });
        }
    }
}

/// A quick byte test before running the mention regex: an uppercase letter followed
/// by `-` or `_` and a digit somewhere in the file.
fn has_mention_candidate(bytes: &[u8]) -> bool {
    memchr::memchr2_iter(b'-', b'_', bytes).any(|position| {
        position > 0
            && bytes[position - 1].is_ascii_alphanumeric()
            && bytes.get(position + 1).is_some_and(u8::is_ascii_digit)
    })
}

fn is_comment_line(line: &str) -> bool {
    let trimmed = line.trim_start();
    (trimmed.starts_with('#') && !trimmed.starts_with("#[") && !trimmed.starts_with("#!["))
        || ["//", "/*", "*", "--", ";", "\"\"\"", "'''", "<!--"]
            .iter()
            .any(|prefix| trimmed.starts_with(prefix))
}

/// The byte range of the line containing `offset`, without its newline.
fn line_range(text: &str, offset: usize) -> Range<usize> {
    let offset = offset.min(text.len());
    let start = text[..offset]
        .rfind('\n')
        .map_or(0, |position| position + 1);
    let end = text[offset..]
        .find('\n')
        .map_or(text.len(), |position| offset + position);
    start..end
}

struct LineIter<'a> {
    text: &'a str,
    offset: usize,
}

impl<'a> LineIter<'a> {
    fn next_line(&mut self) -> Option<(Range<usize>, &'a str)> {
        if self.offset >= self.text.len() {
            return None;
        }
        let range = line_range(self.text, self.offset);
        self.offset = range.end + 1;
        Some((range.clone(), &self.text[range]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoped(text: &str, reference: &str) -> String {
        scoped_in(text, reference, None)
    }

    fn scoped_in(text: &str, reference: &str, language: Option<Language>) -> String {
        let trace = scan_code(text, language)
            .into_iter()
            .find(|trace| trace.reference == reference)
            .expect("trace");
        text[trace.scope].to_string()
    }

    #[test]
    fn spec_tag_roles_pins_and_multiple_refs() {
        let text = "// @spec(test) auth#AUTH-003@1f9c2a7b, AUTH-004 checks expiry\nfn t() {}\n";
        let traces = scan_code(text, None);
        let tags: Vec<_> = traces
            .iter()
            .filter(|it| it.source == TraceSource::SpecTag)
            .collect();
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[0].reference, "auth#AUTH-003");
        assert_eq!(tags[0].role, TraceRole::Test);
        assert_eq!(
            tags[0].pin.as_ref().map(|it| it.0.as_str()),
            Some("1f9c2a7b")
        );
        assert_eq!(
            &text[tags[0].pin.clone().expect("test fixture").1],
            "1f9c2a7b"
        );
        assert_eq!(tags[1].reference, "AUTH-004");
    }

    #[test]
    fn tag_scope_is_the_next_item() {
        let rust = "use x;\n\n/// Hashes.\n// @spec AUTH-1\n#[inline]\npub fn hash() {\n    body();\n}\n\nfn other() {}\n";
        assert_eq!(
            scoped(rust, "AUTH-1"),
            "#[inline]\npub fn hash() {\n    body();\n}"
        );
        let python = "import x\n\n# @spec AUTH-2\n@app.route('/')\ndef login():\n    return 1\n\ndef other():\n    pass\n";
        assert_eq!(
            scoped(python, "AUTH-2"),
            "@app.route('/')\ndef login():\n    return 1"
        );
    }

    #[test]
    fn with_tree_sitter_the_scope_is_the_item() {
        let rust = "use x;\n\n/// Hashes.\n// @spec AUTH-1\n#[inline]\npub fn hash() {\n    body();\n}\n\nfn other() {}\n";
        assert_eq!(
            scoped_in(rust, "AUTH-1", Some(Language::Rust)),
            "#[inline]\npub fn hash() {\n    body();\n}"
        );
        // A tag in a docstring governs the function it documents.
        let python = "def login(user):\n    \"\"\"Logs in. @spec AUTH-2\"\"\"\n    if user:\n        return 1\n\n    return 0\n\ndef other():\n    pass\n";
        assert_eq!(
            scoped_in(python, "AUTH-2", Some(Language::Python)),
            "def login(user):\n    \"\"\"Logs in. @spec AUTH-2\"\"\"\n    if user:\n        return 1\n\n    return 0"
        );
        // A tag above a method inside a class governs the method, blank lines in its body included.
        let typescript = "class A {\n  // @spec AUTH-3\n  run(): void {\n    a();\n\n    b();\n  }\n  other() {}\n}\n";
        assert_eq!(
            scoped_in(typescript, "AUTH-3", Some(Language::TypeScript)),
            "  run(): void {\n    a();\n\n    b();\n  }"
        );
    }

    #[test]
    fn file_header_and_trailing_tags() {
        let header = "# @spec AUTH-1\n\nimport x\ndef f():\n    pass\n";
        assert_eq!(scoped(header, "AUTH-1"), header);
        let trailing = "def f():\n    x = 1  # @spec AUTH-2\n    y = 2\n";
        assert_eq!(scoped(trailing, "AUTH-2"), "    x = 1  # @spec AUTH-2");
    }

    #[test]
    fn explicit_ranges_and_foreign_syntaxes() {
        let text = "// @spec-begin AUTH-1\nlet a = 1;\n// @spec-end AUTH-1\n// [utest->req~login~2]\n/// @relation(REQ-7, scope=function, role=Test)\nfn f() {}\n";
        let traces = scan_code(text, None);
        let range = traces
            .iter()
            .find(|it| it.reference == "AUTH-1")
            .expect("test fixture");
        assert_eq!(&text[range.scope.clone()], "let a = 1;\n");
        let oft = traces
            .iter()
            .find(|it| it.source == TraceSource::OpenFastTrace)
            .expect("test fixture");
        assert_eq!(
            (oft.reference.as_str(), oft.role),
            ("req~login~2", TraceRole::Test)
        );
        let strictdoc = traces
            .iter()
            .find(|it| it.source == TraceSource::StrictDoc)
            .expect("test fixture");
        assert_eq!(
            (strictdoc.reference.as_str(), strictdoc.role),
            ("REQ-7", TraceRole::Test)
        );
    }

    #[test]
    fn prose_after_tag_is_not_a_reference_and_mentions_are_found() {
        let text = "# @spec LOGIN-001 hashes passwords\n# see LOGIN-002 too\nx = 1\n";
        let traces = scan_code(text, None);
        let references: Vec<_> = traces
            .iter()
            .map(|it| (it.reference.as_str(), it.role))
            .collect();
        assert_eq!(
            references,
            [
                ("LOGIN-001", TraceRole::Impl),
                ("LOGIN-002", TraceRole::Mention)
            ]
        );
    }
}
