//! Environment lookups, injected so tests never change the process environment.

use std::collections::HashMap;

/// Reads environment variables.
pub trait Env: Send + Sync + std::fmt::Debug {
    /// The value of `name`, if set and valid Unicode.
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// A fixed set of variables, for tests and for programs that resolve the environment themselves.
/// Debug lists the names only, since values may be secrets.
#[derive(Clone, Default)]
pub struct MapEnv {
    vars: HashMap<String, String>,
}

impl MapEnv {
    /// An empty environment.
    pub fn new() -> Self {
        MapEnv::default()
    }

    /// Adds a variable.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }
}

impl std::fmt::Debug for MapEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.vars.keys().collect();
        names.sort();
        f.debug_struct("MapEnv").field("names", &names).finish()
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_env_reads_its_values_and_hides_them_in_debug() {
        let env = MapEnv::new().with("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "very-secret");
        assert_eq!(
            env.var("ACTIONS_ID_TOKEN_REQUEST_TOKEN").as_deref(),
            Some("very-secret")
        );
        assert_eq!(env.var("MISSING"), None);
        assert!(!format!("{env:?}").contains("very-secret"));
    }
}
