//! Shared test fixtures: a counting subject-token source and an axum mock of the exchange and the
//! API on 127.0.0.1. The handlers wait with `tokio::time::sleep`, so they follow paused time.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use openai_conn_client::providers_core::{
    BoxFuture, MapEnv, RetryPolicy, SourceError, SubjectToken, SubjectTokenSource, TokenType,
};
use openai_conn_client::{
    ClientOptions, Connected, ExchangeError, HttpError, TokenCache, from_connection,
};
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const SUBJECT_TOKEN: &str = "eyJ.subject-token.sig";

/// A subject-token source that counts its fetches.
#[derive(Debug)]
pub struct CountingSource {
    token_type: TokenType,
    fetches: AtomicUsize,
}

impl CountingSource {
    pub fn new(token_type: TokenType) -> Arc<Self> {
        Arc::new(CountingSource {
            token_type,
            fetches: AtomicUsize::new(0),
        })
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl SubjectTokenSource for CountingSource {
    fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let token = SubjectToken::new(SUBJECT_TOKEN, self.token_type);
        Box::pin(async move { Ok(token) })
    }
}

/// What the exchange mock answers.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A fresh `access-N` token with the mock's `expires_in`.
    Token,
    /// The same, after a delay on tokio's clock.
    DelayedToken(Duration),
    /// The same, once the test releases the gate.
    GatedToken,
    /// A JSON body with a status.
    Json(u16, Value),
    /// A status with an empty body.
    Status(u16),
    /// A redirect to `/elsewhere`.
    Redirect(u16),
    /// A raw body with a status and content type (an HTML error page, say).
    Raw(u16, &'static str, &'static str),
}

#[derive(Debug)]
pub struct ApiRequest {
    pub method: String,
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct MockState {
    exchange_script: Mutex<VecDeque<Reply>>,
    exchange_default: Mutex<Reply>,
    pub exchange_bodies: Mutex<Vec<Value>>,
    pub exchange_headers: Mutex<Vec<HeaderMap>>,
    pub exchange_started: AtomicUsize,
    pub exchange_completed: AtomicUsize,
    issued: AtomicUsize,
    expires_in: Mutex<Value>,
    pub gate: Notify,
    api_script: Mutex<VecDeque<u16>>,
    pub api_requests: Mutex<Vec<ApiRequest>>,
    pub redirect_target_hits: AtomicUsize,
}

pub struct Mock {
    pub base: String,
    pub state: Arc<MockState>,
}

impl Mock {
    /// Starts the mock on the current runtime.
    pub async fn start() -> Mock {
        let state = Arc::new(MockState {
            exchange_script: Mutex::new(VecDeque::new()),
            exchange_default: Mutex::new(Reply::Token),
            exchange_bodies: Mutex::new(Vec::new()),
            exchange_headers: Mutex::new(Vec::new()),
            exchange_started: AtomicUsize::new(0),
            exchange_completed: AtomicUsize::new(0),
            issued: AtomicUsize::new(0),
            expires_in: Mutex::new(json!(3600)),
            gate: Notify::new(),
            api_script: Mutex::new(VecDeque::new()),
            api_requests: Mutex::new(Vec::new()),
            redirect_target_hits: AtomicUsize::new(0),
        });
        let router = Router::new()
            .route("/oauth/token", post(exchange))
            .route("/elsewhere", any(elsewhere))
            .route("/v1/{*rest}", any(api))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Mock {
            base: format!("http://{address}"),
            state,
        }
    }

    pub fn exchange_url(&self) -> String {
        format!("{}/oauth/token", self.base)
    }

    pub fn api_base(&self) -> String {
        format!("{}/v1", self.base)
    }

    /// A mock whose first exchange is refused with a 401 OAuth `invalid_grant` error described
    /// by `description`.
    pub async fn refusing_the_grant(description: &str) -> Mock {
        Mock::scripted([Reply::Json(
            401,
            json!({"error": "invalid_grant", "error_description": description}),
        )])
        .await
    }

    /// A mock whose first exchanges answer with `replies`, in order ([`Mock::script_exchange`]).
    pub async fn scripted(replies: impl IntoIterator<Item = Reply>) -> Mock {
        let mock = Mock::start().await;
        mock.script_exchange(replies);
        mock
    }

