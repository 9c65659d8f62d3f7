//! `openai-conn validate` and `schema` from the shell: verdicts, exit codes, output formats.

use conn_schema::{DocumentKind, validate_bytes};
mod support;

use openai_conn_tests::json_files;
use serde_json::Value;
use support::{run, run_exiting, stdout, with_stdin, workspace};

/// The CLI and the library give the same verdict, and the same diagnostics, on every fixture and
/// example.
#[test]
fn cli_and_library_agree_on_every_fixture() {
    let mut checked = 0;
    for folder in ["tests/fixtures/valid", "tests/fixtures/invalid", "examples"] {
        for path in json_files(folder) {
            let relative = path
                .strip_prefix(workspace())
                .expect("inside the workspace");
            let relative = relative.to_str().expect("utf-8 path");
            let output = run(&["validate", "--format", "json", relative]);
            let library =
                validate_bytes(&std::fs::read(&path).expect("fixture"), DocumentKind::Auto);
            let expected_code = if library.has_errors() { 1 } else { 0 };
            assert_eq!(
                output.status.code(),
                Some(expected_code),
                "{relative}: {}",
                stdout(&output)
            );
            let diagnostics: Vec<Value> =
                serde_json::from_slice(&output.stdout).expect("--format json prints JSON");
            assert_eq!(diagnostics.len(), library.diagnostics().len(), "{relative}");
            for (printed, diagnostic) in diagnostics.iter().zip(library.diagnostics()) {
                assert_eq!(printed["file"], relative);
                assert_eq!(printed["pointer"], diagnostic.pointer.as_str());
                let location = diagnostic
                    .location
                    .expect("a fixture's finding has a place");
                assert_eq!(printed["line"], location.line);
                assert_eq!(printed["column"], location.column);
                assert_eq!(printed["message"], diagnostic.message.as_str());
                assert_eq!(printed["code"], diagnostic.code.as_str());
            }
            checked += 1;
        }
    }
    assert!(checked >= 80, "only {checked} documents checked");
}

#[test]
fn human_output_points_at_the_typo_with_a_caret_and_a_suggestion() {
    let output = run_exiting(
        &["validate", "tests/fixtures/invalid/typo-provider-key.json"],
        1,
    );
    let text = stdout(&output);
    assert!(
        text.contains("tests/fixtures/invalid/typo-provider-key.json:3:3: error[unknown-key]: unknown key \"workload_identity_providr\""),
        "{text}"
    );
    // The carets underline the whole key, quotes included.
    assert!(
        text.contains(
            "3 |   \"workload_identity_providr\": \"…\",\n  |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("= help: did you mean \"workload_identity_provider\"?"),
        "{text}"
    );
}

#[test]
fn warnings_do_not_fail_and_errors_in_any_file_do() {
    let warning_only = run_exiting(
        &[
            "validate",
            "tests/fixtures/valid/workload-identity-ignored-api-key.json",
        ],
        0,
    );
    assert!(
        stdout(&warning_only).contains(
            "warning[ignored-credential]: \"api_key\" is ignored under workload identity"
        )
    );
    let mixed = run_exiting(
        &[
            "validate",
            "examples/gcp.json",
            "tests/fixtures/invalid/syntax-trailing-comma.json",
        ],
        1,
    );
    assert!(stdout(&mixed).contains("examples/gcp.json: ok"));
}

#[test]
fn unreadable_files_and_bad_usage_exit_2() {
    let missing = run_exiting(&["validate", "tests/fixtures/no-such-file.json"], 2);
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("cannot read tests/fixtures/no-such-file.json")
    );
    assert_eq!(run(&["validate"]).status.code(), Some(2));
    assert_eq!(
        run(&["validate", "--kind", "bogus", "examples/gcp.json"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn stdin_is_read_for_a_dash_and_kind_forces_the_reading() {
    let output = with_stdin(
        &["validate", "--kind", "connection", "-"],
        r#"{"auth_type": "api_key"}"#,
    );
    // As a whole connection, `auth_type` is not a connection key.
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("<stdin>:1:2: error[unknown-key]: unknown key \"auth_type\""),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_secret_on_the_line_of_an_error_is_masked() {
    let output = run(&[
        "validate",
        "tests/fixtures/invalid/secret-on-typo-line.json",
    ]);
    let text = stdout(&output);
    assert!(text.contains("unknown key \"api_kye\""), "{text}");
    assert!(!text.contains("SUPERSECRET"), "{text}");
}

#[test]
fn schema_prints_the_checked_in_files_byte_for_byte() {
    for (kind, file) in [
        ("extra", "schema/openai-connection-extra.schema.json"),
        ("connection", "schema/openai-connection.schema.json"),
    ] {
        let output = run_exiting(&["schema", "--kind", kind], 0);
        let checked_in = std::fs::read(workspace().join(file)).expect("schema file");
        assert_eq!(output.stdout, checked_in, "{kind}");
    }
}
