//! `director check [PATH]`: the spec linter and the traceability report, headless, for
//! CI. Prints text, JSON or SARIF 2.1.0; exits 1 when any finding is an error, 2 on bad
//! usage (a path that does not exist, an unreadable `director.toml`), 0 otherwise.
//!
//! Lines and columns are 1-based; columns count Unicode code points.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rayon::prelude::*;
use serde::Serialize;

use super::workspace_root::find_spec_workspace_root;
use crate::spec::index::{Coverage, SpecIndex, coverage_of};
use crate::spec::line_column::LineStarts;
use crate::spec::lint::config::{LintPolicy, read_workspace_lint_config};
use crate::spec::lint::{Severity, all_rules, lint_file};
use crate::spec::model::{Format, RequirementKind};

/// Arguments of `director check`.
#[derive(Clone, Debug, clap::Args)]
pub struct CheckArgs {
    /// Workspace folder to check, or one file: its findings, checked within the
    /// workspace found above it (`director.toml`, `.git`, `.kiro`, `openspec`, `.specify`)
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Sarif,
}

/// The whole result of a check, as the JSON format prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub diagnostics: Vec<ReportDiagnostic>,
    pub requirements: Vec<ReportRequirement>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportDiagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub severity: Severity,
    pub code: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportRequirement {
    pub key: String,
    pub file: String,
    pub line: usize,
    pub title: Option<String>,
    pub tasks: usize,
    pub implementations: usize,
    pub tests: usize,
    pub suspect: usize,
}

/// Runs the check and prints the report on stdout.
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut stderr = std::io::stderr().lock();
    if !args.path.exists() {
        writeln!(
            stderr,
            "director check: {} does not exist",
            args.path.display()
        )?;
        return Ok(ExitCode::from(2));
    }
    // One file (a pre-commit hook passes the changed ones) is checked within its
    // workspace: the layout (`.kiro/specs/…`, `openspec/…`) and the references
    // into other files are only known from the root.
    let (root, only_file) = if args.path.is_dir() {
        (args.path.clone(), None)
    } else {
        let folder = args
            .path
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        (spec_workspace_of(&folder), Some(args.path.clone()))
    };
    let config = match read_workspace_lint_config(&root) {
        Ok(config) => config,
        Err(message) => {
            writeln!(stderr, "director check: {message}")?;
            return Ok(ExitCode::from(2));
        }
    };
    let (policy, problems) = LintPolicy::new(&config);
    for problem in problems {
        writeln!(stderr, "director check: {problem}")?;
    }
    let index = SpecIndex::build(&root);
    let report = check_index(&index, &policy, only_file.as_deref());
    let mut stdout = std::io::stdout().lock();
    match args.format {
        OutputFormat::Text => write_text(&mut stdout, &index, &report)?,
        OutputFormat::Json => writeln!(stdout, "{}", serde_json::to_string_pretty(&report)?)?,
        OutputFormat::Sarif => {
            writeln!(stdout, "{}", serde_json::to_string_pretty(&sarif(&report))?)?
        }
    }
    Ok(if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The workspace root above `folder`, written relative to the current folder when
/// it is that folder or below it, so that reports name files as a hook passes them.
fn spec_workspace_of(folder: &Path) -> PathBuf {
    let Ok(absolute) = std::fs::canonicalize(folder) else {
        return folder.to_path_buf();
    };
    let root = find_spec_workspace_root(&absolute);
    let current = std::env::current_dir().and_then(std::fs::canonicalize);
    match current.ok().and_then(|current| {
        root.strip_prefix(&current)
            .ok()
            .map(|relative| Path::new(".").join(relative))
    }) {
        Some(relative) => relative,
        None => root,
    }
}

impl CheckReport {
    /// Whether `director check` fails: any finding of error severity.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|diagnostic| diagnostic.severity == Severity::Error)
    }
}

