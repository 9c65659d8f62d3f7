//! `OPENAI_CONN_*` environment overrides, layered onto the loaded document with figment, and the
//! validation of the merged document with the origin of every value.

use std::str::FromStr as _;

use conn_schema::pointer::child;
use conn_schema::{DocumentKind, Place, Profile, validate_parsed_for, validate_value_for};
use figment::Figment;
use figment::providers::Serialized;
use figment::value::{Dict, Tag, Value as FigmentValue};
use providers_core::Env;
use serde_json::{Map, Value};

use crate::formats::Parsed;
use crate::positions::strip_segment;
use crate::{LoadError, Loaded};

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

/// Keys of `extra` that choose a program to run: an override may neither set nor change them. A
/// command comes from the connection document only, so whoever can set an environment variable
/// cannot make the tool run a program of their choice.
const DOCUMENT_ONLY_KEYS: [&str; 2] = ["token_command", "token_command_timeout_seconds"];

/// The values of [`DOCUMENT_ONLY_KEYS`] in `extra` (an object, or a string holding one, as the
/// parser reads it).
fn document_only_values(extra: Option<&Value>) -> Vec<Option<Value>> {
    let object = match extra {
        Some(Value::String(text)) => serde_json::from_str::<Value>(text).ok(),
        other => other.cloned(),
    };
    DOCUMENT_ONLY_KEYS
        .iter()
        .map(|key| object.as_ref().and_then(|extra| extra.get(key)).cloned())
        .collect()
}

/// One `OPENAI_CONN_*` variable, split into its key path and parsed.
pub(crate) struct Override {
    pub(crate) name: String,
    pub(crate) path: Vec<String>,
    pub(crate) value: FigmentValue,
}

/// How deeply an override value may nest arrays and tables; deeper is an error (the value
/// parser recurses, and no connection key needs more than a few levels).
const MAX_OVERRIDE_NESTING: usize = 32;

fn is_override(name: &str) -> bool {
    name.get(..OVERRIDE_PREFIX.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(OVERRIDE_PREFIX))
        && name.len() > OVERRIDE_PREFIX.len()
}

/// The deepest nesting of `[` and `{` in `text`, outside double-quoted strings.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest, mut quoted, mut escaped) = (0usize, 0usize, false, false);
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '[' | '{' if !quoted => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ']' | '}' if !quoted => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The override variables, sorted by name so shallower keys apply before deeper ones. A variable
/// whose value is not UTF-8, or nests deeper than [`MAX_OVERRIDE_NESTING`], is an error naming it.
pub(crate) fn overrides(env: &dyn Env) -> Result<Vec<Override>, LoadError> {
    if let Some(name) = env
        .non_unicode_names()
        .into_iter()
        .find(|name| is_override(name))
    {
        return Err(LoadError::EnvNotUnicode { var: name });
    }
    // Only the override variables are copied, once per document (from a snapshot of the
    // environment, in the command-line tool).
    let vars = env.vars_where(&is_override);
    if let Some((name, _)) = vars.iter().find(|(name, value)| {
        nesting(value) > MAX_OVERRIDE_NESTING
            || name.matches(OVERRIDE_SPLIT).count() > MAX_OVERRIDE_NESTING
    }) {
        return Err(LoadError::Overrides {
            vars: vec![name.clone()],
            message: format!(
                "the value or the key path nests deeper than {MAX_OVERRIDE_NESTING} levels"
            ),
        });
    }
    let mut found: Vec<Override> = vars
        .into_iter()
        .map(|(name, value)| {
            // `is_override` kept only names that go on after the prefix.
            let rest = &name[OVERRIDE_PREFIX.len()..];
            let path: Vec<String> = rest.split(OVERRIDE_SPLIT).map(str::to_lowercase).collect();
            let value = if path.len() == 1 && RAW_STRING_FIELDS.contains(&path[0].as_str()) {
                FigmentValue::from(value)
            } else {
                // As figment's `Env` provider: `1200` is a number, `true` a boolean, `"x"` a
                // string, anything unparseable the string itself.
                FigmentValue::from_str(&value).unwrap_or_else(|never| match never {})
            };
            Override { name, path, value }
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

pub(crate) fn nest(path: &[String], value: FigmentValue) -> FigmentValue {
    path.iter().rev().fold(value, |value, key| {
        let mut dict = Dict::new();
        dict.insert(key.clone(), value);
        FigmentValue::Dict(Tag::Default, dict)
    })
}

pub(crate) fn finish(
    parsed: Parsed,
    kind: DocumentKind,
    profile: Profile,
    env: &dyn Env,
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
    let mut found = overrides(env)?;

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
        match pristine_json {
            // The value is the text's, untouched: validated without parsing the text again.
            Some(text) => validate_parsed_for(text, &value, kind, profile),
            None => {
                let locate = |pointer: &str, at_key: bool| Place {
                    origin: None,
                    location: positions.locate(&pointers.to_source(pointer), at_key),
                };
                validate_value_for(&value, kind, profile, &locate)
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
        let extra_of = |document: &Value| match kind {
            DocumentKind::Extra => Some(document.clone()),
            _ => document.get("extra").cloned(),
        };
        if document_only_values(extra_of(&value).as_ref())
            != document_only_values(extra_of(&merged).as_ref())
        {
            return Err(LoadError::Overrides {
                vars: found
                    .iter()
                    .filter(|item| kind == DocumentKind::Extra || item.path[0] == "extra")
                    .map(|item| item.name.clone())
                    .collect(),
                message: format!(
                    "an override may not set {}: a command comes from the connection document \
                     only",
                    DOCUMENT_ONLY_KEYS.join(" or ")
                ),
            });
        }
        let locate = |pointer: &str, at_key: bool| {
            // The deepest override at or above the pointer supplied the value.
            let origin = origins
                .iter()
                .filter(|(set, _)| strip_segment(pointer, set).is_some())
                .max_by_key(|(set, _)| set.len());
            match origin {
                Some((_, origin)) => Place {
                    origin: Some(origin.clone()),
                    location: None,
                },
                None => Place {
                    origin: None,
                    location: positions.locate(&pointers.to_source(pointer), at_key),
                },
            }
        };
        validate_value_for(&merged, kind, profile, &locate)
    };

    report.extend(warnings.into_iter().map(|mut warning| {
        warning.location = positions.locate(&pointers.to_source(&warning.pointer), false);
        warning
    }));
    let mut names: Vec<String> = found.into_iter().map(|item| item.name).collect();
    names.sort();
    Ok(Loaded {
        label,
        conn_id,
        report,
        overrides: names,
    })
}
