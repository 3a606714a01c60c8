//! Fixtures for the defects issue #13 found on real repositories: each shape
//! here is small and written for the test, and each was a false error (or a
//! missed one) before.

use crate::spec::index::SpecIndex;
use crate::spec::lint::Severity;
use crate::spec::lint::test_support::{flagged, lint_files};
use std::path::Path;

fn severities(files: &[(&str, &str)], target: &str, rule: &str) -> Vec<Severity> {
    lint_files(files, target)
        .into_iter()
        .filter(|finding| finding.rule == rule)
        .map(|finding| finding.severity)
        .collect()
}

const KIRO_REQUIREMENTS: &str = "# Requirements\n## 3. Functional Requirements\n### Requirement 1: Export\n#### Acceptance Criteria\n1. WHEN asked THE tool SHALL export\n2. THE tool SHALL log\n3. THE tool SHALL stream\n3.1. WHEN streaming THE tool SHALL report progress\n4. THE tool SHALL exit 0\n";

/// Defect 2: `_Requirements: 1.4_` names the item written `4.` even after a
/// stray `3.1.` line; defect 8: titles, bare numbers and words in the list.
#[test]
fn kiro_task_references_read_as_written() {
    let tasks = "# Tasks\n- [ ] 1. Export\n  - _Requirements: 1.4, 1.3 (Streaming and progress), 1_\n- [ ] 2. Docs\n  - **Requirements**: Documentation\n";
    let files = [
        (".kiro/specs/io/requirements.md", KIRO_REQUIREMENTS),
        (".kiro/specs/io/tasks.md", tasks),
    ];
    assert_eq!(
        severities(&files, ".kiro/specs/io/tasks.md", "TRC001"),
        [Severity::Info]
    );
    let unreadable: Vec<_> = lint_files(&files, ".kiro/specs/io/tasks.md")
        .into_iter()
        .filter(|finding| finding.message.starts_with("cannot read"))
        .map(|finding| (finding.rule, finding.severity))
        .collect();
    assert_eq!(unreadable, [("TRC001", Severity::Info)]);
}

/// Defect 3: a numbered or translated requirements section is not missing,
/// and outside OpenSpec a missing template section is only a warning.
#[test]
fn template_sections_are_recognised_and_only_warned_about() {
    let files = [(".kiro/specs/io/requirements.md", KIRO_REQUIREMENTS)];
    assert!(severities(&files, ".kiro/specs/io/requirements.md", "SPEC001").is_empty());
    let speckit = "# Feature\n## User Stories\n### User Story 1 - Sign in (Priority: P1)\nAs a user I sign in.\n**Acceptance Scenarios**:\n1. **Given** a user, **When** they sign in, **Then** they see the home page\n## Requirements\n- **FR-001**: System MUST sign users in\n";
    let files = [("specs/001-login/spec.md", speckit)];
    assert_eq!(
        severities(&files, "specs/001-login/spec.md", "SPEC001"),
        [Severity::Warning]
    );
    let openspec = "# Auth\n## Requirements\n### Requirement: Login\nThe system SHALL sign in.\n#### Scenario: ok\n- WHEN x\n- THEN y\n";
    let files = [("openspec/specs/auth/spec.md", openspec)];
    assert_eq!(
        severities(&files, "openspec/specs/auth/spec.md", "SPEC001"),
        [Severity::Error]
    );
}

/// Defect 5: a delta holding only a RENAMED section has a delta section.
#[test]
fn a_rename_only_delta_has_its_section() {
    let delta = "## RENAMED Requirements\n- FROM: `### Requirement: Login`\n- TO: `### Requirement: Sign in`\n";
    let files = [("openspec/changes/c/specs/auth/spec.md", delta)];
    let found = flagged(&files, "openspec/changes/c/specs/auth/spec.md");
    assert!(
        !found.iter().any(|(rule, _)| *rule == "SPEC001"),
        "{found:?}"
    );
}

