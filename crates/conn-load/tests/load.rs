//! Loading connections from files, stdin, `AIRFLOW_CONN_*` variables and connections files, with
//! `OPENAI_CONN_*` overrides. The environment is always a `MapEnv`: no test touches the process's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use conn_load::{LoadError, Loaded, MapEnv, SourceSpec, load, load_with_stdin};
use conn_schema::{Auth, DocumentKind, Location, ProviderConfig};
use secrecy::ExposeSecret;

mod support;

use support::{assert_clean, error_at, error_located, file, load_file, load_ok, write, written};

const SECRET: &str = "sk-test-SECRET-123";

const GCP_EXTRA_JSON: &str = r#"{
  "auth_type": "workload_identity",
  "workload_identity_provider": "gcp",
  "identity_provider_id": "idp_1",
  "service_account_id": "sa_1"
}"#;

fn env_conn(id: &str) -> SourceSpec {
    SourceSpec::Env {
        conn_id: id.to_owned(),
    }
}

fn password(loaded: &Loaded) -> String {
    let connection = loaded.report.connection().expect("valid connection");
    connection
        .password
        .as_ref()
        .expect("a password")
        .expose_secret()
        .to_owned()
}

fn host(loaded: &Loaded) -> Option<String> {
    loaded
        .report
        .connection()
        .as_ref()
        .expect("valid")
        .host
        .clone()
}

/// Loads `text` as the file `name`, checks it has no errors and was read as `kind`.
fn load_clean(dir: &Path, name: &str, text: &str, kind: DocumentKind) -> Loaded {
    let loaded = load_file(dir, name, text);
    assert_clean(&loaded);
    assert_eq!(loaded.report.kind(), kind, "{name} read as the wrong kind");
    loaded
}

fn workload(loaded: &Loaded) -> &conn_schema::WorkloadIdentity {
    match &loaded.report.connection().expect("valid").extra.auth {
        Auth::WorkloadIdentity(workload) => workload,
        Auth::ApiKey => panic!("expected workload identity"),
    }
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains(SECRET), "secret leaked: {text}");
    assert!(!text.contains("SECRET"), "secret leaked: {text}");
}

/// The `conn.json` document of a connection whose `extra` is [`GCP_EXTRA_JSON`] held as a JSON
/// string, as Airflow stores it.
fn string_extra_connection() -> String {
    let extra = serde_json::to_string(GCP_EXTRA_JSON).expect("a string serializes");
    format!("{{\"conn_type\": \"openai\", \"extra\": {extra}}}")
}

#[test]
fn json_whole_connection_file() {
    let text = format!(
        "{{\n  \"conn_type\": \"openai\",\n  \"host\": \"https://api.example.com/v1\",\n  \"password\": \"{SECRET}\",\n  \"extra\": {{\"auth_type\": \"api_key\"}}\n}}\n"
    );
    let (_dir, path) = written("prod.json", &text);
    let loaded = load_ok(&file(&path), DocumentKind::Auto, &MapEnv::new());
    assert_clean(&loaded);
    assert_eq!(loaded.label, path.display().to_string());
    assert_eq!(loaded.conn_id.as_deref(), Some("prod"));
    assert_eq!(loaded.report.kind(), DocumentKind::Connection);
    assert_eq!(password(&loaded), SECRET);
    assert_eq!(host(&loaded).as_deref(), Some("https://api.example.com/v1"));
    assert!(loaded.overrides.is_empty());
    assert_no_secret(&format!("{loaded:?}"));
}