/// Lints every indexed file (or only `only_file`) and computes coverage.
pub fn check_index(
    index: &SpecIndex,
    policy: &LintPolicy,
    only_file: Option<&Path>,
) -> CheckReport {
    let spec_paths = index.specs().map(|(path, spec)| (path, spec.text.as_ref()));
    let code_paths = index
        .code_files()
        .map(|(path, code)| (path, code.text.as_ref()));
    let files: Vec<(&Path, &str)> = spec_paths
        .chain(code_paths)
        .filter(|(path, _)| only_file.is_none_or(|only| same_file(only, path)))
        .collect();
    let diagnostics: Vec<ReportDiagnostic> = files
        .par_iter()
        .flat_map_iter(|(path, text)| {
            let lines = LineStarts::new(text);
            lint_file(index, path, policy)
                .into_iter()
                .map(move |finding| {
                    let (line, column) = lines.line_column(finding.range.start);
                    let (end_line, end_column) = lines.line_column(finding.range.end);
                    ReportDiagnostic {
                        file: display_path(path),
                        line,
                        column,
                        end_line,
                        end_column,
                        severity: finding.severity,
                        code: finding.rule.to_string(),
                        message: finding.message,
                    }
                })
        })
        .collect();
    let links = index.all_links();
    let mut requirements = Vec::new();
    for (path, spec) in index.specs() {
        let document = &spec.document;
        if document.format == Format::OpenSpecDelta
            || only_file.is_some_and(|only| !same_file(only, path))
        {
            continue;
        }
        let lines = LineStarts::new(&spec.text);
        for requirement in &document.requirements {
            if matches!(
                requirement.kind,
                RequirementKind::Defect | RequirementKind::Story
            ) {
                continue;
            }
            let coverage = coverage_of(
                links.get(&requirement.key).map_or(&[], Vec::as_slice),
                Some(&requirement.fingerprint),
            );
            requirements.push(ReportRequirement {
                key: requirement.key.clone(),
                file: display_path(path),
                line: lines.line_column(requirement.heading_range.start).0,
                title: requirement.title.clone(),
                tasks: coverage.tasks,
                implementations: coverage.implementations,
                tests: coverage.tests,
                suspect: coverage.suspect,
            });
        }
    }
    CheckReport {
        diagnostics,
        requirements,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || std::fs::canonicalize(a)
            .ok()
            .zip(std::fs::canonicalize(b).ok())
            .is_some_and(|(a, b)| a == b)
}

fn display_path(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_string).unwrap_or(text)
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
        Severity::Hint => "hint",
    }
}

