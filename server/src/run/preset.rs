//! The directions offered as code actions on a selection.

/// A named direction for an agent, offered as a code action for every agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// What the code action says: "Delegate to {agent}: {label}".
    pub label: &'static str,
    /// The instruction the agent receives.
    pub instruction: &'static str,
}

pub const PRESETS: &[Preset] = &[
    Preset {
        label: "Implement",
        instruction: "Implement this code: complete whatever is missing, stubbed or marked as to be done, \
following its signature, comments and the surrounding code.",
    },
    Preset {
        label: "Simplify",
        instruction: "Simplify this code without changing its behaviour: remove duplication and needless \
complexity, keep the public signature.",
    },
    Preset {
        label: "Harden error handling",
        instruction: "Harden the error handling of this code: handle every failure case explicitly, \
no panics or silently ignored errors, clear error messages; keep the success path's behaviour.",
    },
    Preset {
        label: "Add tests",
        instruction: "Add tests for this code in the idiom of its language and of the surrounding project. \
Keep the existing code exactly as it is and put the new tests after it.",
    },
];