/// A finding in a file of each format points at its key or value, and the rendered report names
/// the file, line and column; none comes from the environment.
#[test]
fn findings_point_at_the_key_or_value_in_every_format() {
    let dir = tempfile::tempdir().expect("a temporary directory can be made");
    let cases = [
        (
            "bad.json",
            "{\n  \"auth_type\": \"sometimes\"\n}\n",
            "/auth_type",
            (2, 16),
        ),
        (
            "bad.toml",
            "conn_type = \"openai\"\n\n[extra]\nauth_type = \"sometimes\"\n",
            "/extra/auth_type",
            (4, 13),
        ),
        (
            "bad.yaml",
            "conn_type: openai\nextra:\n  auth_type: workload_identity\n  workload_identity_provider: gcp\n  identity_provider_id: idp\n  service_account_id: sa\n  refresh_buffer_seconds: soon\n",
            "/extra/refresh_buffer_seconds",
            (7, 27),
        ),
    ];
    for (name, text, pointer, (line, column)) in cases {
        let loaded = load_file(dir.path(), name, text);
        let error = error_located(&loaded, pointer, line, column);
        assert_eq!(error.origin, None, "{name}");
        let rendered = loaded.report.render(&loaded.label);
        assert!(
            rendered.contains(&format!("{name}:{line}:{column}")),
            "{rendered}"
        );
    }
}

/// A file that does not parse: a JSON syntax error is a finding of the report, with its line; a
/// TOML or YAML one is a load error with its place.
#[test]
fn syntax_errors_have_positions_in_every_format() {
    let dir = tempfile::tempdir().expect("a temporary directory can be made");
    let loaded = load_file(dir.path(), "broken.json", "{\n  \"auth_type\": \n}\n");
    assert!(loaded.report.has_errors());
    assert!(!loaded.report.well_formed());
    assert_eq!(
        loaded.report.diagnostics()[0].location.map(|at| at.line),
        Some(3)
    );

    let broken = write(dir.path(), "broken.toml", "a = 1\nb = \n");
    match load(&file(&broken), DocumentKind::Auto, &MapEnv::new()) {
        Err(LoadError::Syntax {
            format: "TOML",
            location,
            ..
        }) => assert_eq!(location.map(|at| at.line), Some(2)),
        other => panic!("expected a TOML syntax error, got {other:?}"),
    }

    let broken = write(
        dir.path(),
        "broken.yaml",
        "conn_type: openai\nextra:\n  auth_type: [api_key\n",
    );
    match load(&file(&broken), DocumentKind::Auto, &MapEnv::new()) {
        Err(error @ LoadError::Syntax { format: "YAML", .. }) => {
            let LoadError::Syntax {
                location: Some(Location { line, column, .. }),
                ..
            } = &error
            else {
                panic!("a YAML syntax error has a place: {error:?}")
            };
            assert!(*line >= 3, "line {line}");
            assert!(*column >= 1);
            assert!(error.to_string().contains("broken.yaml:"), "{error}");
        }
        other => panic!("expected a YAML syntax error, got {other:?}"),
    }
}

/// What a row of a table checks of the document it loaded, beside what every row checks; the
/// row's file name, given first, names the case.
type Check = fn(&str, &Loaded);

/// Checks that the bare extra `name` is a workload identity with the GCP source.
fn is_gcp(name: &str, loaded: &Loaded) {
    let provider = &workload(loaded).provider;
    assert!(
        matches!(provider, ProviderConfig::Gcp(_)),
        "{name}: {provider:?}"
    );
}

/// Checks that the bare extra `name` is a workload identity with the Azure source for `api://x`.
fn is_azure_for_api_x(name: &str, loaded: &Loaded) {
    match &workload(loaded).provider {
        ProviderConfig::Azure(azure) => assert_eq!(azure.resource, "api://x", "{name}"),
        other => panic!("{name}: expected azure, got {other:?}"),
    }
}

/// Checks that the document `name` (`extra.yml`) takes its connection id from the file name.
fn is_named_extra(name: &str, loaded: &Loaded) {
    assert_eq!(loaded.conn_id.as_deref(), Some("extra"), "{name}");
}

/// Checks that the connection `name`'s `openai_client_kwargs.timeout` is 30 s.
fn times_out_after_30_s(name: &str, loaded: &Loaded) {
    let connection = loaded.report.connection().expect("a valid connection");
    assert_eq!(
        connection.extra.client_kwargs.timeout,
        Some(Duration::from_secs(30)),
        "{name}"
    );
}

