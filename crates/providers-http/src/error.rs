//! [`HttpError`]: the one shape of a failed credential request, shared by the HTTP sources and the
//! exchange, so that each of their error types keeps only the variants of its own protocol.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use crate::{BodyError, TransportFailure, retry_after};

/// A credential request failed in a way any HTTP protocol can: the client, the transport, a
/// redirect, an unexpected status, or a success reply that does not hold what the protocol needs.
///
/// Every variant names the endpoint as people read it (`IMDS`, `the metadata server at
/// 10.0.0.1:80`, `the token exchange endpoint`). Messages are lower case and carry the status at
/// most, never a reply body (a body may hold a token). Transport errors are kept as sources with
/// their URL removed (a URL may carry an audience or name a job). The type is `Clone` (its causes
/// are shared), so one failure can be handed to every caller that waited for it.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The HTTP client could not be built. Sources report it from every fetch, so that building
    /// a source never fails.
    #[error("could not build the http client for {endpoint}")]
    Client {
        /// The endpoint the client was for.
        endpoint: Cow<'static, str>,
        /// Why the client could not be built.
        #[source]
        source: Arc<reqwest::Error>,
    },

    /// No reply arrived within the timeout of an attempt.
    #[error("request to {endpoint} timed out")]
    Timeout {
        /// Where the request went.
        endpoint: Cow<'static, str>,
        /// The transport error, without the URL.
        #[source]
        source: Arc<reqwest::Error>,
    },

    /// The endpoint could not be reached (connection refused, name not resolved).
    #[error("could not connect to {endpoint}")]
    Connect {
        /// Where the request went.
        endpoint: Cow<'static, str>,
        /// The transport error, without the URL.
        #[source]
        source: Arc<reqwest::Error>,
    },

    /// The request or the reading of its reply failed in another way (a dropped connection).
    #[error("request to {endpoint} failed")]
    Transport {
        /// Where the request went.
        endpoint: Cow<'static, str>,
        /// The transport error, without the URL.
        #[source]
        source: Arc<reqwest::Error>,
    },

    /// The endpoint answered with a redirect, which a credential request never follows.
    #[error("{endpoint} answered with redirect status {status}; redirects are not followed")]
    Redirect {
        /// Where the request went.
        endpoint: Cow<'static, str>,
        /// The 3xx status.
        status: u16,
    },

    /// The endpoint answered a status the protocol has no meaning of its own for.
    #[error("{endpoint} answered status {status}")]
    Status {
        /// Where the request went.
        endpoint: Cow<'static, str>,
        /// The HTTP status.
        status: u16,
        /// The server's `Retry-After` in seconds, when it sent one; used by the retry loop only.
        retry_after: Option<Duration>,
    },

    /// The endpoint answered success with a body that is not what the protocol expects.
    #[error("the reply of {endpoint} is malformed: expected {expected}")]
    Malformed {
        /// Where the request went.
        endpoint: Cow<'static, str>,
        /// The success status.
        status: u16,
        /// What the body should have held, such as `a non-empty string access_token`.
        expected: &'static str,
    },

    /// The reply body is larger than the endpoint may send (see [`crate::read_body`]); it was
    /// not read past the limit.
    #[error("the reply of {endpoint} is larger than {limit} bytes")]
    TooLarge {
        /// Where the request went.
        endpoint: Cow<'static, str>,
        /// The status of the reply.
        status: u16,
        /// The limit, in bytes.
        limit: usize,
    },
}

impl HttpError {
    /// Sorts a transport error into [`HttpError::Timeout`], [`HttpError::Connect`] or
    /// [`HttpError::Transport`] (see [`TransportFailure::of`]), dropping the URL it carries.
    pub fn transport(endpoint: impl Into<Cow<'static, str>>, error: reqwest::Error) -> HttpError {
        let endpoint = endpoint.into();
        let source = Arc::new(error.without_url());
        match TransportFailure::of(&source) {
            TransportFailure::Timeout => HttpError::Timeout { endpoint, source },
            TransportFailure::Connect => HttpError::Connect { endpoint, source },
            TransportFailure::Other => HttpError::Transport { endpoint, source },
        }
    }

    /// The failure of reading a reply body of `status` with [`crate::read_body`]: past the limit
    /// it is [`HttpError::TooLarge`], a broken connection is sorted as by [`HttpError::transport`].
    pub fn body(
        endpoint: impl Into<Cow<'static, str>>,
        status: u16,
        error: BodyError,
    ) -> HttpError {
        let endpoint = endpoint.into();
        match error {
            BodyError::TooLarge { limit } => HttpError::TooLarge {
                endpoint,
                status,
                limit,
            },
            BodyError::Read(source) => HttpError::transport(endpoint, source),
        }
    }

    /// The failure a reply that is not a success stands for: [`HttpError::Redirect`] for 3xx,
    /// else [`HttpError::Status`] with the reply's `Retry-After`.
    pub fn status_of(
        endpoint: impl Into<Cow<'static, str>>,
        response: &reqwest::Response,
    ) -> HttpError {
        let endpoint = endpoint.into();
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            HttpError::Redirect { endpoint, status }
        } else {
            HttpError::Status {
                endpoint,
                status,
                retry_after: retry_after(response.headers()),
            }
        }
    }

    /// The endpoint, as messages name it.
    pub fn endpoint(&self) -> &str {
        match self {
            HttpError::Client { endpoint, .. }
            | HttpError::Timeout { endpoint, .. }
            | HttpError::Connect { endpoint, .. }
            | HttpError::Transport { endpoint, .. }
            | HttpError::Redirect { endpoint, .. }
            | HttpError::Status { endpoint, .. }
            | HttpError::Malformed { endpoint, .. }
            | HttpError::TooLarge { endpoint, .. } => endpoint,
        }
    }

    /// The HTTP status the endpoint answered, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Redirect { status, .. }
            | HttpError::Status { status, .. }
            | HttpError::Malformed { status, .. }
            | HttpError::TooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's `Retry-After`, when a status carried one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            HttpError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the request never got a status: a timeout, a connection or another transport
    /// failure (not a client that could not be built).
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            HttpError::Timeout { .. } | HttpError::Connect { .. } | HttpError::Transport { .. }
        )
    }

    /// Whether trying again later may succeed: transport failures (unless the request could not
    /// even be built), 408, 429 and 5xx. A protocol that gives other statuses a transient meaning
    /// (IMDS's 404 and 410) says so in its own error type.
    pub fn is_transient(&self) -> bool {
        match self {
            HttpError::Timeout { .. } | HttpError::Connect { .. } => true,
            HttpError::Transport { source, .. } => !source.is_builder(),
            HttpError::Status { status, .. } => is_transient_status(*status),
            HttpError::Client { .. }
            | HttpError::Redirect { .. }
            | HttpError::Malformed { .. }
            | HttpError::TooLarge { .. } => false,
        }
    }
}

/// 408, 429 and 5xx: the statuses every protocol here may try again later.
pub fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}
