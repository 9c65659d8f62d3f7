//! `cargo xtask wheel-test`: the Python packaging and the pre-commit hooks, end to end.
//!
//! 1. A tools venv in `<target>/wheel-test/venv` gets the pinned maturin, zig, twine, auditwheel
//!    and pre-commit from the package index (once; kept between runs).
//! 2. maturin builds the manylinux wheel and the sdist into `<target>/wheel-test/wheels` as
//!    `cargo xtask dist` does; `twine check` and `auditwheel show` check them.
//! 3. A fresh venv gets the wheel, with no Rust toolchain on `PATH`; `openai-conn --version` must print this workspace's version,
//!    `openai-conn validate examples/*.json` must exit 0 and an invalid fixture exit 1.
//! 4. `pre-commit try-repo` runs this repository's hooks in a temporary git repository holding
//!    good and bad files: the good ones must pass, the bad ones fail with `FILE:LINE` in the
//!    output.
//!
//! Every build (maturin's here, and the one pip runs inside pre-commit) uses the workspace's
//! `target/` and the `dev` profile unless `--release` is given, so the dependencies `cargo test`
//! already compiled are reused. `pre-commit try-repo` copies tracked files only: commit or stage
//! a new file before testing it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::process::{create_venv, expect_exit, expect_text, path_with, run_checked, text};

/// pre-commit, pinned.
const PRE_COMMIT: &str = "pre-commit==4.7.0";
/// Where everything goes, under the target directory.
const WORK_DIR: &str = "wheel-test";

/// Runs the whole check. `release` builds the wheel in the release profile (what `pip install .`
/// does for users) instead of `dev`.
pub(crate) fn run(root: &Path, release: bool) -> Result<()> {
    let started = Instant::now();
    let work = crate::work_dir(root, WORK_DIR)?;
    let mut packages = crate::dist::TOOLS.to_vec();
    packages.push(PRE_COMMIT);
    let tools = crate::dist::tools_venv(&work.join("venv"), &packages)?;
    let profile = if release { "release" } else { "dev" };

    // The same build as `cargo xtask dist` (in the dev profile unless `--release`), checked the
    // same way: one wheel serves the install test and the distribution checks.
    let wheels = work.join("wheels");
    if wheels.exists() {
        std::fs::remove_dir_all(&wheels)
            .with_context(|| format!("removing {}", wheels.display()))?;
    }
    let wheel = crate::dist::build_wheel(root, &tools, profile, &wheels)?;
    let sdist = crate::dist::build_sdist(root, &tools, &wheels)?;
    crate::dist::check_distributions(&tools, &[sdist.as_path(), wheel.as_path()])?;
    check_installed_wheel(root, &work, &wheel)?;
    check_pre_commit_hooks(root, &work, &tools, profile)?;
    eprintln!(
        "xtask: wheel-test passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `PATH` without the folders that hold `cargo` or `rustc`: a machine without Rust.
fn path_without_rust() -> std::ffi::OsString {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&paths)
        .filter(|dir| !dir.join("cargo").exists() && !dir.join("rustc").exists())
        .collect();
    std::env::join_paths(kept).unwrap_or_default()
}

/// Installs the wheel into a fresh venv and runs the command it provides.
fn check_installed_wheel(root: &Path, work: &Path, wheel: &Path) -> Result<()> {
    let venv = work.join("install-venv");
    create_venv(&venv)?;
    // No Rust on PATH, and a wheel only: pip must not find anything to build.
    let no_rust = path_without_rust();
    run_checked(
        Command::new(venv.join("bin").join("python"))
            .args([
                "-c",
                "import shutil, sys; sys.exit(any(shutil.which(p) for p in ('cargo', 'rustc')))",
            ])
            .env("PATH", &no_rust),
    )
    .context("cargo or rustc is still on the PATH meant to have no Rust")?;
    run_checked(
        Command::new(venv.join("bin").join("pip"))
            .args([
                "install",
                "--quiet",
                "--no-index",
                "--no-deps",
                "--only-binary",
                ":all:",
            ])
            .arg(wheel)
            .env("PATH", &no_rust)
            .env_remove("CARGO"),
    )?;
    let openai_conn = venv.join("bin").join("openai-conn");

    let version = run_checked(
        Command::new(&openai_conn)
            .env("PATH", &no_rust)
            .arg("--version"),
    )?;
    let expected = format!("openai-conn {}", env!("CARGO_PKG_VERSION"));
    let printed = String::from_utf8_lossy(&version.stdout);
    if printed.trim() != expected {
        bail!("`openai-conn --version` printed {printed:?}, expected {expected:?}");
    }

    let mut examples: Vec<PathBuf> = std::fs::read_dir(root.join("examples"))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension() == Some(OsStr::new("json")))
        .collect();
    examples.sort();
    if examples.is_empty() {
        bail!("no examples/*.json to validate");
    }
    expect_exit(
        Command::new(&openai_conn)
            .env("PATH", &no_rust)
            .arg("validate")
            .args(&examples)
            .current_dir(root),
        0,
        "validate examples/*.json",
    )?;
    let invalid = expect_exit(
        Command::new(&openai_conn)
            .env("PATH", &no_rust)
            .args(["validate", "tests/fixtures/invalid/typo-provider-key.json"])
            .current_dir(root),
        1,
        "validate an invalid fixture",
    )?;
    expect_text(
        &invalid,
        "tests/fixtures/invalid/typo-provider-key.json:3:3: error[unknown-key]",
    )?;
    eprintln!("xtask: the installed wheel's openai-conn works ({expected})");
    Ok(())
}

