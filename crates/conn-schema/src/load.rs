//! Loading connections from where operators keep them: a JSON, TOML or YAML file, standard input,
//! an `AIRFLOW_CONN_<ID>` environment variable (Airflow's JSON or URI form), or an Airflow
//! local-filesystem secrets file; then `OPENAI_CONN_*` environment overrides layered on top with
//! figment, and the merged document validated with positions that point back to where each value
//! came from.
//!
//! A [`LoadError`] means the input could not be read or understood at all (the CLI's exit code 2);
//! an invalid connection is not an error here but a [`Report`] with errors (exit code 1).
//!
//! The environment is injected through [`EnvVars`] so tests never touch the process environment.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use figment::Figment;
use figment::providers::Serialized;
use figment::value::{Dict, Tag, Value as FigmentValue};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::code::Code;
use crate::parse::Severity;
use crate::pointer::child;
use crate::positions::{LineIndex, Positions};
use crate::report::{
    Diagnostic, DocumentKind, Location, Report, validate, validate_bytes, validate_value,
};

/// Prefix of the override variables (matched case-insensitively, as figment's `Env` does).
const OVERRIDE_PREFIX: &str = "OPENAI_CONN_";
/// Separator of nested keys in override variable names.
const OVERRIDE_SPLIT: &str = "__";
/// Top-level connection fields that are always strings in Airflow. Their overrides are taken
/// verbatim: figment's value parsing would turn an all-digit password into a number.
const RAW_STRING_FIELDS: [&str; 6] = [
    "conn_type",
    "description",
    "host",
    "login",
    "password",
    "schema",
];

/// Where a connection comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// A JSON, TOML or YAML file, chosen by its extension (`.json`, `.toml`, `.yaml`, `.yml`).
    File(PathBuf),
    /// JSON on standard input (`-` on the command line).
    Stdin,
    /// The environment variable `AIRFLOW_CONN_<CONN_ID upper-cased>`, in Airflow's JSON or URI form.
    Env {
        /// The Airflow connection id.
        conn_id: String,
    },
    /// An Airflow local-filesystem secrets file (JSON or YAML) mapping connection ids to
    /// connections (objects or URI strings).
    ConnectionsFile {
        /// Path of the secrets file.
        path: PathBuf,
        /// The connection id to pick from it.
        conn_id: String,
    },
}

/// Read access to environment variables, injected so tests never mutate the process environment.
pub trait EnvVars {
    /// The value of `name`, if it is set and valid Unicode.
    fn var(&self, name: &str) -> Option<String>;
    /// Every variable that is set and valid Unicode, as `(name, value)` pairs.
    fn vars(&self) -> Vec<(String, String)>;
}

/// The process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl EnvVars for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect()
    }
}

/// A fixed set of variables, for tests and for callers that assemble an environment themselves.
#[derive(Clone, Default)]
pub struct MapEnv {
    vars: BTreeMap<String, String>,
}

impl MapEnv {
    /// An empty environment.
    pub fn new() -> Self {
        MapEnv::default()
    }

    /// This environment with `name` set to `value`.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
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
        }
    }
}

// Values may be API keys or whole connection URIs with passwords: Debug shows names only.
impl fmt::Debug for MapEnv {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("MapEnv")
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl EnvVars for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn vars(&self) -> Vec<(String, String)> {
        self.vars
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }
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
            .field("kind", &self.report.kind)
            .field("well_formed", &self.report.well_formed)
            .field("diagnostics", &self.report.diagnostics)
            .field("connection", &self.report.connection)
            .finish()
    }
}

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
    #[error("{label}:{line}:{column}: invalid {format}: {message}")]
    Syntax {
        /// The source, as in [`Loaded::label`].
        label: String,
        /// `YAML` or `TOML`.
        format: &'static str,
        /// 1-based line (0 when the parser gave none).
        line: usize,
        /// 1-based column (0 when the parser gave none).
        column: usize,
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
            LoadError::Read { .. } | LoadError::Stdin(_) | LoadError::UnknownExtension { .. } => {
                Code::Unreadable
            }
            LoadError::Syntax { .. } => Code::Syntax,
            LoadError::EnvNotSet { .. } | LoadError::ConnIdNotFound { .. } => Code::NotFound,
            LoadError::ConnectionsFile { .. } => Code::InvalidConnectionsFile,
            LoadError::BadUri { .. } => Code::InvalidUri,
            LoadError::Overrides { .. } => Code::InvalidOverride,
        }
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

/// Loads and validates the connection `spec` names, reading standard input for
/// [`SourceSpec::Stdin`]. `kind` forces how the document is read (`Auto` detects a bare `extra`
/// or a whole connection; environment variables and connections files always hold whole
/// connections).
pub fn load(spec: &SourceSpec, kind: DocumentKind, env: &dyn EnvVars) -> Result<Loaded, LoadError> {
    load_with_stdin(spec, kind, env, &mut std::io::stdin().lock())
}

