//! The GitHub Actions source's error: the variants of its own protocol (the runner's variables),
//! and the shared [`HttpError`] for the rest; none echoes a token, the request token or a reply
//! body.

use providers_http::{HttpError, SourceHttpError};

use crate::{REQUEST_TOKEN_ENV, REQUEST_URL_ENV};

/// Fetching the GitHub Actions OIDC token failed.
///
/// Messages carry the HTTP status at most, never a reply body (a reply may hold the token) and
/// never the request token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GithubActionsError {
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

    /// The request failed as any credential request can (the client, the transport, a redirect,
    /// a status, a reply without a usable `value`); the message adds what a 401 or 403 means here.
    #[error("{0}{hint}", hint = status_hint(.0))]
    Http(#[from] HttpError),
}

fn missing_list(missing: &[&'static str]) -> String {
    match missing {
        [one] => format!("{one} is"),
        many => format!("{} are", many.join(" and ")),
    }
}

/// A short explanation for the statuses whose cause is usually known.
fn status_hint(error: &HttpError) -> &'static str {
    match error.status() {
        Some(401 | 403) => " (the request token was rejected; it is valid only during its own job)",
        _ => "",
    }
}

impl SourceHttpError for GithubActionsError {
    const PROVIDER: &'static str = "github_actions";

    fn http(&self) -> Option<&HttpError> {
        match self {
            GithubActionsError::Http(error) => Some(error),
            _ => None,
        }
    }

    fn step(&self) -> &'static str {
        match self {
            GithubActionsError::MissingEnvironment { .. }
            | GithubActionsError::InvalidRequestUrl { .. }
            | GithubActionsError::InvalidRequestToken => {
                "reading the ACTIONS_ID_TOKEN_REQUEST variables"
            }
            GithubActionsError::Http(HttpError::Client { .. }) => "building the http client",
            GithubActionsError::Http(HttpError::Malformed { .. }) => "reading the oidc token reply",
            GithubActionsError::Http(_) => "requesting the oidc token",
        }
    }

    /// 502, 503 and 504, the statuses the actions toolkit's HTTP client retries.
    fn retries_status(&self, status: u16) -> bool {
        matches!(status, 502..=504)
    }
}

providers_http::source_http_error!(GithubActionsError);
