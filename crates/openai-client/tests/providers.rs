//! Sources built from the connection's provider through the provider crates.

mod support;

use std::sync::Arc;

use openai_client::providers_core::MapEnv;
use openai_client::{ClientError, ClientOptions, from_connection, test_connection};
use serde_json::json;
use support::{Mock, parse};

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
