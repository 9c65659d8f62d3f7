//! `cargo xtask ci`: everything CI runs, in the order that fails fastest.

use std::path::Path;

use anyhow::Result;

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
