//! Shared helpers for the end-to-end tests: where the fixtures are and how to run the CLI.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Sorted `*.json` files of `tests/fixtures/<class>` (or any folder relative to the workspace).
pub fn json_files(folder: &str) -> Vec<PathBuf> {
    let directory = workspace().join(folder);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    paths.sort();
    paths
}

/// The `openai-conn` binary of this build. `cargo test --workspace` builds it beside the test
/// executables; when a single test package is run, it is built here first (once).
pub fn openai_conn() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "--package",
                    "openai-conn",
                    "--bin",
                    "openai-conn",
                ])
                .current_dir(workspace())
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building openai-conn failed");
            let executable = std::env::current_exe().expect("test executable path");
            let profile_directory = executable
                .parent()
                .and_then(Path::parent)
                .expect("target/<profile>/deps/<test>");
            profile_directory.join(format!("openai-conn{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}

/// Runs `openai-conn` with `args` in the workspace root, with a clean environment for the
/// variables the tool reads (so a developer's own settings cannot change a test's outcome).
pub fn run(args: &[&str]) -> Output {
    command(args).output().expect("openai-conn runs")
}

/// A `Command` for `openai-conn` with `args`, ready for more settings (env, stdin).
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(openai_conn());
    command.args(args).current_dir(workspace());
    for (name, _) in std::env::vars() {
        let read_by_the_tool = [
            "OPENAI_",
            "AIRFLOW_CONN_",
            "AZURE_",
            "IDENTITY_",
            "GCE_METADATA_",
            "ACTIONS_ID_TOKEN_",
            "RUST_LOG",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix));
        if read_by_the_tool {
            command.env_remove(name);
        }
    }
    command
}
