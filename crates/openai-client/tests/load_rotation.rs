//! Load with rotation: 10 000 requests over 64 tasks while short-lived tokens are rotated at
//! least three times. The mock rejects any request whose token has expired by its own clock, so a
//! request sent with an expired token would show up as a rejection even if the 401 replay then
//! rescued it.
//!
//! Time is tokio's paused clock, which the mock, the cache and the pacing of the tasks all read: the
//! run covers several token lifetimes in virtual time, whatever the machine's speed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use openai_conn_client::providers_core::{
    BoxFuture, MapEnv, SourceError, SubjectToken, SubjectTokenSource, TokenType,
};
use openai_conn_client::{ClientOptions, CustomRegistry, from_connection};
use serde_json::json;
use tokio::time::Instant;

const EXPIRES_IN_SECONDS: u64 = 2;
const REQUESTS: usize = 10_000;
const TASKS: usize = 64;

#[derive(Default)]
struct Issuer {
    expiry: Mutex<HashMap<String, Instant>>,
    issued: AtomicUsize,
    expired_rejections: AtomicUsize,
    unknown_rejections: AtomicUsize,
    served: AtomicUsize,
}

async fn exchange(State(issuer): State<Arc<Issuer>>) -> Response {
    let number = issuer.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let token = format!("access-{number}");
    let expires_at = Instant::now() + Duration::from_secs(EXPIRES_IN_SECONDS);
    issuer
        .expiry
        .lock()
        .expect("not poisoned")
        .insert(token.clone(), expires_at);
    axum::Json(
        json!({"access_token": token, "token_type": "Bearer", "expires_in": EXPIRES_IN_SECONDS}),
    )
    .into_response()
}

async fn models(State(issuer): State<Arc<Issuer>>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let expires_at = issuer
        .expiry
        .lock()
        .expect("not poisoned")
        .get(&bearer)
        .copied();
    match expires_at {
        None => {
            issuer.unknown_rejections.fetch_add(1, Ordering::SeqCst);
            StatusCode::UNAUTHORIZED.into_response()
        }
        Some(expires_at) if Instant::now() >= expires_at => {
            issuer.expired_rejections.fetch_add(1, Ordering::SeqCst);
            StatusCode::UNAUTHORIZED.into_response()
        }
        Some(_) => {
            issuer.served.fetch_add(1, Ordering::SeqCst);
            axum::Json(json!({"object": "list", "data": []})).into_response()
        }
    }
}

#[derive(Debug)]
struct StaticSource;

impl SubjectTokenSource for StaticSource {
    fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>> {
        Box::pin(async { Ok(SubjectToken::new("subject", TokenType::Jwt)) })
    }
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_requests_across_rotations_never_use_an_expired_token() {
    let issuer = Arc::new(Issuer::default());
    let router = Router::new()
        .route("/oauth/token", post(exchange))
        .route("/v1/models", get(models))
        .with_state(Arc::clone(&issuer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });

    let connection = conn_schema::validate(
        &json!({
            "conn_type": "openai",
            "host": format!("{base}/v1"),
            "extra": {
                "auth_type": "workload_identity",
                "workload_identity_provider": "custom",
                "token_provider": "static",
                "identity_provider_id": "idp",
                "service_account_id": "sa",
            },
        })
        .to_string(),
        conn_schema::DocumentKind::Auto,
    )
    .into_connection()
    .expect("valid connection");
    let options = ClientOptions::new()
        .with_env(Arc::new(MapEnv::new()))
        .with_registry(CustomRegistry::new().with("static", Arc::new(StaticSource)))
        .with_exchange_url(format!("{base}/oauth/token"));
    let connected = from_connection(&connection, "load", options).expect("client");
    let cache = connected.token_cache.clone().expect("workload identity");

    let started = Instant::now();
    let failed = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let client = connected.client.clone();
        let failed = Arc::clone(&failed);
        let quota = REQUESTS / TASKS + usize::from(task < REQUESTS % TASKS);
        tasks.push(tokio::spawn(async move {
            for _ in 0..quota {
                if client.models().list().await.is_err() {
                    failed.fetch_add(1, Ordering::SeqCst);
                }
                // Spreads the load over several token lifetimes of virtual time.
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("task finishes");
    }
    let elapsed = started.elapsed();

    assert_eq!(failed.load(Ordering::SeqCst), 0);
    assert_eq!(issuer.served.load(Ordering::SeqCst), REQUESTS);
    assert_eq!(
        issuer.expired_rejections.load(Ordering::SeqCst),
        0,
        "a request used an expired token"
    );
    assert_eq!(issuer.unknown_rejections.load(Ordering::SeqCst), 0);
    let issued = issuer.issued.load(Ordering::SeqCst);
    let rotations = issued - 1;
    assert!(rotations >= 3, "only {rotations} rotations in {elapsed:?}");
    // One exchange per refresh point (every EXPIRES_IN / 2) plus the cold start: no duplicates.
    let refresh_points =
        (elapsed.as_secs_f64() / (EXPIRES_IN_SECONDS as f64 / 2.0)).floor() as usize;
    assert!(
        issued <= refresh_points + 1,
        "{issued} exchanges for {refresh_points} refresh points"
    );
    assert_eq!(cache.exchanges() as usize, issued);
    assert_eq!(cache.subject_fetches() as usize, issued);
}
