//! The shared HTTP pieces against a real server on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use providers_core::{BoxFuture, RetryPolicy, Sleep};
use providers_http::{
    BodyError, HttpError, MAX_BODY_BYTES, Proxy, Retryable, TransportFailure, build_client,
    client_builder, is_loopback, read_body, retry_after, retry_with_policies,
};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let server = MockServer::start().await;
    for proxy in [Proxy::Never, Proxy::FromEnvironment] {
        server.reset().await;
        Mock::given(path("/elsewhere"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        Mock::given(path("/start"))
            .respond_with(
                ResponseTemplate::new(302)
                    .insert_header("Location", format!("{}/elsewhere", server.uri())),
            )
            .mount(&server)
            .await;
        let client = build_client(proxy).expect("client");
        let response = client
            .get(format!("{}/start", server.uri()))
            .send()
            .await
            .expect("reply");
        assert_eq!(response.status().as_u16(), 302, "{proxy:?}");
        let received = server.received_requests().await.expect("recording");
        assert_eq!(received.len(), 1, "{proxy:?}: the redirect was followed");
        assert_eq!(received[0].url.path(), "/start");
    }
}

#[tokio::test]
async fn bodies_are_read_up_to_the_limit_and_refused_past_it() {
    let server = MockServer::start().await;
    for (route, size) in [("/at", MAX_BODY_BYTES), ("/past", MAX_BODY_BYTES + 1)] {
        Mock::given(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; size]))
            .mount(&server)
            .await;
    }
    let client = build_client(Proxy::Never).expect("client");
    let get = |route: &'static str| client.get(format!("{}{route}", server.uri())).send();
    let body = read_body(get("/at").await.expect("reply"), MAX_BODY_BYTES)
        .await
        .expect("a body at the limit is read");
    assert_eq!(body.len(), MAX_BODY_BYTES);
    let error = read_body(get("/past").await.expect("reply"), MAX_BODY_BYTES)
        .await
        .expect_err("a body past the limit is refused");
    assert!(
        matches!(error, BodyError::TooLarge { limit } if limit == MAX_BODY_BYTES),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the reply body is larger than 65536 bytes"
    );
}

#[tokio::test]
async fn an_endless_chunked_body_is_refused_once_past_the_limit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A server that announces no length and never stops sending: reading must stop by itself.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = format!("4000\r\n{}\r\n", "z".repeat(0x4000));
        while stream.write_all(chunk.as_bytes()).await.is_ok() {}
    });
    let client = build_client(Proxy::Never).expect("client");
    let response = client
        .get(format!("http://{address}/endless"))
        .send()
        .await
        .expect("reply");
    let error = read_body(response, MAX_BODY_BYTES)
        .await
        .expect_err("an endless body is refused");
    assert!(matches!(error, BodyError::TooLarge { .. }), "{error:?}");
}

#[tokio::test]
async fn retry_after_is_read_from_the_reply() {
    let server = MockServer::start().await;
    let client = providers_http::tls_client_builder()
        .build()
        .expect("a client without options builds");
    for (route, header, value, expected) in [
        (
            "/seconds",
            "Retry-After",
            Some("7"),
            Some(Duration::from_secs(7)),
        ),
        (
            "/fraction",
            "Retry-After",
            Some("0.5"),
            Some(Duration::from_millis(500)),
        ),
        (
            "/ms",
            "retry-after-ms",
            Some("250"),
            Some(Duration::from_millis(250)),
        ),
        (
            "/past-date",
            "Retry-After",
            Some("Wed, 21 Oct 2015 07:28:00 GMT"),
            None,
        ),
        ("/none", "Retry-After", None, None),
    ] {
        let mut reply = ResponseTemplate::new(503);
        if let Some(value) = value {
            reply = reply.insert_header(header, value);
        }
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(reply)
            .mount(&server)
            .await;
        let response = client
            .get(format!("{}{route}", server.uri()))
            .send()
            .await
            .expect("the mock server replies");
        assert_eq!(retry_after(response.headers()), expected, "{route}");
    }
}

/// Sends a GET to `address` with no proxy; the request must fail as `failure`. Gives the shared
/// error made of the failure.
async fn transport_error(address: std::net::SocketAddr, failure: TransportFailure) -> HttpError {
    let error = build_client(Proxy::Never)
        .expect("client")
        .get(format!("http://{address}/"))
        .send()
        .await
        .expect_err("the request fails");
    assert_eq!(TransportFailure::of(&error), failure);
    HttpError::transport("the endpoint", error)
}

