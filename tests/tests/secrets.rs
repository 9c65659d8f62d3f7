//! Debug and Display of every public configuration, token and error type, built with distinctive
//! secret values: none of the values may appear. (The CLI side, every subcommand at
//! `RUST_LOG=trace`, is `e2e_cli.rs::no_secret_in_any_output_even_at_trace_level`.)

use std::sync::Arc;

use conn_schema::{DocumentKind, Extra, validate};
use openai_conn_client::{ClientOptions, ExchangeError, TokenCache, from_connection};
use providers_core::{MapEnv, SourceError, SubjectToken, TokenType};
use serde_json::json;

const API_KEY: &str = "sk-DEBUG-key-1111";
const PASSWORD: &str = "sk-DEBUG-password-2222";
const SUBJECT: &str = "subject-DEBUG-3333";
const HEADER_SECRET: &str = "header-DEBUG-4444";
const REQUEST_TOKEN: &str = "actions-DEBUG-5555";

fn assert_clean(what: &str, text: &str) {
    for secret in [API_KEY, PASSWORD, SUBJECT, HEADER_SECRET, REQUEST_TOKEN] {
        assert!(!text.contains(secret), "{what} shows {secret}: {text}");
    }
}

fn connection(extra: serde_json::Value) -> conn_schema::Connection {
    let document = json!({"conn_type": "openai", "password": PASSWORD, "extra": extra});
    let report = validate(&document.to_string(), DocumentKind::Auto);
    assert_clean("the report", &format!("{report:?}"));
    report.into_connection().expect("valid connection")
}

#[tokio::test]
async fn no_public_type_prints_a_secret() {
    let api_key = connection(
        json!({"openai_client_kwargs": {"api_key": API_KEY, "default_headers": {"X-Team": HEADER_SECRET}}}),
    );
    assert_clean("Connection", &format!("{api_key:?}"));
    let extra: &Extra = &api_key.extra;
    assert_clean("Extra", &format!("{extra:?}"));
    assert_clean("ClientKwargs", &format!("{:?}", extra.client_kwargs));

    let env = MapEnv::new()
        .with("OPENAI_API_KEY", API_KEY)
        .with("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
        .with(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "http://127.0.0.1:9/token?x=1",
        )
        .with("IDENTITY_HEADER", HEADER_SECRET);
    assert_clean("MapEnv", &format!("{env:?}"));
    let options = ClientOptions::new().with_env(Arc::new(env.clone()));
    assert_clean("ClientOptions", &format!("{options:?}"));
    // An exchange URL may carry a credential in its query or user info.
    let with_url = ClientOptions::new().with_exchange_url(format!(
        "https://user:{PASSWORD}@auth.example.com/oauth/token?key={API_KEY}"
    ));
    assert_clean(
        "ClientOptions with an exchange url",
        &format!("{with_url:?}"),
    );
    let connected = from_connection(&api_key, "secrets", options.clone()).expect("client");
    assert_clean("Connected", &format!("{connected:?}"));
    let plan = openai_conn_client::plan(&api_key, "secrets", &options).expect("plan");
    assert_clean("Plan", &format!("{plan:?}"));

    for provider in ["github_actions", "azure", "gcp", "kubernetes"] {
        let workload = connection(json!({
            "auth_type": "workload_identity",
            "workload_identity_provider": provider,
            "identity_provider_id": "idp",
            "service_account_id": "sa",
            "openai_client_kwargs": {"api_key": API_KEY},
        }));
        let connected = from_connection(&workload, "secrets", options.clone()).expect("client");
        assert_clean(provider, &format!("{connected:?}"));
        let cache = connected
            .token_cache
            .expect("workload identity has a cache");
        assert_clean("TokenCache", &format!("{cache:?}"));
    }

    let token = SubjectToken::new(SUBJECT, TokenType::Jwt);
    assert_clean("SubjectToken", &format!("{token:?}"));
    let kubernetes = providers_kubernetes::KubernetesSource::new("/nonexistent/token");
    assert_clean("KubernetesSource", &format!("{kubernetes:?}"));
    let command = providers_custom::CommandSource::new(
        vec!["sh".into(), "-c".into(), format!("printf {SUBJECT}")],
        std::time::Duration::from_secs(5),
        TokenType::Jwt,
    );
    assert_clean("CommandSource", &format!("{command:?}"));
    let registry = providers_custom::Registry::new().with("corp", Arc::new(command));
    assert_clean("Registry", &format!("{registry:?}"));

    // Errors: an OAuth error, a source error, and a cache whose exchange cannot be reached.
    let oauth = ExchangeError::OAuth {
        error: "invalid_grant".into(),
        description: "no mapping".into(),
        status: 401,
        request_id: Some("req_1".into()),
    };
    assert_clean("ExchangeError", &format!("{oauth:?} {oauth}"));
    let source_error = SourceError::new(
        "custom",
        "running the token command",
        true,
        std::io::Error::other("boom"),
    );
    assert_clean("SourceError", &format!("{source_error:?} {source_error}"));
    let cache = TokenCache::builder(
        Arc::new(providers_kubernetes::KubernetesSource::new(
            "/nonexistent/token",
        )),
        "idp",
        "sa",
    )
    .exchange_url("http://127.0.0.1:9/oauth/token")
    .env(Arc::new(MapEnv::new()))
    .build()
    .expect("cache");
    let failed = cache.token().await.expect_err("no token file");
    assert_clean("the cache's error", &format!("{failed:?} {failed}"));
}

/// Under x509: the connection, its cache, the identity and a load error print the paths, never
/// the private key.
#[tokio::test]
async fn no_x509_type_prints_key_material() {
    use providers_x509::testing::TestCa;
    use providers_x509::{ReloadingIdentity, X509Files};

    let directory = tempfile::tempdir().expect("temporary directory");
    let ca = TestCa::new("secrets ca");
    let client = ca.client("workload");
    let (cert, key) = client.write(directory.path(), "client");
    let key_body: String = client
        .key_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let assert_no_key = |what: &str, text: &str| {
        assert_clean(what, text);
        for chunk in key_body.as_bytes().chunks(16) {
            let chunk = std::str::from_utf8(chunk).expect("base64 is ascii");
            assert!(!text.contains(chunk), "{what} shows key material: {text}");
        }
    };
    let workload = connection(json!({
        "auth_type": "workload_identity",
        "workload_identity_provider": "x509",
        "identity_provider_id": "idp",
        "service_account_id": "sa",
        "certificate_path": cert.to_str().expect("utf-8 path"),
        "private_key_path": key.to_str().expect("utf-8 path"),
        "openai_client_kwargs": {"api_key": API_KEY},
    }));
    let options = ClientOptions::new().with_env(Arc::new(MapEnv::new()));
    let connected = from_connection(&workload, "secrets", options.clone()).expect("client");
    assert_no_key("x509 Connected", &format!("{connected:?}"));
    let plan = openai_conn_client::plan(&workload, "secrets", &options).expect("plan");
    assert_no_key("x509 Plan", &format!("{plan:?}"));

    let identity = ReloadingIdentity::load(X509Files::new(&cert, &key)).expect("identity");
    assert_no_key(
        "ReloadingIdentity",
        &format!("{identity:?} {:?}", identity.current()),
    );
    let other = ca.client("other");
    let (_, other_key) = other.write(directory.path(), "other");
    let mismatch =
        ReloadingIdentity::load(X509Files::new(&cert, &other_key)).expect_err("mismatch");
    assert_no_key("X509Error", &format!("{mismatch:?} {mismatch}"));
}
