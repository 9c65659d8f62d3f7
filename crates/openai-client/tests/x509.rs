//! X.509 workload identity end to end against a mutual-TLS server on 127.0.0.1: the exchange's
//! four fields and headers, the API over the same certificate, the defaults and overrides, a
//! certificate from another CA refused with a clear error, file errors at connection time, and a
//! rotation during a load run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use conn_schema::ProviderKind;
use openai_conn_client::async_openai::error::OpenAIError;
use openai_conn_client::providers_core::{MapEnv, RetryPolicy};
use openai_conn_client::{
    AuthPlan, BaseUrlOrigin, ClientError, ClientOptions, ExchangeError, ExchangeUrlOrigin,
    HttpError, MutualTlsError, from_connection, plan, test_connection,
};
use providers_x509::TlsFailure;
use providers_x509::testing::{ClientFiles, MtlsServer, PeerCertificate, TestCa, TestCert};
use serde_json::{Value, json};

/// One exchange as the server saw it: path, headers, body and the client certificate (DER).
type Exchange = (String, HeaderMap, Value, Vec<u8>);

#[derive(Default)]
struct Seen {
    exchanges: Mutex<Vec<Exchange>>,
    api_peers: Mutex<Vec<Vec<u8>>>,
    api_authorizations: Mutex<Vec<String>>,
    issued: AtomicUsize,
}

fn router(seen: Arc<Seen>) -> Router {
    Router::new()
        .route(
            "/oauth/token",
            post(
                |State(seen): State<Arc<Seen>>,
                 Extension(PeerCertificate(peer)): Extension<PeerCertificate>,
                 uri: axum::http::Uri,
                 headers: HeaderMap,
                 Json(body): Json<Value>| async move {
                    seen.exchanges.lock().expect("the recording lock is not poisoned").push((
                        uri.path().to_owned(),
                        headers,
                        body,
                        peer.as_ref().to_vec(),
                    ));
                    let n = seen.issued.fetch_add(1, Ordering::SeqCst) + 1;
                    Json(json!({
                        "access_token": format!("x509-access-{n}"),
                        "token_type": "Bearer",
                        "expires_in": 3600,
                    }))
                },
            ),
        )
        .route(
            "/v1/models",
            get(
                |State(seen): State<Arc<Seen>>,
                 Extension(PeerCertificate(peer)): Extension<PeerCertificate>,
                 headers: HeaderMap| async move {
                    let authorization = headers
                        .get("authorization")
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    seen.api_peers.lock().expect("the recording lock is not poisoned").push(peer.as_ref().to_vec());
                    seen.api_authorizations
                        .lock()
                        .expect("the recording lock is not poisoned")
                        .push(authorization.clone());
                    if authorization.starts_with("Bearer x509-access-") {
                        (StatusCode::OK, Json(json!({"object": "list", "data": []})))
                    } else {
                        (
                            StatusCode::UNAUTHORIZED,
                            Json(json!({"error": {"message": "no bearer", "type": "auth", "param": null, "code": null}})),
                        )
                    }
                },
            ),
        )
        .with_state(seen)
}

struct Setup {
    directory: tempfile::TempDir,
    ca: TestCa,
    server: MtlsServer,
    seen: Arc<Seen>,
    client_cert: TestCert,
    certificate_path: String,
    private_key_path: String,
    ca_bundle_path: String,
}

async fn setup() -> Setup {
    let directory = tempfile::tempdir().expect("a temporary directory can be made");
    let ca = TestCa::new("test ca");
    let seen = Arc::new(Seen::default());
    let server = MtlsServer::start(router(Arc::clone(&seen)), &ca.server(), &[&ca]).await;
    let files = ca.client_files(directory.path(), "workload-1");
    Setup {
        certificate_path: ClientFiles::text(&files.certificate_path),
        private_key_path: ClientFiles::text(&files.private_key_path),
        ca_bundle_path: ClientFiles::text(&files.ca_bundle_path),
        directory,
        ca,
        server,
        seen,
        client_cert: files.client,
    }
}

