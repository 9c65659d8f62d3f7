//! The conformance suite every HTTP source runs against a loopback server (feature `test-util`):
//! the endpoint is taken from the injected `Env`, a redirect is refused, each attempt has its own
//! timeout, a reply body is bounded, no body reaches an error, and failures are retried on the
//! source's schedule while the statuses it does not retry fail at once. Each source states its
//! protocol in an [`HttpSourceUnderTest`] and calls [`run`]; its own tests keep only what is its
//! own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use providers_core::{
    BoxFuture, MapEnv, RetryPolicy, Sleep, SourceError, SubjectTokenSource, TokenType,
};
use secrecy::ExposeSecret;
use wiremock::matchers::{self, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::{HttpSource, MAX_BODY_BYTES, SourceHttpError, is_transient_status};

/// The token the suite's servers hand out; it must never appear in an error.
pub const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.conformance-SECRET.sig";

/// A body that echoes a secret, sent with error statuses; it must never appear in an error.
const ERROR_BODY: &str = "denied: sk-BODY-SECRET";

/// One HTTP source as the suite drives it.
pub trait HttpSourceUnderTest {
    /// The path the source requests.
    const PATH: &'static str;
    /// The source's default retry policy.
    const RETRY_POLICY: RetryPolicy;
    /// A status the source retries.
    const RETRIED_STATUS: u16;
    /// Statuses the source does not retry. Each failure is transient or not as
    /// [`is_transient_status`] says.
    const NOT_RETRIED: &'static [u16];

    /// The source's error: its errors name its provider and have it as their cause.
    type Error: SourceHttpError;

    /// The source type.
    type Source: SubjectTokenSource + HttpSource + 'static;

    /// The environment that points the source at the server listening on `address`
    /// (`127.0.0.1:port`): its endpoint is read from here and nowhere else.
    fn env(address: &str) -> MapEnv;

    /// The success reply that carries `token`.
    fn token_reply(token: &str) -> ResponseTemplate;

    /// The source with its defaults, built from `env`.
    fn source(env: MapEnv) -> Self::Source;
}

/// Runs every check of the suite for `S`; a failed check panics with its name.
pub async fn run<S: HttpSourceUnderTest>() {
    endpoint_taken_from_env::<S>().await;
    redirect_refused::<S>().await;
    timeout_per_attempt::<S>().await;
    bounded_body::<S>().await;
    no_body_in_an_error::<S>().await;
    retry_schedule::<S>().await;
    statuses_not_retried::<S>().await;
    retry_after_honoured::<S>().await;
    recovers_after_failures::<S>().await;
    refused_connection_retried::<S>().await;
}

/// The source for `S` at `address`, sleeping on a recording sleep, with `timeout` and
/// `retry_policy` replacing its defaults when given.
fn knobbed<S: HttpSourceUnderTest>(
    address: &str,
    timeout: Option<Duration>,
    retry_policy: Option<RetryPolicy>,
) -> (Box<dyn SubjectTokenSource>, Arc<Mutex<Vec<Duration>>>) {
    let (mut source, delays) = sleeping_on_record(S::source(S::env(address)));
    if let Some(timeout) = timeout {
        source = source.with_timeout(timeout);
    }
    if let Some(policy) = retry_policy {
        source = source.with_retry_policy(policy);
    }
    (Box::new(source), delays)
}

/// `source` sleeping on a [`recording_sleep`] (so backoff is observed, never waited for), and
/// the delays it records.
pub fn sleeping_on_record<S: HttpSource>(source: S) -> (S, Arc<Mutex<Vec<Duration>>>) {
    let (sleep, delays) = recording_sleep();
    (source.with_sleep(sleep), delays)
}

/// A sleep that records each delay and returns at once, and what it recorded.
pub fn recording_sleep() -> (Arc<dyn Sleep>, Arc<Mutex<Vec<Duration>>>) {
    let delays = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::clone(&delays);
    let sleep = move |delay: Duration| -> BoxFuture<'static, ()> {
        recorder
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(delay);
        Box::pin(async {})
    };
    (Arc::new(sleep), delays)
}

/// Every message and Debug rendering of an error and its whole source chain.
pub fn renderings(error: &SourceError) -> Vec<String> {
    let mut texts = vec![format!("{error}"), format!("{error:?}")];
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        texts.push(current.to_string());
        texts.push(format!("{current:?}"));
        source = current.source();
    }
    texts
}

/// A loopback server that answers every request for `path` with `reply`.
pub async fn serving(path: &str, reply: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(matchers::path(path))
        .respond_with(reply)
        .mount(&server)
        .await;
    server
}

