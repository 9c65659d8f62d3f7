//! The proxy against a loopback upstream: forwarding and header rules, streaming both ways,
//! refusals, the client key, the 401 replay, one exchange for many clients, health, metrics,
//! and the drain (logs: `logs.rs`).

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use openai_conn_proxy::{Access, Listen, ProxyConfig, ProxyError, REPLAY_BODY_LIMIT, bind};
use secrecy::SecretString;
use support::{ApiReply, ChannelBody, CountingSource, Mock, Proxy, client, raw};
use tokio::sync::mpsc;

#[tokio::test]
async fn requests_go_upstream_with_the_connection_key_and_without_client_credentials_or_hop_headers()
 {
    let mock = Mock::start().await;
    let proxy = Proxy::start(mock.api_key_upstream(), Access::local()).await;

    let response = client()
        .post(proxy.url("/v1/chat/completions?stream=false&sig=QUERY-VALUE"))
        .header("authorization", "Bearer sk-client-dummy")
        .header("api-key", "client-api-key")
        .header("x-api-key", "client-x-api-key")
        .header("cookie", "session=client-cookie")
        .header("proxy-authorization", "Basic client-proxy")
        .header("connection", "x-client-hop")
        .header("x-client-hop", "1")
        .header("te", "trailers")
        .header("x-kept", "yes")
        .header("host", "evil.example")
        .body(r#"{"model":"gpt-4o-mini"}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "req-1");
    assert!(response.headers().get("x-upstream-hop").is_none());
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"object":"list","data":[]}"#
    );
    let seen = mock.state.api.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.uri,
        "/v1/chat/completions?stream=false&sig=QUERY-VALUE"
    );
    assert_eq!(
        request.body,
        Bytes::from_static(br#"{"model":"gpt-4o-mini"}"#)
    );
    let headers = &request.headers;
    assert_eq!(headers["authorization"], "Bearer sk-conn-key");
    assert_eq!(headers["openai-organization"], "org-1");
    assert_eq!(headers["x-kept"], "yes");
    assert_eq!(headers["host"], mock.addr.to_string().as_str());
    for gone in [
        "api-key",
        "x-api-key",
        "cookie",
        "proxy-authorization",
        "x-client-hop",
        "te",
    ] {
        assert!(headers.get(gone).is_none(), "{gone} reached the upstream");
    }
}

