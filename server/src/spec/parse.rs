//! The line recognizers (SPEC-FORMATS §1.3) that read any supported spec format into
//! the one model. Reading never fails: a file that cannot be read yields an empty
//! document with problems, and lines that look like a construct but are not one become
//! observations for the structure rules.

use std::ops::Range;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::spec::discovery::Classification;
use crate::spec::ears::{analyze_ears, find_modal};
use crate::spec::fingerprint::requirement_fingerprint;
use crate::spec::front_matter::{FrontMatterRead, read_front_matter};
use crate::spec::markdown::markdown_blocks;
use crate::spec::model::{
    Criterion, DesignProperty, FileRole, Format, Marker, MarkerKind, Observation, ObservationKind,
    ParseProblem, Requirement, RequirementKind, Scenario, Section, SpecDocument, SpecLink,
    SpecLinkKind, Statement, Task, TaskStatus,
};
use crate::spec::references::{RefExpr, inline_references, parse_reference_list};

/// Spec files larger than this are skipped with a problem instead of parsed.
pub const MAX_SPEC_FILE_BYTES: usize = 2 * 1024 * 1024;

/// Reads raw file bytes: binary, huge and non-UTF-8 files give an empty document
/// carrying a problem; everything else is parsed.
pub fn parse_spec_bytes(
    path: &Path,
    classification: &Classification,
    bytes: &[u8],
) -> SpecDocument {
    let problem = if bytes.len() > MAX_SPEC_FILE_BYTES {
        Some(format!(
            "spec file is {} bytes, over the {MAX_SPEC_FILE_BYTES}-byte limit; not read",
            bytes.len()
        ))
    } else if memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
        Some("spec file looks binary; not read".to_string())
    } else {
        None
    };
    match (problem, std::str::from_utf8(bytes)) {
        (None, Ok(text)) => parse_spec_text(path, classification, text),
        (Some(message), _) => empty_document(path, classification, message),
        (None, Err(error)) => empty_document(
            path,
            classification,
            format!("spec file is not UTF-8 ({error}); not read"),
        ),
    }
}

/// Parses a spec file's text into the model.
pub fn parse_spec_text(path: &Path, classification: &Classification, text: &str) -> SpecDocument {
    let mut parser = LineParser::new(path, classification, text);
    parser.run();
    parser.finish()
}

fn empty_document(path: &Path, classification: &Classification, message: String) -> SpecDocument {
    let mut document = new_document(path, classification);
    document.problems.push(ParseProblem {
        message,
        range: 0..0,
    });
    document
}

fn new_document(path: &Path, classification: &Classification) -> SpecDocument {
    SpecDocument {
        path: path.to_path_buf(),
        spec_id: classification.spec_id.clone(),
        format: classification.format,
        role: classification.role,
        title: None,
        status: None,
        ears: None,
        traces: Vec::new(),
        sections: Vec::new(),
        requirements: Vec::new(),
        properties: Vec::new(),
        tasks: Vec::new(),
        markers: Vec::new(),
        links: Vec::new(),
        observations: Vec::new(),
        problems: Vec::new(),
    }
}