/// Whole connections (each with the password [`SECRET`]) and bare extras, in every format and
/// as a JSON string in `extra`, are read as what they are, each with what is its own.
#[test]
fn whole_connections_and_bare_extras_load_from_every_format() {
    let dir = tempfile::tempdir().expect("a temporary directory can be made");
    let toml = format!(
        "conn_type = \"openai\"\npassword = \"{SECRET}\"\n\n[extra]\nauth_type = \"api_key\"\n\n[extra.openai_client_kwargs]\ntimeout = 30\n"
    );
    let yaml = format!(
        "conn_type: openai\nhost: https://api.example.com/v1\npassword: {SECRET}\nextra:\n  auth_type: api_key\n"
    );
    let extra_toml = "auth_type = \"workload_identity\"\nworkload_identity_provider = \"azure\"\nidentity_provider_id = \"idp\"\nservice_account_id = \"sa\"\nresource = \"api://x\"\n";
    let extra_yaml = "auth_type: workload_identity\nworkload_identity_provider: kubernetes\nidentity_provider_id: idp\nservice_account_id: sa\ntoken_file_path: /tmp/token\n";
    let whole: [(&str, &str, Check); 2] = [
        ("conn.toml", &toml, times_out_after_30_s),
        ("conn.yaml", &yaml, |_, _| {}),
    ];
    for (name, text, check) in whole {
        let loaded = load_clean(dir.path(), name, text, DocumentKind::Connection);
        assert_eq!(password(&loaded), SECRET, "{name}");
        check(name, &loaded);
    }
    let bare: [(&str, &str, Check); 3] = [
        ("extra.json", GCP_EXTRA_JSON, is_gcp),
        ("extra.toml", extra_toml, is_azure_for_api_x),
        ("extra.yml", extra_yaml, is_named_extra),
    ];
    for (name, text, check) in bare {
        check(
            name,
            &load_clean(dir.path(), name, text, DocumentKind::Extra),
        );
    }

    let loaded = load_file(dir.path(), "conn.json", &string_extra_connection());
    assert_clean(&loaded);
    assert_eq!(workload(&loaded).identity_provider_id, "idp_1");
}

#[test]
fn kind_flag_forces_the_reading() {
    // No `conn_type` or `extra`: detection reads it as a bare extra, with unknown keys.
    let (_dir, path) = written(
        "conn.json",
        "{\"host\": \"https://api.example.com/v1\", \"password\": \"x\"}",
    );
    let detected = load_ok(&file(&path), DocumentKind::Auto, &MapEnv::new());
    assert_eq!(detected.report.kind(), DocumentKind::Extra);
    assert!(detected.report.has_errors());
    let forced = load_ok(&file(&path), DocumentKind::Connection, &MapEnv::new());
    assert_eq!(forced.report.kind(), DocumentKind::Connection);
    assert_clean(&forced);
}

/// Loads `text` given on standard input as `spec` (`-` or a file name), its kind detected, with no
/// environment.
fn from_stdin(spec: &SourceSpec, text: &str) -> Result<Loaded, LoadError> {
    load_with_stdin(
        spec,
        DocumentKind::Auto,
        &MapEnv::new(),
        &mut text.as_bytes(),
    )
}

#[test]
fn stdin_is_json() {
    let loaded = from_stdin(&SourceSpec::Stdin, GCP_EXTRA_JSON).expect("standard input loads");
    assert_clean(&loaded);
    assert_eq!(loaded.label, "<stdin>");
    assert_eq!(loaded.conn_id, None);
}