// Paused time: a proxy that buffered would leave every task waiting, the clock would jump to the
// timeout and the test would fail instead of hanging.
#[tokio::test(start_paused = true)]
async fn a_server_sent_event_reaches_the_client_before_the_upstream_sends_the_next() {
    let mock = Mock::start().await;
    let (events, receiver) = mpsc::channel(4);
    mock.script(ApiReply::Stream(receiver));
    let proxy = Proxy::start(mock.api_key_upstream(), Access::local()).await;

    let mut response = proxy
        .post("/v1/chat/completions", r#"{"stream":true}"#)
        .await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    for n in 1..=3 {
        let event = format!("data: {{\"n\":{n}}}\n\n");
        events.send(Bytes::from(event.clone())).await.unwrap();
        // The next event is sent only once this one arrived: a proxy that buffers the body
        // would wait for the end that never comes.
        let chunk = tokio::time::timeout(Duration::from_secs(60), response.chunk())
            .await
            .expect("the event was held back")
            .unwrap()
            .expect("an event");
        assert_eq!(chunk, Bytes::from(event));
    }
    events
        .send(Bytes::from_static(b"data: [DONE]\n\n"))
        .await
        .unwrap();
    drop(events);
    assert_eq!(response.chunk().await.unwrap().unwrap(), "data: [DONE]\n\n");
    assert!(response.chunk().await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn an_upload_past_the_replay_limit_streams_through_as_it_arrives() {
    let mock = Mock::start().await;
    mock.script(ApiReply::CountBody);
    let proxy = Proxy::start(mock.api_key_upstream(), Access::local()).await;
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    let (sender, receiver) = mpsc::channel(2);
    let state = Arc::clone(&mock.state);
    let producer = tokio::spawn(async move {
        // Three times the replay limit, then wait until the upstream has seen twice the limit
        // before the last part is sent: only a proxy that forwards as it reads gets there.
        for _ in 0..(3 * REPLAY_BODY_LIMIT / chunk.len()) {
            sender.send(chunk.clone()).await.unwrap();
        }
        loop {
            let notified = state.progress.notified();
            if state.received.load(Ordering::SeqCst) >= 2 * REPLAY_BODY_LIMIT {
                break;
            }
            notified.await;
        }
        sender.send(chunk).await.unwrap();
    });

    let response = tokio::time::timeout(
        Duration::from_secs(60),
        client()
            .post(proxy.url("/v1/files"))
            .body(reqwest::Body::wrap(ChannelBody(receiver)))
            .send(),
    )
    .await
    .expect("the upload did not stream through")
    .unwrap();

    assert_eq!(response.status(), 200);
    let expected = 3 * REPLAY_BODY_LIMIT + 64 * 1024;
    assert_eq!(
        response.text().await.unwrap(),
        format!(r#"{{"received":{expected}}}"#)
    );
    producer.await.unwrap();
}

#[tokio::test]
async fn connect_and_absolute_form_targets_are_refused_and_reach_nothing() {
    let mock = Mock::start().await;
    let proxy = Proxy::start(mock.api_key_upstream(), Access::local()).await;

    let connect = raw(
        proxy.addr,
        "CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(connect.starts_with("HTTP/1.1 405"), "{connect}");
    let absolute = format!(
        "GET http://{}/v1/models HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        mock.addr, mock.addr
    );
    let absolute = raw(proxy.addr, &absolute).await;
    assert!(absolute.starts_with("HTTP/1.1 400"), "{absolute}");
    assert!(absolute.contains("absolute_form_refused"), "{absolute}");
    assert_eq!(mock.api_requests(), 0);
}

#[tokio::test]
async fn paths_outside_the_base_path_or_with_dot_segments_are_refused() {
    let mock = Mock::start().await;
    let proxy = Proxy::start(mock.api_key_upstream(), Access::local()).await;
    let client = client();
    for (path, status) in [
        ("/v2/models", 404),
        ("/v1x/models", 404),
        ("/oauth/token", 404),
    ] {
        let response = client.get(proxy.url(path)).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
    }
    // Sent raw: an HTTP client would resolve the dot segments before sending.
    for path in [
        "/v1/../oauth/token",
        "/v1/%2e%2e/oauth/token",
        "/v1/./models",
        "/v1/.%2E/x",
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let dotted = raw(proxy.addr, &request).await;
        assert!(dotted.starts_with("HTTP/1.1 400"), "{path}: {dotted}");
    }
    assert_eq!(mock.api_requests(), 0);
    assert_eq!(mock.exchanges(), 0);
    let ok = client.get(proxy.url("/v1")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn with_a_client_key_a_request_without_it_gets_401_and_reaches_nothing() {
    let mock = Mock::start().await;
    let access = Access::local().with_client_key(SecretString::from("proxy-key-1"));
    let proxy = Proxy::start(mock.api_key_upstream(), access).await;
    let client = client();

    for key in [None, Some("proxy-key-2"), Some("proxy-key-1x"), Some("")] {
        let mut request = client.get(proxy.url("/v1/models"));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{key:?}");
    }
    assert_eq!(mock.api_requests(), 0);

    for (name, value) in [
        ("authorization", "Bearer proxy-key-1"),
        ("api-key", "proxy-key-1"),
        ("x-api-key", "proxy-key-1"),
    ] {
        let response = client
            .get(proxy.url("/v1/models"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{name}");
    }
    let seen = mock.state.api.lock().unwrap();
    assert_eq!(seen.len(), 3);
    for request in seen.iter() {
        assert_eq!(request.headers["authorization"], "Bearer sk-conn-key");
        assert!(request.headers.get("api-key").is_none());
        assert!(request.headers.get("x-api-key").is_none());
    }
}

#[tokio::test]
async fn other_addresses_need_allow_remote_and_a_client_key() {
    let remote: Listen = "0.0.0.0:0".parse().unwrap();
    let refused = bind(&remote, &Access::local()).await.unwrap_err();
    assert!(
        matches!(refused, ProxyError::RemoteRefused { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("--allow-remote"), "{refused}");
    let no_key = bind(&remote, &Access::local().with_allow_remote(true))
        .await
        .unwrap_err();
    assert!(matches!(no_key, ProxyError::RemoteWithoutKey), "{no_key}");
    let key_without_allow = bind(
        &remote,
        &Access::local().with_client_key(SecretString::from("k")),
    )
    .await
    .unwrap_err();
    assert!(matches!(
        key_without_allow,
        ProxyError::RemoteRefused { .. }
    ));
    let allowed = Access::local()
        .with_client_key(SecretString::from("k"))
        .with_allow_remote(true);
    assert!(bind(&remote, &allowed).await.is_ok());
}

#[tokio::test]
async fn the_unix_socket_is_mode_0600_and_serves_requests() {
    use std::os::unix::fs::PermissionsExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy.sock");
    let listen = Listen::Unix(path.clone());
    let listener = bind(&listen, &Access::local()).await.unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(openai_conn_proxy::serve(
        listener,
        mock.api_key_upstream(),
        ProxyConfig::new(Access::local()),
        async {
            let _ = stopped.await;
        },
    ));

    let mut stream = tokio::net::UnixStream::connect(&path).await.unwrap();
    stream
        .write_all(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(mock.api_requests(), 1);

    stop.send(()).unwrap();
    task.await.unwrap();
    assert!(!path.exists(), "the socket is removed at shutdown");

    std::fs::write(&path, "not a socket").unwrap();
    let in_use = bind(&listen, &Access::local()).await.unwrap_err();
    assert!(matches!(in_use, ProxyError::PathInUse { .. }), "{in_use}");
}

#[tokio::test]
async fn redirects_from_upstream_reach_the_client_unfollowed() {
    let mock = Mock::start().await;
    mock.script(ApiReply::Redirect);
    let proxy = Proxy::start(mock.api_key_upstream(), Access::local()).await;
    let response = client().get(proxy.url("/v1/models")).send().await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "http://192.0.2.1/elsewhere");
    assert_eq!(mock.api_requests(), 1);
}

#[tokio::test]
async fn a_401_invalidates_the_token_and_replays_the_request_once_with_a_fresh_one() {
    let mock = Mock::start().await;
    mock.script(ApiReply::Json(401, r#"{"error":{"message":"expired"}}"#));
    let source = CountingSource::new();
    let proxy = Proxy::start(mock.workload_upstream(source.clone()), Access::local()).await;

    let response = client()
        .post(proxy.url("/v1/embeddings"))
        .bearer_auth("anything")
        .body(r#"{"input":"hi"}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let seen = mock.state.api.lock().unwrap();
    let bearers: Vec<&str> = seen
        .iter()
        .map(|request| request.headers["authorization"].to_str().unwrap())
        .collect();
    assert_eq!(bearers, ["Bearer access-1", "Bearer access-2"]);
    assert!(
        seen.iter()
            .all(|request| request.body == r#"{"input":"hi"}"#)
    );
    assert_eq!(mock.exchanges(), 2);
}

#[tokio::test]
async fn a_second_401_and_a_401_to_a_body_past_the_limit_reach_the_client() {
    let mock = Mock::start().await;
    mock.script(ApiReply::Json(401, "{}"));
    mock.script(ApiReply::Json(401, "{}"));
    let source = CountingSource::new();
    let proxy = Proxy::start(mock.workload_upstream(source.clone()), Access::local()).await;

    let response = proxy.post("/v1/embeddings", "{}").await;
    assert_eq!(response.status(), 401);
    assert_eq!(mock.api_requests(), 2, "one replay, no more");

    mock.script(ApiReply::Json(401, "{}"));
    let large = vec![b'x'; REPLAY_BODY_LIMIT + 1];
    let response = proxy.post("/v1/files", large).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        mock.api_requests(),
        3,
        "a body past the limit is not replayed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_clients_cost_one_subject_fetch_and_one_exchange() {
    let mock = Mock::start().await;
    let source = CountingSource::new();
    let proxy = Proxy::start(mock.workload_upstream(source.clone()), Access::local()).await;

    let mut tasks = Vec::new();
    for n in 0..50 {
        // A client of its own for each, as separate processes would have.
        let url = proxy.url("/v1/models");
        tasks.push(tokio::spawn(async move {
            client()
                .get(url)
                .bearer_auth(format!("client-{n}"))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    assert_eq!(mock.api_requests(), 50);
    assert_eq!((source.fetches(), mock.exchanges()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn healthz_turns_ready_without_traffic_and_neither_local_path_is_forwarded() {
    let mock = Mock::start().await;
    let source = CountingSource::new();
    let proxy = Proxy::start(mock.workload_upstream(source.clone()), Access::local()).await;

    let mut status = 0;
    for _ in 0..100 {
        let response = client().get(proxy.url("/healthz")).send().await.unwrap();
        status = response.status().as_u16();
        if status == 200 {
            assert_eq!(response.text().await.unwrap(), r#"{"status":"ok"}"#);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(status, 200);
    assert_eq!((source.fetches(), mock.exchanges()), (1, 1));

    let metrics = client().get(proxy.url("/metrics")).send().await.unwrap();
    assert_eq!(
        metrics.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("# TYPE openai_conn_proxy_requests_total counter"),
        "{text}"
    );
    assert!(
        text.contains("openai_conn_proxy_exchanges_total 1\n"),
        "{text}"
    );
    assert!(
        text.contains("openai_conn_proxy_refresh_failures_total 0\n"),
        "{text}"
    );
    assert!(
        text.contains("openai_conn_proxy_token_expires_in_seconds 3"),
        "{text}"
    );
    assert!(
        text.contains("openai_conn_proxy_upstream_latency_seconds_count 0\n"),
        "{text}"
    );
    assert_eq!(mock.api_requests(), 0);

    client().get(proxy.url("/v1/models")).send().await.unwrap();
    let text = proxy.metrics().await;
    assert!(
        text.contains("openai_conn_proxy_requests_total{status=\"200\"} 3\n"),
        "{text}"
    );
    assert!(
        text.contains("openai_conn_proxy_upstream_latency_seconds_count 1\n"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn healthz_is_503_with_the_reason_and_no_secret_while_the_exchange_fails() {
    let mock = Mock::start().await;
    mock.state.exchange_script.lock().unwrap().extend([401; 8]);
    let source = CountingSource::new();
    let proxy = Proxy::start(mock.workload_upstream(source.clone()), Access::local()).await;

    let mut body = String::new();
    for _ in 0..100 {
        let response = client().get(proxy.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status(), 503);
        body = response.text().await.unwrap();
        if body.contains("invalid_grant") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(body.contains(r#""status":"unavailable""#), "{body}");
    assert!(body.contains("invalid_grant"), "{body}");
    assert!(!body.contains("SECRET"), "{body}");
    let text = proxy.metrics().await;
    assert!(
        !text.contains("openai_conn_proxy_refresh_failures_total 0\n"),
        "{text}"
    );

    // A forwarded request without a token is answered by the proxy with the reason.
    let response = client().get(proxy.url("/v1/models")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(mock.api_requests(), 0);
}

#[tokio::test]
async fn an_api_key_connection_is_healthy_at_once() {
    let mock = Mock::start().await;
    let proxy = Proxy::start(mock.api_key_upstream(), Access::local()).await;
    let response = client().get(proxy.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(mock.api_requests(), 0);
}

/// A streamed chat completion started through `proxy`, its first event (`data: 1`) sent on
/// `events` and read; its stream is still open.
async fn a_stream_in_flight(proxy: &Proxy, events: &mpsc::Sender<Bytes>) -> reqwest::Response {
    let mut response = proxy.post("/v1/chat/completions", "{}").await;
    events
        .send(Bytes::from_static(b"data: 1\n\n"))
        .await
        .expect("the upstream stream is open");
    let first = response.chunk().await.expect("the stream can be read");
    assert_eq!(first.as_deref(), Some(&b"data: 1\n\n"[..]));
    response
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_the_request_in_flight_finish_and_refuses_new_connections() {
    let mock = Mock::start().await;
    let (events, receiver) = mpsc::channel(4);
    mock.script(ApiReply::Stream(receiver));
    let mut proxy = Proxy::start(mock.api_key_upstream(), Access::local()).await;
    let mut response = a_stream_in_flight(&proxy, &events).await;

    proxy.shut_down();
    tokio::task::yield_now().await;
    // The listener is closed: a new connection is refused.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(proxy.addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(
        refused,
        "the proxy still accepts connections after shutdown started"
    );

    // The stream in flight still runs to its end.
    events
        .send(Bytes::from_static(b"data: 2\n\n"))
        .await
        .unwrap();
    assert_eq!(response.chunk().await.unwrap().unwrap(), "data: 2\n\n");
    drop(events);
    assert!(response.chunk().await.unwrap().is_none());
    proxy.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_drain_deadline_closes_a_stream_that_does_not_end() {
    let mock = Mock::start().await;
    let (events, receiver) = mpsc::channel(4);
    mock.script(ApiReply::Stream(receiver));
    let config = ProxyConfig::new(Access::local()).with_drain(Duration::from_secs(5));
    let mut proxy = Proxy::start_with(mock.api_key_upstream(), config).await;
    let mut response = a_stream_in_flight(&proxy, &events).await;

    let started = tokio::time::Instant::now();
    proxy.shut_down();
    proxy.task.await.unwrap();
    // Paused time: these are tokio's virtual seconds, exact, not the wall clock.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(5) && waited < Duration::from_secs(6),
        "closed after {waited:?}, not at the 5 s drain deadline"
    );
    // The client sees its stream cut, not completed.
    assert!(response.chunk().await.is_err());
    drop(events);
}