/// [`load`], reading [`SourceSpec::Stdin`] from `stdin` instead of the process's standard input.
pub fn load_with_stdin(
    spec: &SourceSpec,
    kind: DocumentKind,
    env: &dyn EnvVars,
    stdin: &mut dyn Read,
) -> Result<Loaded, LoadError> {
    match spec {
        SourceSpec::File(path) => {
            let format = Format::of_document(path)?;
            let bytes = read_file(path)?;
            let label = path.display().to_string();
            let conn_id = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned());
            let parsed = match format {
                Format::Json => match json_document(&bytes) {
                    Ok(parsed) => parsed,
                    Err(report) => return Ok(unloaded(label, conn_id, *report)),
                },
                Format::Toml => toml_document(&bytes, &label)?,
                Format::Yaml => yaml_document(&bytes, &label)?,
            };
            finish(parsed, kind, env, label, conn_id)
        }
        SourceSpec::Stdin => {
            let mut bytes = Vec::new();
            stdin.read_to_end(&mut bytes).map_err(LoadError::Stdin)?;
            let label = "<stdin>".to_owned();
            match json_document(&bytes) {
                Ok(parsed) => finish(parsed, kind, env, label, None),
                Err(report) => Ok(unloaded(label, None, *report)),
            }
        }
        SourceSpec::Env { conn_id } => {
            let var = format!("AIRFLOW_CONN_{}", conn_id.to_uppercase());
            let label = format!("env {var}");
            let text = env.var(&var).ok_or_else(|| LoadError::EnvNotSet {
                var: var.clone(),
                conn_id: conn_id.clone(),
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
            finish(parsed, kind, env, label, Some(conn_id.clone()))
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
                        Ok(value) => (value, SourcePositions::json(text)),
                        Err(_) => {
                            let report = validate(text, DocumentKind::Connection);
                            return Ok(unloaded(label, Some(conn_id.clone()), report));
                        }
                    }
                }
            };
            let parsed = connections_file_entry(mapping, positions, path, conn_id, &label)?;
            finish(parsed, kind, env, label, Some(conn_id.clone()))
        }
    }
}

/// Loads and validates every OpenAI connection of an Airflow connections file, in file order:
/// the entries whose `conn_type` (or URI scheme) is `openai`, or that name no type. Entries of
/// other types (a `postgres` connection beside the OpenAI ones) are skipped. A JSON file that does
/// not parse gives one [`Loaded`] whose report holds the syntax error.
pub fn load_connections_file(
    path: &Path,
    kind: DocumentKind,
    env: &dyn EnvVars,
) -> Result<Vec<Loaded>, LoadError> {
    let format = Format::of_connections_file(path)?;
    let bytes = read_file(path)?;
    let file_label = path.display().to_string();
    let mapping = match format {
        Format::Yaml => yaml_document(&bytes, &file_label)?.value,
        _ => match std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
        {
            Some(value) => value,
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
                    crate::parse::kind_of(other)
                ),
            });
        }
    };
    ids.into_iter()
        .map(|conn_id| {
            let spec = SourceSpec::ConnectionsFile {
                path: path.to_owned(),
                conn_id,
            };
            load_with_stdin(&spec, kind, env, &mut std::io::empty())
        })
        .collect()
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
            .eq_ignore_ascii_case(crate::model::CONN_TYPE)
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Read {
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Toml,
    Yaml,
}

impl Format {
    fn extension(path: &Path) -> String {
        path.extension()
            .map(|extension| extension.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    }

    fn of_document(path: &Path) -> Result<Format, LoadError> {
        match Format::extension(path).as_str() {
            "json" => Ok(Format::Json),
            "toml" => Ok(Format::Toml),
            "yaml" | "yml" => Ok(Format::Yaml),
            _ => Err(LoadError::UnknownExtension {
                path: path.to_owned(),
                expected: "a .json, .toml, .yaml or .yml file",
            }),
        }
    }

    /// Airflow's local-filesystem backend reads JSON and YAML (and `.env`, which is not supported
    /// here).
    fn of_connections_file(path: &Path) -> Result<Format, LoadError> {
        match Format::extension(path).as_str() {
            "json" => Ok(Format::Json),
            "yaml" | "yml" => Ok(Format::Yaml),
            _ => Err(LoadError::UnknownExtension {
                path: path.to_owned(),
                expected: "a .json, .yaml or .yml connections file",
            }),
        }
    }
}

/// A parsed document before overrides and validation.
struct Parsed {
    value: Value,
    /// The source text when it is JSON that can be validated as is (exact positions and snippets).
    pristine_json: Option<String>,
    positions: SourcePositions,
    pointers: PointerMap,
    /// Environment variables and connections files always hold whole connections.
    whole_connection: bool,
    /// Findings of the loading itself (such as URI query keys Airflow ignores).
    warnings: Vec<Diagnostic>,
}

/// A JSON document, or the report of why it is not one.
fn json_document(bytes: &[u8]) -> Result<Parsed, Box<Report>> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(Box::new(validate_bytes(bytes, DocumentKind::Auto)));
    };
    match serde_json::from_str::<Value>(text) {
        Ok(value) => Ok(Parsed {
            value,
            pristine_json: Some(text.to_owned()),
            positions: SourcePositions::json(text),
            pointers: PointerMap::default(),
            whole_connection: false,
            warnings: Vec::new(),
        }),
        Err(_) => Err(Box::new(validate(text, DocumentKind::Auto))),
    }
}

