//! Environment lookups, injected so tests never change the process environment.

use std::collections::BTreeMap;

/// Reads environment variables.
pub trait Env: Send + Sync + std::fmt::Debug {
    /// The value of `name`, if set and valid Unicode.
    fn var(&self, name: &str) -> Option<String>;
    /// Every variable that is set and valid Unicode, as `(name, value)` pairs (for prefix scans such
    /// as the `OPENAI_CONN_*` overrides).
    fn vars(&self) -> Vec<(String, String)>;
    /// Names of the variables that are set but whose value is not valid Unicode, which [`var`]
    /// and [`vars`] leave out, so that a caller can say so instead of "not set".
    ///
    /// [`var`]: Env::var
    /// [`vars`]: Env::vars
    fn non_unicode_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// The variables of [`vars`](Env::vars) whose name `keep` accepts. A prefix scan over a
    /// snapshot ([`MapEnv`]) copies only what it keeps.
    fn vars_where(&self, keep: &dyn Fn(&str) -> bool) -> Vec<(String, String)> {
        self.vars()
            .into_iter()
            .filter(|(name, _)| keep(name))
            .collect()
    }
}

/// The real process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect()
    }

    fn non_unicode_names(&self) -> Vec<String> {
        std::env::vars_os()
            .filter(|(_, value)| value.to_str().is_none())
            .filter_map(|(name, _)| name.into_string().ok())
            .collect()
    }
}

/// A fixed set of variables, for tests and for programs that resolve the environment themselves.
/// Debug lists the names only, since values may be secrets.
#[derive(Clone, Default)]
pub struct MapEnv {
    vars: BTreeMap<String, String>,
    non_unicode: Vec<String>,
}

impl MapEnv {
    /// An empty environment.
    pub fn new() -> Self {
        MapEnv::default()
    }

    /// A copy of `env` as it is now: every variable, and the names whose values are not UTF-8.
    /// A program that reads many documents takes one snapshot of the process environment
    /// instead of reading it again for each.
    pub fn capture(env: &dyn Env) -> Self {
        MapEnv {
            vars: env.vars().into_iter().collect(),
            non_unicode: env.non_unicode_names(),
        }
    }

    /// Adds a variable.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Adds a variable that is set to a value that is not valid Unicode.
    pub fn with_non_unicode(mut self, name: impl Into<String>) -> Self {
        self.non_unicode.push(name.into());
        self
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for MapEnv {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        MapEnv {
            vars: iter
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
            non_unicode: Vec::new(),
        }
    }
}

impl std::fmt::Debug for MapEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&String> = self.vars.keys().collect();
        f.debug_struct("MapEnv").field("names", &names).finish()
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn vars(&self) -> Vec<(String, String)> {
        self.vars
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }

    fn non_unicode_names(&self) -> Vec<String> {
        self.non_unicode.clone()
    }

    fn vars_where(&self, keep: &dyn Fn(&str) -> bool) -> Vec<(String, String)> {
        self.vars
            .iter()
            .filter(|(name, _)| keep(name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
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

    #[test]
    fn a_capture_keeps_every_variable_and_the_names_that_are_not_utf8() {
        let source = MapEnv::new()
            .with("OPENAI_CONN_HOST", "https://h.example")
            .with("PATH", "/bin")
            .with_non_unicode("OPENAI_BASE_URL");
        let captured = MapEnv::capture(&source);
        assert_eq!(captured.vars(), source.vars());
        assert_eq!(captured.non_unicode_names(), ["OPENAI_BASE_URL"]);
        let kept = captured.vars_where(&|name| name.starts_with("OPENAI_"));
        assert_eq!(
            kept,
            [(
                "OPENAI_CONN_HOST".to_owned(),
                "https://h.example".to_owned()
            )]
        );
        assert_eq!(
            captured.var("OPENAI_CONN_HOST").as_deref(),
            Some("https://h.example")
        );
    }
}
