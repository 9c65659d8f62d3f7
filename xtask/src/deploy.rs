//! The deployment examples, checked rather than read: `deploy/kubernetes/*.yaml` against the
//! Kubernetes API schemas with kubernetes-validate (strict: unknown fields fail), which ships the
//! schemas of every Kubernetes version it knows, so the check needs no network. It runs from a
//! venv under `target/deploy-check/`. A copy with a misspelt field must fail, so a validator
//! that checks nothing cannot pass the real files.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

use crate::dist::tools_venv;
use crate::process::expect_exit;

/// The validator, pinned.
const KUBERNETES_VALIDATE: &str = "kubernetes-validate==1.37.0";
/// The Kubernetes version the manifests must be valid for (native sidecars need 1.29 or later).
const KUBERNETES_VERSION: &str = "1.33.0";
const WORK_DIR: &str = "deploy-check";

pub(crate) fn check(root: &Path) -> Result<()> {
    let work = crate::work_dir(root, WORK_DIR)?;
    let venv = tools_venv(&work.join("venv"), &[KUBERNETES_VALIDATE])?;
    let validator = venv.join("bin").join("kubernetes-validate");
    let manifests = manifests(root)?;
    if manifests.is_empty() {
        bail!("no manifest in deploy/kubernetes");
    }
    let validate = |files: &[PathBuf]| {
        let mut command = Command::new(&validator);
        command
            .args(["--strict", "--no-warn", "-k", KUBERNETES_VERSION])
            .args(files)
            .current_dir(root);
        command
    };
    expect_exit(
        &mut validate(&manifests),
        0,
        "kubernetes-validate on deploy/kubernetes",
    )?;

    // The validator must see a misspelt field in the same manifest.
    let original = std::fs::read_to_string(&manifests[0])?;
    let broken = original.replace("restartPolicy: Always", "restartPolicyy: Always");
    if broken == original {
        bail!(
            "{}: no `restartPolicy: Always` to misspell for the self-check",
            manifests[0].display()
        );
    }
    let copy = work.join("misspelt.yaml");
    std::fs::write(&copy, broken)?;
    expect_exit(
        &mut validate(&[copy]),
        1,
        "kubernetes-validate on a manifest with a misspelt field (it must fail)",
    )?;
    eprintln!(
        "xtask: deploy check passed: {} manifest(s) valid for Kubernetes {KUBERNETES_VERSION}",
        manifests.len()
    );
    Ok(())
}

fn manifests(root: &Path) -> Result<Vec<PathBuf>> {
    crate::files_with_extension(&root.join("deploy/kubernetes"), "yaml")
}
