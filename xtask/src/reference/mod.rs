//! The reference of every connection key, generated from the published schemas: `docs/reference.md`
//! (checked in, kept fresh like `schema/`) and the site's `index.html` (the same content, plain
//! HTML without JavaScript).
//!
//! Everything comes from the schemas: the groups of keys are the schema's `properties` and its
//! `$defs` (one per provider, listed by the `workload_identity_provider` enum), so a provider
//! added to the model appears here with its keys, its description and an example.

use conn_schema::profile::airflow_extra_schema;
use conn_schema::schema::{SCHEMA_MAJOR_DIR, connection_schema, extra_schema};
use serde_json::{Map, Value, json};

use crate::published::{PUBLISHED, schema_url};

mod codes;
mod editor;
mod key;
mod render;

use editor::editor_blocks;
use key::{Airflow, description, key_blocks};
use render::{Block, slug};

/// Path of the checked-in Markdown reference, relative to the workspace root.
pub(crate) const MARKDOWN_PATH: &str = "docs/reference.md";

/// The reference as Markdown, with schema URLs under `base_url`.
pub(crate) fn markdown(base_url: &str) -> String {
    render::markdown(document(base_url))
}

/// The reference as a standalone HTML page, with schema URLs under `base_url`.
pub(crate) fn html(base_url: &str) -> String {
    render::html(document(base_url))
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
fn group_blocks(group: &Value, prefix: &str, applies: &str, airflow: Airflow<'_>) -> Vec<Block> {
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
        let note = airflow.lacks(&name).then_some(airflow.note);
        blocks.extend(key_blocks(&path, &schema, applies, &required_text, note));
        if schema.get("properties").is_some() {
            blocks.extend(group_blocks(
                &schema,
                &format!("{path}."),
                applies,
                airflow.child(&name),
            ));
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
    let airflow_extra = airflow_extra_schema();
    let extra_url = schema_url(base_url, PUBLISHED[0].file);
    let connection_url = schema_url(base_url, PUBLISHED[1].file);
    let airflow_url = schema_url(base_url, PUBLISHED[2].file);
    let catalog_url = format!("{base_url}catalog.json");
    let airflow_note = format!(
        "not read by Airflow's OpenAI provider (openai-conn only); a connection that Airflow \
         also loads leaves it out, as [the Airflow-only `extra` schema]({airflow_url}) checks"
    );
    let airflow_providers: Vec<String> = providers(&airflow_extra)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let providers = providers(&extra);
    let mut blocks = vec![
        Block::Heading(1, "OpenAI connection reference".into()),
        Block::Paragraph(format!(
            "Every key of an Apache Airflow `openai` connection as openai-conn reads it, from the \
             published JSON Schemas: [the `extra` schema]({extra_url}) and [the whole-connection \
             schema]({connection_url}). Keys and providers that Airflow's own OpenAI provider \
             does not read are marked; for connections that Airflow loads, [the Airflow-only \
             `extra` schema]({airflow_url}) accepts only what it reads. [`catalog.json`]\
             ({catalog_url}) lists all three schemas with the file names editors associate with \
             them. A connection can be written in JSON, YAML or TOML; the keys are the same."
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
            ("[Finding codes](#finding-codes)".into(), Vec::new()),
            ("[Versions](#versions)".into(), Vec::new()),
        ]),
        Block::Heading(2, "A whole connection".into()),
        Block::Paragraph(description(&connection)),
    ];
    // Airflow reads every key of a whole connection; its `extra` is the Airflow-only schema.
    blocks.extend(group_blocks(
        &connection,
        "",
        "a whole connection",
        Airflow {
            group: Some(&connection),
            note: &airflow_note,
        },
    ));
    blocks.push(Block::Heading(
        2,
        "The `extra`: keys for every auth type".into(),
    ));
    blocks.push(Block::Paragraph(description(&extra)));
    blocks.extend(group_blocks(
        &extra,
        "",
        "every `extra`",
        Airflow {
            group: Some(&airflow_extra),
            note: &airflow_note,
        },
    ));

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
        Airflow {
            group: airflow_extra["$defs"].get("workload_identity"),
            note: &airflow_note,
        },
    ));
    for (name, text) in &providers {
        let group = &extra["$defs"][name.as_str()];
        blocks.push(Block::Heading(2, format!("Provider `{name}`")));
        blocks.push(Block::Paragraph(format!(
            "{text} {} These keys apply when `auth_type` is `workload_identity` and \
             `workload_identity_provider` is `{name}`; with any other provider they are rejected.",
            description(group)
        )));
        if !airflow_providers.contains(name) {
            blocks.push(Block::Paragraph(format!(
                "Airflow's OpenAI provider does not know this provider (openai-conn only): a \
                 connection that Airflow also loads cannot use it, as [the Airflow-only `extra` \
                 schema]({airflow_url}) checks."
            )));
        }
        // Within a provider Airflow lacks, the provider's note says it once for all its keys.
        let airflow_group = if airflow_providers.contains(name) {
            Airflow {
                group: airflow_extra["$defs"].get(name.as_str()),
                note: &airflow_note,
            }
        } else {
            Airflow {
                group: Some(group),
                note: &airflow_note,
            }
        };
        blocks.extend(group_blocks(
            group,
            "",
            &format!("`auth_type` `workload_identity` with `workload_identity_provider` `{name}`"),
            airflow_group,
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
    blocks.extend(codes::blocks());
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

    #[test]
    fn every_finding_code_has_the_entry_its_sarif_help_uri_names() {
        let page = html(conn_schema::schema::SCHEMA_BASE_URL);
        for code in conn_schema::Code::ALL {
            let anchor = code.reference_anchor();
            assert_eq!(
                page.matches(&format!(" id=\"{anchor}\"")).count(),
                1,
                "{anchor}"
            );
            assert!(
                code.help_uri()
                    .starts_with(conn_schema::schema::SCHEMA_BASE_URL)
            );
        }
    }

    /// The section of `key` in the Markdown reference, up to the next heading.
    fn section<'a>(text: &'a str, key: &str) -> &'a str {
        let start = text
            .find(&format!("### `{key}`\n"))
            .unwrap_or_else(|| panic!("{key} has a section"));
        let rest = &text[start + 4..];
        &rest[..rest.find("\n#").unwrap_or(rest.len())]
    }

    /// Defaults the client applies, constraints in words, what Airflow lacks marked with a link
    /// to the Airflow-only schema, the catalog linked, and nothing addressed to maintainers.
    #[test]
    fn defaults_constraints_and_airflow_marks_are_in_words() {
        let base = conn_schema::schema::SCHEMA_BASE_URL;
        let text = markdown(base);
        let timeout = section(&text, "openai_client_kwargs.timeout");
        assert!(
            timeout.contains("- Default: the client's own (600 s)"),
            "{timeout}"
        );
        assert!(timeout.contains("less than 2⁶⁴"), "{timeout}");
        let retries = section(&text, "openai_client_kwargs.max_retries");
        assert!(
            retries.contains("- Default: the client's own (2)"),
            "{retries}"
        );
        assert!(
            section(&text, "host")
                .contains("- Default: the `OPENAI_BASE_URL` environment variable")
        );
        assert!(
            section(&text, "password")
                .contains("- Default: the `OPENAI_API_KEY` environment variable")
        );
        let base_url = section(&text, "openai_client_kwargs.base_url");
        assert!(
            base_url.contains("an absolute `http://` or `https://` URL"),
            "{base_url}"
        );
        assert!(!text.contains("regular expression"));
        assert!(!text.contains("xtask") && !text.contains("by hand"));
        let airflow_url = format!(
            "{base}v1/{}",
            conn_schema::profile::AIRFLOW_EXTRA_SCHEMA_FILE
        );
        assert!(text.contains(&format!("[`catalog.json`]({base}catalog.json)")));
        let command = section(&text, "token_command");
        assert!(
            command.contains("- Airflow: not read by Airflow's OpenAI provider"),
            "{command}"
        );
        assert!(command.contains(&airflow_url), "{command}");
        // Keys Airflow reads carry no mark; a provider Airflow lacks is marked once.
        assert!(!section(&text, "token_file_path").contains("- Airflow:"));
        assert!(!section(&text, "openai_client_kwargs.timeout").contains("- Airflow:"));
        let x509 = &text[text.find("## Provider `x509`").expect("x509 section")..];
        assert!(x509.contains("Airflow's OpenAI provider does not know this provider"));
        let kubernetes = &text[text.find("## Provider `kubernetes`").expect("kubernetes")..];
        let kubernetes = &kubernetes[..kubernetes[3..].find("\n## ").unwrap_or(0)];
        assert!(
            !kubernetes.contains("does not know this provider"),
            "{kubernetes}"
        );
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
}
