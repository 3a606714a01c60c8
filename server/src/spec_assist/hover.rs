//! Hover text for specs: in code, the requirements that govern the code under the
//! cursor; on a requirement heading, its coverage; on a reference in a task or design
//! note, the text it points at; on a lint finding, why the rule exists.

use crate::spec::ears::EarsPattern;
use crate::spec::index::{
    GoverningSource, ItemPart, LinkKind, RequirementLink, SpecIndex, coverage_of,
};
use crate::spec::line_column::LineStarts;
use crate::spec::lint::Rule;
use crate::spec::model::{Statement, TaskStatus};
use crate::spec::trace::{TraceRole, TraceSource};
use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;

/// Markdown for a hover, and the byte range it is about when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecHover {
    pub markdown: String,
    pub range: Option<Range<usize>>,
}

/// The spec hover at `offset` of `path`, or `None` when nothing spec-related is there.
pub fn spec_hover(index: &SpecIndex, path: &Path, offset: usize) -> Option<SpecHover> {
    if index.spec(path).is_some() {
        let id = index.id_at(path, offset)?;
        let location = index.item(&id.key)?;
        let markdown = if location.path == path
            && location.part == ItemPart::Requirement
            && location.requirement_key == id.key
        {
            coverage_markdown(index, &id.key)?
        } else {
            referenced_markdown(index, &id.key)?
        };
        return Some(SpecHover {
            markdown,
            range: Some(id.range),
        });
    }
    let under_cursor = index.id_at(path, offset);
    let mut keys: Vec<(String, String)> = Vec::new();
    if let Some(id) = &under_cursor {
        let requirement_key = index.item(&id.key)?.requirement_key.clone();
        keys.push((requirement_key, "referenced here".to_owned()));
    }
    for governing in index.governing(path, offset) {
        if keys
            .iter()
            .any(|(key, _)| *key == governing.requirement_key)
        {
            continue;
        }
        let mut how = format!(
            "{} · {}",
            role_word(governing.role),
            source_word(governing.source)
        );
        if governing.suspect {
            how.push_str(" · ⚠ **suspect**: the requirement changed since this link was pinned");
        }
        keys.push((governing.requirement_key, how));
    }
    let blocks: Vec<String> = keys
        .iter()
        .filter_map(|(key, how)| requirement_markdown(index, key, how))
        .collect();
    if blocks.is_empty() {
        return None;
    }
    Some(SpecHover {
        markdown: blocks.join("\n\n---\n\n"),
        range: under_cursor.map(|id| id.range),
    })
}

/// A lint rule's ID, summary and rationale, for hovers on its findings.
pub fn rule_markdown(rule: &Rule) -> String {
    format!("**{}** · {}\n\n{}", rule.id, rule.summary, rule.rationale)
}

/// A requirement as a governing hover shows it: title, statements with their EARS
/// clauses, scenarios and the tasks that implement it.
fn requirement_markdown(index: &SpecIndex, key: &str, how: &str) -> Option<String> {
    let found = index.requirement(key)?;
    let requirement = found.requirement;
    let text = index.spec(&found.document.path)?.text.clone();
    let mut markdown = format!("### {}", requirement.local_id);
    if let Some(title) = &requirement.title {
        let _ = write!(markdown, " · {title}");
    }
    let _ = write!(
        markdown,
        "\n_{how}_ · `{}`\n",
        relative(index, &found.document.path)
    );
    for statement in &requirement.statements {
        let _ = write!(markdown, "\n{}\n", statement.text);
        push_ears(&mut markdown, &text, statement);
    }
    for criterion in &requirement.criteria {
        let _ = write!(
            markdown,
            "\n- **{}** {}\n",
            criterion.local_id, criterion.statement.text
        );
        push_ears(&mut markdown, &text, &criterion.statement);
    }
    for scenario in &requirement.scenarios {
        let _ = write!(markdown, "\n**Scenario: {}**\n", scenario.name);
        for step in &scenario.steps {
            let _ = writeln!(markdown, "- {}", step.text);
        }
    }
    let tasks = task_lines(index, &index.links_to(key));
    if !tasks.is_empty() {
        let _ = write!(markdown, "\nTasks: {}", tasks.join(" · "));
    }
    Some(markdown)
}

