//! Loading connections from where operators keep them: a JSON, TOML or YAML file, standard input,
//! an `AIRFLOW_CONN_<ID>` environment variable (Airflow's JSON or URI form), or an Airflow
//! local-filesystem secrets file; then `OPENAI_CONN_*` environment overrides layered on top with
//! figment, and the merged document validated with positions that point back to where each value
//! came from.
//!
//! Files must be regular files and, like standard input, at most
//! [`MAX_DOCUMENT_BYTES`](providers_core::MAX_DOCUMENT_BYTES) (16 MiB) long.
//!
//! A [`LoadError`] means the input could not be read or understood at all (the CLI's exit code 2);
//! an invalid connection is not an error here but a [`Report`] with errors (exit code 1).
//!
//! The environment is injected through [`providers_core::Env`] (the one environment abstraction of
//! the workspace) so tests never touch the process environment.
//!
//! Modules by concern: `formats` (JSON, TOML and YAML documents with positions), `yaml` (the one
//! YAML reader: values and spans in one pass over saphyr-parser), `scalars` (the float and
//! quoted-value rules the readers share), `airflow` (connection URIs and connections files),
//! `env_file` (Airflow's `.env` connections files, split into lines as Python splits them),
//! `overrides` (`OPENAI_CONN_*`), `positions` (mapping findings back to the source), `error`
//! ([`LoadError`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod airflow;
mod env_file;
mod error;
mod formats;
mod overrides;
mod positions;
mod scalars;
mod yaml;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use conn_schema::{DocumentKind, Profile, Report, validate, validate_bytes};
pub use providers_core::{Env, MapEnv, ProcessEnv};
use providers_core::{MAX_DOCUMENT_BYTES, read_bounded, read_regular_file};
use serde_json::Value;

use crate::airflow::{connections_file_entry, parse_uri};
use crate::env_file::{env_file_entry, is_env_file};
pub use crate::error::LoadError;
pub use crate::formats::{CONNECTIONS_FILE_EXTENSIONS, DOCUMENT_EXTENSIONS};
use crate::formats::{Format, Parsed, json_document, toml_document, yaml_document};
use crate::overrides::finish;
use crate::positions::{PointerMap, SourcePositions};

/// Where a connection comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// A JSON, TOML or YAML file, chosen by its extension (`.json`, `.toml`, `.yaml`, `.yml`).
    File(PathBuf),
    /// A document on standard input (`-` on the command line): JSON, YAML or TOML, detected from
    /// the text (JSON when it starts with `{`, TOML when it parses as TOML, else YAML).
    Stdin,
    /// A document on standard input read as if it were the file `name` (a command's
    /// `--stdin-filename`): its extension chooses the format, and findings name it.
    StdinAs {
        /// The name the input stands for, such as `conf/prod.openai-connection.yaml`.
        name: PathBuf,
    },
    /// The environment variable `AIRFLOW_CONN_<CONN_ID upper-cased>`, in Airflow's JSON or URI form.
    Env {
        /// The Airflow connection id.
        conn_id: String,
    },
    /// An Airflow local-filesystem secrets file mapping connection ids to connections: JSON or
    /// YAML (objects or URI strings), or `.env` (`CONN_ID=<URI or JSON>` lines), including the
    /// files `airflow connections export` writes.
    ConnectionsFile {
        /// Path of the secrets file.
        path: PathBuf,
        /// The connection id to pick from it.
        conn_id: String,
    },
}

/// A loaded connection: where it came from, the validation of the merged document, and the
/// environment overrides that went into it.
pub struct Loaded {
    /// What to call the source in messages: the file path, `<stdin>`, `env AIRFLOW_CONN_X`, or
    /// `FILE#conn_id`. Pass it to [`Report::render`].
    pub label: String,
    /// The connection id: the one asked for, or the file stem for a file; `None` for stdin.
    pub conn_id: Option<String>,
    /// The validation of the merged document.
    pub report: Report,
    /// Names (never values) of the `OPENAI_CONN_*` variables that were applied, sorted.
    pub overrides: Vec<String>,
}

// `Report` keeps the source text for snippets, and that text may hold a password: Debug shows
// the findings and the resolved connection (whose secrets are `SecretString`s) but not the text.
impl fmt::Debug for Loaded {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Loaded")
            .field("label", &self.label)
            .field("conn_id", &self.conn_id)
            .field("overrides", &self.overrides)
            .field("kind", &self.report.kind())
            .field("well_formed", &self.report.well_formed())
            .field("diagnostics", &self.report.diagnostics())
            .field("connection", &self.report.connection())
            .finish()
    }
}

/// Loads and validates the connection `spec` names, reading standard input for
/// [`SourceSpec::Stdin`]. `kind` forces how the document is read (`Auto` detects a bare `extra`
/// or a whole connection; environment variables and connections files always hold whole
/// connections).
pub fn load(spec: &SourceSpec, kind: DocumentKind, env: &dyn Env) -> Result<Loaded, LoadError> {
    load_with_stdin(spec, kind, env, &mut std::io::stdin().lock())
}

