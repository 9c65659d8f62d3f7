//! `cargo xtask editor-test`: the published schemas in real editor engines.
//!
//! The tests are in `tests/editor`, run by `node --test` against pinned npm packages:
//! `editor.test.mjs` (VS Code's JSON language service), `yaml.test.mjs` (the YAML language
//! server), `schemastore.test.mjs` (the site's `schemastore/` folder and both schemas under Ajv's
//! strict mode, as SchemaStore's CI checks them) and `taplo.test.mjs` (taplo on TOML connection
//! files). Their lockfile records no download URLs, so `npm ci` installs from whatever registry this
//! machine's npm is configured for; taplo is installed from its wheel into a venv under `target/`.
//! The site they read is written by the same code as `cargo xtask publish`, into `target/`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The folder of the Node test, relative to the workspace root.
const EDITOR_DIR: &str = "tests/editor";
/// The test files `node --test` runs.
const TEST_FILES: [&str; 4] = [
    "editor.test.mjs",
    "yaml.test.mjs",
    "schemastore.test.mjs",
    "taplo.test.mjs",
];
/// The taplo release the TOML test measures (its wheel on the Python package index).
const TAPLO: &str = "taplo==0.9.3";
/// Where the test's site and taplo's venv go, under the target directory.
const WORK_DIR: &str = "editor-test";

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
        status("npm", &["ci", "--no-audit", "--no-fund"], &directory, &[])?;
    }
    let work = crate::target_dir(root).join(WORK_DIR);
    let site = work.join("site");
    if site.exists() {
        std::fs::remove_dir_all(&site).with_context(|| format!("clearing {}", site.display()))?;
    }
    let files = crate::site::site(root, conn_schema::schema::SCHEMA_BASE_URL)?;
    crate::site::write_all(&site, &files)?;
    let taplo = install_taplo(&work)?;
    let mut args = vec!["--test"];
    args.extend(TEST_FILES);
    let site = site.to_string_lossy().into_owned();
    let taplo = taplo.to_string_lossy().into_owned();
    // SchemaStore's CI registers these keywords for every schema; the Ajv test does the same.
    let keywords = serde_json::to_string(crate::schemastore::SCHEMASTORE_KEYWORDS)?;
    status(
        "node",
        &args,
        &directory,
        &[
            ("SITE_DIR", site.as_str()),
            ("TAPLO", taplo.as_str()),
            ("SCHEMASTORE_KEYWORDS", keywords.as_str()),
        ],
    )
}

/// Installs the pinned taplo CLI into a venv under `work` unless it is there already; returns the
/// path of the `taplo` program.
fn install_taplo(work: &Path) -> Result<std::path::PathBuf> {
    let venv = work.join("taplo-venv");
    let program = venv.join("bin").join("taplo");
    let stamp = venv.join("installed.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|text| text == TAPLO) && program.exists() {
        return Ok(program);
    }
    let venv_text = venv.to_string_lossy().into_owned();
    status(
        "python3",
        &["-m", "venv", &venv_text],
        work.parent().unwrap_or(work),
        &[],
    )
    .context("the TOML test needs python3 with venv to install taplo")?;
    let pip = venv.join("bin").join("pip").to_string_lossy().into_owned();
    status(&pip, &["install", "--quiet", TAPLO], work, &[])?;
    std::fs::write(&stamp, TAPLO).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(program)
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

fn status(program: &str, args: &[&str], directory: &Path, env: &[(&str, &str)]) -> Result<()> {
    eprintln!(
        "xtask: ({}) {program} {}",
        directory.display(),
        args.join(" ")
    );
    std::fs::create_dir_all(directory)
        .with_context(|| format!("creating {}", directory.display()))?;
    crate::process::run_status(
        Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .current_dir(directory),
        &format!("{program} {}", args.join(" ")),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

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