#[test]
fn stdin_yaml_and_toml_are_detected_and_keep_their_positions() {
    let yaml = "auth_type: workload_identity\nworkload_identity_provider: gcp\nidentity_provider_id: idp_1\nservice_account_id: sa_1\naudiense: x\n";
    let loaded = from_stdin(&SourceSpec::Stdin, yaml).expect("standard input loads");
    let typo = error_at(&loaded, "/audiense");
    let at = typo.location.expect("the typo has a position");
    assert_eq!((at.line, at.column), (5, 1));
    assert_eq!(loaded.label, "<stdin>");

    let toml = "# a comment first\nauth_type = \"workload_identity\"\nworkload_identity_provider = \"gcp\"\nidentity_provider_id = \"idp_1\"\nservice_account_id = \"sa_1\"\n";
    let loaded = from_stdin(&SourceSpec::Stdin, toml).expect("standard input loads");
    assert_clean(&loaded);

    // Not TOML, and it looks like TOML: the TOML parser's error, with its position.
    let broken = "auth_type = \"api_key\"\ntimeout = = 3\n";
    match from_stdin(&SourceSpec::Stdin, broken) {
        Err(LoadError::Syntax {
            format, location, ..
        }) => assert_eq!((format, location.map(|at| at.line)), ("TOML", Some(2))),
        other => panic!("expected a TOML syntax error, got {other:?}"),
    }
    // YAML that is not a mapping of the right keys is still read as YAML.
    let broken = "auth_type: [api_key\n";
    match from_stdin(&SourceSpec::Stdin, broken) {
        Err(LoadError::Syntax { format, .. }) => assert_eq!(format, "YAML"),
        other => panic!("expected a YAML syntax error, got {other:?}"),
    }
}

#[test]
fn stdin_as_a_named_file_takes_its_format_and_name() {
    let spec = SourceSpec::StdinAs {
        name: PathBuf::from("conf/prod.openai-connection-extra.yaml"),
    };
    // Valid JSON is valid YAML: the name, not the text, decides.
    let loaded = from_stdin(&spec, GCP_EXTRA_JSON).expect("standard input loads");
    assert_clean(&loaded);
    assert_eq!(loaded.label, "conf/prod.openai-connection-extra.yaml");
    assert_eq!(
        loaded.conn_id.as_deref(),
        Some("prod.openai-connection-extra")
    );
    let toml = SourceSpec::StdinAs {
        name: PathBuf::from("x.toml"),
    };
    match from_stdin(&toml, GCP_EXTRA_JSON) {
        Err(LoadError::Syntax { format, label, .. }) => {
            assert_eq!((format, label.as_str()), ("TOML", "x.toml"));
        }
        other => panic!("expected a TOML syntax error, got {other:?}"),
    }
    let unknown = SourceSpec::StdinAs {
        name: PathBuf::from("x.txt"),
    };
    assert!(matches!(
        from_stdin(&unknown, GCP_EXTRA_JSON),
        Err(LoadError::UnknownExtension { .. })
    ));
}

/// Loads the connection `id` from `AIRFLOW_CONN_<ID>` set to `value`, its kind detected.
fn from_airflow_conn(id: &str, value: impl Into<String>) -> Loaded {
    let env = MapEnv::new().with(format!("AIRFLOW_CONN_{}", id.to_uppercase()), value);
    load_ok(&env_conn(id), DocumentKind::Auto, &env)
}

#[test]
fn airflow_conn_json_form() {
    let loaded = from_airflow_conn(
        "openai_prod",
        format!(
            "{{\"conn_type\": \"openai\", \"host\": \"https://h.example/v1\", \"password\": \"{SECRET}\"}}"
        ),
    );
    assert_clean(&loaded);
    assert_eq!(loaded.label, "env AIRFLOW_CONN_OPENAI_PROD");
    assert_eq!(loaded.conn_id.as_deref(), Some("openai_prod"));
    assert_eq!(loaded.report.kind(), DocumentKind::Connection);
    assert_eq!(password(&loaded), SECRET);
}

#[test]
fn airflow_conn_json_form_without_conn_type_is_still_a_connection() {
    let loaded = from_airflow_conn("x", "{\"host\": \"https://h.example/v1\"}");
    assert_eq!(loaded.report.kind(), DocumentKind::Connection);
    assert_clean(&loaded);
}

