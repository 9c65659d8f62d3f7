//! `schemastore/` in the site: the schemas laid out as a SchemaStore contribution, with their
//! tests in JSON, YAML and TOML, their negative tests and the validation options.

use std::path::Path;

use anyhow::{Context, Result, bail};
use conn_schema::schema::to_pretty;
use conn_schema::{DocumentKind, Profile, SchemaValidator};
use serde_json::{Map, Value, json};

use crate::formats::{to_toml, to_yaml};
use crate::published::{PUBLISHED, Published, kind_of, schema_url, with_id};

/// The keywords of JSON Schema 2020-12 (core, applicator, unevaluated, validation, format,
/// content and meta-data vocabularies); any other keyword in a schema is non-standard and must be
/// declared to Ajv's strict mode.
const STANDARD_KEYWORDS: &[&str] = &[
    "$schema",
    "$id",
    "$ref",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$vocabulary",
    "$comment",
    "$defs",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "prefixItems",
    "items",
    "contains",
    "properties",
    "patternProperties",
    "additionalProperties",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "type",
    "const",
    "enum",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxContains",
    "minContains",
    "maxProperties",
    "minProperties",
    "required",
    "dependentRequired",
    "format",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
    "title",
    "description",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "examples",
];

/// The non-standard keywords SchemaStore's CI registers with Ajv for every schema itself (the
/// editor annotations of VS Code, taplo, tombi and IntelliJ, and `uniqueItemProperties` of
/// ajv-keywords). A contribution must not declare these again: Ajv then fails with
/// "Keyword ... is already defined". `cargo xtask editor-test` registers exactly these too.
pub(crate) const SCHEMASTORE_KEYWORDS: &[&str] = &[
    "allowTrailingCommas",
    "defaultSnippets",
    "markdownDescription",
    "enumDescriptions",
    "markdownEnumDescriptions",
    "x-taplo",
    "x-taplo-info",
    "x-tombi-toml-version",
    "x-tombi-array-values-order",
    "x-tombi-array-values-order-by",
    "x-tombi-table-keys-order",
    "x-tombi-string-formats",
    "x-tombi-additional-key-label",
    "x-intellij-language-injection",
    "x-intellij-html-description",
    "x-intellij-enum-metadata",
    "uniqueItemProperties",
];

/// What a SchemaStore contribution declares as `unknownKeywords` for `schema`: the non-standard
/// keywords it uses that SchemaStore does not already register.
pub(crate) fn declared_keywords(schema: &Value) -> Vec<String> {
    nonstandard_keywords(schema)
        .into_iter()
        .filter(|keyword| !SCHEMASTORE_KEYWORDS.contains(&keyword.as_str()))
        .collect()
}

