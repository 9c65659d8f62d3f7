//! Airflow's connections files in every form its local-filesystem backend reads and
//! `airflow connections export` writes: `.env` (URI or JSON values), JSON and YAML, with findings
//! kept on their lines. Fixtures live in `tests/fixtures/connections`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use conn_load::{LoadError, Loaded, MapEnv, SourceSpec, load, load_for};
use conn_schema::{Auth, DocumentKind, Location, Profile, ProviderKind, Severity};
use secrecy::ExposeSecret;

mod support;

use support::{error_located, errors};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/connections")
        .join(name)
}

fn spec(name: &str, conn_id: &str) -> SourceSpec {
    SourceSpec::ConnectionsFile {
        path: fixture(name),
        conn_id: conn_id.to_owned(),
    }
}

fn loaded(name: &str, conn_id: &str) -> Loaded {
    load(&spec(name, conn_id), DocumentKind::Auto, &MapEnv::new())
        .unwrap_or_else(|error| panic!("{name}#{conn_id}: {error}"))
}

/// What loading the connection `conn_id` of the fixture `name` fails with.
fn load_error(name: &str, conn_id: &str) -> LoadError {
    match load(&spec(name, conn_id), DocumentKind::Auto, &MapEnv::new()) {
        Err(error) => error,
        Ok(loaded) => panic!("{name}#{conn_id} was expected not to load: {loaded:?}"),
    }
}

fn clean(name: &str, conn_id: &str) -> conn_schema::Connection {
    let loaded = loaded(name, conn_id);
    let errors = errors(&loaded);
    assert!(errors.is_empty(), "{name}#{conn_id}: {errors:?}");
    loaded.report.into_connection().expect("valid")
}

fn provider(connection: &conn_schema::Connection) -> Option<ProviderKind> {
    match &connection.extra.auth {
        Auth::ApiKey => None,
        Auth::WorkloadIdentity(identity) => Some(identity.provider.kind()),
    }
}

/// What each exported fixture holds, whatever its format: the same three connections.
fn assert_the_exported_three(name: &str) {
    let default = clean(name, "openai_default");
    assert_eq!(default.host.as_deref(), Some("https://api.openai.com/v1"));
    assert_eq!(
        default
            .password
            .as_ref()
            .map(|p| p.expose_secret().to_owned()),
        Some("sk-fixture-not-a-real-key".to_owned()),
        "{name}"
    );
    assert_eq!(provider(&default), None);
    assert_eq!(
        provider(&clean(name, "openai_k8s")),
        Some(ProviderKind::Kubernetes),
        "{name}"
    );
    let gcp = clean(name, "openai_gcp");
    let Auth::WorkloadIdentity(identity) = &gcp.extra.auth else {
        panic!("{name}: openai_gcp is workload identity");
    };
    assert_eq!(identity.provider.kind(), ProviderKind::Gcp);
    assert_eq!(identity.refresh_buffer, Duration::from_secs(600), "{name}");
}

#[test]
fn airflow_export_in_json_yaml_and_both_env_serializations_reads_the_same() {
    for name in [
        "airflow-export.json",
        "airflow-export.yaml",
        "airflow-export-json.env",
        "airflow-export-uri.env",
    ] {
        assert_the_exported_three(name);
    }
}

#[test]
fn env_file_with_comments_blank_lines_uris_and_json() {
    let name = "airflow-connections.env";
    let default = clean(name, "openai_default");
    assert_eq!(default.host.as_deref(), Some("https://api.openai.com/v1"));
    assert_eq!(
        provider(&clean(name, "openai_k8s")),
        Some(ProviderKind::Kubernetes)
    );
    assert_eq!(
        provider(&clean(name, "openai_github")),
        Some(ProviderKind::GithubActions)
    );
}

#[test]
fn env_file_findings_keep_their_line_and_column() {
    // A JSON value: the finding is on the key inside the value, on the file's line 7.
    let broken = loaded("airflow-connections.env", "openai_broken");
    error_located(&broken, "/extra/audience", 7, 181);
    assert!(
        broken
            .label
            .ends_with("airflow-connections.env#openai_broken")
    );
    let rendered = broken.report.render(&broken.label);
    assert!(
        rendered.contains("airflow-connections.env#openai_broken:7:181: error"),
        "{rendered}"
    );

    // A URI value: findings point at the start of the value on its line.
    let typo = loaded("airflow-connections.env", "openai_typo");
    let error = error_located(&typo, "/extra/workload_identity_provider", 9, 13);
    assert_eq!(
        error.suggestion.as_deref(),
        Some("did you mean \"kubernetes\"?")
    );
}

#[test]
fn a_malformed_line_is_a_numbered_load_error_without_its_text() {
    match load_error("malformed.env", "openai_default") {
        error @ LoadError::Syntax {
            location: Some(Location { line: 3, .. }),
            ..
        } => {
            let message = error.to_string();
            assert!(message.contains("malformed.env:3:1:"), "{message}");
            assert!(message.contains("no `=`"), "{message}");
            assert!(!message.contains("conn_type"), "{message}");
        }
        other => panic!("expected a syntax error on line 3, got {other:?}"),
    }
}

#[test]
fn a_missing_id_in_an_env_file_lists_the_ids() {
    match load_error("airflow-connections.env", "nope") {
        LoadError::ConnIdNotFound { available, .. } => assert_eq!(
            available,
            [
                "openai_broken",
                "openai_default",
                "openai_github",
                "openai_k8s",
                "openai_typo"
            ]
        ),
        other => panic!("expected ConnIdNotFound, got {other:?}"),
    }
}

#[test]
fn a_json_value_that_is_not_json_is_a_report_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conns.env");
    std::fs::write(&path, "# c\n\nbad={\"conn_type\": \"openai\",}\n").unwrap();
    let loaded = load(
        &SourceSpec::ConnectionsFile {
            path,
            conn_id: "bad".to_owned(),
        },
        DocumentKind::Auto,
        &MapEnv::new(),
    )
    .expect("a syntax error is a finding");
    let error = &loaded.report.diagnostics()[0];
    let location = error
        .location
        .expect("a syntax error in the file has a place");
    assert_eq!(location.line, 3, "{error:?}");
    assert!(location.column > 5, "{error:?}");
    assert!(loaded.report.connection().is_none());
}

#[test]
fn the_airflow_profile_applies_to_connections_files() {
    let github = spec("airflow-connections.env", "openai_github");
    let loaded = load_for(
        &github,
        DocumentKind::Auto,
        Profile::Airflow,
        &MapEnv::new(),
        &mut std::io::empty(),
    )
    .expect("loads");
    let error = loaded
        .report
        .diagnostics()
        .iter()
        .find(|d| d.pointer == "/extra/workload_identity_provider")
        .expect("github_actions is reported under the Airflow profile");
    assert_eq!(error.severity, Severity::Error);
    assert_eq!(error.location.map(|at| at.line), Some(8));
    assert!(loaded.report.connection().is_none());
}
