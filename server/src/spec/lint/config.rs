//! The `[lint]` table of `director.toml`: rule severities, rules turned off, and
//! per-glob overrides, plus which trace roles every requirement needs (TRC004).
//!
//! ```toml
//! [lint]
//! needs = ["impl", "test"]
//! [lint.rules]
//! AMB002 = "off"
//! SPEC003 = "error"
//! [[lint.overrides]]
//! files = ["legacy/**"]
//! rules = { AMB001 = "off" }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::spec::lint::Severity;

/// Lint configuration as written in `director.toml`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct LintConfig {
    /// Rule ID to level, for every file.
    pub rules: BTreeMap<String, RuleLevel>,
    /// Later overrides win over earlier ones and over `rules`.
    pub overrides: Vec<LintOverride>,
    /// Trace roles each requirement needs; TRC004 reports the missing ones.
    /// Defaults to `["impl", "test"]`.
    pub needs: Option<Vec<NeededRole>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintOverride {
    pub files: Vec<String>,
    pub rules: BTreeMap<String, RuleLevel>,
}

/// A configured rule level; `off` disables the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleLevel {
    Off,
    Hint,
    Info,
    Warning,
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NeededRole {
    Impl,
    Test,
}

/// The part of `director.toml` the linter reads; every other key is the config
/// module's business.
#[derive(Deserialize)]
struct WorkspaceLintFile {
    #[serde(default)]
    lint: LintConfig,
}

/// Reads the `[lint]` table of `root/director.toml`; a missing file is the default
/// configuration, a malformed one an error message naming the file.
pub fn read_workspace_lint_config(root: &Path) -> Result<LintConfig, String> {
    let path = root.join("director.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(LintConfig::default());
    };
    toml::from_str::<WorkspaceLintFile>(&text)
        .map(|file| file.lint)
        .map_err(|error| format!("{}: {}", path.display(), error.to_string().trim_end()))
}

/// A compiled [`LintConfig`], ready to answer per-file questions.
#[derive(Debug)]
pub struct LintPolicy {
    rules: BTreeMap<String, RuleLevel>,
    overrides: Vec<(GlobSet, BTreeMap<String, RuleLevel>)>,
    pub needs: Vec<NeededRole>,
}

impl LintPolicy {
    /// Compiles the configuration; returns the policy and one message per problem
    /// (invalid glob, unknown rule ID), which never stop linting.
    pub fn new(config: &LintConfig) -> (LintPolicy, Vec<String>) {
        let mut problems = Vec::new();
        let known = |id: &String, problems: &mut Vec<String>| {
            if crate::spec::lint::rule(id).is_none() {
                problems.push(format!("unknown lint rule `{id}` in [lint]"));
            }
        };
        for id in config.rules.keys() {
            known(id, &mut problems);
        }
        let mut overrides = Vec::new();
        for entry in &config.overrides {
            let mut builder = GlobSetBuilder::new();
            for pattern in &entry.files {
                match Glob::new(pattern) {
                    Ok(glob) => {
                        builder.add(glob);
                    }
                    Err(error) => problems.push(format!(
                        "invalid glob `{pattern}` in [lint.overrides]: {error}"
                    )),
                }
            }
            for id in entry.rules.keys() {
                known(id, &mut problems);
            }
            match builder.build() {
                Ok(set) => overrides.push((set, entry.rules.clone())),
                Err(error) => problems.push(format!("invalid globs in [lint.overrides]: {error}")),
            }
        }
        let needs = config
            .needs
            .clone()
            .unwrap_or_else(|| vec![NeededRole::Impl, NeededRole::Test]);
        (
            LintPolicy {
                rules: config.rules.clone(),
                overrides,
                needs,
            },
            problems,
        )
    }

    /// The severity a finding gets in this file, or `None` when the rule is off.
    pub fn severity(
        &self,
        rule: &str,
        relative_path: &Path,
        default: Severity,
    ) -> Option<Severity> {
        let mut level = self.rules.get(rule).copied();
        for (set, rules) in &self.overrides {
            if set.is_match(relative_path) {
                if let Some(overridden) = rules.get(rule) {
                    level = Some(*overridden);
                }
            }
        }
        match level {
            None => Some(default),
            Some(RuleLevel::Off) => None,
            Some(RuleLevel::Hint) => Some(Severity::Hint),
            Some(RuleLevel::Info) => Some(Severity::Info),
            Some(RuleLevel::Warning) => Some(Severity::Warning),
            Some(RuleLevel::Error) => Some(Severity::Error),
        }
    }

    /// Whether the rule is off for this file, so it need not run at all.
    pub fn is_off(&self, rule: &str, relative_path: &Path) -> bool {
        self.severity(rule, relative_path, Severity::Info).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_per_glob_and_unknown_rules_are_reported() {
        let config: LintConfig = toml::from_str(
            "rules = { AMB002 = \"off\", SPEC003 = \"error\", NOPE001 = \"off\" }\n[[overrides]]\nfiles = [\"legacy/**\"]\nrules = { SPEC003 = \"off\", AMB002 = \"hint\" }\n",
        )
        .expect("test fixture");
        let (policy, problems) = LintPolicy::new(&config);
        assert_eq!(problems, ["unknown lint rule `NOPE001` in [lint]"]);
        let spec = Path::new("specs/a.md");
        let legacy = Path::new("legacy/a.md");
        assert_eq!(
            policy.severity("SPEC003", spec, Severity::Warning),
            Some(Severity::Error)
        );
        assert_eq!(policy.severity("SPEC003", legacy, Severity::Warning), None);
        assert_eq!(policy.severity("AMB002", spec, Severity::Warning), None);
        assert_eq!(
            policy.severity("AMB002", legacy, Severity::Warning),
            Some(Severity::Hint)
        );
        assert_eq!(
            policy.severity("AMB001", spec, Severity::Warning),
            Some(Severity::Warning)
        );
    }
}
