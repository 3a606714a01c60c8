//! SEARCH/REPLACE edit blocks, the multi-file edit format of task runs
//! (aider's `diff` format, AGENT-PROTOCOLS.md §5): parsing them out of an
//! answer, matching each SEARCH part on its file (exactly, then tolerating
//! whitespace), and keeping paths inside the workspace (see [`crate::run::boundary`]).
//!
//! A block that cannot be applied fails alone, with a message meant for the
//! agent: it names the block and its file and quotes the file's closest lines,
//! because models that are not shown the actual text tend to give up.

use similar::TextDiff;
use std::path::{Path, PathBuf};

use crate::run::boundary::relative_target;

/// One SEARCH/REPLACE block of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditBlock {
    /// The block's place in the answer, from 1, for messages.
    pub number: usize,
    /// The file's path as the agent wrote it.
    pub path: String,
    /// The lines to find, without line endings; empty to create the file.
    pub search: Vec<String>,
    /// The lines to put in their place, without line endings.
    pub replace: Vec<String>,
}

/// The blocks of an answer, and why some text that looked like a block is not one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedBlocks {
    pub blocks: Vec<EditBlock>,
    pub problems: Vec<String>,
}

/// One file's text before and after the blocks that edit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditedFile {
    /// Relative to the workspace root.
    pub path: PathBuf,
    /// `None` when the blocks create the file.
    pub before: Option<String>,
    pub after: String,
}

/// What applying an answer's blocks gives: the files they change, and a
/// message for every block that could not be applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppliedBlocks {
    pub files: Vec<EditedFile>,
    pub failures: Vec<String>,
}

/// Finds the SEARCH/REPLACE blocks in an answer, ignoring the prose around
/// them. A block's file is named on the last line before its fence (or just
/// inside it); blocks sharing a fence share the file.
pub fn parse_edit_blocks(answer: &str) -> ParsedBlocks {
    let lines: Vec<&str> = answer.lines().collect();
    let mut parsed = ParsedBlocks::default();
    let mut previous_path: Option<String> = None;
    let mut index = 0;
    while index < lines.len() {
        if !is_search_marker(lines[index]) {
            index += 1;
            continue;
        }
        let number = parsed.blocks.len() + parsed.problems.len() + 1;
        let path = path_before(&lines, index).or_else(|| previous_path.clone());
        let Some(divider) = position_from(&lines, index + 1, is_divider) else {
            parsed.problems.push(format!(
                "block {number} is cut short: it has no `=======` line after `<<<<<<< SEARCH`"
            ));
            break;
        };
        let Some(end) = position_from(&lines, divider + 1, is_replace_marker) else {
            parsed.problems.push(format!(
                "block {number} is cut short: it has no `>>>>>>> REPLACE` line"
            ));
            break;
        };
        match path {
            Some(path) => {
                previous_path = Some(path.clone());
                parsed.blocks.push(EditBlock {
                    number,
                    path,
                    search: owned(&lines[index + 1..divider]),
                    replace: owned(&lines[divider + 1..end]),
                });
            }
            None => parsed.problems.push(format!(
                "block {number} names no file: put the file's path on the line before its fence"
            )),
        }
        index = end + 1;
    }
    parsed
}

