//! Content fingerprints of requirements: a link pinned to a fingerprint becomes
//! *suspect* when the requirement's text changes, without anyone bumping revisions.

use sha2::{Digest, Sha256};

use crate::spec::model::Requirement;

/// The first 8 hex characters of SHA-256 over the normalized statement, criteria and
/// scenario text (emphasis stripped, whitespace collapsed), so reformatting does not
/// make links suspect but rewording does.
pub fn requirement_fingerprint(requirement: &Requirement) -> String {
    let mut hasher = Sha256::new();
    let texts = requirement
        .statements
        .iter()
        .map(|statement| statement.text.as_str())
        .chain(
            requirement
                .criteria
                .iter()
                .map(|criterion| criterion.statement.text.as_str()),
        )
        .chain(requirement.scenarios.iter().flat_map(|scenario| {
            std::iter::once(scenario.name.as_str())
                .chain(scenario.steps.iter().map(|step| step.text.as_str()))
        }));
    for text in texts {
        hasher.update(normalize(text).as_bytes());
        hasher.update(b"\n");
    }
    let digest = hasher.finalize();
    digest
        .iter()
        .take(4)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn normalize(text: &str) -> String {
    let without_emphasis: String = text
        .chars()
        .filter(|character| !matches!(character, '*' | '_' | '`'))
        .collect();
    without_emphasis
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_formatting_but_not_wording() {
        assert_eq!(
            normalize("THE  **System**\tSHALL `log`"),
            "THE System SHALL log"
        );
        assert_ne!(normalize("SHALL log"), normalize("SHALL not log"));
    }
}