/// A loopback server that answers requests for `path` with each of `replies` in turn, each for
/// as many requests as its count says, and with `last` from then on.
pub async fn serving_in_turn(
    path: &str,
    replies: impl IntoIterator<Item = (ResponseTemplate, u64)>,
    last: ResponseTemplate,
) -> MockServer {
    let server = MockServer::start().await;
    mount_in_turn(&server, path, replies, last).await;
    server
}

/// Makes `server` answer requests for `path` with each of `replies` in turn, each for as many
/// requests as its count says, and with `last` from then on.
pub async fn mount_in_turn(
    server: &MockServer,
    path: &str,
    replies: impl IntoIterator<Item = (ResponseTemplate, u64)>,
    last: ResponseTemplate,
) {
    for (reply, times) in replies {
        Mock::given(matchers::path(path))
            .respond_with(reply)
            .up_to_n_times(times)
            .mount(server)
            .await;
    }
    Mock::given(matchers::path(path))
        .respond_with(last)
        .mount(server)
        .await;
}

/// How many requests `server` has received.
pub async fn request_count(server: &MockServer) -> usize {
    match server.received_requests().await {
        Some(requests) => requests.len(),
        None => panic!("the server was expected to record its requests"),
    }
}

/// The delays a [`recording_sleep`] has recorded so far.
pub fn recorded(delays: &Mutex<Vec<Duration>>) -> Vec<Duration> {
    delays
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Fetches a token from `source`, checks that it is `token` of `token_type`, and returns the one
/// request `server` received for it; panics, naming what it expected, otherwise.
pub async fn fetch_once(
    source: &dyn SubjectTokenSource,
    server: &MockServer,
    token: &str,
    token_type: TokenType,
) -> Request {
    let fetched = match source.fetch().await {
        Ok(fetched) => fetched,
        Err(error) => panic!("a token was expected: {error}"),
    };
    assert_eq!(
        fetched.secret().expose_secret(),
        token,
        "the server's token"
    );
    assert_eq!(fetched.token_type(), token_type, "the token's type");
    let mut requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1, "one request to the server");
    requests.remove(0)
}

/// Mounts `request` on `server` as the one request the server must receive (wiremock checks, when
/// the server is dropped, that it came exactly once), fetches through it as [`fetch_once`] does,
/// checks that no retry slept (`delays` are what the source's [`recording_sleep`] recorded), and
/// returns the request as the server received it.
pub async fn exact_request(
    server: &MockServer,
    request: Mock,
    source: &dyn SubjectTokenSource,
    delays: &Mutex<Vec<Duration>>,
    token: &str,
    token_type: TokenType,
) -> Request {
    request.expect(1).mount(server).await;
    let received = fetch_once(source, server, token, token_type).await;
    assert_eq!(recorded(delays), [], "no retry before the token");
    received
}

/// Fetches from `source`, which is expected to fail at once: after one request to `server`, with
/// no retry slept (`delays` are what the source's [`recording_sleep`] recorded), with an error that
/// is not transient; returns the error.
pub async fn fails_at_once(
    source: &dyn SubjectTokenSource,
    server: &MockServer,
    delays: &Mutex<Vec<Duration>>,
) -> SourceError {
    let error = match source.fetch().await {
        Ok(_) => panic!("the fetch was expected to fail"),
        Err(error) => error,
    };
    assert!(
        !error.is_transient(),
        "{error} was expected not to be transient"
    );
    assert_eq!(request_count(server).await, 1, "one request for {error}");
    assert_eq!(recorded(delays), [], "no retry after {error}");
    error
}

/// Asserts that `error` failed at `step`, and is transient or not as `transient` says.
pub fn assert_failed_at(error: &SourceError, step: &str, transient: bool) {
    assert_eq!(error.step(), step, "the step of {error}");
    assert_eq!(
        error.is_transient(),
        transient,
        "whether {error} is transient"
    );
}

/// The cause of `error` as the source's own error type `E`, once the error is seen to name
/// `provider`; panics, naming what it expected, otherwise.
pub fn cause_of<'e, E: std::error::Error + 'static>(
    error: &'e SourceError,
    provider: &str,
) -> &'e E {
    assert_eq!(error.provider(), provider, "the provider named by {error}");
    match error.cause().downcast_ref::<E>() {
        Some(cause) => cause,
        None => panic!(
            "the cause of {error} was expected to be a {}",
            std::any::type_name::<E>()
        ),
    }
}

struct Setup {
    server: MockServer,
    delays: Arc<Mutex<Vec<Duration>>>,
    source: Box<dyn SubjectTokenSource>,
}

impl Setup {
    async fn new<S: HttpSourceUnderTest>(
        reply: ResponseTemplate,
        timeout: Option<Duration>,
        retry_policy: Option<RetryPolicy>,
    ) -> Setup {
        let server = serving(S::PATH, reply).await;
        let (source, delays) = knobbed::<S>(&server.address().to_string(), timeout, retry_policy);
        Setup {
            server,
            delays,
            source,
        }
    }