/// Applies blocks in order, each on its file's text as the blocks before it
/// left it. `read` gives a workspace-relative file's current text (`None`
/// when it does not exist). Blocks that fail are reported and skipped.
pub fn apply_edit_blocks(
    root: &Path,
    parsed: &ParsedBlocks,
    read: impl Fn(&Path) -> Option<String>,
) -> AppliedBlocks {
    let mut failures = parsed.problems.clone();
    // Per file, in the order first touched: its text before and as edited so far.
    let mut files: Vec<(PathBuf, Option<String>, Option<String>)> = Vec::new();
    for block in &parsed.blocks {
        let failure = |reason: String| format!("block {} ({}): {reason}", block.number, block.path);
        let relative = match relative_target(root, Path::new(&block.path)) {
            Ok(relative) => relative,
            Err(reason) => {
                failures.push(failure(reason));
                continue;
            }
        };
        let position = match files.iter().position(|(path, _, _)| *path == relative) {
            Some(position) => position,
            None => {
                let text = read(&relative);
                files.push((relative, text.clone(), text));
                files.len() - 1
            }
        };
        let current = &mut files[position].2;
        match apply_block(current.as_deref(), block) {
            Ok(edited) => *current = Some(edited),
            Err(reason) => failures.push(failure(reason)),
        }
    }
    let files = files
        .into_iter()
        .filter_map(|(path, before, after)| {
            let after = after?;
            (before.as_ref() != Some(&after)).then_some(EditedFile {
                path,
                before,
                after,
            })
        })
        .collect();
    AppliedBlocks { files, failures }
}

/// The text after one block, or why the block does not apply.
fn apply_block(text: Option<&str>, block: &EditBlock) -> Result<String, String> {
    let creates = block.search.iter().all(|line| line.trim().is_empty());
    match text {
        None if creates => Ok(join_lines(&block.replace, "\n", true)),
        None => Err(format!(
            "{} does not exist; to create it, leave the SEARCH part empty",
            block.path
        )),
        Some(text) if creates && text.trim().is_empty() => {
            Ok(join_lines(&block.replace, "\n", true))
        }
        Some(_) if creates => Err(format!(
            "the SEARCH part is empty, which creates a file, but {} exists; copy the lines \
             to replace into the SEARCH part",
            block.path
        )),
        Some(text) => replace_once(text, &block.search, &block.replace).or_else(|failure| {
            // Models often pad a SEARCH part with blank lines the file lacks
            // there; retry without them, dropping as many from the replacement.
            let (search, replace) = without_blank_padding(&block.search, &block.replace);
            if search.len() == block.search.len() {
                return Err(failure);
            }
            replace_once(text, search, replace).map_err(|_| failure)
        }),
    }
}

/// `search` without its leading and trailing blank lines, and `replace`
/// without as many blank lines at each end (as far as they are blank).
fn without_blank_padding<'a>(
    search: &'a [String],
    replace: &'a [String],
) -> (&'a [String], &'a [String]) {
    let blank = |line: &String| line.trim().is_empty();
    let leading = search.iter().take_while(|line| blank(line)).count();
    let trailing = search[leading..]
        .iter()
        .rev()
        .take_while(|line| blank(line))
        .count();
    let replace_leading = replace
        .iter()
        .take(leading)
        .take_while(|line| blank(line))
        .count();
    let replace = &replace[replace_leading..];
    let replace_trailing = replace
        .iter()
        .rev()
        .take(trailing)
        .take_while(|line| blank(line))
        .count();
    (
        &search[leading..search.len() - trailing],
        &replace[..replace.len() - replace_trailing],
    )
}

/// How far a match tolerates differences from the SEARCH lines; tried in order.
#[derive(Debug, Clone, Copy)]
enum Tolerance {
    Exact,
    TrailingWhitespace,
    IndentationShift,
}

/// How the SEARCH lines' indentation differs from the file's.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shift {
    /// The file's lines have this much more indentation.
    Add(String),
    /// The file's lines have this much less indentation.
    Remove(String),
}

impl Shift {
    fn apply(&self, line: &str) -> String {
        if line.trim().is_empty() {
            return String::new();
        }
        match self {
            Shift::Add(prefix) => format!("{prefix}{line}"),
            Shift::Remove(prefix) => line
                .strip_prefix(prefix.as_str())
                .unwrap_or_else(|| line.trim_start())
                .to_owned(),
        }
    }
}

