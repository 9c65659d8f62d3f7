//! The API request path against a scripted HTTP/1.1 server on 127.0.0.1, on tokio's paused
//! clock: the official SDK's retry policy (which replies and failures are retried, how long each
//! wait is, the 120 s limit on a server's delay), its per-phase timeouts, and transport errors
//! that carry no URL. The server writes raw bytes, so a test can stall a reply anywhere.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openai_conn_client::async_openai::error::OpenAIError;
use openai_conn_client::providers_core::MapEnv;
use openai_conn_client::{ClientOptions, from_connection, test_connection};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// One scripted reply: the status line and headers, then body pieces, each after a wait on
/// tokio's clock; `stall` keeps the connection open without another byte once the pieces are
/// written.
#[derive(Clone, Debug)]
struct Step {
    head: String,
    pieces: Vec<(Duration, Vec<u8>)>,
    stall: bool,
}

impl Step {
    fn status(status: u16, headers: &[(&str, &str)], body: &str) -> Step {
        Step::head(status, headers, Some(body.len())).piece(Duration::ZERO, body)
    }

    fn head(status: u16, headers: &[(&str, &str)], length: Option<usize>) -> Step {
        let mut head = format!("HTTP/1.1 {status} Scripted\r\nconnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(length) = length {
            head.push_str(&format!("content-length: {length}\r\n"));
        }
        head.push_str("\r\n");
        Step {
            head,
            pieces: Vec::new(),
            stall: false,
        }
    }

    fn piece(mut self, after: Duration, bytes: &str) -> Step {
        self.pieces.push((after, bytes.as_bytes().to_vec()));
        self
    }

    fn stall(mut self) -> Step {
        self.stall = true;
        self
    }
}

const MODELS: &str = r#"{"object":"list","data":[]}"#;

fn ok() -> Step {
    Step::status(200, &[("content-type", "application/json")], MODELS)
}

/// The scripted server: each connection takes the next step (the last one repeats), and the
/// request's arrival time on tokio's clock is recorded.
struct Script {
    url: String,
    arrivals: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Script {
    async fn start(steps: Vec<Step>) -> Script {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port is free");
        let url = format!(
            "http://{}/v1",
            listener
                .local_addr()
                .expect("a bound listener has an address")
        );
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let queue = Arc::new(Mutex::new(VecDeque::from(steps)));
        let seen = Arc::clone(&arrivals);
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let step = {
                    let mut queue = queue.lock().expect("the script lock is not poisoned");
                    if queue.len() > 1 {
                        queue.pop_front()
                    } else {
                        queue.front().cloned()
                    }
                }
                .expect("the script has a step");
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 4096];
                    while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => request.extend_from_slice(&buffer[..read]),
                        }
                    }
                    let line = String::from_utf8_lossy(&request)
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    seen.lock()
                        .expect("the arrivals lock is not poisoned")
                        .push((Instant::now(), line));
                    if socket.write_all(step.head.as_bytes()).await.is_err() {
                        return;
                    }
                    for (after, bytes) in &step.pieces {
                        tokio::time::sleep(*after).await;
                        if socket.write_all(bytes).await.is_err() {
                            return;
                        }
                    }
                    if step.stall {
                        std::future::pending::<()>().await;
                    }
                    let _ = socket.shutdown().await;
                });
            }
        });
        Script { url, arrivals }
    }

    fn requests(&self) -> usize {
        self.arrivals.lock().expect("not poisoned").len()
    }

    /// The waits between consecutive requests, on tokio's clock.
    fn gaps(&self) -> Vec<Duration> {
        let arrivals = self.arrivals.lock().expect("not poisoned");
        arrivals
            .windows(2)
            .map(|pair| pair[1].0 - pair[0].0)
            .collect()
    }

    fn request_lines(&self) -> Vec<String> {
        let arrivals = self.arrivals.lock().expect("not poisoned");
        arrivals.iter().map(|(_, line)| line.clone()).collect()
    }

    /// A client for an `api_key` connection to this server with `kwargs`.
    fn client(
        &self,
        kwargs: serde_json::Value,
    ) -> openai_conn_client::async_openai::Client<
        openai_conn_client::async_openai::config::OpenAIConfig,
    > {
        let document = json!({
            "conn_type": "openai",
            "host": self.url,
            "password": "sk-test-KEY-0123456789",
            "extra": {"openai_client_kwargs": kwargs},
        });
        let report = conn_schema::validate(&document.to_string(), conn_schema::DocumentKind::Auto);
        let connection = match report.connection() {
            Some(connection) => connection.clone(),
            None => panic!("{}", report.render("conn.json")),
        };
        from_connection(
            &connection,
            "scripted",
            ClientOptions::new().with_env(Arc::new(MapEnv::new())),
        )
        .expect("the connection builds a client")
        .client
    }
}