/// Turns a heading into an OpenSpec-style identifier.
pub fn slug(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for character in text.chars() {
        if character.is_alphanumeric() {
            slug.extend(character.to_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

macro_rules! static_regex {
    ($name:ident, $pattern:expr) => {
        static $name: LazyLock<Regex> =
            LazyLock::new(|| Regex::new($pattern).expect("static regex"));
    };
}

static_regex!(HEADING, r"^(#{1,6})\s+(.*?)\s*#*\s*$");
static_regex!(OPENSPEC_REQUIREMENT, r"^Requirement:\s*(?P<name>.+?)\s*$");
static_regex!(
    KIRO_REQUIREMENT,
    r"^(?:Requirement|Requisito|Requisit|Exigence|Anforderung|Требование|要件|需求|요구사항)\s*(?P<n>\d+)(?:\s*[:：.\-–—]\s*(?P<title>.+))?$"
);
static_regex!(
    ACCEPTANCE_CRITERIA_TITLE,
    r"(?i)^(?:\*\*)?(?:acceptance criteria|criterios de aceptación|critérios de aceitação|critères d'acceptation|akzeptanzkriterien|критерии приемки|критерии приёмки|受入基準|受け入れ基準|验收标准|驗收標準|수락 기준|인수 기준)"
);
static_regex!(
    KEYWORD_CRITERION,
    r"^\s*(?:[-*+]\s+)?(?:\*\*)?(?i:when|if|while|where|the|given)\b"
);
static_regex!(
    GENERIC_REQUIREMENT,
    r"^(?P<id>[A-Z][A-Z0-9]*(?:[-_][A-Z0-9]+)*[-_]\d+[a-z]?)\s*[:.\-–—]\s*(?P<title>.+)$"
);
static_regex!(
    USER_STORY,
    r"^User Story\s+(?P<k>\d+)\s*[-–—:]\s*(?P<title>.+?)(?:\s*\(Priority:\s*(?P<p>P\d+)\))?\s*(?:🎯.*)?$"
);
static_regex!(
    PROPERTY_HEADING,
    r"^Property\s+(?P<n>\d+)\s*:\s*(?P<title>.+)$"
);
static_regex!(SCENARIO_HEADING, r"^Scenario:\s*(?P<name>.+)$");
static_regex!(
    DELTA_HEADER,
    r"^(ADDED|MODIFIED|REMOVED|RENAMED)\s+Requirements\s*$"
);
static_regex!(GROUP_HEADING, r"^(?P<g>\d+)\.\s+");
static_regex!(PHASE_HEADING, r"^Phase\s+\d+");
static_regex!(TASK_HEADING, r"^Task\s+\d+(?:\.\d+)*\b");
static_regex!(GROUP_TASK_HEADING, r"^Task\s+\d+\s*[:：]\s*\S");
static_regex!(
    SPECKIT_REQUIREMENT,
    r"^\s*[-*]\s+\*\*(?P<id>(?:FR|NFR|SC|C|REQ)-\d{2,})\*\*\s*:\s*(?P<text>.+)$"
);
static_regex!(
    OFT_ITEM,
    r"^`(?P<id>[a-z]+~\p{L}[\p{L}\p{N}_.\-]*~\d+)`\s*$"
);
static_regex!(ID_LINE, r"^\*\*(?:ID|UID)\*\*:\s*(?P<id>\S+)");
static_regex!(ORDERED_ITEM, r"^\s*(?P<m>\d+[a-z]?)[.)]\s+(?P<text>.+)$");
static_regex!(
    EXPLICIT_CRITERION,
    r"^\s*(?P<n>\d+)\.(?P<m>\d+)\.?\s+(?P<text>.+)$"
);
static_regex!(
    SCENARIO_STEP,
    r"(?i)^\s*[-*]\s+(?:\*\*)?(?P<kw>GIVEN|WHEN|THEN|AND|BUT)(?:\*\*)?\s+(?P<text>.+)$"
);
static_regex!(
    SPECKIT_SCENARIO,
    r"^\s*(?P<i>\d+)\.\s+\*\*Given\*\*\s+.+?,\s*\*\*When\*\*\s+.+?,\s*\*\*Then\*\*\s+.+$"
);
static_regex!(
    TASK_LINE,
    r"^(?P<ind>\s*)[-*+]\s+\[(?P<box>[ xX\-~/])\](?P<opt>\*)?\s+(?P<rest>.*)$"
);
static_regex!(
    MALFORMED_BOX,
    r"^\s*[-*+]\s+\[(?:\s*[xX]\s+|\s+[xX]\s*|\s{2,}|xx|XX|)\](?:[^(]|$)"
);
static_regex!(
    TASK_WITHOUT_BOX,
    r"^\s*[-*+]\s+(?:\*\*\d+(?:\.\d+)*\.?\*\*|\d+(?:\.\d+)*\.|\d+(?:\.\d+)+)\s+\S"
);
static_regex!(
    BOX_SPACING,
    r"^\s*(?:[-*+]\[[ xX\-~/]\]\*?\s*\S|[-*+]\s+\[[ xX\-~/]\]\*?[^\s*]|\[[ xX\-~/]\]\*?\s+\S)"
);
static_regex!(EMPTY_TASK, r"^\s*[-*+]\s*\[[ xX\-~/]\]\*?\s*$");
static_regex!(
    ORDERED_TASK_WITHOUT_BOX,
    r"^\s*(?:\*\*)?(?:\d+\.(?:\d+\.?)*|\d+\))(?:\*\*)?\s+\S"
);
static_regex!(TASK_ID_BOLD, r"^\*\*(?P<id>\d+(?:\.\d+)*)\*\*\s+");
static_regex!(TASK_ID_NUMBER, r"^(?P<id>\d+(?:\.\d+)*)\.?\s+");
static_regex!(TASK_ID_SPECKIT, r"^(?P<id>T\d{3,})\b\s*");
static_regex!(
    REQUIREMENTS_REF,
    r"(?:_Requirements?:\s*(?P<a>[^_]+)_|\*\*Requirements?\*\*:\s*(?P<b>.+)$|^\s*[-*]\s+Requirements?:\s*(?P<c>.+)$|Implements requirements?\s+(?P<d>[A-Za-z0-9.,\s\-–]+))"
);
static_regex!(
    VALIDATES_REF,
    r"(?:\*\*Validates:\s*(?:Requirements?\s+)?(?P<a>[^*]+)\*\*|_Validates:\s*(?:Requirements?\s+)?(?P<b>[^_]+)_)"
);
static_regex!(
    DEPENDS_REF,
    r"(?:_Depends:\s*(?P<a>[^_]+)_|\(depends on (?P<b>T\d{3,}(?:,\s*T\d{3,})*)\))"
);
static_regex!(
    NEEDS_CLARIFICATION,
    r"\[NEEDS CLARIFICATION(?::\s*(?P<q>[^\]]*))?\]|\bNEEDS CLARIFICATION\b"
);
static_regex!(
    INCOMPLETE,
    r"\b(?:TBD|TBC|TBR|TBS|TBE|TBA|TODO|FIXME|XXX|TKTK)\b|\?\?\?|<placeholder>|\bnot (?:defined|determined)\b"
);
static_regex!(
    TEMPLATE,
    r"\[(?P<inner>[A-Z][A-Z0-9 #_/-]{2,}|e\.g\.,[^\]]*|###-[a-z-]+)\]|\$ARGUMENTS|\{[a-z_]+\}|<!--[^>]*ACTION REQUIRED"
);
static_regex!(
    ID_SHAPED,
    r"^(?:[A-Z]+-?\d+|US\d+|NEEDS CLARIFICATION.*|TBD|TBC|TBR|TBS|TBE|TBA|TODO|FIXME|XXX|TKTK)$"
);
static_regex!(
    SPEC_LINK,
    r"\[@(?P<kind>test|generate|describe|use|impl)\]\((?P<path>[^)#\s]+)(?:#L\d+(?:-L\d+)?)?\)"
);
static_regex!(
    PIN_COMMENT,
    r"\s*<!--\s*(?:id:\s*)?(?P<id>[A-Za-z0-9][A-Za-z0-9._/-]*)\s*-->\s*$"
);

/// Front matter keys Director understands in native and Tessl files.
const KNOWN_FRONT_MATTER_KEYS: &[&str] = &[
    "director-spec",
    "spec",
    "status",
    "traces",
    "ears",
    "title",
    "name",
    "description",
    "targets",
    "inclusion",
    "fileMatchPattern",
    "owner",
    "version",
    "tags",
];

/// What the lines under the current requirement currently mean.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyMode {
    Normal,
    AcceptanceCriteria,
    AcceptanceScenarios,
}

/// What a requirement heading (or heading-like line) says about the requirement.
struct RequirementHeading {
    local_id: String,
    title: Option<String>,
    aliases: Vec<String>,
    kind: RequirementKind,
    /// Heading level; a later heading at this level or above closes the requirement.
    level: usize,
    heading_range: Range<usize>,
    id_range: Option<Range<usize>>,
}

struct OpenRequirement {
    index: usize,
    heading_level: usize,
    mode: BodyMode,
    scenario: Option<usize>,
    /// The level of the `#### Acceptance Criteria` heading: sub-headings below it
    /// (`##### Header`) group criteria without ending them.
    criteria_heading_level: Option<usize>,
    /// The indentation of the first criterion; deeper numbered items are detail.
    criteria_indent: Option<usize>,
    /// The number of the last `N.` criterion, which a `N.M.` line right after it
    /// refines.
    last_criterion_number: Option<String>,
}

struct LineParser<'a> {
    text: &'a str,
    document: SpecDocument,
    body_start: usize,
    in_requirements_section: bool,
    delta: Option<String>,
    in_capabilities_section: bool,
    in_clarifications: bool,
    bugfix_kind: Option<RequirementKind>,
    requirement: Option<OpenRequirement>,
    property: Option<usize>,
    task: Option<usize>,
    task_indents: Vec<(usize, usize)>,
    /// The smallest indentation of a task in the current section: numbered lines
    /// no deeper than it stand where tasks stand.
    section_task_indent: Option<usize>,
    group: Option<u32>,
    phase: Option<String>,
    open_sections: Vec<usize>,
}

impl<'a> LineParser<'a> {
    fn new(path: &Path, classification: &Classification, text: &'a str) -> Self {
        let mut document = new_document(path, classification);
        let body_start = match read_front_matter(text) {
            FrontMatterRead::Absent => 0,
            FrontMatterRead::Unterminated => {
                document.problems.push(ParseProblem {
                    message: "front matter has no closing `---` line; read as body text"
                        .to_string(),
                    range: 0..3,
                });
                0
            }
            FrontMatterRead::Present(front_matter) => {
                if let Some(spec_id) = front_matter.scalar("spec").filter(|it| !it.is_empty()) {
                    document.spec_id = spec_id.to_string();
                } else if let Some(name) = front_matter.scalar("name").filter(|it| !it.is_empty()) {
                    if document.format == Format::Tessl {
                        document.spec_id = name.to_string();
                    }
                }
                document.status = front_matter.scalar("status").map(str::to_string);
                document.ears = front_matter.scalar("ears").map(str::to_string);
                document.title = front_matter.scalar("title").map(str::to_string);
                document.traces = front_matter.list("traces");
                document.traces.extend(front_matter.list("targets"));
                if let Some(version) = front_matter.scalar("director-spec") {
                    if version != "1" {
                        document.problems.push(ParseProblem {
                            message: format!(
                                "unsupported `director-spec: {version}`; read as version 1"
                            ),
                            range: 0..front_matter.range.end,
                        });
                    }
                }
                if document.format == Format::Native {
                    for entry in &front_matter.entries {
                        if !KNOWN_FRONT_MATTER_KEYS.contains(&entry.key.as_str()) {
                            document.problems.push(ParseProblem {
                                message: format!(
                                    "unknown front matter key `{}`; ignored",
                                    entry.key
                                ),
                                range: entry.key_range.clone(),
                            });
                        }
                    }
                }
                front_matter.range.end
            }
        };
        LineParser {
            text,
            document,
            body_start,
            in_requirements_section: false,
            delta: None,
            in_capabilities_section: false,
            in_clarifications: false,
            bugfix_kind: None,
            requirement: None,
            property: None,
            task: None,
            task_indents: Vec::new(),
            section_task_indent: None,
            group: None,
            phase: None,
            open_sections: Vec::new(),
        }
    }

    fn run(&mut self) {
        let blocks = markdown_blocks(self.text);
        for error in &blocks.error_ranges {
            self.document.problems.push(ParseProblem {
                message: "malformed Markdown; read line by line".to_string(),
                range: error.clone(),
            });
        }
        let text = self.text;
        let mut offset = self.body_start;
        for raw_line in text[self.body_start..].split_inclusive('\n') {
            let start = offset;
            offset += raw_line.len();
            if blocks.in_code_block(start) {
                continue;
            }
            let line = raw_line.trim_end_matches(['\n', '\r']);
            self.line(line, start);
        }
        self.close_sections(1, text.len());
        self.close_requirement(text.len());
    }

    fn finish(mut self) -> SpecDocument {
        for requirement in &mut self.document.requirements {
            requirement.fingerprint = requirement_fingerprint(requirement);
        }
        // `## Task 1: Setup` over checkbox tasks is a group heading, not a task.
        let document = &mut self.document;
        let tasks = &document.tasks;
        let sections = &document.sections;
        document.observations.retain(|observation| {
            observation.kind != ObservationKind::HeadingUsedAsTask
                || !sections
                    .iter()
                    .filter(|section| {
                        section.heading_range == observation.range
                            && GROUP_TASK_HEADING.is_match(&section.title)
                    })
                    .any(|section| {
                        tasks
                            .iter()
                            .any(|task| section.body_range.contains(&task.range.start))
                    })
        });
        self.document
    }

    fn line(&mut self, line: &str, start: usize) {
        if let Some(captures) = HEADING.captures(line) {
            let level = captures[1].len();
            let title_match = captures
                .get(2)
                .map_or(start..start, |it| start + it.start()..start + it.end());
            self.heading(
                level,
                &self.text[title_match.clone()],
                title_match,
                start..start + line.len(),
            );
            return;
        }
        self.scan_markers(line, start);
        if self.in_clarifications {
            return;
        }
        self.scan_links(line, start);
        if self.task_line(line, start) {
            return;
        }
        self.task_detail(line, start);
        self.requirement_line(line, start);
    }

    fn heading(
        &mut self,
        level: usize,
        title: &str,
        title_range: Range<usize>,
        line_range: Range<usize>,
    ) {
        self.close_sections(level, line_range.start);
        self.document.sections.push(Section {
            level,
            title: title.to_string(),
            heading_range: line_range.clone(),
            body_range: line_range.end..line_range.end,
        });
        self.open_sections.push(self.document.sections.len() - 1);
        self.task = None;
        self.section_task_indent = None;
        self.property = None;
        if TASK_HEADING.is_match(title) {
            self.observe(ObservationKind::HeadingUsedAsTask, line_range.clone());
        }
        if PHASE_HEADING.is_match(title) {
            self.phase = Some(title.to_string());
        }
        if let Some(open) = &mut self.requirement {
            if level > open.heading_level {
                let open_index = open.index;
                if let Some(captures) = SCENARIO_HEADING.captures(title) {
                    if level != 4 {
                        self.observe(ObservationKind::ScenarioWrongLevel, line_range.clone());
                        // OpenSpec only reads `####` scenarios; another level is
                        // none at all, as `openspec validate` counts them.
                        if matches!(
                            self.document.format,
                            Format::OpenSpec | Format::OpenSpecDelta
                        ) {
                            if let Some(open) = &mut self.requirement {
                                open.scenario = None;
                                open.mode = BodyMode::Normal;
                            }
                            return;
                        }
                    }
                    let name = captures["name"].trim().to_string();
                    let requirement = &mut self.document.requirements[open_index];
                    let key = format!("{}/{}", requirement.key, slug(&name));
                    requirement.scenarios.push(Scenario {
                        key,
                        name,
                        steps: Vec::new(),
                        range: line_range.clone(),
                    });
                    let scenario_index = requirement.scenarios.len() - 1;
                    if let Some(open) = &mut self.requirement {
                        open.scenario = Some(scenario_index);
                        open.mode = BodyMode::Normal;
                    }
                    return;
                }
                open.scenario = None;
                let below_criteria_heading = open.mode == BodyMode::AcceptanceCriteria
                    && open.criteria_heading_level.is_some_and(|it| level > it);
                if ACCEPTANCE_CRITERIA_TITLE.is_match(title) {
                    open.mode = BodyMode::AcceptanceCriteria;
                    open.criteria_heading_level = Some(level);
                } else if !below_criteria_heading {
                    open.mode = BodyMode::Normal;
                    open.criteria_heading_level = None;
                }
                return;
            }
            self.close_requirement(line_range.start);
        }
        if level == 1 && self.document.title.is_none() {
            self.document.title = Some(title.to_string());
        }
        if level <= 2 {
            self.in_requirements_section = title.to_ascii_lowercase().starts_with("requirements");
            self.in_capabilities_section = title.eq_ignore_ascii_case("capabilities");
            self.in_clarifications = title.eq_ignore_ascii_case("clarifications");
            self.delta = DELTA_HEADER.captures(title).map(|it| it[1].to_string());
            self.bugfix_kind = None;
            if self.delta.is_some() {
                if self.document.format == Format::OpenSpecDelta {
                    self.in_requirements_section = true;
                } else {
                    self.observe(ObservationKind::DeltaHeaderInMainSpec, line_range.clone());
                }
            }
            if level == 2 {
                self.group = GROUP_HEADING
                    .captures(title)
                    .and_then(|it| it["g"].parse().ok());
                if !PHASE_HEADING.is_match(title) {
                    self.phase = None;
                }
            }
        }
        if self.document.format == Format::KiroBugfix && level >= 2 {
            let lowered = title.to_ascii_lowercase();
            if lowered.starts_with("current behavior") {
                self.bugfix_kind = Some(RequirementKind::Defect);
            } else if lowered.starts_with("expected behavior") {
                self.bugfix_kind = Some(RequirementKind::Expected);
            } else if lowered.starts_with("unchanged behavior") {
                self.bugfix_kind = Some(RequirementKind::Preservation);
            }
        }
        let title_start = title_range.start;
        // Only requirement-role files define requirements: a plan's `### AC-001:` or
        // a task list's `### User Story 1` heading cites them.
        let defines = self.document.role == FileRole::Requirements;
        if let Some(captures) = OPENSPEC_REQUIREMENT
            .captures(title)
            .filter(|_| defines && level == 3)
        {
            let name = captures["name"].to_string();
            let outside = !self.in_requirements_section;
            self.open_requirement(RequirementHeading {
                local_id: slug(&name),
                title: Some(name.clone()),
                aliases: vec![name],
                kind: RequirementKind::Functional,
                level,
                heading_range: line_range,
                id_range: None,
            });
            if let Some(requirement) = self.document.requirements.last_mut() {
                requirement.outside_requirements_section = outside;
            }
        } else if let Some(captures) = KIRO_REQUIREMENT
            .captures(title)
            .filter(|_| defines && level == 3)
        {
            let number = &captures["n"];
            let title = captures.name("title").map(|it| it.as_str().to_string());
            let aliases = vec![format!("Requirement {number}")];
            self.open_requirement(RequirementHeading {
                local_id: format!("R{number}"),
                title,
                aliases,
                kind: RequirementKind::Functional,
                level,
                heading_range: line_range,
                id_range: None,
            });
        } else if let Some(captures) = GENERIC_REQUIREMENT
            .captures(title)
            .filter(|_| defines && (2..=4).contains(&level))
        {
            let id = captures.name("id").map(|it| it.range());
            let id_range = id
                .clone()
                .map(|it| title_start + it.start..title_start + it.end);
            let local_id = captures["id"].to_string();
            let title = captures["title"].to_string();
            self.open_requirement(RequirementHeading {
                local_id,
                title: Some(title),
                aliases: Vec::new(),
                kind: RequirementKind::Functional,
                level,
                heading_range: line_range,
                id_range,
            });
        } else if let Some(captures) = USER_STORY.captures(title).filter(|_| defines && level == 3)
        {
            let local_id = format!("US{}", &captures["k"]);
            let title = captures["title"].to_string();
            self.open_requirement(RequirementHeading {
                local_id,
                title: Some(title),
                aliases: Vec::new(),
                kind: RequirementKind::Story,
                level,
                heading_range: line_range,
                id_range: None,
            });
        } else if let Some(captures) = PROPERTY_HEADING.captures(title).filter(|_| level >= 3) {
            self.document.properties.push(DesignProperty {
                local_id: format!("P{}", &captures["n"]),
                title: captures["title"].to_string(),
                validates: Vec::new(),
                range: line_range,
            });
            self.property = Some(self.document.properties.len() - 1);
        } else if self.in_capabilities_section
            && self.document.format == Format::Tessl
            && level == 3
        {
            self.open_requirement(RequirementHeading {
                local_id: slug(title),
                title: Some(title.to_string()),
                aliases: vec![title.to_string()],
                kind: RequirementKind::Functional,
                level,
                heading_range: line_range,
                id_range: None,
            });
        }
    }

    fn open_requirement(&mut self, heading: RequirementHeading) {
        let RequirementHeading {
            local_id,
            title,
            aliases,
            kind,
            level: heading_level,
            heading_range,
            id_range,
        } = heading;
        self.close_requirement(heading_range.start);
        let requirement = Requirement {
            key: format!("{}#{local_id}", self.document.spec_id),
            local_id,
            aliases,
            title,
            kind,
            statements: Vec::new(),
            criteria: Vec::new(),
            scenarios: Vec::new(),
            fingerprint: String::new(),
            range: heading_range.start..heading_range.end,
            heading_range,
            id_range,
            outside_requirements_section: false,
            delta: self.delta.clone(),
        };
        self.document.requirements.push(requirement);
        self.requirement = Some(OpenRequirement {
            index: self.document.requirements.len() - 1,
            heading_level,
            mode: BodyMode::Normal,
            scenario: None,
            criteria_heading_level: None,
            criteria_indent: None,
            last_criterion_number: None,
        });
    }

    fn close_requirement(&mut self, end: usize) {
        if let Some(open) = self.requirement.take() {
            let requirement = &mut self.document.requirements[open.index];
            requirement.range.end = end.max(requirement.range.end);
            if let Some(scenario) = requirement.scenarios.last_mut() {
                scenario.range.end = scenario.range.end.max(end);
            }
        }
    }

    fn close_sections(&mut self, level: usize, end: usize) {
        while let Some(&index) = self.open_sections.last() {
            if self.document.sections[index].level < level {
                break;
            }
            self.document.sections[index].body_range.end = end;
            self.open_sections.pop();
        }
    }

    fn observe(&mut self, kind: ObservationKind, range: Range<usize>) {
        self.document.observations.push(Observation { kind, range });
    }

    fn statement(&self, text: &str, range: Range<usize>) -> Statement {
        let modal = find_modal(text).map(|(modal, _)| modal);
        let ears = modal.and_then(|_| analyze_ears(text, range.start));
        Statement {
            text: text.to_string(),
            range,
            modal,
            ears,
        }
    }

    /// Recognizes a task line (R5); returns whether the line was one.
    fn task_line(&mut self, line: &str, start: usize) -> bool {
        let in_tasks_file = self.document.role == FileRole::Tasks;
        let empty = in_tasks_file && EMPTY_TASK.is_match(line);
        let captures = match TASK_LINE.captures(line) {
            Some(captures) if !empty => captures,
            _ => return self.not_quite_a_task_line(line, start, empty),
        };
        if matches!(
            self.document.role,
            FileRole::Checklist | FileRole::Requirements
        ) && self.requirement.is_some()
        {
            return false;
        }
        let indent = indent_width(&captures["ind"]);
        let status = match &captures["box"] {
            " " => TaskStatus::Todo,
            "x" | "X" => TaskStatus::Done,
            _ => TaskStatus::InProgress,
        };
        let box_start = start + captures.name("box").map_or(0, |it| it.start());
        let rest_match = captures.name("rest").map_or(0..0, |it| it.range());
        let mut rest = &line[rest_match.clone()];
        let mut id = None;
        for pattern in [&*TASK_ID_BOLD, &*TASK_ID_NUMBER, &*TASK_ID_SPECKIT] {
            if let Some(id_captures) = pattern.captures(rest) {
                id = Some(id_captures["id"].to_string());
                rest = &rest[id_captures.get(0).map_or(0, |it| it.end())..];
                break;
            }
        }
        let mut parallel = false;
        if let Some(after) = rest.strip_prefix("(P)") {
            parallel = true;
            rest = after.trim_start();
        }
        let mut story = None;
        loop {
            if let Some(after) = rest.strip_prefix("[P]") {
                parallel = true;
                rest = after.trim_start();
            } else if let Some(end) = rest.strip_prefix("[US").and_then(|after| after.find(']')) {
                story = Some(rest[1..end + 3].to_string());
                rest = rest[end + 4..].trim_start();
            } else {
                break;
            }
        }
        let optional = captures.name("opt").is_some();
        let parent = self.task_parent(id.as_deref(), indent);
        if optional
            && parent.is_none()
            && indent == 0
            && id.as_deref().is_some_and(|it| !it.contains('.'))
        {
            self.observe(
                ObservationKind::OptionalTopLevelTask,
                start..start + line.len(),
            );
        }
        let rest_base = start + rest_match.start + (rest_match.len() - rest.len());
        let mut refs = inline_references(rest, rest_base);
        let mut depends = Vec::new();
        if let Some(depends_captures) = DEPENDS_REF.captures(rest) {
            if let Some(list) = depends_captures.name("b") {
                depends.extend(list.as_str().split(',').map(|it| it.trim().to_string()));
            }
        }
        if let Some(ref_captures) = REQUIREMENTS_REF.captures(rest) {
            if let Some(list) = ref_captures.name("d") {
                refs = parse_reference_list(list.as_str(), rest_base + list.start());
            }
        }
        self.document.tasks.push(Task {
            id,
            title: rest.trim().to_string(),
            status,
            optional,
            parallel,
            story,
            refs,
            depends,
            validates: Vec::new(),
            parent,
            group: self.group,
            phase: self.phase.clone(),
            range: start..start + line.len(),
            box_range: box_start..box_start + 1,
        });
        let index = self.document.tasks.len() - 1;
        self.task = Some(index);
        self.section_task_indent =
            Some(self.section_task_indent.map_or(indent, |it| it.min(indent)));
        self.task_indents
            .retain(|(open_indent, _)| *open_indent < indent);
        self.task_indents.push((indent, index));
        true
    }

    /// Records a line that looks like a task but is not one (SPEC013), so that the
    /// lens that starts tasks never disappears without a reason; returns whether the
    /// line is consumed (it is then neither a task detail nor requirement text).
    fn not_quite_a_task_line(&mut self, line: &str, start: usize, empty: bool) -> bool {
        let range = start..start + line.len();
        if MALFORMED_BOX.is_match(line) {
            self.observe(ObservationKind::MalformedCheckbox, range);
            return true;
        }
        if self.document.role != FileRole::Tasks {
            return false;
        }
        let kind = if empty {
            ObservationKind::EmptyTask
        } else if BOX_SPACING.is_match(line) {
            ObservationKind::TaskBoxSpacing
        } else if self.is_sibling_of_open_task(line)
            && (TASK_WITHOUT_BOX.is_match(line) || ORDERED_TASK_WITHOUT_BOX.is_match(line))
        {
            ObservationKind::TaskWithoutCheckbox
        } else {
            return false;
        };
        self.observe(kind, range);
        // What follows belongs to the malformed line, not to the task before it.
        self.task = None;
        true
    }

    /// Whether a numbered line stands where a task would: no deeper than the tasks
    /// of its section, or, for bulleted items, in a section with no task yet.
    fn is_sibling_of_open_task(&self, line: &str) -> bool {
        match self.section_task_indent {
            None => self.task.is_none() && TASK_WITHOUT_BOX.is_match(line),
            Some(task_indent) => indent_width(line) <= task_indent,
        }
    }

    fn task_parent(&self, id: Option<&str>, indent: usize) -> Option<usize> {
        if let Some((prefix, _)) = id.and_then(|id| id.rsplit_once('.')) {
            if let Some(parent) = self
                .document
                .tasks
                .iter()
                .rposition(|task| task.id.as_deref() == Some(prefix))
            {
                return Some(parent);
            }
        }
        self.task_indents
            .iter()
            .rev()
            .find(|(open_indent, _)| *open_indent < indent)
            .map(|(_, index)| *index)
    }

    /// Sub-bullets of the current task or design property: requirement references,
    /// validations and dependencies (R6).
    fn task_detail(&mut self, line: &str, start: usize) {
        if line.trim().is_empty() {
            return;
        }
        if let Some(captures) = VALIDATES_REF.captures(line) {
            let list = captures.name("a").or_else(|| captures.name("b"));
            if let Some(list) = list {
                let references = parse_reference_list(list.as_str(), start + list.start());
                if let Some(index) = self.task {
                    self.document.tasks[index].validates.extend(references);
                } else if let Some(index) = self.property {
                    self.document.properties[index].validates.extend(references);
                }
            }
        }
        let Some(index) = self.task else {
            return;
        };
        if let Some(captures) = REQUIREMENTS_REF.captures(line) {
            let list = captures
                .name("a")
                .or_else(|| captures.name("b"))
                .or_else(|| captures.name("c"))
                .or_else(|| captures.name("d"));
            if let Some(list) = list {
                let references =
                    parse_reference_list(list.as_str().trim_end_matches('_'), start + list.start());
                let task = &mut self.document.tasks[index];
                task.refs
                    .retain(|reference| !matches!(reference, RefExpr::Id { inferred: true, .. }));
                task.refs.extend(references);
            }
        } else if let Some(captures) = DEPENDS_REF.captures(line) {
            if let Some(list) = captures.name("a").or_else(|| captures.name("b")) {
                let task = &mut self.document.tasks[index];
                task.depends.extend(
                    list.as_str()
                        .split(',')
                        .map(|it| it.trim().to_string())
                        .filter(|it| !it.is_empty()),
                );
            }
        }
    }

    fn requirement_line(&mut self, line: &str, start: usize) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return;
        }
        let line_range = start..start + line.len();
        if self.document.role != FileRole::Requirements {
            return;
        }
        if let Some(captures) = SPECKIT_REQUIREMENT.captures(line) {
            let local_id = captures["id"].to_string();
            let text_match = captures.name("text").map_or(0..0, |it| it.range());
            let id_match = captures.name("id").map_or(0..0, |it| it.range());
            let kind = if local_id.starts_with("SC-") {
                RequirementKind::SuccessCriterion
            } else {
                RequirementKind::Functional
            };
            let statement = self.statement(
                &line[text_match.clone()],
                start + text_match.start..start + text_match.end,
            );
            let requirement = Requirement {
                key: format!("{}#{local_id}", self.document.spec_id),
                local_id,
                aliases: Vec::new(),
                title: None,
                kind,
                statements: vec![statement],
                criteria: Vec::new(),
                scenarios: Vec::new(),
                fingerprint: String::new(),
                range: line_range.clone(),
                heading_range: line_range,
                id_range: Some(start + id_match.start..start + id_match.end),
                outside_requirements_section: false,
                delta: self.delta.clone(),
            };
            self.document.requirements.push(requirement);
            return;
        }
        if let Some(captures) = OFT_ITEM.captures(trimmed) {
            let local_id = captures["id"].to_string();
            self.open_requirement(RequirementHeading {
                local_id,
                title: None,
                aliases: Vec::new(),
                kind: RequirementKind::Functional,
                level: 7,
                heading_range: line_range,
                id_range: None,
            });
            return;
        }
        if self.requirement.is_none() && self.document.format == Format::KiroBugfix {
            if let (Some(kind), Some(captures)) =
                (self.bugfix_kind, EXPLICIT_CRITERION.captures(line))
            {
                let local_id = format!("{}.{}", &captures["n"], &captures["m"]);
                let text_match = captures.name("text").map_or(0..0, |it| it.range());
                let statement = self.statement(
                    &line[text_match.clone()],
                    start + text_match.start..start + text_match.end,
                );
                self.document.requirements.push(Requirement {
                    key: format!("{}#{local_id}", self.document.spec_id),
                    local_id,
                    aliases: Vec::new(),
                    title: None,
                    kind,
                    statements: vec![statement],
                    criteria: Vec::new(),
                    scenarios: Vec::new(),
                    fingerprint: String::new(),
                    range: line_range.clone(),
                    heading_range: line_range,
                    id_range: None,
                    outside_requirements_section: false,
                    delta: None,
                });
            }
            return;
        }
        let Some(open) = &mut self.requirement else {
            return;
        };
        let open_index = open.index;
        if let Some(captures) = ID_LINE.captures(trimmed) {
            let leading = line.len() - line.trim_start().len();
            let id_match = captures.name("id").map_or(0..0, |it| it.range());
            let id = captures["id"].trim_end_matches(['*', '.']).to_string();
            let spec_id = self.document.spec_id.clone();
            let requirement = &mut self.document.requirements[open_index];
            let previous = std::mem::replace(&mut requirement.local_id, id.clone());
            if !requirement.aliases.contains(&previous) {
                requirement.aliases.push(previous);
            }
            requirement.key = format!("{spec_id}#{id}");
            requirement.id_range =
                Some(start + leading + id_match.start..start + leading + id_match.start + id.len());
            return;
        }
        let lowered = trimmed.to_ascii_lowercase();
        if trimmed.starts_with("**") && ACCEPTANCE_CRITERIA_TITLE.is_match(trimmed) {
            open.mode = BodyMode::AcceptanceCriteria;
            open.criteria_heading_level = None;
            return;
        }
        if lowered.starts_with("**acceptance scenarios") {
            open.mode = BodyMode::AcceptanceScenarios;
            return;
        }
        if lowered.starts_with("**independent test") || lowered.starts_with("**why this priority") {
            return;
        }
        if trimmed.starts_with("<!--") {
            return;
        }
        if let Some(scenario_index) = open.scenario {
            if let Some(captures) = SCENARIO_STEP.captures(line) {
                let text_match = captures.get(0).map_or(0..0, |it| it.range());
                let leading =
                    line[text_match.clone()].len() - line[text_match.clone()].trim_start().len();
                let step_text =
                    line[text_match.start + leading..].trim_start_matches(['-', '*', ' ']);
                let step_start = start + line.len() - step_text.len();
                let statement = self.statement(step_text, step_start..start + line.len());
                self.document.requirements[open_index].scenarios[scenario_index]
                    .steps
                    .push(statement);
                let end = start + line.len();
                let scenario =
                    &mut self.document.requirements[open_index].scenarios[scenario_index];
                scenario.range.end = scenario.range.end.max(end);
            }
            return;
        }
        if open.mode == BodyMode::AcceptanceScenarios {
            if let Some(captures) = SPECKIT_SCENARIO.captures(line) {
                let requirement = &mut self.document.requirements[open_index];
                let key = format!("{}-{}", requirement.key, &captures["i"]);
                let text_start = start + line.len() - line.trim_start().len();
                let step = Statement {
                    text: trimmed.to_string(),
                    range: text_start..start + line.len(),
                    modal: None,
                    ears: None,
                };
                requirement.scenarios.push(Scenario {
                    key,
                    name: format!("{}-{}", requirement.local_id, &captures["i"]),
                    steps: vec![step],
                    range: line_range,
                });
            }
            return;
        }
        let kiro_style = matches!(self.document.format, Format::Kiro | Format::KiroBugfix);
        let in_criteria = open.mode == BodyMode::AcceptanceCriteria || !kiro_style;
        if let Some(captures) = EXPLICIT_CRITERION
            .captures(line)
            .or_else(|| ORDERED_ITEM.captures(line))
            .filter(|_| in_criteria)
        {
            let indent = indent_width(line);
            if kiro_style && open.criteria_indent.is_some_and(|it| indent > it) {
                // A nested list under a criterion details it; it is not a criterion.
                return;
            }
            open.criteria_indent.get_or_insert(indent);
            let text_match = captures.name("text").map_or(0..0, |it| it.range());
            let mut criterion_text = &line[text_match.clone()];
            let mut pinned = None;
            if let Some(pin) = PIN_COMMENT.captures(criterion_text) {
                pinned = Some(pin["id"].to_string());
                criterion_text =
                    &criterion_text[..pin.get(0).map_or(criterion_text.len(), |it| it.start())];
            }
            let criterion_text = criterion_text.trim_end();
            let requirement = &self.document.requirements[open_index];
            let requirement_number = requirement.local_id.trim_start_matches('R');
            // Kiro IDs are the numbers written, never positions: a stray line must
            // not shift the criteria after it, or `_Requirements: 1.4_` moves.
            let local_id = match (pinned, captures.name("n")) {
                (Some(pinned), _) => pinned,
                (None, Some(major))
                    if kiro_style
                        && open.last_criterion_number.as_deref() == Some(major.as_str()) =>
                {
                    format!("{requirement_number}.{}.{}", major.as_str(), &captures["m"])
                }
                (None, Some(major)) => format!("{}.{}", major.as_str(), &captures["m"]),
                (None, None) if kiro_style => {
                    open.last_criterion_number = Some(captures["m"].to_string());
                    format!("{requirement_number}.{}", &captures["m"])
                }
                (None, None) => format!(
                    "{}.{}",
                    requirement.local_id,
                    requirement.criteria.len() + 1
                ),
            };
            let statement_range =
                start + text_match.start..start + text_match.start + criterion_text.len();
            self.push_criterion(
                open_index,
                local_id,
                criterion_text,
                statement_range,
                line_range,
            );
            return;
        }
        if kiro_style && in_criteria && KEYWORD_CRITERION.is_match(line) {
            // `**WHEN** … **THEN** the system **SHALL** …`: one criterion per line.
            let text = ["- ", "* ", "+ "]
                .iter()
                .find_map(|bullet| trimmed.strip_prefix(bullet))
                .map_or(trimmed, str::trim_start);
            if find_modal(text).is_some() {
                let requirement = &self.document.requirements[open_index];
                let local_id = format!(
                    "{}.{}",
                    requirement.local_id.trim_start_matches('R'),
                    requirement.criteria.len() + 1
                );
                let text_start =
                    start + line.len() - line.trim_start().len() + (trimmed.len() - text.len());
                self.push_criterion(
                    open_index,
                    local_id,
                    text,
                    text_start..text_start + text.len(),
                    line_range,
                );
                return;
            }
        }
        if SCENARIO_STEP.is_match(line) {
            let key = self.document.requirements[open_index].key.clone();
            match self.document.observations.last_mut() {
                Some(Observation {
                    kind: ObservationKind::LooseScenarioBullets { requirement },
                    range,
                }) if *requirement == key && self.text[range.end..start].trim().is_empty() => {
                    range.end = start + line.len();
                }
                _ => self.observe(
                    ObservationKind::LooseScenarioBullets { requirement: key },
                    line_range.clone(),
                ),
            }
        }
        let bulleted = trimmed.starts_with(['-', '*', '+']) && !trimmed.starts_with("**");
        let text = if bulleted {
            trimmed.trim_start_matches(['-', '*', '+']).trim_start()
        } else {
            trimmed
        };
        let text = PIN_COMMENT
            .captures(text)
            .and_then(|it| it.get(0))
            .map_or(text, |pin| text[..pin.start()].trim_end());
        if text.is_empty() {
            return;
        }
        let text_start = start + line.find(text).unwrap_or(0);
        let text_end = text_start + text.len();
        // A paragraph wrapped over several lines (`**User Story:** As a …,` then
        // `so that …`) is one statement, so hover shows all of it.
        let statements = &self.document.requirements[open_index].statements;
        let continued_from = statements
            .last()
            .filter(|previous| {
                !bulleted
                    && self.text[previous.range.end..start].trim().is_empty()
                    && self.text[previous.range.end..start].matches('\n').count() == 1
                    && self.text[..previous.range.start]
                        .rsplit('\n')
                        .next()
                        .is_some_and(|prefix| prefix.trim().is_empty())
            })
            .map(|previous| previous.range.start);
        let range = continued_from.unwrap_or(text_start)..text_end;
        let statement = self.statement(&self.text[range.clone()], range);
        let statements = &mut self.document.requirements[open_index].statements;
        if continued_from.is_some() {
            statements.pop();
        }
        statements.push(statement);
    }

    fn push_criterion(
        &mut self,
        requirement_index: usize,
        local_id: String,
        text: &str,
        statement_range: Range<usize>,
        line_range: Range<usize>,
    ) {
        let key = format!("{}#{local_id}", self.document.spec_id);
        let statement = self.statement(text, statement_range);
        self.document.requirements[requirement_index]
            .criteria
            .push(Criterion {
                key,
                local_id,
                statement,
                range: line_range,
            });
    }

    fn scan_markers(&mut self, line: &str, start: usize) {
        let code_spans = inline_code_spans(line);
        let outside_code = |range: &Range<usize>| {
            !code_spans
                .iter()
                .any(|span| span.start <= range.start && range.end <= span.end)
        };
        for found in NEEDS_CLARIFICATION.captures_iter(line) {
            let Some(whole) = found.get(0) else { continue };
            if !outside_code(&whole.range()) {
                continue;
            }
            // spec-kit's checklist line "No [NEEDS CLARIFICATION] markers remain"
            // talks about markers; it is not one.
            if line[whole.end()..].trim_start().starts_with("marker") {
                continue;
            }
            let question = found
                .name("q")
                .map(|it| it.as_str().trim().to_string())
                .filter(|it| !it.is_empty());
            self.document.markers.push(Marker {
                kind: MarkerKind::NeedsClarification { question },
                range: start + whole.start()..start + whole.end(),
            });
        }
        for found in INCOMPLETE.find_iter(line) {
            if !outside_code(&found.range()) || line[..found.start()].ends_with("[NEEDS ") {
                continue;
            }
            self.document.markers.push(Marker {
                kind: MarkerKind::Incomplete {
                    token: found.as_str().to_string(),
                },
                range: start + found.start()..start + found.end(),
            });
        }
        for found in TEMPLATE.captures_iter(line) {
            let Some(whole) = found.get(0) else { continue };
            // `[PR #1278](…)` is link text; `kiro-{env}`, `?token={token}` and
            // `ArchiTrack:{email}` are format strings, not placeholders to fill.
            let link_text = whole.as_str().starts_with('[') && line[whole.end()..].starts_with('(');
            let format_string = whole.as_str().starts_with('{')
                && line[..whole.start()]
                    .chars()
                    .next_back()
                    .is_some_and(|it| it.is_alphanumeric() || "-/:=?_.".contains(it));
            if !outside_code(&whole.range())
                || link_text
                || format_string
                || found
                    .name("inner")
                    .is_some_and(|inner| ID_SHAPED.is_match(inner.as_str()))
            {
                continue;
            }
            self.document.markers.push(Marker {
                kind: MarkerKind::TemplatePlaceholder {
                    text: whole.as_str().to_string(),
                },
                range: start + whole.start()..start + whole.end(),
            });
        }
    }

    fn scan_links(&mut self, line: &str, start: usize) {
        for found in SPEC_LINK.captures_iter(line) {
            let Some(whole) = found.get(0) else { continue };
            let kind = match &found["kind"] {
                "test" => SpecLinkKind::Test,
                "generate" => SpecLinkKind::Generate,
                "describe" => SpecLinkKind::Describe,
                "use" => SpecLinkKind::Use,
                _ => SpecLinkKind::Impl,
            };
            let requirement = self
                .requirement
                .as_ref()
                .map(|open| self.document.requirements[open.index].key.clone());
            self.document.links.push(SpecLink {
                kind,
                target: found["path"].to_string(),
                requirement,
                range: start + whole.start()..start + whole.end(),
            });
        }
    }
}