/// Replaces the one place the SEARCH lines match, keeping the file's line endings.
fn replace_once(text: &str, search: &[String], replace: &[String]) -> Result<String, String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let contents: Vec<&str> = lines.iter().map(|line| without_line_ending(line)).collect();
    for tolerance in [
        Tolerance::Exact,
        Tolerance::TrailingWhitespace,
        Tolerance::IndentationShift,
    ] {
        let matches: Vec<(usize, Option<Shift>)> =
            (0..=contents.len().saturating_sub(search.len()))
                .filter(|&start| start + search.len() <= contents.len())
                .filter_map(|start| {
                    window_matches(&contents[start..start + search.len()], search, tolerance)
                        .map(|shift| (start, shift))
                })
                .collect();
        match matches.as_slice() {
            [] => continue,
            [(start, shift)] => {
                let replacement: Vec<String> = match shift {
                    Some(shift) => replace.iter().map(|line| shift.apply(line)).collect(),
                    None => replace.to_vec(),
                };
                let end = start + search.len();
                let line_ending = if text.contains("\r\n") { "\r\n" } else { "\n" };
                // The file's last line may have no line ending; neither then has its replacement.
                let ends_file_without_newline = end == lines.len() && !text.ends_with('\n');
                return Ok(format!(
                    "{}{}{}",
                    lines[..*start].concat(),
                    join_lines(&replacement, line_ending, !ends_file_without_newline),
                    lines[end..].concat()
                ));
            }
            several => {
                let places: Vec<String> = several
                    .iter()
                    .map(|(start, _)| (start + 1).to_string())
                    .collect();
                return Err(format!(
                    "the SEARCH part matches {} places (starting at lines {}); add lines around \
                     it so that it matches one",
                    several.len(),
                    places.join(", ")
                ));
            }
        }
    }
    Err(format!(
        "the SEARCH part matches no lines of the file{}",
        closest_lines(&contents, search)
    ))
}

/// Whether a window of the file's lines matches the SEARCH lines, and with
/// which indentation shift.
fn window_matches(
    window: &[&str],
    search: &[String],
    tolerance: Tolerance,
) -> Option<Option<Shift>> {
    match tolerance {
        Tolerance::Exact => window
            .iter()
            .zip(search)
            .all(|(line, wanted)| *line == wanted)
            .then_some(None),
        Tolerance::TrailingWhitespace => window
            .iter()
            .zip(search)
            .all(|(line, wanted)| line.trim_end() == wanted.trim_end())
            .then_some(None),
        Tolerance::IndentationShift => {
            let (line, wanted) = window
                .iter()
                .zip(search)
                .find(|(line, _)| !line.trim().is_empty())?;
            let shift = indentation_shift(line.trim_end(), wanted.trim_end())?;
            window
                .iter()
                .zip(search)
                .all(|(line, wanted)| shift.apply(wanted.trim_end()) == line.trim_end())
                .then_some(Some(shift))
        }
    }
}

/// The shift that turns the SEARCH line `wanted` into the file's `line`, when
/// they differ only in leading indentation.
fn indentation_shift(line: &str, wanted: &str) -> Option<Shift> {
    let line_indent = &line[..line.len() - line.trim_start().len()];
    let wanted_indent = &wanted[..wanted.len() - wanted.trim_start().len()];
    if line.trim_start() != wanted.trim_start() {
        return None;
    }
    if let Some(extra) = line_indent.strip_suffix(wanted_indent) {
        Some(Shift::Add(extra.to_owned()))
    } else {
        wanted_indent
            .strip_suffix(line_indent)
            .map(|extra| Shift::Remove(extra.to_owned()))
    }
}

/// The window of the file most like the SEARCH lines, quoted for the agent
/// (an empty string for an empty file).
fn closest_lines(contents: &[&str], search: &[String]) -> String {
    if contents.is_empty() {
        return "; the file is empty".to_owned();
    }
    let width = search.len().clamp(1, contents.len());
    let mut best: Option<(usize, f32)> = None;
    for start in 0..=contents.len() - width {
        let score: f32 = contents[start..start + width]
            .iter()
            .zip(search)
            .map(|(line, wanted)| line_similarity(line, wanted))
            .sum();
        if best.is_none_or(|(_, best_score)| score > best_score) {
            best = Some((start, score));
        }
    }
    let Some((start, _)) = best else {
        return String::new();
    };
    let quoted: Vec<&str> = contents[start..start + width].to_vec();
    format!(
        ". The closest lines of the file, lines {} to {}, are:\n```\n{}\n```",
        start + 1,
        start + width,
        quoted.join("\n")
    )
}

