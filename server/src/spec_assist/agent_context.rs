//! The spec context of a delegated run: the requirements that govern the region
//! (their text as written, statements and scenarios) and the steering files that
//! apply to the file (root `AGENTS.md`, Kiro steering by its inclusion rules, the
//! spec-kit constitution), trimmed to a character budget, requirements first.

use crate::run::prompt::{ContextEntry, SpecContext};
use crate::spec::front_matter::{FrontMatterRead, read_front_matter};
use crate::spec::index::{SpecIndex, matches_any_glob};
use std::ops::Range;
use std::path::Path;

/// How many characters of spec context a prompt carries at most.
pub const DEFAULT_BUDGET_CHARS: usize = 12_000;

/// Entries cut to fit are kept only when at least this much of them fits.
const MIN_USEFUL_CHARS: usize = 200;

const TRUNCATED: &str = "\n[… truncated]";

/// The spec context for `region` of `path`, within `budget` characters.
pub fn gather(index: &SpecIndex, path: &Path, region: Range<usize>, budget: usize) -> SpecContext {
    let keys = governing_keys(index, path, region);
    let mut requirements = Vec::new();
    let mut requirement_ids = Vec::new();
    for key in keys {
        let Some(found) = index.requirement(&key) else {
            continue;
        };
        let Some(spec) = index.spec(&found.document.path) else {
            continue;
        };
        let requirement = found.requirement;
        let text = spec
            .text
            .get(requirement.range.clone())
            .unwrap_or("")
            .trim();
        let relative = found
            .document
            .path
            .strip_prefix(index.root())
            .unwrap_or(&found.document.path);
        let title = match &requirement.title {
            Some(title) => format!("{} {title} ({})", requirement.local_id, relative.display()),
            None => format!("{} ({})", requirement.local_id, relative.display()),
        };
        requirement_ids.push(requirement.local_id.clone());
        requirements.push(ContextEntry {
            title,
            text: text.to_owned(),
        });
    }
    let relative_path = path.strip_prefix(index.root()).unwrap_or(path);
    let steering = steering_files(index.root(), relative_path);
    let (requirements, steering) = fit_to_budget(requirements, steering, budget);
    requirement_ids.truncate(requirements.len());
    SpecContext {
        requirements,
        steering,
        requirement_ids,
    }
}

/// Requirement keys governing any part of `region`, in order of first appearance.
fn governing_keys(index: &SpecIndex, path: &Path, region: Range<usize>) -> Vec<String> {
    let mut offsets = vec![region.start, region.end];
    if let Some(code) = index.code_file(path) {
        offsets.extend(
            code.traces
                .iter()
                .filter(|trace| trace.scope.start <= region.end && region.start <= trace.scope.end)
                .map(|trace| trace.scope.start.max(region.start)),
        );
    }
    let mut keys: Vec<String> = Vec::new();
    for offset in offsets {
        for governing in index.governing(path, offset) {
            if !keys.contains(&governing.requirement_key) {
                keys.push(governing.requirement_key);
            }
        }
    }
    keys
}

/// The steering files under `root` that apply to `relative_path`, in a fixed order.
pub fn steering_files(root: &Path, relative_path: &Path) -> Vec<ContextEntry> {
    let mut entries = Vec::new();
    let mut add = |relative: &str, text: String| {
        let text = text.trim();
        if !text.is_empty() {
            entries.push(ContextEntry {
                title: relative.to_owned(),
                text: text.to_owned(),
            });
        }
    };
    if let Ok(text) = std::fs::read_to_string(root.join("AGENTS.md")) {
        add("AGENTS.md", text);
    }
    let steering_folder = root.join(".kiro/steering");
    let mut kiro: Vec<_> = std::fs::read_dir(&steering_folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|extension| extension == "md"))
                .collect()
        })
        .unwrap_or_default();
    kiro.sort();
    for path in kiro {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if let Some(body) = kiro_steering_body(&text, relative_path) {
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            add(&format!(".kiro/steering/{name}"), body.to_owned());
        }
    }
    for constitution in [".specify/memory/constitution.md", "memory/constitution.md"] {
        if let Ok(text) = std::fs::read_to_string(root.join(constitution)) {
            add(constitution, text);
            break;
        }
    }
    entries
}

/// The body of a Kiro steering file when its inclusion rule takes in `relative_path`:
/// `always` (the default) does, `fileMatch` when `fileMatchPattern` matches, and
/// `manual` or `auto` never do (they need a person or a model to choose them).
pub fn kiro_steering_body<'a>(text: &'a str, relative_path: &Path) -> Option<&'a str> {
    let front_matter = match read_front_matter(text) {
        FrontMatterRead::Present(front_matter) => front_matter,
        FrontMatterRead::Absent | FrontMatterRead::Unterminated => return Some(text),
    };
    let body = text.get(front_matter.range.end..).unwrap_or("");
    match front_matter.scalar("inclusion").unwrap_or("always") {
        "always" => Some(body),
        "fileMatch" => {
            matches_any_glob(&front_matter.list("fileMatchPattern"), relative_path).then_some(body)
        }
        _ => None,
    }
}

