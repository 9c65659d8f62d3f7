//! Why a connection could not be loaded at all.

use std::path::PathBuf;

use conn_schema::{Code, Location};

/// Why a connection could not be loaded at all. Messages never include secret values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Standard input could not be read.
    #[error("cannot read standard input: {0}")]
    Stdin(#[source] std::io::Error),
    /// The file's extension names no format this loader reads.
    #[error("cannot tell the format of {}: expected {expected}", path.display())]
    UnknownExtension {
        /// The file.
        path: PathBuf,
        /// The extensions accepted for this kind of source.
        expected: &'static str,
    },
    /// A YAML or TOML file is not well-formed.
    #[error("{label}{}: invalid {format}: {message}", line_column(location))]
    Syntax {
        /// The source, as in [`Loaded::label`].
        label: String,
        /// `YAML`, `TOML` or `env file`.
        format: &'static str,
        /// Where the parser stopped; `None` when it gave no position.
        location: Option<Location>,
        /// The parser's message, without its position.
        message: String,
    },
    /// The `AIRFLOW_CONN_<ID>` variable is not set.
    #[error("environment variable {var} is not set (it would hold connection {conn_id:?})")]
    EnvNotSet {
        /// The variable's name.
        var: String,
        /// The connection id asked for.
        conn_id: String,
    },
    /// An `AIRFLOW_CONN_<ID>` or `OPENAI_CONN_*` variable is set, but not to valid UTF-8.
    #[error("environment variable {var} is set but its value is not valid UTF-8")]
    EnvNotUnicode {
        /// The variable's name.
        var: String,
    },
    /// The connections file has no such connection id.
    #[error(
        "connection id {conn_id:?} is not in {}; it has {}",
        path.display(),
        list_ids(available)
    )]
    ConnIdNotFound {
        /// The connections file.
        path: PathBuf,
        /// The id asked for.
        conn_id: String,
        /// The ids present, sorted.
        available: Vec<String>,
    },
    /// The connections file, or its entry for the id, does not have the shape Airflow accepts.
    #[error("{label}: {message}")]
    ConnectionsFile {
        /// The source, as in [`Loaded::label`].
        label: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A connection URI is malformed.
    #[error("{origin}: invalid connection URI: {reason}")]
    BadUri {
        /// Where the URI came from, as in [`Loaded::label`].
        origin: String,
        /// What was wrong (never the URI itself, which may hold a password).
        reason: String,
    },
    /// The environment overrides could not be layered onto the document.
    #[error("cannot apply the environment overrides {}: {message}", vars.join(", "))]
    Overrides {
        /// The variables involved.
        vars: Vec<String>,
        /// What went wrong.
        message: String,
    },
}

impl LoadError {
    /// The stable code of this error, as CI annotations and SARIF show it.
    pub fn code(&self) -> Code {
        match self {
            LoadError::Read { .. }
            | LoadError::Stdin(_)
            | LoadError::UnknownExtension { .. }
            | LoadError::EnvNotUnicode { .. } => Code::Unreadable,
            LoadError::Syntax { .. } => Code::Syntax,
            LoadError::EnvNotSet { .. } | LoadError::ConnIdNotFound { .. } => Code::NotFound,
            LoadError::ConnectionsFile { .. } => Code::InvalidConnectionsFile,
            LoadError::BadUri { .. } => Code::InvalidUri,
            LoadError::Overrides { .. } => Code::InvalidOverride,
        }
    }

    /// Whether the input was read but does not hold a usable connection (a YAML, TOML or URI
    /// syntax error, a malformed connections file or override): exit code 1 like a JSON syntax
    /// error. Only `unreadable` and `not-found` mean the input could not be read at all (2).
    pub fn is_invalid_connection(&self) -> bool {
        !matches!(self.code(), Code::Unreadable | Code::NotFound)
    }
}

fn list_ids(ids: &[String]) -> String {
    if ids.is_empty() {
        "no connections".to_owned()
    } else {
        ids.iter()
            .map(|id| format!("{id:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `:LINE:COLUMN` for a known place, nothing for an unknown one.
fn line_column(location: &Option<Location>) -> String {
    location.map_or_else(String::new, |Location { line, column, .. }| {
        format!(":{line}:{column}")
    })
}
