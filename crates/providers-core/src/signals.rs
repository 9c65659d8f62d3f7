//! What a source tells a diagnosis about the platform: the environment variables and files it
//! documents ([`Signal`]), so that a program such as `openai-conn doctor` can say where it appears
//! to run without knowing any source's internals. Each source crate lists its own signals in its
//! `signals` module; the endpoint a source would call is [`crate::SubjectTokenSource::endpoint`].

/// Whether a signal is an environment variable or a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignalKind {
    /// An environment variable (only whether it is set is reported, never its value).
    Variable,
    /// A file (only whether it exists is reported, never its content).
    File,
}

impl SignalKind {
    /// `variable` or `file`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Variable => "variable",
            SignalKind::File => "file",
        }
    }
}

/// One platform signal a source documents and whether this process sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Signal {
    /// The variable's name or the file's path.
    pub name: String,
    /// Variable or file.
    pub kind: SignalKind,
    /// Whether the variable is set (and not blank) or the file exists.
    pub present: bool,
}

impl Signal {
    /// An environment variable `name`, set (and not blank) or not in `env`.
    pub fn variable(env: &dyn crate::Env, name: &str) -> Signal {
        Signal {
            name: name.to_owned(),
            kind: SignalKind::Variable,
            present: env.var(name).is_some_and(|value| !value.trim().is_empty()),
        }
    }

    /// A file at `path`, existing or not.
    pub fn file(path: &std::path::Path) -> Signal {
        Signal {
            name: path.display().to_string(),
            kind: SignalKind::File,
            present: path.exists(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;

    #[test]
    fn a_blank_variable_is_absent_and_values_are_never_kept() {
        let env = MapEnv::new().with("SET", "secret-value").with("BLANK", " ");
        let set = Signal::variable(&env, "SET");
        assert!(set.present);
        assert!(!format!("{set:?}").contains("secret-value"));
        assert!(!Signal::variable(&env, "BLANK").present);
        assert!(!Signal::variable(&env, "UNSET").present);
    }
}
