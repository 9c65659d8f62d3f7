//! `cargo xtask publish [--base-url URL] [--out DIR]`: the static site editors fetch the schemas
//! from, ready to serve as is.
//!
//! ```text
//! DIR/v1/openai-connection-extra.schema.json    $id = URL + "v1/openai-connection-extra.schema.json"
//! DIR/v1/openai-connection.schema.json
//! DIR/latest/...                                the same schemas, $id under latest/
//! DIR/catalog.json                              SchemaStore's catalog format, URLs under URL
//! DIR/index.html                                the reference page (docs/reference.md as HTML)
//! DIR/schemastore/src/...                       the schemas laid out as a SchemaStore contribution
//! ```
//!
//! Publishing also records what was published in `schema/v1/` (checked in): the versioning test
//! proves that every valid fixture that record accepts is still accepted by the current schema.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use conn_schema::profile::{AIRFLOW_EXTRA_SCHEMA_FILE, airflow_extra_schema};
use conn_schema::schema::{
    CONNECTION_SCHEMA_FILE, EXTRA_SCHEMA_FILE, SCHEMA_BASE_URL, SCHEMA_MAJOR_DIR,
    connection_schema, extra_schema, to_pretty,
};
use conn_schema::{DocumentKind, Profile, SchemaValidator};
use serde_json::{Map, Value, json};

/// The default output folder, relative to the workspace root.
pub(crate) const DEFAULT_OUT: &str = "target/site";

/// One published schema: its file name, its SchemaStore name, and how to generate it.
pub(crate) struct Published {
    /// File name under `v1/`, `latest/` and `schema/`.
    pub(crate) file: &'static str,
    /// Its name in a SchemaStore contribution (`src/schemas/json/<name>.json`, `src/test/<name>/`).
    pub(crate) name: &'static str,
    /// The catalog entry's name.
    pub(crate) title: &'static str,
    /// The catalog entry's description: one line, no trailing punctuation, no word "schema".
    pub(crate) description: &'static str,
    /// The schema, with the `$id` of the checked-in files.
    pub(crate) generate: fn() -> Value,
    /// Which documents it describes.
    pub(crate) kind: DocumentKind,
    /// Which program's view of a connection it holds: a valid fixture that this profile rejects
    /// is one of the schema's negative tests rather than a valid one.
    pub(crate) profile: Profile,
}

/// The published schemas: the `extra` alone, a whole connection, and the `extra` limited to what
/// Airflow's OpenAI provider reads.
pub(crate) const PUBLISHED: [Published; 3] = [
    Published {
        file: EXTRA_SCHEMA_FILE,
        name: "openai-connection-extra",
        title: "OpenAI connection extra (Apache Airflow)",
        description: "The extra object of an Apache Airflow OpenAI connection: auth type, workload \
                      identity provider and OpenAI client options",
        generate: extra_schema,
        kind: DocumentKind::Extra,
        profile: Profile::OpenaiConn,
    },
    Published {
        file: CONNECTION_SCHEMA_FILE,
        name: "openai-connection",
        title: "OpenAI connection (Apache Airflow)",
        description: "A whole Apache Airflow OpenAI connection: conn_type, host, password and the \
                      extra with auth type and workload identity",
        generate: connection_schema,
        kind: DocumentKind::Connection,
        profile: Profile::OpenaiConn,
    },
    Published {
        file: AIRFLOW_EXTRA_SCHEMA_FILE,
        name: "openai-connection-extra.airflow",
        title: "OpenAI connection extra (Airflow's OpenAI provider only)",
        description: "The extra object of an Apache Airflow OpenAI connection limited to what \
                      Airflow's own OpenAI provider reads, for connections only Airflow uses",
        generate: airflow_extra_schema,
        kind: DocumentKind::Extra,
        profile: Profile::Airflow,
    },
];

/// The file extensions a connection file may have: each gets a catalog `fileMatch` pattern.
const EXTENSIONS: [&str; 4] = ["json", "yaml", "yml", "toml"];