/// How alike two lines are, from 0 to 1, ignoring the whitespace around them.
fn line_similarity(line: &str, wanted: &str) -> f32 {
    let (line, wanted) = (line.trim(), wanted.trim());
    if line == wanted {
        return 1.0;
    }
    TextDiff::from_chars(line, wanted).ratio()
}

fn join_lines(lines: &[String], line_ending: &str, final_line_ending: bool) -> String {
    let mut text = lines.join(line_ending);
    if final_line_ending && !lines.is_empty() {
        text.push_str(line_ending);
    }
    text
}

fn without_line_ending(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

fn is_search_marker(line: &str) -> bool {
    let line = line.trim();
    line.starts_with("<<<<<") && line.trim_start_matches('<').trim() == "SEARCH"
}

fn is_divider(line: &str) -> bool {
    let line = line.trim();
    line.len() >= 5 && line.chars().all(|character| character == '=')
}

fn is_replace_marker(line: &str) -> bool {
    let line = line.trim();
    line.starts_with(">>>>>") && line.trim_start_matches('>').trim() == "REPLACE"
}

fn is_fence(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("```") || line.starts_with("~~~")
}

fn position_from(lines: &[&str], from: usize, wanted: fn(&str) -> bool) -> Option<usize> {
    (from..lines.len()).find(|&index| wanted(lines[index]))
}

/// The path named just before the block starting at `search_line`: on the
/// line before its fence, or inside the fence before the SEARCH marker.
/// `None` when the block shares its fence with the previous block.
fn path_before(lines: &[&str], search_line: usize) -> Option<String> {
    let mut candidates = lines[..search_line]
        .iter()
        .rev()
        .filter(|line| !line.trim().is_empty());
    let mut candidate = *candidates.next()?;
    if is_fence(candidate) {
        candidate = candidates.next()?;
    }
    if is_replace_marker(candidate) || is_fence(candidate) {
        return None;
    }
    path_in(candidate)
}

/// The path a line names: the whole line (bar markdown decoration), or in
/// prose such as "Changes to `src/lib.rs`:" its last word that looks like a path.
fn path_in(line: &str) -> Option<String> {
    let clean = |word: &str| {
        word.trim()
            .trim_start_matches('#')
            .trim()
            .trim_matches(|character| matches!(character, '*' | '`' | '"' | '\''))
            .trim_end_matches([':', ',', '.'])
            .trim_matches(|character| matches!(character, '*' | '`' | '"' | '\''))
            .to_owned()
    };
    let whole = clean(line);
    if !whole.is_empty() && !whole.contains(char::is_whitespace) {
        return Some(whole);
    }
    line.split_whitespace()
        .rev()
        .map(clean)
        .find(|word| word.contains('/') || word.contains('.'))
}

fn owned(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|line| (*line).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(path: &str, search: &[&str], replace: &[&str]) -> EditBlock {
        EditBlock {
            number: 1,
            path: path.to_owned(),
            search: owned(search),
            replace: owned(replace),
        }
    }

    #[test]
    fn blocks_are_found_among_prose_for_several_files() {
        let answer = "I'll change two files.\n\nsrc/lib.rs\n```rust\n<<<<<<< SEARCH\nfn a() {}\n=======\nfn a() {}\nfn b() {}\n>>>>>>> REPLACE\n```\n\nAnd then `src/main.rs`:\n```rust\n<<<<<<< SEARCH\n    a();\n=======\n    b();\n>>>>>>> REPLACE\n<<<<<<< SEARCH\nfn main() {\n=======\npub fn main() {\n>>>>>>> REPLACE\n```\nDone.\n";
        let parsed = parse_edit_blocks(answer);
        assert_eq!(parsed.problems, Vec::<String>::new());
        let summary: Vec<(usize, &str, usize, usize)> = parsed
            .blocks
            .iter()
            .map(|block| {
                (
                    block.number,
                    block.path.as_str(),
                    block.search.len(),
                    block.replace.len(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (1, "src/lib.rs", 1, 2),
                (2, "src/main.rs", 1, 1),
                (3, "src/main.rs", 1, 1)
            ]
        );
        assert_eq!(parsed.blocks[1].search, vec!["    a();".to_owned()]);
    }

    #[test]
    fn a_path_inside_the_fence_and_an_empty_search_are_understood() {
        let answer = "```\nnew/file.txt\n<<<<<<< SEARCH\n=======\nhello\n>>>>>>> REPLACE\n```\n";
        let parsed = parse_edit_blocks(answer);
        assert_eq!(parsed.blocks, vec![block("new/file.txt", &[], &["hello"])]);
    }

    #[test]
    fn unfinished_or_unnamed_blocks_are_problems() {
        let cut = parse_edit_blocks("a.rs\n```\n<<<<<<< SEARCH\nx\n=======\ny\n");
        assert!(cut.blocks.is_empty());
        assert!(cut.problems[0].contains("block 1 is cut short"));
        let unnamed = parse_edit_blocks(
            "Here it is:\n```\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n```\n",
        );
        assert!(unnamed.problems[0].contains("block 1 names no file"));
    }

    #[test]
    fn exact_matches_replace_their_lines_only() {
        let text = "fn a() {\n    1\n}\nfn b() {\n    2\n}\n";
        let edited = apply_block(Some(text), &block("x.rs", &["    2"], &["    3", "    4"]));
        assert_eq!(
            edited,
            Ok("fn a() {\n    1\n}\nfn b() {\n    3\n    4\n}\n".to_owned())
        );
        let deleted = apply_block(Some(text), &block("x.rs", &["fn a() {", "    1", "}"], &[]));
        assert_eq!(deleted, Ok("fn b() {\n    2\n}\n".to_owned()));
    }

    #[test]
    fn trailing_whitespace_and_line_endings_are_tolerated() {
        let text = "one  \r\ntwo\r\nthree";
        let edited = apply_block(Some(text), &block("x", &["one", "two"], &["1", "2"]));
        assert_eq!(edited, Ok("1\r\n2\r\nthree".to_owned()));
        let last_line = apply_block(Some(text), &block("x", &["three "], &["3"]));
        assert_eq!(last_line, Ok("one  \r\ntwo\r\n3".to_owned()));
    }

    #[test]
    fn a_uniform_indentation_shift_is_tolerated_and_carried_to_the_replacement() {
        let text = "impl A {\n    fn f() {\n        g();\n    }\n}\n";
        let deeper = apply_block(
            Some(text),
            &block(
                "x",
                &["fn f() {", "    g();", "}"],
                &["fn f() {", "    h();", "", "}"],
            ),
        );
        assert_eq!(
            deeper,
            Ok("impl A {\n    fn f() {\n        h();\n\n    }\n}\n".to_owned())
        );
        let shallower = apply_block(
            Some("if x:\n  y()\n"),
            &block(
                "x",
                &["    if x:", "      y()"],
                &["    if x:", "      z()"],
            ),
        );
        assert_eq!(shallower, Ok("if x:\n  z()\n".to_owned()));
        let uneven = apply_block(Some(text), &block("x", &["  fn f() {", "g();"], &["x"]));
        assert!(uneven.is_err());
    }

    #[test]
    fn blank_lines_padding_the_search_are_tolerated() {
        let text = "fn a() {}\nfn b() {}\n";
        let edited = apply_block(
            Some(text),
            &block("x", &["", "fn b() {}", ""], &["", "fn c() {}", ""]),
        );
        assert_eq!(edited, Ok("fn a() {}\nfn c() {}\n".to_owned()));
    }

    #[test]
    fn an_ambiguous_search_fails_naming_its_places() {
        let text = "x = 1\ny = 2\nx = 1\n";
        let failure = apply_block(Some(text), &block("x", &["x = 1"], &["x = 3"])).unwrap_err();
        assert!(
            failure.contains("matches 2 places (starting at lines 1, 3)"),
            "{failure}"
        );
    }

    #[test]
    fn a_search_that_matches_nothing_quotes_the_closest_lines() {
        let text = "fn alpha() {\n    let total = 0;\n}\nfn beta() {\n    let count = items.len();\n    count\n}\n";
        let failure = apply_block(
            Some(text),
            &block(
                "x",
                &["    let count = item.len();", "    count + 1"],
                &["x"],
            ),
        )
        .unwrap_err();
        assert!(failure.contains("matches no lines"), "{failure}");
        assert!(
            failure
                .contains("lines 5 to 6, are:\n```\n    let count = items.len();\n    count\n```"),
            "{failure}"
        );
    }

    #[test]
    fn files_are_created_only_with_an_empty_search() {
        assert_eq!(
            apply_block(None, &block("n.rs", &[], &["a", "b"])),
            Ok("a\nb\n".to_owned())
        );
        assert!(
            apply_block(None, &block("n.rs", &["a"], &["b"]))
                .unwrap_err()
                .contains("n.rs does not exist")
        );
        assert!(
            apply_block(Some("a\n"), &block("n.rs", &[], &["b"]))
                .unwrap_err()
                .contains("but n.rs exists")
        );
    }

    #[test]
    fn blocks_apply_in_order_per_file_and_failures_do_not_stop_the_others() {
        let root = tempfile::tempdir().unwrap();
        let answer = "a.txt\n```\n<<<<<<< SEARCH\none\n=======\nuno\n>>>>>>> REPLACE\n<<<<<<< SEARCH\nuno\ntwo\n=======\nuno\ndos\n>>>>>>> REPLACE\n```\nb.txt\n```\n<<<<<<< SEARCH\nmissing\n=======\nx\n>>>>>>> REPLACE\n```\n../evil.txt\n```\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n```\nc.txt\n```\n<<<<<<< SEARCH\n=======\nnew\n>>>>>>> REPLACE\n```\n";
        let read = |path: &Path| match path.to_str() {
            Some("a.txt") => Some("one\ntwo\n".to_owned()),
            Some("b.txt") => Some("present\n".to_owned()),
            _ => None,
        };
        let applied = apply_edit_blocks(root.path(), &parse_edit_blocks(answer), read);
        assert_eq!(
            applied.files,
            vec![
                EditedFile {
                    path: "a.txt".into(),
                    before: Some("one\ntwo\n".into()),
                    after: "uno\ndos\n".into(),
                },
                EditedFile {
                    path: "c.txt".into(),
                    before: None,
                    after: "new\n".into(),
                },
            ]
        );
        assert_eq!(applied.failures.len(), 2, "{:?}", applied.failures);
        assert!(
            applied.failures[0].starts_with("block 3 (b.txt): the SEARCH part matches no lines")
        );
        assert!(applied.failures[0].contains("present"));
        assert!(
            applied.failures[1].starts_with("block 4 (../evil.txt): the path ../evil.txt leaves")
        );
    }

    #[test]
    fn blocks_into_version_control_or_director_s_folder_are_refused() {
        let root = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir_all(root.path().join(".git")).expect("a folder");
        let parsed = ParsedBlocks {
            blocks: vec![
                block(".git/config", &[""], &["[core]", "hooksPath = /tmp/evil"]),
                EditBlock {
                    number: 2,
                    ..block(".director/journal.jsonl", &[""], &["{}"])
                },
            ],
            problems: Vec::new(),
        };
        let applied = apply_edit_blocks(root.path(), &parsed, |_| None);
        assert!(applied.files.is_empty());
        assert_eq!(applied.failures.len(), 2, "{:?}", applied.failures);
        assert!(
            applied.failures[0]
                .starts_with("block 1 (.git/config): the path .git/config is inside `.git`"),
            "{:?}",
            applied.failures
        );
    }
}
