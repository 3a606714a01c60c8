//! An API key read from the environment at request time, never printed.

use std::fmt;

use crate::agent::error::AgentError;

/// A secret that must reach only the configured endpoint's `Authorization`
/// header: its `Debug` is redacted and it has no `Display`.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Reads the key of agent `agent_name` from the environment variable `var`.
    pub fn from_env(agent_name: &str, var: &str) -> Result<ApiKey, AgentError> {
        match std::env::var(var) {
            Ok(key) if !key.trim().is_empty() => Ok(ApiKey(key.trim().to_owned())),
            _ => Err(AgentError::MissingKey {
                agent: agent_name.to_owned(),
                var: var.to_owned(),
            }),
        }
    }

    /// The key of agent `agent_name` when its config names a variable for one.
    pub fn for_agent(
        agent_name: &str,
        api_key_env: Option<&str>,
    ) -> Result<Option<ApiKey>, AgentError> {
        api_key_env
            .map(|var| ApiKey::from_env(agent_name, var))
            .transpose()
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_names_the_variable() {
        let error = ApiKey::from_env("cloud", "DIRECTOR_TEST_SURELY_UNSET_VARIABLE")
            .expect_err("the variable is not set");
        assert_eq!(
            error.to_string(),
            "the environment variable DIRECTOR_TEST_SURELY_UNSET_VARIABLE is not set: agent \
             `cloud` reads its API key from it"
        );
    }

    #[test]
    fn debug_is_redacted() {
        let key = ApiKey("sk-very-secret".to_owned());
        assert_eq!(format!("{key:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&key)), "Some(<redacted>)");
    }
}