/// Keeps entries in order while they fit in `budget` characters (titles included);
/// the first that does not fit is cut when a useful part of it fits, and the rest dropped.
pub fn fit_to_budget(
    requirements: Vec<ContextEntry>,
    steering: Vec<ContextEntry>,
    budget: usize,
) -> (Vec<ContextEntry>, Vec<ContextEntry>) {
    let mut remaining = budget;
    let mut full = false;
    let mut fit = |entries: Vec<ContextEntry>| -> Vec<ContextEntry> {
        let mut kept = Vec::new();
        for mut entry in entries {
            if full {
                break;
            }
            let size = entry.title.chars().count() + entry.text.chars().count();
            if size <= remaining {
                remaining -= size;
                kept.push(entry);
                continue;
            }
            full = true;
            let room = remaining
                .saturating_sub(entry.title.chars().count())
                .saturating_sub(TRUNCATED.chars().count());
            if room >= MIN_USEFUL_CHARS {
                entry.text = entry.text.chars().take(room).collect::<String>() + TRUNCATED;
                kept.push(entry);
            }
        }
        kept
    };
    let requirements = fit(requirements);
    let steering = fit(steering);
    (requirements, steering)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec_assist::fixture::{CODE, index};

    fn entry(title: &str, length: usize) -> ContextEntry {
        ContextEntry {
            title: title.to_owned(),
            text: "x".repeat(length),
        }
    }

    #[test]
    fn gathers_the_requirements_governing_the_region_as_written() {
        let index = index();
        let start = CODE.find("def expire").expect("fixture");
        let context = gather(
            &index,
            Path::new("/w/src/expiry.py"),
            start..start + 10,
            DEFAULT_BUDGET_CHARS,
        );
        assert_eq!(context.requirement_ids, ["AUTH-003"]);
        let requirement = &context.requirements[0];
        assert_eq!(requirement.title, "AUTH-003 Idle timeout (specs/auth.md)");
        assert!(requirement.text.contains("SHALL expire idle sessions"));
        assert!(requirement.text.contains("#### Scenario: Idle"));
    }

    #[test]
    fn kiro_inclusion_rules_decide_which_steering_applies() {
        let source = Path::new("components/button.tsx");
        assert_eq!(kiro_steering_body("Be terse.", source), Some("Be terse."));
        let always = "---\ninclusion: always\n---\nAlways.\n";
        assert_eq!(kiro_steering_body(always, source), Some("Always.\n"));
        let matching =
            "---\ninclusion: fileMatch\nfileMatchPattern: \"components/**/*.tsx\"\n---\nTSX.\n";
        assert_eq!(kiro_steering_body(matching, source), Some("TSX.\n"));
        assert_eq!(kiro_steering_body(matching, Path::new("src/main.rs")), None);
        let manual = "---\ninclusion: manual\n---\nOnly on request.\n";
        assert_eq!(kiro_steering_body(manual, source), None);
    }

    #[test]
    fn reads_agents_md_kiro_steering_and_the_constitution_from_disk() {
        let root = std::env::temp_dir().join(format!("director-steering-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join(".kiro/steering")).expect("mkdir");
        std::fs::create_dir_all(root.join(".specify/memory")).expect("mkdir");
        std::fs::write(root.join("AGENTS.md"), "Run the tests.\n").expect("write");
        std::fs::write(root.join(".kiro/steering/tech.md"), "Rust 2024.\n").expect("write");
        std::fs::write(
            root.join(".kiro/steering/manual.md"),
            "---\ninclusion: manual\n---\nSecret.\n",
        )
        .expect("write");
        std::fs::write(root.join(".specify/memory/constitution.md"), "MUST test.\n")
            .expect("write");
        let files = steering_files(&root, Path::new("src/lib.rs"));
        let _ = std::fs::remove_dir_all(&root);
        let titles: Vec<&str> = files.iter().map(|file| file.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "AGENTS.md",
                ".kiro/steering/tech.md",
                ".specify/memory/constitution.md"
            ]
        );
        assert_eq!(files[0].text, "Run the tests.");
    }

    #[test]
    fn the_budget_keeps_requirements_first_and_cuts_the_overflow() {
        let (requirements, steering) = fit_to_budget(
            vec![entry("R1", 500), entry("R2", 500)],
            vec![entry("AGENTS.md", 600), entry("tech.md", 10)],
            1_500,
        );
        assert_eq!(requirements.len(), 2);
        assert_eq!(steering.len(), 1);
        assert!(steering[0].text.ends_with(TRUNCATED));
        let total: usize = requirements
            .iter()
            .chain(&steering)
            .map(|entry| entry.title.chars().count() + entry.text.chars().count())
            .sum();
        assert!(total <= 1_500, "{total}");
        let (requirements, steering) =
            fit_to_budget(vec![entry("R1", 900)], vec![entry("AGENTS.md", 600)], 1_000);
        assert_eq!(requirements.len(), 1);
        assert!(steering.is_empty());
    }
}
