//! Answers to the agent's `session/request_permission`: a tool call that only
//! touches files inside the sandbox is allowed, since whatever it changes
//! comes back as proposals the user reviews; anything else (a path outside,
//! a command with no path) goes to the user.
//!
//! The files a tool call touches are read from the request (its locations,
//! diffs and raw input) and from what the agent's earlier updates of the same
//! tool call named: claude-code-acp's requests name no path at all.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::files::inside_sandbox;
use super::schema::{
    PermissionOption, PermissionOptionKind, PermissionOutcome, RequestPermissionRequest,
    ToolCallContent,
};

/// The raw input arguments that name a file, as agents' tools call them.
const PATH_ARGUMENTS: &[&str] = &["file_path", "filePath", "notebook_path", "path"];

/// How a permission request is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Select this option without asking.
    Allow(String),
    /// Only the user can say.
    AskUser,
}

/// Allows a tool call whose every path lies in the sandbox `root` (canonical)
/// when the agent offers an allow option; asks the user about anything else.
/// `earlier` are the paths the agent's updates of the tool call named.
pub fn judge(root: &Path, request: &RequestPermissionRequest, earlier: &[PathBuf]) -> Verdict {
    let paths = touched_paths(root, request, earlier);
    let contained = !paths.is_empty()
        && paths
            .iter()
            .all(|path| inside_sandbox(root, path).is_some());
    if !contained {
        return Verdict::AskUser;
    }
    [
        PermissionOptionKind::AllowOnce,
        PermissionOptionKind::AllowAlways,
    ]
    .iter()
    .find_map(|kind| option_of_kind(&request.options, *kind))
    .map_or(Verdict::AskUser, |option| {
        Verdict::Allow(option.option_id.clone())
    })
}

/// The question put to the user for `request`, and its choices: the agent's
/// options by name, in its order. It says the call reaches beyond the
/// sandbox only when one of its paths does.
pub fn question(
    agent: &str,
    root: &Path,
    request: &RequestPermissionRequest,
    earlier: &[PathBuf],
) -> (String, Vec<String>) {
    let title = request
        .tool_call
        .title
        .as_deref()
        .unwrap_or("an action it did not name");
    let paths = touched_paths(root, request, earlier);
    let outside: Vec<String> = paths
        .iter()
        .filter(|path| inside_sandbox(root, path).is_none())
        .map(|path| path.display().to_string())
        .collect();
    let message = if paths.is_empty() {
        format!(
            "Agent `{agent}` asks permission for: {title}. It names no file, so Director \
             cannot tell what it touches; the agent works in a confined copy of the workspace"
        )
    } else if outside.is_empty() {
        format!(
            "Agent `{agent}` asks permission for: {title}. It stays in the agent's copy of \
             the workspace; what it changes comes back as proposals"
        )
    } else {
        format!(
            "Agent `{agent}` asks permission for: {title} (touches {}). It works in a copy of \
             the workspace, but this reaches beyond it",
            outside.join(", ")
        )
    };
    let choices = request
        .options
        .iter()
        .map(|option| option.name.clone())
        .collect();
    (message, choices)
}

/// The files a tool's raw input names (`file_path`, `path`, …), relative
/// ones taken from the sandbox `root`.
pub fn paths_in_raw_input(root: &Path, raw_input: &Value) -> Vec<PathBuf> {
    PATH_ARGUMENTS
        .iter()
        .filter_map(|argument| raw_input.get(argument)?.as_str())
        .filter(|path| !path.is_empty())
        .map(|path| root.join(path))
        .collect()
}

/// The outcome for the user's choice (an index into the question's choices);
/// no choice rejects once, or cancels when the agent offers no way to reject.
pub fn outcome_for_choice(
    request: &RequestPermissionRequest,
    choice: Option<usize>,
) -> PermissionOutcome {
    let chosen = choice
        .and_then(|index| request.options.get(index))
        .or_else(|| {
            [
                PermissionOptionKind::RejectOnce,
                PermissionOptionKind::RejectAlways,
            ]
            .iter()
            .find_map(|kind| option_of_kind(&request.options, *kind))
        });
    match chosen {
        Some(option) => PermissionOutcome::Selected {
            option_id: option.option_id.clone(),
        },
        None => PermissionOutcome::Cancelled,
    }
}

