//! Prompt assembly: what the agent is told about the region it rewrites, or
//! the task it carries out across files.
//!
//! For a region the agent is asked for its whole replacement in one fenced
//! block, the edit format models follow most reliably (AGENT-PROTOCOLS.md §5);
//! for a task, for SEARCH/REPLACE blocks naming their files. Code is never
//! wrapped in JSON.

use super::journal::Transcript;
use crate::agent::{ChatMessage, Role};

/// The region of a file a run rewrites, and what surrounds it.
#[derive(Debug, Clone, Default)]
pub struct RegionContext {
    /// The file's path as the user knows it (relative to the workspace when possible).
    pub path: String,
    /// The language's name, when Director knows it.
    pub language: Option<String>,
    /// The signature of the item that encloses the region, e.g. `fn parse(input: &str) -> Ast`.
    pub enclosing_signature: Option<String>,
    /// Lines just before the region (unchanged by the agent).
    pub before: String,
    pub region: String,
    /// Lines just after the region (unchanged by the agent).
    pub after: String,
    /// The requirements that govern the region and the project's steering files.
    pub spec: SpecContext,
}

/// What the project's specs say about a region, already trimmed to a budget.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecContext {
    /// Governing requirements; the title starts with the requirement's ID.
    pub requirements: Vec<ContextEntry>,
    /// Steering files that apply (AGENTS.md, Kiro steering, constitutions).
    pub steering: Vec<ContextEntry>,
    /// The IDs of `requirements`, for the `@spec` tag request.
    pub requirement_ids: Vec<String>,
}

/// One titled piece of context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    pub title: String,
    pub text: String,
}

const SYSTEM_PROMPT: &str = "You are a senior software engineer working inside the developer's editor. \
You rewrite exactly one region of one file, as instructed. \
Reply with the complete new text of the region in ONE fenced code block, and nothing else that \
could be mistaken for code. The block replaces the region as a whole: include every line of the \
region you keep, unchanged lines too. Do not repeat the context shown before or after the region. \
Keep the file's indentation and style. A short explanation outside the block is fine.";

/// The messages of a first attempt at a region.
pub fn region_messages(instruction: &str, context: &RegionContext) -> Vec<ChatMessage> {
    let language = context.language.as_deref().unwrap_or("");
    let mut user = String::new();
    user.push_str(&format!("Instruction: {instruction}\n\n"));
    user.push_str(&format!("File: {}\n", context.path));
    if !language.is_empty() {
        user.push_str(&format!("Language: {language}\n"));
    }
    if let Some(signature) = &context.enclosing_signature {
        user.push_str(&format!("The region is inside: {signature}\n"));
    }
    if !context.before.is_empty() {
        user.push_str(&format!(
            "\nContext before the region (do not repeat it):\n{}\n",
            fenced(language, &context.before)
        ));
    }
    user.push_str(&format!(
        "\nThe region to rewrite:\n{}\n",
        fenced(language, &context.region)
    ));
    if !context.after.is_empty() {
        user.push_str(&format!(
            "\nContext after the region (do not repeat it):\n{}\n",
            fenced(language, &context.after)
        ));
    }
    push_spec_context(&mut user, &context.spec);
    user.push_str("\nReply with the complete replacement of the region in one fenced code block.");
    vec![
        ChatMessage {
            role: Role::System,
            content: SYSTEM_PROMPT.to_owned(),
        },
        ChatMessage {
            role: Role::User,
            content: user,
        },
    ]
}

