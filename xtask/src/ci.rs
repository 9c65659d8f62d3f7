//! `cargo xtask ci`: everything CI runs, in the order that fails fastest.

use std::path::Path;

use anyhow::{Context, Result};

use crate::{cargo, deploy, editor, fuzz, proxy_e2e, record, schema, tidy, wheel, workflows};

pub(crate) fn run(root: &Path) -> Result<()> {
    cargo(root, &["fmt", "--all", "--check"])?;
    cargo(
        root,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // The libraries and binaries as a user builds them: without the features that the tests'
    // dev-dependencies turn on (`test-util`, `validator`), which a workspace-wide
    // build with tests unifies in.
    cargo(
        root,
        &[
            "clippy",
            "--workspace",
            "--lib",
            "--bins",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    schema::check(root)?;
    record::check(root)?;
    workflows::lint(root)?;
    tidy::check(root)?;
    cargo(root, &["test", "--workspace", "--locked"])?;
    editor::run(root)?;
    wheel::run(root, false)?;
    proxy_e2e::run(root)?;
    deploy::check(root)?;
    fuzz::build(root)?;
    // Every library crate packages as it would be published (metadata, versions of the path
    // dependencies, files), and each package builds from its own files alone: verification
    // unpacks it and builds it, so nothing may be read from outside a package.
    forget_unpacked_packages(root)?;
    cargo(
        root,
        &[
            "package",
            "--workspace",
            "--exclude",
            "xtask",
            "--exclude",
            "openai-conn-tests",
            "--allow-dirty",
            "--locked",
        ],
    )?;
    eprintln!("xtask: ci passed");
    Ok(())
}

/// Removes the copies of this workspace's packages that an earlier `cargo package` verification
/// unpacked. Cargo unpacks each package from its local registry into
/// `$CARGO_HOME/registry/src/-<hash of that registry's path>/NAME-VERSION` and reuses the copy
/// while it is there, so a second run from the same checkout path would verify the first run's
/// sources (seen: a macro added since was "not found"). Local registries' folders start with `-`;
/// crates.io's is named after its host and is left alone.
fn forget_unpacked_packages(root: &Path) -> Result<()> {
    let metadata = tidy::metadata(root)?;
    let members = tidy::workspace_crates(&metadata);
    let unpacked_names: Vec<String> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|package| {
            package["name"]
                .as_str()
                .is_some_and(|name| members.contains(&name))
        })
        .filter_map(|package| {
            Some(format!(
                "{}-{}",
                package["name"].as_str()?,
                package["version"].as_str()?
            ))
        })
        .collect();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    let Some(sources) = cargo_home.map(|home| home.join("registry/src")) else {
        return Ok(());
    };
    let Ok(registries) = std::fs::read_dir(&sources) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for name in &unpacked_names {
            let unpacked = registry.path().join(name);
            if unpacked.is_dir() {
                std::fs::remove_dir_all(&unpacked)
                    .with_context(|| format!("removing {}", unpacked.display()))?;
            }
        }
    }
    Ok(())
}
