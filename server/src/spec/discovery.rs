//! Which files are spec files, in which format and role, decided from the path alone
//! (plus front matter for `*.md` files), so nobody has to rename or annotate anything.

use std::path::Path;

use crate::spec::model::{FileRole, Format};

/// How a spec file is to be read: its format, role and spec identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    pub format: Format,
    pub role: FileRole,
    /// Spec identity derived from the path; front matter `spec:` may override it.
    pub spec_id: String,
}

/// Classifies a path relative to the workspace root. `has_native_front_matter` says
/// whether the file starts with front matter containing `director-spec:`; it decides
/// for files no known layout claims.
pub fn classify(relative_path: &Path, has_native_front_matter: bool) -> Option<Classification> {
    let parts: Vec<&str> = relative_path
        .iter()
        .filter_map(|part| part.to_str())
        .collect();
    let file_name = *parts.last()?;
    if !file_name.ends_with(".md") {
        return None;
    }
    let stem = file_name.trim_end_matches(".md");
    let classification = |format, role, spec_id: &str| {
        Some(Classification {
            format,
            role,
            spec_id: spec_id.to_string(),
        })
    };
    if has_native_front_matter {
        let spec_id = stem.trim_end_matches(".spec");
        let role = if stem == "tasks" || stem.ends_with("-tasks") || stem.ends_with(".tasks") {
            FileRole::Tasks
        } else {
            FileRole::Requirements
        };
        return classification(Format::Native, role, spec_id);
    }
    if let Some(position) = find_sequence(&parts, &[".kiro", "specs"]) {
        let rest = &parts[position + 2..];
        if let [feature, file] = rest {
            let (format, role) = match *file {
                "requirements.md" => (Format::Kiro, FileRole::Requirements),
                "bugfix.md" => (Format::KiroBugfix, FileRole::Requirements),
                "design.md" => (Format::Kiro, FileRole::Design),
                "tasks.md" => (Format::Kiro, FileRole::Tasks),
                _ => return None,
            };
            return classification(format, role, &scoped(&parts[..position], feature));
        }
        return None;
    }
    if let Some(position) = find_sequence(&parts, &[".kiro", "steering"]) {
        if parts.len() == position + 3 {
            return classification(Format::Kiro, FileRole::Steering, stem);
        }
        return None;
    }
    if parts.ends_with(&[".specify", "memory", "constitution.md"]) {
        return classification(Format::SpecKit, FileRole::Constitution, "constitution");
    }
    if let Some(position) = find_sequence(&parts, &["openspec", "changes"]) {
        let rest = &parts[position + 2..];
        let change_folder = *rest.first()?;
        if change_folder == "archive" {
            return None;
        }
        let change = &scoped(&parts[..position], change_folder);
        return match rest {
            [_, "proposal.md"] => {
                classification(Format::OpenSpec, FileRole::ChangeProposal, change)
            }
            [_, "design.md"] => classification(Format::OpenSpec, FileRole::Design, change),
            [_, "tasks.md"] => classification(Format::OpenSpec, FileRole::Tasks, change),
            [_, "specs", capability @ .., "spec.md"] => {
                let spec_id = scoped(
                    &parts[..position],
                    &format!("changes/{change_folder}/{}", capability.join("/")),
                );
                classification(Format::OpenSpecDelta, FileRole::Requirements, &spec_id)
            }
            _ => None,
        };
    }
    if let Some(position) = find_sequence(&parts, &["openspec", "specs"]) {
        let prefix = &parts[..position];
        return match &parts[position + 2..] {
            [capability @ .., "spec.md"] if !capability.is_empty() => classification(
                Format::OpenSpec,
                FileRole::Requirements,
                &scoped(prefix, &capability.join("/")),
            ),
            [capability @ .., "design.md"] if !capability.is_empty() => classification(
                Format::OpenSpec,
                FileRole::Design,
                &scoped(prefix, &capability.join("/")),
            ),
            _ => None,
        };
    }
    if let Some(position) = parts.iter().position(|part| *part == "specs") {
        if let [feature, rest @ ..] = &parts[position + 1..] {
            if is_speckit_feature_folder(feature) {
                let role = match rest {
                    ["spec.md"] => FileRole::Requirements,
                    ["plan.md"] => FileRole::Plan,
                    ["tasks.md"] => FileRole::Tasks,
                    ["checklists", _] => FileRole::Checklist,
                    _ => return None,
                };
                return classification(Format::SpecKit, role, &scoped(&parts[..position], feature));
            }
        }
    }
    if let Some(spec_id) = stem.strip_suffix(".spec") {
        return classification(Format::Tessl, FileRole::Requirements, spec_id);
    }
    None
}

