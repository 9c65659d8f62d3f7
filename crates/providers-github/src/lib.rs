//! The GitHub Actions OIDC token as a subject-token source (token type `jwt`).
//!
//! [`GithubActionsSource`] asks the runner's token service for the job's OIDC token, as
//! `core.getIDToken(audience)` of the actions toolkit does:
//!
//! `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<urlencoded>` (the URL already carries a query)
//! with `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN` and `Accept: application/json`.
//! The token is the string field `value` of the JSON reply. The runner sets both variables only
//! for jobs granted `permissions: id-token: write`; they are read from the injected [`Env`] on
//! every fetch.
//!
//! Timeouts, connection failures, 502, 503 and 504 are retried three times with exponential
//! backoff from 1 s plus jitter, honouring `Retry-After`; other statuses are not. Every attempt
//! has a 10 s timeout and redirects are never followed. The request token is a
//! [`SecretString`] from the moment it is read and is exposed only where the header is built.
//! [`GithubActionsError`] says why a fetch failed, without any reply body or secret: its own
//! variants for the runner's variables, and the shared [`HttpError`] of `providers-http` for the
//! rest.
//!
//! The source knows no connection format: it is built from an audience and an [`Env`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod signals;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use providers_core::{Env, RetryPolicy, SubjectToken, TokenType};
use providers_http::{HttpSettings, Proxy, is_loopback, read_reply};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub use error::GithubActionsError;
pub use providers_http::{DEFAULT_TIMEOUT, HttpError, HttpSource, SourceHttpError};
pub use signals::{GITHUB_ACTIONS_ENV, GithubActionsSignals};

/// The variable holding the token request URL (with its query already started).
pub const REQUEST_URL_ENV: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";

/// The variable holding the bearer token that authorises the token request.
pub const REQUEST_TOKEN_ENV: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";

/// Retries of timeouts, connection failures, 502, 503 and 504: three, at about 1 s, 2 s and 4 s
/// plus up to 25 % jitter, with a server's `Retry-After` honoured up to 60 s.
// The cap is above the last computed delay (4 s), so the jitter of that retry is not clipped.
pub const DEFAULT_RETRY_POLICY: RetryPolicy =
    RetryPolicy::exponential(3, Duration::from_secs(1), Duration::from_secs(5));

/// The job's OIDC token from the GitHub Actions runner.
///
/// Build it with [`GithubActionsSource::new`]; with the `test-util` feature, the `with_*` methods
/// adjust retries, sleeping and the timeout. One HTTP client is built at construction and reused
/// by every fetch. Debug shows the audience and settings only: the source holds no token, and the
/// request token is read per fetch and never printed.
pub struct GithubActionsSource {
    audience: String,
    env: Arc<dyn Env>,
    http: HttpSettings,
}

impl GithubActionsSource {
    /// The type of every token this source yields: the job's OIDC token is a JWT.
    pub const TOKEN_TYPE: TokenType = TokenType::Jwt;

    /// A source of the job's OIDC token for `audience`, reading `ACTIONS_ID_TOKEN_REQUEST_URL`
    /// and `ACTIONS_ID_TOKEN_REQUEST_TOKEN` from `env` at every fetch (a missing variable is
    /// reported by [`SubjectTokenSource::fetch`]). Fails only when the HTTP client cannot be
    /// built.
    pub fn new(
        audience: impl Into<String>,
        env: Arc<dyn Env>,
    ) -> Result<GithubActionsSource, HttpError> {
        Ok(GithubActionsSource {
            audience: audience.into(),
            env,
            // The token service is remote: a proxy the runner configures applies.
            http: HttpSettings::build(
                "github actions oidc token",
                "the github actions token endpoint",
                Proxy::FromEnvironment,
                DEFAULT_TIMEOUT,
                &[DEFAULT_RETRY_POLICY],
            )?,
        })
    }

    /// The audience the token is requested for.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    async fn fetch_token(&self) -> Result<SubjectToken, GithubActionsError> {
        let request = self.request()?;
        self.http
            .fetch(Self::TOKEN_TYPE, |_| self.attempt(&request))
            .await
    }

    /// The URL and the authorization header for this fetch, from the environment as it is now.
    fn request(&self) -> Result<Request, GithubActionsError> {
        let set = |name: &str| self.env.var(name).filter(|value| !value.trim().is_empty());
        let url = set(REQUEST_URL_ENV);
        // The request token is a secret from the moment it is read.
        let request_token = set(REQUEST_TOKEN_ENV).map(SecretString::from);
        let (url, request_token) = match (url, request_token) {
            (Some(url), Some(request_token)) => (url, request_token),
            (url, request_token) => {
                let missing = [
                    (REQUEST_URL_ENV, url.is_none()),
                    (REQUEST_TOKEN_ENV, request_token.is_none()),
                ]
                .into_iter()
                .filter_map(|(name, missing)| missing.then_some(name))
                .collect();
                return Err(GithubActionsError::MissingEnvironment { missing });
            }
        };
        let mut url = parse_request_url(url.trim())?;
        // `query_pairs_mut` appends with `&` after the runner's query, or starts one with `?`.
        url.query_pairs_mut()
            .append_pair("audience", &self.audience);
        let endpoint = format!(
            "the github actions token endpoint at {}",
            url.host_str().unwrap_or_default()
        );
        // The request token is exposed here and only here, where the header is built.
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {}", request_token.expose_secret().trim()))
                .map_err(|_| GithubActionsError::InvalidRequestToken)?;
        authorization.set_sensitive(true);
        Ok(Request {
            url,
            endpoint,
            authorization,
        })
    }

    async fn attempt(&self, request: &Request) -> Result<SecretString, GithubActionsError> {
        let endpoint = &request.endpoint;
        let response = self
            .http
            .get(request.url.clone())
            .header(AUTHORIZATION, request.authorization.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| HttpError::transport(endpoint.clone(), error))?;
        let status = response.status();
        if !status.is_success() {
            return Err(HttpError::status_of(endpoint.clone(), &response).into());
        }
        let body = read_reply(endpoint.clone(), response).await?;
        parse_reply(&body).map_err(|expected| {
            HttpError::Malformed {
                endpoint: endpoint.clone().into(),
                status: status.as_u16(),
                expected,
            }
            .into()
        })
    }
}