    async fn requests(&self) -> usize {
        request_count(&self.server).await
    }

    fn delays(&self) -> Vec<Duration> {
        recorded(&self.delays)
    }

    /// [`Setup::error`], checked with [`assert_failure`].
    async fn failure<S: HttpSourceUnderTest>(&self, check: &str, transient: bool, says: &str) {
        let error = self.error::<S>(check).await;
        assert_failure(check, &error, transient, says);
    }

    /// Makes the server answer `failures` times with `failure`, then with the token, and checks
    /// that one fetch gets the token through the retries.
    async fn token_after<S: HttpSourceUnderTest>(
        &self,
        failure: ResponseTemplate,
        failures: u64,
        check: &str,
    ) {
        self.server.reset().await;
        mount_in_turn(
            &self.server,
            S::PATH,
            [(failure, failures)],
            S::token_reply(TOKEN),
        )
        .await;
        match self.source.fetch().await {
            Ok(token) => assert_eq!(token.secret().expose_secret(), TOKEN, "{check}"),
            Err(error) => panic!("{check}: a token was expected: {error}"),
        }
    }

    async fn error<S: HttpSourceUnderTest>(&self, check: &str) -> SourceError {
        let error = match self.source.fetch().await {
            Ok(_) => panic!("{check}: the fetch was expected to fail"),
            Err(error) => error,
        };
        let _: &S::Error = cause_of(&error, S::Error::PROVIDER);
        for text in renderings(&error) {
            assert!(!text.contains("SECRET"), "{check}: {text}");
        }
        error
    }
}

/// Asserts that `error` is transient or not as `transient` says, and that its message or one
/// of its causes says `says`.
fn assert_failure(check: &str, error: &SourceError, transient: bool, says: &str) {
    assert_eq!(
        error.is_transient(),
        transient,
        "{check}: transient? {error}"
    );
    assert!(
        renderings(error).iter().any(|text| text.contains(says)),
        "{check}: {says:?} was expected in {error}"
    );
}

/// The source finds the server only through the environment it was given, and the token is the
/// server's.
async fn endpoint_taken_from_env<S: HttpSourceUnderTest>() {
    let setup = Setup::new::<S>(S::token_reply(TOKEN), None, None).await;
    let token = match setup.source.fetch().await {
        Ok(token) => token,
        Err(error) => panic!("endpoint taken from env: {error}"),
    };
    assert_eq!(token.secret().expose_secret(), TOKEN);
    assert_eq!(setup.requests().await, 1, "endpoint taken from env");
    assert!(setup.delays().is_empty(), "endpoint taken from env");
}

/// A redirect is an error, is not followed and is not retried.
async fn redirect_refused<S: HttpSourceUnderTest>() {
    let target = MockServer::start().await;
    Mock::given(path("/elsewhere"))
        .respond_with(S::token_reply(TOKEN))
        .mount(&target)
        .await;
    let redirect =
        ResponseTemplate::new(302).insert_header("Location", format!("{}/elsewhere", target.uri()));
    let setup = Setup::new::<S>(redirect, None, None).await;
    setup
        .failure::<S>("redirect refused", false, "redirect status 302")
        .await;
    assert_eq!(setup.requests().await, 1, "redirect refused");
    assert_eq!(
        request_count(&target).await,
        0,
        "redirect refused: the target was asked"
    );
    assert!(setup.delays().is_empty(), "redirect refused");
}

/// Every attempt has its own timeout: a server slower than it times out each one, and each is
/// retried (a timeout is transient).
async fn timeout_per_attempt<S: HttpSourceUnderTest>() {
    let slow = S::token_reply(TOKEN).set_delay(Duration::from_secs(5));
    let two_retries = RetryPolicy {
        max_retries: 2,
        ..RetryPolicy::NONE
    };
    let setup = Setup::new::<S>(slow, Some(Duration::from_millis(200)), Some(two_retries)).await;
    setup
        .failure::<S>("timeout per attempt", true, "timed out")
        .await;
    assert_eq!(setup.requests().await, 3, "timeout per attempt");
}

/// A reply past [`MAX_BODY_BYTES`] is refused, and not retried.
async fn bounded_body<S: HttpSourceUnderTest>() {
    let huge = ResponseTemplate::new(200).set_body_bytes(vec![b'e'; MAX_BODY_BYTES + 1]);
    let setup = Setup::new::<S>(huge, None, None).await;
    setup
        .failure::<S>(
            "bounded body",
            false,
            &format!("larger than {MAX_BODY_BYTES} bytes"),
        )
        .await;
    assert_eq!(setup.requests().await, 1, "bounded body");
    assert!(setup.delays().is_empty(), "bounded body");
}

