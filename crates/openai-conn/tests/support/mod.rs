//! Shared helpers for the CLI's end-to-end tests: where the fixtures are and how to run the
//! `openai-conn` binary that cargo built for these tests.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
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

/// Runs `openai-conn` with `args` in the workspace root, with a clean environment for the
/// variables the tool reads (so a developer's own settings cannot change a test's outcome).
pub fn run(args: &[&str]) -> Output {
    command(args).output().expect("openai-conn runs")
}

/// A `Command` for `openai-conn` with `args`, ready for more settings (env, stdin).
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_openai-conn"));
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

/// Runs `openai-conn` with `args` and the extra `env` off the async runtime, so the loopback
/// servers of the test keep serving while it runs.
pub async fn run_async(args: Vec<String>, env: Vec<(String, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let arguments: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut command = command(&arguments);
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().expect("openai-conn runs")
    })
    .await
    .expect("the blocking task finishes")
}

/// Output bytes as text, for assertions and failure messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
