//! One key of the reference: its description, type, default, constraints (in words) and whether
//! Airflow's OpenAI provider reads it.

use serde_json::Value;

use super::render::Block;

/// A literal as a code span; strings without their JSON quotes.
fn code(value: &Value) -> String {
    match value {
        Value::String(text) => format!("`{text}`"),
        other => format!("`{other}`"),
    }
}

fn count(n: &Value, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

pub(super) fn description(schema: &Value) -> String {
    schema["markdownDescription"]
        .as_str()
        .or_else(|| schema["description"].as_str())
        .unwrap_or("")
        .to_owned()
}

/// A key's type in words.
fn type_of(schema: &Value) -> String {
    if let (Some(condition), Some(otherwise)) = (schema.get("if"), schema.get("else"))
        && condition["type"] == "object"
    {
        // The shape of a connection's `extra`: an object, or Airflow's string form.
        let others: Vec<&str> = otherwise["type"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|name| {
                if name == "string" {
                    "a string holding a JSON object"
                } else {
                    name
                }
            })
            .collect();
        return format!("object, {}", others.join(", or "));
    }
    match &schema["type"] {
        Value::String(name) if name == "array" => {
            format!("array of {}s", type_of(&schema["items"]))
        }
        Value::String(name) if name == "object" => match &schema["additionalProperties"] {
            Value::Object(_) => format!(
                "object (a map of names to {}s)",
                type_of(&schema["additionalProperties"])
            ),
            _ => "object (its keys are listed below)".into(),
        },
        Value::String(name) => name.clone(),
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    }
}

/// Bounds and patterns in words.
fn constraints(schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(n) = schema.get("minLength") {
        found.push(format!("at least {}", count(n, "character")));
    }
    if let Some(n) = schema.get("minItems") {
        found.push(format!("at least {}", count(n, "item")));
    }
    if let Some(n) = schema["items"].get("minLength") {
        found.push(format!("each item at least {}", count(n, "character")));
    }
    if let Some(n) = schema.get("minimum") {
        found.push(format!("{n} or more"));
    }
    if let Some(n) = schema.get("exclusiveMinimum") {
        found.push(format!("greater than {n}"));
    }
    if let Some(n) = schema.get("maximum") {
        found.push(format!("at most {n}"));
    }
    if let Some(n) = schema["exclusiveMaximum"].as_f64() {
        // The model's bound for a duration: seconds that fit in 64 bits.
        if n == 2f64.powi(64) {
            found.push("less than 2⁶⁴".into());
        } else {
            found.push(format!("less than {n}"));
        }
    }
    if let Some(pattern) = schema["pattern"].as_str() {
        found.push(pattern_in_words(pattern));
    }
    if let Some(value) = schema.get("const") {
        found.push(format!("must be {}", code(value)));
    }
    found
}

/// The regular expressions of the schemas, in words; a pattern without words here is shown as it
/// is (the test `every_pattern_is_in_words` fails until it has them).
const PATTERN_WORDS: &[(&str, &str)] = &[
    (
        r"^[hH][tT][tT][pP][sS]?://[^\s/?#@]+([/?#]\S*)?$",
        "an absolute `http://` or `https://` URL with a host, no user info (nothing before an \
         `@`) and no spaces",
    ),
    (
        r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$",
        "a dotted Python name such as `package.module.name`: two or more identifiers joined by `.`",
    ),
    (
        r"\S",
        "not blank: at least one character other than white space",
    ),
];

pub(super) fn pattern_in_words(pattern: &str) -> String {
    PATTERN_WORDS
        .iter()
        .find(|(known, _)| *known == pattern)
        .map_or_else(
            || format!("matches the regular expression `{pattern}`"),
            |(_, words)| (*words).to_owned(),
        )
}

/// A description split into its text and the default it states (its closing sentence
/// `Default: ...`, the model's one statement of what applies when the key is absent).
fn split_default(description: &str) -> (String, Option<String>) {
    match description.rfind("Default: ") {
        Some(start) => (
            description[..start].trim_end().to_owned(),
            Some(
                description[start + "Default: ".len()..]
                    .trim_end_matches('.')
                    .to_owned(),
            ),
        ),
        None => (description.to_owned(), None),
    }
}

/// Whether Airflow's OpenAI provider reads a key, and where to learn more when it does not.
#[derive(Clone, Copy)]
pub(super) struct Airflow<'a> {
    /// The same group in the Airflow-only schema; `None` when Airflow has no such group at all.
    pub(super) group: Option<&'a Value>,
    /// The note on a key Airflow lacks.
    pub(super) note: &'a str,
}

impl<'a> Airflow<'a> {
    pub(super) fn lacks(&self, name: &str) -> bool {
        self.group
            .is_none_or(|group| group["properties"].get(name).is_none())
    }

    /// The Airflow view of a nested group `name`.
    pub(super) fn child(&self, name: &str) -> Airflow<'a> {
        Airflow {
            group: self.group.and_then(|group| group["properties"].get(name)),
            note: self.note,
        }
    }
}

/// One key: heading, description, then its facts.
pub(super) fn key_blocks(
    name: &str,
    schema: &Value,
    applies: &str,
    required: &str,
    airflow_note: Option<&str>,
) -> Vec<Block> {
    let (text, stated) = split_default(&description(schema));
    let default = match (schema.get("default"), stated) {
        (Some(value), _) => code(value),
        (None, Some(words)) => words,
        (None, None) => "none".into(),
    };
    let mut facts = vec![(format!("Type: {}", type_of(schema)), Vec::new())];
    facts.push((format!("Default: {default}"), Vec::new()));
    facts.push((format!("Required: {required}"), Vec::new()));
    facts.push((format!("Applies to: {applies}"), Vec::new()));
    if let Some(note) = airflow_note {
        facts.push((format!("Airflow: {note}"), Vec::new()));
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        let descriptions = schema["markdownEnumDescriptions"].as_array();
        let children = values
            .iter()
            .enumerate()
            .map(|(index, value)| {
                let text = descriptions
                    .and_then(|list| list.get(index))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                format!("{}: {text}", code(value))
            })
            .collect();
        facts.push(("Allowed values:".into(), children));
    }
    let limits = constraints(schema);
    if !limits.is_empty() {
        facts.push((format!("Constraints: {}", limits.join("; ")), Vec::new()));
    }
    vec![
        Block::Heading(3, format!("`{name}`")),
        Block::Paragraph(text),
        Block::List(facts),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::published::PUBLISHED;

    /// Every regular expression of the published schemas has words on the page.
    #[test]
    fn every_pattern_is_in_words() {
        fn patterns(value: &Value, found: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(pattern)) = map.get("pattern") {
                        found.push(pattern.clone());
                    }
                    map.values().for_each(|child| patterns(child, found));
                }
                Value::Array(items) => items.iter().for_each(|child| patterns(child, found)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        for published in &PUBLISHED {
            patterns(&(published.generate)(), &mut found);
        }
        assert!(found.len() >= 2, "{found:?}");
        for pattern in found {
            assert!(
                !pattern_in_words(&pattern).contains("regular expression"),
                "{pattern} has no words in PATTERN_WORDS"
            );
        }
    }
}
