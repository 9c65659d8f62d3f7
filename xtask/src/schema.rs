//! `cargo xtask schema [--check]`: the published schema files and the reference generated from
//! them (`docs/reference.md`), from the types.

use std::path::Path;

use anyhow::{Context, Result, bail};
use conn_schema::profile::{AIRFLOW_EXTRA_SCHEMA_FILE, airflow_extra_schema};
use conn_schema::schema::{
    CONNECTION_SCHEMA_FILE, EXTRA_SCHEMA_FILE, SCHEMA_BASE_URL, connection_schema, extra_schema,
    to_pretty,
};

/// Every generated file, relative to the workspace root, with its expected content.
pub(crate) fn expected() -> Vec<(String, String)> {
    vec![
        (
            format!("schema/{EXTRA_SCHEMA_FILE}"),
            to_pretty(&extra_schema()),
        ),
        (
            format!("schema/{CONNECTION_SCHEMA_FILE}"),
            to_pretty(&connection_schema()),
        ),
        (
            format!("schema/{AIRFLOW_EXTRA_SCHEMA_FILE}"),
            to_pretty(&airflow_extra_schema()),
        ),
        (
            "schema/catalog.json".into(),
            crate::catalog::catalog(SCHEMA_BASE_URL),
        ),
        (
            crate::reference::MARKDOWN_PATH.into(),
            crate::reference::markdown(SCHEMA_BASE_URL),
        ),
    ]
}

pub(crate) fn write(root: &Path) -> Result<()> {
    for name in write_files(root, expected())? {
        eprintln!("xtask: wrote {name}");
    }
    Ok(())
}

/// Writes each `(name, content)` at `root/name`, making its folder first; returns the names.
pub(crate) fn write_files(root: &Path, files: Vec<(String, String)>) -> Result<Vec<String>> {
    let mut written = Vec::with_capacity(files.len());
    for (name, content) in files {
        let path = root.join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        written.push(name);
    }
    Ok(written)
}

/// Fails with a unified diff per stale file, and the command that fixes it.
pub(crate) fn check(root: &Path) -> Result<()> {
    check_files(
        &stale_files(root),
        "xtask: schema/ and docs/reference.md are up to date",
        |count| {
            format!(
                "{count} generated file(s) are stale; run `cargo xtask schema` and commit the result"
            )
        },
    )
}

/// Says `current` when there is no diff in `stale`; otherwise prints each diff and fails with
/// the message `failure` gives for their number (what differs and the command that fixes it).
pub(crate) fn check_files(
    stale: &[String],
    current: &str,
    failure: impl FnOnce(usize) -> String,
) -> Result<()> {
    if stale.is_empty() {
        eprintln!("{current}");
        return Ok(());
    }
    for diff in stale {
        eprintln!("{diff}");
    }
    bail!("{}", failure(stale.len()))
}

/// A diff for every generated file that differs from what the types generate.
pub(crate) fn stale_files(root: &Path) -> Vec<String> {
    diffs(root, &expected())
}

/// A unified diff for each of `files` (relative to `root`, with the content it should have) whose
/// checked-in content differs.
pub(crate) fn diffs(root: &Path, files: &[(String, String)]) -> Vec<String> {
    let mut stale = Vec::new();
    for (name, content) in files {
        let path = root.join(name);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if &current != content {
            let diff = similar::TextDiff::from_lines(&current, content)
                .unified_diff()
                .context_radius(2)
                .header(&format!("{name} (checked in)"), "generated")
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
        std::fs::create_dir_all(directory.join("docs")).expect("temp dir");
        for (name, content) in expected() {
            std::fs::write(directory.join(name), content).expect("write");
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
