//! `cargo xtask publish [--base-url URL] [--out DIR]`: checks what is about to be published and
//! writes the site (`site.rs`) to `DIR` (`target/site` by default).
//!
//! Publishing writes nothing else: a clean checkout stays clean. It refuses to publish schemas
//! that the checked-in record of the published major (`schema/v1/`, written by the explicit step
//! `cargo xtask record`) does not hold, so what is served is always what the versioning test
//! compares later schemas with.

use std::path::Path;

use anyhow::{Result, bail};
use serde_json::Value;

use crate::published::normalize_base;

/// `cargo xtask publish`: the catalog rules, the record, then the site.
pub(crate) fn run(root: &Path, base_url: &str, out: &Path) -> Result<()> {
    let base_url = normalize_base(base_url)?;
    let catalog: Value = serde_json::from_str(&crate::catalog::catalog(&base_url))?;
    let problems = crate::catalog::catalog_problems(&catalog);
    if !problems.is_empty() {
        bail!(
            "the catalog breaks SchemaStore's rules:\n{}",
            problems.join("\n")
        );
    }
    crate::record::check(root)?;
    let files = crate::site::site(root, &base_url)?;
    crate::site::write_all(out, &files)?;
    eprintln!(
        "xtask: wrote {} files of the site for {base_url} to {}",
        files.len(),
        out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git_status(root: &Path) -> String {
        let output = std::process::Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=all"])
            .current_dir(root)
            .output()
            .expect("git status runs in the workspace");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Publishing writes the site where it is told and nothing in the checkout: `git status`
    /// is the same before and after.
    #[test]
    fn publishing_leaves_the_checkout_as_it_was() {
        let root = crate::workspace_root();
        let out = tempfile::tempdir().expect("a temporary folder for the site");
        let before = git_status(&root);
        run(&root, "https://example.org/s", out.path()).expect("publishing succeeds");
        assert_eq!(git_status(&root), before);
        assert!(
            out.path()
                .join("v1")
                .join("openai-connection.schema.json")
                .exists()
        );
        assert!(out.path().join("index.html").exists());
    }
}