#[test]
fn uri_form_with_extra_json() {
    let extra = percent_encode(GCP_EXTRA_JSON);
    let loaded = from_airflow_conn(
        "openai_wi",
        format!("openai://api.example.com?__extra__={extra}"),
    );
    assert_clean(&loaded);
    assert_eq!(host(&loaded).as_deref(), Some("api.example.com"));
    assert_eq!(workload(&loaded).service_account_id, "sa_1");
}

#[test]
fn uri_form_with_plain_query_keys_gives_string_extras() {
    let loaded = from_airflow_conn(
        "q",
        "openai://:key@api.example.com?auth_type=workload_identity&workload_identity_provider=gcp&identity_provider_id=idp&service_account_id=sa&audience=https%3A%2F%2Faud.example",
    );
    assert_clean(&loaded);
    match &workload(&loaded).provider {
        ProviderConfig::Gcp(gcp) => assert_eq!(gcp.audience, "https://aud.example"),
        other => panic!("expected gcp, got {other:?}"),
    }

    // Query values are strings, as in Airflow: a number-valued key is reported, at the env var.
    let loaded = from_airflow_conn(
        "q",
        "openai://h?auth_type=workload_identity&workload_identity_provider=gcp&identity_provider_id=i&service_account_id=s&refresh_buffer_seconds=600",
    );
    let error = error_at(&loaded, "/extra/refresh_buffer_seconds");
    assert_eq!(error.location, None);
    assert!(
        loaded
            .report
            .render(&loaded.label)
            .starts_with("env AIRFLOW_CONN_Q: error[wrong-type]:")
    );
}

#[test]
fn uri_host_may_be_an_encoded_base_url() {
    let loaded = from_airflow_conn(
        "enc",
        format!("openai://:{SECRET}@https%3A%2F%2Fapi.Example.com%2Fv1"),
    );
    assert_clean(&loaded);
    // The encoded form keeps its case; a plain host is lower-cased, as by Python's urlsplit.
    assert_eq!(host(&loaded).as_deref(), Some("https://api.Example.com/v1"));
    assert_eq!(password(&loaded), SECRET);
}

#[test]
fn uri_password_is_percent_decoded() {
    let loaded = from_airflow_conn("p", "openai://:sk%2Fab%40c%3Ad%25@API.EXAMPLE.COM");
    assert_clean(&loaded);
    assert_eq!(password(&loaded), "sk/ab@c:d%");
    assert_eq!(host(&loaded).as_deref(), Some("api.example.com"));
}

#[test]
fn bad_uri_is_a_load_error_without_the_secret() {
    let env = MapEnv::new().with("AIRFLOW_CONN_B", format!("openai://:{SECRET}"));
    match load(&env_conn("b"), DocumentKind::Auto, &env) {
        Err(error @ LoadError::BadUri { .. }) => {
            let text = error.to_string();
            assert!(text.contains("AIRFLOW_CONN_B"), "{text}");
            assert_no_secret(&text);
            assert_no_secret(&format!("{error:?}"));
        }
        other => panic!("expected BadUri, got {other:?}"),
    }
}

#[test]
fn missing_env_var_names_it() {
    match load(&env_conn("nope"), DocumentKind::Auto, &MapEnv::new()) {
        Err(error @ LoadError::EnvNotSet { .. }) => {
            assert!(error.to_string().contains("AIRFLOW_CONN_NOPE"), "{error}");
        }
        other => panic!("expected EnvNotSet, got {other:?}"),
    }
}

#[test]
fn unreadable_and_unknown_files_are_load_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    match load(&file(&missing), DocumentKind::Auto, &MapEnv::new()) {
        Err(error @ LoadError::Read { .. }) => {
            assert!(error.to_string().contains("missing.json"), "{error}");
        }
        other => panic!("expected Read, got {other:?}"),
    }
    let ini = write(dir.path(), "conn.ini", "x");
    assert!(matches!(
        load(&file(&ini), DocumentKind::Auto, &MapEnv::new()),
        Err(LoadError::UnknownExtension { .. })
    ));
}

