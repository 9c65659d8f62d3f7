//! Where a connection comes from: files, `AIRFLOW_CONN_*` variables or a connections file, as
//! the SOURCE arguments every subcommand shares.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use conn_load::{LoadError, Loaded, ProcessEnv, SourceSpec, load_connections_file, load_for};
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
    /// connection, as `airflow connections export` writes).
    /// With `--conn-id`, that connection is read; without it, `validate` checks every OpenAI
    /// connection in the file. Given without a value, the FILE arguments are connections files.
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    connections_file: Option<Option<PathBuf>>,
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
    #[error("give --conn-id ID to choose a connection from the connections file")]
    NoConnId,
}

/// One SOURCE argument, resolved.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    /// One connection.
    One(SourceSpec),
    /// Every OpenAI connection of an Airflow connections file (`--connections-file` without
    /// `--conn-id`).
    EveryConnectionIn(PathBuf),
}

impl Source {
    /// The file the findings of this source are in, for CI annotations; `None` for standard
    /// input and environment variables.
    pub(crate) fn file(&self) -> Option<&Path> {
        match self {
            Source::One(SourceSpec::File(path))
            | Source::One(SourceSpec::ConnectionsFile { path, .. })
            | Source::EveryConnectionIn(path) => Some(path),
            Source::One(_) => None,
        }
    }
}

impl Source {
    /// What to call the source in messages, as the loader does: the file, `FILE#conn_id`,
    /// `<stdin>` or `env AIRFLOW_CONN_<ID>`.
    pub(crate) fn label(&self) -> String {
        match self {
            Source::One(SourceSpec::File(path)) | Source::EveryConnectionIn(path) => {
                path.display().to_string()
            }
            Source::One(SourceSpec::ConnectionsFile { path, conn_id }) => {
                format!("{}#{conn_id}", path.display())
            }
            Source::One(SourceSpec::Stdin) => "<stdin>".to_owned(),
            Source::One(SourceSpec::Env { conn_id }) => {
                format!("env AIRFLOW_CONN_{}", conn_id.to_uppercase())
            }
        }
    }
}

impl SourceArgs {
    /// The sources named on the command line, in order. With `--connections-file`, the FILE
    /// arguments are connections files too.
    pub(crate) fn sources(&self, files: &[PathBuf]) -> Result<Vec<Source>, SourceError> {
        let Some(connections_file) = &self.connections_file else {
            return match (&self.conn_id, files.is_empty()) {
                (Some(_), false) => Err(SourceError::Both),
                (None, true) => Err(SourceError::Missing),
                (Some(conn_id), true) => Ok(vec![Source::One(SourceSpec::Env {
                    conn_id: conn_id.clone(),
                })]),
                (None, false) => Ok(files
                    .iter()
                    .map(|path| {
                        Source::One(if path.as_os_str() == "-" {
                            SourceSpec::Stdin
                        } else {
                            SourceSpec::File(path.clone())
                        })
                    })
                    .collect()),
            };
        };
        let paths: Vec<PathBuf> = connections_file.iter().chain(files).cloned().collect();
        if paths.is_empty() {
            return Err(SourceError::Missing);
        }
        Ok(paths
            .into_iter()
            .map(|path| match &self.conn_id {
                Some(conn_id) => Source::One(SourceSpec::ConnectionsFile {
                    path,
                    conn_id: conn_id.clone(),
                }),
                None => Source::EveryConnectionIn(path),
            })
            .collect())
    }

    /// Exactly one connection.
    pub(crate) fn single(&self, file: Option<&PathBuf>) -> Result<SourceSpec, SourceError> {
        let files: Vec<PathBuf> = file.into_iter().cloned().collect();
        let mut sources = self.sources(&files)?;
        match (sources.len(), sources.pop()) {
            (1, Some(Source::One(spec))) => Ok(spec),
            (1, Some(Source::EveryConnectionIn(_))) => Err(SourceError::NoConnId),
            (count, _) => Err(SourceError::TooMany(count)),
        }
    }

    /// Loads and validates one source from the process environment: one connection, or every
    /// OpenAI connection of a connections file.
    pub(crate) fn load_all(&self, source: &Source) -> Result<Vec<Loaded>, LoadError> {
        match source {
            Source::One(spec) => self.load(spec).map(|loaded| vec![loaded]),
            Source::EveryConnectionIn(path) => {
                load_connections_file(path, self.kind.into(), self.profile.into(), &ProcessEnv)
            }
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
