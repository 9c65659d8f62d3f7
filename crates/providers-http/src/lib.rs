//! What the HTTP subject-token sources (`providers-azure`, `providers-gcp`, `providers-github`)
//! and the token exchange of `openai-conn-client` share, so that each of them states only its own
//! protocol:
//!
//! - [`tls_client_builder`]: every `reqwest` client starts here (rustls on `ring`);
//! - [`client_builder`] and [`build_client`]: a `reqwest` client (rustls) that never follows a
//!   redirect, because a credential request must not be replayed to wherever a `Location` points,
//!   and that bypasses proxies for endpoints local to the host ([`Proxy::Never`]);
//! - [`TokioSleep`]: tokio's timer as the injected [`Sleep`], so tests on paused time never wait;
//! - [`retry_after`] and [`should_retry`]: a server's delay (`retry-after-ms`, `Retry-After` in
//!   seconds or as a date) and its `x-should-retry`, read as the official SDK reads them;
//! - [`TransportFailure`]: whether a transport error was a timeout, a refused connection or
//!   something else;
//! - [`HttpError`]: the one failure type of a credential request (client, timeout, connect,
//!   transport, redirect, status, malformed reply), naming the endpoint; each protocol's error
//!   wraps it and keeps only its own variants;
//! - [`is_loopback`]: the one place plain `http` is allowed for a request that carries a secret;
//! - [`read_body`]: a reply body read up to a limit ([`MAX_BODY_BYTES`] for every token and error
//!   reply), never more, with [`BodyError::TooLarge`] past it: the one bounded reader of every
//!   HTTP body of the workspace;
//! - [`HttpSettings`]: the skeleton of every HTTP source (client, timeout, retry policies,
//!   sleep), built once; [`SourceHttpError`] and [`source_http_error!`]: the shared methods of
//!   each source's error, written once;
//! - [`retry_with_policies`]: the retry loop of `providers-core` driven by one [`RetryPolicy`]
//!   per budget (one for most callers) and a [`Retryable`] error, with one debug event per
//!   retry (the error's message, never a body).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "test-util")]
pub mod conformance;
mod error;
mod settings;

pub use error::{HttpError, is_transient_status};
pub use settings::{HttpSettings, HttpSource, SourceHttpError, is_retried, retry_after_of};

use std::borrow::Cow;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use providers_core::{BoxFuture, Decision, RetryPolicy, Sleep, retry};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use url::Url;

/// Whether requests may go through a proxy named by the environment (`HTTPS_PROXY` and friends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proxy {
    /// Never: the endpoint is local to the host (IMDS, the GCP metadata server, the App Service
    /// identity endpoint) and a proxy must not see its tokens.
    Never,
    /// As the environment says: the endpoint is remote (the GitHub token service, the exchange).
    /// A request to this machine goes direct all the same ([`tls_client_builder`]).
    FromEnvironment,
}

/// A `reqwest` client builder whose TLS runs on rustls with the `ring` provider.
///
/// reqwest is built without a provider of its own (its default, aws-lc-rs, compiles C for most
/// of a cold build), so it takes the process-wide rustls provider: this installs `ring` as that
/// provider unless the program installed one first, which is then used as it is. Every client of
/// the workspace is built from here; building one with `reqwest::Client::builder()` directly
/// would panic for want of a provider.
///
/// Its proxies are the environment's (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, as
/// reqwest and curl read them), except that a request to this machine ([`is_loopback`]) never
/// goes through a proxy: a plain-http request to loopback is allowed only because it stays on
/// the host, and a proxy would see its token in clear text.
pub fn tls_client_builder() -> reqwest::ClientBuilder {
    install_ring_provider();
    let matcher = hyper_util::client::proxy::matcher::Matcher::from_env();
    reqwest::Client::builder().proxy(reqwest::Proxy::custom(move |url: &Url| {
        environment_proxy_for(&matcher, url)
    }))
}

/// [`tls_client_builder`] for a client that sends every request to `origin` (an API client: it
/// follows no redirect). The proxy rule is the same, decided once for that origin instead of at
/// each request, which spares every request an environment lookup and two URL parses.
pub fn tls_client_builder_for_origin(origin: &Url) -> reqwest::ClientBuilder {
    install_ring_provider();
    let matcher = hyper_util::client::proxy::matcher::Matcher::from_env();
    match environment_proxy_for(&matcher, origin).map(reqwest::Proxy::all) {
        None => reqwest::Client::builder().no_proxy(),
        Some(Ok(proxy)) => reqwest::Client::builder().proxy(proxy),
        // A proxy URL reqwest refuses: decided at each request, as for any client.
        Some(Err(_)) => tls_client_builder(),
    }
}

