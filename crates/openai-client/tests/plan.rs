//! The pure resolution rules: base URL, API key source, exchange URL, options and their errors.

mod support;

use std::sync::Arc;
use std::time::Duration;

use openai_conn_client::providers_core::MapEnv;
use openai_conn_client::{
    ApiKeyOrigin, AuthPlan, BaseUrlOrigin, ClientError, ClientOptions, ExchangeUrlOrigin, plan,
};
use serde_json::{Value, json};
use support::parse;

fn options(env: MapEnv) -> ClientOptions {
    ClientOptions::new().with_env(Arc::new(env))
}

fn api_key_connection(host: Value, password: Value, kwargs: Value) -> conn_schema::Connection {
    parse(&json!({
        "conn_type": "openai",
        "host": host,
        "password": password,
        "extra": {"openai_client_kwargs": kwargs}
    }))
}

/// A Kubernetes workload identity connection that also carries a password (which it ignores),
/// with `more` keys in its extra.
fn kubernetes_with_a_password(more: Value) -> conn_schema::Connection {
    let mut extra = json!({
        "auth_type": "workload_identity",
        "workload_identity_provider": "kubernetes",
        "identity_provider_id": "idp",
        "service_account_id": "sa"
    });
    for (key, value) in more.as_object().expect("test setup: an object") {
        extra[key] = value.clone();
    }
    parse(&json!({"conn_type": "openai", "password": "sk-ignored", "extra": extra}))
}

#[test]
fn base_url_prefers_kwargs_then_host_then_env_then_default() {
    let env = MapEnv::new()
        .with("OPENAI_BASE_URL", "https://env.example.com/v1")
        .with("OPENAI_API_KEY", "sk-env");
    let cases = [
        (
            api_key_connection(
                json!("https://host.example.com/v1"),
                Value::Null,
                json!({"base_url": "https://kwargs.example.com/v1/"}),
            ),
            "https://kwargs.example.com/v1",
            BaseUrlOrigin::ClientKwargs,
        ),
        (
            api_key_connection(json!("https://host.example.com/v1"), Value::Null, json!({})),
            "https://host.example.com/v1",
            BaseUrlOrigin::Host,
        ),
        (
            api_key_connection(json!(""), Value::Null, json!({})),
            "https://env.example.com/v1",
            BaseUrlOrigin::Env,
        ),
    ];
    for (connection, url, origin) in cases {
        let plan = plan(&connection, "c", &options(env.clone())).unwrap();
        assert_eq!(
            (plan.base_url.as_str(), plan.base_url_origin),
            (url, origin)
        );
    }
    let connection = api_key_connection(Value::Null, json!("sk-p"), json!({}));
    let plan = plan(&connection, "c", &options(MapEnv::new())).unwrap();
    assert_eq!(
        (plan.base_url.as_str(), plan.base_url_origin),
        ("https://api.openai.com/v1", BaseUrlOrigin::Default)
    );
}

#[test]
fn api_key_prefers_kwargs_then_password_then_env() {
    let env = MapEnv::new().with("OPENAI_API_KEY", "sk-env");
    let cases = [
        (
            json!("sk-p"),
            json!({"api_key": "sk-k"}),
            ApiKeyOrigin::ClientKwargs,
        ),
        (json!("sk-p"), json!({}), ApiKeyOrigin::Password),
        (json!(""), json!({}), ApiKeyOrigin::Env),
    ];
    for (password, kwargs, origin) in cases {
        let connection = api_key_connection(Value::Null, password, kwargs);
        let plan = plan(&connection, "c", &options(env.clone())).unwrap();
        assert_eq!(plan.auth, AuthPlan::ApiKey { origin });
    }
}

