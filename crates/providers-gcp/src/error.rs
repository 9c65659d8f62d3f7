//! The GCP source's error: the metadata server's own failures, and the shared [`HttpError`] for
//! the rest; none echoes a token or a reply body.

use providers_http::{HttpError, SourceHttpError};

use crate::METADATA_HOST_ENV;

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

impl SourceHttpError for GcpError {
    const PROVIDER: &'static str = "gcp";

    fn http(&self) -> Option<&HttpError> {
        let GcpError::Http(error) = self else {
            return None;
        };
        Some(error)
    }

    fn step(&self) -> &'static str {
        match self {
            GcpError::InvalidMetadataHost { .. } => "reading GCE_METADATA_HOST",
            GcpError::Http(HttpError::Client { .. }) => "building the http client",
            GcpError::Http(HttpError::Malformed { .. }) => "reading the metadata server reply",
            GcpError::Http(_) => "requesting an identity token from the metadata server",
        }
    }

    /// google-auth's metadata client retries 408, 429, 500, 503 and 504, not other 5xx such as
    /// 502 (a caller may still retry those later: they are transient).
    fn retries_status(&self, status: u16) -> bool {
        matches!(status, 408 | 429 | 500 | 503 | 504)
    }
}

providers_http::source_http_error!(GcpError);