/// A requirement's coverage: counts, then every task, code site and test linking it.
fn coverage_markdown(index: &SpecIndex, key: &str) -> Option<String> {
    let found = index.requirement(key)?;
    let links = index.links_to(key);
    let coverage = coverage_of(&links, Some(&found.requirement.fingerprint));
    let mut markdown = format!(
        "**{}** coverage: {} · {} · {}",
        found.requirement.local_id,
        plural(coverage.tasks, "task"),
        plural(coverage.implementations, "implementation"),
        plural(coverage.tests, "test"),
    );
    if coverage.suspect > 0 {
        let _ = write!(markdown, " · ⚠ {} suspect", coverage.suspect);
    }
    markdown.push('\n');
    let mut lines: Vec<String> = Vec::new();
    for link in &links {
        let place = place(index, link);
        let line = match &link.kind {
            LinkKind::Task { id, status } => {
                format!(
                    "task {} {}",
                    status_box(*status),
                    id.as_deref().unwrap_or("")
                )
            }
            LinkKind::DesignProperty { id } => format!("design property {id}"),
            LinkKind::Code { role, source, .. } => {
                format!(
                    "{} · {}",
                    role_word(*role),
                    source_word(GoverningSource::Trace(*source))
                )
            }
            LinkKind::SpecSideLink { target, .. } => format!("spec link to `{target}`"),
        };
        let line = format!("\n- {} — `{place}`", line.trim_end());
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    markdown.extend(lines);
    Some(markdown)
}

/// The text a reference points at: a requirement's statements or one criterion.
fn referenced_markdown(index: &SpecIndex, key: &str) -> Option<String> {
    let location = index.item(key)?;
    let found = index.requirement(&location.requirement_key)?;
    let requirement = found.requirement;
    let title = requirement.title.as_deref().unwrap_or("");
    let mut markdown = format!("**{}** {title}\n", requirement.local_id);
    match location.part {
        ItemPart::Requirement => {
            for statement in &requirement.statements {
                let _ = write!(markdown, "\n{}\n", statement.text);
            }
            for criterion in &requirement.criteria {
                let _ = write!(
                    markdown,
                    "\n- **{}** {}",
                    criterion.local_id, criterion.statement.text
                );
            }
        }
        ItemPart::Criterion(index) => {
            let criterion = requirement.criteria.get(index)?;
            let _ = write!(
                markdown,
                "\n**{}** {}\n",
                criterion.local_id, criterion.statement.text
            );
        }
        ItemPart::Scenario(index) => {
            let scenario = requirement.scenarios.get(index)?;
            let _ = writeln!(markdown, "\n**Scenario: {}**", scenario.name);
            for step in &scenario.steps {
                let _ = writeln!(markdown, "- {}", step.text);
            }
        }
    }
    let _ = write!(markdown, "\n`{}`", relative(index, &found.document.path));
    Some(markdown)
}

fn push_ears(markdown: &mut String, text: &str, statement: &Statement) {
    let Some(ears) = &statement.ears else { return };
    let slice = |range: &Range<usize>| text.get(range.clone()).unwrap_or("").trim();
    let mut clauses = vec![format!("EARS {}", pattern_word(ears.pattern))];
    if let Some(range) = &ears.where_ {
        clauses.push(format!("where «{}»", slice(range)));
    }
    for range in &ears.while_ {
        clauses.push(format!("while «{}»", slice(range)));
    }
    if let Some(range) = &ears.when {
        clauses.push(format!("when «{}»", slice(range)));
    }
    if let Some(range) = &ears.if_ {
        clauses.push(format!("if «{}»", slice(range)));
    }
    clauses.push(format!("response «{}»", slice(&ears.response)));
    let _ = writeln!(markdown, "> {}", clauses.join(" · "));
}

fn task_lines(index: &SpecIndex, links: &[RequirementLink]) -> Vec<String> {
    links
        .iter()
        .filter_map(|link| {
            let LinkKind::Task { id, status } = &link.kind else {
                return None;
            };
            let title = index.spec(&link.path).and_then(|spec| {
                spec.document
                    .tasks
                    .iter()
                    .rev()
                    .find(|task| task.range.start <= link.range.start)
                    .map(|task| task.title.clone())
            });
            Some(
                format!(
                    "{} {} {}",
                    status_box(*status),
                    id.as_deref().unwrap_or(""),
                    title.unwrap_or_default()
                )
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            )
        })
        .fold(Vec::new(), |mut lines: Vec<String>, line| {
            if !lines.contains(&line) {
                lines.push(line);
            }
            lines
        })
}

fn place(index: &SpecIndex, link: &RequirementLink) -> String {
    let line = index
        .spec(&link.path)
        .map(|spec| spec.text.clone())
        .or_else(|| index.code_file(&link.path).map(|code| code.text.clone()))
        .map_or(0, |text| {
            LineStarts::new(&text).line_column(link.range.start).0
        });
    format!("{}:{line}", relative(index, &link.path))
}

fn relative(index: &SpecIndex, path: &Path) -> String {
    path.strip_prefix(index.root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn status_box(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Todo => "[ ]",
        TaskStatus::InProgress => "[-]",
        TaskStatus::Done => "[x]",
    }
}

fn role_word(role: TraceRole) -> &'static str {
    match role {
        TraceRole::Impl => "implements",
        TraceRole::Test => "tests",
        TraceRole::Doc => "documents",
        TraceRole::Mention => "mentions",
    }
}

fn source_word(source: GoverningSource) -> &'static str {
    match source {
        GoverningSource::Trace(TraceSource::SpecTag) => "@spec tag",
        GoverningSource::Trace(TraceSource::OpenFastTrace) => "OpenFastTrace tag",
        GoverningSource::Trace(TraceSource::StrictDoc) => "StrictDoc relation",
        GoverningSource::Trace(TraceSource::Mention) => "ID mention",
        GoverningSource::TracesGlob => "`traces:` glob",
        GoverningSource::SpecSideLink => "spec-side link",
    }
}

