//! Where requirement IDs are completed: after `@spec` in code, and in the
//! `_Requirements:_` and `Validates:` lines of tasks and designs.

/// The ID being typed at the end of `line_before_cursor`, when the cursor is where a
/// requirement ID is expected (in a tag, only references and separators may come
/// before it, as the tag syntax reads them); empty when the ID has not begun yet.
pub fn id_prefix(line_before_cursor: &str, in_spec: bool) -> Option<&str> {
    let after_marker = if in_spec {
        let lower = line_before_cursor.to_ascii_lowercase();
        let marker_end = ["_requirements:", "requirements:", "validates:"]
            .iter()
            .filter_map(|marker| lower.rfind(marker).map(|start| start + marker.len()))
            .max()?;
        &line_before_cursor[marker_end..]
    } else {
        let tag_start = line_before_cursor.rfind("@spec")?;
        let after_tag = &line_before_cursor[tag_start + "@spec".len()..];
        let after_tag = after_tag
            .strip_prefix("-begin")
            .or_else(|| after_tag.strip_prefix("-end"))
            .unwrap_or(after_tag);
        let after_role = match after_tag.strip_prefix('(') {
            Some(role) => &role[role.find(')')? + 1..],
            None => after_tag,
        };
        if !after_role.starts_with([' ', '\t']) {
            return None;
        }
        after_role
    };
    let prefix_start = after_marker
        .rfind(|character: char| !is_id_character(character))
        .map_or(0, |index| index + 1);
    let (earlier_references, prefix) = after_marker.split_at(prefix_start);
    let only_references = earlier_references.chars().all(|character| {
        character.is_whitespace() || character == ',' || is_id_character(character)
    }) || in_spec;
    only_references.then_some(prefix)
}

fn is_id_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || "._#/-~".contains(character)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_after_spec_tags_in_code() {
        assert_eq!(id_prefix("// @spec AU", false), Some("AU"));
        assert_eq!(id_prefix("# @spec(test) ", false), Some(""));
        assert_eq!(id_prefix("// @spec AUTH-1, AUTH-", false), Some("AUTH-"));
        assert_eq!(id_prefix("// @spec-begin auth#A", false), Some("auth#A"));
    }

    #[test]
    fn does_not_complete_outside_tags() {
        assert_eq!(id_prefix("let spec = AU", false), None);
        assert_eq!(id_prefix("// @specification", false), None);
        assert_eq!(id_prefix("// @spec AUTH-1: the reason", false), None);
    }

    #[test]
    fn completes_in_requirement_lists_of_tasks_and_designs() {
        assert_eq!(id_prefix("  - _Requirements: 1.1, 2", true), Some("2"));
        assert_eq!(id_prefix("**Validates: Requirements 1.", true), Some("1."));
        assert_eq!(id_prefix("- [ ] 1. Do it", true), None);
    }
}
