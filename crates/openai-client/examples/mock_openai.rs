//! A loopback mock of the OpenAI token exchange and `GET /v1/models`, for benchmarks.
//!
//! `cargo run --release -p openai-conn-client --example mock_openai -- --expires-in 3600 --exchange-delay-ms 0`
//! binds 127.0.0.1 on a free port and prints `{"port": N}` on one line. `POST
//! /v1/chat/completions` answers with a server-sent-events stream that sends one chunk and then
//! stays open until the client goes (the proxy's memory with streams held open). `GET /stats` returns the
//! counters, `POST /config` changes `expires_in` and the exchange delay, `POST /reset` zeroes the
//! counters. It accepts only tokens it issued and that have not expired (so a benchmark that sent
//! an expired token would see failures). Never bind anything but loopback.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde_json::{Value, json};

#[derive(Default)]
struct Mock {
    expires_in: AtomicU64,
    exchange_delay_ms: AtomicU64,
    exchanges: AtomicU64,
    models: AtomicU64,
    streams: AtomicU64,
    rejected: AtomicU64,
    tokens: Mutex<HashMap<String, Instant>>,
}

const STATIC_KEY: &str = "sk-bench-static";

async fn exchange(State(mock): State<Arc<Mock>>) -> Response {
    let number = mock.exchanges.fetch_add(1, Ordering::SeqCst) + 1;
    let delay = mock.exchange_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let expires_in = mock.expires_in.load(Ordering::SeqCst);
    let token = format!("bench-access-{number}");
    let expires_at = Instant::now() + Duration::from_secs(expires_in);
    if let Ok(mut tokens) = mock.tokens.lock() {
        tokens.insert(token.clone(), expires_at);
    }
    axum::Json(json!({
        "access_token": token,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "token_type": "Bearer",
        "expires_in": expires_in,
    }))
    .into_response()
}

/// Whether the request carries the static key or an unexpired token this mock issued.
fn authorized(mock: &Mock, headers: &HeaderMap) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    let valid = bearer == STATIC_KEY
        || mock
            .tokens
            .lock()
            .ok()
            .and_then(|tokens| tokens.get(bearer).copied())
            .is_some_and(|expires_at| Instant::now() < expires_at);
    if !valid {
        mock.rejected.fetch_add(1, Ordering::SeqCst);
    }
    valid
}

async fn models(State(mock): State<Arc<Mock>>, headers: HeaderMap) -> Response {
    if !authorized(&mock, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    mock.models.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "openai"}]}))
        .into_response()
}

/// A streamed chat completion that sends its first chunk and then holds the response open.
async fn chat_stream(State(mock): State<Arc<Mock>>, headers: HeaderMap) -> Response {
    if !authorized(&mock, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    mock.streams.fetch_add(1, Ordering::SeqCst);
    let chunk = json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0,
        "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"role": "assistant",
        "content": "held"}, "finish_reason": null}]});
    let first = axum::body::Bytes::from(format!("data: {chunk}\n\n"));
    let events = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) })
        .chain(futures_util::stream::pending());
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        axum::body::Body::from_stream(events),
    )
        .into_response()
}

async fn stats(State(mock): State<Arc<Mock>>) -> Response {
    axum::Json(json!({
        "exchanges": mock.exchanges.load(Ordering::SeqCst),
        "models": mock.models.load(Ordering::SeqCst),
        "streams": mock.streams.load(Ordering::SeqCst),
        "rejected": mock.rejected.load(Ordering::SeqCst),
    }))
    .into_response()
}

async fn configure(State(mock): State<Arc<Mock>>, axum::Json(body): axum::Json<Value>) -> Response {
    if let Some(expires_in) = body.get("expires_in").and_then(Value::as_u64) {
        mock.expires_in.store(expires_in, Ordering::SeqCst);
    }
    if let Some(delay) = body.get("exchange_delay_ms").and_then(Value::as_u64) {
        mock.exchange_delay_ms.store(delay, Ordering::SeqCst);
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn reset(State(mock): State<Arc<Mock>>) -> Response {
    for counter in [&mock.exchanges, &mock.models, &mock.streams, &mock.rejected] {
        counter.store(0, Ordering::SeqCst);
    }
    StatusCode::NO_CONTENT.into_response()
}

fn argument(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == name)
        .and_then(|index| args.get(index + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> std::io::Result<()> {
    let mock = Arc::new(Mock::default());
    mock.expires_in
        .store(argument("--expires-in", 3600), Ordering::SeqCst);
    mock.exchange_delay_ms
        .store(argument("--exchange-delay-ms", 0), Ordering::SeqCst);
    let router = Router::new()
        .route("/oauth/token", post(exchange))
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat_stream))
        .route("/stats", get(stats))
        .route("/config", post(configure))
        .route("/reset", post(reset))
        .with_state(mock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", json!({"port": listener.local_addr()?.port()}));
    axum::serve(listener, router).await
}
