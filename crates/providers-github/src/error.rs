//! The GitHub Actions source's error: one variant per way a fetch can fail, none echoing a token,
//! the request token or a reply body.

use std::sync::Arc;
use std::time::Duration;

use providers_core::SourceError;
use providers_http::Retryable;

use crate::{REQUEST_TOKEN_ENV, REQUEST_URL_ENV};

/// The name this source reports in a [`SourceError`].
const PROVIDER: &str = "github_actions";

/// Fetching the GitHub Actions OIDC token failed.
///
/// Messages carry the HTTP status at most, never a reply body (a reply may hold the token) and
/// never the request token. Transport errors are kept as sources with their URL removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GithubActionsError {
    /// The HTTP client could not be built. Construction cannot fail by contract, so the error is
    /// kept and reported by every fetch.
    #[error("could not build the http client for the github actions token request")]
    Client {
        /// Why the client could not be built.
        #[source]
        source: Arc<reqwest::Error>,
    },

    /// `ACTIONS_ID_TOKEN_REQUEST_URL` or `ACTIONS_ID_TOKEN_REQUEST_TOKEN` is not set (or empty).
    /// The runner sets both only for jobs granted `permissions: id-token: write`.
    #[error(
        "{} not set; the github actions job needs `permissions: id-token: write` to request an \
         oidc token",
        missing_list(.missing)
    )]
    MissingEnvironment {
        /// The names of the variables that are missing.
        missing: Vec<&'static str>,
    },

    /// `ACTIONS_ID_TOKEN_REQUEST_URL` does not parse, or is not `https` (or `http` to a loopback
    /// host). Its value is not repeated: it names the job's plan.
    #[error(
        "{REQUEST_URL_ENV} is not a valid token request url: expected an https url (plain http \
         only to a loopback host)"
    )]
    InvalidRequestUrl {
        /// The parse error, when the value does not parse at all.
        #[source]
        source: Option<url::ParseError>,
    },

    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN` holds characters an HTTP header cannot carry.
    #[error("{REQUEST_TOKEN_ENV} is not a valid http header value")]
    InvalidRequestToken,

    /// No reply arrived within the timeout of an attempt.
    #[error("github actions token request to {host} timed out")]
    Timeout {
        /// The host of the token request URL.
        host: String,
        /// The transport error, without the URL.
        #[source]
        source: reqwest::Error,
    },

    /// The token endpoint could not be reached (connection refused, name not resolved).
    #[error("could not connect to the github actions token endpoint at {host}")]
    Connect {
        /// The host of the token request URL.
        host: String,
        /// The transport error, without the URL.
        #[source]
        source: reqwest::Error,
    },

    /// The request or the reading of its reply failed in another way (a dropped connection).
    #[error("github actions token request to {host} failed")]
    Transport {
        /// The host of the token request URL.
        host: String,
        /// The transport error, without the URL.
        #[source]
        source: reqwest::Error,
    },

    /// The endpoint answered with a redirect, which is never followed: the request token must go
    /// only to the URL the runner gave.
    #[error(
        "github actions token endpoint answered with redirect status {status}; redirects are not \
         followed"
    )]
    Redirect {
        /// The 3xx status.
        status: u16,
    },

    /// The endpoint answered another non-success status.
    #[error("github actions token endpoint answered status {status}{}", status_hint(*.status))]
    Status {
        /// The HTTP status.
        status: u16,
        /// The server's `Retry-After` in seconds, when it sent one; used by the retry loop only.
        retry_after: Option<Duration>,
    },

    /// The success reply is not JSON.
    #[error("github actions token reply is not json; expected an object with a string `value`")]
    NotJson {
        /// The syntax error; a parse into an untyped value reports positions only, no content.
        #[source]
        source: serde_json::Error,
    },

    /// The success reply has no non-empty string `value`.
    #[error("github actions token reply has no non-empty string `value`")]
    MissingValue,
}

fn missing_list(missing: &[&'static str]) -> String {
    match missing {
        [one] => format!("{one} is"),
        many => format!("{} are", many.join(" and ")),
    }
}

/// A short explanation for the statuses whose cause is usually known.
fn status_hint(status: u16) -> &'static str {
    match status {
        401 | 403 => " (the request token was rejected; it is valid only during its own job)",
        _ => "",
    }
}

impl GithubActionsError {
    /// Whether trying again later may succeed: timeouts, connection and transport failures, 408,
    /// 429 and 5xx. A missing or bad environment, other 4xx statuses, redirects and malformed
    /// replies stay as they are.
    pub fn is_transient(&self) -> bool {
        match self {
            GithubActionsError::Timeout { .. } | GithubActionsError::Connect { .. } => true,
            GithubActionsError::Transport { source, .. } => !source.is_builder(),
            GithubActionsError::Status { status, .. } => matches!(status, 408 | 429 | 500..=599),
            _ => false,
        }
    }

    /// The HTTP status the endpoint answered, when it answered with a failure.
    pub fn status(&self) -> Option<u16> {
        match self {
            GithubActionsError::Redirect { status } | GithubActionsError::Status { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// The step that failed, as [`SourceError::step`] reports it.
    pub fn step(&self) -> &'static str {
        match self {
            GithubActionsError::Client { .. } => "building the http client",
            GithubActionsError::MissingEnvironment { .. }
            | GithubActionsError::InvalidRequestUrl { .. }
            | GithubActionsError::InvalidRequestToken => {
                "reading the ACTIONS_ID_TOKEN_REQUEST variables"
            }
            GithubActionsError::Timeout { .. }
            | GithubActionsError::Connect { .. }
            | GithubActionsError::Transport { .. }
            | GithubActionsError::Redirect { .. }
            | GithubActionsError::Status { .. } => "requesting the oidc token",
            GithubActionsError::NotJson { .. } | GithubActionsError::MissingValue => {
                "reading the oidc token reply"
            }
        }
    }
}

impl Retryable for GithubActionsError {
    /// Whether the fetch retries this failure itself: transport failures and 502, 503 and 504,
    /// the statuses the actions toolkit's HTTP client retries. Narrower than
    /// [`GithubActionsError::is_transient`], which a caller may use to try again later.
    fn is_retried(&self) -> bool {
        match self {
            GithubActionsError::Status { status, .. } => matches!(status, 502..=504),
            _ => self.is_transient(),
        }
    }

    /// The server's `Retry-After`, when the failure carries one.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            GithubActionsError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl From<GithubActionsError> for SourceError {
    fn from(error: GithubActionsError) -> Self {
        SourceError::new(PROVIDER, error.step(), error.is_transient(), error)
    }
}