fn connections_file(dir: &Path, name: &str, text: &str, id: &str) -> SourceSpec {
    SourceSpec::ConnectionsFile {
        path: write(dir, name, text),
        conn_id: id.to_owned(),
    }
}

#[test]
fn connections_file_json_hit_miss_and_positions() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{{\n  \"zeta\": \"openai://:{SECRET}@api.example.com\",\n  \"alpha\": {{\n    \"conn_type\": \"openai\",\n    \"extra\": {{\"auth_type\": \"nope\"}}\n  }},\n  \"good\": {{\"conn_type\": \"openai\", \"password\": \"{SECRET}\"}}\n}}\n"
    );
    let spec = connections_file(dir.path(), "conns.json", &text, "good");
    let loaded = load_ok(&spec, DocumentKind::Auto, &MapEnv::new());
    assert_clean(&loaded);
    assert!(
        loaded.label.ends_with("conns.json#good"),
        "{}",
        loaded.label
    );
    assert_eq!(password(&loaded), SECRET);

    let spec = connections_file(dir.path(), "conns.json", &text, "zeta");
    let loaded = load_ok(&spec, DocumentKind::Auto, &MapEnv::new());
    assert_clean(&loaded);
    assert_eq!(host(&loaded).as_deref(), Some("api.example.com"));

    let spec = connections_file(dir.path(), "conns.json", &text, "alpha");
    let loaded = load_ok(&spec, DocumentKind::Auto, &MapEnv::new());
    error_located(&loaded, "/extra/auth_type", 5, 28);

    let spec = connections_file(dir.path(), "conns.json", &text, "missing");
    match load(&spec, DocumentKind::Auto, &MapEnv::new()) {
        Err(error @ LoadError::ConnIdNotFound { .. }) => {
            let LoadError::ConnIdNotFound { available, .. } = &error else {
                unreachable!()
            };
            assert_eq!(available, &["alpha", "good", "zeta"]);
            assert!(
                error.to_string().contains("\"alpha\", \"good\", \"zeta\""),
                "{error}"
            );
            assert_no_secret(&error.to_string());
        }
        other => panic!("expected ConnIdNotFound, got {other:?}"),
    }
}

#[test]
fn connections_file_yaml_hit_miss_and_extra_dejson() {
    let dir = tempfile::tempdir().unwrap();
    let text = "one:\n  conn_type: openai\n  extra_dejson:\n    auth_type: workload_identity\n    workload_identity_provider: gcp\n    identity_provider_id: idp\n    service_account_id: sa\ntwo:\n  conn_type: openai\n  extra:\n    auth_type: bogus\n";
    let spec = connections_file(dir.path(), "conns.yaml", text, "one");
    let loaded = load_ok(&spec, DocumentKind::Auto, &MapEnv::new());
    assert_clean(&loaded);
    assert_eq!(workload(&loaded).identity_provider_id, "idp");

    let spec = connections_file(dir.path(), "conns.yaml", text, "two");
    let loaded = load_ok(&spec, DocumentKind::Auto, &MapEnv::new());
    error_located(&loaded, "/extra/auth_type", 11, 16);

    let spec = connections_file(dir.path(), "conns.yaml", text, "three");
    match load(&spec, DocumentKind::Auto, &MapEnv::new()) {
        Err(LoadError::ConnIdNotFound { available, .. }) => {
            assert_eq!(available, ["one", "two"]);
        }
        other => panic!("expected ConnIdNotFound, got {other:?}"),
    }
}

/// Writes `text` as `name` in a fresh directory (which lives as long as the first value) and
/// loads it, its kind detected, with the overrides `env` holds.
fn load_overridden(name: &str, text: &str, env: &MapEnv) -> (tempfile::TempDir, Loaded) {
    let (dir, path) = written(name, text);
    (dir, load_ok(&file(&path), DocumentKind::Auto, env))
}

