//! Where a connection comes from: files, `AIRFLOW_CONN_*` variables or a connections file, as
//! the SOURCE arguments every subcommand shares.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use conn_load::{LoadError, Loaded, ProcessEnv, SourceSpec, load_for};
use conn_schema::{DocumentKind, Profile};

/// The SOURCE arguments: files (`-` is standard input), or `--conn-id` with an optional
/// `--connections-file`.
#[derive(Debug, Args)]
pub(crate) struct SourceArgs {
    /// Read the connection `ID` from the environment variable `AIRFLOW_CONN_<ID upper-cased>`
    /// (Airflow's JSON or URI form), or from `--connections-file`.
    #[arg(long, value_name = "ID")]
    conn_id: Option<String>,
    /// An Airflow local-filesystem secrets file (JSON, YAML or .env mapping conn_id to
    /// connection, as `airflow connections export` writes); needs `--conn-id`.
    #[arg(long, value_name = "FILE", requires = "conn_id")]
    connections_file: Option<PathBuf>,
    /// What the documents hold; `auto` treats an object with `conn_type` or `extra` as a whole
    /// connection.
    #[arg(long, value_enum, default_value_t = KindArg::Auto)]
    kind: KindArg,
    /// Which program the connection must work in: `airflow` also reports as errors what
    /// Airflow's OpenAI provider would reject or ignore.
    #[arg(long, value_enum, default_value_t = ProfileArg::OpenaiConn)]
    profile: ProfileArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ProfileArg {
    /// openai-conn: every provider and key this tool supports.
    OpenaiConn,
    /// Apache Airflow's OpenAI provider (2.2.0).
    Airflow,
}

impl From<ProfileArg> for Profile {
    fn from(profile: ProfileArg) -> Self {
        match profile {
            ProfileArg::OpenaiConn => Profile::OpenaiConn,
            ProfileArg::Airflow => Profile::Airflow,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum KindArg {
    Auto,
    Extra,
    Connection,
}

impl From<KindArg> for DocumentKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Auto => DocumentKind::Auto,
            KindArg::Extra => DocumentKind::Extra,
            KindArg::Connection => DocumentKind::Connection,
        }
    }
}

/// A usage mistake in the SOURCE arguments (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SourceError {
    #[error(
        "give a connection file, or --conn-id ID (with --connections-file FILE to read a secrets file)"
    )]
    Missing,
    #[error("give either files or --conn-id, not both")]
    Both,
    #[error("this command takes one connection; {0} were given")]
    TooMany(usize),
}

impl SourceArgs {
    /// The sources named on the command line, in order.
    pub(crate) fn specs(&self, files: &[PathBuf]) -> Result<Vec<SourceSpec>, SourceError> {
        match (&self.conn_id, files.is_empty()) {
            (Some(_), false) => Err(SourceError::Both),
            (None, true) => Err(SourceError::Missing),
            (Some(conn_id), true) => Ok(vec![match &self.connections_file {
                Some(path) => SourceSpec::ConnectionsFile {
                    path: path.clone(),
                    conn_id: conn_id.clone(),
                },
                None => SourceSpec::Env {
                    conn_id: conn_id.clone(),
                },
            }]),
            (None, false) => Ok(files
                .iter()
                .map(|path| {
                    if path.as_os_str() == "-" {
                        SourceSpec::Stdin
                    } else {
                        SourceSpec::File(path.clone())
                    }
                })
                .collect()),
        }
    }

    /// Exactly one source.
    pub(crate) fn single(&self, file: Option<&PathBuf>) -> Result<SourceSpec, SourceError> {
        let files: Vec<PathBuf> = file.into_iter().cloned().collect();
        let mut specs = self.specs(&files)?;
        match specs.len() {
            1 => Ok(specs.remove(0)),
            count => Err(SourceError::TooMany(count)),
        }
    }

    /// Loads and validates one source from the process environment.
    pub(crate) fn load(&self, spec: &SourceSpec) -> Result<Loaded, LoadError> {
        load_for(
            spec,
            self.kind.into(),
            self.profile.into(),
            &ProcessEnv,
            &mut std::io::stdin().lock(),
        )
    }
}