fn push_spec_context(user: &mut String, spec: &SpecContext) {
    if !spec.requirements.is_empty() {
        user.push_str("\nRequirements that govern this region:\n");
        for entry in &spec.requirements {
            user.push_str(&format!(
                "\n{}\n{}\n",
                entry.title,
                fenced("md", &entry.text)
            ));
        }
        user.push_str(&format!(
            "\nWhere your code implements one of these requirements, add a comment tag \
`@spec <ID>` (for example `@spec {}`) just above the code that implements it, keeping the \
tags already there.\n",
            spec.requirement_ids.first().map_or("REQ-1", String::as_str)
        ));
    }
    if !spec.steering.is_empty() {
        user.push_str("\nProject guidance to follow:\n");
        for entry in &spec.steering {
            user.push_str(&format!(
                "\n{}\n{}\n",
                entry.title,
                fenced("md", &entry.text)
            ));
        }
    }
}

/// The messages of a refinement: the previous conversation, the previous answer,
/// and the user's feedback on it.
pub fn refine_messages(previous: &Transcript, feedback: &str) -> Vec<ChatMessage> {
    let mut messages = previous.messages.clone();
    messages.push(ChatMessage {
        role: Role::Assistant,
        content: previous.answer.clone(),
    });
    messages.push(ChatMessage {
        role: Role::User,
        content: format!(
            "Feedback on your answer: {feedback}\n\nReply again with the complete replacement of \
the region in one fenced code block."
        ),
    });
    messages
}

const REVIEW_SYSTEM_PROMPT: &str = "You are a senior software engineer reviewing code inside the developer's editor. \
You do not rewrite the code: you report findings, one entry per finding, each on its own line in exactly this form:\n\
- line N: SEVERITY: message\n\
- lines N-M: SEVERITY: message\n\
N and M are the line numbers shown in the code; SEVERITY is one of error, warning, info, hint. \
When you can fix a finding, put the complete replacement of exactly those lines in a fenced code block \
right below its entry. Report only real problems. When there are none, answer: No findings.";

/// The messages of a review: the region with its file line numbers, so that
/// findings can name lines.
pub fn review_messages(context: &RegionContext, first_line: usize) -> Vec<ChatMessage> {
    let language = context.language.as_deref().unwrap_or("");
    let mut user = format!("Review this code.\n\nFile: {}\n", context.path);
    if !language.is_empty() {
        user.push_str(&format!("Language: {language}\n"));
    }
    let numbered: String = context
        .region
        .lines()
        .enumerate()
        .map(|(index, line)| format!("{:>5} | {line}\n", first_line + index))
        .collect();
    user.push_str(&format!(
        "\nThe code, each line prefixed with its line number and ` | ` (not part of the code):\n{}\n",
        fenced(language, &numbered)
    ));
    push_spec_context(&mut user, &context.spec);
    user.push_str("\nReply with your findings, one `- line N: severity: message` entry each.");
    vec![
        ChatMessage {
            role: Role::System,
            content: REVIEW_SYSTEM_PROMPT.to_owned(),
        },
        ChatMessage {
            role: Role::User,
            content: user,
        },
    ]
}

/// The follow-up that sends an answer that failed validation back to the agent.
pub fn validation_messages(
    messages: &[ChatMessage],
    answer: &str,
    problems: &str,
) -> Vec<ChatMessage> {
    let mut messages = messages.to_vec();
    messages.push(ChatMessage {
        role: Role::Assistant,
        content: answer.to_owned(),
    });
    messages.push(ChatMessage {
        role: Role::User,
        content: format!(
            "Your answer does not pass validation:\n{problems}\n\nFix these problems and reply \
again with the complete replacement of the region in one fenced code block."
        ),
    });
    messages
}

/// The prompt that runs a CLI agent again in its sandbox when its changes fail
/// validation: the original task, then what fails.
pub fn command_validation_prompt(original: &str, problems: &str) -> String {
    format!(
        "{original}\n\nYou already worked on this in the current folder, but your changes do not \
pass validation:\n{problems}\n\nFix these problems by editing the files again; do not ask for \
confirmation."
    )
}

