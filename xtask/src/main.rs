//! `cargo xtask`: maintainer tasks.
//!
//! - `schema [--check]`: write (or check) `schema/*.json` and `docs/reference.md` from the
//!   model's types.
//! - `publish [--base-url URL] [--out DIR]`: the static site of the schemas (`target/site`).
//! - `snapshots`: run the validation snapshot tests.
//! - `tidy`: check dependency direction (no HTTP or async stack below `openai-conn-client`).
//! - `editor-test`: the schemas in VS Code's JSON language service, the YAML language server,
//!   Ajv strict mode and taplo (`tests/editor`).
//! - `fuzz`: the libFuzzer target on the validator, for 60 s.
//! - `bench`: authentication benchmarks, ours next to the official Python SDK; `bench --cold`:
//!   the cost of a first build from a fresh clone, and of depending on one crate alone.
//! - `ci`: everything CI runs: fmt check, clippy `-D warnings`, schema check, tidy, the tests,
//!   the editor test, the wheel test, a build of the fuzz target, and `cargo package` of every
//!   library crate.

mod bench;
mod build_cost;
mod editor;
mod fuzz;
mod modules;
mod publish;
mod reference;
mod schema;
mod tidy;
mod wheel;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("schema") => {
            let check = args.iter().any(|arg| arg == "--check");
            if check {
                schema::check(&root)
            } else {
                schema::write(&root)
            }
        }
        Some("publish") => publish::run(&root, &args[1..]),
        Some("snapshots") => cargo(&root, &["test", "-p", "conn-schema", "--test", "snapshots"]),
        Some("tidy") => tidy::check(&root),
        Some("editor-test") => editor::run(&root),
        Some("fuzz") => fuzz::run(&root, 60),
        Some("bench") if args.iter().any(|arg| arg == "--cold") => build_cost::run(&root),
        Some("bench") => bench::run(&root),
        Some("wheel-test") => wheel::run(&root, args.iter().any(|arg| arg == "--release")),
        Some("ci") => ci(&root),
        _ => bail!(
            "usage: cargo xtask <schema [--check] | publish [--base-url URL] [--out DIR] | snapshots | tidy | editor-test | fuzz | bench [--cold] | wheel-test | ci>\n\
             schema      write schema/*.json and docs/reference.md from the model's types (--check: fail if stale)\n\
             publish     write the schema site (v1/, latest/, catalog.json, index.html, schemastore/) to target/site\n\
             snapshots   run the validation snapshot tests\n\
             tidy        check that conn-schema, providers-core and providers-kubernetes stay free of tokio, reqwest and hyper\n\
             editor-test run the schema through VS Code's JSON service, the YAML language server, Ajv strict and taplo\n\
             fuzz        fuzz the validator for 60 s (installs cargo-fuzz if missing)\n\
             bench       benchmark authentication against the official Python SDK (bench/RESULTS.md);\n\
                         --cold: time a first build from a fresh clone and fresh consumers of one crate\n\
             wheel-test  build the Python wheel, install it in a fresh venv, run it and the pre-commit hooks\n\
             ci          fmt check, clippy -D warnings, schema check, tidy, all tests, editor test, wheel test, fuzz build, cargo package"
        ),
    }
}

fn ci(root: &Path) -> Result<()> {
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
    // dev-dependencies turn on (`test-util`, `validator`, `test-support`), which a workspace-wide
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
    tidy::check(root)?;
    cargo(root, &["test", "--workspace", "--locked"])?;
    editor::run(root)?;
    wheel::run(root, false)?;
    fuzz::build(root)?;
    // Every library crate packages as it would be published (metadata, versions of the path
    // dependencies, files); the build itself is what the tests above already did.
    cargo(
        root,
        &[
            "package",
            "--workspace",
            "--exclude",
            "xtask",
            "--exclude",
            "openai-conn-tests",
            "--no-verify",
            "--allow-dirty",
            "--locked",
        ],
    )?;
    eprintln!("xtask: ci passed");
    Ok(())
}

/// Runs cargo in the workspace root and fails if it fails.
pub(crate) fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    eprintln!("xtask: cargo {}", args.join(" "));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(args)
        .current_dir(root)
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// The workspace root: the parent of this crate's directory.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