/// Every path the tool call names: in its locations, its diffs, its raw
/// input and `earlier` updates.
fn touched_paths(
    root: &Path,
    request: &RequestPermissionRequest,
    earlier: &[PathBuf],
) -> Vec<PathBuf> {
    let locations = request
        .tool_call
        .locations
        .iter()
        .flatten()
        .map(|location| location.path.clone());
    let diffs = request
        .tool_call
        .content
        .iter()
        .flatten()
        .filter_map(|content| match content {
            ToolCallContent::Diff { path } => Some(path.clone()),
            ToolCallContent::Other => None,
        });
    let raw_input = request
        .tool_call
        .raw_input
        .iter()
        .flat_map(|raw_input| paths_in_raw_input(root, raw_input));
    let mut paths: Vec<PathBuf> = locations
        .chain(diffs)
        .chain(raw_input)
        .chain(earlier.iter().cloned())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

fn option_of_kind(
    options: &[PermissionOption],
    kind: PermissionOptionKind,
) -> Option<&PermissionOption> {
    options.iter().find(|option| option.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn request(tool_call: Value) -> RequestPermissionRequest {
        serde_json::from_value(json!({
            "sessionId": "s",
            "toolCall": tool_call,
            "options": [
                { "optionId": "yes", "name": "Allow once", "kind": "allow_once" },
                { "optionId": "always", "name": "Always allow", "kind": "allow_always" },
                { "optionId": "no", "name": "Reject", "kind": "reject_once" },
            ],
        }))
        .expect("a permission request")
    }

    fn root() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().canonicalize().expect("a path");
        (dir, root)
    }

    #[test]
    fn an_edit_inside_the_sandbox_is_allowed_once() {
        let (_dir, root) = root();
        let edit = request(json!({
            "toolCallId": "c", "title": "Edit lib.rs", "kind": "edit",
            "content": [{ "type": "diff", "path": root.join("src/lib.rs"), "oldText": "a", "newText": "b" }],
            "locations": [{ "path": root.join("src/lib.rs"), "line": 3 }],
        }));
        assert_eq!(judge(&root, &edit, &[]), Verdict::Allow("yes".into()));
    }

    #[test]
    fn a_path_outside_or_no_path_at_all_asks_the_user() {
        let (_dir, root) = root();
        let mixed = request(json!({
            "toolCallId": "c", "title": "Edit two files",
            "content": [
                { "type": "diff", "path": root.join("a.rs"), "newText": "" },
                { "type": "diff", "path": "/etc/hosts", "newText": "" },
            ],
        }));
        assert_eq!(judge(&root, &mixed, &[]), Verdict::AskUser);
        let command =
            request(json!({ "toolCallId": "c", "title": "Run rm -rf /", "kind": "execute" }));
        assert_eq!(judge(&root, &command, &[]), Verdict::AskUser);
        let escape = request(json!({
            "toolCallId": "c", "locations": [{ "path": root.join("../elsewhere") }],
        }));
        assert_eq!(judge(&root, &escape, &[]), Verdict::AskUser);
    }

    #[test]
    fn an_agent_offering_no_allow_option_is_asked_about() {
        let (_dir, root) = root();
        let mut edit = request(json!({
            "toolCallId": "c", "locations": [{ "path": root.join("a.rs") }],
        }));
        edit.options
            .retain(|option| option.kind == PermissionOptionKind::RejectOnce);
        assert_eq!(judge(&root, &edit, &[]), Verdict::AskUser);
    }

    #[test]
    fn a_request_naming_no_path_is_judged_by_its_raw_input_and_earlier_updates() {
        let (_dir, root) = root();
        // claude-code-acp: no locations, no diff, only the tool's arguments.
        let write = request(json!({
            "toolCallId": "c", "title": "Write src/lib.rs",
            "rawInput": { "file_path": root.join("src/lib.rs"), "content": "x" },
        }));
        assert_eq!(judge(&root, &write, &[]), Verdict::Allow("yes".into()));
        let relative = request(json!({
            "toolCallId": "c", "title": "Edit", "rawInput": { "file_path": "src/lib.rs" },
        }));
        assert_eq!(judge(&root, &relative, &[]), Verdict::Allow("yes".into()));
        let bare = request(json!({ "toolCallId": "c", "title": "Edit" }));
        assert_eq!(
            judge(&root, &bare, &[root.join("src/lib.rs")]),
            Verdict::Allow("yes".into())
        );
        // Asked about without a path, it is not said to reach beyond the sandbox.
        assert_eq!(judge(&root, &bare, &[]), Verdict::AskUser);
        let (message, _) = question("claude", &root, &bare, &[]);
        assert!(!message.contains("beyond"), "{message}");
        assert!(message.contains("names no file"), "{message}");
        let outside = request(json!({
            "toolCallId": "c", "title": "Write", "rawInput": { "file_path": "/etc/hosts" },
        }));
        assert_eq!(judge(&root, &outside, &[]), Verdict::AskUser);
        let (message, _) = question("claude", &root, &outside, &[]);
        assert!(message.contains("/etc/hosts"), "{message}");
        assert!(message.contains("beyond"), "{message}");
    }

    #[test]
    fn the_question_names_the_paths_and_the_answer_maps_back_to_an_option() {
        let outside = request(json!({
            "toolCallId": "c", "title": "Write notes",
            "content": [{ "type": "diff", "path": "/home/me/notes.txt", "newText": "x" }],
        }));
        let (_dir, root) = root();
        let (message, choices) = question("gem", &root, &outside, &[]);
        assert!(
            message.starts_with("Agent `gem` asks permission for: Write notes"),
            "{message}"
        );
        assert!(message.contains("/home/me/notes.txt"), "{message}");
        assert_eq!(choices, ["Allow once", "Always allow", "Reject"]);
        assert_eq!(
            outcome_for_choice(&outside, Some(1)),
            PermissionOutcome::Selected {
                option_id: "always".into()
            }
        );
        assert_eq!(
            outcome_for_choice(&outside, None),
            PermissionOutcome::Selected {
                option_id: "no".into()
            }
        );
        assert_eq!(
            outcome_for_choice(&outside, Some(7)),
            PermissionOutcome::Selected {
                option_id: "no".into()
            }
        );
        let mut no_reject = outside.clone();
        no_reject
            .options
            .retain(|option| option.kind == PermissionOptionKind::AllowOnce);
        assert_eq!(
            outcome_for_choice(&no_reject, None),
            PermissionOutcome::Cancelled
        );
    }
}