/// A spec's identity is its path: a spec folder at the workspace root is known by
/// its name (`auth`), one inside a package by the package path too
/// (`packages/api/auth`), so that two packages' `.kiro/specs/auth` never collide.
fn scoped(prefix: &[&str], name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{}/{name}", prefix.join("/"))
    }
}

/// Whether a file name could be a spec at all, before its contents are read.
pub fn is_candidate_spec_path(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension == "md")
}

/// spec-kit feature folders are `NNN-name`.
fn is_speckit_feature_folder(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > 4 && bytes[..3].iter().all(u8::is_ascii_digit) && bytes[3] == b'-'
}

fn find_sequence(parts: &[&str], sequence: &[&str]) -> Option<usize> {
    parts
        .windows(sequence.len())
        .position(|window| window == sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(path: &str, expected: Option<(Format, FileRole, &str)>) {
        let actual =
            classify(Path::new(path), false).map(|it| (it.format, it.role, it.spec_id.clone()));
        let expected = expected.map(|(format, role, id)| (format, role, id.to_string()));
        assert_eq!(actual, expected, "{path}");
    }

    #[test]
    fn recognizes_every_known_layout() {
        check(
            ".kiro/specs/user-auth/requirements.md",
            Some((Format::Kiro, FileRole::Requirements, "user-auth")),
        );
        check(
            ".kiro/specs/fix-x/bugfix.md",
            Some((Format::KiroBugfix, FileRole::Requirements, "fix-x")),
        );
        check(
            ".kiro/specs/user-auth/tasks.md",
            Some((Format::Kiro, FileRole::Tasks, "user-auth")),
        );
        check(
            ".kiro/steering/tech.md",
            Some((Format::Kiro, FileRole::Steering, "tech")),
        );
        check(
            "specs/003-photo-albums/spec.md",
            Some((Format::SpecKit, FileRole::Requirements, "003-photo-albums")),
        );
        check(
            "specs/003-photo-albums/tasks.md",
            Some((Format::SpecKit, FileRole::Tasks, "003-photo-albums")),
        );
        check(
            ".specify/memory/constitution.md",
            Some((Format::SpecKit, FileRole::Constitution, "constitution")),
        );
        check(
            "openspec/specs/cli-validate/spec.md",
            Some((Format::OpenSpec, FileRole::Requirements, "cli-validate")),
        );
        check(
            "openspec/specs/auth/session/spec.md",
            Some((Format::OpenSpec, FileRole::Requirements, "auth/session")),
        );
        check(
            "openspec/changes/add-2fa/specs/auth/spec.md",
            Some((
                Format::OpenSpecDelta,
                FileRole::Requirements,
                "changes/add-2fa/auth",
            )),
        );
        check(
            "openspec/changes/add-2fa/tasks.md",
            Some((Format::OpenSpec, FileRole::Tasks, "add-2fa")),
        );
        check(
            "specs/strings/reverser.spec.md",
            Some((Format::Tessl, FileRole::Requirements, "reverser")),
        );
    }

    #[test]
    fn specs_inside_packages_are_known_by_their_path() {
        check(
            "packages/api/.kiro/specs/auth/requirements.md",
            Some((Format::Kiro, FileRole::Requirements, "packages/api/auth")),
        );
        check(
            "apps/web/specs/003-photo-albums/tasks.md",
            Some((
                Format::SpecKit,
                FileRole::Tasks,
                "apps/web/003-photo-albums",
            )),
        );
        check(
            "svc/openspec/specs/auth/spec.md",
            Some((Format::OpenSpec, FileRole::Requirements, "svc/auth")),
        );
    }

    #[test]
    fn ignores_ordinary_markdown() {
        check("README.md", None);
        check("specs/notes/spec.md", None);
        check("openspec/changes/archive/2024-01-01-x/tasks.md", None);
        check("src/main.rs", None);
    }

    #[test]
    fn native_front_matter_claims_any_markdown_file() {
        let it = classify(Path::new("docs/login.md"), true).expect("test fixture");
        assert_eq!(
            (it.format, it.role, it.spec_id.as_str()),
            (Format::Native, FileRole::Requirements, "login")
        );
        let it = classify(Path::new("docs/tasks.md"), true).expect("test fixture");
        assert_eq!(it.role, FileRole::Tasks);
    }
}
