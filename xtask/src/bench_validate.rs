//! P7 of `cargo xtask bench`: `openai-conn validate` of 10 000 files next to ajv-cli (the usual
//! JSON Schema command line) on the same files against the published `extra` schema, whole
//! process each, median of three runs. ajv-cli is installed by the bench itself, pinned, with
//! npm into `target/bench-ajv`, as the bench installs the Python SDK into `bench/.venv`.
//! `cargo xtask bench --validate` runs this scenario alone (after a release build).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::bench_mock::median_ms;

/// How many files each tool checks.
const FILES: usize = 10_000;
/// ajv-cli, pinned (it brings Ajv 8, which reads draft 2020-12 schemas with `--spec=draft2020`).
const AJV_CLI: &str = "ajv-cli@5.0.0";
/// Where ajv-cli is installed, relative to the workspace root.
const AJV_DIR: &str = "target/bench-ajv";

/// `cargo xtask bench --validate`: the release binary, then P7 alone, printed as JSON.
pub(crate) fn standalone(root: &Path) -> Result<()> {
    crate::release_build(root, &["-p", "openai-conn", "--bins"])?;
    let scratch = std::env::temp_dir().join(format!("openai-conn-p7-{}", std::process::id()));
    let result = run(root, &scratch);
    std::fs::remove_dir_all(&scratch).ok();
    let result = result?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    if let Some((row, _)) = crate::bench_report::p7_row(&json!({ "p7": result })) {
        println!("{row}");
    }
    Ok(())
}

/// Runs P7 with its files under `scratch`: `{"files", "ours_ms", "ajv_ms", "ajv"}`.
pub(crate) fn run(root: &Path, scratch: &Path) -> Result<Value> {
    let ajv = install_ajv(root)?;
    let directory = scratch.join("validate-10k");
    write_files(root, &directory)?;
    let binary = crate::target_dir(root).join("release/openai-conn");
    let ours = median_ms(3, || {
        let mut command = Command::new(&binary);
        command.args(["validate", "-q"]).arg(&directory);
        command
    })?;
    let schema = root.join("schema/openai-connection-extra.schema.json");
    let ajv_ms = median_ms(3, || {
        let mut command = Command::new(&ajv);
        command
            .args(["validate", "--spec=draft2020", "--strict=false", "-s"])
            .arg(&schema)
            .arg("-d")
            .arg(format!("{}/*.json", directory.display()));
        command
    })?;
    Ok(json!({ "files": FILES, "ours_ms": ours, "ajv_ms": ajv_ms, "ajv": AJV_CLI }))
}

/// The `ajv` command, installed with npm when missing.
fn install_ajv(root: &Path) -> Result<PathBuf> {
    let directory = root.join(AJV_DIR);
    let binary = directory.join("node_modules/.bin/ajv");
    if !binary.exists() {
        std::fs::create_dir_all(&directory)?;
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&directory)
            .arg(AJV_CLI)
            .status()
            .context("running npm (Node.js is needed for P7)")?;
        if !status.success() {
            bail!("npm install {AJV_CLI} failed: {status}");
        }
    }
    Ok(binary)
}

/// `FILES` valid `extra` documents: the examples that are bare extras, over and over.
fn write_files(root: &Path, directory: &Path) -> Result<()> {
    std::fs::create_dir_all(directory)?;
    let mut extras: Vec<String> = Vec::new();
    for path in crate::files_with_extension(&root.join("examples"), "json")? {
        let text = std::fs::read_to_string(&path)?;
        if text.contains("openai-connection-extra.schema.json") {
            extras.push(text);
        }
    }
    if extras.is_empty() {
        bail!("no bare extra among the examples");
    }
    for index in 0..FILES {
        let path = directory.join(format!("c{index:05}.json"));
        std::fs::write(&path, &extras[index % extras.len()])?;
    }
    Ok(())
}