fn pattern_word(pattern: EarsPattern) -> &'static str {
    match pattern {
        EarsPattern::Ubiquitous => "ubiquitous",
        EarsPattern::Event => "event-driven",
        EarsPattern::State => "state-driven",
        EarsPattern::Unwanted => "unwanted behaviour",
        EarsPattern::Optional => "optional feature",
        EarsPattern::Complex => "complex",
        EarsPattern::KiroWhenThen => "event-driven (WHEN … THEN)",
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec_assist::fixture::{CODE, SPEC, TASKS, index};

    #[test]
    fn code_hover_shows_the_governing_requirement_with_scenarios_and_tasks() {
        let index = index();
        let inside_expire = CODE.find("pass").expect("fixture");
        let hover = spec_hover(&index, Path::new("/w/src/expiry.py"), inside_expire)
            .expect("a governing requirement");
        assert!(hover.markdown.contains("### AUTH-003 · Idle timeout"));
        assert!(hover.markdown.contains("implements · @spec tag"));
        assert!(hover.markdown.contains("SHALL expire idle sessions"));
        assert!(hover.markdown.contains("EARS unwanted behaviour"));
        assert!(hover.markdown.contains("**Scenario: Idle**"));
        assert!(hover.markdown.contains("Tasks: [x] 1 Expire sessions"));
    }

    #[test]
    fn a_stale_pin_is_flagged_suspect() {
        let index = index();
        let inside_test = CODE.rfind("pass").expect("fixture");
        let hover = spec_hover(&index, Path::new("/w/src/expiry.py"), inside_test).expect("hover");
        assert!(hover.markdown.contains("tests · @spec tag"));
        assert!(hover.markdown.contains("suspect"));
    }

    #[test]
    fn heading_hover_shows_coverage_and_task_reference_hover_shows_the_text() {
        let index = index();
        let on_id = SPEC.find("AUTH-003").expect("fixture") + 2;
        let coverage = spec_hover(&index, Path::new("/w/specs/auth.md"), on_id).expect("hover");
        assert!(
            coverage
                .markdown
                .contains("2 tasks · 1 implementation · 1 test"),
            "{}",
            coverage.markdown
        );
        assert!(coverage.markdown.contains("src/expiry.py:3"));
        let on_reference = TASKS.find("AUTH-003.1").expect("fixture") + 9;
        let referenced =
            spec_hover(&index, Path::new("/w/specs/tasks.md"), on_reference).expect("hover");
        assert!(referenced.markdown.contains("THE API SHALL respond 401"));
    }

    #[test]
    fn code_without_links_has_no_spec_hover() {
        let index = index();
        assert_eq!(spec_hover(&index, Path::new("/w/src/expiry.py"), 0), None);
    }
}
