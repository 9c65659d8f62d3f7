//! A loopback upstream (the OpenAI API and its token exchange) and helpers to start the proxy in
//! front of it. The upstream is a small hyper server on 127.0.0.1 whose replies the tests script.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use openai_conn_client::providers_core::{
    BoxFuture, RetryPolicy, SourceError, SubjectToken, SubjectTokenSource, TokenType,
};
use openai_conn_client::{ClientOptions, CustomRegistry, Upstream, upstream};
use openai_conn_proxy::{Access, DEFAULT_DRAIN, Listen, ProxyConfig, bind, serve};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

pub type MockBody = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// What the API answers to the next request.
pub enum ApiReply {
    /// 200 with a small JSON body.
    Ok,
    /// A status with a JSON body.
    Json(u16, &'static str),
    /// 200 `text/event-stream` whose chunks the test sends.
    Stream(mpsc::Receiver<Bytes>),
    /// Reads the body as it arrives (counting bytes, waking `progress`), then answers 200 with
    /// the count.
    CountBody,
    /// A redirect to another origin.
    Redirect,
}

/// One request the API received.
#[derive(Debug)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
pub struct MockState {
    pub api: Mutex<Vec<Seen>>,
    pub script: Mutex<VecDeque<ApiReply>>,
    pub exchanges: AtomicUsize,
    /// Exchange replies: `None` is a fresh `access-N`; `Some(status)` an error.
    pub exchange_script: Mutex<VecDeque<u16>>,
    pub received: AtomicUsize,
    pub progress: Notify,
}

pub struct Mock {
    pub addr: SocketAddr,
    pub state: Arc<MockState>,
}

impl Mock {
    pub async fn start() -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind mock");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(MockState::default());
        let served = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&served);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, std::convert::Infallible>(answer(state, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Mock { addr, state }
    }

    pub fn api_base(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn exchange_url(&self) -> String {
        format!("http://{}/oauth/token", self.addr)
    }

    pub fn script(&self, reply: ApiReply) {
        self.state.script.lock().unwrap().push_back(reply);
    }

    pub fn api_requests(&self) -> usize {
        self.state.api.lock().unwrap().len()
    }

    pub fn exchanges(&self) -> usize {
        self.state.exchanges.load(Ordering::SeqCst)
    }

    /// The proxy's upstream for an `api_key` connection with key `sk-conn-key`.
    pub fn api_key_upstream(&self) -> Upstream {
        let connection = parse(&serde_json::json!({
            "conn_type": "openai",
            "host": self.api_base(),
            "password": "sk-conn-key",
            "extra": {"openai_client_kwargs": {"organization": "org-1"}}
        }));
        upstream(
            &connection,
            "openai_default",
            ClientOptions::new().with_env(env()),
        )
        .expect("upstream")
    }

    /// The proxy's upstream for a workload-identity connection (a custom source counting its
    /// fetches) exchanging at this mock.
    pub fn workload_upstream(&self, source: Arc<CountingSource>) -> Upstream {
        let connection = parse(&serde_json::json!({
            "conn_type": "openai",
            "host": self.api_base(),
            "extra": {
                "auth_type": "workload_identity",
                "workload_identity_provider": "custom",
                "token_provider": "test",
                "identity_provider_id": "idp-1",
                "service_account_id": "sa-1",
                "openai_client_kwargs": {"max_retries": 0}
            }
        }));
        let options = ClientOptions::new()
            .with_env(env())
            .with_registry(CustomRegistry::new().with("test", source))
            .with_exchange_url(self.exchange_url())
            .with_exchange_retry_policy(
                RetryPolicy::exponential(
                    0,
                    std::time::Duration::from_secs(1),
                    std::time::Duration::from_secs(1),
                )
                .without_delays(),
            );
        upstream(&connection, "openai_wi", options).expect("upstream")
    }
}

fn env() -> Arc<openai_conn_client::providers_core::MapEnv> {
    Arc::new(openai_conn_client::providers_core::MapEnv::new())
}

pub fn parse(document: &serde_json::Value) -> conn_schema::Connection {
    let report = conn_schema::validate(&document.to_string(), conn_schema::DocumentKind::Auto);
    match report.connection() {
        Some(connection) => connection.clone(),
        None => panic!("invalid test connection: {}", report.render("test.json")),
    }
}

fn full(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<MockBody> {
    let mut response = Response::new(
        Full::new(body.into())
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = StatusCode::from_u16(status).expect("status");
    response
        .headers_mut()
        .insert("content-type", content_type.parse().expect("content type"));
    response
}

async fn answer(state: Arc<MockState>, request: Request<Incoming>) -> Response<MockBody> {
    if request.uri().path() == "/oauth/token" {
        let n = state.exchanges.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = request.into_body().collect().await;
        if let Some(status) = state.exchange_script.lock().unwrap().pop_front() {
            return full(
                status,
                "application/json",
                r#"{"error":"invalid_grant","error_description":"no mapping"}"#,
            );
        }
        return full(
            200,
            "application/json",
            format!(
                r#"{{"access_token":"access-{n}","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":3600}}"#
            ),
        );
    }
    let reply = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(ApiReply::Ok);
    let (parts, body) = request.into_parts();
    let seen = |body: Bytes| Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts.headers.clone(),
        body,
    };
    if let ApiReply::CountBody = reply {
        state.api.lock().unwrap().push(seen(Bytes::new()));
        let mut body = body;
        let mut count = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                count += data.len();
                state.received.fetch_add(data.len(), Ordering::SeqCst);
                state.progress.notify_waiters();
            }
        }
        return full(
            200,
            "application/json",
            format!(r#"{{"received":{count}}}"#),
        );
    }
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    state.api.lock().unwrap().push(seen(body));
    match reply {
        ApiReply::Ok => {
            let mut response = full(200, "application/json", r#"{"object":"list","data":[]}"#);
            let headers = response.headers_mut();
            headers.insert("x-request-id", "req-1".parse().expect("value"));
            headers.insert("connection", "x-upstream-hop".parse().expect("value"));
            headers.insert("x-upstream-hop", "1".parse().expect("value"));
            response
        }
        ApiReply::Json(status, body) => full(status, "application/json", body),
        ApiReply::Stream(receiver) => {
            let mut response = Response::new(ChannelBody(receiver).boxed());
            response
                .headers_mut()
                .insert("content-type", "text/event-stream".parse().expect("value"));
            response
        }
        ApiReply::Redirect => {
            let mut response = full(302, "text/plain", "");
            response.headers_mut().insert(
                "location",
                "http://192.0.2.1/elsewhere".parse().expect("value"),
            );
            response
        }
        ApiReply::CountBody => unreachable!("answered above"),
    }
}

/// A body whose chunks come from a channel, as they are sent.
pub struct ChannelBody(pub mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|data| Ok(Frame::data(data))))
    }
}