/// `cargo xtask publish`: parses the flags, writes the site and records the published major.
pub(crate) fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut base_url = SCHEMA_BASE_URL.to_owned();
    let mut out = root.join(DEFAULT_OUT);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--base-url" => {
                base_url = rest
                    .next()
                    .context("--base-url needs a URL, such as https://example.org/schema/")?
                    .clone();
            }
            "--out" => {
                out = PathBuf::from(rest.next().context("--out needs a folder")?);
            }
            other => bail!(
                "publish: unknown argument {other:?}; usage: cargo xtask publish [--base-url URL] [--out DIR]"
            ),
        }
    }
    let base_url = normalize_base(&base_url)?;
    let catalog_value: Value = serde_json::from_str(&catalog(&base_url))?;
    let problems = catalog_problems(&catalog_value);
    if !problems.is_empty() {
        bail!(
            "the catalog breaks SchemaStore's rules:\n{}",
            problems.join("\n")
        );
    }
    let broken = breaking_changes(root)?;
    if !broken.is_empty() {
        bail!(
            "the schemas no longer accept documents that schema/{SCHEMA_MAJOR_DIR}/ (the published \
             major) accepted; publish them under a new major (SCHEMA_MAJOR_DIR):\n{}",
            broken.join("\n")
        );
    }
    let files = site(root, &base_url)?;
    write_all(&out, &files)?;
    eprintln!(
        "xtask: wrote {} files of the site for {base_url} to {}",
        files.len(),
        out.display()
    );
    record(root)
}

/// A base URL ends with `/` so that file paths append to it; it must be http or https.
pub(crate) fn normalize_base(base_url: &str) -> Result<String> {
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        bail!("--base-url must be an absolute http or https URL, got {base_url:?}");
    }
    Ok(if base_url.ends_with('/') {
        base_url.to_owned()
    } else {
        format!("{base_url}/")
    })
}