/// Defect 6: a task list's story headings do not duplicate the spec's stories.
#[test]
fn story_headings_in_tasks_are_not_duplicate_definitions() {
    let spec = "# Feature\n## User Scenarios & Testing\n### User Story 1 - Sign in (Priority: P1)\nAs a user I sign in.\n**Acceptance Scenarios**:\n1. **Given** a user, **When** they sign in, **Then** they see the home page\n## Requirements\n- **FR-001**: System MUST sign users in\n## Success Criteria\n- **SC-001**: 95% sign in first time\n";
    let tasks = "# Tasks\n## Phase 3: User Story 1\n### User Story 1 — Sign in (Priority: P1)\n- [ ] T001 [US1] Build the form for FR-001\n";
    let files = [
        ("specs/001-login/spec.md", spec),
        ("specs/001-login/tasks.md", tasks),
    ];
    for target in ["specs/001-login/spec.md", "specs/001-login/tasks.md"] {
        let found = flagged(&files, target);
        assert!(
            !found.iter().any(|(rule, _)| *rule == "SPEC005"),
            "{found:?}"
        );
    }
}

/// Defect 7: two packages' `.kiro/specs/auth` are two specs, and a bare number
/// resolves inside the citing spec only.
#[test]
fn specs_are_scoped_by_path_and_numbers_by_spec() {
    let small = "# Requirements\n## Requirements\n### Requirement 1: Login\n#### Acceptance Criteria\n1. THE app SHALL sign in\n";
    let large = "# Requirements\n## Requirements\n### Requirement 8: Audit\n#### Acceptance Criteria\n1. THE app SHALL log\n2. THE app SHALL keep logs\n3. THE app SHALL rotate\n4. THE app SHALL ship\n5. THE app SHALL alert\n6. THE app SHALL archive\n";
    let tasks = "# Tasks\n- [ ] 1. Login\n  - _Requirements: 1.1, 8.6_\n";
    let files = [
        ("web/.kiro/specs/auth/requirements.md", small),
        ("web/.kiro/specs/auth/tasks.md", tasks),
        ("api/.kiro/specs/auth/requirements.md", large),
    ];
    let found = flagged(&files, "web/.kiro/specs/auth/tasks.md");
    assert_eq!(
        found
            .iter()
            .filter(|(rule, _)| *rule == "TRC001")
            .map(|(_, text)| text.as_str())
            .collect::<Vec<_>>(),
        ["8.6"]
    );
    for target in [
        "web/.kiro/specs/auth/requirements.md",
        "api/.kiro/specs/auth/requirements.md",
    ] {
        let found = flagged(&files, target);
        assert!(
            !found.iter().any(|(rule, _)| *rule == "SPEC005"),
            "{found:?}"
        );
    }
    let root = Path::new("/workspace");
    let mut index = SpecIndex::new(root);
    for (path, text) in files {
        index.update_file(&root.join(path), text);
    }
    assert_eq!(index.resolve("8.6", Some("web/auth")), None);
    assert_eq!(index.resolve("8.6", Some("api/auth")), Some("api/auth#8.6"));
    assert_eq!(index.resolve("1.1", Some("web/auth")), Some("web/auth#1.1"));
}

