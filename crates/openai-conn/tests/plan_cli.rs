//! `openai-conn plan`: every default and each precedence rule, without network.

mod support;

use serde_json::{Value, json};

fn plan(document: &Value, env: &[(&str, &str)]) -> (Option<i32>, Value, String) {
    let directory = tempfile::tempdir().expect("temp dir");
    let file = support::write_connection(directory.path(), document);
    let output = support::run_with(&["plan", &file], env);
    let value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (
        output.status.code(),
        value,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn workload(provider: &str) -> Value {
    json!({
        "auth_type": "workload_identity",
        "workload_identity_provider": provider,
        "identity_provider_id": "idp",
        "service_account_id": "sa",
    })
}

#[test]
fn every_provider_default_is_filled_in() {
    let expectations = [
        (
            "kubernetes",
            json!({"provider": "kubernetes", "token_type": "jwt", "token_file_path": "/var/run/secrets/kubernetes.io/serviceaccount/token"}),
        ),
        (
            "azure",
            json!({"provider": "azure", "token_type": "jwt", "resource": "https://management.azure.com/", "api_version": "2018-02-01"}),
        ),
        (
            "gcp",
            json!({"provider": "gcp", "token_type": "id", "audience": "https://api.openai.com/v1"}),
        ),
        (
            "github_actions",
            json!({"provider": "github_actions", "token_type": "jwt", "audience": "https://api.openai.com/v1"}),
        ),
    ];
    for (provider, expected) in expectations {
        let (code, value, stderr) = plan(&workload(provider), &[]);
        assert_eq!(code, Some(0), "{provider}: {stderr}");
        let identity = &value["workload_identity"];
        for (key, item) in expected.as_object().expect("object") {
            assert_eq!(&identity[key], item, "{provider}.{key}");
        }
        assert_eq!(identity["refresh_buffer_seconds"], 1200.0);
        assert_eq!(
            identity["token_exchange_url"],
            "https://auth.openai.com/oauth/token"
        );
        assert_eq!(identity["identity_provider_id"], "idp");
        assert_eq!(identity["service_account_id"], "sa");
        assert_eq!(value["auth_type"], "workload_identity");
        assert_eq!(value["api_key"], Value::Null);
        assert_eq!(value["base_url"], "https://api.openai.com/v1");
    }
    let mut custom = workload("custom");
    custom["token_command"] = json!(["vault", "read", "secret"]);
    let (_, value, _) = plan(&custom, &[]);
    assert_eq!(value["workload_identity"]["token_type"], "jwt");
    assert_eq!(
        value["workload_identity"]["token_command_timeout_seconds"],
        30.0
    );
    assert_eq!(
        value["workload_identity"]["token_command"],
        json!({"program": "vault", "arguments": 2})
    );
}

#[test]
fn base_url_precedence_kwargs_then_host_then_env_then_default() {
    let kwargs = json!({"conn_type": "openai", "host": "https://host.example/v1", "password": "sk-x", "extra": {"openai_client_kwargs": {"base_url": "https://kwargs.example/v1"}}});
    let host =
        json!({"conn_type": "openai", "host": "https://host.example/v1", "password": "sk-x"});
    let neither = json!({"conn_type": "openai", "password": "sk-x"});
    let env = [("OPENAI_BASE_URL", "https://env.example/v1")];
    assert_eq!(
        plan(&kwargs, &env).1["base_url"],
        "https://kwargs.example/v1"
    );
    assert_eq!(plan(&host, &env).1["base_url"], "https://host.example/v1");
    let (_, from_env, _) = plan(&neither, &env);
    assert_eq!(from_env["base_url"], "https://env.example/v1");
    assert!(
        from_env["env_overrides"]
            .as_array()
            .expect("array")
            .contains(&json!("OPENAI_BASE_URL"))
    );
    assert_eq!(
        plan(&neither, &[]).1["base_url"],
        "https://api.openai.com/v1"
    );
}

#[test]
fn api_key_precedence_and_redaction() {
    let both = json!({"conn_type": "openai", "password": "sk-PASSWORD-1", "extra": {"openai_client_kwargs": {"api_key": "sk-KWARGS-2"}}});
    let (code, value, _) = plan(&both, &[("OPENAI_API_KEY", "sk-ENV-3")]);
    assert_eq!(code, Some(0));
    assert_eq!(value["api_key"], "[redacted]");
    assert_eq!(value["api_key_source"], "openai_client_kwargs.api_key");
    let password = json!({"conn_type": "openai", "password": "sk-PASSWORD-1"});
    assert_eq!(
        plan(&password, &[("OPENAI_API_KEY", "sk-ENV-3")]).1["api_key_source"],
        "the connection password"
    );
    let none = json!({"conn_type": "openai"});
    assert_eq!(
        plan(&none, &[("OPENAI_API_KEY", "sk-ENV-3")]).1["api_key_source"],
        "the OPENAI_API_KEY environment variable"
    );
    let (code, value, stderr) = plan(&none, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(value, Value::Null);
    assert!(stderr.contains("has no api key"), "{stderr}");
    for text in [value.to_string(), stderr] {
        assert!(
            !text.contains("sk-PASSWORD-1")
                && !text.contains("sk-KWARGS-2")
                && !text.contains("sk-ENV-3")
        );
    }
}

#[test]
fn workload_identity_plan_shows_ignored_key_exchange_override_and_provider_env() {
    let mut extra = workload("gcp");
    extra["openai_client_kwargs"] = json!({"api_key": "sk-IGNORED"});
    extra["refresh_buffer_seconds"] = json!(300);
    let document = json!({"conn_type": "openai", "extra": extra});
    let (code, value, stderr) = plan(
        &document,
        &[
            (
                "OPENAI_TOKEN_EXCHANGE_URL",
                "http://127.0.0.1:9/oauth/token",
            ),
            ("GCE_METADATA_HOST", "127.0.0.1:9"),
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let identity = &value["workload_identity"];
    assert_eq!(identity["ignored_api_key"], "openai_client_kwargs.api_key");
    assert_eq!(identity["refresh_buffer_seconds"], 300.0);
    assert_eq!(
        identity["token_exchange_url"],
        "http://127.0.0.1:9/oauth/token"
    );
    assert_eq!(
        identity["env_overrides"],
        json!(["OPENAI_TOKEN_EXCHANGE_URL", "GCE_METADATA_HOST"])
    );
    assert!(!value.to_string().contains("sk-IGNORED"));
}

#[test]
fn an_invalid_connection_is_reported_not_planned() {
    let mut extra = workload("azure");
    extra["audience"] = json!("x");
    let (code, value, stderr) = plan(&json!({"conn_type": "openai", "extra": extra}), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(value, Value::Null);
    assert!(
        stderr.contains("key \"audience\" does not apply"),
        "{stderr}"
    );
}
