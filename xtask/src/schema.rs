//! `cargo xtask schema [--check]`: the published schema files, generated from the types.

use std::path::Path;

use anyhow::{Context, Result, bail};
use conn_schema::profile::{AIRFLOW_EXTRA_SCHEMA_FILE, airflow_extra_schema};
use conn_schema::schema::{
    CONNECTION_SCHEMA_FILE, EXTRA_SCHEMA_FILE, connection_schema, extra_schema, to_pretty,
};

/// Every generated file under `schema/`, with its expected content.
pub(crate) fn expected() -> Vec<(&'static str, String)> {
    vec![
        (EXTRA_SCHEMA_FILE, to_pretty(&extra_schema())),
        (CONNECTION_SCHEMA_FILE, to_pretty(&connection_schema())),
        (
            AIRFLOW_EXTRA_SCHEMA_FILE,
            to_pretty(&airflow_extra_schema()),
        ),
        crate::editor::catalog(),
    ]
}

pub(crate) fn write(root: &Path) -> Result<()> {
    let directory = root.join("schema");
    std::fs::create_dir_all(&directory).context("creating schema/")?;
    for (name, content) in expected() {
        let path = directory.join(name);
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("xtask: wrote schema/{name}");
    }
    Ok(())
}

/// Fails with a unified diff per stale file, and the command that fixes it.
pub(crate) fn check(root: &Path) -> Result<()> {
    let stale = stale_files(root);
    if stale.is_empty() {
        eprintln!("xtask: schema/ is up to date");
        return Ok(());
    }
    for diff in &stale {
        eprintln!("{diff}");
    }
    bail!(
        "{} schema file(s) are stale; run `cargo xtask schema` and commit the result",
        stale.len()
    )
}

/// A diff for every file under `schema/` that differs from what the types generate.
pub(crate) fn stale_files(root: &Path) -> Vec<String> {
    let mut stale = Vec::new();
    for (name, content) in expected() {
        let path = root.join("schema").join(name);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != content {
            let diff = similar::TextDiff::from_lines(&current, &content)
                .unified_diff()
                .context_radius(2)
                .header(&format!("schema/{name} (checked in)"), "generated")
                .to_string();
            stale.push(diff);
        }
    }
    stale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checked-in schema is what the types generate (the same check `cargo xtask schema
    /// --check` runs).
    #[test]
    fn checked_in_schema_is_fresh() {
        let stale = stale_files(&crate::workspace_root());
        assert!(
            stale.is_empty(),
            "schema/ is stale; run `cargo xtask schema`:\n{}",
            stale.join("\n")
        );
    }

    /// The check notices a change: a file with one byte different is reported with a diff.
    #[test]
    fn stale_file_is_reported_with_a_diff() {
        let directory = std::env::temp_dir().join(format!("xtask-schema-{}", std::process::id()));
        std::fs::create_dir_all(directory.join("schema")).expect("temp dir");
        for (name, content) in expected() {
            std::fs::write(directory.join("schema").join(name), content).expect("write");
        }
        assert!(stale_files(&directory).is_empty());
        let path = directory.join("schema").join(EXTRA_SCHEMA_FILE);
        let edited = std::fs::read_to_string(&path)
            .expect("read")
            .replace("\"minLength\": 1", "\"minLength\": 0");
        std::fs::write(&path, edited).expect("write");
        let stale = stale_files(&directory);
        std::fs::remove_dir_all(&directory).ok();
        assert_eq!(stale.len(), 1);
        assert!(stale[0].contains("-      \"minLength\": 0"), "{}", stale[0]);
        assert!(stale[0].contains("+      \"minLength\": 1"), "{}", stale[0]);
    }
}