/// Byte ranges of `inline code` spans in one line; markers inside them are examples.
/// The width of a line's leading whitespace, a tab counting as four columns.
fn indent_width(line: &str) -> usize {
    line.chars()
        .take_while(|character| character.is_whitespace())
        .map(|character| if character == '\t' { 4 } else { 1 })
        .sum()
}

fn inline_code_spans(line: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut open: Option<usize> = None;
    for (index, _) in line.match_indices('`') {
        match open.take() {
            Some(open_index) => spans.push(open_index..index + 1),
            None => open = Some(index),
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ears::EarsPattern;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/spec/", $name))
        };
    }

    fn parse(format: Format, role: FileRole, spec_id: &str, text: &str) -> SpecDocument {
        let classification = Classification {
            format,
            role,
            spec_id: spec_id.to_string(),
        };
        parse_spec_text(Path::new("fixture.md"), &classification, text)
    }

    fn keys(document: &SpecDocument) -> Vec<String> {
        document
            .requirements
            .iter()
            .map(|requirement| requirement.key.clone())
            .collect()
    }

    #[test]
    fn kiro_requirements_criteria_and_fences() {
        let document = parse(
            Format::Kiro,
            FileRole::Requirements,
            "ca",
            fixture!("kiro-requirements.md"),
        );
        assert_eq!(keys(&document), ["ca#R1", "ca#R2"]);
        let first = &document.requirements[0];
        assert_eq!(first.title.as_deref(), Some("Root CA generation"));
        assert_eq!(first.aliases, ["Requirement 1"]);
        let criteria: Vec<_> = first
            .criteria
            .iter()
            .map(|criterion| criterion.key.as_str())
            .collect();
        assert_eq!(criteria, ["ca#1.1", "ca#1.2"]);
        let ears = first.criteria[0]
            .statement
            .ears
            .as_ref()
            .expect("test fixture");
        assert_eq!(ears.pattern, EarsPattern::Event);
        assert_eq!(
            first.criteria[1]
                .statement
                .ears
                .as_ref()
                .expect("test fixture")
                .pattern,
            EarsPattern::Unwanted
        );
        assert_eq!(document.requirements[1].criteria[0].local_id, "2.1");
        assert_eq!(first.fingerprint.len(), 8);
    }

    #[test]
    fn kiro_bugfix_sections_decide_kinds() {
        let document = parse(
            Format::KiroBugfix,
            FileRole::Requirements,
            "fix",
            fixture!("kiro-bugfix.md"),
        );
        let kinds: Vec<_> = document
            .requirements
            .iter()
            .map(|it| (it.local_id.as_str(), it.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("1.1", RequirementKind::Defect),
                ("2.1", RequirementKind::Expected),
                ("3.1", RequirementKind::Preservation)
            ]
        );
        assert_eq!(
            document.requirements[2].statements[0].modal,
            Some(crate::spec::model::Modal::ShallContinueTo)
        );
    }

    #[test]
    fn kiro_design_properties_and_tasks() {
        let design = parse(
            Format::Kiro,
            FileRole::Design,
            "ca",
            fixture!("kiro-design.md"),
        );
        assert_eq!(design.properties[0].local_id, "P1");
        assert!(
            matches!(&design.properties[0].validates[..], [RefExpr::Id { id, .. }] if id == "1.2")
        );
        let tasks = parse(
            Format::Kiro,
            FileRole::Tasks,
            "ca",
            fixture!("kiro-tasks.md"),
        );
        let summary: Vec<_> = tasks
            .tasks
            .iter()
            .map(|task| {
                (
                    task.id.as_deref().unwrap_or(""),
                    task.status,
                    task.optional,
                    task.parent,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("1", TaskStatus::Done, false, None),
                ("2", TaskStatus::InProgress, false, None),
                ("2.1", TaskStatus::Todo, false, Some(1)),
                ("2.2", TaskStatus::Todo, true, Some(1)),
                ("3", TaskStatus::Todo, false, None),
            ]
        );
        let refs: Vec<_> = tasks.tasks[2]
            .refs
            .iter()
            .filter_map(|reference| match reference {
                RefExpr::Id { id, .. } => Some(id.as_str()),
                RefExpr::Unresolved { .. } => None,
            })
            .collect();
        assert_eq!(refs, ["2.1", "Requirement 1"]);
        assert_eq!(tasks.tasks[3].validates.len(), 1);
        assert!(tasks.tasks[4].parallel);
        assert_eq!(tasks.tasks[4].depends, ["2.1"]);
    }

    #[test]
    fn speckit_requirements_stories_scenarios_and_markers() {
        let document = parse(
            Format::SpecKit,
            FileRole::Requirements,
            "003-photo-albums",
            fixture!("speckit-spec.md"),
        );
        assert_eq!(
            keys(&document),
            [
                "003-photo-albums#US1",
                "003-photo-albums#FR-001",
                "003-photo-albums#FR-002",
                "003-photo-albums#SC-001"
            ]
        );
        let story = &document.requirements[0];
        assert_eq!(story.kind, RequirementKind::Story);
        let scenarios: Vec<_> = story
            .scenarios
            .iter()
            .map(|scenario| scenario.key.as_str())
            .collect();
        assert_eq!(
            scenarios,
            ["003-photo-albums#US1-1", "003-photo-albums#US1-2"]
        );
        assert_eq!(
            document.requirements[3].kind,
            RequirementKind::SuccessCriterion
        );
        assert_eq!(
            document
                .markers
                .iter()
                .map(|marker| &marker.kind)
                .collect::<Vec<_>>(),
            [&MarkerKind::NeedsClarification {
                question: Some("auth method not specified".to_string())
            }]
        );
        let tasks = parse(
            Format::SpecKit,
            FileRole::Tasks,
            "003-photo-albums",
            fixture!("speckit-tasks.md"),
        );
        let task = &tasks.tasks[1];
        assert_eq!(
            (task.id.as_deref(), task.parallel, task.story.as_deref()),
            (Some("T012"), true, Some("US1"))
        );
        assert_eq!(tasks.tasks[2].status, TaskStatus::Done);
        assert_eq!(tasks.tasks[2].depends, ["T012", "T013"]);
        assert!(
            matches!(&tasks.tasks[2].refs[..], [RefExpr::Id { id, inferred: true, .. }] if id == "FR-001")
        );
        assert_eq!(
            tasks.tasks[0].phase.as_deref(),
            Some("Phase 1: Setup (Shared Infrastructure)")
        );
    }

    #[test]
    fn openspec_slugs_explicit_ids_and_scenarios() {
        let text = fixture!("openspec-spec.md");
        let document = parse(
            Format::OpenSpec,
            FileRole::Requirements,
            "cli-validate",
            text,
        );
        assert_eq!(
            keys(&document),
            [
                "cli-validate#validation-shall-provide-actionable-remediation-steps",
                "cli-validate#VAL-002"
            ]
        );
        let second = &document.requirements[1];
        assert_eq!(second.aliases, ["Exit codes", "exit-codes"]);
        assert_eq!(
            &text[second.id_range.clone().expect("test fixture")],
            "VAL-002"
        );
        assert_eq!(second.scenarios[0].key, "cli-validate#VAL-002/failure");
        assert_eq!(second.scenarios[0].steps.len(), 2);
        assert_eq!(
            document.requirements[0].scenarios[0].key,
            "cli-validate#validation-shall-provide-actionable-remediation-steps/no-deltas-found-in-change"
        );
    }

    #[test]
    fn openspec_delta_sections() {
        let document = parse(
            Format::OpenSpecDelta,
            FileRole::Requirements,
            "changes/add-json/cli",
            fixture!("openspec-delta.md"),
        );
        assert_eq!(document.requirements[0].delta.as_deref(), Some("ADDED"));
        assert!(document.observations.is_empty());
    }

    #[test]
    fn tessl_capabilities_links_and_targets() {
        let document = parse(
            Format::Tessl,
            FileRole::Requirements,
            "reverser",
            fixture!("tessl.spec.md"),
        );
        assert_eq!(document.spec_id, "string-reverser");
        assert_eq!(keys(&document), ["string-reverser#reverses-text"]);
        assert_eq!(document.traces, ["../src/reverse.ts"]);
        let links: Vec<_> = document
            .links
            .iter()
            .map(|link| (link.kind, link.target.as_str(), link.requirement.is_some()))
            .collect();
        assert_eq!(
            links,
            [
                (SpecLinkKind::Test, "../test/reverse.test.ts", true),
                (SpecLinkKind::Generate, "../src/reverse.ts", false)
            ]
        );
    }

    #[test]
    fn native_positional_and_pinned_criteria() {
        let text = "---\ndirector-spec: 1\nspec: auth\n---\n# Auth\n## Requirements\n### Requirement: Idle timeout\n**ID**: AUTH-003\nWHEN idle for 30 minutes, THE Session service SHALL invalidate the session.\n\n1. IF a token is invalid, THEN THE API SHALL respond 401.   <!-- AUTH-003.9 -->\n2. WHILE active, THE service SHALL extend expiry.\n";
        let document = parse(Format::Native, FileRole::Requirements, "file", text);
        let requirement = &document.requirements[0];
        assert_eq!(requirement.key, "auth#AUTH-003");
        let criteria: Vec<_> = requirement
            .criteria
            .iter()
            .map(|criterion| criterion.local_id.as_str())
            .collect();
        assert_eq!(criteria, ["AUTH-003.9", "AUTH-003.2"]);
        assert!(requirement.criteria[0].statement.text.ends_with("401."));
    }

    #[test]
    fn oft_items_are_requirements() {
        let text = "# Reqs\n`req~login.lockout~1`\nThe service SHALL lock accounts.\n";
        let document = parse(Format::Native, FileRole::Requirements, "x", text);
        assert_eq!(keys(&document), ["x#req~login.lockout~1"]);
    }

    fn criteria_ids(document: &SpecDocument, requirement: usize) -> Vec<&str> {
        document.requirements[requirement]
            .criteria
            .iter()
            .map(|criterion| criterion.local_id.as_str())
            .collect()
    }

    /// Issue #13, defect 2: a criterion's ID is the number written, so a stray
    /// `2.1.` refinement line does not shift the criteria after it.
    #[test]
    fn kiro_criteria_keep_the_numbers_written() {
        let text = "# Requirements\n## Requirements\n### Requirement 1: Export\n#### Acceptance Criteria\n1. WHEN asked THE tool SHALL export\n2. WHEN it is large THE tool SHALL stream\n2.1. WHEN streaming THE tool SHALL report progress\n3. THE tool SHALL log\n4. THE tool SHALL exit 0\n   1. a nested note about exit codes\n### Requirement 2: Import\n#### Acceptance Criteria\n2.1. THE tool SHALL import\n2.2. THE tool SHALL validate\n";
        let document = parse(Format::Kiro, FileRole::Requirements, "io", text);
        assert_eq!(
            criteria_ids(&document, 0),
            ["1.1", "1.2", "1.2.1", "1.3", "1.4"]
        );
        assert_eq!(criteria_ids(&document, 1), ["2.1", "2.2"]);
    }

    /// Issue #13, defect 3: cc-sdd's Japanese headings are requirements too.
    #[test]
    fn kiro_headings_in_japanese_are_recognised() {
        let text = "# 要件定義書\n## 要件\n### 要件1: ログイン\n#### 受入基準\n1. WHEN 利用者がログインする THEN システムはセッションを作成しなければならない\n2. IF パスワードが誤っている THEN システムはエラーを表示しなければならない\n### 要件 2：ログアウト\n#### 受け入れ基準\n1. システムはセッションを破棄しなければならない\n";
        let document = parse(Format::Kiro, FileRole::Requirements, "auth", text);
        assert_eq!(keys(&document), ["auth#R1", "auth#R2"]);
        assert_eq!(document.requirements[0].title.as_deref(), Some("ログイン"));
        assert_eq!(criteria_ids(&document, 0), ["1.1", "1.2"]);
        assert_eq!(criteria_ids(&document, 1), ["2.1"]);
    }

    /// Issue #13, defect 4: criteria below a sub-heading of the criteria
    /// section, and criteria written as bold-keyword bullets or paragraphs.
    #[test]
    fn kiro_criteria_below_sub_headings_and_in_bold_keywords() {
        let text = "# R\n## Requirements\n### Requirement 1: Menu\n#### Acceptance Criteria\n##### Header\n1. THE app SHALL show a menu\n##### Footer\n2. THE app SHALL show links\n### Requirement 2: Save\n#### Acceptance Criteria\n- **WHEN** the user saves **THEN** the app **SHALL** write the file\n**IF** the disk is full **THEN** the app **SHALL** warn\nSome context without a modal.\n";
        let document = parse(Format::Kiro, FileRole::Requirements, "ui", text);
        assert_eq!(criteria_ids(&document, 0), ["1.1", "1.2"]);
        assert_eq!(criteria_ids(&document, 1), ["2.1", "2.2"]);
        assert!(
            document.requirements[1].criteria[0]
                .statement
                .text
                .starts_with("**WHEN** the user saves")
        );
    }

    /// Issue #13, defect 6: a plan's `### AC-001:` and a task list's user story
    /// headings cite requirements; they do not define them.
    #[test]
    fn only_requirement_files_define_requirements() {
        let plan = parse(
            Format::SpecKit,
            FileRole::Plan,
            "001-x",
            "# Plan\n### AC-001: Sign in works\n- **FR-001**: System MUST sign in\n",
        );
        assert!(plan.requirements.is_empty());
        let tasks = parse(
            Format::SpecKit,
            FileRole::Tasks,
            "001-x",
            "# Tasks\n## Phase 3\n### User Story 1 — Sign in (Priority: P1)\n- [ ] T001 [US1] Build the form\n",
        );
        assert!(tasks.requirements.is_empty());
        assert_eq!(tasks.tasks.len(), 1);
        assert_eq!(tasks.tasks[0].story.as_deref(), Some("US1"));
    }

    /// A wrapped paragraph is one statement (hover showed only its last line).
    #[test]
    fn a_wrapped_user_story_is_one_statement() {
        let text = "# R\n## Requirements\n### Requirement 1: Export\n**User Story:** As an analyst, I want exports,\nso that I can share results.\n\n#### Acceptance Criteria\n1. THE tool SHALL export CSV\n";
        let document = parse(Format::Kiro, FileRole::Requirements, "io", text);
        let statements: Vec<_> = document.requirements[0]
            .statements
            .iter()
            .map(|statement| statement.text.as_str())
            .collect();
        assert_eq!(
            statements,
            ["**User Story:** As an analyst, I want exports,\nso that I can share results."]
        );
        let statement = &document.requirements[0].statements[0];
        assert_eq!(&text[statement.range.clone()], statement.text);
    }

    /// Issue #13, defect 9: OpenSpec only reads level-4 scenarios.
    #[test]
    fn openspec_scenarios_at_another_level_are_not_scenarios() {
        let text = "# S\n## Purpose\nP.\n## Requirements\n### Requirement: Login\nThe system SHALL sign in.\n##### Scenario: Deep\n- WHEN x\n- THEN y\n";
        let document = parse(Format::OpenSpec, FileRole::Requirements, "s", text);
        assert!(document.requirements[0].scenarios.is_empty());
        assert!(
            document
                .observations
                .iter()
                .any(|it| it.kind == ObservationKind::ScenarioWrongLevel)
        );
    }

    /// Issue #13, defect 10: marker and placeholder look-alikes.
    #[test]
    fn checklist_lines_links_and_format_strings_are_not_markers() {
        let text = "# Checklist\n- [x] No [NEEDS CLARIFICATION] markers remain\n- See [PR #12](https://example.com/pr/12) and `x`\n- URL /users/{id}/posts?tag={tag}\n- Fill in [FEATURE NAME] and {feature_name}\n";
        let document = parse(Format::SpecKit, FileRole::Checklist, "001-x", text);
        let markers: Vec<_> = document
            .markers
            .iter()
            .map(|marker| &text[marker.range.clone()])
            .collect();
        assert_eq!(markers, ["[FEATURE NAME]", "{feature_name}"]);
    }

    #[test]
    fn bad_input_never_panics() {
        let classification = Classification {
            format: Format::Native,
            role: FileRole::Requirements,
            spec_id: "x".to_string(),
        };
        let binary = parse_spec_bytes(Path::new("x.md"), &classification, b"# T\0\x01\x02");
        assert!(binary.problems[0].message.contains("binary"));
        let huge = vec![b'a'; MAX_SPEC_FILE_BYTES + 1];
        assert!(
            parse_spec_bytes(Path::new("x.md"), &classification, &huge).problems[0]
                .message
                .contains("limit")
        );
        let invalid_utf8 = parse_spec_bytes(Path::new("x.md"), &classification, b"# T \xff\xfe");
        assert!(invalid_utf8.problems[0].message.contains("UTF-8"));
        let unterminated = parse_spec_text(
            Path::new("x.md"),
            &classification,
            "---\nspec: y\n# T\n### A-1: x\nSHALL y\n",
        );
        assert!(unterminated.problems[0].message.contains("closing"));
        assert_eq!(unterminated.requirements.len(), 1);
        let unknown = parse_spec_text(
            Path::new("x.md"),
            &classification,
            "---\ndirector-spec: 7\nflavour: mint\n---\n# T\n",
        );
        let messages: Vec<_> = unknown
            .problems
            .iter()
            .map(|problem| problem.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "unsupported `director-spec: 7`; read as version 1",
                "unknown front matter key `flavour`; ignored"
            ]
        );
        for garbage in [
            "```\nunclosed fence\n### Requirement: x",
            "#\n##\n###\n- [",
            "- [ ]",
            "### Requirement:\n#### Scenario:\n- WHEN",
            "1.\n2)\n**ID**:",
            "é\u{0}ü\r\n\r\n|a|b|\n|-|",
        ] {
            let document = parse_spec_text(Path::new("x.md"), &classification, garbage);
            assert!(document.requirements.len() <= 2, "{garbage:?}");
        }
    }
}
