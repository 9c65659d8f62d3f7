//! The terminal habits of `validate`: the summary line, `--quiet`, `--color`, `--output-file`,
//! `--exit-zero`, directory arguments, and standard input in any format (`--stdin-filename`).

use std::process::Output;

mod support;

use support::{run, text, with_stdin};

const TYPO: &str = "tests/fixtures/invalid/typo-provider-key.json";
const WARNING_ONLY: &str = "tests/fixtures/valid/workload-identity-ignored-api-key.json";

fn last_line(output: &Output) -> String {
    text(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn human_output_ends_with_errors_and_warnings_in_how_many_of_how_many_files() {
    let output = run(&[
        "validate",
        "examples/gcp.json",
        TYPO,
        WARNING_ONLY,
        "tests/fixtures/no-such-file.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    // The typo file's two errors, the unreadable file's one, the warning.
    assert_eq!(
        last_line(&output),
        "3 errors, 1 warning in 3 of 4 files",
        "{}",
        text(&output.stdout)
    );
    let clean = run(&["validate", "examples/gcp.json", "examples/kubernetes.json"]);
    assert_eq!(last_line(&clean), "no errors or warnings in 2 files");
    let one = run(&["validate", WARNING_ONLY]);
    assert_eq!(one.status.code(), Some(0));
    assert_eq!(last_line(&one), "0 errors, 1 warning in 1 of 1 file");
}

#[test]
fn quiet_prints_the_findings_only() {
    let output = run(&["validate", "-q", "examples/gcp.json", TYPO]);
    assert_eq!(output.status.code(), Some(1));
    let printed = text(&output.stdout);
    assert!(printed.contains("typo-provider-key.json:3:3: error[unknown-key]"));
    assert!(!printed.contains(": ok"), "{printed}");
    assert!(!printed.contains(" in 1 of 2 files"), "{printed}");
    let long = run(&["validate", "--quiet", "examples/gcp.json"]);
    assert_eq!(long.status.code(), Some(0));
    assert_eq!(text(&long.stdout), "");
}

#[test]
fn color_always_paints_never_and_auto_off_a_terminal_do_not() {
    let painted = run(&["validate", "--color", "always", TYPO]);
    let painted = text(&painted.stdout);
    assert!(
        painted.contains("\u{1b}[1;31merror[unknown-key]\u{1b}[0m"),
        "{painted}"
    );
    for choice in ["never", "auto"] {
        let plain = run(&["validate", "--color", choice, TYPO]);
        assert!(!text(&plain.stdout).contains('\u{1b}'), "--color {choice}");
    }
    let plain = run(&["validate", TYPO]);
    assert!(!text(&plain.stdout).contains('\u{1b}'));
}

#[test]
fn colours_are_added_after_escaping_so_a_document_cannot_inject_its_own() {
    // A key with an escape sequence and a right-to-left override in it (JSON escapes, so the
    // document itself is plain text).
    let document = "{\"auth_type\": \"api_key\", \"x\\u001b[2J\\u202e\": 1}";
    let output = with_stdin(
        &[
            "validate",
            "--color",
            "always",
            "--stdin-filename",
            "conn\u{1b}[2J.json",
            "-",
        ],
        document,
    );
    let painted = text(&output.stdout);
    // The colours reach the terminal as they are, the document's sequence only escaped.
    assert!(
        painted.contains("\u{1b}[1;31merror[unknown-key]\u{1b}[0m"),
        "{painted}"
    );
    assert!(painted.contains("x\\u{1b}[2J\\u{202e}"), "{painted}");
    assert!(painted.contains("conn\\u{1b}[2J.json"), "{painted}");
    assert!(!painted.contains("\u{1b}[2J"), "{painted}");
    assert!(!painted.contains('\u{202e}'), "{painted}");
}

#[test]
fn output_file_takes_the_report_and_the_exit_code_stays() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let report = directory.path().join("report.sarif");
    let report_arg = report.to_str().expect("a UTF-8 path");
    let output = run(&[
        "validate",
        "--format",
        "sarif",
        "--output-file",
        report_arg,
        TYPO,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "");
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("the report is written"))
            .expect("the report is SARIF JSON");
    assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(2));

    let unwritable = directory.path().join("no-such-dir/report.txt");
    let output = run(&[
        "validate",
        "--output-file",
        unwritable.to_str().expect("a UTF-8 path"),
        TYPO,
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("cannot write to"));
}

#[test]
fn exit_zero_passes_invalid_connections_but_not_unreadable_files() {
    let invalid = run(&["validate", "--exit-zero", TYPO]);
    assert_eq!(invalid.status.code(), Some(0));
    assert!(text(&invalid.stdout).contains("error[unknown-key]"));
    let unreadable = run(&[
        "validate",
        "--exit-zero",
        "tests/fixtures/no-such-file.json",
    ]);
    assert_eq!(unreadable.status.code(), Some(2));
}

#[test]
fn directories_are_walked_for_the_file_types_the_tool_reads() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let root = directory.path();
    let write = |relative: &str, content: &str| {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("folders");
        std::fs::write(path, content).expect("a file");
    };
    write("a.json", r#"{"auth_type": "api_key"}"#);
    write("nested/b.YAML", "auth_type: api_key\n");
    write("nested/deeper/c.toml", "auth_type = \"api_kee\"\n");
    write("nested/notes.txt", "not a connection");
    write(".git/config.json", "not read: a hidden folder");
    let root_arg = root.to_str().expect("a UTF-8 path");
    let output = run(&["validate", root_arg]);
    let printed = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{printed}");
    let names: Vec<&str> = printed
        .lines()
        .filter_map(|line| line.strip_prefix(root_arg))
        .map(|rest| rest.split(':').next().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        ["/a.json", "/nested/b.YAML", "/nested/deeper/c.toml"],
        "{printed}"
    );
    assert!(
        printed.contains("c.toml:1:13: error[unknown-value]"),
        "{printed}"
    );
    assert_eq!(
        last_line(&output),
        "1 error, 0 warnings in 1 of 3 files",
        "{printed}"
    );

    // Connections files: `.env` too, and documents of other kinds are not picked up.
    let connections = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        connections.path().join("connections.env"),
        "openai_default={\"conn_type\": \"openai\", \"password\": \"sk-x\"}\n",
    )
    .expect("a file");
    std::fs::write(connections.path().join("conn.toml"), "x = 1\n").expect("a file");
    let output = run(&[
        "validate",
        "--connections-file",
        connections.path().to_str().expect("a UTF-8 path"),
    ]);
    let printed = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{printed}");
    assert!(
        printed.contains("connections.env#openai_default: ok"),
        "{printed}"
    );
    assert_eq!(last_line(&output), "no errors or warnings in 1 file");
}

#[test]
fn standard_input_is_json_yaml_or_toml_and_stdin_filename_names_it() {
    let yaml = "auth_type: api_key\ntimeout: -1\n";
    let output = with_stdin(&["validate", "-"], yaml);
    let printed = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains("<stdin>:2:1: error[unknown-key]"),
        "{printed}"
    );

    let toml = "auth_type = \"workload_identity\"\n";
    let output = with_stdin(&["validate", "-"], toml);
    let printed = text(&output.stdout);
    assert!(
        printed.contains("<stdin>:1:1: error[missing-required]"),
        "{printed}"
    );

    let output = with_stdin(
        &[
            "validate",
            "--format",
            "github",
            "--stdin-filename",
            "conf/prod.openai-connection.yaml",
            "-",
        ],
        yaml,
    );
    assert_eq!(output.status.code(), Some(1));
    let printed = text(&output.stdout);
    assert!(
        printed.starts_with("::error file=conf/prod.openai-connection.yaml,line=2,col=1,"),
        "{printed}"
    );
    // The name decides the format: this YAML read as TOML is a TOML syntax error.
    let output = with_stdin(&["validate", "--stdin-filename", "x.toml", "-"], yaml);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("x.toml:1:"),
        "{}",
        text(&output.stderr)
    );
}