fn api_status(error: &OpenAIError) -> Option<u16> {
    match error {
        OpenAIError::ApiError(api) => Some(api.status_code.as_u16()),
        _ => None,
    }
}

/// A `Retry-After` over 120 s means no retry at all: the error at once, one request.
#[tokio::test(start_paused = true)]
async fn a_server_delay_over_two_minutes_returns_the_error_at_once() {
    let script = Script::start(vec![
        Step::status(
            429,
            &[
                ("retry-after", "3600"),
                ("content-type", "application/json"),
            ],
            r#"{"error":{"message":"slow down","type":"requests","param":null,"code":null}}"#,
        ),
        ok(),
    ])
    .await;
    let started = Instant::now();
    let error = test_connection(&script.client(json!({})))
        .await
        .expect_err("the 429 is returned");
    assert_eq!(api_status(&error), Some(429), "{error}");
    assert_eq!(script.requests(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// `retry-after-ms` wins over `Retry-After`; a delay within 120 s is waited exactly.
#[tokio::test(start_paused = true)]
async fn retry_after_ms_then_retry_after_are_waited_exactly() {
    let script = Script::start(vec![
        Step::status(429, &[("retry-after-ms", "1500"), ("retry-after", "9")], ""),
        Step::status(503, &[("retry-after", "2.5")], ""),
        ok(),
    ])
    .await;
    test_connection(&script.client(json!({})))
        .await
        .expect("the third attempt succeeds");
    assert_eq!(
        script.gaps(),
        vec![Duration::from_millis(1500), Duration::from_millis(2500)]
    );
}

/// 408 and 409 are retried; without a server delay the waits are the SDK's backoff, 0.5 s then
/// 1 s, each less up to 25 %.
#[tokio::test(start_paused = true)]
async fn timeouts_and_conflicts_are_retried_with_the_sdk_backoff() {
    let script = Script::start(vec![
        Step::status(408, &[], ""),
        Step::status(409, &[], ""),
        ok(),
    ])
    .await;
    test_connection(&script.client(json!({})))
        .await
        .expect("the third attempt succeeds");
    let gaps = script.gaps();
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    for (gap, base) in gaps.iter().zip([0.5f64, 1.0]) {
        let seconds = gap.as_secs_f64();
        assert!(seconds <= base + 0.01 && seconds >= base * 0.75, "{gaps:?}");
    }
}

/// `x-should-retry` wins over the status: `false` stops a 503, `true` retries a 400.
#[tokio::test(start_paused = true)]
async fn the_servers_x_should_retry_wins_over_the_status() {
    let script = Script::start(vec![Step::status(503, &[("x-should-retry", "false")], "")]).await;
    let error = test_connection(&script.client(json!({})))
        .await
        .expect_err("the 503 is returned");
    assert_eq!(api_status(&error), Some(503), "{error}");
    assert_eq!(script.requests(), 1);

    let body =
        r#"{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}"#;
    let script = Script::start(vec![
        Step::status(400, &[("x-should-retry", "true")], body),
        Step::status(400, &[], body),
    ])
    .await;
    let error = test_connection(&script.client(json!({})))
        .await
        .expect_err("the 400 is returned");
    assert_eq!(api_status(&error), Some(400), "{error}");
    assert_eq!(script.requests(), 2);
}

/// `max_retries` bounds the attempts; 404 is never retried.
#[tokio::test(start_paused = true)]
async fn max_retries_bounds_the_attempts_and_other_statuses_are_final() {
    let script = Script::start(vec![Step::status(500, &[], "boom")]).await;
    test_connection(&script.client(json!({"max_retries": 4})))
        .await
        .expect_err("every attempt fails");
    assert_eq!(script.requests(), 5);

    let script = Script::start(vec![Step::status(404, &[], "")]).await;
    test_connection(&script.client(json!({})))
        .await
        .expect_err("the 404 is returned");
    assert_eq!(script.requests(), 1);
}

/// A 429 whose body is not JSON is a 429 (retried, then returned with its request id), never a
/// deserialisation error.
#[tokio::test(start_paused = true)]
async fn a_non_json_429_is_a_429_with_its_request_id() {
    let script = Script::start(vec![Step::status(
        429,
        &[("content-type", "text/html"), ("x-request-id", "req_42")],
        "<html>Too Many Requests</html>",
    )])
    .await;
    let error = test_connection(&script.client(json!({})))
        .await
        .expect_err("the 429 is returned");
    assert_eq!(api_status(&error), Some(429), "{error}");
    let message = error.to_string();
    assert!(message.contains("Too Many Requests"), "{message}");
    assert!(message.contains("req_42"), "{message}");
    assert_eq!(script.requests(), 3);
}

/// A reply whose body keeps arriving for longer than `timeout` is never cut: the timeout bounds
/// each read, not the whole reply.
#[tokio::test(start_paused = true)]
async fn a_body_that_keeps_arriving_is_never_cut() {
    let mut step = Step::head(
        200,
        &[("content-type", "application/json")],
        Some(MODELS.len()),
    );
    for byte in MODELS.chars() {
        step = step.piece(Duration::from_millis(400), &byte.to_string());
    }
    let script = Script::start(vec![step]).await;
    let started = Instant::now();
    test_connection(&script.client(json!({"timeout": 1})))
        .await
        .expect("the slow body arrives whole");
    // Dozens of pieces, 0.4 s apart: far longer than the 1 s timeout.
    assert!(
        started.elapsed() > Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(script.requests(), 1);
}

/// A body that stalls past the timeout is a timeout, retried like any transport failure; the
/// error names no URL and no `default_query` value.
#[tokio::test(start_paused = true)]
async fn a_stalled_body_is_a_retried_timeout_without_the_url() {
    let step = Step::head(
        200,
        &[("content-type", "application/json")],
        Some(MODELS.len()),
    )
    .piece(Duration::ZERO, "{\"object\"")
    .stall();
    let script = Script::start(vec![step]).await;
    let client = script.client(json!({
        "timeout": 2,
        "default_query": {"sig": "QUERY-SECRET-777"},
    }));
    let error = test_connection(&client)
        .await
        .expect_err("the stalled body times out");
    assert_eq!(script.requests(), 3, "a timeout is retried");
    assert!(script.request_lines()[0].contains("sig=QUERY-SECRET-777"));
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("QUERY-SECRET"), "{shown}");
    assert!(!shown.contains("127.0.0.1"), "{shown}");
    assert!(
        matches!(&error, OpenAIError::Reqwest(inner) if inner.is_timeout() || inner.is_body() || inner.is_decode()),
        "{error:?}"
    );
}

/// A reply that never starts is a timeout after `timeout`, retried; the default connect timeout
/// is 5 s and each read 600 s (not tested here: they only bound waits).
#[tokio::test(start_paused = true)]
async fn a_reply_that_never_starts_times_out_per_attempt_and_is_retried() {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port is free");
    let address = listener.local_addr().expect("bound");
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let held = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            // Keep the socket open and silent.
            held.lock().expect("not poisoned").push(socket);
        }
    });
    let script = Script {
        url: format!("http://{address}/v1"),
        arrivals: Arc::new(Mutex::new(Vec::new())),
    };
    let started = Instant::now();
    let error = test_connection(&script.client(json!({"timeout": 3, "max_retries": 1})))
        .await
        .expect_err("no reply");
    assert!(
        matches!(&error, OpenAIError::Reqwest(inner) if inner.is_timeout()),
        "{error:?}"
    );
    assert_eq!(accepted.lock().expect("not poisoned").len(), 2);
    // Two attempts of 3 s and one backoff under 1 s.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(6) && elapsed < Duration::from_secs(8),
        "{elapsed:?}"
    );
}

