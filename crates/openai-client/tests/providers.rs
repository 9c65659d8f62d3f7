//! Sources built from the connection's provider through the provider crates: the one mapping
//! from the connection model to the sources (which know no connection format), checked on the
//! wire against real servers on 127.0.0.1, and the one place each subject token's type is chosen.

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use openai_conn_client::providers_core::{MapEnv, TokenType};
use openai_conn_client::{
    AuthPlan, ClientError, ClientOptions, from_connection, plan, test_connection,
};
use serde_json::{Value, json};
use support::{CountingSource, Mock, parse};

/// A metadata server for every HTTP source (IMDS, the GCP metadata server, the GitHub Actions
/// token endpoint) that records the path and query of each request and answers each with a token
/// named after it.
struct Metadata {
    address: String,
    requests: Arc<Mutex<Vec<(String, HeaderMap)>>>,
}

impl Metadata {
    async fn start() -> Metadata {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let router = Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let recorded = Arc::clone(&recorded);
            async move {
                recorded
                    .lock()
                    .expect("test setup")
                    .push((uri.to_string(), headers));
                let response: Response = match uri.path() {
                    "/metadata/identity/oauth2/token" => {
                        axum::Json(json!({"access_token": "eyJ.azure"})).into_response()
                    }
                    "/computeMetadata/v1/instance/service-accounts/default/identity" => {
                        "eyJ.gcp".into_response()
                    }
                    _ => axum::Json(json!({"value": "eyJ.github"})).into_response(),
                };
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("test setup");
        let address = listener.local_addr().expect("test setup").to_string();
        tokio::spawn(async move {
            axum::serve(listener, router).await.expect("test setup");
        });
        Metadata { address, requests }
    }

    /// The path and query of every request so far.
    fn uris(&self) -> Vec<String> {
        let requests = self.requests.lock().expect("test setup");
        requests.iter().map(|(uri, _)| uri.clone()).collect()
    }
}

fn workload(mock: &Mock, provider: Value) -> conn_schema::Connection {
    let mut extra = json!({
        "auth_type": "workload_identity",
        "identity_provider_id": "idp",
        "service_account_id": "sa"
    });
    for (key, value) in provider.as_object().expect("test setup") {
        extra[key] = value.clone();
    }
    parse(&json!({"conn_type": "openai", "host": mock.api_base(), "extra": extra}))
}

/// A mock exchange and API, a mock metadata service, and a workload identity connection to the
/// mock with `provider`'s keys.
async fn with_metadata(provider: Value) -> (Mock, Metadata, conn_schema::Connection) {
    let mock = Mock::start().await;
    let metadata = Metadata::start().await;
    let connection = workload(&mock, provider);
    (mock, metadata, connection)
}

/// Connects with `env` and the mock's exchange, runs one API call, and returns the exchange body.
async fn exchange_body(
    mock: &Mock,
    connection: &conn_schema::Connection,
    options: ClientOptions,
) -> Value {
    let options = options.with_exchange_url(mock.exchange_url());
    let connected = from_connection(connection, "openai_wi", options).expect("test setup");
    test_connection(&connected.client)
        .await
        .expect("test setup");
    mock.state.exchange_bodies.lock().expect("test setup")[0].clone()
}

fn with_env(env: MapEnv) -> ClientOptions {
    ClientOptions::new().with_env(Arc::new(env))
}

const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// The subject token an exchange request carried, and its type.
fn subject(body: &Value) -> (&str, &str) {
    let field = |name: &str| {
        body[name]
            .as_str()
            .unwrap_or_else(|| panic!("the exchange request has a string {name}: {body}"))
    };
    (field("subject_token"), field("subject_token_type"))
}
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";

#[tokio::test]
async fn an_azure_connection_asks_imds_for_the_configured_identity() {
    let (mock, metadata, connection) = with_metadata(json!({
        "workload_identity_provider": "azure",
        "resource": "api://openai",
        "client_id": "cid",
        "object_id": "oid",
        "msi_res_id": "/subscriptions/s/mi",
        "api_version": "2019-11-01"
    }))
    .await;
    let env = MapEnv::new().with(
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        format!("http://{}", metadata.address),
    );

    let body = exchange_body(&mock, &connection, with_env(env)).await;

    assert_eq!(
        metadata.uris(),
        [
            "/metadata/identity/oauth2/token?api-version=2019-11-01&resource=api%3A%2F%2Fopenai\
          &client_id=cid&object_id=oid&msi_res_id=%2Fsubscriptions%2Fs%2Fmi"
        ]
    );
    assert_eq!(subject(&body), ("eyJ.azure", JWT));
}

#[tokio::test]
async fn an_azure_connection_without_settings_gets_the_parsed_defaults() {
    let (mock, metadata, connection) =
        with_metadata(json!({"workload_identity_provider": "azure"})).await;
    let env = MapEnv::new().with(
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        format!("http://{}", metadata.address),
    );

    exchange_body(&mock, &connection, with_env(env)).await;

    assert_eq!(
        metadata.uris(),
        ["/metadata/identity/oauth2/token?api-version=2018-02-01\
          &resource=https%3A%2F%2Fmanagement.azure.com%2F"]
    );
}

#[tokio::test]
async fn a_gcp_connection_asks_for_an_id_token_for_its_audience() {
    let (mock, metadata, connection) =
        with_metadata(json!({"workload_identity_provider": "gcp"})).await;
    let env = MapEnv::new().with("GCE_METADATA_HOST", metadata.address.clone());

    let body = exchange_body(&mock, &connection, with_env(env)).await;

    assert_eq!(
        metadata.uris(),
        [
            "/computeMetadata/v1/instance/service-accounts/default/identity\
          ?audience=https%3A%2F%2Fapi.openai.com%2Fv1"
        ]
    );
    assert_eq!(subject(&body), ("eyJ.gcp", ID_TOKEN));
}

#[tokio::test]
async fn a_github_actions_connection_asks_the_runner_for_its_audience() {
    let (mock, metadata, connection) = with_metadata(
        json!({"workload_identity_provider": "github_actions", "audience": "api://openai-wi"}),
    )
    .await;
    let env = MapEnv::new()
        .with(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("http://{}/idtoken?api-version=2.0", metadata.address),
        )
        .with("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token");

    let body = exchange_body(&mock, &connection, with_env(env)).await;

    assert_eq!(
        metadata.uris(),
        ["/idtoken?api-version=2.0&audience=api%3A%2F%2Fopenai-wi"]
    );
    let authorization = metadata.requests.lock().unwrap()[0].1["authorization"].clone();
    assert_eq!(authorization, "Bearer request-token");
    assert_eq!(subject(&body), ("eyJ.github", JWT));
}

#[tokio::test]
async fn a_registered_custom_source_gets_the_configured_token_type() {
    let mock = Mock::start().await;
    // The registered source reports a JWT; the connection says `id`, and the connection wins.
    let options = mock.options(CountingSource::new(TokenType::Jwt));
    let connection = workload(
        &mock,
        json!({"workload_identity_provider": "custom", "token_provider": "test", "token_type": "id"}),
    );

    let body = exchange_body(&mock, &connection, options).await;

    assert_eq!(subject(&body), (support::SUBJECT_TOKEN, ID_TOKEN));
}

#[cfg(unix)]
#[tokio::test]
async fn a_custom_command_runs_with_its_argv_and_the_configured_token_type() {
    let mock = Mock::start().await;
    let connection = workload(
        &mock,
        json!({
            "workload_identity_provider": "custom",
            "token_command": ["sh", "-c", "printf 'eyJ.%s' \"$0\"", "from-command"],
            "token_command_timeout_seconds": 5,
            "token_type": "id"
        }),
    );

    let body = exchange_body(&mock, &connection, with_env(MapEnv::new())).await;

    assert_eq!(subject(&body), ("eyJ.from-command", ID_TOKEN));
}

#[test]
fn the_plan_states_the_token_type_each_source_yields() {
    for (provider, expected) in [
        (
            json!({"workload_identity_provider": "kubernetes"}),
            TokenType::Jwt,
        ),
        (
            json!({"workload_identity_provider": "azure"}),
            TokenType::Jwt,
        ),
        (json!({"workload_identity_provider": "gcp"}), TokenType::Id),
        (
            json!({"workload_identity_provider": "github_actions"}),
            TokenType::Jwt,
        ),
        (
            json!({"workload_identity_provider": "custom", "token_provider": "x"}),
            TokenType::Jwt,
        ),
        (
            json!({"workload_identity_provider": "custom", "token_provider": "x", "token_type": "id"}),
            TokenType::Id,
        ),
    ] {
        let mut extra = json!({
            "auth_type": "workload_identity",
            "identity_provider_id": "idp",
            "service_account_id": "sa"
        });
        for (key, value) in provider.as_object().unwrap() {
            extra[key] = value.clone();
        }
        let connection = parse(&json!({"conn_type": "openai", "extra": extra}));
        let resolved = plan(
            &connection,
            "openai_plan",
            &ClientOptions::new().with_env(Arc::new(MapEnv::new())),
        )
        .unwrap();
        match resolved.auth {
            AuthPlan::WorkloadIdentity { token_type, .. } => {
                assert_eq!(token_type, Some(expected), "{provider}");
            }
            other => panic!("{provider}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_kubernetes_connection_exchanges_the_token_file() {
    let mock = Mock::start().await;
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("token");
    std::fs::write(&path, "eyJ.kubernetes-token.sig\n").unwrap();
    let connection = parse(&json!({
        "conn_type": "openai",
        "host": mock.api_base(),
        "extra": {
            "auth_type": "workload_identity",
            "workload_identity_provider": "kubernetes",
            "token_file_path": path.to_str().unwrap(),
            "identity_provider_id": "idp-k",
            "service_account_id": "sa-k"
        }
    }));
    let options = ClientOptions::new()
        .with_env(Arc::new(MapEnv::new()))
        .with_exchange_url(mock.exchange_url());
    let connected = from_connection(&connection, "openai_k8s", options).unwrap();

    test_connection(&connected.client).await.unwrap();

    let bodies = mock.state.exchange_bodies.lock().unwrap();
    assert_eq!(bodies[0]["subject_token"], "eyJ.kubernetes-token.sig");
    assert_eq!(
        bodies[0]["subject_token_type"],
        "urn:ietf:params:oauth:token-type:jwt"
    );
    assert_eq!(mock.api_authorizations(), vec!["Bearer access-1"]);
}

#[test]
fn an_unknown_custom_provider_is_an_error_naming_the_connection() {
    let connection = parse(&json!({
        "conn_type": "openai",
        "extra": {
            "auth_type": "workload_identity",
            "workload_identity_provider": "custom",
            "token_provider": "not.registered",
            "identity_provider_id": "idp",
            "service_account_id": "sa"
        }
    }));
    let error = from_connection(
        &connection,
        "openai_custom",
        ClientOptions::new().with_env(Arc::new(MapEnv::new())),
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::Provider {
                provider: "custom",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("\"openai_custom\""), "{error}");
}
