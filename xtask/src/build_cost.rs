//! `cargo xtask bench --cold`: what a first build costs, measured from scratch on this machine.
//!
//! - The README's first command (`cargo run -p openai-conn -- validate examples/*.json`) in a
//!   fresh `git clone` of the committed tree with an empty target directory: once with the
//!   crate sources already in cargo's cache, and once with an empty `CARGO_HOME` (everything
//!   downloaded through the registry this machine is configured for).
//! - A fresh crate whose only dependency is `providers-core`, `providers-kubernetes` or
//!   `conn-schema` (what a program that needs only the model, or only one source, pays), built
//!   with an empty target directory: seconds and the number of crates compiled.
//!
//! The figures go to `bench/build.json` and a section of `bench/RESULTS.md`. They are figures,
//! not a test: nothing here fails on a slow build.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::json;

/// The crates a program may depend on alone, as the README's crate map lists them.
const CONSUMED_ALONE: [&str; 3] = ["providers-core", "providers-kubernetes", "conn-schema"];

/// Where the measurements put their clones and targets (removed afterwards), under the target
/// directory.
const SCRATCH: &str = "build-cost";

/// One timed cargo command: its wall time, the crates it compiled, and the machine's 1-minute
/// load average when it ended (2 on an otherwise idle 2-core machine: the build's own jobs).
struct Timed {
    seconds: f64,
    compiled: usize,
    load: f64,
}

/// The 1-minute load average (`/proc/loadavg`), or NaN where there is none.
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Runs `cargo args` in `dir` with `env` set (and `CARGO_TARGET_DIR` cleared, so the directory's
/// own empty `target/` is used), and times it.
fn timed_cargo(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Result<Timed> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .args(args)
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    eprintln!("xtask: (in {}) cargo {}", dir.display(), args.join(" "));
    let started = Instant::now();
    let output = command
        .output()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "cargo {} failed ({}):\n{stderr}",
            args.join(" "),
            output.status
        );
    }
    let compiled = stderr
        .lines()
        .filter(|line| line.trim_start().starts_with("Compiling "))
        .count();
    Ok(Timed {
        seconds,
        compiled,
        load: load_average(),
    })
}

/// A fresh `git clone` of the committed tree at `root` into `into`.
fn clone(root: &Path, into: &Path) -> Result<()> {
    let status = Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(root)
        .arg(into)
        .status()
        .context("running git clone")?;
    if !status.success() {
        bail!("git clone of {} failed", root.display());
    }
    Ok(())
}

/// The example connections, as the shell would expand `examples/*.json`.
fn examples(repo: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(repo.join("examples"))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .map(|name| format!("examples/{name}"))
        .collect();
    names.sort();
    Ok(names)
}

/// The README's first command in a fresh clone with an empty target directory.
fn first_command(root: &Path, scratch: &Path, name: &str, env: &[(&str, &Path)]) -> Result<Timed> {
    let repo = scratch.join(name);
    clone(root, &repo)?;
    let examples = examples(&repo)?;
    let mut args = vec!["run", "-p", "openai-conn", "--", "validate"];
    args.extend(examples.iter().map(String::as_str));
    timed_cargo(&repo, &args, env)
}

/// A cargo home with nothing downloaded, configured like this machine's (the registry it may
/// reach), so that the measurement includes every download.
fn empty_cargo_home(scratch: &Path) -> Result<PathBuf> {
    let home = scratch.join("cargo-home");
    std::fs::create_dir_all(&home)?;
    let current = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    for file in ["config.toml", "config"] {
        if current.join(file).exists() {
            std::fs::copy(current.join(file), home.join(file))?;
        }
    }
    Ok(home)
}

/// A fresh crate depending on `crate_name` alone (by path into the clone), built from an empty
/// target with the workspace's lock file as the starting point (so the versions are the
/// workspace's).
fn consumer(repo: &Path, scratch: &Path, crate_name: &str) -> Result<Timed> {
    let dir = scratch.join(format!("consumer-of-{crate_name}"));
    std::fs::create_dir_all(dir.join("src"))?;
    let manifest = format!(
        "[package]\nname = \"consumer-of-{crate_name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
         publish = false\n\n[dependencies]\n{crate_name} = {{ path = {:?} }}\n\n[workspace]\n",
        repo.join("crates").join(crate_name).display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest)?;
    std::fs::write(
        dir.join("src/lib.rs"),
        format!("pub use {};\n", crate_name.replace('-', "_")),
    )?;
    std::fs::copy(repo.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    timed_cargo(&dir, &["build"], &[])
}

/// `cargo xtask bench --cold`.
pub(crate) fn run(root: &Path) -> Result<()> {
    let scratch = crate::target_dir(root).join(SCRATCH);
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)?;
    }
    std::fs::create_dir_all(&scratch)?;
    let started = Instant::now();

    let cached = first_command(root, &scratch, "clone-cached", &[])?;
    let home = empty_cargo_home(&scratch)?;
    let downloaded = first_command(
        root,
        &scratch,
        "clone-downloaded",
        &[("CARGO_HOME", home.as_path())],
    )?;
    let mut consumers = Vec::new();
    let repo = scratch.join("clone-cached");
    for crate_name in CONSUMED_ALONE {
        let timed = consumer(&repo, &scratch, crate_name)?;
        consumers.push(json!({
            "crate": crate_name,
            "seconds": timed.seconds,
            // The consumer itself is not part of what the crate costs.
            "compiled": timed.compiled.saturating_sub(1),
            "load_average": timed.load,
        }));
    }
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root)
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default();
    let results = json!({
        "cores": std::thread::available_parallelism().map_or(0, usize::from),
        "commit": commit,
        "first_command": {
            "sources_cached": {
                "seconds": cached.seconds,
                "compiled": cached.compiled,
                "load_average": cached.load,
            },
            "nothing_downloaded": {
                "seconds": downloaded.seconds,
                "compiled": downloaded.compiled,
                "load_average": downloaded.load,
            },
        },
        "consumers": consumers,
        "seconds": started.elapsed().as_secs_f64(),
    });
    std::fs::write(
        root.join("bench/build.json"),
        format!("{}\n", serde_json::to_string_pretty(&results)?),
    )?;
    std::fs::remove_dir_all(&scratch).ok();
    crate::bench_report::write_report(root)?;
    eprintln!(
        "xtask: wrote bench/build.json and bench/RESULTS.md in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
