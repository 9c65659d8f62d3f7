//! The document formats: JSON, TOML and YAML, each parsed with the positions of its values.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use conn_schema::pointer::child;
use conn_schema::positions::LineIndex;
use conn_schema::{Diagnostic, DocumentKind, Location, Report, validate, validate_bytes};
use serde_json::Value;

use crate::LoadError;
use crate::positions::{PointerMap, SourcePositions, Spot};
use crate::scalars::{json_float, value_free};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Toml,
    Yaml,
}

/// The extensions of the connection documents this loader reads, in the order error messages
/// list them: `.json`, `.toml`, `.yaml`, `.yml` (any case).
pub const DOCUMENT_EXTENSIONS: [&str; 4] = ["json", "toml", "yaml", "yml"];

/// The extensions of the Airflow connections files this loader reads: JSON and YAML mappings,
/// and `.env` lines.
pub const CONNECTIONS_FILE_EXTENSIONS: [&str; 4] = ["json", "yaml", "yml", "env"];

impl Format {
    fn extension(path: &Path) -> String {
        path.extension()
            .map(|extension| extension.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// The format an extension of [`DOCUMENT_EXTENSIONS`] names.
    fn of_extension(extension: &str) -> Option<Format> {
        match extension {
            "json" => Some(Format::Json),
            "toml" => Some(Format::Toml),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }

    pub(crate) fn of_document(path: &Path) -> Result<Format, LoadError> {
        Format::of_extension(&Format::extension(path)).ok_or_else(|| LoadError::UnknownExtension {
            path: path.to_owned(),
            expected: "a .json, .toml, .yaml or .yml file",
        })
    }

    /// Airflow's local-filesystem backend reads JSON and YAML here (`.env` files are
    /// `env_file`'s).
    pub(crate) fn of_connections_file(path: &Path) -> Result<Format, LoadError> {
        match Format::extension(path).as_str() {
            "json" => Ok(Format::Json),
            "yaml" | "yml" => Ok(Format::Yaml),
            _ => Err(LoadError::UnknownExtension {
                path: path.to_owned(),
                expected: "a .json, .yaml, .yml or .env connections file",
            }),
        }
    }

    /// The format of a document that comes without a name (standard input): JSON when it starts
    /// with `{` or `[` (after blanks), TOML when it parses as TOML, else YAML. A document that
    /// is none of them is reported in the format it most looks like: TOML when its first
    /// significant line is a `[table]` header or a `key = value` pair, else YAML.
    pub(crate) fn detect(bytes: &[u8]) -> Format {
        let Ok(text) = std::str::from_utf8(bytes) else {
            // Not UTF-8: the JSON reader reports where, with the right code.
            return Format::Json;
        };
        let text = text.trim_start_matches('\u{feff}');
        let first = text.trim_start();
        if first.starts_with('{') || first.starts_with('[') && !looks_like_toml(first) {
            return Format::Json;
        }
        if toml::from_str::<toml::Table>(text).is_ok() {
            return Format::Toml;
        }
        let significant = text
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with('#'));
        match significant {
            Some(line) if looks_like_toml(line) => Format::Toml,
            _ => Format::Yaml,
        }
    }
}

/// Whether a line reads as TOML: a `[table]` or `[[array]]` header of bare keys, or `key = ...`
/// with a bare or quoted key (YAML writes `key: value`).
fn looks_like_toml(line: &str) -> bool {
    let line = line.lines().next().unwrap_or_default().trim();
    let bare = |key: &str| {
        !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '"'))
    };
    if let Some(header) = line.strip_prefix('[') {
        let header = header.trim_start_matches('[');
        return header
            .split_once(']')
            .is_some_and(|(key, _)| bare(key.trim()) && !key.trim().starts_with('"'));
    }
    line.split_once('=')
        .is_some_and(|(key, _)| bare(key.trim()) && !key.contains(':'))
}

/// A parsed document before overrides and validation.
pub(crate) struct Parsed {
    pub(crate) value: Value,
    /// The source text when it is JSON that can be validated as is (exact positions and snippets).
    pub(crate) pristine_json: Option<String>,
    pub(crate) positions: SourcePositions,
    pub(crate) pointers: PointerMap,
    /// Environment variables and connections files always hold whole connections.
    pub(crate) whole_connection: bool,
    /// Findings of the loading itself (such as URI query keys Airflow ignores).
    pub(crate) warnings: Vec<Diagnostic>,
}