/// The non-standard keywords `schema` uses (editor annotations such as `markdownDescription`),
/// sorted.
pub(crate) fn nonstandard_keywords(schema: &Value) -> Vec<String> {
    fn walk(schema: &Value, found: &mut Vec<String>) {
        let Value::Object(map) = schema else {
            return;
        };
        for (keyword, value) in map {
            match keyword.as_str() {
                "$defs" | "properties" | "patternProperties" | "dependentSchemas" => {
                    for child in value.as_object().into_iter().flat_map(Map::values) {
                        walk(child, found);
                    }
                }
                "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                    for child in value.as_array().into_iter().flatten() {
                        walk(child, found);
                    }
                }
                "not"
                | "if"
                | "then"
                | "else"
                | "items"
                | "contains"
                | "additionalProperties"
                | "unevaluatedProperties"
                | "unevaluatedItems"
                | "propertyNames"
                | "contentSchema" => walk(value, found),
                other => {
                    if !STANDARD_KEYWORDS.contains(&other) && !found.iter().any(|k| k == other) {
                        found.push(other.to_owned());
                    }
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(schema, &mut found);
    found.sort();
    found
}

/// A fixture of `tests/fixtures`: its file stem and parsed JSON.
pub(crate) struct Fixture {
    pub(crate) stem: String,
    pub(crate) value: Value,
}

/// The fixtures of `tests/fixtures/<folder>` that parse as JSON (without duplicate keys, which
/// JSON parsers disagree on), sorted by name.
pub(crate) fn fixtures(root: &Path, folder: &str) -> Result<Vec<Fixture>> {
    let directory = root.join("tests").join("fixtures").join(folder);
    let mut found = Vec::new();
    let entries = std::fs::read_dir(&directory)
        .with_context(|| format!("reading {}", directory.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|ext| ext.to_str()) != Some("json") {
            continue;
        }
        let Some(stem) = path.file_stem().and_then(|stem| stem.to_str()) else {
            continue;
        };
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        // SchemaStore refuses large files and files with a byte order mark; neither is needed here.
        if bytes.len() > 64 * 1024 || bytes.starts_with(b"\xef\xbb\xbf") {
            continue;
        }
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        if has_duplicate_keys(text) {
            continue;
        }
        found.push(Fixture {
            stem: stem.to_owned(),
            value,
        });
    }
    found.sort_by(|a, b| a.stem.cmp(&b.stem));
    Ok(found)
}

/// Whether `published`'s profile finds errors in `value` that the default profile does not (a
/// `github_actions` connection, valid for openai-conn, is not one Airflow accepts).
fn rejected_by_profile(value: &Value, published: &Published) -> bool {
    let no_location = |_: &str, _: bool| conn_schema::Place::default();
    published.profile != Profile::OpenaiConn
        && conn_schema::validate_value_for(value, published.kind, published.profile, &no_location)
            .has_errors()
}

/// serde_json keeps the last of two equal keys; other parsers differ, so such a file is no test.
fn has_duplicate_keys(text: &str) -> bool {
    conn_schema::validate(text, DocumentKind::Auto)
        .diagnostics()
        .iter()
        .any(|diagnostic| diagnostic.message.contains("duplicate key"))
}

/// `schemastore/`: the schemas, their valid fixtures as JSON, YAML (with the
/// `# yaml-language-server: $schema=` modeline) and TOML (with `#:schema`) under `src/test/<name>/`,
/// and the invalid fixtures the schema rejects under `src/negative_test/<name>/`, the way a
/// SchemaStore contribution lays them out; plus the catalog entries and the validation options
/// (the non-standard keywords, and the 2020-12 dialect SchemaStore calls "high").
pub(crate) fn schemastore(root: &Path, base_url: &str) -> Result<Vec<(String, String)>> {
    let valid = fixtures(root, "valid")?;
    let invalid = fixtures(root, "invalid")?;
    let mut files = Vec::new();
    let mut options = Map::new();
    let mut high = Vec::new();
    for published in &PUBLISHED {
        let schema = with_id(
            (published.generate)(),
            &schema_url(base_url, published.file),
        );
        let validator = SchemaValidator::new(&schema)
            .map_err(|error| anyhow::anyhow!("{}: {error}", published.file))?;
        let schema_file = format!("{}.json", published.name);
        files.push((
            format!("schemastore/src/schemas/json/{schema_file}"),
            to_pretty(&schema),
        ));
        // Only a schema with a keyword SchemaStore does not know gets options.
        let declared = declared_keywords(&schema);
        if !declared.is_empty() {
            options.insert(schema_file.clone(), json!({"unknownKeywords": declared}));
        }
        high.push(json!(schema_file));
        // Test files sit two folders below `src/`, the schema in `src/schemas/json/`.
        let relative = format!("../../schemas/json/{schema_file}");
        let mut negative = Vec::new();
        for fixture in valid.iter().filter(|f| kind_of(&f.value) == published.kind) {
            if rejected_by_profile(&fixture.value, published) {
                negative.push(fixture);
                continue;
            }
            if !validator.errors(&fixture.value).is_empty() {
                bail!(
                    "the valid fixture {}.json is rejected by {}",
                    fixture.stem,
                    published.file
                );
            }
            let folder = format!("schemastore/src/test/{}", published.name);
            files.push((
                format!("{folder}/{}.json", fixture.stem),
                to_pretty(&fixture.value),
            ));
            files.push((
                format!("{folder}/{}.yaml", fixture.stem),
                format!(
                    "# yaml-language-server: $schema={relative}\n{}",
                    to_yaml(&fixture.value)?
                ),
            ));
            // TOML has no null; a fixture with one has no TOML form.
            if let Some(toml) = to_toml(&fixture.value) {
                files.push((
                    format!("{folder}/{}.toml", fixture.stem),
                    format!("#:schema {relative}\n{toml}"),
                ));
            }
        }
        for fixture in invalid
            .iter()
            .filter(|f| kind_of(&f.value) == published.kind)
            .chain(negative)
        {
            // Faults the schema cannot see (such as a bad JSON string inside `extra`) are the
            // parser's to report; SchemaStore's negative tests must fail the schema itself.
            if validator.errors(&fixture.value).is_empty() {
                continue;
            }
            files.push((
                format!(
                    "schemastore/src/negative_test/{}/{}.json",
                    published.name, fixture.stem
                ),
                to_pretty(&fixture.value),
            ));
        }
    }
    let catalog: Value = serde_json::from_str(&crate::catalog::catalog(base_url))?;
    files.push((
        "schemastore/catalog-entries.json".into(),
        to_pretty(&catalog["schemas"]),
    ));
    files.push((
        "schemastore/schema-validation.json".into(),
        to_pretty(&json!({"highSchemaVersion": high, "options": options})),
    ));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use conn_schema::schema::SCHEMA_BASE_URL;

    /// SchemaStore's layout: valid fixtures in three formats with their modelines, negative
    /// tests only where the schema itself fails.
    #[test]
    fn schemastore_folder_has_tests_in_three_formats_and_negative_tests() {
        let files = schemastore(&crate::workspace_root(), SCHEMA_BASE_URL)
            .expect("the SchemaStore layout is written");
        let under = |prefix: &str| -> Vec<&(String, String)> {
            files
                .iter()
                .filter(|(name, _)| name.starts_with(prefix))
                .collect()
        };
        let tests = under("schemastore/src/test/openai-connection-extra/");
        for ext in ["json", "yaml", "toml"] {
            assert!(
                tests
                    .iter()
                    .any(|(name, _)| name.ends_with(&format!("gcp-audience.{ext}"))),
                "gcp-audience.{ext}"
            );
        }
        for (name, text) in &tests {
            if name.ends_with(".yaml") {
                assert!(text.starts_with("# yaml-language-server: $schema=../../schemas/json/openai-connection-extra.json\n"), "{name}");
            }
            if name.ends_with(".toml") {
                assert!(
                    text.starts_with("#:schema ../../schemas/json/openai-connection-extra.json\n"),
                    "{name}"
                );
            }
        }
        let negative = under("schemastore/src/negative_test/openai-connection-extra/");
        assert!(
            negative
                .iter()
                .any(|(name, _)| name.ends_with("/typo-top-level-key.json"))
        );
        // Duplicate keys and syntax errors are no test of a schema.
        assert!(
            !negative
                .iter()
                .any(|(name, _)| name.contains("duplicate-key") || name.contains("syntax-"))
        );
        assert!(
            files
                .iter()
                .any(|(name, _)| name == "schemastore/src/schemas/json/openai-connection.json")
        );
        let options: Value = serde_json::from_str(
            &files
                .iter()
                .find(|(name, _)| name == "schemastore/schema-validation.json")
                .expect("the site has SchemaStore's validation options")
                .1,
        )
        .expect("the validation options are JSON");
        // Declared: the keywords SchemaStore does not register (VS Code's `patternErrorMessage`,
        // for one), never one it does (`markdownDescription`, which made its Ajv fail).
        for published in &PUBLISHED {
            let declared =
                options["options"][format!("{}.json", published.name)]["unknownKeywords"]
                    .as_array()
                    .expect("every schema uses a keyword SchemaStore does not register");
            assert!(
                declared.contains(&json!("patternErrorMessage")),
                "{declared:?}"
            );
            for keyword in SCHEMASTORE_KEYWORDS {
                assert!(
                    !declared.contains(&json!(keyword)),
                    "{keyword} in {declared:?}"
                );
            }
        }
        assert_eq!(
            options["highSchemaVersion"],
            json!(PUBLISHED.map(|published| format!("{}.json", published.name)))
        );
    }

    /// A keyword SchemaStore registers is never declared again; another one is.
    #[test]
    fn declared_keywords_leave_out_what_schemastore_registers() {
        let schema = json!({
            "markdownDescription": "m",
            "properties": {"a": {"enumDescriptions": [], "x-own": 1, "x-taplo": {}}},
        });
        assert_eq!(
            nonstandard_keywords(&schema),
            [
                "enumDescriptions",
                "markdownDescription",
                "x-own",
                "x-taplo"
            ]
        );
        assert_eq!(declared_keywords(&schema), ["x-own"]);
    }

    #[test]
    fn nonstandard_keywords_skip_property_names_and_literals() {
        let schema = json!({
            "properties": {"doNotSuggest": {"type": "string", "x-a": 1}},
            "default": {"x-b": 1},
            "allOf": [{"then": {"x-c": true}}],
        });
        assert_eq!(nonstandard_keywords(&schema), ["x-a", "x-c"]);
    }
}
