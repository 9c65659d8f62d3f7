//! The document formats: JSON, TOML and YAML, each parsed with the positions of its values.

use std::collections::HashMap;
use std::path::Path;

use conn_schema::pointer::child;
use conn_schema::positions::LineIndex;
use conn_schema::{Diagnostic, DocumentKind, Location, Report, validate, validate_bytes};
use serde_json::Value;

use crate::LoadError;
use crate::positions::{PointerMap, SourcePositions, Spot};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
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

    pub(crate) fn of_document(path: &Path) -> Result<Format, LoadError> {
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
            location: Some(Location { line, column }),
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
            Location { line, column }
        });
        LoadError::Syntax {
            label: label.to_owned(),
            format: "TOML",
            location,
            message: value_free(error.message().trim(), None),
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

pub(crate) fn toml_positions(
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

pub(crate) fn toml_value_positions(
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

/// JSON has no NaN or infinity; such a value becomes `null`, which the validator then rejects
/// wherever a number is expected.
pub(crate) fn json_float(number: f64) -> Value {
    serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)
}

pub(crate) fn yaml_document(bytes: &[u8], label: &str) -> Result<Parsed, LoadError> {
    let text = utf8(bytes, label, "YAML")?;
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|error| {
        let (line, column) = error
            .location()
            .map_or((0, 0), |location| (location.line(), location.column()));
        let message = error
            .to_string()
            .replace(&format!(" at line {line} column {column}"), "");
        let key = yaml_key_at(text, line);
        LoadError::Syntax {
            label: label.to_owned(),
            format: "YAML",
            location: (line > 0).then_some(Location { line, column }),
            message: value_free(&message, key.as_deref()),
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

/// A parser's message without the value it may quote. A type error (`!!int sk-...` is
/// "invalid type: string \"sk-...\", expected i64") becomes the key, when known, and the expected
/// type; in any other message, quoted text is replaced by `"…"`. A value may be a secret.
pub(crate) fn value_free(message: &str, key: Option<&str>) -> String {
    // serde_yaml puts the key path first: `password: invalid value: ...`.
    let (path, rest) = match message.split_once(": invalid ") {
        Some((path, _)) if !path.contains('"') => (Some(path), &message[path.len() + 2..]),
        _ => (None, message),
    };
    let key = path.or(key);
    let is_type_error = ["invalid type", "invalid value", "invalid length"]
        .iter()
        .any(|start| rest.starts_with(start));
    if is_type_error && let Some((_, expected)) = rest.rsplit_once(", expected ") {
        let subject = key.map_or_else(
            || "a value".to_owned(),
            |key| format!("the value of \"{key}\""),
        );
        return format!(
            "{subject} does not match its type or tag: expected {}",
            without_quotes(expected)
        );
    }
    without_quotes(message)
}

/// `text` with every double-quoted or backquoted run replaced by `"…"`.
fn without_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        match inside {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(quote) if c == quote => inside = None,
            Some(_) => {}
            None if c == '"' => {
                out.push_str("\"…\"");
                inside = Some(c);
            }
            None => out.push(c),
        }
    }
    out
}

/// The last key that starts on `line` of a YAML text (for naming the key of a type error).
fn yaml_key_at(text: &str, line: usize) -> Option<String> {
    let spans = yaml_positions(text);
    spans
        .iter()
        .filter(|(_, spot)| spot.key.is_some_and(|(key_line, _)| key_line == line))
        .max_by_key(|(_, spot)| spot.key)
        .and_then(|(pointer, _)| pointer.rsplit('/').next())
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
}

pub(crate) fn yaml_to_json(value: serde_yaml::Value) -> Value {
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
pub(crate) fn yaml_key(key: serde_yaml::Value) -> Option<String> {
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
pub(crate) fn yaml_positions(text: &str) -> HashMap<String, Spot> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_positions_cover_keys_values_and_sequences() {
        let spans = yaml_positions("a:\n  b: 1\n  c:\n    - x\n    - {d: 2}\n");
        assert_eq!(spans["/a/b"].key, Some((2, 3)));
        assert_eq!(spans["/a/b"].value, (2, 6));
        assert_eq!(spans["/a/c/1"].value, (5, 7));
        assert_eq!(spans["/a/c/1/d"].key, Some((5, 8)));
    }
}
