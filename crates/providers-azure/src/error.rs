//! The Azure source's error: the variants of managed identity itself and the shared [`HttpError`]
//! for the rest, none echoing a token or a reply body.

use std::fmt;
use std::time::Duration;

use providers_core::SourceError;
use providers_http::{HttpError, Retryable, SourceHttpError};

/// Which managed-identity endpoint a request went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// The instance metadata service of VMs, scale sets and AKS nodes.
    Imds,
    /// The local identity endpoint of App Service, Functions and Container Apps
    /// (`IDENTITY_ENDPOINT` with `IDENTITY_HEADER`).
    AppService,
}

impl Endpoint {
    /// The endpoint as messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Imds => "IMDS",
            Endpoint::AppService => "the App Service identity endpoint",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())
    }
}

/// Fetching a managed-identity token failed.
///
/// Messages carry the HTTP status and at most the short `error` code of an error reply, never a
/// reply body or a header value, since either may hold a token or the `IDENTITY_HEADER` secret.
/// The failures of managed identity itself have their own variants; the rest is the shared
/// [`HttpError`] of `providers-http`, with the endpoint it concerns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AzureError {
    /// An endpoint URL (from the environment or the authority override) does not parse.
    #[error("{origin} is not a valid URL")]
    InvalidEndpoint {
        /// Where the URL came from, such as `AZURE_POD_IDENTITY_AUTHORITY_HOST`.
        origin: &'static str,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },

    /// An endpoint URL parses but is not `http` or `https`.
    #[error("{origin} must be an http or https URL")]
    UnsupportedScheme {
        /// Where the URL came from, such as `IDENTITY_ENDPOINT`.
        origin: &'static str,
    },

    /// `IDENTITY_ENDPOINT` is plain `http` to a host other than this machine: the request carries
    /// the `IDENTITY_HEADER` secret, and App Service's endpoint is local to the host.
    #[error(
        "{origin} is plain http to a host other than this machine; it would carry IDENTITY_HEADER \
         in clear text (use https, or the loopback endpoint the platform sets)"
    )]
    CleartextEndpoint {
        /// Where the URL came from: `IDENTITY_ENDPOINT`.
        origin: &'static str,
    },

    /// `IDENTITY_HEADER` holds characters an HTTP header cannot carry.
    #[error("IDENTITY_HEADER is not a valid HTTP header value")]
    InvalidIdentityHeader,

    /// The endpoint answered 400: the identity asked for is not assigned to this resource.
    #[error(
        "{endpoint} answered HTTP 400{}: {identity} is not assigned to this resource; assign it, \
         or set client_id, object_id or msi_res_id to an identity that is",
        code_suffix(.code)
    )]
    IdentityNotAssigned {
        /// Where the request went.
        endpoint: Endpoint,
        /// The identity that was asked for, such as `the system-assigned identity`.
        identity: String,
        /// The reply's `error` code, when it is short and plain.
        code: Option<String>,
    },

    /// The request failed as any credential request can (the client, the transport, a redirect,
    /// another status, a reply without a usable `access_token`).
    #[error("{source}{}", code_suffix(.code))]
    Http {
        /// Where the request went.
        endpoint: Endpoint,
        /// The shared failure.
        #[source]
        source: HttpError,
        /// The `error` code of an error reply, when it is short and plain.
        code: Option<String>,
    },
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_ref()
        .map(|code| format!(" ({code})"))
        .unwrap_or_default()
}

impl SourceHttpError for AzureError {
    const PROVIDER: &'static str = "azure";

    fn http(&self) -> Option<&HttpError> {
        match self {
            AzureError::Http { source, .. } => Some(source),
            _ => None,
        }
    }

    fn step(&self) -> &'static str {
        let (endpoint, reading) = match self {
            AzureError::InvalidEndpoint { .. }
            | AzureError::UnsupportedScheme { .. }
            | AzureError::CleartextEndpoint { .. }
            | AzureError::InvalidIdentityHeader => {
                return "reading the endpoint from the environment";
            }
            AzureError::Http {
                source: HttpError::Client { .. },
                ..
            } => return "building the HTTP client",
            AzureError::Http {
                endpoint,
                source: HttpError::Malformed { .. },
                ..
            } => (endpoint, true),
            AzureError::Http { endpoint, .. }
            | AzureError::IdentityNotAssigned { endpoint, .. } => (endpoint, false),
        };
        match (endpoint, reading) {
            (Endpoint::Imds, false) => "requesting a token from IMDS",
            (Endpoint::AppService, false) => {
                "requesting a token from the App Service identity endpoint"
            }
            (Endpoint::Imds, true) => "reading the IMDS reply",
            (Endpoint::AppService, true) => "reading the App Service identity endpoint reply",
        }
    }

    /// Every transient status: the shared ones, and 404 and 410 (IMDS starting or upgrading).
    fn retries_status(&self, status: u16) -> bool {
        is_transient_status(status)
    }

    /// Whether retrying may succeed: transport failures, 404 and 410 (IMDS starting or upgrading),
    /// 408, 429 and 5xx.
    fn is_transient(&self) -> bool {
        match self.http() {
            Some(HttpError::Status { status, .. }) => is_transient_status(*status),
            Some(source) => source.is_transient(),
            None => false,
        }
    }

    /// The HTTP status the endpoint answered (400 for an identity that is not assigned).
    fn status(&self) -> Option<u16> {
        match self {
            AzureError::IdentityNotAssigned { .. } => Some(400),
            _ => self.http().and_then(HttpError::status),
        }
    }
}

/// The statuses worth trying again: the shared ones, and 404 and 410, which IMDS answers while it
/// starts or upgrades.
pub(crate) fn is_transient_status(status: u16) -> bool {
    matches!(status, 404 | 410) || providers_http::is_transient_status(status)
}

impl Retryable for AzureError {
    /// Every transient failure is retried within the fetch.
    fn is_retried(&self) -> bool {
        self.is_transient()
    }

    /// The server's `Retry-After`; a 410 ignores it and keeps IMDS's own 10 s schedule.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            AzureError::Http { source, .. } if source.status() != Some(410) => source.retry_after(),
            _ => None,
        }
    }

    /// 410 (IMDS upgrading) has a budget of its own, so an upgrade does not use up the retries
    /// of other failures.
    fn budget(&self) -> usize {
        usize::from(self.status() == Some(410))
    }
}

impl From<AzureError> for SourceError {
    fn from(error: AzureError) -> Self {
        error.into_source_error()
    }
}
