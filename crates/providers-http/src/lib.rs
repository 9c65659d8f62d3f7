//! What the HTTP subject-token sources (`providers-azure`, `providers-gcp`, `providers-github`)
//! and the token exchange of `openai-client` share, so that each of them states only its own
//! protocol:
//!
//! - [`client_builder`] and [`build_client`]: a `reqwest` client (rustls) that never follows a
//!   redirect, because a credential request must not be replayed to wherever a `Location` points,
//!   and that bypasses proxies for endpoints local to the host ([`Proxy::Never`]);
//! - [`TokioSleep`]: tokio's timer as the injected [`Sleep`], so tests on paused time never wait;
//! - [`retry_after`]: a server's `Retry-After` in seconds;
//! - [`TransportFailure`]: whether a transport error was a timeout, a refused connection or
//!   something else;
//! - [`is_loopback`]: the one place plain `http` is allowed for a request that carries a secret;
//! - [`read_body`]: a reply body read up to a limit ([`MAX_BODY_BYTES`] for every token and error
//!   reply), never more, with [`BodyError::TooLarge`] past it;
//! - [`retry_with_policy`]: the retry loop of `providers-core` driven by a [`RetryPolicy`] and a
//!   [`Retryable`] error, with one debug event per retry (the error's message, never a body).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use providers_core::{BoxFuture, Decision, RetryPolicy, Sleep, retry, retry_after_seconds};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use url::Url;

/// Whether requests may go through a proxy named by the environment (`HTTPS_PROXY` and friends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proxy {
    /// Never: the endpoint is local to the host (IMDS, the GCP metadata server, the App Service
    /// identity endpoint) and a proxy must not see its tokens.
    Never,
    /// As the environment says: the endpoint is remote (the GitHub token service, the exchange).
    FromEnvironment,
}

/// A client builder that never follows redirects, with the proxy rule applied. Callers add what
/// is theirs (a client-wide timeout, say) and build.
pub fn client_builder(proxy: Proxy) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
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

/// Sleeps with tokio's timer (paused-time aware); the default [`Sleep`] of every HTTP source and
/// of the exchange.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// The `Retry-After` of a reply, when it is a number of seconds (an HTTP date is ignored).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(retry_after_seconds)
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

/// Whether `url` points at this host (`localhost`, `127.0.0.0/8` or `::1`): the only place plain
/// `http` is accepted for a request that carries a secret (a local test server or proxy).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A failure that [`retry_with_policy`] can sort.
pub trait Retryable: Display {
    /// Whether this request retries the failure itself.
    fn is_retried(&self) -> bool;

    /// The server's `Retry-After`, when the failure carries one.
    fn retry_after(&self) -> Option<Duration>;
}

/// Runs `attempt` (given the retries done so far) until it succeeds, fails with an error that is
/// not retried, or `policy` has no retry left. Between attempts it waits the policy's delay, or
/// the server's `Retry-After` capped by the policy, on `sleep`. Each retry is one debug event with
/// target `providers_http::retry`, naming `request` and the error's message.
pub async fn retry_with_policy<T, E, F, Fut>(
    sleep: &dyn Sleep,
    policy: &RetryPolicy,
    request: &'static str,
    attempt: F,
) -> Result<T, E>
where
    E: Retryable,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    retry(sleep, attempt, |error: &E, retries_done| {
        if !error.is_retried() {
            return Decision::Stop;
        }
        match policy.delay(retries_done, error.retry_after()) {
            Some(delay) => {
                tracing::debug!(
                    target: "providers_http::retry",
                    request,
                    error = %error,
                    retries_done,
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
