//! The retry of API requests: the official SDK's policy (openai 3.63.0), for every request,
//! streaming or not, in place of async-openai's `OpenAIRetryLayer`.
//!
//! What is retried while retries remain ([`SdkRetryPolicy::api`], `max_retries`, default 2):
//! a reply with `x-should-retry: true`; otherwise 408, 409, 429 and every 5xx; and a transport
//! failure (a timeout of the connect or of a read, a refused or dropped connection). Never a
//! reply with `x-should-retry: false`, nor one whose server asks to wait longer than
//! [`providers_core::MAX_SERVER_DELAY`] (the error is returned at once). The wait is the server's
//! (`retry-after-ms`, then `Retry-After`, read by [`providers_http::retry_after`]), else the SDK's
//! backoff. Every request async-openai sends is rebuilt from its [`HttpRequestFactory`] for each
//! attempt, so its body can always be sent again; a rebuild that fails is returned, not retried.
//!
//! The success path costs one status check: a 2xx reply is returned as it came.

use std::time::Duration;

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use providers_core::SdkRetryPolicy;
use reqwest::header::HeaderMap;
use tower::retry::{Policy, RetryLayer};

use crate::errors::ApiTransportError;

/// Retries API requests on the SDK's schedule; see the module docs.
///
/// tower's `Retry` service does the rest: it calls the service that was polled ready, keeps a
/// copy of the request for the next attempt, drops a reply before the wait, and waits for the
/// service to be ready again before each retry.
pub(crate) fn sdk_retry_layer(max_retries: u32) -> RetryLayer<SdkRetry> {
    RetryLayer::new(SdkRetry {
        policy: SdkRetryPolicy::api(max_retries),
        retries_done: 0,
    })
}

/// The retry policy of one request: tower's `Retry` clones it for every request, so
/// `retries_done` counts that request's retries.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SdkRetry {
    policy: SdkRetryPolicy,
    retries_done: u32,
}

impl Policy<HttpRequestFactory, reqwest::Response, OpenAIError> for SdkRetry {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        _request: &mut HttpRequestFactory,
        result: &mut Result<reqwest::Response, OpenAIError>,
    ) -> Option<Self::Future> {
        let delay = retry_delay(&self.policy, result, self.retries_done)?;
        tracing::debug!(
            target: "openai_conn_client::retry",
            retries_done = self.retries_done,
            status = result.as_ref().ok().map(|response| response.status().as_u16()),
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "retrying api request"
        );
        self.retries_done += 1;
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(&mut self, request: &HttpRequestFactory) -> Option<HttpRequestFactory> {
        // Every attempt rebuilds the request from its factory, so it can always be sent again.
        Some(request.clone())
    }
}

/// The wait before the next attempt after `result`, or `None` to return it.
fn retry_delay(
    policy: &SdkRetryPolicy,
    result: &Result<reqwest::Response, OpenAIError>,
    retries_done: u32,
) -> Option<Duration> {
    match result {
        Ok(response) if response.status().is_success() => None,
        Ok(response) => {
            let (retried, server_delay) = reply_is_retried(response.status(), response.headers());
            if !retried {
                return None;
            }
            policy.delay(retries_done, server_delay)
        }
        Err(error) => is_retried_failure(error)
            .then(|| policy.delay(retries_done, None))
            .flatten(),
    }
}

/// Whether the SDK retries a reply of `status` with `headers`, and the delay its server asked
/// for. A server delay over the limit is left to [`SdkRetryPolicy::delay`], which refuses it
/// whatever `x-should-retry` says, as the SDK does.
pub(crate) fn reply_is_retried(
    status: reqwest::StatusCode,
    headers: &HeaderMap,
) -> (bool, Option<Duration>) {
    let retried =
        providers_http::should_retry(headers).unwrap_or_else(|| is_retried_status(status.as_u16()));
    (retried, providers_http::retry_after(headers))
}

/// 408, 409, 429 and every 5xx: the statuses the SDK retries when the server says nothing.
pub(crate) fn is_retried_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429 | 500..=599)
}

/// Whether a failure without a reply is retried: a transport failure (see
/// [`crate::transport::transport_error`]) or an error reply whose body could not be read (its
/// status is retried). Not a request that could not be built, a redirect, a refused client
/// certificate, or a failed token exchange (the cache has its own retries).
fn is_retried_failure(error: &OpenAIError) -> bool {
    match error {
        OpenAIError::Reqwest(error) => !error.is_builder(),
        OpenAIError::Boxed(boxed) => {
            boxed
                .downcast_ref::<ApiTransportError>()
                .is_some_and(|error| match error {
                    ApiTransportError::Body { status, .. } => is_retried_status(*status),
                    _ => false,
                })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_server_word_wins_over_the_status() {
        let mut headers = HeaderMap::new();
        for status in [408, 409, 429, 500, 503, 599] {
            assert!(reply_is_retried(StatusCode::from_u16(status).expect("valid"), &headers).0);
        }
        for status in [400, 401, 403, 404, 422] {
            assert!(!reply_is_retried(StatusCode::from_u16(status).expect("valid"), &headers).0);
        }
        headers.insert("x-should-retry", HeaderValue::from_static("true"));
        assert!(reply_is_retried(StatusCode::BAD_REQUEST, &headers).0);
        headers.insert("x-should-retry", HeaderValue::from_static("false"));
        assert!(!reply_is_retried(StatusCode::SERVICE_UNAVAILABLE, &headers).0);
    }
}