#[test]
fn env_overrides_host_password_and_nested_extra() {
    let env = MapEnv::new()
        .with("OPENAI_CONN_HOST", "https://new.example/v1")
        .with("OPENAI_CONN_PASSWORD", "12345")
        .with(
            "OPENAI_CONN_EXTRA__OPENAI_CLIENT_KWARGS__BASE_URL",
            "https://base.example/v1",
        )
        .with("OPENAI_CONN_EXTRA__OPENAI_CLIENT_KWARGS__TIMEOUT", "45")
        .with("UNRELATED", "x");
    let (_dir, loaded) = load_overridden(
        "conn.json",
        "{\"conn_type\": \"openai\", \"host\": \"https://old.example/v1\", \"extra\": {\"auth_type\": \"api_key\"}}",
        &env,
    );
    assert_clean(&loaded);
    assert_eq!(host(&loaded).as_deref(), Some("https://new.example/v1"));
    // The password stays a string even though it looks like a number.
    assert_eq!(password(&loaded), "12345");
    let kwargs = &loaded
        .report
        .connection()
        .as_ref()
        .unwrap()
        .extra
        .client_kwargs;
    assert_eq!(kwargs.base_url.as_deref(), Some("https://base.example/v1"));
    assert_eq!(kwargs.timeout, Some(Duration::from_secs(45)));
    assert_eq!(
        loaded.overrides,
        [
            "OPENAI_CONN_EXTRA__OPENAI_CLIENT_KWARGS__BASE_URL",
            "OPENAI_CONN_EXTRA__OPENAI_CLIENT_KWARGS__TIMEOUT",
            "OPENAI_CONN_HOST",
            "OPENAI_CONN_PASSWORD",
        ]
    );
}

#[test]
fn env_override_numbers_are_parsed_like_figment_env() {
    let env = MapEnv::new().with("OPENAI_CONN_EXTRA__REFRESH_BUFFER_SECONDS", "1200");
    let (_dir, loaded) = load_overridden("extra.json", GCP_EXTRA_JSON, &env);
    assert_clean(&loaded);
    // Applied to the bare extra itself, which stays a bare extra.
    assert_eq!(loaded.report.kind(), DocumentKind::Extra);
    assert_eq!(workload(&loaded).refresh_buffer, Duration::from_secs(1200));
}

#[test]
fn error_on_overridden_value_names_the_env_var() {
    let env = MapEnv::new()
        .with("OPENAI_CONN_EXTRA__AUDIENCE", "[1, 2]")
        .with("OPENAI_CONN_PASSWORD", SECRET);
    let (_dir, loaded) = load_overridden(
        "conn.yaml",
        "conn_type: openai\nextra:\n  auth_type: workload_identity\n  workload_identity_provider: gcp\n  identity_provider_id: idp\n  service_account_id: sa\n",
        &env,
    );
    let error = error_at(&loaded, "/extra/audience");
    assert_eq!(
        error.origin.as_deref(),
        Some("env OPENAI_CONN_EXTRA__AUDIENCE")
    );
    let rendered = loaded.report.render(&loaded.label);
    assert!(
        rendered.contains("env OPENAI_CONN_EXTRA__AUDIENCE: "),
        "{rendered}"
    );
    assert_no_secret(&rendered);
    assert_no_secret(&format!("{loaded:?}"));
    assert!(
        loaded
            .overrides
            .contains(&"OPENAI_CONN_PASSWORD".to_owned())
    );
}

#[test]
fn host_override_on_a_bare_extra_makes_it_a_connection() {
    let env = MapEnv::new().with("OPENAI_CONN_HOST", "https://h.example/v1");
    let (_dir, loaded) = load_overridden(
        "extra.json",
        "{\n  \"auth_type\": \"api_key\",\n  \"bogus\": 1\n}",
        &env,
    );
    assert_eq!(loaded.report.kind(), DocumentKind::Connection);
    // The file's own finding still points into the file.
    let error = error_at(&loaded, "/extra/bogus");
    assert_eq!(error.origin, None);
    assert_eq!(error.location.map(|at| at.line), Some(3));
}