/// Defect 9: what `openspec validate` accepts, Director does not reject.
#[test]
fn openspec_verdicts_match_the_validator() {
    let header_only = "# Auth\n## Purpose\nSign users in.\n## Requirements\n### Requirement: The system SHALL sign users in\nUsers sign in with a password.\n#### Scenario: ok\n- WHEN x\n- THEN y\n";
    let files = [("openspec/specs/auth/spec.md", header_only)];
    assert_eq!(
        severities(&files, "openspec/specs/auth/spec.md", "SPEC004"),
        [Severity::Warning]
    );
    let no_body = "# Auth\n## Purpose\nSign users in.\n## Requirements\n### Requirement: The system SHALL sign users in\n#### Scenario: ok\n- WHEN x\n- THEN y\n";
    let files = [("openspec/specs/auth/spec.md", no_body)];
    assert_eq!(
        severities(&files, "openspec/specs/auth/spec.md", "SPEC004"),
        [Severity::Error]
    );
    let proposal = "# Change\n## What Changes\n- Login.\n";
    let delta = "## ADDED Requirements\n### Requirement: Login\nThe system SHALL sign in.\n#### Scenario: ok\n- WHEN x\n- THEN y\n";
    let files = [
        ("openspec/changes/c/proposal.md", proposal),
        ("openspec/changes/c/specs/auth/spec.md", delta),
    ];
    let findings = lint_files(&files, "openspec/changes/c/proposal.md");
    assert!(
        findings
            .iter()
            .all(|finding| finding.severity < Severity::Error),
        "{findings:?}"
    );
    let level_three = "# Auth\n## Purpose\nSign users in.\n## Requirements\n### Requirement: Login\nThe system SHALL sign in.\n### Scenario: ok\n- WHEN x\n- THEN y\n";
    let files = [("openspec/specs/auth/spec.md", level_three)];
    assert_eq!(
        severities(&files, "openspec/specs/auth/spec.md", "SPEC002"),
        [Severity::Error]
    );
}

/// Defect 10: OpenSpec tasks and checklist items cite no requirement by design;
/// `## Task N:` over checkbox tasks is a group; prose bullets with numbers are
/// prose.
#[test]
fn task_noise_is_gone() {
    let openspec_tasks = "## 1. Build\n- [ ] 1.1 Write the parser\n";
    let files = [("openspec/changes/c/tasks.md", openspec_tasks)];
    let found = flagged(&files, "openspec/changes/c/tasks.md");
    assert!(
        !found.iter().any(|(rule, _)| *rule == "TRC003"),
        "{found:?}"
    );
    let speckit_tasks = "# Tasks\n## Phase 1: Setup\n- [ ] T001 [US1] Scaffold\n## Quality Gates\n- [ ] All tests pass\n## Notes\n- 25 new source files\n- 2 modified files\n";
    let files = [("specs/001-x/tasks.md", speckit_tasks)];
    let found = flagged(&files, "specs/001-x/tasks.md");
    assert!(
        !found
            .iter()
            .any(|(rule, _)| *rule == "TRC003" || *rule == "SPEC013"),
        "{found:?}"
    );
    let kiro_tasks = "# Tasks\n## Task 1: Database\n- [ ] 1.1 Add the schema\n";
    let files = [(".kiro/specs/db/tasks.md", kiro_tasks)];
    let found = flagged(&files, ".kiro/specs/db/tasks.md");
    assert!(
        !found.iter().any(|(rule, _)| *rule == "SPEC013"),
        "{found:?}"
    );
}

/// Defect 10: ordering words, `any`, `available` and words in inline code are
/// not ambiguity; the planted vague words still are.
#[test]
fn ambiguity_rules_skip_ordinary_words() {
    let spec = "# S\n## Purpose\nP.\n## Requirements\n### Requirement: Queue\nThe worker SHALL ack a job after it runs and before the next one, once per job, until the queue is empty, for any job that is available, and SHALL NOT use `some` casts.\n#### Scenario: ok\n- WHEN x\n- THEN y\n### Requirement: Vague\nThe worker SHALL retry several times and respond quickly.\n#### Scenario: ok\n- WHEN x\n- THEN y\n";
    let files = [("openspec/specs/s/spec.md", spec)];
    let found: Vec<_> = flagged(&files, "openspec/specs/s/spec.md")
        .into_iter()
        .filter(|(rule, _)| rule.starts_with("AMB"))
        .collect();
    assert_eq!(
        found,
        [
            ("AMB001", "several".to_string()),
            ("AMB002", "quickly".to_string())
        ]
    );
}