#[tokio::test]
async fn transport_failures_are_sorted_into_timeout_connect_and_other() {
    // Timeout: the server answers after the client's limit.
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let client = client_builder(Proxy::Never)
        .timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    let error = client
        .get(format!("{}/slow", server.uri()))
        .send()
        .await
        .expect_err("timed out");
    assert_eq!(TransportFailure::of(&error), TransportFailure::Timeout);
    let shared = HttpError::transport("the slow endpoint", error);
    assert!(
        matches!(&shared, HttpError::Timeout { endpoint, .. } if endpoint == "the slow endpoint"),
        "{shared:?}"
    );
    assert_eq!(shared.to_string(), "request to the slow endpoint timed out");
    assert!(shared.is_transient() && shared.is_transport());
    // The URL (which may carry an audience) is gone from the whole chain.
    assert!(!format!("{shared:?}").contains("/slow"), "{shared:?}");

    // Connect: a port nobody listens on any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let shared = transport_error(address, TransportFailure::Connect).await;
    assert!(matches!(shared, HttpError::Connect { .. }), "{shared:?}");
    assert_eq!(shared.to_string(), "could not connect to the endpoint");

    // Other: a server that accepts and hangs up without a reply.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    let shared = transport_error(address, TransportFailure::Other).await;
    assert!(matches!(shared, HttpError::Transport { .. }), "{shared:?}");
    assert_eq!(shared.to_string(), "request to the endpoint failed");
    assert!(shared.is_transient());
}

