//! Shared helpers for the CLI's end-to-end tests: where the fixtures are and how to run the
//! `openai-conn` binary that cargo built for these tests.
#![allow(dead_code, unreachable_pub)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub use openai_conn_tests::workspace;

/// Writes `text` as `name` in `directory` and returns the path as text.
pub fn write(directory: impl AsRef<Path>, name: &str, text: &str) -> String {
    let path = directory.as_ref().join(name);
    std::fs::write(&path, text)
        .unwrap_or_else(|error| panic!("{} can be written: {error}", path.display()));
    path.to_str()
        .expect("the temporary path is UTF-8")
        .to_owned()
}

/// A fresh temporary directory holding `text` as `name`, and the file's path as text. The
/// directory lives as long as the first value.
pub fn written(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = write(&directory, name, text);
    (directory, path)
}

/// Writes `document` as `conn.json` in `directory` and returns its path as text.
pub fn write_connection(directory: &Path, document: &serde_json::Value) -> String {
    write(directory, "conn.json", &document.to_string())
}

/// Runs `openai-conn` with `args` (as [`run`]), which must exit with `code`.
pub fn run_exiting(args: &[&str], code: i32) -> Output {
    let output = run(args);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{args:?}: {}{}",
        stdout(&output),
        stderr(&output)
    );
    output
}

/// Runs `openai-conn` with `args` in the workspace root, with a clean environment for the
/// variables the tool reads (so a developer's own settings cannot change a test's outcome).
pub fn run(args: &[&str]) -> Output {
    command(args).output().expect("openai-conn runs")
}

/// Runs `openai-conn` with `args` and the extra `env`, standard input closed.
pub fn run_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = command(args);
    command.stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("openai-conn runs")
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

/// Runs `openai-conn` with `args`, `input` on its standard input, both outputs captured.
pub fn with_stdin(args: &[&str], input: &str) -> Output {
    let mut child = command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openai-conn starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("stdin takes the document");
    child.wait_with_output().expect("openai-conn ends")
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

/// Standard output of `output` as text.
pub fn stdout(output: &Output) -> String {
    text(&output.stdout)
}

/// Standard error of `output` as text.
pub fn stderr(output: &Output) -> String {
    text(&output.stderr)
}

/// A token exchange reply that grants `access_token` for an hour, as OpenAI's exchange words it.
pub fn granting(access_token: &str) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "access_token": access_token,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "token_type": "Bearer",
        "expires_in": 3600,
    }))
}

/// The text at `key` in each object of the JSON array `array`.
pub fn texts_at<'a>(array: &'a serde_json::Value, key: &str) -> Vec<&'a str> {
    array
        .as_array()
        .unwrap_or_else(|| panic!("an array of objects with {key:?}, got {array}"))
        .iter()
        .map(|item| {
            item[key]
                .as_str()
                .unwrap_or_else(|| panic!("{key:?} is text in {item}"))
        })
        .collect()
}

/// The API's answer to `GET /v1/models` (what `test` asks): an empty list.
pub fn model_list() -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200)
        .set_body_json(serde_json::json!({"object": "list", "data": []}))
}

/// Mounts `GET /v1/models` on `server`, answering [`model_list`] whatever the credential.
pub async fn serve_models(server: &wiremock::MockServer) {
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/v1/models"))
        .respond_with(model_list())
        .mount(server)
        .await;
}
