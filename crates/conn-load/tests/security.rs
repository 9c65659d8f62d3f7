//! Loading against a hostile local environment and connections file, second pass.
//! The environment is always a `MapEnv`: no test touches the process's.

use std::path::Path;

use conn_load::{LoadError, MapEnv, SourceSpec, load};
use conn_schema::DocumentKind;

mod support;

use support::{assert_clean, assert_says, file, load_ok, write, written};

const CUSTOM_EXTRA: &str = r#"{"auth_type": "workload_identity", "workload_identity_provider": "custom",
  "identity_provider_id": "idp", "service_account_id": "sa", "token_type": "jwt",
  "token_command": ["vault", "read"], "token_command_timeout_seconds": 10}"#;

#[test]
fn no_override_sets_or_changes_a_token_command() {
    let (dir, with_command) = written(
        "with.json",
        &format!(r#"{{"conn_type": "openai", "extra": {CUSTOM_EXTRA}}}"#),
    );
    let bare_extra = write(dir.path(), "extra.json", CUSTOM_EXTRA);
    let without = write(
        dir.path(),
        "without.json",
        r#"{"conn_type": "openai", "extra": "{\"auth_type\": \"workload_identity\", \"workload_identity_provider\": \"custom\", \"identity_provider_id\": \"idp\", \"service_account_id\": \"sa\", \"token_provider\": \"x\"}"}"#,
    );
    let cases: &[(&Path, &str, &str)] = &[
        (
            &without,
            "OPENAI_CONN_EXTRA__TOKEN_COMMAND",
            "[\"sh\", \"-c\", \"id\"]",
        ),
        (
            &with_command,
            "OPENAI_CONN_EXTRA__TOKEN_COMMAND",
            "[\"sh\", \"-c\", \"id\"]",
        ),
        (
            &with_command,
            "openai_conn_extra__token_command_timeout_seconds",
            "3600",
        ),
        (&bare_extra, "OPENAI_CONN_EXTRA__TOKEN_COMMAND", "[\"sh\"]"),
        (
            &bare_extra,
            "OPENAI_CONN_EXTRA__TOKEN_COMMAND_TIMEOUT_SECONDS",
            "1",
        ),
        (
            &with_command,
            "OPENAI_CONN_EXTRA",
            "{token_command=[\"sh\"]}",
        ),
        (
            &with_command,
            "OPENAI_CONN_EXTRA",
            "\"{\\\"token_command\\\": [\\\"sh\\\"]}\"",
        ),
        (&without, "OPENAI_CONN_EXTRA", "{token_command=[\"sh\"]}"),
    ];
    for (path, name, value) in cases {
        let env = MapEnv::new().with(*name, *value);
        match load(&file(path), DocumentKind::Auto, &env) {
            Err(error @ LoadError::Overrides { .. }) => {
                let text = error.to_string();
                assert!(text.contains(name), "{name}: {text}");
                assert!(text.contains("may not set token_command"), "{text}");
                assert!(error.is_invalid_connection(), "{text}");
            }
            other => panic!(
                "{name}={value} on {}: expected Overrides, got {other:?}",
                path.display()
            ),
        }
    }
    // Other keys of a custom source may still be overridden, and the command stays.
    let env = MapEnv::new().with("OPENAI_CONN_EXTRA__SERVICE_ACCOUNT_ID", "sa-2");
    assert_clean(&load_ok(&file(&with_command), DocumentKind::Auto, &env));
}

#[test]
fn duplicates_are_never_silent() {
    use conn_load::load_connections_file;
    use conn_schema::{Code, Profile};

    let (dir, json) = written(
        "connections.json",
        "{\"a\": {\"conn_type\": \"openai\", \"password\": \"x\"},\n \"b\": {\"conn_type\": \"openai\", \"password\": \"x\"},\n \"a\": {\"conn_type\": \"openai\", \"password\": \"y\"}}\n",
    );
    // A connections file is refused read whole, and read for one of its ids.
    let refused = |path: &std::path::PathBuf| {
        let whole =
            load_connections_file(path, DocumentKind::Auto, Profile::default(), &MapEnv::new())
                .expect_err("two values for one id");
        let spec = SourceSpec::ConnectionsFile {
            path: path.clone(),
            conn_id: "b".to_owned(),
        };
        let one = load(&spec, DocumentKind::Auto, &MapEnv::new()).expect_err("the file is refused");
        [whole, one]
    };
    let [whole, one] = refused(&json);
    assert!(
        whole
            .to_string()
            .contains("connection id \"a\" is defined on line 1 and again on line 3"),
        "{whole}"
    );
    assert!(
        one.to_string().contains("line 1 and again on line 3"),
        "{one}"
    );

    // A YAML connections file names both places too, read whole or for one of its ids.
    let yaml = write(
        dir.path(),
        "connections.yaml",
        "a:\n  conn_type: openai\n  password: x\nb: {conn_type: openai, password: x}\na:\n  conn_type: openai\n",
    );
    for error in refused(&yaml) {
        assert!(
            error.to_string().contains(
                "duplicate key \"a\" in a mapping, given on line 1, column 1 and again on line 5, column 1"
            ),
            "{error}"
        );
        assert!(error.is_invalid_connection(), "{error}");
    }

    // Duplicate keys inside an extra written as a JSON string: in a JSON file, a YAML file, a
    // connection in JSON form in a variable, and a URI's `__extra__`.
    let yaml_string_extra = write(
        dir.path(),
        "conn.yaml",
        "conn_type: openai\npassword: x\nextra: '{\"auth_type\": \"api_key\", \"auth_type\": \"api_key\"}'\n",
    );
    let json_env = MapEnv::new().with(
        "AIRFLOW_CONN_J",
        r#"{"conn_type": "openai", "password": "x", "extra": "{\"auth_type\": \"api_key\", \"auth_type\": \"api_key\"}"}"#,
    );
    let string_extra = write(
        dir.path(),
        "conn.json",
        r#"{"conn_type": "openai", "password": "x", "extra": "{\"auth_type\": \"api_key\", \"auth_type\": \"api_key\"}"}"#,
    );
    let env = MapEnv::new().with(
        "AIRFLOW_CONN_U",
        "openai://:x@/?__extra__=%7B%22auth_type%22%3A%22api_key%22%2C%22auth_type%22%3A%22api_key%22%7D",
    );
    for (spec, env) in [
        (file(&string_extra), MapEnv::new()),
        (file(&yaml_string_extra), MapEnv::new()),
        (
            SourceSpec::Env {
                conn_id: "j".to_owned(),
            },
            json_env,
        ),
        (
            SourceSpec::Env {
                conn_id: "u".to_owned(),
            },
            env,
        ),
    ] {
        let loaded = load(&spec, DocumentKind::Auto, &env).expect("loads");
        let duplicate = loaded
            .report
            .diagnostics()
            .iter()
            .find(|diagnostic| diagnostic.code == Code::DuplicateKey)
            .unwrap_or_else(|| panic!("no duplicate-key: {:?}", loaded.report.diagnostics()));
        assert_eq!(duplicate.pointer, "/extra");
        assert_says(&duplicate.message, "\"auth_type\"");
    }
}

#[test]
fn env_files_are_split_into_lines_as_airflow_splits_them_and_quotes_are_reported() {
    use conn_load::load_connections_file;
    use conn_schema::Profile;

    let dir = tempfile::tempdir().unwrap();
    for separator in [
        "\r", "\r\n", "\u{0b}", "\u{0c}", "\u{1c}", "\u{1d}", "\u{1e}", "\u{85}", "\u{2028}",
        "\u{2029}",
    ] {
        let path = write(
            dir.path(),
            "connections.env",
            &format!("A=openai://:sk-a@{separator}B=openai://:sk-b@\n"),
        );
        let loaded =
            load_connections_file(&path, DocumentKind::Auto, Profile::Airflow, &MapEnv::new())
                .unwrap_or_else(|error| panic!("{separator:?}: {error}"));
        let ids: Vec<Option<&str>> = loaded.iter().map(|one| one.conn_id.as_deref()).collect();
        assert_eq!(ids, [Some("A"), Some("B")], "{separator:?}");
    }
    let quoted = write(
        dir.path(),
        "quoted.env",
        "A=openai://:sk-a@\nB=\"openai://:sk-b@\"\n",
    );
    let error = load_connections_file(
        &quoted,
        DocumentKind::Auto,
        Profile::Airflow,
        &MapEnv::new(),
    )
    .expect_err("a quoted value is reported");
    let text = error.to_string();
    assert!(text.contains(":2:") && text.contains("in quotes"), "{text}");
    assert!(!text.contains("sk-b"), "{text}");
}