fn install_ring_provider() {
    // An error only says a provider is already installed, which is what we need.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The environment's proxy for a request to `url`: none for this machine.
fn environment_proxy_for(
    matcher: &hyper_util::client::proxy::matcher::Matcher,
    url: &Url,
) -> Option<Url> {
    if is_loopback(url) {
        return None;
    }
    let uri: http::Uri = url.as_str().parse().ok()?;
    let intercept = matcher.intercept(&uri)?;
    let mut proxy = Url::parse(&intercept.uri().to_string()).ok()?;
    // The matcher keeps a proxy's credentials apart from its URI; reqwest reads them from the URL
    // it is given.
    if let Some((user, password)) = intercept.raw_auth() {
        let _ = proxy.set_username(user);
        let _ = proxy.set_password(Some(password));
    }
    Some(proxy)
}

/// A client builder that never follows redirects, with the proxy rule applied. Callers add what
/// is theirs (a client-wide timeout, say) and build.
pub fn client_builder(proxy: Proxy) -> reqwest::ClientBuilder {
    let builder = tls_client_builder()
        // A credential request must not be replayed to wherever a redirect points.
        .redirect(reqwest::redirect::Policy::none());
    match proxy {
        Proxy::Never => builder.no_proxy(),
        Proxy::FromEnvironment => builder,
    }
}

/// [`client_builder`], built. The error is shared (`Arc`) because sources keep it and report it
/// from every fetch rather than fail at construction.
pub fn build_client(proxy: Proxy) -> Result<reqwest::Client, Arc<reqwest::Error>> {
    client_builder(proxy).build().map_err(Arc::new)
}

/// The timeout of each attempt of every HTTP source, including reading the reply: 10 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sleeps with tokio's timer (paused-time aware); the default [`Sleep`] of every HTTP source and
/// of the exchange.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// How long a reply asks to wait before a retry, read as the official OpenAI SDK reads it:
/// `retry-after-ms` (milliseconds, a float allowed) first, then `Retry-After` as seconds (a float
/// allowed), then `Retry-After` as an HTTP date. `None` when no header gives a delay, or the date
/// is past. An overflowing value is [`Duration::MAX`], so that every limit refuses it. Every
/// retry loop of the workspace reads the headers through here.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, SystemTime::now())
}

/// [`retry_after`] with the wall clock given (an HTTP date is relative to it).
pub fn retry_after_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    for (name, unit) in [("retry-after-ms", 0.001), (RETRY_AFTER.as_str(), 1.0)] {
        let Some(seconds) = header(name).and_then(|value| value.trim().parse::<f64>().ok()) else {
            continue;
        };
        let seconds = seconds * unit;
        if seconds.is_nan() || seconds < 0.0 {
            return None;
        }
        return Some(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX));
    }
    let date = http_date(header(RETRY_AFTER.as_str())?.trim())?;
    date.duration_since(now).ok()
}

/// An HTTP date in its standard form, IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110
/// section 5.6.7), as a time; `None` for anything else. Written here rather than taken from a
/// crate so the light crates above this one keep their weight.
fn http_date(text: &str) -> Option<SystemTime> {
    let (_weekday, rest) = text.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = i64::try_from(MONTHS.iter().position(|name| name == month)? + 1).ok()?;
    let number = |text: &str, digits: usize| {
        (text.len() == digits && text.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| text.parse::<i64>().ok())
            .flatten()
    };
    let (day, year) = (number(day, 2)?, number(year, 4)?);
    let clock: Vec<i64> = time
        .split(':')
        .map(|part| number(part, 2))
        .collect::<Option<_>>()?;
    let [hour, minute, second] = clock.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || *hour > 23 || *minute > 59 || *second > 60 {
        return None;
    }
    let days = providers_core::calendar::days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    let seconds = u64::try_from(seconds).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// The reply's `x-should-retry`: `Some(true)` for `true`, `Some(false)` for `false`, else `None`.
/// The server's word on a retry wins over its status, as in the official SDK.
pub fn should_retry(headers: &HeaderMap) -> Option<bool> {
    match headers.get("x-should-retry")?.as_bytes() {
        b"true" => Some(true),
        b"false" => Some(false),
        _ => None,
    }
}

/// How a request failed before any status arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportFailure {
    /// No reply within the timeout.
    Timeout,
    /// The connection could not be made (refused, unreachable, name not resolved).
    Connect,
    /// Anything else: a dropped connection, a reply that could not be read.
    Other,
}

impl TransportFailure {
    /// Sorts `error`; a timeout wins over a connect error (a connect that timed out is a timeout).
    pub fn of(error: &reqwest::Error) -> TransportFailure {
        if error.is_timeout() {
            TransportFailure::Timeout
        } else if error.is_connect() {
            TransportFailure::Connect
        } else {
            TransportFailure::Other
        }
    }
}

/// The most a reply body of a credential endpoint (a token, an OAuth or API error) may hold:
/// 64 KiB. Tokens are a few kilobytes; the bound keeps a hostile or broken server from filling
/// memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A reply body could not be read in full.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is larger than the limit (by its `Content-Length`, or once that much arrived).
    #[error("the reply body is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The connection failed while the body was read. The error holds no URL.
    #[error("the reply body could not be read")]
    Read(#[source] reqwest::Error),
}

