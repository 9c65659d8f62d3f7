//! The record of the published major, `schema/<major>/` (checked in), and the versioning rule it
//! holds later schemas to: every valid document the record accepts, the current schema accepts.

use std::path::Path;

use anyhow::{Context, Result, bail};
use conn_schema::SchemaValidator;
use conn_schema::schema::{SCHEMA_MAJOR_DIR, to_pretty};
use serde_json::Value;

use crate::published::PUBLISHED;
use crate::schemastore::fixtures;

/// `cargo xtask record`: records the schemas as published under the current major in
/// `schema/<major>/`, after checking that they still accept every valid document the previous
/// record accepted. Publishing reads this record and never writes it, so that recording is one
/// explicit, reviewed step.
pub(crate) fn record(root: &Path) -> Result<()> {
    refuse_breaking_changes(root)?;
    crate::schema::write_files(root, expected())?;
    eprintln!("xtask: recorded the published schemas in schema/{SCHEMA_MAJOR_DIR}/");
    Ok(())
}

/// `cargo xtask record --check` (run by `ci` and before publishing): the record is what the types
/// generate today, and the types break nothing the record accepted.
pub(crate) fn check(root: &Path) -> Result<()> {
    refuse_breaking_changes(root)?;
    crate::schema::check_files(
        &crate::schema::diffs(root, &expected()),
        &format!("xtask: schema/{SCHEMA_MAJOR_DIR}/ records the current schemas"),
        |count| {
            format!(
                "schema/{SCHEMA_MAJOR_DIR}/ does not record the current schemas ({count} file(s) \
                 differ); run `cargo xtask record` and commit the result"
            )
        },
    )
}

/// The files of the record, relative to the workspace root, with their expected content.
fn expected() -> Vec<(String, String)> {
    PUBLISHED
        .iter()
        .map(|published| {
            (
                format!("schema/{SCHEMA_MAJOR_DIR}/{}", published.file),
                to_pretty(&(published.generate)()),
            )
        })
        .collect()
}

/// Fails when the current schemas reject a valid document the record accepts.
fn refuse_breaking_changes(root: &Path) -> Result<()> {
    let broken = breaking_changes(root)?;
    if broken.is_empty() {
        return Ok(());
    }
    bail!(
        "the schemas no longer accept documents that schema/{SCHEMA_MAJOR_DIR}/ (the published \
         major) accepted; publish them under a new major (SCHEMA_MAJOR_DIR):\n{}",
        broken.join("\n")
    )
}

/// Every valid fixture and example, by path relative to the workspace root.
pub(crate) fn valid_documents(root: &Path) -> Result<Vec<(String, Value)>> {
    let mut documents: Vec<(String, Value)> = fixtures(root, "valid")?
        .into_iter()
        .map(|f| (format!("tests/fixtures/valid/{}.json", f.stem), f.value))
        .collect();
    for path in crate::files_with_extension(&root.join("examples"), "json")? {
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
    use crate::published::kind_of;
    use conn_schema::schema::extra_schema;

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
}
