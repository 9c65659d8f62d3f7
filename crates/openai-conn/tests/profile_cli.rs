//! `--profile airflow` from the shell: the same connection passes the default profile and fails
//! the Airflow one, on `validate` and `plan`; `.env` connections files are read.

mod support;

use serde_json::Value;
use support::{run, stdout};

#[test]
fn github_actions_passes_by_default_and_fails_the_airflow_profile() {
    let file = "examples/github-actions.json";
    assert_eq!(run(&["validate", file]).status.code(), Some(0));
    assert_eq!(
        run(&["validate", "--profile", "openai-conn", file])
            .status
            .code(),
        Some(0)
    );

    let output = run(&["validate", "--profile", "airflow", "--format", "json", file]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let diagnostics: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["pointer"], "/workload_identity_provider");
    assert_eq!(diagnostics[0]["severity"], "error");
    assert!(diagnostics[0]["line"].as_u64().is_some_and(|line| line > 1));

    // `plan` refuses it too, with the finding on standard error.
    let output = run(&["plan", "--profile", "airflow", file]);
    assert_eq!(output.status.code(), Some(1));
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        errors.contains("Airflow's OpenAI provider has no workload_identity_provider"),
        "{errors}"
    );
    assert_eq!(run(&["plan", file]).status.code(), Some(0));
}

#[test]
fn an_unknown_profile_is_a_usage_error() {
    let output = run(&["validate", "--profile", "dagster", "examples/api-key.json"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn env_connections_files_are_read_with_line_numbers() {
    let file = "tests/fixtures/connections/airflow-connections.env";
    let ok = run(&[
        "validate",
        "--connections-file",
        file,
        "--conn-id",
        "openai_k8s",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let broken = run(&[
        "validate",
        "--connections-file",
        file,
        "--conn-id",
        "openai_broken",
    ]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        stdout(&broken).contains("airflow-connections.env#openai_broken:7:181: error"),
        "{}",
        stdout(&broken)
    );
    let malformed = run(&[
        "validate",
        "--connections-file",
        "tests/fixtures/connections/malformed.env",
        "--conn-id",
        "openai_default",
    ]);
    // A syntax error, in any format, is exit 1; only unreadable input is exit 2.
    assert_eq!(malformed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("malformed.env:3:1"));
}

/// `--connections-file` without `--conn-id` checks every OpenAI connection of a `.env` file too,
/// each finding at its line, and the Airflow profile adds what Airflow would reject.
#[test]
fn every_connection_of_an_env_file_is_checked_at_its_line() {
    let file = "tests/fixtures/connections/airflow-connections.env";
    let output = run(&["validate", "--connections-file", file]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("{file}#openai_k8s: ok")), "{text}");
    assert!(
        text.contains(&format!("{file}#openai_github: ok")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{file}#openai_broken:7:181: error[not-allowed-here]"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("{file}#openai_typo:9:13: error[unknown-value]")),
        "{text}"
    );

    let output = run(&[
        "validate",
        "--profile",
        "airflow",
        "--connections-file",
        file,
    ]);
    let text = stdout(&output);
    assert!(
        text.contains(&format!("{file}#openai_github:")) && text.contains("error[not-in-airflow]"),
        "{text}"
    );
}

#[test]
fn data_residency_selects_the_base_in_plan_and_is_not_in_airflow() {
    let file = "tests/fixtures/valid/data-residency-eu.json";
    assert_eq!(run(&["validate", file]).status.code(), Some(0));
    let output = support::command(&["plan", "--format", "json", file])
        .env("OPENAI_API_KEY", "sk-test-env")
        .env("OPENAI_BASE_URL", "https://env.example.com/v1")
        .output()
        .expect("openai-conn runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        support::text(&output.stderr)
    );
    let plan: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(plan["base_url"], "https://eu.api.openai.com/v1");
    assert_eq!(
        plan["base_url_source"],
        "openai_client_kwargs.data_residency"
    );

    let output = run(&["validate", "--profile", "airflow", "--format", "json", file]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let diagnostics: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "not-in-airflow");
    assert_eq!(
        diagnostics[0]["pointer"],
        "/openai_client_kwargs/data_residency"
    );
}