/// [`load`], reading [`SourceSpec::Stdin`] from `stdin` instead of the process's standard input.
pub fn load_with_stdin(
    spec: &SourceSpec,
    kind: DocumentKind,
    env: &dyn Env,
    stdin: &mut dyn Read,
) -> Result<Loaded, LoadError> {
    load_for(spec, kind, Profile::default(), env, stdin)
}

/// [`load_with_stdin`], validating under a compatibility [`Profile`] (`Profile::Airflow` adds as
/// errors what Airflow's OpenAI provider would reject or silently ignore).
pub fn load_for(
    spec: &SourceSpec,
    kind: DocumentKind,
    profile: Profile,
    env: &dyn Env,
    stdin: &mut dyn Read,
) -> Result<Loaded, LoadError> {
    match spec {
        SourceSpec::File(path) => {
            let format = Format::of_document(path)?;
            let bytes = read_file(path)?;
            named_document(&bytes, format, path, kind, profile, env)
        }
        SourceSpec::Stdin => {
            let bytes = read_bounded(stdin, MAX_DOCUMENT_BYTES).map_err(LoadError::Stdin)?;
            let format = Format::detect(&bytes);
            document(
                &bytes,
                format,
                "<stdin>".to_owned(),
                None,
                kind,
                profile,
                env,
            )
        }
        SourceSpec::StdinAs { name } => {
            let format = Format::of_document(name)?;
            let bytes = read_bounded(stdin, MAX_DOCUMENT_BYTES).map_err(LoadError::Stdin)?;
            named_document(&bytes, format, name, kind, profile, env)
        }
        SourceSpec::Env { conn_id } => {
            let var = format!("AIRFLOW_CONN_{}", conn_id.to_uppercase());
            let label = format!("env {var}");
            let text = env.var(&var).ok_or_else(|| {
                if env.non_unicode_names().contains(&var) {
                    LoadError::EnvNotUnicode { var: var.clone() }
                } else {
                    LoadError::EnvNotSet {
                        var: var.clone(),
                        conn_id: conn_id.clone(),
                    }
                }
            })?;
            // Airflow's environment backend reads a value starting with `{` as JSON, else a URI.
            let trimmed = text.trim();
            let mut parsed = if trimmed.starts_with('{') {
                match json_document(trimmed.as_bytes()) {
                    Ok(parsed) => parsed,
                    Err(report) => return Ok(unloaded(label, Some(conn_id.clone()), *report)),
                }
            } else {
                let (value, warnings) = parse_uri(trimmed).map_err(|reason| LoadError::BadUri {
                    origin: label.clone(),
                    reason,
                })?;
                Parsed {
                    value,
                    pristine_json: None,
                    positions: SourcePositions::Unknown,
                    pointers: PointerMap::default(),
                    whole_connection: true,
                    warnings,
                }
            };
            parsed.whole_connection = true;
            finish(parsed, kind, profile, env, label, Some(conn_id.clone()))
        }
        SourceSpec::ConnectionsFile { path, conn_id } if is_env_file(path) => {
            let bytes = read_file(path)?;
            let label = format!("{}#{conn_id}", path.display());
            match env_file_entry(&bytes, path, conn_id, &label)? {
                Ok(parsed) => finish(parsed, kind, profile, env, label, Some(conn_id.clone())),
                Err(report) => Ok(unloaded(label, Some(conn_id.clone()), *report)),
            }
        }
        SourceSpec::ConnectionsFile { path, conn_id } => {
            let format = Format::of_connections_file(path)?;
            let bytes = read_file(path)?;
            let label = format!("{}#{conn_id}", path.display());
            let file_label = path.display().to_string();
            let (mapping, positions) = match format {
                Format::Yaml => {
                    let parsed = yaml_document(&bytes, &file_label)?;
                    (parsed.value, parsed.positions)
                }
                _ => {
                    // A JSON syntax error is a finding with its position, not a load error.
                    let text = match std::str::from_utf8(&bytes) {
                        Ok(text) => text,
                        Err(_) => {
                            let report = validate_bytes(&bytes, DocumentKind::Connection);
                            return Ok(unloaded(label, Some(conn_id.clone()), report));
                        }
                    };
                    match serde_json::from_str::<Value>(text) {
                        Ok(value) => {
                            airflow::refuse_duplicate_json_ids(text, &file_label)?;
                            (value, SourcePositions::json(text))
                        }
                        Err(_) => {
                            let report = validate(text, DocumentKind::Connection);
                            return Ok(unloaded(label, Some(conn_id.clone()), report));
                        }
                    }
                }
            };
            let parsed = connections_file_entry(mapping, positions, path, conn_id, &label)?;
            finish(parsed, kind, profile, env, label, Some(conn_id.clone()))
        }
    }
}

