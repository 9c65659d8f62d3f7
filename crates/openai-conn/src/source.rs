//! Where a connection comes from: files, `AIRFLOW_CONN_*` variables or a connections file, as
//! the SOURCE arguments every subcommand shares.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use conn_load::{
    CONNECTIONS_FILE_EXTENSIONS, DOCUMENT_EXTENSIONS, LoadError, Loaded, MapEnv, ProcessEnv,
    SourceSpec, load_connections_file, load_for,
};
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
    /// Read standard input (`-`) as the file NAME: its extension chooses JSON, YAML or TOML,
    /// and findings name it. Without it, the format of standard input is detected.
    #[arg(long, value_name = "NAME")]
    stdin_filename: Option<PathBuf>,
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
            | Source::One(SourceSpec::StdinAs { name: path })
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
            Source::One(SourceSpec::File(path))
            | Source::One(SourceSpec::StdinAs { name: path })
            | Source::EveryConnectionIn(path) => path.display().to_string(),
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
                (None, false) => Ok(walk(files, &DOCUMENT_EXTENSIONS)
                    .into_iter()
                    .map(|path| {
                        Source::One(match (path.as_os_str() == "-", &self.stdin_filename) {
                            (true, Some(name)) => SourceSpec::StdinAs { name: name.clone() },
                            (true, None) => SourceSpec::Stdin,
                            (false, _) => SourceSpec::File(path),
                        })
                    })
                    .collect()),
            };
        };
        let named: Vec<PathBuf> = connections_file.iter().chain(files).cloned().collect();
        let paths = walk(&named, &CONNECTIONS_FILE_EXTENSIONS);
        if named.is_empty() {
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
                load_connections_file(path, self.kind.into(), self.profile.into(), environment())
            }
        }
    }

    /// Loads and validates one source from the process environment.
    pub(crate) fn load(&self, spec: &SourceSpec) -> Result<Loaded, LoadError> {
        load_for(
            spec,
            self.kind.into(),
            self.profile.into(),
            environment(),
            &mut std::io::stdin().lock(),
        )
    }
}

/// The process environment, read once: every document of a run sees the same variables, and
/// 10 000 files do not read it 10 000 times.
pub(crate) fn environment() -> &'static MapEnv {
    static ENVIRONMENT: std::sync::OnceLock<MapEnv> = std::sync::OnceLock::new();
    ENVIRONMENT.get_or_init(|| MapEnv::capture(&ProcessEnv))
}

/// The FILE arguments with each directory replaced by the files under it whose extension is one
/// of `extensions` (any case), in sorted order. Hidden directories (`.git`, `.venv`) are not
/// entered, nor are links to directories (no cycles). A directory that cannot be listed stays as
/// it is, so loading it reports why.
fn walk(paths: &[PathBuf], extensions: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if path.as_os_str() != "-" && path.is_dir() {
            let before = out.len();
            walk_directory(path, extensions, &mut out);
            if out.len() == before {
                errln!(
                    "openai-conn: warning: no .{} files under {}",
                    extensions.join(", ."),
                    path.display()
                );
            }
        } else {
            out.push(path.clone());
        }
    }
    out
}

fn walk_directory(directory: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        out.push(directory.to_owned());
        return;
    };
    let mut entries: Vec<(std::ffi::OsString, std::fs::FileType)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| Some((entry.file_name(), entry.file_type().ok()?)))
        .collect();
    // By name: the same order as by path within one directory, without comparing the directory
    // part of every path again.
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (name, file_type) in entries {
        let path = directory.join(name);
        let hidden = path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with('.'));
        if file_type.is_dir() {
            if !hidden {
                walk_directory(&path, extensions, out);
            }
            continue;
        }
        let readable = path.extension().is_some_and(|extension| {
            extensions
                .iter()
                .any(|known| extension.eq_ignore_ascii_case(known))
        });
        // A link to a directory is skipped; a link to a file is read like the file.
        if readable && !(file_type.is_symlink() && path.is_dir()) {
            out.push(path);
        }
    }
}
