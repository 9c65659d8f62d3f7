//! The catalog in SchemaStore's format (`catalog.json`, checked in as `schema/catalog.json` and
//! published beside the schemas), and SchemaStore's rules for a catalog entry.

use conn_schema::schema::to_pretty;
use serde_json::{Map, Value, json};

use crate::published::{PUBLISHED, Published, schema_url};

/// The file extensions a connection file may have: each gets a catalog `fileMatch` pattern.
const EXTENSIONS: [&str; 4] = ["json", "yaml", "yml", "toml"];

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

#[cfg(test)]
mod tests {
    use super::*;
    use conn_schema::schema::SCHEMA_BASE_URL;

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
}
