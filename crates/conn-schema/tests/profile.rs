//! The Airflow profile: what Airflow's OpenAI provider would reject or ignore is an error, with
//! its position; the default profile is unchanged; and the Airflow schema gives the same verdict
//! as the parser under the Airflow profile.

mod common;

use common::assert_same_verdict;
use openai_conn_tests::{json_files, workspace};

use conn_schema::profile::{AIRFLOW_EXTRA_SCHEMA_FILE, is_python_import_path};
use conn_schema::{
    Diagnostic, DocumentKind, Profile, SchemaValidator, Severity, validate, validate_bytes_for,
    validate_for,
};
use serde_json::{Value, json};

fn airflow_schema() -> SchemaValidator {
    let text = std::fs::read_to_string(workspace().join("schema").join(AIRFLOW_EXTRA_SCHEMA_FILE))
        .expect("the Airflow schema is checked in (cargo xtask schema)");
    SchemaValidator::new(&serde_json::from_str(&text).expect("JSON")).expect("compiles")
}

fn errors(text: &str, profile: Profile) -> Vec<Diagnostic> {
    validate_for(text, DocumentKind::Auto, profile)
        .into_diagnostics()
        .into_iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .collect()
}

/// The errors the Airflow profile finds in `text`, which the default profile accepts; there is
/// at least one.
fn airflow_errors(text: &str) -> Vec<Diagnostic> {
    let default = errors(text, Profile::OpenaiConn);
    assert!(
        default.is_empty(),
        "the default profile accepts it: {default:?}"
    );
    let found = errors(text, Profile::Airflow);
    assert!(!found.is_empty(), "the Airflow profile refuses it");
    found
}

/// `found` is an error at `pointer`, on `line` and `column`.
fn assert_at(found: &Diagnostic, pointer: &str, line: usize, column: usize) {
    assert_eq!(found.pointer, pointer, "{found:?}");
    assert_eq!(
        found.location.map(|at| (at.line, at.column)),
        Some((line, column)),
        "{found:?}"
    );
}

fn workload(provider: &str, extra: &str) -> String {
    format!(
        "{{\n  \"auth_type\": \"workload_identity\",\n  \"workload_identity_provider\": \"{provider}\",\n  \"identity_provider_id\": \"idp\",\n  \"service_account_id\": \"sa\"{extra}\n}}"
    )
}

/// The bare extra of a `provider` connection (with `extra` keys added), and the Airflow profile's
/// errors in it, the first of which is checked to sit on the provider's value and to say that
/// Airflow has no such provider.
fn unknown_to_airflow(provider: &str, extra: &str) -> (String, Vec<Diagnostic>) {
    let text = workload(provider, extra);
    let found = airflow_errors(&text);
    assert_at(&found[0], "/workload_identity_provider", 3, 33);
    assert!(
        found[0]
            .message
            .contains(&format!("no workload_identity_provider {provider:?}")),
        "{}",
        found[0].message
    );
    (text, found)
}

#[test]
fn github_actions_is_an_error_on_its_value_only_under_the_airflow_profile() {
    let (text, found) = unknown_to_airflow("github_actions", "");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .message
            .contains("\"kubernetes\", \"azure\", \"gcp\", \"custom\""),
        "{}",
        found[0].message
    );
    assert!(
        validate_for(&text, DocumentKind::Auto, Profile::Airflow)
            .connection()
            .is_none()
    );
}

#[test]
fn token_command_and_its_timeout_are_errors_on_their_keys() {
    let text = workload(
        "custom",
        ",\n  \"token_command\": [\"vault\", \"read\"],\n  \"token_command_timeout_seconds\": 5",
    );
    let found = airflow_errors(&text);
    let at: Vec<(&str, usize, usize)> = found
        .iter()
        .filter_map(|d| Some((d.pointer.as_str(), d.location?.line, d.location?.column)))
        .collect();
    assert!(at.contains(&("/token_command", 6, 3)), "{found:?}");
    assert!(
        at.contains(&("/token_command_timeout_seconds", 7, 3)),
        "{found:?}"
    );
    // Airflow would find no token_provider at all.
    assert!(
        found
            .iter()
            .any(|d| d.pointer.is_empty() && d.message.contains("\"token_provider\"")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|d| d.message.contains("ignores \"token_command\""))
    );
}

#[test]
fn custom_token_provider_must_be_a_dotted_import_path_for_airflow() {
    let bare = workload("custom", ",\n  \"token_provider\": \"vault_jwt\"");
    let found = airflow_errors(&bare);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_at(&found[0], "/token_provider", 6, 21);
    assert!(found[0].message.contains("dotted Python import path"));

    let dotted = workload(
        "custom",
        ",\n  \"token_provider\": \"corp.tokens.vault_jwt\"",
    );
    assert!(errors(&dotted, Profile::Airflow).is_empty());
}