impl Setup {
    fn connection(&self, more: Value) -> conn_schema::Connection {
        let mut document = json!({
            "conn_type": "openai",
            "host": self.server.url("/v1"),
            "extra": {
                "auth_type": "workload_identity",
                "workload_identity_provider": "x509",
                "identity_provider_id": "idp-x509",
                "service_account_id": "sa-x509",
                "certificate_path": self.certificate_path,
                "private_key_path": self.private_key_path,
                "ca_bundle_path": self.ca_bundle_path,
            }
        });
        if let (Some(target), Value::Object(more)) = (document.as_object_mut(), more) {
            for (key, value) in more {
                if key == "extra" {
                    if let (Some(extra), Value::Object(items)) =
                        (target["extra"].as_object_mut(), value)
                    {
                        extra.extend(items);
                    }
                } else {
                    target.insert(key, value);
                }
            }
        }
        let report = conn_schema::validate(&document.to_string(), conn_schema::DocumentKind::Auto);
        match report.connection() {
            Some(connection) => connection.clone(),
            None => panic!("{}", report.render("x509.json")),
        }
    }

    fn options(&self) -> ClientOptions {
        ClientOptions::new()
            .with_env(Arc::new(MapEnv::new().with(
                "OPENAI_TOKEN_EXCHANGE_URL",
                self.server.url("/oauth/token"),
            )))
            .with_exchange_retry_policy(
                RetryPolicy::exponential(
                    2,
                    std::time::Duration::from_millis(1),
                    std::time::Duration::from_millis(1),
                )
                .without_delays(),
            )
    }

    fn exchanges(&self) -> Vec<Exchange> {
        recorded(&self.seen.exchanges)
    }

    fn api_peers(&self) -> Vec<Vec<u8>> {
        recorded(&self.seen.api_peers)
    }

    fn api_authorizations(&self) -> Vec<String> {
        recorded(&self.seen.api_authorizations)
    }
}

/// What the server recorded so far.
fn recorded<T: Clone>(list: &Mutex<Vec<T>>) -> Vec<T> {
    list.lock()
        .expect("the recording lock is not poisoned")
        .clone()
}

#[tokio::test]
async fn the_exchange_posts_exactly_four_fields_over_mutual_tls_and_the_api_gets_the_bearer() {
    let setup = setup().await;
    let connected = from_connection(&setup.connection(json!({})), "x509", setup.options())
        .expect("the test connection builds a client");

    assert_eq!(
        test_connection(&connected.client)
            .await
            .expect("the API answers through mutual TLS"),
        "Connection established!"
    );

    let exchanges = setup.exchanges();
    assert_eq!(exchanges.len(), 1);
    let (path, headers, body, peer) = &exchanges[0];
    assert_eq!(path, "/oauth/token");
    assert_eq!(
        body,
        &json!({
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token_type": "urn:openai:params:oauth:token-type:x509",
            "identity_provider_id": "idp-x509",
            "service_account_id": "sa-x509",
        })
    );
    for name in ["authorization", "cookie", "api-key", "x-api-key"] {
        assert!(headers.get(name).is_none(), "{name} sent to the exchange");
    }
    assert_eq!(peer, setup.client_cert.der.as_ref());
    assert_eq!(setup.api_authorizations(), vec!["Bearer x509-access-1"]);
    assert_eq!(
        setup.api_peers(),
        vec![setup.client_cert.der.as_ref().to_vec()]
    );
    let cache = connected
        .token_cache
        .expect("a workload-identity connection has a token cache");
    assert_eq!(cache.exchanges(), 1);
    assert_eq!(cache.subject_fetches(), 0);
}

#[tokio::test]
async fn an_api_key_in_the_connection_is_never_sent_under_x509() {
    let setup = setup().await;
    let connection = setup.connection(json!({
        "password": "sk-never-sent",
        "extra": {"openai_client_kwargs": {"api_key": "sk-never-sent-either", "default_headers": {"api-key": "sk-header"}}},
    }));
    let connected = from_connection(&connection, "x509", setup.options())
        .expect("the test connection builds a client");
    test_connection(&connected.client)
        .await
        .expect("the API answers through mutual TLS");
    assert_eq!(setup.api_authorizations(), vec!["Bearer x509-access-1"]);
}

