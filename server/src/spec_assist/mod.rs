//! What editors and agents are told about specs, computed from the spec index as
//! plain text and byte ranges: hover text, rename edits, completion contexts and the
//! spec context of an agent's prompt. The LSP layer only converts the results.
//!
//! - [`hover`]: governing requirements, coverage and referenced text as Markdown.
//! - [`rename`]: the edits that rename a requirement ID everywhere it is written.
//! - [`completion`]: whether the cursor is where a requirement ID is expected.
//! - [`agent_context`]: requirements and steering files for a delegated run.
//! - [`task_prompt`]: what an agent is told when a task is started from a tasks file.
//! - [`task_box`]: the guarded checkbox edits that follow a task's run.

pub mod agent_context;
pub mod completion;
pub mod hover;
pub mod rename;
pub mod task_box;
pub mod task_prompt;

#[cfg(test)]
pub(crate) mod fixture {
    use crate::spec::index::SpecIndex;
    use std::path::Path;

    pub const SPEC: &str = "---\ndirector-spec: 1\nspec: auth\n---\n# Auth\n## Purpose\nP.\n## Requirements\n### Requirement: Idle timeout\n**ID**: AUTH-003\nTHE Session service SHALL expire idle sessions after 30 minutes.\n1. IF a token is invalid, THEN THE API SHALL respond 401.\n#### Scenario: Idle\n- WHEN 30 minutes pass\n- THEN the next request gets 401\n";
    pub const TASKS: &str = "---\ndirector-spec: 1\nspec: auth\n---\n# Tasks\n- [x] 1. Expire sessions\n  - _Requirements: AUTH-003, AUTH-003.1_\n";
    pub const CODE: &str = "import x\n\n# @spec AUTH-003\ndef expire():\n    pass\n\n# @spec(test) auth#AUTH-003.1@deadbeef\ndef test_401():\n    pass\n";

    pub fn index() -> SpecIndex {
        let root = Path::new("/w");
        let mut index = SpecIndex::new(root);
        index.update_file(&root.join("specs/auth.md"), SPEC);
        index.update_file(&root.join("specs/tasks.md"), TASKS);
        index.update_file(&root.join("src/expiry.py"), CODE);
        index
    }
}