fn utf8<'a>(bytes: &'a [u8], label: &str, format: &'static str) -> Result<&'a str, LoadError> {
    std::str::from_utf8(bytes).map_err(|error| {
        let valid = String::from_utf8_lossy(&bytes[..error.valid_up_to()]);
        let (line, column) = LineIndex::new(&valid).line_column(&valid, valid.len());
        LoadError::Syntax {
            label: label.to_owned(),
            format,
            line,
            column,
            message: "the file is not valid UTF-8".to_owned(),
        }
    })
}

fn toml_document(bytes: &[u8], label: &str) -> Result<Parsed, LoadError> {
    let text = utf8(bytes, label, "TOML")?;
    let table: toml::Table = toml::from_str(text).map_err(|error| {
        // The error's Display quotes the offending source line, which may hold a secret: use
        // the bare message and the span.
        let (line, column) = error.span().map_or((0, 0), |span| {
            LineIndex::new(text).line_column(text, span.start)
        });
        LoadError::Syntax {
            label: label.to_owned(),
            format: "TOML",
            line,
            column,
            message: error.message().trim().to_owned(),
        }
    })?;
    let mut spans = HashMap::new();
    if let Ok(root) = toml::de::DeTable::parse(text) {
        let lines = LineIndex::new(text);
        spans.insert(
            String::new(),
            Spot {
                key: None,
                value: lines.line_column(text, root.span().start),
            },
        );
        toml_positions(root.get_ref(), "", text, &lines, &mut spans);
    }
    Ok(Parsed {
        value: toml_to_json(toml::Value::Table(table)),
        pristine_json: None,
        positions: SourcePositions::Spans(spans),
        pointers: PointerMap::default(),
        whole_connection: false,
        warnings: Vec::new(),
    })
}

fn toml_positions(
    table: &toml::de::DeTable<'_>,
    pointer: &str,
    text: &str,
    lines: &LineIndex,
    spans: &mut HashMap<String, Spot>,
) {
    for (key, value) in table.iter() {
        let pointer = child(pointer, key.get_ref());
        spans.insert(
            pointer.clone(),
            Spot {
                key: Some(lines.line_column(text, key.span().start)),
                value: lines.line_column(text, value.span().start),
            },
        );
        toml_value_positions(value.get_ref(), &pointer, text, lines, spans);
    }
}

fn toml_value_positions(
    value: &toml::de::DeValue<'_>,
    pointer: &str,
    text: &str,
    lines: &LineIndex,
    spans: &mut HashMap<String, Spot>,
) {
    match value {
        toml::de::DeValue::Table(table) => toml_positions(table, pointer, text, lines, spans),
        toml::de::DeValue::Array(array) => {
            for (index, element) in array.iter().enumerate() {
                let pointer = child(pointer, &index.to_string());
                spans.insert(
                    pointer.clone(),
                    Spot {
                        key: None,
                        value: lines.line_column(text, element.span().start),
                    },
                );
                toml_value_positions(element.get_ref(), &pointer, text, lines, spans);
            }
        }
        _ => {}
    }
}

fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(text) => Value::String(text),
        toml::Value::Integer(number) => Value::from(number),
        toml::Value::Float(number) => json_float(number),
        toml::Value::Boolean(flag) => Value::Bool(flag),
        toml::Value::Datetime(datetime) => Value::String(datetime.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(key, value)| (key, toml_to_json(value)))
                .collect(),
        ),
    }
}

/// JSON has no NaN or infinity; such a value becomes `null`, which the validator then rejects
/// wherever a number is expected.
fn json_float(number: f64) -> Value {
    serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)
}

fn yaml_document(bytes: &[u8], label: &str) -> Result<Parsed, LoadError> {
    let text = utf8(bytes, label, "YAML")?;
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|error| {
        let (line, column) = error
            .location()
            .map_or((0, 0), |location| (location.line(), location.column()));
        let message = error
            .to_string()
            .replace(&format!(" at line {line} column {column}"), "");
        LoadError::Syntax {
            label: label.to_owned(),
            format: "YAML",
            line,
            column,
            message,
        }
    })?;
    Ok(Parsed {
        value: yaml_to_json(value),
        pristine_json: None,
        positions: SourcePositions::Spans(yaml_positions(text)),
        pointers: PointerMap::default(),
        whole_connection: false,
        warnings: Vec::new(),
    })
}