impl fmt::Debug for GithubActionsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The environment is left out: whatever its own Debug shows, it holds the request token.
        let mut out = f.debug_struct("GithubActionsSource");
        out.field("audience", &self.audience)
            .field("http", &self.http);
        out.finish_non_exhaustive()
    }
}

providers_http::http_source!(GithubActionsSource, GithubActionsError);

/// One resolved request: the URL with the audience, the endpoint's name (with the URL's host) for
/// messages, and the sensitive authorization header.
struct Request {
    url: Url,
    endpoint: String,
    authorization: HeaderValue,
}

/// Checks the token request URL: `https`, or `http` to a loopback host (a local test server),
/// since the request carries a bearer token that must not travel in clear text.
fn parse_request_url(text: &str) -> Result<Url, GithubActionsError> {
    let url = Url::parse(text).map_err(|source| GithubActionsError::InvalidRequestUrl {
        source: Some(source),
    })?;
    let usable = match url.scheme() {
        "https" => url.host().is_some(),
        "http" => is_loopback(&url),
        _ => false,
    };
    if usable {
        Ok(url)
    } else {
        Err(GithubActionsError::InvalidRequestUrl { source: None })
    }
}

/// What a success reply must hold.
const EXPECTED_JSON: &str = "json with a non-empty string `value`";
const EXPECTED_VALUE: &str = "a non-empty string `value`";

/// The token from a success reply: the string field `value`, which must not be empty. The error is
/// what the reply should have held; nothing of the body goes into it.
fn parse_reply(body: &[u8]) -> Result<SecretString, &'static str> {
    let reply: serde_json::Value = serde_json::from_slice(body).map_err(|_| EXPECTED_JSON)?;
    match reply.get("value") {
        Some(serde_json::Value::String(token)) if !token.trim().is_empty() => {
            Ok(SecretString::from(token.trim()))
        }
        _ => Err(EXPECTED_VALUE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use providers_http::Retryable;

    #[test]
    fn the_reply_needs_a_non_empty_string_value() {
        let token = parse_reply(br#"{"count":1,"value":" eyJ.gh.sig "}"#).unwrap();
        assert_eq!(token.expose_secret(), "eyJ.gh.sig");
        for body in [
            &br#"{}"#[..],
            br#"{"value":""}"#,
            br#"{"value":"  "}"#,
            br#"{"value":12}"#,
            br#"{"value":null}"#,
            br#"{"value":{"jwt":"x"}}"#,
            br#"["value"]"#,
        ] {
            assert_eq!(parse_reply(body).err(), Some(EXPECTED_VALUE), "{body:?}");
        }
        assert_eq!(
            parse_reply(b"eyJ.not-json-SECRET").err(),
            Some(EXPECTED_JSON)
        );
    }

    #[test]
    fn request_urls_must_be_https_or_loopback_http() {
        for good in [
            "https://pipelines.actions.githubusercontent.com/abc/idtoken?api-version=2.0",
            "http://127.0.0.1:8080/idtoken",
            "http://localhost/idtoken",
            "http://[::1]/idtoken",
        ] {
            assert!(parse_request_url(good).is_ok(), "{good}");
        }
        for bad in [
            "http://pipelines.actions.githubusercontent.com/idtoken",
            "ftp://127.0.0.1/idtoken",
            "not a url",
            "file:///etc/passwd",
        ] {
            let error = parse_request_url(bad).expect_err(bad);
            assert!(
                matches!(error, GithubActionsError::InvalidRequestUrl { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_502_503_504_and_transport_failures_are_retried() {
        let status = |status| {
            GithubActionsError::Http(HttpError::Status {
                endpoint: "the github actions token endpoint".into(),
                status,
                retry_after: None,
            })
        };
        for code in [502, 503, 504] {
            assert!(status(code).is_retried(), "{code}");
        }
        for code in [400, 401, 403, 404, 500] {
            assert!(!status(code).is_retried(), "{code}");
        }
        assert!(status(500).is_transient() && status(429).is_transient());
        assert!(!status(404).is_transient());
    }
}
