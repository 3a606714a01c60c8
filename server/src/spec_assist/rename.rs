//! Renaming a requirement ID: its definition, every task and design reference, and
//! every code tag, criteria references (`AUTH-003.1`) included.

use crate::spec::index::{ItemPart, SpecIndex};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A renamable requirement ID under the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenameTarget {
    pub key: String,
    /// The ID as written under the cursor.
    pub range: Range<usize>,
    /// The requirement's local ID, the text an editor offers to edit.
    pub placeholder: String,
}

/// Edits per file, each a byte range and its replacement.
pub type FileEdits = BTreeMap<PathBuf, Vec<(Range<usize>, String)>>;

/// The requirement ID at `offset`, when it names a requirement with a written ID.
pub fn rename_target(index: &SpecIndex, path: &Path, offset: usize) -> Option<RenameTarget> {
    let id = index.id_at(path, offset)?;
    let location = index.item(&id.key)?;
    let found = index.requirement(&location.requirement_key)?;
    found.requirement.id_range.as_ref()?;
    let text = file_text(index, path)?;
    let written = text.get(id.range.clone())?;
    let old = found.requirement.local_id.as_str();
    let start = id_position(written, old)?;
    let range = id.range.start + start..id.range.start + start + old.len();
    Some(RenameTarget {
        key: location.requirement_key.clone(),
        range,
        placeholder: old.to_owned(),
    })
}

/// The edits that rename requirement `key` to `new_id` everywhere it is written.
pub fn rename_edits(index: &SpecIndex, key: &str, new_id: &str) -> Result<FileEdits, String> {
    let valid = new_id
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphanumeric())
        && new_id
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "._-".contains(character));
    if !valid {
        return Err(format!(
            "`{new_id}` is not a valid requirement ID (letters, digits, `.`, `_` and `-`)"
        ));
    }
    let found = index
        .requirement(key)
        .ok_or_else(|| format!("no requirement `{key}` in the index"))?;
    let old = found.requirement.local_id.clone();
    if new_id == old {
        return Ok(FileEdits::new());
    }
    if index
        .resolve(new_id, Some(found.document.spec_id.as_str()))
        .is_some()
    {
        return Err(format!("`{new_id}` already names a requirement"));
    }
    if found.requirement.id_range.is_none() {
        return Err(format!(
            "requirement `{old}` has no written ID to rename; add an **ID** line first"
        ));
    }
    let item_keys = std::iter::once(key.to_owned()).chain(
        found
            .requirement
            .criteria
            .iter()
            .map(|criterion| criterion.key.clone()),
    );
    let mut edits = FileEdits::new();
    for item_key in item_keys {
        let is_requirement = index
            .item(&item_key)
            .is_some_and(|location| location.part == ItemPart::Requirement);
        for (path, range) in index.references(&item_key) {
            let Some(text) = file_text(index, &path) else {
                continue;
            };
            let Some(written) = text.get(range.clone()) else {
                continue;
            };
            let Some(start) = id_position(written, &old) else {
                continue;
            };
            if !is_requirement && written.len() == start + old.len() {
                continue;
            }
            let edit = (
                range.start + start..range.start + start + old.len(),
                new_id.to_owned(),
            );
            let file = edits.entry(path).or_default();
            if !file.contains(&edit) {
                file.push(edit);
            }
        }
    }
    for file in edits.values_mut() {
        file.sort_by_key(|(range, _)| range.start);
    }
    Ok(edits)
}

/// Where `id` is written as a whole token in `written`: after nothing or a spec
/// prefix (`auth#`), before nothing, a criterion suffix (`.1`) or a pin (`@…`).
fn id_position(written: &str, id: &str) -> Option<usize> {
    written
        .match_indices(id)
        .map(|(start, _)| start)
        .find(|start| {
            let before_ok = *start == 0 || written[..*start].ends_with('#');
            let after = &written[start + id.len()..];
            let after_ok = after.is_empty() || after.starts_with('.') || after.starts_with('@');
            before_ok && after_ok
        })
}

fn file_text(index: &SpecIndex, path: &Path) -> Option<std::sync::Arc<str>> {
    index
        .spec(path)
        .map(|spec| spec.text.clone())
        .or_else(|| index.code_file(path).map(|code| code.text.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec_assist::fixture::{CODE, SPEC, TASKS, index};

    fn apply(text: &str, edits: &[(Range<usize>, String)]) -> String {
        let mut result = text.to_owned();
        for (range, new_text) in edits.iter().rev() {
            result.replace_range(range.clone(), new_text);
        }
        result
    }

    #[test]
    fn renames_the_definition_task_references_and_code_tags() {
        let index = index();
        let edits = rename_edits(&index, "auth#AUTH-003", "AUTH-010").expect("rename");
        let spec = apply(SPEC, &edits[Path::new("/w/specs/auth.md")]);
        assert!(spec.contains("**ID**: AUTH-010\n"));
        let tasks = apply(TASKS, &edits[Path::new("/w/specs/tasks.md")]);
        assert!(
            tasks.contains("_Requirements: AUTH-010, AUTH-010.1_"),
            "{tasks}"
        );
        let code = apply(CODE, &edits[Path::new("/w/src/expiry.py")]);
        assert!(code.contains("# @spec AUTH-010\n"));
        assert!(code.contains("auth#AUTH-010.1@deadbeef"), "{code}");
    }

    #[test]
    fn refuses_invalid_and_taken_ids() {
        let index = index();
        assert!(rename_edits(&index, "auth#AUTH-003", "has space").is_err());
        assert!(rename_edits(&index, "auth#AUTH-003", "AUTH-003.1").is_err());
    }

    #[test]
    fn the_target_is_the_bare_id_even_in_a_qualified_tag() {
        let index = index();
        let offset = CODE.find("auth#AUTH").expect("fixture") + 1;
        let target = rename_target(&index, Path::new("/w/src/expiry.py"), offset).expect("target");
        assert_eq!(target.key, "auth#AUTH-003");
        assert_eq!(&CODE[target.range.clone()], "AUTH-003");
        assert_eq!(target.placeholder, "AUTH-003");
    }
}