fn write_text(
    out: &mut impl Write,
    index: &SpecIndex,
    report: &CheckReport,
) -> std::io::Result<()> {
    if report.diagnostics.is_empty() {
        writeln!(out, "No findings.")?;
    }
    for diagnostic in &report.diagnostics {
        writeln!(
            out,
            "{}:{}:{}: {}[{}] {}",
            diagnostic.file,
            diagnostic.line,
            diagnostic.column,
            severity_word(diagnostic.severity),
            diagnostic.code,
            diagnostic.message
        )?;
    }
    if !report.requirements.is_empty() {
        writeln!(out, "\nTraceability (tasks | impl | test):")?;
    }
    let key_width = report
        .requirements
        .iter()
        .map(|requirement| requirement.key.len())
        .max()
        .unwrap_or(0);
    for requirement in &report.requirements {
        let mut status = Vec::new();
        if requirement.tasks == 0 {
            status.push("-tasks");
        }
        if requirement.implementations == 0 {
            status.push("-impl");
        }
        if requirement.tests == 0 {
            status.push("-test");
        }
        if requirement.suspect > 0 {
            status.push("suspect");
        }
        let status = if status.is_empty() {
            "ok".to_string()
        } else {
            status.join(" ")
        };
        writeln!(
            out,
            "  {status:<20} [{} | {} | {}] {:<key_width$}  {}",
            requirement.tasks,
            requirement.implementations,
            requirement.tests,
            requirement.key,
            requirement.title.as_deref().unwrap_or(""),
        )?;
    }
    let mut per_spec: BTreeMap<String, (usize, Coverage)> = BTreeMap::new();
    for requirement in &report.requirements {
        let spec_id = requirement.key.split('#').next().unwrap_or("").to_string();
        let entry = per_spec.entry(spec_id).or_default();
        entry.0 += 1;
        entry.1.tasks += usize::from(requirement.tasks > 0);
        entry.1.implementations += usize::from(requirement.implementations > 0);
        entry.1.tests += usize::from(requirement.tests > 0);
        entry.1.suspect += requirement.suspect;
    }
    if !per_spec.is_empty() {
        writeln!(out, "\nCoverage by spec:")?;
    }
    let percent = |part: usize, total: usize| (part * 100).checked_div(total).unwrap_or(0);
    for (spec_id, (total, covered)) in &per_spec {
        writeln!(
            out,
            "  {spec_id}: {total} requirements; tasks {}% ({}/{total}), impl {}% ({}/{total}), tests {}% ({}/{total}){}",
            percent(covered.tasks, *total),
            covered.tasks,
            percent(covered.implementations, *total),
            covered.implementations,
            percent(covered.tests, *total),
            covered.tests,
            if covered.suspect > 0 {
                format!(", {} suspect links", covered.suspect)
            } else {
                String::new()
            },
        )?;
    }
    let count = |severity| {
        report
            .diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.severity == severity)
            .count()
    };
    writeln!(
        out,
        "\n{} spec files, {} files with traces; {} errors, {} warnings, {} infos, {} hints",
        index.specs().count(),
        index.code_files().count(),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
        count(Severity::Hint),
    )
}

