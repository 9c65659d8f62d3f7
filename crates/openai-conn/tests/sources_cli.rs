//! SOURCE forms from the shell: `AIRFLOW_CONN_*` (JSON and URI), connections files, overrides.

mod support;

/// Runs `openai-conn` with `args` and `env`: its exit code, standard output and standard error.
fn run_with(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let output = support::run_with(args, env);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `validate --connections-file FILE --conn-id CONN_ID`.
fn validate_in(file: &str, conn_id: &str) -> (Option<i32>, String, String) {
    run_with(
        &["validate", "--connections-file", file, "--conn-id", conn_id],
        &[],
    )
}

/// Checks the exit code, and that stdout holds `expected`.
fn assert_exit_and_stdout(code: Option<i32>, stdout: &str, expected_code: i32, expected: &str) {
    assert_eq!(code, Some(expected_code), "{stdout}");
    assert!(
        stdout.contains(expected),
        "expected stdout to hold {expected:?}: {stdout}"
    );
}

#[test]
fn airflow_conn_json_form_is_validated() {
    let json = r#"{"conn_type": "openai", "extra": {"auth_type": "workload_identity", "workload_identity_provider": "gcp", "identity_provider_id": "i", "service_account_id": "s"}}"#;
    let (code, stdout, _) = run_with(
        &["validate", "--conn-id", "my_conn"],
        &[("AIRFLOW_CONN_MY_CONN", json)],
    );
    assert_exit_and_stdout(
        code,
        &stdout,
        0,
        "env AIRFLOW_CONN_MY_CONN: ok (workload_identity, provider gcp)",
    );
}

#[test]
fn airflow_conn_uri_form_with_extra_is_validated_without_echoing_the_key() {
    let extra = "%7B%22auth_type%22%3A%20%22workload_identity%22%2C%20%22workload_identity_provider%22%3A%20%22gpc%22%7D";
    let uri = format!("openai://:sk-uri-SECRET-123@api.example.com/?__extra__={extra}");
    let (code, stdout, stderr) = run_with(
        &["validate", "--conn-id", "uri_conn"],
        &[("AIRFLOW_CONN_URI_CONN", &uri)],
    );
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("unknown workload_identity_provider \"gpc\""),
        "{stdout}"
    );
    assert!(stdout.contains("did you mean \"gcp\"?"), "{stdout}");
    assert!(!stdout.contains("sk-uri-SECRET-123") && !stderr.contains("sk-uri-SECRET-123"));
}

#[test]
fn a_missing_airflow_conn_variable_is_a_usage_error() {
    let (code, _, stderr) = run_with(&["validate", "--conn-id", "nope"], &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("AIRFLOW_CONN_NOPE"), "{stderr}");
}

#[test]
fn connections_files_in_yaml_and_json_are_read_by_conn_id() {
    let yaml = "tests/fixtures/connections/airflow-connections.yaml";
    let (code, stdout, _) = validate_in(yaml, "openai_gcp");
    assert_eq!(code, Some(0), "{stdout}");
    let (code, stdout, _) = validate_in(yaml, "openai_uri");
    assert_eq!(code, Some(0), "{stdout}");
    let (code, stdout, _) = validate_in(yaml, "openai_broken");
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains(
            ":20:5: error[not-allowed-here]: key \"audience\" does not apply to workload_identity_provider \"azure\""
        ),
        "{stdout}"
    );
    let (code, _, stderr) = validate_in(yaml, "missing");
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("openai_broken") && stderr.contains("openai_gcp"),
        "{stderr}"
    );
    let json = "tests/fixtures/connections/airflow-connections.json";
    let (code, stdout, _) = validate_in(json, "openai_k8s");
    assert_eq!(code, Some(0), "{stdout}");
}

#[test]
fn an_error_in_an_override_names_the_variable() {
    let (code, stdout, _) = run_with(
        &["validate", "examples/azure.json"],
        &[("OPENAI_CONN_EXTRA__AUDIENCE", "https://api.openai.com/v1")],
    );
    assert_exit_and_stdout(
        code,
        &stdout,
        1,
        "env OPENAI_CONN_EXTRA__AUDIENCE: error[not-allowed-here]: key \"audience\" does not apply",
    );
}

#[test]
fn files_and_conn_id_together_or_neither_are_usage_errors() {
    assert_eq!(
        run_with(&["validate", "--conn-id", "x", "examples/gcp.json"], &[]).0,
        Some(2)
    );
    assert_eq!(run_with(&["validate"], &[]).0, Some(2));
    assert_eq!(
        run_with(&["validate", "--connections-file", "x.yaml"], &[]).0,
        Some(2)
    );
}
