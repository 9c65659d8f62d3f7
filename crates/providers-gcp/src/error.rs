//! The GCP source's error: one variant per way a fetch can fail, none echoing a token or a reply
//! body.

use std::sync::Arc;
use std::time::Duration;

use providers_core::SourceError;
use providers_http::Retryable;

use crate::METADATA_HOST_ENV;

/// The name this source reports in a [`SourceError`].
const PROVIDER: &str = "gcp";

/// Fetching an identity token from the GCP metadata server failed.
///
/// Messages carry the HTTP status at most, never a reply body (a 200 body is the token itself,
/// and an error body may echo it). Transport errors are kept as sources with their URL removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GcpError {
    /// The HTTP client could not be built. Construction cannot fail by contract, so the error is
    /// kept and reported by every fetch.
    #[error("could not build the http client for the metadata server")]
    Client {
        /// Why the client could not be built.
        #[source]
        source: Arc<reqwest::Error>,
    },

    /// `GCE_METADATA_HOST` is set but is not a plain `host` or `host:port`.
    #[error(
        "{METADATA_HOST_ENV} {value:?} is not a valid metadata server address: expected host or host:port without a scheme or path"
    )]
    InvalidMetadataHost {
        /// The rejected value (a host name is not a secret).
        value: String,
    },

    /// No reply arrived within the timeout of an attempt.
    #[error("request to the metadata server at {host} timed out")]
    Timeout {
        /// The metadata server's `host[:port]`.
        host: String,
        /// The transport error, without the URL.
        #[source]
        source: reqwest::Error,
    },

    /// The metadata server could not be reached (connection refused, name not resolved).
    #[error(
        "could not connect to the metadata server at {host}; expected to run on google cloud, or \
         {METADATA_HOST_ENV} to name a reachable metadata server"
    )]
    Connect {
        /// The metadata server's `host[:port]`.
        host: String,
        /// The transport error, without the URL.
        #[source]
        source: reqwest::Error,
    },

    /// The request or the reading of its reply failed in another way (a dropped connection).
    #[error("request to the metadata server at {host} failed")]
    Transport {
        /// The metadata server's `host[:port]`.
        host: String,
        /// The transport error, without the URL.
        #[source]
        source: reqwest::Error,
    },

    /// The metadata server answered with a redirect, which a credential request never follows.
    #[error("metadata server answered with redirect status {status}; redirects are not followed")]
    Redirect {
        /// The 3xx status.
        status: u16,
    },

    /// The metadata server answered another non-success status.
    #[error("metadata server answered status {status}{}", status_hint(*.status))]
    Status {
        /// The HTTP status.
        status: u16,
        /// The server's `Retry-After` in seconds, when it sent one; used by the retry loop only.
        retry_after: Option<Duration>,
    },

    /// The success reply is not UTF-8, so it cannot be a JWT.
    #[error("metadata server reply is not valid utf-8; expected an identity token")]
    NotUtf8,

    /// The success reply is empty or only whitespace.
    #[error("metadata server returned an empty identity token")]
    EmptyToken,
}

/// A short explanation for the statuses whose cause is usually known.
fn status_hint(status: u16) -> &'static str {
    match status {
        403 => " (forbidden: the metadata server refused the request)",
        404 => {
            " (not found: the instance may have no default service account, or this is not a \
             google cloud metadata server)"
        }
        _ => "",
    }
}

impl GcpError {
    /// Whether trying again later may succeed: timeouts, connection and transport failures, 408,
    /// 429 and 5xx. A bad `GCE_METADATA_HOST`, 4xx statuses, redirects and malformed replies stay
    /// as they are until something outside this process changes.
    pub fn is_transient(&self) -> bool {
        match self {
            GcpError::Timeout { .. } | GcpError::Connect { .. } => true,
            GcpError::Transport { source, .. } => !source.is_builder(),
            GcpError::Status { status, .. } => matches!(status, 408 | 429 | 500..=599),
            _ => false,
        }
    }

    /// The HTTP status the metadata server answered, when it answered with a failure.
    pub fn status(&self) -> Option<u16> {
        match self {
            GcpError::Redirect { status } | GcpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The step that failed, as [`SourceError::step`] reports it.
    pub fn step(&self) -> &'static str {
        match self {
            GcpError::Client { .. } => "building the http client",
            GcpError::InvalidMetadataHost { .. } => "reading GCE_METADATA_HOST",
            GcpError::Timeout { .. }
            | GcpError::Connect { .. }
            | GcpError::Transport { .. }
            | GcpError::Redirect { .. }
            | GcpError::Status { .. } => "requesting an identity token from the metadata server",
            GcpError::NotUtf8 | GcpError::EmptyToken => "reading the metadata server reply",
        }
    }
}

impl Retryable for GcpError {
    /// Whether the fetch retries this failure itself. Narrower than [`GcpError::is_transient`]:
    /// it follows google-auth's metadata client, which retries 408, 429, 500, 503 and 504 but not
    /// other 5xx such as 502 (a caller may still retry those later).
    fn is_retried(&self) -> bool {
        match self {
            GcpError::Status { status, .. } => matches!(status, 408 | 429 | 500 | 503 | 504),
            _ => self.is_transient(),
        }
    }

    /// The server's `Retry-After`, when the failure carries one.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            GcpError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl From<GcpError> for SourceError {
    fn from(error: GcpError) -> Self {
        SourceError::new(PROVIDER, error.step(), error.is_transient(), error)
    }
}