/// A subject-token source that counts its fetches.
#[derive(Debug, Default)]
pub struct CountingSource {
    fetches: AtomicUsize,
}

impl CountingSource {
    pub fn new() -> Arc<Self> {
        Arc::new(CountingSource::default())
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl SubjectTokenSource for CountingSource {
    fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(SubjectToken::new("subject-SECRET", TokenType::Jwt)) })
    }
}

/// A running proxy on 127.0.0.1.
pub struct Proxy {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: Upstream, access: Access) -> Proxy {
        Self::start_with(upstream, ProxyConfig::new(access).with_drain(DEFAULT_DRAIN)).await
    }

    pub async fn start_with(upstream: Upstream, config: ProxyConfig) -> Proxy {
        let listen: Listen = "127.0.0.1:0".parse().expect("listen");
        let listener = bind(&listen, &config.access).await.expect("bind proxy");
        let addr = listener.local_addr().expect("tcp");
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve(listener, upstream, config, async {
            let _ = stopped.await;
        }));
        Proxy {
            addr,
            stop: Some(stop),
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The proxy's answer to a `POST` of `body` to `path`.
    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        client()
            .post(self.url(path))
            .body(body)
            .send()
            .await
            .expect("the proxy answers the POST")
    }

    /// The text of `/metrics` as the proxy serves it now.
    pub async fn metrics(&self) -> String {
        client()
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("the proxy answers /metrics")
            .text()
            .await
            .expect("the metrics are text")
    }

    /// Starts the shutdown (what SIGTERM does in the CLI).
    pub fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Sends `request` as raw bytes and returns everything the proxy answers until it closes.
pub async fn raw(addr: SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}