/// Reads `response`'s body, at most `limit` bytes: a larger `Content-Length` is refused before
/// reading, and reading stops as soon as more than `limit` bytes arrived.
pub async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| BodyError::Read(error.without_url()))?
    {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads the body of a credential endpoint's reply (`status` is the reply's) through
/// [`read_body`] with [`MAX_BODY_BYTES`], as an [`HttpError`] naming `endpoint` when it fails.
/// Every source reads its token reply through here.
pub async fn read_reply(
    endpoint: impl Into<Cow<'static, str>>,
    response: reqwest::Response,
) -> Result<Vec<u8>, HttpError> {
    let status = response.status().as_u16();
    read_body(response, MAX_BODY_BYTES)
        .await
        .map_err(|error| HttpError::body(endpoint, status, error))
}

/// Whether `url` points at this host (`localhost`, `127.0.0.0/8` or `::1`): the only place plain
/// `http` is accepted for a request that carries a secret (a local test server or proxy).
pub fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(providers_core::is_loopback_host)
}

/// A failure that [`retry_with_policies`] can sort.
pub trait Retryable: Display {
    /// Whether this request retries the failure itself.
    fn is_retried(&self) -> bool;

    /// The server's `Retry-After`, when the failure carries one.
    fn retry_after(&self) -> Option<Duration>;

    /// Which retry budget the failure draws on: an index into the policies given to
    /// [`retry_with_policies`]. Zero unless the protocol keeps separate budgets (IMDS retries its
    /// 410 "upgrading" on a schedule of its own, so it does not use up the other retries).
    fn budget(&self) -> usize {
        0
    }
}

/// Runs `attempt` (given the retries done so far, over all budgets) until it succeeds, fails
/// with an error that is not retried, or the budget of `policies` that [`Retryable::budget`]
/// names for the failure is spent (or does not exist); each budget is counted on its own, and one
/// policy is one budget. Between attempts it waits that policy's delay, or the server's
/// `Retry-After` capped by the policy, on `sleep`. Each retry is one debug event with target
/// `providers_http::retry`, naming `request` and the error's message.
pub async fn retry_with_policies<T, E, F, Fut>(
    sleep: &dyn Sleep,
    policies: &[RetryPolicy],
    request: &'static str,
    attempt: F,
) -> Result<T, E>
where
    E: Retryable,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut spent = vec![0u32; policies.len()];
    retry(sleep, attempt, |error: &E, retries_done| {
        if !error.is_retried() {
            return Decision::Stop;
        }
        let budget = error.budget();
        let (Some(policy), Some(used)) = (policies.get(budget), spent.get_mut(budget)) else {
            return Decision::Stop;
        };
        match policy.delay(*used, error.retry_after()) {
            Some(delay) => {
                *used += 1;
                tracing::debug!(
                    target: "providers_http::retry",
                    request,
                    error = %error,
                    retries_done,
                    budget,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "retrying"
                );
                Decision::RetryAfter(delay)
            }
            None => Decision::Stop,
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn retry_after_prefers_milliseconds_then_seconds_then_a_date() {
        let now = http_date("Sun, 06 Dec 2026 02:00:00 GMT").expect("a date");
        assert_eq!(
            now.duration_since(SystemTime::UNIX_EPOCH)
                .expect("after 1970"),
            Duration::from_secs(1_796_522_400)
        );
        assert_eq!(
            http_date("Sun, 06 Nov 1994 08:49:37 GMT")
                .and_then(|at| at.duration_since(SystemTime::UNIX_EPOCH).ok()),
            Some(Duration::from_secs(784_111_777))
        );
        assert_eq!(http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(http_date("Sun, 06 Nov 1994 08:49:37 CET"), None);
        let at = |pairs| retry_after_at(&headers(pairs), now);
        let ms = Duration::from_millis;
        assert_eq!(
            at(&[("retry-after-ms", "1500"), ("retry-after", "9")]),
            Some(ms(1500))
        );
        assert_eq!(
            at(&[("retry-after-ms", "soon"), ("retry-after", "9")]),
            Some(ms(9000))
        );
        assert_eq!(at(&[("retry-after", "0.25")]), Some(ms(250)));
        assert_eq!(
            at(&[("retry-after", "3600")]),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            at(&[("retry-after", "Sun, 06 Dec 2026 02:00:30 GMT")]),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            at(&[("retry-after", "Sun, 06 Dec 2026 01:59:00 GMT")]),
            None
        );
        assert_eq!(at(&[("retry-after", "-3")]), None);
        assert_eq!(at(&[("retry-after", "1e400")]), Some(Duration::MAX));
        assert_eq!(at(&[("retry-after", "later")]), None);
        assert_eq!(at(&[]), None);
    }

    #[test]
    fn should_retry_reads_only_true_and_false() {
        assert_eq!(
            should_retry(&headers(&[("x-should-retry", "true")])),
            Some(true)
        );
        assert_eq!(
            should_retry(&headers(&[("x-should-retry", "false")])),
            Some(false)
        );
        assert_eq!(should_retry(&headers(&[("x-should-retry", "yes")])), None);
        assert_eq!(should_retry(&headers(&[])), None);
    }
}