/// The report as a SARIF 2.1.0 log.
pub fn sarif(report: &CheckReport) -> serde_json::Value {
    let level = |severity: Severity| match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info | Severity::Hint => "note",
    };
    let rules: Vec<serde_json::Value> = all_rules()
        .map(|rule| {
            serde_json::json!({
                "id": rule.id,
                "shortDescription": { "text": rule.summary },
                "fullDescription": { "text": rule.rationale },
                "defaultConfiguration": { "level": level(rule.default_severity) },
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = report
        .diagnostics
        .iter()
        .map(|diagnostic| {
            serde_json::json!({
                "ruleId": diagnostic.code,
                "ruleIndex": all_rules().position(|rule| rule.id == diagnostic.code),
                "level": level(diagnostic.severity),
                "message": { "text": diagnostic.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": diagnostic.file },
                        "region": {
                            "startLine": diagnostic.line,
                            "startColumn": diagnostic.column,
                            "endLine": diagnostic.end_line,
                            "endColumn": diagnostic.end_column,
                        }
                    }
                }],
            })
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "director",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::lint::config::LintConfig;

    fn check_folder(files: &[(&str, &str)]) -> (tempfile::TempDir, CheckReport) {
        let root = tempfile::tempdir().expect("test fixture");
        for (path, text) in files {
            let full = root.path().join(path);
            std::fs::create_dir_all(full.parent().expect("test fixture")).expect("test fixture");
            std::fs::write(full, text).expect("test fixture");
        }
        let index = SpecIndex::build(root.path());
        let policy =
            LintPolicy::new(&read_workspace_lint_config(root.path()).expect("test fixture")).0;
        let report = check_index(&index, &policy, None);
        (root, report)
    }

    const SPEC: &str = "---\ndirector-spec: 1\nspec: s\n---\n# S\n## Purpose\nP.\n## Requirements\n### S-1: One\nTHE API SHALL answer within 200 ms.\n#### Scenario: a\n- WHEN asked\n- THEN it answers\n";

    #[test]
    fn json_has_exactly_the_documented_shape() {
        let (_root, report) =
            check_folder(&[("s.md", SPEC), ("a.py", "# @spec S-1 S-404\nx = 1\n")]);
        let json = serde_json::to_value(&report).expect("test fixture");
        let diagnostics = json["diagnostics"].as_array().expect("test fixture");
        let diagnostic = diagnostics
            .iter()
            .find(|it| it["code"] == "TRC001")
            .expect("test fixture");
        let mut keys: Vec<_> = diagnostic
            .as_object()
            .expect("test fixture")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "code",
                "column",
                "end_column",
                "end_line",
                "file",
                "line",
                "message",
                "severity"
            ]
        );
        assert_eq!(diagnostic["code"], "TRC001");
        assert_eq!(diagnostic["severity"], "error");
        assert_eq!(
            (diagnostic["line"].as_u64(), diagnostic["column"].as_u64()),
            (Some(1), Some(13))
        );
        let requirement = &json["requirements"][0];
        let mut keys: Vec<_> = requirement
            .as_object()
            .expect("test fixture")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "file",
                "implementations",
                "key",
                "line",
                "suspect",
                "tasks",
                "tests",
                "title"
            ]
        );
        assert_eq!(requirement["key"], "s#S-1");
        assert_eq!(requirement["line"], 9);
        assert_eq!(requirement["implementations"], 1);
        assert!(report.has_errors());
    }

    #[test]
    fn clean_workspace_passes_and_config_silences_rules() {
        let config = "[lint.rules]\nTRC004 = \"off\"\n";
        let (_root, report) = check_folder(&[("s.md", SPEC), ("director.toml", config)]);
        assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
        assert!(!report.has_errors());
    }

    #[test]
    fn bad_usage_exits_2() {
        let missing = CheckArgs {
            path: PathBuf::from("/nonexistent/director/path"),
            format: OutputFormat::Json,
        };
        assert_eq!(run(missing).expect("test fixture"), ExitCode::from(2));
        let root = tempfile::tempdir().expect("test fixture");
        std::fs::write(root.path().join("director.toml"), "[lint]\nrules = 3\n")
            .expect("test fixture");
        let bad_config = CheckArgs {
            path: root.path().to_path_buf(),
            format: OutputFormat::Json,
        };
        assert_eq!(run(bad_config).expect("test fixture"), ExitCode::from(2));
    }

    #[test]
    fn sarif_has_the_2_1_0_shape() {
        let (_root, report) = check_folder(&[("s.md", SPEC), ("a.py", "# @spec S-404\nx = 1\n")]);
        let log = sarif(&report);
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "director");
        let result = run["results"]
            .as_array()
            .expect("test fixture")
            .iter()
            .find(|it| it["ruleId"] == "TRC001")
            .expect("test fixture");
        assert_eq!(result["ruleId"], "TRC001");
        assert_eq!(result["level"], "error");
        let rule_index = result["ruleIndex"].as_u64().expect("test fixture") as usize;
        assert_eq!(run["tool"]["driver"]["rules"][rule_index]["id"], "TRC001");
        assert_eq!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"],
            1
        );
        assert!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .expect("test fixture")
                .ends_with("a.py")
        );
    }

    #[test]
    fn login_example_reports_coverage_without_errors() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/login");
        let index = SpecIndex::build(&root);
        let report = check_index(&index, &LintPolicy::new(&LintConfig::default()).0, None);
        assert!(!report.has_errors(), "{:?}", report.diagnostics);
        let uncovered: Vec<_> = report
            .requirements
            .iter()
            .filter(|it| it.implementations == 0)
            .map(|it| it.key.as_str())
            .collect();
        assert_eq!(
            uncovered,
            ["login#LOGIN-003", "login#LOGIN-004", "login#LOGIN-007"]
        );
        let mut text = Vec::new();
        write_text(&mut text, &index, &report).expect("test fixture");
        let text = String::from_utf8(text).expect("test fixture");
        assert!(text.contains("Coverage by spec:"));
        assert!(text.contains("login: 7 requirements"));
    }
}
