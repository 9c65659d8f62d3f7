//! The Azure source's error: one variant per step that can fail, none echoing a token or a reply
//! body.

use std::fmt;
use std::sync::Arc;

use providers_core::SourceError;

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

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Imds => "IMDS",
            Endpoint::AppService => "the App Service identity endpoint",
        })
    }
}

/// Fetching a managed-identity token failed.
///
/// Messages carry the HTTP status and at most the short `error` code of an error reply, never a
/// reply body or a header value, since either may hold a token or the `IDENTITY_HEADER` secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AzureError {
    /// The HTTP client could not be built (reported at fetch time so construction cannot fail).
    #[error("could not build the HTTP client for the managed identity endpoint")]
    Client {
        /// Why the client could not be built.
        #[source]
        source: Arc<reqwest::Error>,
    },

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

    /// `IDENTITY_HEADER` holds characters an HTTP header cannot carry.
    #[error("IDENTITY_HEADER is not a valid HTTP header value")]
    InvalidIdentityHeader,

    /// The request could not be sent or no reply arrived in time (connection refused, timeout).
    #[error("request to {endpoint} failed")]
    Send {
        /// Where the request went.
        endpoint: Endpoint,
        /// The transport error, without the URL.
        #[source]
        source: reqwest::Error,
    },

    /// The endpoint answered with a redirect, which a credential request never follows.
    #[error("{endpoint} answered with redirect status {status}; redirects are not followed")]
    Redirect {
        /// Where the request went.
        endpoint: Endpoint,
        /// The 3xx status.
        status: u16,
    },

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

    /// The endpoint answered another non-success status.
    #[error("{endpoint} answered HTTP {status}{}", code_suffix(.code))]
    Status {
        /// Where the request went.
        endpoint: Endpoint,
        /// The HTTP status.
        status: u16,
        /// The reply's `error` code, when it is short and plain.
        code: Option<String>,
    },

    /// The success reply's body could not be read (the connection dropped, or the timeout hit).
    #[error("reading the reply of {endpoint} failed")]
    ReadBody {
        /// Where the request went.
        endpoint: Endpoint,
        /// The transport error, without the URL.
        #[source]
        source: reqwest::Error,
    },

    /// The success reply is not JSON with a string `access_token`.
    #[error("the reply of {endpoint} is not JSON with a string access_token")]
    InvalidReply {
        /// Where the request went.
        endpoint: Endpoint,
        /// The parse error; serde_json names positions and types, not string contents.
        #[source]
        source: serde_json::Error,
    },

    /// The success reply's `access_token` is empty.
    #[error("the reply of {endpoint} has an empty access_token")]
    EmptyToken {
        /// Where the request went.
        endpoint: Endpoint,
    },
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_ref()
        .map(|code| format!(" ({code})"))
        .unwrap_or_default()
}

impl AzureError {
    /// Whether retrying may succeed: transport failures, 404 and 410 (IMDS starting or upgrading),
    /// 408, 429 and 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            AzureError::Send { source, .. } => !source.is_builder(),
            AzureError::ReadBody { .. } => true,
            AzureError::Status { status, .. } => is_transient_status(*status),
            _ => false,
        }
    }

    /// The HTTP status the endpoint answered, if it answered one that is an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            AzureError::Redirect { status, .. } | AzureError::Status { status, .. } => {
                Some(*status)
            }
            AzureError::IdentityNotAssigned { .. } => Some(400),
            _ => None,
        }
    }

    /// The step that failed, as [`SourceError::step`] reports it.
    pub fn step(&self) -> &'static str {
        let endpoint = match self {
            AzureError::Client { .. } => return "building the HTTP client",
            AzureError::InvalidEndpoint { .. }
            | AzureError::UnsupportedScheme { .. }
            | AzureError::InvalidIdentityHeader => {
                return "reading the endpoint from the environment";
            }
            AzureError::Send { endpoint, .. }
            | AzureError::Redirect { endpoint, .. }
            | AzureError::IdentityNotAssigned { endpoint, .. }
            | AzureError::Status { endpoint, .. } => {
                return match endpoint {
                    Endpoint::Imds => "requesting a token from IMDS",
                    Endpoint::AppService => {
                        "requesting a token from the App Service identity endpoint"
                    }
                };
            }
            AzureError::ReadBody { endpoint, .. }
            | AzureError::InvalidReply { endpoint, .. }
            | AzureError::EmptyToken { endpoint } => endpoint,
        };
        match endpoint {
            Endpoint::Imds => "reading the IMDS reply",
            Endpoint::AppService => "reading the App Service identity endpoint reply",
        }
    }
}

pub(crate) fn is_transient_status(status: u16) -> bool {
    matches!(status, 404 | 408 | 410 | 429 | 500..=599)
}

impl From<AzureError> for SourceError {
    fn from(error: AzureError) -> Self {
        SourceError::new("azure", error.step(), error.is_transient(), error)
    }
}
