//! The GCP source's error: the metadata server's own failures, and the shared [`HttpError`] for
//! the rest; none echoes a token or a reply body.

use std::time::Duration;

use providers_core::SourceError;
use providers_http::{HttpError, Retryable};

use crate::METADATA_HOST_ENV;

/// The name this source reports in a [`SourceError`].
const PROVIDER: &str = "gcp";

/// Fetching an identity token from the GCP metadata server failed.
///
/// Messages carry the HTTP status at most, never a reply body (a 200 body is the token itself,
/// and an error body may echo it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GcpError {
    /// `GCE_METADATA_HOST` is set but is not a plain `host` or `host:port`.
    #[error(
        "{METADATA_HOST_ENV} {value:?} is not a valid metadata server address: expected host or host:port without a scheme or path"
    )]
    InvalidMetadataHost {
        /// The rejected value (a host name is not a secret).
        value: String,
    },

    /// The request failed as any credential request can (the client, the transport, a redirect,
    /// a status, a reply that is not a token); the message adds what the metadata server's
    /// statuses usually mean.
    #[error("{0}{hint}", hint = hint(.0))]
    Http(#[from] HttpError),
}

/// A short explanation for the failures whose cause is usually known.
fn hint(error: &HttpError) -> &'static str {
    match error {
        HttpError::Connect { .. } => {
            "; expected to run on google cloud, or GCE_METADATA_HOST to name a reachable metadata \
             server"
        }
        HttpError::Status { status: 403, .. } => {
            " (forbidden: the metadata server refused the request)"
        }
        HttpError::Status { status: 404, .. } => {
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
            GcpError::Http(error) => error.is_transient(),
            GcpError::InvalidMetadataHost { .. } => false,
        }
    }

    /// The HTTP status the metadata server answered, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            GcpError::Http(error) => error.status(),
            GcpError::InvalidMetadataHost { .. } => None,
        }
    }

    /// The step that failed, as [`SourceError::step`] reports it.
    pub fn step(&self) -> &'static str {
        match self {
            GcpError::InvalidMetadataHost { .. } => "reading GCE_METADATA_HOST",
            GcpError::Http(HttpError::Client { .. }) => "building the http client",
            GcpError::Http(HttpError::Malformed { .. }) => "reading the metadata server reply",
            GcpError::Http(_) => "requesting an identity token from the metadata server",
        }
    }
}

impl Retryable for GcpError {
    /// Whether the fetch retries this failure itself. Narrower than [`GcpError::is_transient`]:
    /// it follows google-auth's metadata client, which retries 408, 429, 500, 503 and 504 but not
    /// other 5xx such as 502 (a caller may still retry those later).
    fn is_retried(&self) -> bool {
        match self {
            GcpError::Http(HttpError::Status { status, .. }) => {
                matches!(status, 408 | 429 | 500 | 503 | 504)
            }
            _ => self.is_transient(),
        }
    }

    /// The server's `Retry-After`, when the failure carries one.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            GcpError::Http(error) => error.retry_after(),
            GcpError::InvalidMetadataHost { .. } => None,
        }
    }
}

impl From<GcpError> for SourceError {
    fn from(error: GcpError) -> Self {
        SourceError::new(PROVIDER, error.step(), error.is_transient(), error)
    }
}