/// An error reply's body, which may echo a token, reaches no message or Debug output.
async fn no_body_in_an_error<S: HttpSourceUnderTest>() {
    for status in [401, 403, S::RETRIED_STATUS] {
        let reply = ResponseTemplate::new(status).set_body_string(ERROR_BODY);
        let setup = Setup::new::<S>(reply, None, Some(RetryPolicy::NONE)).await;
        let error = setup.error::<S>("no body in an error").await;
        for text in renderings(&error) {
            assert!(
                !text.contains("denied"),
                "no body in an error ({status}): {text}"
            );
        }
    }
}

/// A status the source retries is retried on its policy: `max_retries` times, each delay the
/// doubled base plus at most the jitter, capped by the policy's maximum.
async fn retry_schedule<S: HttpSourceUnderTest>() {
    let policy = S::RETRY_POLICY;
    let setup = Setup::new::<S>(ResponseTemplate::new(S::RETRIED_STATUS), None, None).await;
    let error = setup.error::<S>("retry schedule").await;
    assert!(error.is_transient(), "retry schedule: {error}");
    let retries = usize::try_from(policy.max_retries).unwrap_or(usize::MAX);
    assert_eq!(setup.requests().await, retries + 1, "retry schedule");
    let delays = setup.delays();
    assert_eq!(delays.len(), retries, "retry schedule: {delays:?}");
    let mut base = policy.base_delay.as_secs_f64();
    let cap = policy.max_delay.as_secs_f64();
    for delay in &delays {
        let seconds = delay.as_secs_f64();
        let low = base.min(cap);
        let high = (base * (1.0 + policy.jitter)).min(cap);
        assert!(
            seconds >= low && seconds <= high,
            "retry schedule: {delays:?} (policy {policy:?})"
        );
        base *= 2.0;
    }
}

/// A status the source does not retry fails after one request and no sleep, naming the status.
async fn statuses_not_retried<S: HttpSourceUnderTest>() {
    for &status in S::NOT_RETRIED {
        let check = format!("status {status} not retried");
        let setup = Setup::new::<S>(ResponseTemplate::new(status), None, None).await;
        let error = setup.error::<S>(&check).await;
        let cause: &S::Error = cause_of(&error, S::Error::PROVIDER);
        assert_eq!(cause.status(), Some(status), "{check}: {error}");
        assert_eq!(
            error.is_transient(),
            is_transient_status(status),
            "{check}: {error}"
        );
        assert_eq!(setup.requests().await, 1, "{check}");
        assert!(setup.delays().is_empty(), "{check}");
    }
}

/// A server's `Retry-After` replaces the computed delay, and success ends the loop.
async fn retry_after_honoured<S: HttpSourceUnderTest>() {
    let reply = ResponseTemplate::new(S::RETRIED_STATUS).insert_header("Retry-After", "3");
    let setup = Setup::new::<S>(S::token_reply(TOKEN), None, None).await;
    setup
        .token_after::<S>(reply, 1, "retry-after honoured")
        .await;
    assert_eq!(
        setup.delays(),
        [Duration::from_secs(3)],
        "retry-after honoured"
    );
    assert_eq!(setup.requests().await, 2, "retry-after honoured");
}

/// Two retried failures, then a token: three requests, two delays.
async fn recovers_after_failures<S: HttpSourceUnderTest>() {
    let setup = Setup::new::<S>(S::token_reply(TOKEN), None, None).await;
    let failure = ResponseTemplate::new(S::RETRIED_STATUS);
    setup
        .token_after::<S>(failure, 2, "recovers after failures")
        .await;
    assert_eq!(setup.requests().await, 3, "recovers after failures");
    assert_eq!(setup.delays().len(), 2, "recovers after failures");
}

/// A refused connection is transient, retried on the policy, then reported as a connect failure.
async fn refused_connection_retried<S: HttpSourceUnderTest>() {
    // Bind a port and free it again, so nothing listens there.
    let address = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(address) => address.to_string(),
        Err(error) => panic!("refused connection retried: cannot bind a port: {error}"),
    };
    let (source, delays) = knobbed::<S>(&address, None, None);
    let error = match source.fetch().await {
        Ok(_) => panic!("refused connection retried: nothing listens at {address}"),
        Err(error) => error,
    };
    assert_failure(
        "refused connection retried",
        &error,
        true,
        "could not connect",
    );
    let retries = usize::try_from(S::RETRY_POLICY.max_retries).unwrap_or(usize::MAX);
    assert_eq!(
        recorded(&delays).len(),
        retries,
        "refused connection retried"
    );
}