#[test]
fn the_defaults_are_the_mtls_endpoints_and_the_usual_precedence_applies() {
    let connection = |host: Option<&str>, base_url: Option<&str>| {
        let mut extra = json!({
            "auth_type": "workload_identity",
            "workload_identity_provider": "x509",
            "identity_provider_id": "idp",
            "service_account_id": "sa",
            "certificate_path": "/etc/tls/tls.crt",
            "private_key_path": "/etc/tls/tls.key",
        });
        if let Some(base_url) = base_url {
            extra["openai_client_kwargs"] = json!({"base_url": base_url});
        }
        let document = json!({"conn_type": "openai", "host": host, "extra": extra});
        conn_schema::validate(&document.to_string(), conn_schema::DocumentKind::Auto)
            .into_connection()
            .expect("the test connection is valid")
    };
    let options = |env: MapEnv| ClientOptions::new().with_env(Arc::new(env));

    let planned = plan(&connection(None, None), "x", &options(MapEnv::new()))
        .expect("the test connection has a plan");
    assert_eq!(planned.base_url, "https://mtls.api.openai.com/v1");
    assert_eq!(planned.base_url_origin, BaseUrlOrigin::Default);
    match &planned.auth {
        AuthPlan::WorkloadIdentity {
            provider: ProviderKind::X509,
            token_type: None,
            parameters,
            exchange_url,
            exchange_url_origin,
            ..
        } => {
            assert_eq!(parameters["certificate_path"], "/etc/tls/tls.crt");
            assert_eq!(parameters["private_key_path"], "/etc/tls/tls.key");
            assert!(!parameters.contains_key("ca_bundle_path"));
            assert_eq!(exchange_url, "https://mtls.auth.openai.com/oauth/token");
            assert_eq!(*exchange_url_origin, ExchangeUrlOrigin::Default);
        }
        other => panic!("{other:?}"),
    }

    let env = || {
        MapEnv::new()
            .with("OPENAI_BASE_URL", "https://env.example/v1")
            .with("OPENAI_TOKEN_EXCHANGE_URL", "https://auth.example/token")
    };
    let planned = plan(&connection(None, None), "x", &options(env()))
        .expect("the test connection has a plan");
    assert_eq!(planned.base_url, "https://env.example/v1");
    assert!(matches!(
        &planned.auth,
        AuthPlan::WorkloadIdentity { exchange_url, exchange_url_origin: ExchangeUrlOrigin::Env, .. }
            if exchange_url == "https://auth.example/token"
    ));
    let planned = plan(
        &connection(Some("https://host.example/v1"), None),
        "x",
        &options(env()),
    )
    .expect("the test connection has a plan");
    assert_eq!(planned.base_url, "https://host.example/v1");
    let planned = plan(
        &connection(
            Some("https://host.example/v1"),
            Some("https://kwargs.example/v1"),
        ),
        "x",
        &options(env()),
    )
    .expect("the test connection has a plan");
    assert_eq!(planned.base_url, "https://kwargs.example/v1");

    // Mutual TLS needs https on both endpoints: a plain-http base in the document is refused by
    // validation already, one from the environment by the plan.
    let document = json!({"conn_type": "openai", "host": "http://127.0.0.1:1/v1", "extra": {
        "auth_type": "workload_identity", "workload_identity_provider": "x509",
        "identity_provider_id": "idp", "service_account_id": "sa",
        "certificate_path": "/etc/tls/tls.crt", "private_key_path": "/etc/tls/tls.key"}});
    assert!(
        conn_schema::validate(&document.to_string(), conn_schema::DocumentKind::Auto)
            .connection()
            .is_none()
    );
    for (variable, url) in [
        ("OPENAI_BASE_URL", "http://127.0.0.1:1/v1"),
        ("OPENAI_TOKEN_EXCHANGE_URL", "http://127.0.0.1:1/t"),
    ] {
        let error = plan(
            &connection(None, None),
            "x",
            &options(MapEnv::new().with(variable, url)),
        )
        .expect_err("a plain-http url is refused");
        assert!(
            error.to_string().contains("needs an https url"),
            "{variable}: {error}"
        );
    }
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_with_an_error_that_says_so() {
    let setup = setup().await;
    TestCa::new("another ca").client("intruder").write_to(
        setup.certificate_path.as_ref(),
        setup.private_key_path.as_ref(),
    );
    let connected = from_connection(&setup.connection(json!({})), "x509", setup.options())
        .expect("the test connection builds a client");
    let cache = connected
        .token_cache
        .clone()
        .expect("a workload-identity connection has a token cache");

    let error = cache.token().await.expect_err("the step fails");
    let ExchangeError::MutualTls(failure) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(
        failure.failure,
        TlsFailure::CertificateRefused {
            alert: "unknown_ca"
        }
    );
    let text = error.to_string();
    assert!(text.contains("refused the client certificate"), "{text}");
    assert!(text.contains("unknown_ca"), "{text}");
    assert!(text.contains(&setup.certificate_path), "{text}");
    // Refused is not transient: one attempt, no retry.
    assert_eq!(cache.exchanges(), 1);
    assert!(!error.is_transient());
    assert!(setup.exchanges().is_empty());

    // The API side reports the same refusal, not a bare transport error.
    let error = test_connection(&connected.client)
        .await
        .expect_err("the step fails");
    assert!(error.to_string().contains("refused"), "{error}");
}

#[tokio::test]
async fn the_api_transport_reports_a_refused_certificate_as_such() {
    let setup = setup().await;
    // A server for the API that trusts another CA only; the exchange is the trusting one.
    let other_ca = TestCa::new("api-only ca");
    let api = MtlsServer::start(
        router(Arc::clone(&setup.seen)),
        &setup.ca.server(),
        &[&other_ca],
    )
    .await;
    let connection = setup.connection(json!({"host": api.url("/v1")}));
    let connected = from_connection(&connection, "x509", setup.options())
        .expect("the test connection builds a client");
    let error = test_connection(&connected.client)
        .await
        .expect_err("the step fails");
    let OpenAIError::Boxed(boxed) = &error else {
        panic!("{error:?}");
    };
    let refused = boxed
        .downcast_ref::<MutualTlsError>()
        .expect("a MutualTlsError");
    assert_eq!(
        refused.failure,
        TlsFailure::CertificateRefused {
            alert: "unknown_ca"
        }
    );
    assert!(
        error.to_string().contains(&setup.certificate_path),
        "{error}"
    );
    // The retry layer does not retry a refusal.
    assert_eq!(api.refused_handshakes(), 1);
}

#[tokio::test]
async fn file_errors_surface_when_the_client_is_built_naming_the_file() {
    let setup = setup().await;
    let missing = setup.directory.path().join("missing.key");
    let connection = setup.connection(
        json!({"extra": {"private_key_path": missing.to_str().expect("the temporary path is UTF-8")}}),
    );
    let error = from_connection(&connection, "x509", setup.options()).expect_err("the step fails");
    assert!(matches!(error, ClientError::X509 { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("connection \"x509\": private_key_path {missing:?} does not exist")
    );

    let expired = setup.ca.expired_client("old");
    expired.write_to(
        setup.certificate_path.as_ref(),
        setup.private_key_path.as_ref(),
    );
    let error = from_connection(&setup.connection(json!({})), "x509", setup.options())
        .expect_err("the step fails");
    assert!(
        error
            .to_string()
            .contains("expired at 2000-01-01T00:00:00Z"),
        "{error}"
    );
    assert!(setup.exchanges().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_during_a_load_run_fails_no_request_and_the_next_exchange_presents_the_new_certificate()
 {
    const TASKS: usize = 16;
    const BEFORE: usize = 30;
    const AFTER: usize = 5;
    let setup = setup().await;
    let connected = from_connection(&setup.connection(json!({})), "x509", setup.options())
        .expect("the test connection builds a client");
    let client = connected.client.clone();
    let cache = connected
        .token_cache
        .clone()
        .expect("a workload-identity connection has a token cache");

    let done = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let (rotated_tx, rotated_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let client = client.clone();
        let done = Arc::clone(&done);
        let failures = Arc::clone(&failures);
        let mut rotated = rotated_rx.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..BEFORE {
                if test_connection(&client).await.is_err() {
                    failures.fetch_add(1, Ordering::SeqCst);
                }
                done.fetch_add(1, Ordering::SeqCst);
            }
            rotated
                .wait_for(|rotated| *rotated)
                .await
                .expect("the rotation flag's sender is alive");
            for _ in 0..AFTER {
                if test_connection(&client).await.is_err() {
                    failures.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    // Rotate once a quarter of the first phase is done, while requests are in flight: the
    // certificate first, then the key (a SPIFFE helper's order), each by a rename.
    while done.load(Ordering::SeqCst) < TASKS * BEFORE / 4 {
        tokio::task::yield_now().await;
    }
    let rotated = setup.ca.client("workload-2");
    {
        let (cert, key) = (
            setup.certificate_path.clone(),
            setup.private_key_path.clone(),
        );
        let rotated = rotated.clone();
        tokio::task::spawn_blocking(move || rotated.write_to(cert.as_ref(), key.as_ref()))
            .await
            .expect("writing the rotated certificate does not panic");
    }
    rotated_tx.send_replace(true);
    for task in tasks {
        task.await.expect("the spawned task does not panic");
    }

    assert_eq!(failures.load(Ordering::SeqCst), 0);
    let peers = setup.api_peers();
    assert_eq!(peers.len(), TASKS * (BEFORE + AFTER));
    let old = setup.client_cert.der.as_ref().to_vec();
    let new = rotated.der.as_ref().to_vec();
    assert!(peers.iter().all(|peer| *peer == old || *peer == new));
    assert!(peers.contains(&old) && peers.contains(&new));

    // One exchange so far, with the old certificate; the next one presents the new one.
    assert_eq!(setup.exchanges().len(), 1);
    let token = cache
        .token()
        .await
        .expect("the exchange answers with a token");
    assert!(cache.invalidate(&token));
    cache
        .token()
        .await
        .expect("the exchange answers with a token");
    let exchanges = setup.exchanges();
    assert_eq!(exchanges.len(), 2);
    assert_eq!(exchanges[0].3, old);
    assert_eq!(exchanges[1].3, new);
}

#[tokio::test]
async fn the_x509_exchange_retries_409_and_never_follows_a_redirect() {
    let setup = setup().await;
    let token_calls = Arc::new(AtomicUsize::new(0));
    let redirected = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route(
            "/oauth/token",
            post({
                let token_calls = Arc::clone(&token_calls);
                move || {
                    let call = token_calls.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if call == 0 {
                            // The SDK's X.509 mode retries a conflict.
                            StatusCode::CONFLICT.into_response()
                        } else {
                            (StatusCode::TEMPORARY_REDIRECT, [("location", "/elsewhere")])
                                .into_response()
                        }
                    }
                }
            }),
        )
        .route(
            "/elsewhere",
            post({
                let redirected = Arc::clone(&redirected);
                move || {
                    redirected.fetch_add(1, Ordering::SeqCst);
                    async { Json(json!({"access_token": "stolen", "expires_in": 3600})) }
                }
            }),
        );
    let server = MtlsServer::start(router, &setup.ca.server(), &[&setup.ca]).await;
    let options = setup
        .options()
        .with_exchange_url(server.url("/oauth/token"));
    let connected = from_connection(&setup.connection(json!({})), "x509", options)
        .expect("the test connection builds a client");
    let cache = connected
        .token_cache
        .expect("a workload-identity connection has a token cache");

    let error = cache.token().await.expect_err("the step fails");
    assert!(
        matches!(
            &error,
            ExchangeError::Http(HttpError::Redirect { status: 307, .. })
        ),
        "{error:?}"
    );
    assert_eq!(token_calls.load(Ordering::SeqCst), 2, "409 is retried once");
    assert_eq!(
        redirected.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
    assert_eq!(cache.exchanges(), 2);
}

/// A mutual-TLS server whose exchange endpoint never answers: the exchange gives up after its
/// 10 s timeout, not later (paused time: the clock jumps to the only timer pending, so the test
/// takes no real time and does not depend on the machine's speed).
#[tokio::test(start_paused = true)]
async fn the_x509_exchange_gives_up_after_its_10_second_timeout() {
    const EXCHANGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
    let setup = setup().await;
    let router = Router::new().route("/oauth/token", post(std::future::pending::<Json<Value>>));
    let server = MtlsServer::start(router, &setup.ca.server(), &[&setup.ca]).await;
    let options = setup
        .options()
        .with_exchange_url(server.url("/oauth/token"))
        .with_exchange_retry_policy(
            RetryPolicy::exponential(
                0,
                std::time::Duration::from_millis(1),
                std::time::Duration::from_millis(1),
            )
            .without_delays(),
        );
    let connected = from_connection(&setup.connection(json!({})), "x509", options)
        .expect("the test connection builds a client");
    let cache = connected
        .token_cache
        .expect("a workload-identity connection has a token cache");

    let started = tokio::time::Instant::now();
    let error = tokio::time::timeout(std::time::Duration::from_secs(60), cache.token())
        .await
        .expect("the exchange gives up by itself")
        .expect_err("the step fails");
    let waited = started.elapsed();
    assert!(
        matches!(&error, ExchangeError::Http(HttpError::Timeout { .. })),
        "{error:?}"
    );
    assert!(
        waited >= EXCHANGE_TIMEOUT && waited < EXCHANGE_TIMEOUT + std::time::Duration::from_secs(1),
        "{waited:?}"
    );
    assert_eq!(cache.exchanges(), 1);
}

/// The x509 exchange's attempts follow `openai_client_kwargs.max_retries`, like the subject-token
/// exchange's: with 0 a conflict is one attempt and the error.
#[tokio::test]
async fn the_x509_exchange_follows_max_retries() {
    let setup = setup().await;
    let (error, calls) =
        failing_x509_exchange(&setup, StatusCode::CONFLICT, &[], json!({"max_retries": 0})).await;
    assert_eq!(error.status(), Some(409), "{error:?}");
    assert_eq!(calls, 1);
}

/// A mutual-TLS exchange that answers `reply` (status, headers, body) to every request, and the
/// token cache of an x509 connection with `kwargs` pointed at it; the counter counts requests.
async fn scripted_x509_exchange(
    setup: &Setup,
    status: StatusCode,
    headers: &'static [(&'static str, &'static str)],
    body: Value,
    kwargs: Value,
) -> (openai_conn_client::TokenCache, Arc<AtomicUsize>, MtlsServer) {
    let calls = Arc::new(AtomicUsize::new(0));
    let router = Router::new().route(
        "/oauth/token",
        post({
            let calls = Arc::clone(&calls);
            move || {
                calls.fetch_add(1, Ordering::SeqCst);
                let body = body.clone();
                async move {
                    let mut reply = (status, Json(body)).into_response();
                    for (name, value) in headers {
                        reply
                            .headers_mut()
                            .insert(*name, axum::http::HeaderValue::from_static(value));
                    }
                    reply
                }
            }
        }),
    );
    let server = MtlsServer::start(router, &setup.ca.server(), &[&setup.ca]).await;
    // The waits between attempts are not waited: a handshake on paused time would see its
    // timeouts fire while the runtime waits for the socket.
    let no_wait =
        |_: std::time::Duration| -> openai_conn_client::providers_core::BoxFuture<'static, ()> {
            Box::pin(async {})
        };
    let options = setup
        .options()
        .with_exchange_url(server.url("/oauth/token"))
        .with_exchange_sleep(Arc::new(no_wait));
    let connection = setup.connection(json!({"extra": {"openai_client_kwargs": kwargs}}));
    let cache = from_connection(&connection, "x509", options)
        .expect("the x509 connection builds")
        .token_cache
        .expect("an x509 connection has a token cache");
    (cache, calls, server)
}

/// [`scripted_x509_exchange`] answering `status` with `headers` and an empty body: the error
/// the token cache ends with, and how many requests the exchange received.
async fn failing_x509_exchange(
    setup: &Setup,
    status: StatusCode,
    headers: &'static [(&'static str, &'static str)],
    kwargs: Value,
) -> (ExchangeError, usize) {
    let (cache, calls, _server) =
        scripted_x509_exchange(setup, status, headers, json!({}), kwargs).await;
    let error = cache.token().await.expect_err("every attempt fails");
    (error, calls.load(Ordering::SeqCst))
}

/// The SDK caps the X.509 exchange's retries at 2, whatever `max_retries` says.
#[tokio::test]
async fn the_x509_exchange_retries_at_most_twice() {
    let setup = setup().await;
    let (error, calls) = failing_x509_exchange(
        &setup,
        StatusCode::SERVICE_UNAVAILABLE,
        &[],
        json!({"max_retries": 5}),
    )
    .await;
    assert_eq!(error.status(), Some(503), "{error:?}");
    assert_eq!(calls, 3);
}

/// A server delay over 120 s means no retry; `x-should-retry: false` too; 401 is never retried,
/// even with `x-should-retry: true`.
#[tokio::test]
async fn the_x509_exchange_follows_the_servers_retry_headers() {
    let setup = setup().await;
    for (status, headers, expected_calls) in [
        (
            StatusCode::TOO_MANY_REQUESTS,
            &[("retry-after", "200")][..],
            1,
        ),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            &[("x-should-retry", "false")][..],
            1,
        ),
        (
            StatusCode::UNAUTHORIZED,
            &[("x-should-retry", "true")][..],
            1,
        ),
        (
            StatusCode::BAD_REQUEST,
            &[("x-should-retry", "true"), ("x-ignored", "1")][..],
            1,
        ),
        (StatusCode::NOT_FOUND, &[("x-should-retry", "true")][..], 3),
        (
            StatusCode::TOO_MANY_REQUESTS,
            &[("retry-after-ms", "1")][..],
            3,
        ),
    ] {
        let (error, calls) = failing_x509_exchange(&setup, status, headers, json!({})).await;
        assert_eq!(error.status(), Some(status.as_u16()), "{error:?}");
        assert_eq!(calls, expected_calls, "{status} {headers:?}");
    }
}

/// A reply whose `token_type` is not Bearer, or whose token cannot be a bearer, is malformed.
#[tokio::test]
async fn the_x509_exchange_wants_a_bearer_token() {
    let setup = setup().await;
    for body in [
        json!({"access_token": "tok", "token_type": "N_A", "expires_in": 3600}),
        json!({"access_token": "tok", "token_type": 1, "expires_in": 3600}),
        json!({"access_token": "tok en", "token_type": "Bearer", "expires_in": 3600}),
        json!({"access_token": "=tok", "expires_in": 3600}),
    ] {
        let (cache, calls, _server) =
            scripted_x509_exchange(&setup, StatusCode::OK, &[], body.clone(), json!({})).await;
        let error = cache.token().await.expect_err("the reply is refused");
        assert!(
            matches!(&error, ExchangeError::Http(HttpError::Malformed { .. })),
            "{body}: {error:?}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{body}");
    }
    let (cache, _calls, _server) = scripted_x509_exchange(
        &setup,
        StatusCode::OK,
        &[],
        json!({"access_token": "a.b-c_d~e+f/g==", "token_type": "bearer", "expires_in": 3600}),
        json!({}),
    )
    .await;
    cache
        .token()
        .await
        .expect("a bearer token in any case is accepted");
}

/// The exchange's timeout is the smaller of the configured one and 10 s.
#[tokio::test(start_paused = true)]
async fn a_smaller_configured_timeout_bounds_the_x509_exchange() {
    let setup = setup().await;
    let router = Router::new().route("/oauth/token", post(std::future::pending::<Json<Value>>));
    let server = MtlsServer::start(router, &setup.ca.server(), &[&setup.ca]).await;
    let options = setup
        .options()
        .with_exchange_url(server.url("/oauth/token"));
    let connection = setup
        .connection(json!({"extra": {"openai_client_kwargs": {"timeout": 3, "max_retries": 0}}}));
    let cache = from_connection(&connection, "x509", options)
        .expect("the x509 connection builds")
        .token_cache
        .expect("an x509 connection has a token cache");
    let started = tokio::time::Instant::now();
    let error = cache.token().await.expect_err("the exchange times out");
    assert!(
        matches!(&error, ExchangeError::Http(HttpError::Timeout { .. })),
        "{error:?}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(3) && waited < std::time::Duration::from_secs(4),
        "{waited:?}"
    );
}
