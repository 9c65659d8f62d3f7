//! The hooks of `.pre-commit-hooks.yaml`, run the way pre-commit runs them (the `entry` with the
//! matching files appended) on this build's binary. `cargo xtask wheel-test` runs the same hooks
//! through pre-commit itself, from the installed wheel.

mod support;

use support::{run, text, workspace};

/// `(id, entry)` of every hook. The file is a flat list of hooks whose `entry` is one line, so
/// reading the `- id:` and `entry:` lines is enough.
fn hooks() -> Vec<(String, String)> {
    let path = workspace().join(".pre-commit-hooks.yaml");
    let content = std::fs::read_to_string(&path).expect(".pre-commit-hooks.yaml is readable");
    let mut hooks = Vec::new();
    let mut id = None;
    for line in content.lines() {
        if let Some(rest) = line.strip_prefix("- id:") {
            id = Some(rest.trim().to_owned());
        } else if let Some(rest) = line.trim_start().strip_prefix("entry:") {
            let id = id.take().expect("each entry follows its id");
            hooks.push((id, rest.trim().to_owned()));
        }
    }
    hooks
}

/// Runs the hook `id` on `files` as pre-commit does: its entry, then the file names.
fn run_hook(id: &str, files: &[&str]) -> std::process::Output {
    let hooks = hooks();
    let (_, entry) = hooks
        .iter()
        .find(|(hook, _)| hook == id)
        .unwrap_or_else(|| panic!("no hook {id} in {hooks:?}"));
    let mut words = entry.split_whitespace();
    assert_eq!(words.next(), Some("openai-conn"), "{id} runs openai-conn");
    let args: Vec<&str> = words.chain(files.iter().copied()).collect();
    run(&args)
}

const GOOD_CONNECTIONS: &str = "tests/fixtures/connections/airflow-connections.json";
const OPENAI_CONN_ONLY: &str = "tests/fixtures/connections/openai-conn-only-connections.yaml";

#[test]
fn the_airflow_hook_fails_what_airflow_cannot_load_and_the_default_one_passes_it() {
    let ids: Vec<String> = hooks().into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids,
        [
            "openai-conn-validate",
            "openai-conn-validate-connections-file",
            "openai-conn-validate-airflow"
        ]
    );

    let default = run_hook("openai-conn-validate-connections-file", &[OPENAI_CONN_ONLY]);
    assert_eq!(default.status.code(), Some(0), "{}", text(&default.stdout));

    let airflow = run_hook(
        "openai-conn-validate-airflow",
        &[GOOD_CONNECTIONS, OPENAI_CONN_ONLY],
    );
    let printed = text(&airflow.stdout);
    assert_eq!(airflow.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains(
            "openai-conn-only-connections.yaml#openai_github:7:33: error[not-in-airflow]"
        ),
        "{printed}"
    );
    assert!(
        printed.contains("airflow-connections.json#openai_k8s: ok"),
        "{printed}"
    );
}

#[test]
fn every_hook_passes_good_files_and_fails_bad_ones() {
    let cases = [
        (
            "openai-conn-validate",
            "examples/gcp.json",
            "tests/fixtures/invalid/typo-provider-key.json",
        ),
        (
            "openai-conn-validate-connections-file",
            GOOD_CONNECTIONS,
            "tests/fixtures/connections/airflow-connections.yaml",
        ),
        (
            "openai-conn-validate-airflow",
            GOOD_CONNECTIONS,
            "tests/fixtures/connections/airflow-connections.yaml",
        ),
    ];
    for (id, good, bad) in cases {
        let passed = run_hook(id, &[good]);
        assert_eq!(passed.status.code(), Some(0), "{id} on {good}");
        let failed = run_hook(id, &[bad]);
        assert_eq!(failed.status.code(), Some(1), "{id} on {bad}");
    }
}