/// The `name`s of the hooks in `.pre-commit-hooks.yaml`, as pre-commit's summary shows them.
const HOOK_NAMES: [&str; 3] = [
    "openai-conn validate",
    "openai-conn validate (Airflow connections files)",
    "openai-conn validate (Airflow connections files, --profile airflow)",
];

/// The files of the temporary repository: name and content.
fn hook_files(root: &Path) -> Result<Vec<(&'static str, String)>> {
    let read = |relative: &str| {
        std::fs::read_to_string(root.join(relative)).with_context(|| format!("reading {relative}"))
    };
    Ok(vec![
        ("good.openai-connection.json", read("examples/gcp.json")?),
        (
            "bad.openai-connection.json",
            read("tests/fixtures/invalid/typo-provider-key.json")?,
        ),
        (
            "good-connections.json",
            read("tests/fixtures/connections/airflow-connections.json")?,
        ),
        (
            "bad-connections.yaml",
            read("tests/fixtures/connections/airflow-connections.yaml")?,
        ),
        // Bad for Airflow only: `openai-conn-validate-airflow` must fail it with `not-in-airflow`.
        (
            "openai-conn-only-connections.yaml",
            read("tests/fixtures/connections/openai-conn-only-connections.yaml")?,
        ),
    ])
}

/// `pre-commit try-repo` of this repository, once over the good files (every hook must pass)
/// and once over the bad ones (every hook must fail and name the file and line).
fn check_pre_commit_hooks(root: &Path, work: &Path, tools: &Path, profile: &str) -> Result<()> {
    let repo = work.join("hook-repo");
    if repo.exists() {
        std::fs::remove_dir_all(&repo).with_context(|| format!("removing {}", repo.display()))?;
    }
    std::fs::create_dir_all(&repo)?;
    run_checked(
        Command::new("git")
            .args(["init", "--quiet"])
            .current_dir(&repo),
    )?;
    for (name, content) in hook_files(root)? {
        std::fs::write(repo.join(name), content)?;
    }
    run_checked(Command::new("git").args(["add", "."]).current_dir(&repo))?;

    let try_repo = |files: &[&str]| {
        let mut command = Command::new(tools.join("bin").join("pre-commit"));
        command
            .arg("try-repo")
            .arg(root)
            .arg("--files")
            .args(files)
            .current_dir(&repo)
            // pip builds the wheel inside pre-commit: reuse the workspace's compiled dependencies.
            .env("CARGO_TARGET_DIR", crate::target_dir(root))
            .env("MATURIN_PEP517_ARGS", format!("--profile {profile}"))
            .env("PRE_COMMIT_HOME", work.join("pre-commit-home"))
            // The tools venv's pre-commit, without activating it.
            .env("PATH", path_with(&tools.join("bin")));
        command
    };

    let good = expect_exit(
        &mut try_repo(&["good.openai-connection.json", "good-connections.json"]),
        0,
        "pre-commit try-repo on the good files",
    )?;
    expect_every_hook(&good, "Passed")?;

    let bad = expect_exit(
        &mut try_repo(&[
            "bad.openai-connection.json",
            "bad-connections.yaml",
            "openai-conn-only-connections.yaml",
        ]),
        1,
        "pre-commit try-repo on the bad files",
    )?;
    expect_every_hook(&bad, "Failed")?;
    expect_text(
        &bad,
        "bad.openai-connection.json:3:3: error[unknown-key]: unknown key \"workload_identity_providr\"",
    )?;
    expect_text(
        &bad,
        "bad-connections.yaml#openai_broken:20:5: error[not-allowed-here]",
    )?;
    expect_text(
        &bad,
        "openai-conn-only-connections.yaml#openai_github:7:33: error[not-in-airflow]",
    )?;
    eprintln!("xtask: the pre-commit hooks pass the good files and fail the bad ones");
    Ok(())
}

/// A line of pre-commit's summary for each of [`HOOK_NAMES`]: the hook's name, dots, then
/// `verdict` (`Passed` or `Failed`).
fn expect_every_hook(output: &Output, verdict: &str) -> Result<()> {
    let text = text(output);
    for hook in HOOK_NAMES {
        let found = text.lines().any(|line| {
            line.strip_prefix(hook)
                .is_some_and(|rest| rest.starts_with('.') && rest.trim_end().ends_with(verdict))
        });
        if !found {
            bail!("expected the hook {hook:?} to have {verdict} in:\n{text}");
        }
    }
    Ok(())
}