/// [`document`] for text read under a file name: the name is its label and its stem the
/// connection id.
fn named_document(
    bytes: &[u8],
    format: Format,
    name: &Path,
    kind: DocumentKind,
    profile: Profile,
    env: &dyn Env,
) -> Result<Loaded, LoadError> {
    let conn_id = name
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned());
    document(
        bytes,
        format,
        name.display().to_string(),
        conn_id,
        kind,
        profile,
        env,
    )
}

/// Parses and validates one document of a known format. A JSON syntax error is a finding of
/// the report; a YAML or TOML one is a [`LoadError::Syntax`].
fn document(
    bytes: &[u8],
    format: Format,
    label: String,
    conn_id: Option<String>,
    kind: DocumentKind,
    profile: Profile,
    env: &dyn Env,
) -> Result<Loaded, LoadError> {
    let parsed = match format {
        Format::Json => match json_document(bytes) {
            Ok(parsed) => parsed,
            Err(report) => return Ok(unloaded(label, conn_id, *report)),
        },
        Format::Toml => toml_document(bytes, &label)?,
        Format::Yaml => yaml_document(bytes, &label)?,
    };
    finish(parsed, kind, profile, env, label, conn_id)
}

/// Loads and validates every OpenAI connection of an Airflow connections file, in file order:
/// the entries whose `conn_type` (or URI scheme) is `openai`, or that name no type. Entries of
/// other types (a `postgres` connection beside the OpenAI ones) are skipped. A JSON file that does
/// not parse gives one [`Loaded`] whose report holds the syntax error.
pub fn load_connections_file(
    path: &Path,
    kind: DocumentKind,
    profile: Profile,
    env: &dyn Env,
) -> Result<Vec<Loaded>, LoadError> {
    let load_entry = |conn_id: String| {
        let spec = SourceSpec::ConnectionsFile {
            path: path.to_owned(),
            conn_id,
        };
        load_for(&spec, kind, profile, env, &mut std::io::empty())
    };
    let bytes = read_file(path)?;
    let file_label = path.display().to_string();
    if is_env_file(path) {
        let text = formats::utf8(&bytes, &file_label, "env file")?;
        return env_file::parse_env_file(text, &file_label)?
            .into_iter()
            // A quoted value is loaded too, so that it is reported rather than skipped.
            .filter(|line| {
                env_file::is_quoted(&line.value)
                    || is_openai_entry(&env_file::entry_value(&line.value))
            })
            .map(|line| load_entry(line.key))
            .collect();
    }
    let format = Format::of_connections_file(path)?;
    let mapping = match format {
        Format::Yaml => yaml_document(&bytes, &file_label)?.value,
        _ => match std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| Some((text, serde_json::from_str::<Value>(text).ok()?)))
        {
            Some((text, value)) => {
                airflow::refuse_duplicate_json_ids(text, &file_label)?;
                value
            }
            None => {
                let report = validate_bytes(&bytes, DocumentKind::Connection);
                return Ok(vec![unloaded(file_label, None, report)]);
            }
        },
    };
    let ids: Vec<String> = match &mapping {
        Value::Object(entries) => entries
            .iter()
            .filter(|(_, entry)| is_openai_entry(entry))
            .map(|(conn_id, _)| conn_id.clone())
            .collect(),
        Value::Null => Vec::new(),
        other => {
            return Err(LoadError::ConnectionsFile {
                label: file_label,
                message: format!(
                    "a connections file must map connection ids to connections, found {}",
                    conn_schema::kind_of(other)
                ),
            });
        }
    };
    ids.into_iter().map(load_entry).collect()
}

/// Whether an entry of a connections file is an OpenAI connection: its `conn_type`, or its URI's
/// scheme, is `openai` (any case), or it names no type (then validation says what is missing).
fn is_openai_entry(entry: &Value) -> bool {
    let scheme = |uri: &str| {
        uri.trim()
            .split_once("://")
            .map(|(scheme, _)| scheme.to_owned())
    };
    let conn_type = match entry {
        Value::String(uri) => scheme(uri),
        Value::Object(object) => match (object.get("conn_type"), object.get("uri")) {
            (Some(Value::String(conn_type)), _) => Some(conn_type.clone()),
            (_, Some(Value::String(uri))) => scheme(uri),
            _ => None,
        },
        _ => None,
    };
    conn_type.is_none_or(|conn_type| {
        conn_type
            .trim()
            .eq_ignore_ascii_case(conn_schema::model::CONN_TYPE)
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    read_regular_file(path, MAX_DOCUMENT_BYTES).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })
}

fn unloaded(label: String, conn_id: Option<String>, report: Report) -> Loaded {
    Loaded {
        label,
        conn_id,
        report,
        overrides: Vec::new(),
    }
}