/// A streamed completion that lasts longer than `timeout` is never cut: each event arrives
/// within the timeout, so each read does.
#[tokio::test(start_paused = true)]
async fn a_stream_longer_than_the_timeout_is_never_cut() {
    use futures_util::StreamExt;
    use openai_conn_client::async_openai::types::chat::{
        ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
    };
    let chunk = |content: &str| {
        format!(
            "data: {}\n\n",
            json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                   "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
        )
    };
    let mut step = Step::head(200, &[("content-type", "text/event-stream")], None);
    for word in ["one ", "two ", "three ", "four ", "five ", "six"] {
        step = step.piece(Duration::from_millis(800), &chunk(word));
    }
    let step = step.piece(Duration::from_millis(800), "data: [DONE]\n\n");
    let script = Script::start(vec![step]).await;
    let client = script.client(json!({"timeout": 1}));
    let request = CreateChatCompletionRequestArgs::default()
        .model("m")
        .stream(true)
        .messages(vec![ChatCompletionRequestUserMessage::from("hi").into()])
        .build()
        .expect("a valid request");
    let started = Instant::now();
    let mut stream = client
        .chat()
        .create_stream(request)
        .await
        .expect("the stream starts");
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        let event = event.expect("every event arrives");
        for choice in event.choices {
            text.push_str(&choice.delta.content.unwrap_or_default());
        }
    }
    assert_eq!(text, "one two three four five six");
    assert!(
        started.elapsed() > Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(script.requests(), 1);
}