    /// Replies used in order by the next exchanges; afterwards the default reply is used.
    pub fn script_exchange(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.exchange_script.lock().unwrap().extend(replies);
    }

    pub fn set_exchange_default(&self, reply: Reply) {
        *self.state.exchange_default.lock().unwrap() = reply;
    }

    pub fn set_expires_in(&self, value: Value) {
        *self.state.expires_in.lock().unwrap() = value;
    }

    /// Statuses used in order by the next API calls; afterwards 200.
    pub fn script_api(&self, statuses: impl IntoIterator<Item = u16>) {
        self.state.api_script.lock().unwrap().extend(statuses);
    }

    pub fn exchange_calls(&self) -> usize {
        self.state.exchange_started.load(Ordering::SeqCst)
    }

    pub fn exchanges_completed(&self) -> usize {
        self.state.exchange_completed.load(Ordering::SeqCst)
    }

    pub fn api_calls(&self) -> usize {
        self.state.api_requests.lock().unwrap().len()
    }

    /// The `Authorization` header of every API request, in order.
    pub fn api_authorizations(&self) -> Vec<String> {
        self.state
            .api_requests
            .lock()
            .unwrap()
            .iter()
            .map(|request| {
                request
                    .headers
                    .get(header::AUTHORIZATION)
                    .map(|value| value.to_str().unwrap().to_owned())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The cache options every test uses: this mock, an empty environment, retries without
    /// delays.
    pub fn cache(&self, source: Arc<CountingSource>) -> TokenCache {
        TokenCache::builder(source, "idp-1", "sa-1")
            .exchange_url(self.exchange_url())
            .env(Arc::new(MapEnv::new()))
            .retry_policy(openai_conn_client::default_exchange_retry_policy().without_delays())
            .build()
            .unwrap()
    }

    /// What a first token from a fresh cache (a counting source of JWTs) fails with.
    pub async fn exchange_error(&self) -> ExchangeError {
        self.cache(CountingSource::new(TokenType::Jwt))
            .token()
            .await
            .expect_err("the exchange fails")
    }

    pub fn options(&self, source: Arc<CountingSource>) -> ClientOptions {
        ClientOptions::new()
            .with_env(Arc::new(MapEnv::new()))
            .with_registry(providers_custom_registry(source))
            .with_exchange_url(self.exchange_url())
            .with_exchange_retry_policy(
                RetryPolicy::exponential(2, Duration::from_secs(1), Duration::from_secs(8))
                    .without_delays(),
            )
    }
}

fn providers_custom_registry(source: Arc<CountingSource>) -> openai_conn_client::CustomRegistry {
    openai_conn_client::CustomRegistry::new().with("test", source)
}

async fn exchange(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.exchange_started.fetch_add(1, Ordering::SeqCst);
    state.exchange_headers.lock().unwrap().push(headers);
    state
        .exchange_bodies
        .lock()
        .unwrap()
        .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
    let reply = {
        let scripted = state.exchange_script.lock().unwrap().pop_front();
        scripted.unwrap_or_else(|| state.exchange_default.lock().unwrap().clone())
    };
    let response = match reply {
        Reply::Token => issue(&state),
        Reply::DelayedToken(delay) => {
            tokio::time::sleep(delay).await;
            issue(&state)
        }
        Reply::GatedToken => {
            state.gate.notified().await;
            issue(&state)
        }
        Reply::Json(status, body) => {
            (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
        }
        Reply::Status(status) => StatusCode::from_u16(status).unwrap().into_response(),
        Reply::Raw(status, content_type, body) => (
            StatusCode::from_u16(status).unwrap(),
            [(header::CONTENT_TYPE, content_type)],
            body,
        )
            .into_response(),
        Reply::Redirect(status) => (
            StatusCode::from_u16(status).unwrap(),
            [(header::LOCATION, "/elsewhere")],
        )
            .into_response(),
    };
    state.exchange_completed.fetch_add(1, Ordering::SeqCst);
    response
}

fn issue(state: &MockState) -> Response {
    let n = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let expires_in = state.expires_in.lock().unwrap().clone();
    axum::Json(json!({
        "access_token": format!("access-{n}"),
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "token_type": "Bearer",
        "expires_in": expires_in,
    }))
    .into_response()
}

async fn elsewhere(State(state): State<Arc<MockState>>) -> Response {
    state.redirect_target_hits.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({"access_token": "redirected", "expires_in": 3600})).into_response()
}

async fn api(
    State(state): State<Arc<MockState>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    state.api_requests.lock().unwrap().push(ApiRequest {
        method: method.to_string(),
        uri: uri.to_string(),
        headers,
        body,
    });
    let status = state.api_script.lock().unwrap().pop_front().unwrap_or(200);
    if status != 200 {
        let body = json!({"error": {"message": "scripted failure", "type": "invalid_request_error", "param": null, "code": null}});
        return (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
    }
    let body = match path.as_str() {
        "/v1/chat/completions" => json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"},
                         "finish_reason": "stop", "logprobs": null}]
        }),
        "/v1/embeddings" => json!({
            "object": "list", "model": "text-embedding-3-small",
            "data": [
                {"index": 1, "object": "embedding", "embedding": [0.5, 0.25]},
                {"index": 0, "object": "embedding", "embedding": [1.0, 2.0]}
            ],
            "usage": {"prompt_tokens": 2, "total_tokens": 2}
        }),
        _ => json!({"object": "list", "data": []}),
    };
    axum::Json(body).into_response()
}

/// A workload-identity connection using the registered `test` source, with extra keys merged
/// into `extra`.
pub fn workload_identity_connection(mock: &Mock, extra: Value) -> conn_schema::Connection {
    parse(&workload_identity_document(mock, extra))
}

/// The document of [`workload_identity_connection`], for tests that add keys outside `extra`.
pub fn workload_identity_document(mock: &Mock, extra: Value) -> Value {
    let mut document = json!({
        "conn_type": "openai",
        "host": mock.api_base(),
        "extra": {
            "auth_type": "workload_identity",
            "workload_identity_provider": "custom",
            "token_provider": "test",
            "identity_provider_id": "idp-1",
            "service_account_id": "sa-1"
        }
    });
    merge(&mut document["extra"], extra);
    document
}

/// A client connected as `openai_wi` through `mock` with [`workload_identity_connection`] (no
/// extra keys) and a fresh counting source of JWTs, and that source.
pub fn connect_workload_identity(mock: &Mock) -> (Arc<CountingSource>, Connected) {
    let source = CountingSource::new(TokenType::Jwt);
    let connection = workload_identity_connection(mock, json!({}));
    let connected = from_connection(&connection, "openai_wi", mock.options(source.clone()))
        .expect("the workload-identity connection gives a client");
    (source, connected)
}

/// The status an exchange failed on, when it failed on an HTTP status (not a malformed reply, an
/// OAuth error or a transport failure).
pub fn failed_status(error: &ExchangeError) -> Option<u16> {
    match error {
        ExchangeError::Http(HttpError::Status { status, .. }) => Some(*status),
        _ => None,
    }
}

/// The code, description and status of the OAuth error an exchange answered with; any other
/// error fails the test.
pub fn oauth(error: &ExchangeError) -> (&str, &str, u16) {
    match error {
        ExchangeError::OAuth {
            error,
            description,
            status,
            ..
        } => (error, description, *status),
        other => panic!("an oauth error was expected, got {other:?}"),
    }
}

pub fn parse(document: &Value) -> conn_schema::Connection {
    let report = conn_schema::validate(&document.to_string(), conn_schema::DocumentKind::Auto);
    match report.connection() {
        Some(connection) => connection.clone(),
        None => panic!("invalid test connection: {}", report.render("test.json")),
    }
}

fn merge(target: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (target.as_object_mut(), extra) {
        for (key, value) in extra {
            target.insert(key, value);
        }
    }
}

/// Polls `condition` on tokio's clock (paused time advances through the sleeps); a bounded
/// number of rounds, so a broken implementation fails instead of hanging.
pub async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..1000 {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    condition()
}
