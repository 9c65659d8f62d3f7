//! `cargo xtask editor-test`: the published schemas in VS Code's JSON engine, and the SchemaStore
//! catalog that tells editors which files they apply to.
//!
//! The test itself is `tests/editor/editor.test.mjs`, run by `node --test` against the pinned
//! `vscode-json-languageservice`. Its lockfile records no download URLs, so `npm ci` installs from
//! whatever registry this machine's npm is configured for.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use conn_schema::schema::{
    CONNECTION_SCHEMA_ID, EXTRA_SCHEMA_ID, connection_schema, extra_schema, to_pretty,
};
use serde_json::{Value, json};

/// The folder of the Node test, relative to the workspace root.
const EDITOR_DIR: &str = "tests/editor";
/// The test file `node --test` runs.
const TEST_FILE: &str = "editor.test.mjs";

/// Installs the test's npm packages when they are missing or older than the lockfile, then runs
/// the test. Fails when Node or npm is missing, the install fails, or a test fails.
pub(crate) fn run(root: &Path) -> Result<()> {
    let directory = root.join(EDITOR_DIR);
    let version = output("node", &["--version"], &directory)
        .context("the editor test needs Node.js 20 or later on PATH")?;
    let major = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|major| major.parse::<u32>().ok());
    if major.is_none_or(|major| major < 20) {
        bail!(
            "the editor test needs Node.js 20 or later, found {}",
            version.trim()
        );
    }
    if needs_install(&directory) {
        // `npm ci` installs exactly the lockfile; `.npmrc` beside it keeps `resolved` URLs out.
        status("npm", &["ci", "--no-audit", "--no-fund"], &directory)?;
    }
    status("node", &["--test", TEST_FILE], &directory)
}

/// `node_modules` is missing, or was installed from an older lockfile.
fn needs_install(directory: &Path) -> bool {
    // npm writes `node_modules/.package-lock.json` at the end of every install.
    let installed = directory.join("node_modules").join(".package-lock.json");
    let modified = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
    };
    match (
        modified(&installed),
        modified(&directory.join("package-lock.json")),
    ) {
        (Some(installed), Some(lockfile)) => installed < lockfile,
        _ => true,
    }
}

fn status(program: &str, args: &[&str], directory: &Path) -> Result<()> {
    eprintln!("xtask: ({EDITOR_DIR}) {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(directory)
        .status()
        .with_context(|| format!("running {program} {}", args.join(" ")))?;
    if !status.success() {
        bail!("{program} {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn output(program: &str, args: &[&str], directory: &Path) -> Result<String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(directory)
        .output()
        .with_context(|| format!("running {program} {}", args.join(" ")))?;
    if !output.status.success() {
        bail!("{program} {} failed ({})", args.join(" "), output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `schema/catalog.json`: the schemas in SchemaStore's catalog format, with the file names each
/// applies to, for the schema writer (`cargo xtask schema`) to write beside the schemas.
pub(crate) fn catalog() -> (&'static str, String) {
    let entry = |name: &str, schema: &Value, url: &str, stem: &str| {
        json!({
            "name": name,
            "description": schema["description"],
            "fileMatch": [format!("*.{stem}.json"), format!("{stem}.json")],
            "url": url,
        })
    };
    let catalog = json!({
        "$schema": "https://json.schemastore.org/schema-catalog.json",
        "version": 1,
        "schemas": [
            entry(
                "OpenAI connection extra (Apache Airflow)",
                &extra_schema(),
                EXTRA_SCHEMA_ID,
                "openai-connection-extra",
            ),
            entry(
                "OpenAI connection (Apache Airflow)",
                &connection_schema(),
                CONNECTION_SCHEMA_ID,
                "openai-connection",
            ),
        ],
    });
    ("catalog.json", to_pretty(&catalog))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalog names both schemas by their `$id`, with patterns that do not overlap.
    #[test]
    fn catalog_lists_both_schemas_by_id() {
        let (name, text) = catalog();
        assert_eq!(name, "catalog.json");
        assert!(text.ends_with("}\n"));
        let catalog: Value = serde_json::from_str(&text).expect("catalog is JSON");
        let schemas = catalog["schemas"].as_array().expect("schemas");
        let urls: Vec<&str> = schemas.iter().filter_map(|s| s["url"].as_str()).collect();
        assert_eq!(urls, [EXTRA_SCHEMA_ID, CONNECTION_SCHEMA_ID]);
        assert_eq!(schemas[0]["fileMatch"][0], "*.openai-connection-extra.json");
        assert_eq!(schemas[1]["fileMatch"][0], "*.openai-connection.json");
        for schema in schemas {
            assert!(schema["description"].as_str().is_some_and(|d| d.len() > 20));
        }
    }

    #[test]
    fn install_is_needed_without_node_modules() {
        let directory = std::env::temp_dir().join(format!("xtask-editor-{}", std::process::id()));
        std::fs::create_dir_all(directory.join("node_modules")).expect("temp dir");
        std::fs::write(directory.join("package-lock.json"), "{}").expect("write");
        assert!(needs_install(&directory));
        std::fs::write(
            directory.join("node_modules").join(".package-lock.json"),
            "{}",
        )
        .expect("write");
        let fresh = needs_install(&directory);
        std::fs::remove_dir_all(&directory).ok();
        assert!(!fresh);
    }
}