#[test]
fn nested_override_merges_into_a_string_extra() {
    let env = MapEnv::new().with("OPENAI_CONN_EXTRA__AUDIENCE", "https://aud.example");
    let (_dir, loaded) = load_overridden("conn.json", &string_extra_connection(), &env);
    assert_clean(&loaded);
    match &workload(&loaded).provider {
        ProviderConfig::Gcp(gcp) => assert_eq!(gcp.audience, "https://aud.example"),
        other => panic!("expected gcp, got {other:?}"),
    }
}

#[test]
fn map_env_debug_hides_values() {
    let env = MapEnv::new().with("AIRFLOW_CONN_X", SECRET);
    let debug = format!("{env:?}");
    assert!(debug.contains("AIRFLOW_CONN_X"));
    assert_no_secret(&debug);
}

/// Percent-encodes everything but unreserved characters, as `urllib.parse.quote(safe="")`.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[test]
fn yaml_type_tags_name_the_key_and_type_never_the_value() {
    let dir = tempfile::tempdir().unwrap();
    for tag in ["!!int", "!!float", "!!bool"] {
        let path = write(
            dir.path(),
            "tagged.yaml",
            &format!("conn_type: openai\npassword: {tag} {SECRET}\n"),
        );
        let error = load(&file(&path), DocumentKind::Auto, &MapEnv::new())
            .expect_err("a value that does not match its tag");
        let text = error.to_string();
        assert_no_secret(&text);
        assert_no_secret(&format!("{error:?}"));
        assert!(
            text.contains("the value of \"password\" does not match its type or tag: expected"),
            "{tag}: {text}"
        );
        assert!(error.is_invalid_connection(), "{tag}: {error:?}");
    }
}

#[test]
fn a_non_utf8_variable_is_named_never_reported_as_unset_or_skipped() {
    let env = MapEnv::new().with_non_unicode("AIRFLOW_CONN_BIN");
    match load(&env_conn("bin"), DocumentKind::Auto, &env) {
        Err(error @ LoadError::EnvNotUnicode { .. }) => assert_eq!(
            error.to_string(),
            "environment variable AIRFLOW_CONN_BIN is set but its value is not valid UTF-8"
        ),
        other => panic!("expected EnvNotUnicode, got {other:?}"),
    }

    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "conn.json", r#"{"conn_type": "openai"}"#);
    let env = MapEnv::new().with_non_unicode("OPENAI_CONN_PASSWORD");
    match load(&file(&path), DocumentKind::Auto, &env) {
        Err(error @ LoadError::EnvNotUnicode { .. }) => assert_eq!(
            error.to_string(),
            "environment variable OPENAI_CONN_PASSWORD is set but its value is not valid UTF-8"
        ),
        other => panic!("expected EnvNotUnicode, got {other:?}"),
    }
}

#[test]
fn a_deeply_nested_override_is_an_error_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "conn.json", r#"{"conn_type": "openai"}"#);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let env = MapEnv::new().with("OPENAI_CONN_EXTRA__AUDIENCE", deep);
    match load(&file(&path), DocumentKind::Auto, &env) {
        Err(error @ LoadError::Overrides { .. }) => {
            let text = error.to_string();
            assert!(text.contains("OPENAI_CONN_EXTRA__AUDIENCE"), "{text}");
            assert!(text.contains("nests deeper than 32 levels"), "{text}");
        }
        other => panic!("expected Overrides, got {other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_before_it_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("conn.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // Opening a FIFO for reading waits for a writer: without the check, this test hangs.
    match load(&file(&fifo), DocumentKind::Auto, &MapEnv::new()) {
        Err(error @ LoadError::Read { .. }) => assert!(
            error
                .to_string()
                .ends_with("conn.json: not a regular file (it is a named pipe)"),
            "{error}"
        ),
        other => panic!("expected Read, got {other:?}"),
    }
}