#[test]
fn the_providers_airflow_knows_pass_and_a_whole_connection_is_checked_inside_extra() {
    for provider in ["kubernetes", "azure", "gcp"] {
        assert!(
            errors(&workload(provider, ""), Profile::Airflow).is_empty(),
            "{provider}"
        );
    }
    // A whole connection, with the extra as an object and as Airflow's JSON string.
    let object = json!({"conn_type": "openai", "extra": {"auth_type": "workload_identity",
        "workload_identity_provider": "github_actions", "identity_provider_id": "i",
        "service_account_id": "s"}});
    let found = errors(&object.to_string(), Profile::Airflow);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].pointer, "/extra/workload_identity_provider");
    let string = json!({"conn_type": "openai", "extra": object["extra"].to_string()});
    let found = errors(&string.to_string(), Profile::Airflow);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].pointer, "/extra/workload_identity_provider");
    // Under api_key nothing of workload identity is judged twice.
    assert!(errors("{\"auth_type\": \"api_key\"}", Profile::Airflow).is_empty());
}

/// The default profile is exactly `validate`.
#[test]
fn the_default_profile_is_todays_behaviour() {
    assert_eq!(Profile::default(), Profile::OpenaiConn);
    for text in [
        workload("github_actions", ""),
        workload("custom", ",\n  \"token_command\": [\"x\"]"),
        workload("custom", ",\n  \"token_provider\": \"x\""),
    ] {
        assert_eq!(
            validate(&text, DocumentKind::Auto).diagnostics(),
            validate_for(&text, DocumentKind::Auto, Profile::OpenaiConn).diagnostics()
        );
    }
}

/// The Airflow schema and the parser under the Airflow profile agree on every bare-extra fixture
/// and example (a whole connection's extra is checked through its `extra`).
#[test]
fn airflow_schema_and_airflow_profile_agree_on_every_fixture() {
    let schema = airflow_schema();
    let mut compared = 0;
    let mut rejected_only_by_airflow = 0;
    for directory in ["tests/fixtures/valid", "tests/fixtures/invalid", "examples"] {
        for path in json_files(directory) {
            let bytes = std::fs::read(&path).expect("fixture");
            let report = validate_bytes_for(&bytes, DocumentKind::Auto, Profile::Airflow);
            if !report.well_formed() || report.kind() != DocumentKind::Extra {
                continue;
            }
            if report
                .diagnostics()
                .iter()
                .any(|diagnostic| diagnostic.message.starts_with("duplicate key"))
            {
                continue;
            }
            let value: Value = serde_json::from_slice(&bytes).expect("well-formed");
            let schema_errors = schema.errors(&value);
            assert_same_verdict(&path, &report, &schema_errors);
            let default = validate_bytes_for(&bytes, DocumentKind::Auto, Profile::OpenaiConn);
            if report.has_errors() && !default.has_errors() {
                rejected_only_by_airflow += 1;
            }
            compared += 1;
        }
    }
    assert!(compared >= 40, "only {compared} fixtures compared");
    // github-actions.json, custom-command-id-token.json, custom-registered.json (a bare name)...
    assert!(
        rejected_only_by_airflow >= 2,
        "only {rejected_only_by_airflow} fixtures are Airflow-only errors"
    );
}

/// `token_provider` examples: the rule and the schema's `pattern` agree.
#[test]
fn token_provider_rule_and_schema_pattern_agree() {
    let schema = airflow_schema();
    for (name, expected) in [
        ("my_company.tokens.get_token", true),
        ("a.b", true),
        ("_x._y1", true),
        ("vault_jwt", false),
        ("a..b", false),
        ("a.b.", false),
        ("1a.b", false),
        ("my-company.tokens", false),
        ("tokens.get token", false),
    ] {
        assert_eq!(is_python_import_path(name), expected, "{name}");
        let value = json!({"auth_type": "workload_identity", "workload_identity_provider": "custom",
            "identity_provider_id": "i", "service_account_id": "s", "token_provider": name});
        assert_eq!(schema.errors(&value).is_empty(), expected, "{name}");
        let parsed = validate_for(&value.to_string(), DocumentKind::Auto, Profile::Airflow);
        assert_eq!(!parsed.has_errors(), expected, "{name}");
    }
}

#[test]
fn x509_is_an_error_under_the_airflow_profile_and_the_airflow_schema_agrees() {
    let (text, _) = unknown_to_airflow(
        "x509",
        ",\n  \"certificate_path\": \"/tls/tls.crt\",\n  \"private_key_path\": \"/tls/tls.key\"",
    );
    let value: Value = serde_json::from_str(&text).expect("JSON");
    assert!(!airflow_schema().errors(&value).is_empty());
}

#[test]
fn data_residency_is_not_in_airflow_on_its_key_and_the_airflow_schema_refuses_it() {
    // Airflow's hook always passes base_url, and the SDK refuses data_residency beside it.
    let text = "{\n  \"openai_client_kwargs\": {\n    \"data_residency\": \"eu\"\n  }\n}";
    assert!(errors(text, Profile::OpenaiConn).is_empty());
    let found = errors(text, Profile::Airflow);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].code, conn_schema::Code::NotInAirflow);
    assert_eq!(found[0].pointer, "/openai_client_kwargs/data_residency");
    assert_eq!(
        found[0].location.map(|at| (at.line, at.column)),
        Some((3, 5)),
        "the finding sits at the data_residency key"
    );
    assert!(
        found[0].message.contains("\"data_residency\""),
        "{}",
        found[0].message
    );
    let value: Value = serde_json::from_str(text).expect("JSON");
    assert!(!airflow_schema().errors(&value).is_empty());
}