const TASK_SYSTEM_PROMPT: &str = "You are a senior software engineer working inside the developer's editor. \
You carry out a task on the project, editing whichever files it needs. \
Describe each edit as a SEARCH/REPLACE block: first a line holding only the file's path (relative \
to the project root, exactly as shown), then a fenced code block holding:\n\
<<<<<<< SEARCH\n\
the lines of the file to replace, copied exactly, with enough of them to be unique\n\
=======\n\
the lines to put in their place\n\
>>>>>>> REPLACE\n\
Use one block per change; several blocks may edit the same file, in order from the top. \
To create a file, leave the SEARCH part empty and put the whole file in the REPLACE part. \
Never put code in JSON. A short explanation outside the blocks is fine.";

/// A file shown to an agent in full, by its path relative to the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownFile {
    pub path: String,
    pub text: String,
}

/// The messages of a first attempt at a task: the instruction and the files it
/// concerns, with edits asked for as SEARCH/REPLACE blocks (see
/// [`crate::run::edit_blocks`]).
pub fn task_messages(instruction: &str, files: &[ShownFile]) -> Vec<ChatMessage> {
    let mut user = format!("Task:\n{instruction}\n");
    if !files.is_empty() {
        user.push_str("\nThe files of the project that concern the task, in full:\n");
        for file in files {
            user.push_str(&format!("\n{}\n{}\n", file.path, fenced("", &file.text)));
        }
    }
    user.push_str("\nReply with SEARCH/REPLACE blocks, each after a line naming its file's path.");
    vec![
        ChatMessage {
            role: Role::System,
            content: TASK_SYSTEM_PROMPT.to_owned(),
        },
        ChatMessage {
            role: Role::User,
            content: user,
        },
    ]
}

/// The messages of a task's refinement: the previous conversation and answer,
/// the user's feedback, and the blocks of the answer that could not be applied.
pub fn task_refine_messages(
    previous: &Transcript,
    feedback: &str,
    failures: Option<&str>,
) -> Vec<ChatMessage> {
    let mut messages = previous.messages.clone();
    messages.push(ChatMessage {
        role: Role::Assistant,
        content: previous.answer.clone(),
    });
    let mut user = format!("Feedback on your answer: {feedback}\n");
    if let Some(failures) = failures {
        user.push_str(&format!(
            "\nThese problems came up with your answer:\n{failures}\n"
        ));
    }
    user.push_str(
        "\nReply again with SEARCH/REPLACE blocks for every change still needed, each SEARCH \
part matching the files as they are now.",
    );
    messages.push(ChatMessage {
        role: Role::User,
        content: user,
    });
    messages
}

