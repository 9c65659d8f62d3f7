//! The reference of every connection key, generated from the published schemas: `docs/reference.md`
//! (checked in, kept fresh like `schema/`) and the site's `index.html` (the same content, plain
//! HTML without JavaScript).
//!
//! Everything comes from the schemas: the groups of keys are the schema's `properties` and its
//! `$defs` (one per provider, listed by the `workload_identity_provider` enum), so a provider
//! added to the model appears here with its keys, its description and an example.

use conn_schema::schema::{SCHEMA_MAJOR_DIR, connection_schema, extra_schema};
use serde_json::{Map, Value, json};

use crate::publish::{PUBLISHED, schema_url};

/// Path of the checked-in Markdown reference, relative to the workspace root.
pub(crate) const MARKDOWN_PATH: &str = "docs/reference.md";

/// A piece of the document; text is inline Markdown (code spans and links only).
enum Block {
    Heading(u8, String),
    Paragraph(String),
    /// Items, each with nested items.
    List(Vec<(String, Vec<String>)>),
    Code(&'static str, String),
}

/// The reference as Markdown, with schema URLs under `base_url`.
pub(crate) fn markdown(base_url: &str) -> String {
    let mut out = String::new();
    for block in document(base_url) {
        match block {
            Block::Heading(level, text) => {
                out.push_str(&format!("{} {text}\n\n", "#".repeat(usize::from(level))));
            }
            Block::Paragraph(text) => out.push_str(&format!("{text}\n\n")),
            Block::List(items) => {
                for (item, children) in items {
                    out.push_str(&format!("- {item}\n"));
                    for child in children {
                        out.push_str(&format!("  - {child}\n"));
                    }
                }
                out.push('\n');
            }
            Block::Code(language, text) => {
                out.push_str(&format!("```{language}\n{text}```\n\n"));
            }
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// The reference as a standalone HTML page, with schema URLs under `base_url`.
pub(crate) fn html(base_url: &str) -> String {
    let mut body = String::new();
    // Keys such as `audience` appear under several providers; ids get GitHub's `-1`, `-2`, ...
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for block in document(base_url) {
        match block {
            Block::Heading(level, text) => {
                let base = slug(&text);
                let count = seen.entry(base.clone()).or_insert(0);
                let id = if *count == 0 {
                    base
                } else {
                    format!("{base}-{count}")
                };
                *count += 1;
                body.push_str(&format!(
                    "<h{level} id=\"{id}\">{}</h{level}>\n",
                    inline_html(&text)
                ));
            }
            Block::Paragraph(text) => body.push_str(&format!("<p>{}</p>\n", inline_html(&text))),
            Block::List(items) => {
                body.push_str("<ul>\n");
                for (item, children) in items {
                    body.push_str(&format!("<li>{}", inline_html(&item)));
                    if !children.is_empty() {
                        body.push_str("\n<ul>\n");
                        for child in children {
                            body.push_str(&format!("<li>{}</li>\n", inline_html(&child)));
                        }
                        body.push_str("</ul>\n");
                    }
                    body.push_str("</li>\n");
                }
                body.push_str("</ul>\n");
            }
            Block::Code(language, text) => body.push_str(&format!(
                "<pre><code class=\"language-{language}\">{}</code></pre>\n",
                escape(&text)
            )),
        }
    }
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>OpenAI connection reference</title>\n<style>\n{STYLE}</style>\n</head>\n\
         <body>\n<main>\n{body}</main>\n</body>\n</html>\n"
    )
}

const STYLE: &str = "body { font-family: system-ui, sans-serif; line-height: 1.5; margin: 0; }\n\
main { max-width: 52rem; margin: 0 auto; padding: 1rem 1.5rem 4rem; }\n\
code, pre { font-family: ui-monospace, monospace; font-size: 0.92em; }\n\
code { background: #f2f2f2; padding: 0 0.2em; border-radius: 3px; }\n\
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; border-radius: 4px; }\n\
pre code { background: none; padding: 0; }\n\
h2 { border-bottom: 1px solid #ddd; margin-top: 2.5rem; }\n\
h3 { margin-top: 1.8rem; }\n";

/// GitHub's heading anchors: lower case, spaces to `-`, punctuation other than `-` and `_` dropped.
fn slug(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Inline Markdown to HTML: code spans and `[text](#anchor or URL)` links; everything escaped.
fn inline_html(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('`')
            && let Some(end) = after.find('`')
        {
            out.push_str(&format!("<code>{}</code>", escape(&after[..end])));
            rest = &after[end + 1..];
            continue;
        }
        if let Some(after) = rest.strip_prefix('[')
            && let Some(close) = after.find("](")
            && let Some(end) = after[close + 2..].find(')')
        {
            let label = &after[..close];
            let target = &after[close + 2..close + 2 + end];
            out.push_str(&format!(
                "<a href=\"{}\">{}</a>",
                escape(target),
                inline_html(label)
            ));
            rest = &after[close + 3 + end..];
            continue;
        }
        let next = rest[1..]
            .find(['`', '['])
            .map_or(rest.len(), |index| index + 1);
        out.push_str(&escape(&rest[..next]));
        rest = &rest[next..];
    }
    out
}

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

fn description(schema: &Value) -> String {
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
    if let Some(pattern) = schema["pattern"].as_str() {
        found.push(format!("matches `{pattern}`"));
    }
    if let Some(value) = schema.get("const") {
        found.push(format!("must be {}", code(value)));
    }
    found
}

/// One key: heading, description, then its facts.
fn key_blocks(name: &str, schema: &Value, applies: &str, required: &str) -> Vec<Block> {
    let mut facts = vec![(format!("Type: {}", type_of(schema)), Vec::new())];
    facts.push((
        format!(
            "Default: {}",
            schema.get("default").map_or_else(|| "none".into(), code)
        ),
        Vec::new(),
    ));
    facts.push((format!("Required: {required}"), Vec::new()));
    facts.push((format!("Applies to: {applies}"), Vec::new()));
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
        Block::Paragraph(description(schema)),
        Block::List(facts),
    ]
}

/// The names a group of keys requires: its own `required` and that of `allOf` entries that are
/// nothing but a `required` (the shape `schema.rs` uses).
fn required_names(group: &Value) -> Vec<String> {
    let mut names: Vec<String> = group["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|name| name.as_str().map(str::to_owned))
        .collect();
    for entry in group["allOf"].as_array().into_iter().flatten() {
        if entry.get("if").is_none() {
            names.extend(
                entry["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|name| name.as_str().map(str::to_owned)),
            );
        }
    }
    names
}

/// Alternatives of which one must be set (an `anyOf` of `required`s), as lists of names.
fn required_alternatives(group: &Value) -> Vec<Vec<String>> {
    group["anyOf"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            entry["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|name| name.as_str().map(str::to_owned))
                .collect()
        })
        .filter(|names: &Vec<String>| !names.is_empty())
        .collect()
}

/// The real schemas of a group's keys (`true` placeholders left out).
fn keys_of(group: &Value) -> Vec<(String, Value)> {
    group["properties"]
        .as_object()
        .into_iter()
        .flat_map(Map::iter)
        .filter(|(_, schema)| schema.is_object())
        .map(|(name, schema)| (name.clone(), schema.clone()))
        .collect()
}

/// The blocks of every key of `group`, with nested object keys after their parent.
fn group_blocks(group: &Value, prefix: &str, applies: &str) -> Vec<Block> {
    let required = required_names(group);
    let alternatives = required_alternatives(group);
    let mut blocks = Vec::new();
    for (name, schema) in keys_of(group) {
        let required_text = if required.contains(&name) {
            "yes".to_owned()
        } else if let Some(alternative) = alternatives.iter().find(|names| names.contains(&name)) {
            let _ = alternative;
            let all: Vec<String> = alternatives
                .iter()
                .flatten()
                .map(|n| format!("`{n}`"))
                .collect();
            format!("one of {} (exactly one)", all.join(" and "))
        } else {
            "no".to_owned()
        };
        let path = format!("{prefix}{name}");
        blocks.extend(key_blocks(&path, &schema, applies, &required_text));
        if schema.get("properties").is_some() {
            blocks.extend(group_blocks(&schema, &format!("{path}."), applies));
        }
    }
    blocks
}

/// A value for an example: the default, else a placeholder of the right type.
fn example_value(name: &str, schema: &Value) -> Value {
    if let Some(default) = schema.get("default") {
        return default.clone();
    }
    let placeholder = format!("your-{}", name.replace('_', "-"));
    match schema["type"].as_str() {
        Some("array") => json!([placeholder]),
        Some("number") | Some("integer") => json!(1),
        Some("boolean") => json!(true),
        _ => json!(placeholder),
    }
}

/// A complete `extra` for `provider`: the required keys, every key that has a default, and the
/// first of any alternatives.
pub(crate) fn provider_example(extra: &Value, provider: &str) -> Value {
    let workload = &extra["$defs"]["workload_identity"];
    let group = &extra["$defs"][provider];
    let mut example = Map::new();
    example.insert("auth_type".into(), json!("workload_identity"));
    example.insert("workload_identity_provider".into(), json!(provider));
    for source in [workload, group] {
        let mut wanted = required_names(source);
        if let Some(first) = required_alternatives(source).into_iter().next() {
            wanted.extend(first);
        }
        for (name, schema) in keys_of(source) {
            if example.contains_key(&name) {
                continue;
            }
            if wanted.contains(&name) || schema.get("default").is_some() {
                example.insert(name.clone(), example_value(&name, &schema));
            }
        }
    }
    Value::Object(example)
}

/// A whole API-key connection.
fn api_key_example() -> Value {
    json!({
        "conn_type": "openai",
        "host": "https://api.openai.com/v1",
        "password": "your-api-key",
        "extra": {"auth_type": "api_key"},
    })
}

/// The provider names, in the order of the `workload_identity_provider` enum, with descriptions.
fn providers(extra: &Value) -> Vec<(String, String)> {
    let provider = &extra["$defs"]["workload_identity"]["properties"]["workload_identity_provider"];
    let descriptions = provider["markdownEnumDescriptions"].as_array();
    provider["enum"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, value)| {
            let name = value.as_str()?.to_owned();
            let text = descriptions
                .and_then(|list| list.get(index))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            Some((name, text))
        })
        .collect()
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn document(base_url: &str) -> Vec<Block> {
    let extra = extra_schema();
    let connection = connection_schema();
    let extra_url = schema_url(base_url, PUBLISHED[0].file);
    let connection_url = schema_url(base_url, PUBLISHED[1].file);
    let providers = providers(&extra);
    let mut blocks = vec![
        Block::Heading(1, "OpenAI connection reference".into()),
        Block::Paragraph(format!(
            "Every key of an Apache Airflow `openai` connection as openai-conn reads it, generated \
             from the published JSON Schemas by `cargo xtask publish` (do not edit by hand): \
             [the `extra` schema]({extra_url}) and [the whole-connection schema]({connection_url}). \
             A connection can be written in JSON, YAML or TOML; the keys are the same."
        )),
        Block::List(vec![
            (
                "[A whole connection](#a-whole-connection)".into(),
                Vec::new(),
            ),
            (
                "[The `extra`: keys for every auth type](#the-extra-keys-for-every-auth-type)"
                    .into(),
                Vec::new(),
            ),
            (
                "[Workload identity](#workload-identity)".into(),
                providers
                    .iter()
                    .map(|(name, _)| format!("[Provider `{name}`](#provider-{})", slug(name)))
                    .collect(),
            ),
            ("[Examples](#examples)".into(), Vec::new()),
            (
                "[Using the schemas in an editor](#using-the-schemas-in-an-editor)".into(),
                Vec::new(),
            ),
            ("[Versions](#versions)".into(), Vec::new()),
        ]),
        Block::Heading(2, "A whole connection".into()),
        Block::Paragraph(description(&connection)),
    ];
    blocks.extend(group_blocks(&connection, "", "a whole connection"));
    blocks.push(Block::Heading(
        2,
        "The `extra`: keys for every auth type".into(),
    ));
    blocks.push(Block::Paragraph(description(&extra)));
    blocks.extend(group_blocks(&extra, "", "every `extra`"));

    let workload = &extra["$defs"]["workload_identity"];
    blocks.push(Block::Heading(2, "Workload identity".into()));
    blocks.push(Block::Paragraph(format!(
        "{} These keys apply when `auth_type` is `workload_identity`; anywhere else they are \
         rejected.",
        description(workload)
    )));
    blocks.extend(group_blocks(
        workload,
        "",
        "`auth_type` `workload_identity`, every provider",
    ));
    for (name, text) in &providers {
        let group = &extra["$defs"][name.as_str()];
        blocks.push(Block::Heading(2, format!("Provider `{name}`")));
        blocks.push(Block::Paragraph(format!(
            "{text} {} These keys apply when `auth_type` is `workload_identity` and \
             `workload_identity_provider` is `{name}`; with any other provider they are rejected.",
            description(group)
        )));
        blocks.extend(group_blocks(
            group,
            "",
            &format!("`auth_type` `workload_identity` with `workload_identity_provider` `{name}`"),
        ));
        if keys_of(group).is_empty() {
            blocks.push(Block::Paragraph(
                "This provider has no keys of its own.".into(),
            ));
        }
    }

    blocks.push(Block::Heading(2, "Examples".into()));
    blocks.push(Block::Paragraph(
        "One complete `extra` per provider: the required keys, with every key that has a default \
         written out at its default. Values starting with `your-` are placeholders."
            .into(),
    ));
    blocks.push(Block::Heading(3, "API key".into()));
    blocks.push(Block::Paragraph(
        "A whole connection; the key is the connection's `password`.".into(),
    ));
    blocks.push(Block::Code("json", pretty(&api_key_example())));
    for (name, _) in &providers {
        blocks.push(Block::Heading(
            3,
            format!("Workload identity with `{name}`"),
        ));
        blocks.push(Block::Code("json", pretty(&provider_example(&extra, name))));
    }
    blocks.extend(editor_blocks(&extra_url, &connection_url));
    blocks.push(Block::Heading(2, "Versions".into()));
    blocks.push(Block::Paragraph(format!(
        "Schemas are published under a major version, `{base_url}{SCHEMA_MAJOR_DIR}/`, and the \
         newest also under `{base_url}latest/`. Within a major, a new schema only accepts more: \
         every document an earlier schema of the same major accepted is still accepted. A change \
         that would reject one is published under the next major, and the old major's files stay \
         where they are. Pin a major's URL to keep its rules; use `latest/` to follow every change."
    )));
    blocks
}

fn editor_blocks(extra_url: &str, connection_url: &str) -> Vec<Block> {
    vec![
        Block::Heading(2, "Using the schemas in an editor".into()),
        Block::Paragraph(
            "Name the schema in the file, or associate file names with it. The catalog \
             (`catalog.json` beside the schemas, SchemaStore's format) associates \
             `*.openai-connection-extra.{json,yaml,yml,toml}` and \
             `*.openai-connection.{json,yaml,yml,toml}` by itself in editors that read it."
                .into(),
        ),
        Block::Heading(3, "VS Code (JSON)".into()),
        Block::Paragraph(
            "A `$schema` key names the schema with no settings at all (a URL, or a path relative \
             to the file):"
                .into(),
        ),
        Block::Code(
            "json",
            format!(
                "{{\n  \"$schema\": \"{extra_url}\",\n  \"auth_type\": \"workload_identity\",\n  \
                 \"workload_identity_provider\": \"gcp\",\n  \"identity_provider_id\": \
                 \"your-identity-provider-id\",\n  \"service_account_id\": \
                 \"your-service-account-id\"\n}}\n"
            ),
        ),
        Block::Paragraph("Or associate file names in `settings.json`:".into()),
        Block::Code(
            "json",
            format!(
                "{{\n  \"json.schemas\": [\n    {{ \"fileMatch\": [\"*.openai-connection-extra.json\"], \
                 \"url\": \"{extra_url}\" }},\n    {{ \"fileMatch\": [\"*.openai-connection.json\"], \
                 \"url\": \"{connection_url}\" }}\n  ]\n}}\n"
            ),
        ),
        Block::Heading(3, "YAML language server".into()),
        Block::Paragraph(
            "The VS Code \"YAML\" extension and `yaml-language-server` in other editors: a \
             modeline on the first line names the schema (a URL, or a path relative to the file):"
                .into(),
        ),
        Block::Code(
            "yaml",
            format!(
                "# yaml-language-server: $schema={extra_url}\nauth_type: workload_identity\n\
                 workload_identity_provider: gcp\nidentity_provider_id: your-identity-provider-id\n\
                 service_account_id: your-service-account-id\n"
            ),
        ),
        Block::Paragraph("Or associate file names in the editor's settings:".into()),
        Block::Code(
            "json",
            format!(
                "{{\n  \"yaml.schemas\": {{\n    \"{extra_url}\": [\"*.openai-connection-extra.yaml\", \
                 \"*.openai-connection-extra.yml\"],\n    \"{connection_url}\": \
                 [\"*.openai-connection.yaml\", \"*.openai-connection.yml\"]\n  }}\n}}\n"
            ),
        ),
        Block::Heading(3, "taplo (TOML)".into()),
        Block::Paragraph(
            "taplo (the Even Better TOML extension, and the `taplo` command) reads a `#:schema` \
             directive on the first line (a URL, or a path relative to the file):"
                .into(),
        ),
        Block::Code(
            "toml",
            format!(
                "#:schema {extra_url}\nauth_type = \"workload_identity\"\n\
                 workload_identity_provider = \"gcp\"\nidentity_provider_id = \
                 \"your-identity-provider-id\"\nservice_account_id = \"your-service-account-id\"\n"
            ),
        ),
        Block::Paragraph("Or associate file names in `.taplo.toml`:".into()),
        Block::Code(
            "toml",
            format!(
                "[[rule]]\ninclude = [\"**/*.openai-connection-extra.toml\"]\n\
                 [rule.schema]\nurl = \"{extra_url}\"\n\n[[rule]]\n\
                 include = [\"**/*.openai-connection.toml\"]\n[rule.schema]\nurl = \"{connection_url}\"\n"
            ),
        ),
        Block::Paragraph(TAPLO_SUPPORT.into()),
    ]
}

/// What taplo does with these schemas, as `cargo xtask editor-test` measures it (taplo.test.mjs).
pub(crate) const TAPLO_SUPPORT: &str = "taplo checks types, enum values, bounds, required keys and \
     the per-provider rules, but it reads every schema as draft-07: it ignores \
     `unevaluatedProperties`, so a misspelt key or a key of another provider is not flagged in TOML.";

#[cfg(test)]
mod tests {
    use super::*;
    use conn_schema::DocumentKind;

    /// Every key of both schemas has its own section, with its type and default.
    #[test]
    fn every_key_is_documented() {
        let text = markdown(conn_schema::schema::SCHEMA_BASE_URL);
        let extra = extra_schema();
        let mut keys: Vec<String> = Vec::new();
        for group in [
            &extra,
            &extra["$defs"]["workload_identity"],
            &connection_schema(),
        ] {
            keys.extend(keys_of(group).into_iter().map(|(name, _)| name));
        }
        for (provider, _) in providers(&extra) {
            keys.extend(
                keys_of(&extra["$defs"][provider.as_str()])
                    .into_iter()
                    .map(|(name, _)| name),
            );
        }
        keys.extend(
            keys_of(&extra["properties"]["openai_client_kwargs"])
                .into_iter()
                .map(|(name, _)| format!("openai_client_kwargs.{name}")),
        );
        assert!(keys.len() > 25, "{keys:?}");
        for key in keys {
            assert!(
                text.contains(&format!("### `{key}`\n")),
                "{key} has a section"
            );
        }
        assert!(text.contains("- Default: `1200`"));
        assert!(text.contains("  - `workload_identity`: Exchange a short-lived identity token"));
        assert!(text.contains("- Applies to: `auth_type` `workload_identity` with `workload_identity_provider` `azure`"));
    }

    /// Each provider's example is a valid `extra` for the parser and for the schema.
    #[test]
    fn provider_examples_are_valid() {
        let extra = extra_schema();
        let validator = conn_schema::SchemaValidator::new(&extra).expect("compiles");
        let names = providers(&extra);
        assert!(names.len() >= 5);
        for (name, _) in names {
            let example = provider_example(&extra, &name);
            assert_eq!(validator.errors(&example), Vec::new(), "{name}: {example}");
            let report = conn_schema::validate(&example.to_string(), DocumentKind::Extra);
            assert!(
                report.connection().is_some(),
                "{name}: {:?}",
                report.diagnostics()
            );
        }
        let connection = conn_schema::SchemaValidator::new(&connection_schema()).expect("compiles");
        assert_eq!(connection.errors(&api_key_example()), Vec::new());
        let report =
            conn_schema::validate(&api_key_example().to_string(), DocumentKind::Connection);
        assert!(
            report.diagnostics().is_empty(),
            "{:?}",
            report.diagnostics()
        );
    }

    #[test]
    fn html_escapes_text_and_renders_code_and_links() {
        assert_eq!(
            inline_html("a <b> `x<y>` [the `z`](#z) & c"),
            "a &lt;b&gt; <code>x&lt;y&gt;</code> <a href=\"#z\">the <code>z</code></a> &amp; c"
        );
        assert_eq!(slug("Provider `github_actions`"), "provider-github_actions");
        let page = html(conn_schema::schema::SCHEMA_BASE_URL);
        assert!(page.starts_with("<!doctype html>"));
        assert!(!page.contains("<script"));
        assert!(page.contains("<h2 id=\"provider-gcp\">Provider <code>gcp</code></h2>"));
        // Every id is unique, though `audience` is a key of two providers.
        let ids: Vec<&str> = page
            .split(" id=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        let unique: std::collections::HashSet<&&str> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert!(ids.contains(&"audience-1"));
    }
}