#[test]
fn a_missing_api_key_names_the_connection() {
    let connection = api_key_connection(Value::Null, Value::Null, json!({}));
    let error = plan(&connection, "my_openai", &options(MapEnv::new())).unwrap_err();
    assert!(
        matches!(error, ClientError::MissingApiKey { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("\"my_openai\""), "{error}");
}

#[test]
fn workload_identity_plan_shows_the_exchange_and_the_ignored_key() {
    let connection = kubernetes_with_a_password(json!({"refresh_buffer_seconds": 300}));
    let env = MapEnv::new().with(
        "OPENAI_TOKEN_EXCHANGE_URL",
        "https://auth.example.com/token",
    );
    let resolved = plan(&connection, "c", &options(env.clone())).unwrap();
    let AuthPlan::WorkloadIdentity {
        exchange_url,
        exchange_url_origin,
        ignored_api_key,
        refresh_buffer,
        ..
    } = resolved.auth
    else {
        panic!("expected workload identity");
    };
    assert_eq!(exchange_url, "https://auth.example.com/token");
    assert_eq!(exchange_url_origin, ExchangeUrlOrigin::Env);
    assert_eq!(ignored_api_key, Some(ApiKeyOrigin::Password));
    assert_eq!(refresh_buffer, Duration::from_secs(300));

    let resolved = plan(
        &connection,
        "c",
        &options(env).with_exchange_url("https://override.example.com/token"),
    )
    .unwrap();
    assert!(matches!(
        resolved.auth,
        AuthPlan::WorkloadIdentity {
            exchange_url_origin: ExchangeUrlOrigin::Override,
            ..
        }
    ));

    let resolved = plan(&connection, "c", &options(MapEnv::new())).unwrap();
    assert!(matches!(
        resolved.auth,
        AuthPlan::WorkloadIdentity { ref exchange_url, exchange_url_origin: ExchangeUrlOrigin::Default, .. }
            if exchange_url == "https://auth.openai.com/oauth/token"
    ));
}

#[test]
fn organization_and_project_fall_back_to_the_environment() {
    let env = MapEnv::new()
        .with("OPENAI_API_KEY", "sk")
        .with("OPENAI_ORG_ID", "org-env")
        .with("OPENAI_PROJECT_ID", "proj-env");
    let connection = api_key_connection(Value::Null, Value::Null, json!({"project": "proj-kw"}));
    let plan = plan(&connection, "c", &options(env)).unwrap();
    assert_eq!(plan.organization.as_deref(), Some("org-env"));
    assert_eq!(plan.project.as_deref(), Some("proj-kw"));
    assert_eq!(plan.timeout, Duration::from_secs(600));
    assert_eq!(plan.max_retries, 2);
}

#[test]
fn a_bad_header_or_key_is_an_error_not_a_panic() {
    let env = MapEnv::new().with("OPENAI_API_KEY", "sk\nbroken");
    let connection = api_key_connection(Value::Null, Value::Null, json!({}));
    let error = openai_conn_client::from_connection(&connection, "c", options(env)).unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::InvalidApiKey {
                origin: ApiKeyOrigin::Env,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.to_string().contains("broken"));

    let connection = api_key_connection(
        Value::Null,
        json!("sk"),
        json!({"default_headers": {"X-Bad": "a\u{7f}b"}}),
    );
    let error =
        openai_conn_client::from_connection(&connection, "c", options(MapEnv::new())).unwrap_err();
    assert!(
        matches!(error, ClientError::InvalidHeader { .. }),
        "{error:?}"
    );
}

/// A variable is in effect only where it won: the connection's host, password and kwargs come
/// first, so `OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_ORG_ID` and `OPENAI_PROJECT_ID` are not
/// listed when the connection sets its own values, and are listed when they are used.
#[test]
fn env_in_effect_lists_only_the_variables_that_won() {
    let env = MapEnv::new()
        .with("OPENAI_BASE_URL", "https://env.example.com/v1")
        .with("OPENAI_API_KEY", "sk-env")
        .with("OPENAI_ORG_ID", "org-env")
        .with("OPENAI_PROJECT_ID", "proj-env");
    let own = api_key_connection(
        json!("https://host.example.com/v1"),
        json!("sk-password"),
        json!({"organization": "org-own", "project": "proj-own"}),
    );
    let resolved = plan(&own, "c", &options(env.clone())).unwrap();
    assert!(
        resolved.env_in_effect.is_empty(),
        "{:?}",
        resolved.env_in_effect
    );
    assert_eq!(
        serde_json::to_value(&resolved).unwrap()["env_overrides"],
        json!([])
    );

    let bare = api_key_connection(Value::Null, Value::Null, json!({}));
    let options = options(env).with_applied_overrides(["OPENAI_CONN_HOST".to_owned()]);
    let resolved = plan(&bare, "c", &options).unwrap();
    assert_eq!(
        resolved.env_in_effect,
        [
            "OPENAI_CONN_HOST",
            "OPENAI_BASE_URL",
            "OPENAI_ORG_ID",
            "OPENAI_PROJECT_ID",
            "OPENAI_API_KEY"
        ]
    );
    assert_eq!(
        serde_json::to_value(&resolved).unwrap()["env_overrides"],
        json!(resolved.env_in_effect)
    );
}

fn x509_connection(kwargs: Value) -> conn_schema::Connection {
    parse(&json!({
        "conn_type": "openai",
        "extra": {
            "auth_type": "workload_identity",
            "workload_identity_provider": "x509",
            "identity_provider_id": "idp",
            "service_account_id": "sa",
            "certificate_path": "/nonexistent/cert.pem",
            "private_key_path": "/nonexistent/key.pem",
            "openai_client_kwargs": kwargs
        }
    }))
}

#[test]
fn data_residency_selects_the_regional_base_before_the_environment() {
    let env = MapEnv::new()
        .with("OPENAI_BASE_URL", "https://env.example.com/v1")
        .with("OPENAI_API_KEY", "sk-env");
    for (region, url) in [
        ("global", "https://api.openai.com/v1"),
        ("us", "https://us.api.openai.com/v1"),
        ("eu", "https://eu.api.openai.com/v1"),
        ("ae", "https://ae.api.openai.com/v1"),
        ("au", "https://au.api.openai.com/v1"),
        ("in", "https://in.api.openai.com/v1"),
        ("jp", "https://jp.api.openai.com/v1"),
    ] {
        let connection =
            api_key_connection(Value::Null, Value::Null, json!({"data_residency": region}));
        let plan = plan(&connection, "c", &options(env.clone())).unwrap();
        assert_eq!(
            (plan.base_url.as_str(), plan.base_url_origin),
            (url, BaseUrlOrigin::DataResidency),
            "{region}"
        );
        let printed = serde_json::to_value(&plan).unwrap();
        assert_eq!(
            printed["base_url_source"],
            json!("openai_client_kwargs.data_residency")
        );
        // OPENAI_BASE_URL lost, so it is not among the variables in effect.
        assert!(
            !printed["env_overrides"]
                .as_array()
                .unwrap()
                .contains(&json!("OPENAI_BASE_URL")),
            "{printed}"
        );
    }
}

#[test]
fn data_residency_under_x509_selects_the_mutual_tls_hosts_of_three_regions_only() {
    for (region, url) in [
        ("global", "https://mtls.api.openai.com/v1"),
        ("us", "https://mtls-us.api.openai.com/v1"),
        ("eu", "https://mtls-eu.api.openai.com/v1"),
    ] {
        let connection = x509_connection(json!({"data_residency": region}));
        let plan = plan(&connection, "c", &options(MapEnv::new())).unwrap();
        assert_eq!(
            (plan.base_url.as_str(), plan.base_url_origin),
            (url, BaseUrlOrigin::DataResidency),
            "{region}"
        );
    }
    // A connection built in code, past the parser: the client refuses it too.
    let mut connection = x509_connection(json!({}));
    connection.extra.client_kwargs.data_residency = Some(conn_schema::DataResidency::Jp);
    let error = plan(&connection, "c", &options(MapEnv::new())).unwrap_err();
    assert!(
        matches!(&error, ClientError::InvalidBaseUrl { reason, .. } if reason.contains("no mutual-TLS endpoint")),
        "{error}"
    );
}

#[test]
fn data_residency_beside_base_url_or_host_is_refused_by_the_client_too() {
    let env = MapEnv::new().with("OPENAI_API_KEY", "sk-env");
    let mut with_base_url = api_key_connection(
        Value::Null,
        Value::Null,
        json!({"base_url": "https://kwargs.example.com/v1"}),
    );
    with_base_url.extra.client_kwargs.data_residency = Some(conn_schema::DataResidency::Eu);
    let mut with_host =
        api_key_connection(json!("https://host.example.com/v1"), Value::Null, json!({}));
    with_host.extra.client_kwargs.data_residency = Some(conn_schema::DataResidency::Eu);
    for (connection, other) in [(with_base_url, "\"base_url\""), (with_host, "host")] {
        let error = plan(&connection, "c", &options(env.clone())).unwrap_err();
        assert!(
            matches!(&error, ClientError::InvalidBaseUrl { reason, .. } if reason.contains(other)),
            "{error}"
        );
    }
}

/// The JSON form `openai-conn plan` prints, keys in order, for both auth types and for x509.
#[test]
fn the_plan_serializes_to_its_documented_json_form_key_order_included() {
    let env = MapEnv::new().with("OPENAI_API_KEY", "sk-env");
    let api_key = api_key_connection(
        json!("https://host.example.com/v1"),
        json!("sk-p"),
        json!({"organization": "org", "timeout": 30, "default_headers": {"X-A": "1"}, "default_query": {"q": "v"}}),
    );
    let printed =
        serde_json::to_string(&plan(&api_key, "c", &options(env.clone())).unwrap()).unwrap();
    assert_eq!(
        printed,
        r#"{"conn_id":"c","auth_type":"api_key","base_url":"https://host.example.com/v1","base_url_source":"the connection host","api_key":"[redacted]","api_key_source":"the connection password","organization":"org","project":null,"timeout_seconds":30.0,"max_retries":2,"default_headers":["X-A"],"default_query":["q"],"env_overrides":[]}"#
    );
    let kubernetes = kubernetes_with_a_password(json!({}));
    let printed =
        serde_json::to_string(&plan(&kubernetes, "k", &options(MapEnv::new())).unwrap()).unwrap();
    assert_eq!(
        printed,
        r#"{"conn_id":"k","auth_type":"workload_identity","base_url":"https://api.openai.com/v1","base_url_source":"the default","api_key":null,"organization":null,"project":null,"timeout_seconds":600.0,"max_retries":2,"default_headers":[],"default_query":[],"workload_identity":{"provider":"kubernetes","token_type":"jwt","token_file_path":"/var/run/secrets/kubernetes.io/serviceaccount/token","identity_provider_id":"idp","service_account_id":"sa","refresh_buffer_seconds":1200.0,"token_exchange_url":"https://auth.openai.com/oauth/token","token_exchange_url_source":"the default","ignored_api_key":"the connection password","env_overrides":[]},"env_overrides":[]}"#
    );
    let x509 = x509_connection(json!({}));
    let printed =
        serde_json::to_string(&plan(&x509, "x", &options(MapEnv::new())).unwrap()).unwrap();
    assert_eq!(
        printed,
        r#"{"conn_id":"x","auth_type":"workload_identity","base_url":"https://mtls.api.openai.com/v1","base_url_source":"the default","api_key":null,"organization":null,"project":null,"timeout_seconds":600.0,"max_retries":2,"default_headers":[],"default_query":[],"workload_identity":{"provider":"x509","subject_token_type":"urn:openai:params:oauth:token-type:x509","certificate_path":"/nonexistent/cert.pem","private_key_path":"/nonexistent/key.pem","identity_provider_id":"idp","service_account_id":"sa","refresh_buffer_seconds":1200.0,"token_exchange_url":"https://mtls.auth.openai.com/oauth/token","token_exchange_url_source":"the default","ignored_api_key":null,"env_overrides":[]},"env_overrides":[]}"#
    );
}
