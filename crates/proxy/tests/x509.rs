//! Under X.509 workload identity the proxy reaches the API over mutual TLS with the connection's
//! client certificate (the client's transport, not one of its own), while its clients speak
//! plain HTTP on loopback.

mod support;

use std::sync::{Arc, Mutex};

use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use openai_conn_client::providers_core::{MapEnv, RetryPolicy};
use openai_conn_client::{ClientOptions, upstream};
use openai_conn_proxy::Access;
use providers_x509::testing::{MtlsServer, PeerCertificate, TestCa};
use serde_json::json;
use support::{Proxy, client, parse};

#[derive(Default)]
struct Seen {
    exchange_peers: Mutex<Vec<Vec<u8>>>,
    api: Mutex<Vec<(String, Vec<u8>)>>,
}

#[tokio::test]
async fn the_api_gets_the_client_certificate_and_the_exchanged_bearer() {
    let seen = Arc::new(Seen::default());
    let (for_exchange, for_api) = (Arc::clone(&seen), Arc::clone(&seen));
    let router = Router::new()
        .route(
            "/oauth/token",
            post(move |Extension(PeerCertificate(peer)): Extension<PeerCertificate>| {
                let seen = Arc::clone(&for_exchange);
                async move {
                    seen.exchange_peers.lock().unwrap().push(peer.as_ref().to_vec());
                    Json(json!({"access_token": "x509-access-1", "token_type": "Bearer", "expires_in": 3600}))
                }
            }),
        )
        .route(
            "/v1/models",
            get(
                move |Extension(PeerCertificate(peer)): Extension<PeerCertificate>,
                      headers: axum::http::HeaderMap| {
                    let seen = Arc::clone(&for_api);
                    async move {
                        let bearer = headers
                            .get("authorization")
                            .and_then(|value| value.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        seen.api.lock().unwrap().push((bearer, peer.as_ref().to_vec()));
                        Json(json!({"object": "list", "data": []}))
                    }
                },
            ),
        );
    let ca = TestCa::new("proxy test ca");
    let server = MtlsServer::start(router, &ca.server(), &[&ca]).await;
    let directory = tempfile::tempdir().unwrap();
    let workload = ca.client("workload-1");
    let (certificate, key) = workload.write(directory.path(), "client");
    let bundle = directory.path().join("ca.pem");
    std::fs::write(&bundle, ca.pem()).unwrap();
    let connection = parse(&json!({
        "conn_type": "openai",
        "host": server.url("/v1"),
        "extra": {
            "auth_type": "workload_identity",
            "workload_identity_provider": "x509",
            "identity_provider_id": "idp-x509",
            "service_account_id": "sa-x509",
            "certificate_path": certificate,
            "private_key_path": key,
            "ca_bundle_path": bundle,
        }
    }));
    let options = ClientOptions::new()
        .with_env(Arc::new(
            MapEnv::new().with("OPENAI_TOKEN_EXCHANGE_URL", server.url("/oauth/token")),
        ))
        .with_exchange_retry_policy(
            RetryPolicy::exponential(0, std::time::Duration::ZERO, std::time::Duration::ZERO)
                .without_delays(),
        );
    let upstream = upstream(&connection, "x509", options).unwrap();
    let proxy = Proxy::start(upstream, Access::local()).await;

    let response = client()
        .get(proxy.url("/v1/models"))
        .bearer_auth("sk-placeholder")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let api = seen.api.lock().unwrap();
    assert_eq!(api.len(), 1);
    assert_eq!(api[0].0, "Bearer x509-access-1");
    assert_eq!(api[0].1, workload.der.as_ref().to_vec());
    assert_eq!(
        *seen.exchange_peers.lock().unwrap(),
        [workload.der.as_ref().to_vec()]
    );
}
