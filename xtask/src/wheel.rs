//! `cargo xtask wheel-test`: the Python packaging and the pre-commit hooks, end to end.
//!
//! 1. A tools venv in `target/wheel-test/venv` gets the pinned maturin and pre-commit from the
//!    package index (once; kept between runs).
//! 2. maturin builds the wheel from `pyproject.toml` into `target/wheel-test/wheels`.
//! 3. A fresh venv gets the wheel; `openai-conn --version` must print this workspace's version,
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

/// maturin, pinned: the build backend `pyproject.toml` names accepts `>=1.16,<2`.
const MATURIN: &str = "maturin==1.16.0";
/// pre-commit, pinned.
const PRE_COMMIT: &str = "pre-commit==4.7.0";
/// Where everything goes, relative to the workspace root.
const WORK_DIR: &str = "target/wheel-test";

/// Runs the whole check. `release` builds the wheel in the release profile (what `pip install .`
/// does for users) instead of `dev`.
pub(crate) fn run(root: &Path, release: bool) -> Result<()> {
    let started = Instant::now();
    let work = root.join(WORK_DIR);
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let tools = tools_venv(&work)?;
    let profile = if release { "release" } else { "dev" };

    let wheel = build_wheel(root, &work, &tools, profile)?;
    check_installed_wheel(root, &work, &wheel)?;
    check_pre_commit_hooks(root, &work, &tools, profile)?;
    eprintln!(
        "xtask: wheel-test passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The venv with maturin and pre-commit, created and filled when missing or at other versions.
fn tools_venv(work: &Path) -> Result<PathBuf> {
    let venv = work.join("venv");
    let pinned = |program: &str, pin: &str| -> bool {
        let version = pin.split("==").nth(1).unwrap_or_default();
        Command::new(venv.join("bin").join(program))
            .arg("--version")
            .output()
            .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains(version))
    };
    if !(pinned("maturin", MATURIN) && pinned("pre-commit", PRE_COMMIT)) {
        create_venv(&venv)?;
        run_checked(
            Command::new(venv.join("bin").join("pip"))
                .args(["install", "--quiet", MATURIN, PRE_COMMIT]),
        )?;
    }
    Ok(venv)
}

/// A venv at `venv` holding exactly the `pins` (`name==version`), created and filled when
/// missing or at other versions; returns the venv. Used by the proxy and deployment checks too.
pub(crate) fn pinned_venv(venv: &Path, pins: &[&str]) -> Result<PathBuf> {
    let frozen = Command::new(venv.join("bin").join("python"))
        .args(["-m", "pip", "freeze", "--disable-pip-version-check"])
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).to_lowercase())
        .unwrap_or_default();
    let present = |pin: &str| frozen.lines().any(|line| line == pin.to_lowercase());
    if !pins.iter().all(|pin| present(pin)) {
        create_venv(venv)?;
        run_checked(
            Command::new(venv.join("bin").join("pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .args(pins),
        )?;
    }
    Ok(venv.to_path_buf())
}

fn create_venv(venv: &Path) -> Result<()> {
    if venv.exists() {
        std::fs::remove_dir_all(venv).with_context(|| format!("removing {}", venv.display()))?;
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    run_checked(Command::new(&python).args(["-m", "venv"]).arg(venv))
        .with_context(|| format!("the wheel test needs Python 3.8 or later as `{python}`"))?;
    Ok(())
}

/// Builds the wheel with maturin; returns its path.
fn build_wheel(root: &Path, work: &Path, tools: &Path, profile: &str) -> Result<PathBuf> {
    let wheels = work.join("wheels");
    if wheels.exists() {
        std::fs::remove_dir_all(&wheels)
            .with_context(|| format!("removing {}", wheels.display()))?;
    }
    run_checked(
        Command::new(tools.join("bin").join("maturin"))
            .args([
                "build",
                "--profile",
                profile,
                "--compatibility",
                "off",
                "--out",
            ])
            .arg(&wheels)
            .env("CARGO_TARGET_DIR", root.join("target"))
            .current_dir(root),
    )?;
    let mut built: Vec<PathBuf> = std::fs::read_dir(&wheels)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension() == Some(OsStr::new("whl")))
        .collect();
    match (built.pop(), built.is_empty()) {
        (Some(wheel), true) => Ok(wheel),
        _ => bail!("expected exactly one wheel in {}", wheels.display()),
    }
}

/// Installs the wheel into a fresh venv and runs the command it provides.
fn check_installed_wheel(root: &Path, work: &Path, wheel: &Path) -> Result<()> {
    let venv = work.join("install-venv");
    create_venv(&venv)?;
    run_checked(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--no-index", "--no-deps"])
            .arg(wheel),
    )?;
    let openai_conn = venv.join("bin").join("openai-conn");

    let version = run_checked(Command::new(&openai_conn).arg("--version"))?;
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
            .arg("validate")
            .args(&examples)
            .current_dir(root),
        0,
        "validate examples/*.json",
    )?;
    let invalid = expect_exit(
        Command::new(&openai_conn)
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
const HOOK_NAMES: [&str; 2] = [
    "openai-conn validate",
    "openai-conn validate (Airflow connections files)",
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
            .env("CARGO_TARGET_DIR", root.join("target"))
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
    for hook in HOOK_NAMES {
        expect_line(&good, hook, "Passed")?;
    }

    let bad = expect_exit(
        &mut try_repo(&["bad.openai-connection.json", "bad-connections.yaml"]),
        1,
        "pre-commit try-repo on the bad files",
    )?;
    for hook in HOOK_NAMES {
        expect_line(&bad, hook, "Failed")?;
    }
    expect_text(
        &bad,
        "bad.openai-connection.json:3:3: error[unknown-key]: unknown key \"workload_identity_providr\"",
    )?;
    expect_text(
        &bad,
        "bad-connections.yaml#openai_broken:20:5: error[not-allowed-here]",
    )?;
    eprintln!("xtask: the pre-commit hooks pass the good files and fail the bad ones");
    Ok(())
}

/// `PATH` with `directory` first.
fn path_with(directory: &Path) -> std::ffi::OsString {
    let mut paths = vec![directory.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` with its output shown, and fails unless it exits 0.
pub(crate) fn run_checked(command: &mut Command) -> Result<Output> {
    let output = expect_exit(command, 0, "")?;
    Ok(output)
}

/// Runs `command`, captures its output, and fails (showing the output) unless it exits `code`.
pub(crate) fn expect_exit(command: &mut Command, code: i32, what: &str) -> Result<Output> {
    let described = describe(command);
    eprintln!("xtask: {described}");
    let output = command
        .output()
        .with_context(|| format!("running {described}"))?;
    if output.status.code() != Some(code) {
        bail!(
            "{} exited with {} (expected {code})\n--- stdout\n{}\n--- stderr\n{}",
            if what.is_empty() { &described } else { what },
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output)
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn expect_text(output: &Output, needle: &str) -> Result<()> {
    let text = text(output);
    if !text.contains(needle) {
        bail!("expected {needle:?} in the output:\n{text}");
    }
    Ok(())
}

/// A line of pre-commit's summary: the hook's name, dots, then `Passed` or `Failed`.
fn expect_line(output: &Output, hook: &str, verdict: &str) -> Result<()> {
    let text = text(output);
    let found = text.lines().any(|line| {
        line.strip_prefix(hook)
            .is_some_and(|rest| rest.starts_with('.') && rest.trim_end().ends_with(verdict))
    });
    if !found {
        bail!("expected the hook {hook:?} to have {verdict} in:\n{text}");
    }
    Ok(())
}