fn yaml_to_json(value: serde_yaml::Value) -> Value {
    match value {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(flag) => Value::Bool(flag),
        serde_yaml::Value::Number(number) => {
            if let Some(integer) = number.as_u64() {
                Value::from(integer)
            } else if let Some(integer) = number.as_i64() {
                Value::from(integer)
            } else {
                json_float(number.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_yaml::Value::String(text) => Value::String(text),
        serde_yaml::Value::Sequence(items) => {
            Value::Array(items.into_iter().map(yaml_to_json).collect())
        }
        serde_yaml::Value::Mapping(mapping) => Value::Object(
            mapping
                .into_iter()
                .filter_map(|(key, value)| Some((yaml_key(key)?, yaml_to_json(value))))
                .collect(),
        ),
        serde_yaml::Value::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

/// A YAML mapping key as a JSON object key: scalars by their text; a collection as key has no
/// JSON form and is dropped (no connection key is one).
fn yaml_key(key: serde_yaml::Value) -> Option<String> {
    match key {
        serde_yaml::Value::String(text) => Some(text),
        serde_yaml::Value::Null => Some("null".to_owned()),
        serde_yaml::Value::Bool(flag) => Some(flag.to_string()),
        serde_yaml::Value::Number(number) => Some(number.to_string()),
        serde_yaml::Value::Tagged(tagged) => yaml_key(tagged.value),
        serde_yaml::Value::Sequence(_) | serde_yaml::Value::Mapping(_) => None,
    }
}

/// Positions of keys and values from a second, event-level parse (serde_yaml keeps none). If the
/// two parsers disagree on a document, missing positions fall back to an ancestor's or to none.
fn yaml_positions(text: &str) -> HashMap<String, Spot> {
    use saphyr_parser::{Event, Parser};

    enum Frame {
        Mapping {
            pointer: String,
            key: Option<(String, (usize, usize))>,
        },
        Sequence {
            pointer: String,
            index: usize,
        },
        /// A collection used as a mapping key, or inside one: it has no pointer.
        Skipped,
    }

    let mut spans = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    while let Some(Ok((event, span))) = parser.next_event() {
        let at = (span.start.line(), span.start.col() + 1);
        let starts_node = matches!(
            event,
            Event::Scalar(..)
                | Event::Alias(_)
                | Event::MappingStart(..)
                | Event::SequenceStart(..)
        );
        if starts_node {
            // Where this node sits: `None` for a mapping key (or anything without a pointer).
            let place: Option<(String, Option<(usize, usize)>)> = match stack.last_mut() {
                None => Some((String::new(), None)),
                Some(Frame::Skipped) => None,
                Some(Frame::Sequence { pointer, index }) => {
                    let place = child(pointer, &index.to_string());
                    *index += 1;
                    Some((place, None))
                }
                Some(Frame::Mapping { pointer, key }) => match key.take() {
                    Some((name, key_at)) => Some((child(pointer, &name), Some(key_at))),
                    None => {
                        if let Event::Scalar(name, ..) = &event {
                            *key = Some((name.to_string(), at));
                        }
                        None
                    }
                },
            };
            if let Some((pointer, key)) = &place {
                spans.insert(
                    pointer.clone(),
                    Spot {
                        key: *key,
                        value: at,
                    },
                );
            }
            match (&event, place) {
                (Event::MappingStart(..), Some((pointer, _))) => {
                    stack.push(Frame::Mapping { pointer, key: None })
                }
                (Event::SequenceStart(..), Some((pointer, _))) => {
                    stack.push(Frame::Sequence { pointer, index: 0 });
                }
                (Event::MappingStart(..) | Event::SequenceStart(..), None) => {
                    stack.push(Frame::Skipped);
                }
                _ => {}
            }
        } else if matches!(event, Event::MappingEnd | Event::SequenceEnd) {
            stack.pop();
        }
    }
    spans
}

/// Picks `conn_id` from a parsed connections file and normalises Airflow's entry forms to a whole
/// connection document: a URI string, an object with `uri`, or an object with `extra_dejson`.
fn connections_file_entry(
    mapping: Value,
    positions: SourcePositions,
    path: &Path,
    conn_id: &str,
    label: &str,
) -> Result<Parsed, LoadError> {
    let shape_error = |message: String| LoadError::ConnectionsFile {
        label: label.to_owned(),
        message,
    };
    let mut mapping = match mapping {
        Value::Object(mapping) => mapping,
        // An empty YAML file is an empty set of connections, as in Airflow.
        Value::Null => Map::new(),
        other => {
            return Err(shape_error(format!(
                "a connections file must map connection ids to connections, found {}",
                crate::parse::kind_of(&other)
            )));
        }
    };
    let Some(entry) = mapping.remove(conn_id) else {
        let mut available: Vec<String> = mapping.keys().cloned().collect();
        available.sort();
        return Err(LoadError::ConnIdNotFound {
            path: path.to_owned(),
            conn_id: conn_id.to_owned(),
            available,
        });
    };
    let mut pointers = PointerMap {
        prefix: child("", conn_id),
        ..PointerMap::default()
    };
    let mut warnings = Vec::new();
    let value = match entry {
        Value::String(uri) => {
            let (value, uri_warnings) =
                parse_uri(uri.trim()).map_err(|reason| LoadError::BadUri {
                    origin: label.to_owned(),
                    reason,
                })?;
            warnings = uri_warnings;
            value
        }
        Value::Object(mut object) => {
            match object.remove("conn_id") {
                Some(Value::String(inner)) if inner != conn_id => {
                    return Err(shape_error(format!(
                        "the entry's \"conn_id\" is {inner:?} but its key is {conn_id:?}; Airflow requires them to match"
                    )));
                }
                _ => {}
            }
            if let Some(dejson) = object.remove("extra_dejson") {
                if object.contains_key("extra") {
                    return Err(shape_error(
                        "\"extra\" and \"extra_dejson\" cannot both be set; keep one".to_owned(),
                    ));
                }
                object.insert("extra".to_owned(), dejson);
                pointers.extra_written_as = Some("extra_dejson");
            }
            match object.remove("uri") {
                Some(Value::String(uri)) => {
                    if !object.is_empty() {
                        return Err(shape_error(
                            "an entry with \"uri\" cannot also set other fields, as in Airflow"
                                .to_owned(),
                        ));
                    }
                    let (value, uri_warnings) =
                        parse_uri(uri.trim()).map_err(|reason| LoadError::BadUri {
                            origin: label.to_owned(),
                            reason,
                        })?;
                    warnings = uri_warnings;
                    value
                }
                Some(other) => {
                    return Err(shape_error(format!(
                        "\"uri\" must be a string, found {}",
                        crate::parse::kind_of(&other)
                    )));
                }
                None => Value::Object(object),
            }
        }
        other => {
            return Err(shape_error(format!(
                "a connection must be an object or a URI string, found {}",
                crate::parse::kind_of(&other)
            )));
        }
    };
    Ok(Parsed {
        value,
        pristine_json: None,
        positions,
        pointers,
        whole_connection: true,
        warnings,
    })
}

/// Parses an Airflow connection URI the way `Connection._parse_from_uri` does: the scheme is
/// `conn_type` (lower-cased, `postgresql` → `postgres`, `-` → `_`); login and password are the
/// percent-decoded user info before the last `@`; the host is Python's `hostname` (lower-cased
/// up to any `%`) percent-decoded, or, when that decodes to something with a `/` (an encoded base
/// URL), the raw authority after `@` and before `:` decoded with its case kept; a second `://`
/// gives the host its own scheme (then no user info is allowed, and the path stays `schema`); the
/// path minus its `/` is `schema`; the authority's port is `port`; `__extra__` in the query is
/// the whole extra (other keys ignored, with a warning), else every `parse_qsl` pair is an extra
/// key with a string value. Empty parts are left out rather than kept as `""`. Errors never
/// quote the URI: it may hold a password.
fn parse_uri(uri: &str) -> Result<(Value, Vec<Diagnostic>), String> {
    let separators = uri.matches("://").count();
    if separators == 0 {
        return Err(
            "expected the form `conn_type://login:password@host:port/schema?key=value`, \
                    found no `://`"
                .to_owned(),
        );
    }
    if separators > 2 {
        return Err("more than two `://` separators".to_owned());
    }
    let (scheme, rest) = uri.split_once("://").unwrap_or((uri, ""));
    if !is_scheme(scheme) {
        return Err(
            "the part before `://` is not a URI scheme (a letter, then letters, digits, `+`, `-` or `.`)"
                .to_owned(),
        );
    }
    let mut conn_type = scheme.to_ascii_lowercase();
    if conn_type == "postgresql" {
        conn_type = "postgres".to_owned();
    }
    let conn_type = conn_type.replace('-', "_");

    // `openai://https://host/path`: the host carries its own scheme, as Airflow allows.
    let (protocol, rest) = if separators == 2 {
        let (protocol, after) = rest.split_once("://").unwrap_or((rest, ""));
        if protocol.contains('@') || protocol.contains(':') {
            return Err(
                "a host written with its own scheme (`conn_type://https://host`) cannot \
                        carry a login or password; URL-encode the host instead \
                        (`conn_type://:password@https%3A%2F%2Fhost`)"
                    .to_owned(),
            );
        }
        if !is_scheme(protocol) {
            return Err("the host's own scheme is not a URI scheme".to_owned());
        }
        (Some(protocol.to_ascii_lowercase()), after)
    } else {
        (None, rest)
    };

    // urlsplit: the authority runs to the first `/`, `?` or `#`; the fragment is dropped.
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (netloc, rest) = rest.split_at(authority_end);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));

    let (userinfo, hostinfo) = match netloc.rsplit_once('@') {
        Some((userinfo, hostinfo)) => (Some(userinfo), hostinfo),
        None => (None, netloc),
    };
    let (username, password) = match userinfo {
        Some(userinfo) => match userinfo.split_once(':') {
            Some((username, password)) => (Some(username), Some(password)),
            None => (Some(userinfo), None),
        },
        None => (None, None),
    };
    let (raw_hostname, port) = match hostinfo.split_once('[') {
        Some((_, bracketed)) => {
            let (hostname, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
            (hostname, after.split_once(':').map_or("", |(_, port)| port))
        }
        None => hostinfo.split_once(':').unwrap_or((hostinfo, "")),
    };
    let port = if port.is_empty() {
        None
    } else {
        match port.parse::<u32>() {
            Ok(number) if port.bytes().all(|byte| byte.is_ascii_digit()) && number <= 65535 => {
                Some(number)
            }
            // The port text is not quoted: with a missing `@` it may be the password.
            _ => return Err("the port is not an integer from 0 to 65535".to_owned()),
        }
    };

    // Python's `hostname` lower-cases up to the first `%` (an IPv6 zone follows it); Airflow then
    // unquotes, and if that yields a `/` (a URL-encoded base URL) it takes the host from the raw
    // authority instead, keeping its case.
    let lowered = match raw_hostname.split_once('%') {
        Some((head, tail)) => format!("{}%{tail}", head.to_ascii_lowercase()),
        None => raw_hostname.to_ascii_lowercase(),
    };
    let mut host = unquote(&lowered);
    if host.contains('/') {
        let after_at = netloc.rsplit_once('@').map_or(netloc, |(_, host)| host);
        let before_colon = after_at.split_once(':').map_or(after_at, |(host, _)| host);
        host = unquote(before_colon);
    }
    if let Some(protocol) = protocol.as_deref()
        && !host.is_empty()
    {
        host = format!("{protocol}://{host}");
    }

    let mut document = Map::new();
    document.insert("conn_type".to_owned(), Value::String(conn_type));
    // Airflow keeps empty strings where the URI has an empty part; for an OpenAI connection an
    // empty host, login, password or schema means the same as none, so they are left out.
    let mut put = |key: &str, text: String| {
        if !text.is_empty() {
            document.insert(key.to_owned(), Value::String(text));
        }
    };
    put("host", host);
    put("login", username.map(unquote).unwrap_or_default());
    put("password", password.map(unquote).unwrap_or_default());
    let schema = path.strip_prefix('/').unwrap_or(path);
    put("schema", unquote(schema));
    if let Some(port) = port {
        document.insert("port".to_owned(), Value::from(port));
    }

    let mut warnings = Vec::new();
    if protocol.is_some() && !schema.is_empty() {
        warnings.push(load_warning(
            "/schema",
            "Airflow reads the path of `conn_type://https://host/path` as \"schema\", not as part \
             of the host, so the base URL loses its path"
                .to_owned(),
            Some("URL-encode the base URL as the host: `openai://:KEY@https%3A%2F%2Fhost%2Fpath`"),
        ));
    }
    if !query.is_empty() {
        let pairs = parse_qsl(query);
        let mut extra = Map::new();
        for (key, value) in &pairs {
            extra.insert(key.clone(), Value::String(value.clone()));
        }
        match extra.remove("__extra__") {
            Some(inner) => {
                // Airflow takes `__extra__` as the whole extra and ignores every other key.
                if !extra.is_empty() {
                    let ignored: Vec<&str> = extra.keys().map(String::as_str).collect();
                    warnings.push(load_warning(
                        "/extra",
                        format!(
                            "query keys beside __extra__ are ignored, as Airflow ignores them: {}",
                            ignored.join(", ")
                        ),
                        Some("move them into the __extra__ JSON"),
                    ));
                }
                document.insert("extra".to_owned(), inner);
            }
            None => {
                document.insert("extra".to_owned(), Value::Object(extra));
            }
        }
    }
    Ok((Value::Object(document), warnings))
}

fn load_warning(pointer: &str, message: String, suggestion: Option<&str>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Warning,
        code: Code::IgnoredUriPart,
        pointer: pointer.to_owned(),
        origin: None,
        line: 0,
        column: 0,
        message,
        suggestion: suggestion.map(str::to_owned),
    }
}

fn is_scheme(text: &str) -> bool {
    let mut characters = text.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && characters.all(|character| {
            character.is_ascii_alphanumeric() || matches!(character, '+' | '-' | '.')
        })
}

/// Python's `urllib.parse.unquote`: `%XX` decoded as UTF-8 (invalid sequences replaced), `+` kept.
fn unquote(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// Python's `parse_qsl(query, keep_blank_values=True)`: `&`-separated, `+` is a space, a field
/// without `=` has an empty value, empty fields are skipped. Later duplicates win in Airflow's
/// `dict(...)`, which [`parse_uri`] reproduces by inserting in order.
fn parse_qsl(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|field| !field.is_empty())
        .map(|field| {
            let (name, value) = field.split_once('=').unwrap_or((field, ""));
            (
                unquote(&name.replace('+', " ")),
                unquote(&value.replace('+', " ")),
            )
        })
        .collect()
}

/// Where a value sits in its source.
#[derive(Clone, Copy, Debug)]
struct Spot {
    key: Option<(usize, usize)>,
    value: (usize, usize),
}

/// Positions of the source document, by the pointer in the source's own coordinates.
enum SourcePositions {
    /// No positions (a URI in an environment variable): findings name the source only.
    Unknown,
    Json {
        text: String,
        positions: Positions,
        lines: LineIndex,
    },
    Spans(HashMap<String, Spot>),
}

impl SourcePositions {
    fn json(text: &str) -> SourcePositions {
        SourcePositions::Json {
            text: text.to_owned(),
            positions: Positions::index(text),
            lines: LineIndex::new(text),
        }
    }

    fn locate(&self, pointer: &str, at_key: bool) -> (usize, usize) {
        match self {
            SourcePositions::Unknown => (0, 0),
            SourcePositions::Json {
                text,
                positions,
                lines,
            } => lines.line_column(text, positions.offset(pointer, at_key)),
            SourcePositions::Spans(spans) => {
                let mut current = pointer;
                loop {
                    if let Some(spot) = spans.get(current) {
                        return match (at_key && current == pointer, spot.key) {
                            (true, Some(key)) => key,
                            _ => spot.value,
                        };
                    }
                    match current.rfind('/') {
                        Some(slash) => current = &current[..slash],
                        None => return (0, 0),
                    }
                }
            }
        }
    }
}

/// How pointers of the validated document map to pointers of the source.
#[derive(Clone, Debug, Default)]
struct PointerMap {
    /// Where the connection sits in its file (`/<conn_id>` in a connections file).
    prefix: String,
    /// The bare extra was wrapped as `{"extra": ...}` so connection-level overrides could apply.
    wrapped: bool,
    /// The source wrote `extra` under this key (Airflow's `extra_dejson`).
    extra_written_as: Option<&'static str>,
}

impl PointerMap {
    fn to_source(&self, pointer: &str) -> String {
        let mut pointer = pointer.to_owned();
        if self.wrapped {
            pointer = match strip_segment(&pointer, "/extra") {
                Some(rest) => rest.to_owned(),
                None => String::new(),
            };
        }
        if let Some(written) = self.extra_written_as
            && let Some(rest) = strip_segment(&pointer, "/extra")
        {
            pointer = format!("/{written}{rest}");
        }
        format!("{}{pointer}", self.prefix)
    }
}

/// `pointer` without the leading `segment` if it starts with that whole segment.
fn strip_segment<'a>(pointer: &'a str, segment: &str) -> Option<&'a str> {
    let rest = pointer.strip_prefix(segment)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// One `OPENAI_CONN_*` variable, split into its key path and parsed.
struct Override {
    name: String,
    path: Vec<String>,
    value: FigmentValue,
}

/// The override variables, sorted by name so shallower keys apply before deeper ones.
fn overrides(env: &dyn EnvVars) -> Vec<Override> {
    let mut found: Vec<Override> = env
        .vars()
        .into_iter()
        .filter_map(|(name, value)| {
            let head = name.get(..OVERRIDE_PREFIX.len())?;
            if !head.eq_ignore_ascii_case(OVERRIDE_PREFIX) {
                return None;
            }
            let rest = &name[OVERRIDE_PREFIX.len()..];
            if rest.is_empty() {
                return None;
            }
            let path: Vec<String> = rest.split(OVERRIDE_SPLIT).map(str::to_lowercase).collect();
            let value = if path.len() == 1 && RAW_STRING_FIELDS.contains(&path[0].as_str()) {
                FigmentValue::from(value)
            } else {
                // As figment's `Env` provider: `1200` is a number, `true` a boolean, `"x"` a
                // string, anything unparseable the string itself.
                FigmentValue::from_str(&value).unwrap_or_else(|never| match never {})
            };
            Some(Override { name, path, value })
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

fn nest(path: &[String], value: FigmentValue) -> FigmentValue {
    path.iter().rev().fold(value, |value, key| {
        let mut dict = Dict::new();
        dict.insert(key.clone(), value);
        FigmentValue::Dict(Tag::Default, dict)
    })
}

fn finish(
    parsed: Parsed,
    kind: DocumentKind,
    env: &dyn EnvVars,
    label: String,
    conn_id: Option<String>,
) -> Result<Loaded, LoadError> {
    let Parsed {
        mut value,
        pristine_json,
        positions,
        mut pointers,
        whole_connection,
        warnings,
    } = parsed;
    let mut kind = match kind {
        DocumentKind::Auto if whole_connection => DocumentKind::Connection,
        other => other.detect(&value),
    };
    let mut found = overrides(env);

    // A bare extra takes `EXTRA__*` keys itself; any other override makes it a connection's extra.
    if kind == DocumentKind::Extra
        && found
            .iter()
            .any(|item| item.path.len() < 2 || item.path[0] != "extra")
    {
        let mut wrapper = Map::new();
        wrapper.insert("extra".to_owned(), value);
        value = Value::Object(wrapper);
        pointers.wrapped = true;
        kind = DocumentKind::Connection;
    }
    if kind == DocumentKind::Extra {
        for item in &mut found {
            item.path.remove(0);
        }
    } else if found
        .iter()
        .any(|item| item.path.len() >= 2 && item.path[0] == "extra")
        && let Some(Value::String(text)) = value.get("extra")
    {
        // Nested keys cannot merge into an extra written as a JSON string: parse it first. If it
        // is not a JSON object, the nested overrides are not applied and the validator reports it.
        let parsed = if text.trim().is_empty() {
            Some(Value::Object(Map::new()))
        } else {
            serde_json::from_str::<Value>(text)
                .ok()
                .filter(Value::is_object)
        };
        match parsed {
            Some(object) => {
                if let Some(slot) = value.get_mut("extra") {
                    *slot = object;
                }
            }
            None => found.retain(|item| item.path.len() < 2 || item.path[0] != "extra"),
        }
    }
    if !value.is_object() {
        // Only an object can take keys; the validator reports the document's real problem.
        found.clear();
    }

    let mut report = if found.is_empty() {
        match &pristine_json {
            Some(text) => validate(text, kind),
            None => {
                let locate = |pointer: &str, at_key: bool| {
                    let (line, column) = positions.locate(&pointers.to_source(pointer), at_key);
                    Location {
                        origin: None,
                        line,
                        column,
                    }
                };
                validate_value(&value, kind, &locate)
            }
        }
    } else {
        let mut figment = Figment::from(Serialized::defaults(&value));
        let mut origins: Vec<(String, String)> = Vec::new();
        for item in &found {
            figment = figment.merge(Serialized::defaults(nest(&item.path, item.value.clone())));
            let pointer = item
                .path
                .iter()
                .fold(String::new(), |pointer, key| child(&pointer, key));
            origins.push((pointer, format!("env {}", item.name)));
        }
        let merged: Value = figment.extract().map_err(|_| LoadError::Overrides {
            vars: found.iter().map(|item| item.name.clone()).collect(),
            // figment's message may quote a value, so it is not passed on.
            message: "the merged document could not be rebuilt as JSON".to_owned(),
        })?;
        let locate = |pointer: &str, at_key: bool| {
            // The deepest override at or above the pointer supplied the value.
            let origin = origins
                .iter()
                .filter(|(set, _)| strip_segment(pointer, set).is_some())
                .max_by_key(|(set, _)| set.len());
            match origin {
                Some((_, origin)) => Location {
                    origin: Some(origin.clone()),
                    line: 0,
                    column: 0,
                },
                None => {
                    let (line, column) = positions.locate(&pointers.to_source(pointer), at_key);
                    Location {
                        origin: None,
                        line,
                        column,
                    }
                }
            }
        };
        validate_value(&merged, kind, &locate)
    };

    for mut warning in warnings {
        let (line, column) = positions.locate(&pointers.to_source(&warning.pointer), false);
        warning.line = line;
        warning.column = column;
        report.diagnostics.push(warning);
    }
    let mut names: Vec<String> = found.into_iter().map(|item| item.name).collect();
    names.sort();
    Ok(Loaded {
        label,
        conn_id,
        report,
        overrides: names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> Map<String, Value> {
        match parse_uri(text) {
            Ok((Value::Object(map), _)) => map,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn uri_parts_follow_airflow() {
        let map = uri("openai://me%40corp:p%2Fw@API.Example.com:8443/my%20schema?a=1&b=x+y&c");
        assert_eq!(map["conn_type"], "openai");
        assert_eq!(map["login"], "me@corp");
        assert_eq!(map["password"], "p/w");
        assert_eq!(map["host"], "api.example.com");
        assert_eq!(map["port"], 8443);
        assert_eq!(map["schema"], "my schema");
        assert_eq!(
            map["extra"],
            serde_json::json!({"a": "1", "b": "x y", "c": ""})
        );
    }

    #[test]
    fn uri_host_with_own_scheme_keeps_path_as_schema() {
        let (value, warnings) = parse_uri("openai://https://api.example.com/v1").unwrap();
        assert_eq!(value["host"], "https://api.example.com");
        assert_eq!(value["schema"], "v1");
        assert_eq!(warnings.len(), 1);
        assert!(parse_uri("openai://:k@https://api.example.com").is_err());
    }

    #[test]
    fn uri_errors_do_not_quote_the_uri() {
        let error = parse_uri("openai://:sk-secret-value").unwrap_err();
        assert!(error.contains("port"), "{error}");
        assert!(!error.contains("sk-secret"), "{error}");
        assert!(parse_uri("no separator").is_err());
        assert!(parse_uri("a://b://c://d").is_err());
    }

    #[test]
    fn uri_conn_type_is_normalised() {
        assert_eq!(uri("Postgresql://h")["conn_type"], "postgres");
        assert_eq!(uri("google-cloud://h")["conn_type"], "google_cloud");
    }

    #[test]
    fn yaml_positions_cover_keys_values_and_sequences() {
        let spans = yaml_positions("a:\n  b: 1\n  c:\n    - x\n    - {d: 2}\n");
        assert_eq!(spans["/a/b"].key, Some((2, 3)));
        assert_eq!(spans["/a/b"].value, (2, 6));
        assert_eq!(spans["/a/c/1"].value, (5, 7));
        assert_eq!(spans["/a/c/1/d"].key, Some((5, 8)));
    }

    #[test]
    fn pointer_map_rewrites_to_the_source() {
        let map = PointerMap {
            prefix: "/my~1id".to_owned(),
            wrapped: false,
            extra_written_as: Some("extra_dejson"),
        };
        assert_eq!(
            map.to_source("/extra/auth_type"),
            "/my~1id/extra_dejson/auth_type"
        );
        assert_eq!(map.to_source("/extras"), "/my~1id/extras");
        let wrapped = PointerMap {
            wrapped: true,
            ..PointerMap::default()
        };
        assert_eq!(wrapped.to_source("/extra/audience"), "/audience");
        assert_eq!(wrapped.to_source("/host"), "");
    }
}