/// Writes `files` (paths relative to `out`).
pub(crate) fn write_all(out: &Path, files: &[(String, String)]) -> Result<()> {
    for (relative, content) in files {
        let path = out.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The record of the published major, `schema/v1/`, checked in: what the versioning test holds
/// later schemas to.
pub(crate) fn record(root: &Path) -> Result<()> {
    let files: Vec<(String, String)> = PUBLISHED
        .iter()
        .map(|published| {
            (
                format!("{SCHEMA_MAJOR_DIR}/{}", published.file),
                to_pretty(&(published.generate)()),
            )
        })
        .collect();
    write_all(&root.join("schema"), &files)?;
    eprintln!("xtask: recorded the published schemas in schema/{SCHEMA_MAJOR_DIR}/");
    Ok(())
}

/// `schema` with its `$id` set to `id`.
pub(crate) fn with_id(mut schema: Value, id: &str) -> Value {
    if let Value::Object(map) = &mut schema {
        map.insert("$id".into(), json!(id));
    }
    schema
}

/// Every file of the site, as (path relative to the output folder, content).
pub(crate) fn site(root: &Path, base_url: &str) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for folder in [SCHEMA_MAJOR_DIR, "latest"] {
        for published in &PUBLISHED {
            let path = format!("{folder}/{}", published.file);
            let schema = with_id((published.generate)(), &format!("{base_url}{path}"));
            files.push((path, to_pretty(&schema)));
        }
    }
    files.push(("catalog.json".into(), catalog(base_url)));
    files.push(("index.html".into(), crate::reference::html(base_url)));
    files.extend(schemastore(root, base_url)?);
    Ok(files)
}

/// The published URL of a schema file under the current major.
pub(crate) fn schema_url(base_url: &str, file: &str) -> String {
    format!("{base_url}{SCHEMA_MAJOR_DIR}/{file}")
}

/// The catalog patterns of a schema: `*.<stem>.<ext>` and `<stem>.<ext>` for every extension.
pub(crate) fn file_match(published: &Published) -> Vec<String> {
    EXTENSIONS
        .iter()
        .flat_map(|ext| {
            [
                format!("*.{}.{ext}", published.name),
                format!("{}.{ext}", published.name),
            ]
        })
        .collect()
}

/// Both schemas in SchemaStore's catalog format, with URLs under `base_url`.
pub(crate) fn catalog(base_url: &str) -> String {
    let schemas: Vec<Value> = PUBLISHED
        .iter()
        .map(|published| {
            json!({
                "name": published.title,
                "description": published.description,
                "fileMatch": file_match(published),
                "url": schema_url(base_url, published.file),
            })
        })
        .collect();
    to_pretty(&json!({
        "$schema": "https://json.schemastore.org/schema-catalog.json",
        "version": 1,
        "schemas": schemas,
    }))
}

/// Every rule of SchemaStore's CI for a catalog entry that this catalog could break, as the
/// messages of the entries that break one (empty when the catalog passes).
pub(crate) fn catalog_problems(catalog: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(schemas) = catalog["schemas"].as_array() else {
        return vec!["no \"schemas\" array".into()];
    };
    let mut names = Vec::new();
    let mut patterns = Vec::new();
    for entry in schemas {
        let url = entry["url"].as_str().unwrap_or("?");
        for field in ["name", "description"] {
            let Some(text) = entry[field].as_str() else {
                problems.push(format!("{url}: no {field}"));
                continue;
            };
            if text.trim().is_empty() {
                problems.push(format!("{url}: empty {field}"));
            }
            if text.ends_with([',', '.', ' ', '\t', '-']) || text.starts_with([' ', '\t']) {
                problems.push(format!(
                    "{url}: {field} {text:?} ends with punctuation or space"
                ));
            }
            if text.to_lowercase().contains("schema") {
                problems.push(format!("{url}: {field} {text:?} has the word \"schema\""));
            }
            if text.contains('\n') {
                problems.push(format!("{url}: {field} spans lines"));
            }
        }
        if let Some(name) = entry["name"].as_str() {
            if names.contains(&name) {
                problems.push(format!("{url}: duplicate name {name:?}"));
            }
            names.push(name);
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) || !url.ends_with(".json") {
            problems.push(format!("{url}: not an absolute URL of a .json file"));
        }
        for pattern in entry["fileMatch"].as_array().into_iter().flatten() {
            let pattern = pattern.as_str().unwrap_or("");
            if pattern.contains('/') && !pattern.starts_with("**/") {
                problems.push(format!(
                    "{url}: fileMatch {pattern:?} has a / but does not start with **/"
                ));
            }
            if patterns.contains(&pattern) {
                problems.push(format!("{url}: fileMatch {pattern:?} listed twice"));
            }
            patterns.push(pattern);
        }
        let allowed = ["name", "description", "fileMatch", "url", "versions"];
        for key in entry.as_object().into_iter().flat_map(Map::keys) {
            if !allowed.contains(&key.as_str()) {
                problems.push(format!("{url}: unknown field {key:?}"));
            }
        }
    }
    problems
}

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

/// The non-standard keywords `schema` uses (editor annotations such as `markdownDescription`),
/// sorted: what a SchemaStore contribution declares as `unknownKeywords`.
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
struct Fixture {
    stem: String,
    value: Value,
}

/// The fixtures of `tests/fixtures/<folder>` that parse as JSON (without duplicate keys, which
/// JSON parsers disagree on), sorted by name.
fn fixtures(root: &Path, folder: &str) -> Result<Vec<Fixture>> {
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

/// The parser's rule: an object with `conn_type` or `extra` is a whole connection.
pub(crate) fn kind_of(value: &Value) -> DocumentKind {
    match value {
        Value::Object(map) if map.contains_key("conn_type") || map.contains_key("extra") => {
            DocumentKind::Connection
        }
        _ => DocumentKind::Extra,
    }
}

/// `schemastore/`: the schemas, their valid fixtures as JSON, YAML (with the
/// `# yaml-language-server: $schema=` modeline) and TOML (with `#:schema`) under `src/test/<name>/`,
/// and the invalid fixtures the schema rejects under `src/negative_test/<name>/`, the way a
/// SchemaStore contribution lays them out; plus the catalog entries and the validation options
/// (the non-standard keywords, and the 2020-12 dialect SchemaStore calls "high").
fn schemastore(root: &Path, base_url: &str) -> Result<Vec<(String, String)>> {
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
        options.insert(
            schema_file.clone(),
            json!({"unknownKeywords": nonstandard_keywords(&schema)}),
        );
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
                    to_yaml(&fixture.value)
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
    let catalog: Value = serde_json::from_str(&catalog(base_url))?;
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

/// A JSON value as a YAML block document. Strings are written as JSON strings, which YAML reads
/// as double-quoted scalars with the same escapes, so no string can turn into a number, a boolean
/// or null.
pub(crate) fn to_yaml(value: &Value) -> String {
    fn scalar(value: &Value) -> String {
        match value {
            Value::Object(map) if map.is_empty() => "{}".into(),
            Value::Array(items) if items.is_empty() => "[]".into(),
            other => other.to_string(),
        }
    }
    fn key(name: &str) -> String {
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && !name.starts_with('-');
        if plain {
            name.to_owned()
        } else {
            json!(name).to_string()
        }
    }
    fn block(value: &Value, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (name, child) in map {
                    match child {
                        Value::Object(inner) if !inner.is_empty() => {
                            out.push_str(&format!("{pad}{}:\n", key(name)));
                            block(child, indent + 2, out);
                        }
                        Value::Array(items) if !items.is_empty() => {
                            out.push_str(&format!("{pad}{}:\n", key(name)));
                            block(child, indent + 2, out);
                        }
                        _ => out.push_str(&format!("{pad}{}: {}\n", key(name), scalar(child))),
                    }
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for item in items {
                    match item {
                        Value::Object(inner) if !inner.is_empty() => {
                            let mut nested = String::new();
                            block(item, indent + 2, &mut nested);
                            out.push_str(&format!("{pad}- {}", &nested[indent + 2..]));
                        }
                        _ => out.push_str(&format!("{pad}- {}\n", scalar(item))),
                    }
                }
            }
            other => out.push_str(&format!("{pad}{}\n", scalar(other))),
        }
    }
    let mut out = String::new();
    block(value, 0, &mut out);
    out
}

/// A JSON object as a TOML document, or `None` when it holds a `null` (TOML has none) or is not
/// an object. Strings are written as JSON strings, which TOML reads as basic strings with the
/// same escapes.
pub(crate) fn to_toml(value: &Value) -> Option<String> {
    fn key(name: &str) -> String {
        let bare = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if bare {
            name.to_owned()
        } else {
            json!(name).to_string()
        }
    }
    fn inline(value: &Value) -> Option<String> {
        Some(match value {
            Value::Null => return None,
            Value::Array(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(inline)
                    .collect::<Option<Vec<_>>>()?
                    .join(", ")
            ),
            Value::Object(map) => format!(
                "{{ {} }}",
                map.iter()
                    .map(|(name, child)| Some(format!("{} = {}", key(name), inline(child)?)))
                    .collect::<Option<Vec<_>>>()?
                    .join(", ")
            ),
            other => other.to_string(),
        })
    }
    fn table(map: &Map<String, Value>, path: &[String], out: &mut String) -> Option<()> {
        for (name, child) in map {
            if !matches!(child, Value::Object(_)) {
                out.push_str(&format!("{} = {}\n", key(name), inline(child)?));
            }
        }
        for (name, child) in map {
            if let Value::Object(inner) = child {
                let mut nested = path.to_vec();
                nested.push(key(name));
                out.push_str(&format!("\n[{}]\n", nested.join(".")));
                table(inner, &nested, out)?;
            }
        }
        Some(())
    }
    let Value::Object(map) = value else {
        return None;
    };
    let mut out = String::new();
    table(map, &[], &mut out)?;
    Some(out)
}

/// Every valid fixture and example, by path relative to the workspace root.
pub(crate) fn valid_documents(root: &Path) -> Result<Vec<(String, Value)>> {
    let mut documents: Vec<(String, Value)> = fixtures(root, "valid")?
        .into_iter()
        .map(|f| (format!("tests/fixtures/valid/{}.json", f.stem), f.value))
        .collect();
    let examples = root.join("examples");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&examples)
        .with_context(|| format!("reading {}", examples.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        documents.push((name, value));
    }
    Ok(documents)
}

/// For each published schema, the valid documents its record in `schema/<major>/` accepts and the
/// current schema rejects, as `file: document` lines; empty when nothing breaks or when this
/// major has no record yet (it was never published).
pub(crate) fn breaking_changes(root: &Path) -> Result<Vec<String>> {
    let record = root.join("schema").join(SCHEMA_MAJOR_DIR);
    if !record.exists() {
        return Ok(Vec::new());
    }
    let documents = valid_documents(root)?;
    let mut broken = Vec::new();
    for published in &PUBLISHED {
        let path = record.join(published.file);
        if !path.exists() {
            // First published in this major: nothing was promised yet.
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let old: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        for name in no_longer_accepted(&old, &(published.generate)(), &documents)? {
            broken.push(format!("{}: {name}", published.file));
        }
    }
    Ok(broken)
}

/// The documents `old` accepts and `new` rejects, by name: what would break for a user whose file
/// passed the old schema.
pub(crate) fn no_longer_accepted(
    old: &Value,
    new: &Value,
    documents: &[(String, Value)],
) -> Result<Vec<String>> {
    let old = SchemaValidator::new(old).map_err(|error| anyhow::anyhow!("old: {error}"))?;
    let new = SchemaValidator::new(new).map_err(|error| anyhow::anyhow!("new: {error}"))?;
    Ok(documents
        .iter()
        .filter(|(_, document)| old.errors(document).is_empty())
        .filter(|(_, document)| !new.errors(document).is_empty())
        .map(|(name, _)| name.clone())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_documents() -> Vec<(String, Value)> {
        super::valid_documents(&crate::workspace_root()).expect("fixtures and examples")
    }

    /// Schema versioning: every valid document that the last published schema of this major
    /// (recorded in `schema/v1/`) accepts, the current schema accepts too. A change that breaks
    /// this needs a new major (`SCHEMA_MAJOR_DIR`); until that major is first published there is
    /// no record to compare with.
    #[test]
    fn current_schema_accepts_everything_the_published_major_accepted() {
        let root = crate::workspace_root();
        let documents = valid_documents();
        let record = root.join("schema").join(SCHEMA_MAJOR_DIR);
        if SCHEMA_MAJOR_DIR == "v1" {
            assert!(
                record.exists(),
                "schema/v1/ is the record of the published v1"
            );
        }
        // The record is not vacuous: it accepts the valid documents of its kind.
        for published in PUBLISHED.iter().filter(|_| record.exists()) {
            let text = std::fs::read_to_string(record.join(published.file)).expect("recorded");
            let old: Value = serde_json::from_str(&text).expect("JSON");
            let validator = SchemaValidator::new(&old).expect("compiles");
            let accepted = documents
                .iter()
                .filter(|(_, document)| kind_of(document) == published.kind)
                .filter(|(_, document)| validator.errors(document).is_empty())
                .count();
            assert!(
                accepted >= 5,
                "{}: the record accepts only {accepted}",
                published.file
            );
        }
        let broken = breaking_changes(&root).expect("compare");
        assert_eq!(
            broken,
            Vec::<String>::new(),
            "the schemas no longer accept documents that schema/{SCHEMA_MAJOR_DIR}/ accepted: \
             publish the change under a new major"
        );
    }

    /// The comparison notices a breaking change: a schema that no longer knows `gcp` rejects the
    /// GCP fixtures that the current one accepts.
    #[test]
    fn a_narrowed_schema_is_reported_as_breaking() {
        let current = extra_schema();
        let mut narrowed = current.clone();
        let values = narrowed
            .pointer_mut("/$defs/workload_identity/properties/workload_identity_provider/enum")
            .and_then(Value::as_array_mut)
            .expect("provider enum");
        values.retain(|value| value != "gcp");
        let broken = no_longer_accepted(&current, &narrowed, &valid_documents()).expect("compile");
        assert!(
            broken
                .iter()
                .any(|name| name.ends_with("gcp-audience.json")),
            "{broken:?}"
        );
        assert!(
            !broken.iter().any(|name| name.contains("azure")),
            "{broken:?}"
        );
        // And the other way round nothing breaks: the current schema accepts more.
        assert_eq!(
            no_longer_accepted(&narrowed, &current, &valid_documents()).expect("compile"),
            Vec::<String>::new()
        );
    }

    /// The catalog passes SchemaStore's rules for catalog entries, and the rules catch each kind
    /// of break (so a catalog that passes is not merely unchecked).
    #[test]
    fn catalog_passes_schemastore_rules() {
        let catalog: Value =
            serde_json::from_str(&catalog(SCHEMA_BASE_URL)).expect("catalog is JSON");
        assert_eq!(catalog_problems(&catalog), Vec::<String>::new());
        let urls: Vec<&str> = catalog["schemas"]
            .as_array()
            .expect("schemas")
            .iter()
            .filter_map(|entry| entry["url"].as_str())
            .collect();
        assert_eq!(
            urls,
            [
                conn_schema::schema::EXTRA_SCHEMA_ID,
                conn_schema::schema::CONNECTION_SCHEMA_ID,
                conn_schema::profile::AIRFLOW_EXTRA_SCHEMA_ID,
            ]
        );
        let broken = |field: &str, value: Value| {
            let mut copy = catalog.clone();
            copy["schemas"][0][field] = value;
            catalog_problems(&copy)
        };
        assert_eq!(broken("description", json!("Ends with a period.")).len(), 1);
        assert_eq!(broken("name", json!("OpenAI connection schema")).len(), 1);
        assert_eq!(broken("description", json!("two\nlines")).len(), 1);
        assert_eq!(broken("fileMatch", json!(["conf/x.json"])).len(), 1);
        assert_eq!(broken("fileMatch", json!(["**/conf/x.json"])).len(), 0);
        assert_eq!(broken("url", json!("relative.json")).len(), 1);
    }

    /// The catalog names YAML and TOML files too, and its URLs are under the base URL.
    #[test]
    fn catalog_matches_every_extension_under_the_base_url() {
        let catalog: Value =
            serde_json::from_str(&catalog("https://example.org/s/")).expect("catalog is JSON");
        let entry = &catalog["schemas"][0];
        assert_eq!(
            entry["url"],
            "https://example.org/s/v1/openai-connection-extra.schema.json"
        );
        let patterns: Vec<&str> = entry["fileMatch"]
            .as_array()
            .expect("fileMatch")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for pattern in [
            "*.openai-connection-extra.json",
            "*.openai-connection-extra.yaml",
            "*.openai-connection-extra.yml",
            "*.openai-connection-extra.toml",
            "openai-connection-extra.toml",
        ] {
            assert!(patterns.contains(&pattern), "{pattern} in {patterns:?}");
        }
    }

    #[test]
    fn base_url_gets_a_trailing_slash_and_must_be_http() {
        assert_eq!(
            normalize_base("https://example.org/s").expect("ok"),
            "https://example.org/s/"
        );
        assert_eq!(
            normalize_base("https://example.org/s/").expect("ok"),
            "https://example.org/s/"
        );
        assert!(normalize_base("example.org/s").is_err());
    }

    /// The site has every file the issue names, with `$id`s under the base URL, and `latest/`
    /// differs from `v1/` only in the `$id`.
    #[test]
    fn site_has_versioned_and_latest_schemas_with_ids_under_the_base() {
        let base = "https://example.org/schemas/";
        let files = site(&crate::workspace_root(), base).expect("site");
        let get = |path: &str| -> Value {
            let text = &files
                .iter()
                .find(|(name, _)| name == path)
                .unwrap_or_else(|| panic!("{path} in the site"))
                .1;
            serde_json::from_str(text).expect("JSON")
        };
        for file in [EXTRA_SCHEMA_FILE, CONNECTION_SCHEMA_FILE] {
            let v1 = get(&format!("v1/{file}"));
            let latest = get(&format!("latest/{file}"));
            assert_eq!(v1["$id"], format!("{base}v1/{file}"));
            assert_eq!(latest["$id"], format!("{base}latest/{file}"));
            assert_eq!(with_id(latest, "x"), with_id(v1, "x"));
        }
        assert!(files.iter().any(|(name, _)| name == "index.html"));
        assert!(files.iter().any(|(name, _)| name == "catalog.json"));
        // With the default base, v1/ is byte for byte what the CLI prints.
        let default = site(&crate::workspace_root(), SCHEMA_BASE_URL).expect("site");
        let v1 = &default
            .iter()
            .find(|(name, _)| name == &format!("v1/{EXTRA_SCHEMA_FILE}"))
            .expect("v1 extra")
            .1;
        assert_eq!(v1, &to_pretty(&extra_schema()));
    }

    /// SchemaStore's layout: valid fixtures in three formats with their modelines, negative
    /// tests only where the schema itself fails.
    #[test]
    fn schemastore_folder_has_tests_in_three_formats_and_negative_tests() {
        let files = site(&crate::workspace_root(), SCHEMA_BASE_URL).expect("site");
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
                .expect("options")
                .1,
        )
        .expect("JSON");
        let keywords = &options["options"]["openai-connection-extra.json"]["unknownKeywords"];
        assert!(
            keywords
                .as_array()
                .expect("list")
                .contains(&json!("markdownDescription"))
        );
        assert!(
            !keywords
                .as_array()
                .expect("list")
                .contains(&json!("properties"))
        );
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

    #[test]
    fn yaml_and_toml_forms_of_a_connection() {
        let value = json!({
            "conn_type": "openai",
            "port": 8080,
            "extra": {"auth_type": "workload_identity", "token_command": ["a b", "-x"], "kwargs": {"timeout": 1.5}, "empty": {}},
            "odd key": "yes",
        });
        assert_eq!(
            to_yaml(&value),
            "conn_type: \"openai\"\nport: 8080\nextra:\n  auth_type: \"workload_identity\"\n  token_command:\n    - \"a b\"\n    - \"-x\"\n  kwargs:\n    timeout: 1.5\n  empty: {}\n\"odd key\": \"yes\"\n"
        );
        assert_eq!(
            to_toml(&value).expect("no null"),
            "conn_type = \"openai\"\nport = 8080\n\"odd key\" = \"yes\"\n\n[extra]\nauth_type = \"workload_identity\"\ntoken_command = [\"a b\", \"-x\"]\n\n[extra.kwargs]\ntimeout = 1.5\n\n[extra.empty]\n"
        );
        assert_eq!(to_toml(&json!({"a": null})), None);
    }
}