#[tokio::test]
async fn a_reply_that_is_not_a_success_is_a_redirect_or_a_status() {
    let server = MockServer::start().await;
    Mock::given(path("/moved"))
        .respond_with(ResponseTemplate::new(307).insert_header("Location", "/elsewhere"))
        .mount(&server)
        .await;
    Mock::given(path("/busy"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("Retry-After", "4")
                .set_body_string("secret-bearing body"),
        )
        .mount(&server)
        .await;
    let client = build_client(Proxy::Never).expect("client");
    let get = |route: &'static str| client.get(format!("{}{route}", server.uri())).send();
    let moved = get("/moved").await.expect("reply");
    let error = HttpError::status_of("IMDS", &moved);
    assert!(
        matches!(error, HttpError::Redirect { status: 307, .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "IMDS answered with redirect status 307; redirects are not followed"
    );
    assert!(!error.is_transient());

    let busy = get("/busy").await.expect("reply");
    let error = HttpError::status_of("IMDS", &busy);
    assert_eq!(error.status(), Some(503));
    assert_eq!(error.retry_after(), Some(Duration::from_secs(4)));
    assert_eq!(error.endpoint(), "IMDS");
    assert_eq!(error.to_string(), "IMDS answered status 503");
    assert!(error.is_transient() && !error.is_transport());
    assert!(!format!("{error:?}").contains("secret-bearing"));
}

#[test]
fn only_408_429_and_5xx_statuses_are_transient() {
    let status = |status| HttpError::Status {
        endpoint: "e".into(),
        status,
        retry_after: None,
    };
    for code in [408, 429, 500, 502, 503, 599] {
        assert!(status(code).is_transient(), "{code}");
    }
    for code in [400, 401, 403, 404, 410] {
        assert!(!status(code).is_transient(), "{code}");
    }
    let malformed = HttpError::Malformed {
        endpoint: "the token exchange endpoint".into(),
        status: 200,
        expected: "a json object",
    };
    assert_eq!(
        malformed.to_string(),
        "the reply of the token exchange endpoint is malformed: expected a json object"
    );
    assert!(!malformed.is_transient());
    assert_eq!(malformed.status(), Some(200));
}

#[test]
fn loopback_hosts_are_recognised() {
    for url in [
        "http://localhost:8080/x",
        "http://LOCALHOST/",
        "http://127.0.0.1/",
        "http://127.5.6.7:1/",
        "http://[::1]:9/",
    ] {
        assert!(is_loopback(&Url::parse(url).expect(url)), "{url}");
    }
    for url in [
        "http://169.254.169.254/",
        "http://localhost.example.com/",
        "http://10.0.0.1/",
        "http://[::2]/",
        "file:///tmp/x",
    ] {
        assert!(!is_loopback(&Url::parse(url).expect(url)), "{url}");
    }
}

/// A failure of a test request: a status, retried or not, with an optional `Retry-After`, drawing
/// on a retry budget.
#[derive(Debug)]
struct Failure {
    retried: bool,
    retry_after: Option<Duration>,
    budget: usize,
}

impl Failure {
    fn retried(budget: usize) -> Failure {
        Failure {
            retried: true,
            retry_after: None,
            budget,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "failure (retried: {})", self.retried)
    }
}

impl Retryable for Failure {
    fn is_retried(&self) -> bool {
        self.retried
    }

    fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    fn budget(&self) -> usize {
        self.budget
    }
}

/// Records the delays instead of waiting.
#[derive(Default)]
struct Recorder(Mutex<Vec<Duration>>);

impl Recorder {
    fn delays(&self) -> Vec<Duration> {
        self.0.lock().expect("delays").clone()
    }
}

impl Sleep for Recorder {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.0.lock().expect("delays").push(duration);
        Box::pin(async {})
    }
}

const POLICY: RetryPolicy = RetryPolicy {
    max_retries: 3,
    base_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(8),
    jitter: 0.0,
    max_retry_after: Duration::from_secs(5),
};

#[tokio::test]
async fn retries_stop_at_the_budget_with_doubling_delays() {
    let recorder = Arc::new(Recorder::default());
    let mut attempts = Vec::new();
    let result: Result<(), Failure> = retry_with_policies(&*recorder, &[POLICY], "test", |done| {
        attempts.push(done);
        async { Err(Failure::retried(0)) }
    })
    .await;
    assert!(result.is_err());
    assert_eq!(attempts, [0, 1, 2, 3]);
    assert_eq!(
        recorder.delays(),
        [1, 2, 4].map(Duration::from_secs).to_vec()
    );
}

#[tokio::test]
async fn a_failure_that_is_not_retried_stops_at_once() {
    let recorder = Recorder::default();
    let mut attempts = 0;
    let result: Result<(), Failure> = retry_with_policies(&recorder, &[POLICY], "test", |_| {
        attempts += 1;
        async {
            Err(Failure {
                retried: false,
                retry_after: Some(Duration::from_secs(1)),
                budget: 0,
            })
        }
    })
    .await;
    assert!(result.is_err());
    assert_eq!(attempts, 1);
    assert!(recorder.delays().is_empty());
}

#[tokio::test]
async fn retry_after_replaces_the_delay_up_to_the_policy_cap_and_success_ends_the_loop() {
    let recorder = Recorder::default();
    let result = retry_with_policies(&recorder, &[POLICY], "test", |done| async move {
        match done {
            0 => Err(Failure {
                retry_after: Some(Duration::from_secs(2)),
                ..Failure::retried(0)
            }),
            1 => Err(Failure {
                retry_after: Some(Duration::from_secs(600)),
                ..Failure::retried(0)
            }),
            _ => Ok(done),
        }
    })
    .await;
    assert_eq!(result.expect("third attempt succeeds"), 2);
    assert_eq!(recorder.delays(), [2, 5].map(Duration::from_secs).to_vec());
}

#[tokio::test]
async fn each_budget_is_counted_on_its_own_and_an_unknown_one_stops() {
    const SLOW: RetryPolicy = RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_secs(10),
        max_delay: Duration::from_secs(10),
        jitter: 0.0,
        max_retry_after: Duration::from_secs(10),
    };
    // Budget 1 twice (its whole budget), then budget 0 three times (its whole budget), then
    // budget 1 again: spent, so the loop stops there.
    let script = [1, 1, 0, 0, 0, 1];
    let recorder = Recorder::default();
    let mut attempts = Vec::new();
    let result: Result<(), Failure> =
        retry_with_policies(&recorder, &[POLICY, SLOW], "test", |done| {
            attempts.push(done);
            let budget = script[usize::try_from(done).expect("small")];
            async move { Err(Failure::retried(budget)) }
        })
        .await;
    assert_eq!(result.expect_err("spent").budget, 1);
    assert_eq!(attempts, [0, 1, 2, 3, 4, 5]);
    assert_eq!(
        recorder.delays(),
        [10, 10, 1, 2, 4].map(Duration::from_secs).to_vec()
    );

    let recorder = Recorder::default();
    let mut attempts = 0;
    let result: Result<(), Failure> = retry_with_policies(&recorder, &[POLICY], "test", |_| {
        attempts += 1;
        async { Err(Failure::retried(3)) }
    })
    .await;
    assert!(result.is_err());
    assert_eq!(attempts, 1);
    assert!(recorder.delays().is_empty());
}

#[tokio::test(start_paused = true)]
async fn tokio_sleep_follows_paused_time() {
    let started = tokio::time::Instant::now();
    providers_http::TokioSleep
        .sleep(Duration::from_secs(3600))
        .await;
    assert_eq!(started.elapsed(), Duration::from_secs(3600));
}
