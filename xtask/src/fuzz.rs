//! `cargo xtask fuzz`: run the libFuzzer target on the validator for 60 s.
//!
//! The fuzz crate lives outside the workspace (`fuzz/`, cargo-fuzz layout) because it needs
//! libFuzzer and sanitizer flags; `RUSTC_BOOTSTRAP=1` lets cargo-fuzz use them on the stable
//! toolchain this project is pinned to.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Builds the fuzz target without sanitizers: proves it compiles (run by `cargo xtask ci`).
pub(crate) fn build(root: &Path) -> Result<()> {
    crate::cargo(
        root,
        &["build", "--quiet", "--manifest-path", "fuzz/Cargo.toml"],
    )
}

/// Installs cargo-fuzz when missing, then fuzzes for `seconds`.
pub(crate) fn run(root: &Path, seconds: u64) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let installed = Command::new(&cargo)
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        crate::cargo(root, &["install", "cargo-fuzz", "--locked"])?;
    }
    let status = Command::new(&cargo)
        .args(["fuzz", "run", "validate", "corpus/validate", "--"])
        .arg(format!("-max_total_time={seconds}"))
        .current_dir(root.join("fuzz"))
        .env("RUSTC_BOOTSTRAP", "1")
        .status()
        .context("running cargo fuzz")?;
    if !status.success() {
        bail!("the fuzzer found a failure ({status}); see fuzz/artifacts/validate");
    }
    Ok(())
}