/// A JSON document, or the report of why it is not one.
pub(crate) fn json_document(bytes: &[u8]) -> Result<Parsed, Box<Report>> {
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

pub(crate) fn utf8<'a>(
    bytes: &'a [u8],
    label: &str,
    format: &'static str,
) -> Result<&'a str, LoadError> {
    std::str::from_utf8(bytes).map_err(|error| {
        let valid = String::from_utf8_lossy(&bytes[..error.valid_up_to()]);
        let (line, column) = LineIndex::new(&valid).line_column(&valid, valid.len());
        LoadError::Syntax {
            label: label.to_owned(),
            format,
            location: Some(Location::point(line, column)),
            message: "the file is not valid UTF-8".to_owned(),
        }
    })
}

pub(crate) fn toml_document(bytes: &[u8], label: &str) -> Result<Parsed, LoadError> {
    let text = utf8(bytes, label, "TOML")?;
    let table: toml::Table = toml::from_str(text).map_err(|error| {
        // The error's Display quotes the offending source line, which may hold a secret: use
        // the bare message and the span.
        let location = error.span().map(|span| {
            let (line, column) = LineIndex::new(text).line_column(text, span.start);
            Location::point(line, column)
        });
        LoadError::Syntax {
            label: label.to_owned(),
            format: "TOML",
            location,
            message: value_free(error.message().trim()),
        }
    })?;
    let mut spans = HashMap::new();
    if let Ok(root) = toml::de::DeTable::parse(text) {
        let mut toml_spans = TomlSpans {
            text,
            lines: LineIndex::new(text),
            spans: HashMap::new(),
        };
        toml_spans.insert(String::new(), None, root.span());
        toml_spans.table(root.get_ref(), "");
        spans = toml_spans.spans;
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

/// The positions of a TOML document's keys and values, by JSON pointer.
struct TomlSpans<'a> {
    text: &'a str,
    lines: LineIndex,
    spans: HashMap<String, Spot>,
}

impl TomlSpans<'_> {
    /// Records `pointer` at `value`, after its `key` when it has one.
    fn insert(&mut self, pointer: String, key: Option<Range<usize>>, value: Range<usize>) {
        let at = |offset| self.lines.line_column(self.text, offset);
        let spot = Spot {
            key: key.as_ref().map(|key| at(key.start)),
            value: at(value.start),
            key_end: key.map(|key| at(key.end)),
            value_end: at(value.end),
        };
        self.spans.insert(pointer, spot);
    }

    fn table(&mut self, table: &toml::de::DeTable<'_>, pointer: &str) {
        for (key, value) in table.iter() {
            let pointer = child(pointer, key.get_ref());
            self.insert(pointer.clone(), Some(key.span()), value.span());
            self.value(value.get_ref(), &pointer);
        }
    }

    fn value(&mut self, value: &toml::de::DeValue<'_>, pointer: &str) {
        match value {
            toml::de::DeValue::Table(table) => self.table(table, pointer),
            toml::de::DeValue::Array(array) => {
                for (index, element) in array.iter().enumerate() {
                    let pointer = child(pointer, &index.to_string());
                    self.insert(pointer.clone(), None, element.span());
                    self.value(element.get_ref(), &pointer);
                }
            }
            _ => {}
        }
    }
}

pub(crate) fn toml_to_json(value: toml::Value) -> Value {
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

pub(crate) fn yaml_document(bytes: &[u8], label: &str) -> Result<Parsed, LoadError> {
    let text = utf8(bytes, label, "YAML")?;
    let document = crate::yaml::read(text).map_err(|error| LoadError::Syntax {
        label: label.to_owned(),
        format: "YAML",
        location: error.location,
        message: error.message,
    })?;
    Ok(Parsed {
        value: document.value,
        pristine_json: None,
        positions: SourcePositions::Spans(document.spans),
        pointers: PointerMap::default(),
        whole_connection: false,
        warnings: Vec::new(),
    })
}