/// A fence longer than any run of backticks inside `text`, so code that itself
/// contains fences survives.
pub fn fenced(language: &str, text: &str) -> String {
    let longest_run = text
        .split(|character| character != '`')
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    let body = text.strip_suffix('\n').unwrap_or(text);
    format!("{fence}{language}\n{body}\n{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_prompt_names_file_language_signature_and_region() {
        let context = RegionContext {
            path: "src/lib.rs".into(),
            language: Some("rust".into()),
            enclosing_signature: Some("fn add(a: i32, b: i32) -> i32".into()),
            before: "// above\n".into(),
            region: "    a - b\n".into(),
            after: "}\n".into(),
            spec: SpecContext::default(),
        };
        let messages = region_messages("Fix the bug", &context);
        assert_eq!(messages.len(), 2);
        let user = &messages[1].content;
        assert!(user.contains("Instruction: Fix the bug"));
        assert!(user.contains("File: src/lib.rs"));
        assert!(user.contains("fn add(a: i32, b: i32) -> i32"));
        assert!(user.contains("```rust\n    a - b\n```"));
        assert!(user.contains("// above"));
    }

    #[test]
    fn spec_context_adds_requirements_steering_and_the_tag_request() {
        let context = RegionContext {
            spec: SpecContext {
                requirements: vec![ContextEntry {
                    title: "AUTH-003 Idle timeout (specs/auth.md)".into(),
                    text: "THE service SHALL expire idle sessions.".into(),
                }],
                steering: vec![ContextEntry {
                    title: "AGENTS.md".into(),
                    text: "Use tabs.".into(),
                }],
                requirement_ids: vec!["AUTH-003".into()],
            },
            ..RegionContext::default()
        };
        let user = &region_messages("Implement", &context)[1].content;
        assert!(user.contains("AUTH-003 Idle timeout (specs/auth.md)"));
        assert!(user.contains("SHALL expire idle sessions"));
        assert!(user.contains("`@spec AUTH-003`"));
        assert!(user.contains("AGENTS.md\n```md\nUse tabs.\n```"));
        let plain = &region_messages("Implement", &RegionContext::default())[1].content;
        assert!(!plain.contains("@spec"));
    }

    #[test]
    fn review_prompt_numbers_lines_and_states_the_entry_format() {
        let context = RegionContext {
            path: "src/lib.rs".into(),
            language: Some("rust".into()),
            region: "fn a() {}\nfn b() {}\n".into(),
            ..RegionContext::default()
        };
        let messages = review_messages(&context, 7);
        assert!(messages[0].content.contains("- line N: SEVERITY: message"));
        assert!(
            messages[1]
                .content
                .contains("    7 | fn a() {}\n    8 | fn b() {}")
        );
    }

    #[test]
    fn validation_follow_up_carries_the_answer_and_the_problems() {
        let first = region_messages("Fix", &RegionContext::default());
        let messages = validation_messages(&first, "```\nfn (\n```", "line 3: syntax error");
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[2].content, "```\nfn (\n```");
        assert!(messages[3].content.contains("line 3: syntax error"));
    }

    #[test]
    fn a_command_agent_is_told_the_task_again_with_what_fails() {
        let prompt = command_validation_prompt("Fix the bug", "src/lib.rs line 2: expected `}`");
        assert!(prompt.starts_with("Fix the bug\n\n"), "{prompt}");
        assert!(
            prompt.contains("do not pass validation:\nsrc/lib.rs line 2"),
            "{prompt}"
        );
    }

    #[test]
    fn fences_outgrow_backticks_in_the_region() {
        let fence = fenced("md", "```\ncode\n```\n");
        assert!(fence.starts_with("````md\n"));
        assert!(fence.ends_with("\n````"));
    }

    #[test]
    fn refinement_keeps_the_conversation_and_adds_feedback() {
        let previous = Transcript {
            messages: region_messages("Simplify", &RegionContext::default()),
            answer: "```\nx\n```".into(),
            steps: Vec::new(),
        };
        let messages = refine_messages(&previous, "keep the loop");
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[2].role, Role::Assistant);
        assert!(messages[3].content.contains("keep the loop"));
    }

    #[test]
    fn task_prompt_shows_files_with_paths_and_asks_for_blocks() {
        let files = [ShownFile {
            path: "src/lib.rs".into(),
            text: "fn a() {}\n".into(),
        }];
        let messages = task_messages("Add b", &files);
        assert!(messages[0].content.contains("<<<<<<< SEARCH"));
        assert!(messages[0].content.contains(">>>>>>> REPLACE"));
        assert!(messages[0].content.contains("leave the SEARCH part empty"));
        let user = &messages[1].content;
        assert!(user.starts_with("Task:\nAdd b\n"));
        assert!(user.contains("src/lib.rs\n```\nfn a() {}\n```"));
    }

    #[test]
    fn task_refinement_sends_the_failures_back() {
        let previous = Transcript {
            messages: task_messages("Add b", &[]),
            answer: "blocks".into(),
            steps: Vec::new(),
        };
        let messages = task_refine_messages(&previous, "again", Some("block 2 (a.rs): no match"));
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[2].content, "blocks");
        assert!(messages[3].content.contains("again"));
        assert!(messages[3].content.contains("block 2 (a.rs): no match"));
        let without = task_refine_messages(&previous, "again", None);
        assert!(!without[3].content.contains("problems came up"));
    }
}
