//! The RFC 8693 token exchange: one `POST` that trades a subject token for an OpenAI access token.
//!
//! This module owns the wire format (the five JSON fields, the reply's `access_token` and
//! `expires_in`), the OAuth errors of 400, 401 and 403, and which failures the bounded retry
//! repeats. The X.509 exchange (four fields over mutual TLS, `x509.rs`) shares the reply's
//! parsing and the errors. Every other failure is the shared [`HttpError`] of `providers-http`, the same type
//! the HTTP sources report. It holds one `reqwest::Client`, built once with redirects off and a
//! 10 s timeout, and reused by every exchange.

use std::sync::Arc;
use std::time::{Duration, Instant};

use providers_core::{BoxFuture, RetryPolicy, Sleep, SubjectToken, SubjectTokenSource};
use providers_http::{
    HttpError, MAX_BODY_BYTES, Proxy, client_builder, is_loopback, read_body, read_reply,
    retry_with_policies,
};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::errors::ExchangeError;
use crate::mint::{MintCounters, Minted, TokenMinter};
use crate::server_text::{ConfiguredSecrets, request_id, scrub};

/// The RFC 8693 `grant_type` of a token exchange.
const TOKEN_EXCHANGE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// Timeout of one exchange request.
pub(crate) const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest lifetime accepted from `expires_in`; larger values are clamped to it, so an absurd
/// value can neither overflow an `Instant` nor keep a token forever.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The exchange endpoint as messages name it.
pub(crate) const ENDPOINT: &str = "the token exchange endpoint";

/// A successful exchange: the access token and how long it lives.
pub(crate) struct Exchanged {
    pub(crate) access_token: SecretString,
    pub(crate) expires_in: Duration,
    /// The reply's `Date` header (the server's clock), for `doctor`'s clock check.
    pub(crate) server_date: Option<String>,
    /// Whether the reply's `token_type`, when it has one, is a string equal to `Bearer` in any
    /// case (the X.509 exchange requires it, as the SDK's does).
    pub(crate) bearer_type: bool,
}

impl Exchanged {
    /// The token this exchange minted, its life counted from `issued_at` (taken before the
    /// first request).
    pub(crate) fn minted(self, issued_at: tokio::time::Instant) -> Minted {
        Minted {
            access_token: self.access_token,
            expires_in: self.expires_in,
            issued_at,
            server_date: self.server_date,
        }
    }
}

/// The default retry policy of the exchange: at most 2 retries, backoff from 0.5 s doubling up to
/// 8 s plus up to 25 % jitter, `Retry-After` honoured up to 60 s.
pub fn default_exchange_retry_policy() -> RetryPolicy {
    RetryPolicy::exponential(2, Duration::from_millis(500), Duration::from_secs(8))
}

/// Checks an exchange endpoint: an absolute `https` URL, or `http` to a loopback host (a local
/// mock or proxy), without credentials in it.
pub(crate) fn parse_exchange_url(text: &str) -> Result<Url, ExchangeError> {
    let invalid = |reason: &str| ExchangeError::InvalidUrl {
        url: conn_schema::redact_url(text),
        reason: reason.to_owned(),
    };
    let url = Url::parse(text).map_err(|error| invalid(&error.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials in the url are not allowed"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(invalid(
            "plain http is only allowed to a loopback host; the subject token must not travel in clear text",
        )),
        _ => Err(invalid("expected an http or https url")),
    }
}

/// Where an exchange goes and for whom: the endpoint and the two ids that every exchange body
/// names, in both modes. Debug shows the URL without credentials or query values.
pub(crate) struct ExchangeTarget {
    pub(crate) url: Url,
    pub(crate) identity_provider_id: String,
    pub(crate) service_account_id: String,
}

impl std::fmt::Debug for ExchangeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeTarget")
            .field("url", &conn_schema::redact_url(self.url.as_str()))
            .field("identity_provider_id", &self.identity_provider_id)
            .field("service_account_id", &self.service_account_id)
            .finish()
    }
}

impl ExchangeTarget {
    /// Sends one exchange with `client`: a `POST` of the JSON body made of the grant type, the
    /// `subject` fields (the subject token and its type, or the X.509 type alone) and the ids.
    pub(crate) async fn post(
        &self,
        client: &reqwest::Client,
        subject: &[(&str, &str)],
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut body = serde_json::Map::new();
        body.insert("grant_type".into(), TOKEN_EXCHANGE_GRANT_TYPE.into());
        for (name, value) in subject {
            body.insert((*name).into(), (*value).into());
        }
        body.insert(
            "identity_provider_id".into(),
            self.identity_provider_id.as_str().into(),
        );
        body.insert(
            "service_account_id".into(),
            self.service_account_id.as_str().into(),
        );
        client.post(self.url.clone()).json(&body).send().await
    }
}

/// Performs exchanges against one endpoint for one identity-provider / service-account pair,
/// with the client `C` of its mode, retrying on a policy `P`. Both modes are one:
/// [`Exchanger`] (a subject token) and `x509::X509Exchanger` (the client certificate).
pub(crate) struct Exchange<C, P> {
    pub(crate) client: C,
    pub(crate) target: ExchangeTarget,
    pub(crate) policy: P,
    pub(crate) sleep: Arc<dyn Sleep>,
    /// What an OAuth error's text and request id are scrubbed of (besides the subject token,
    /// when there is one).
    pub(crate) secrets: ConfiguredSecrets,
}

impl<C, P> Exchange<C, P> {
    /// An exchange with `client` that scrubs no configured secret yet.
    pub(crate) fn with_client(
        client: C,
        target: ExchangeTarget,
        policy: P,
        sleep: Arc<dyn Sleep>,
    ) -> Self {
        Exchange {
            client,
            target,
            policy,
            sleep,
            secrets: ConfiguredSecrets::default(),
        }
    }

    /// The configured secrets no OAuth error it reports may repeat.
    pub(crate) fn scrubbing(mut self, secrets: ConfiguredSecrets) -> Self {
        self.secrets = secrets;
        self
    }
}

/// The subject-token exchange.
pub(crate) type Exchanger = Exchange<reqwest::Client, RetryPolicy>;

impl std::fmt::Debug for Exchanger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchanger")
            .field("target", &self.target)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Exchanger {
    pub(crate) fn new(
        target: ExchangeTarget,
        policy: RetryPolicy,
        sleep: Arc<dyn Sleep>,
    ) -> Result<Self, ExchangeError> {
        // Built once: a client per exchange costs a TLS handshake and tens of milliseconds.
        // The exchange is remote: a proxy the environment names applies.
        let client = client_builder(Proxy::FromEnvironment)
            .timeout(EXCHANGE_TIMEOUT)
            .build()
            .map_err(|error| HttpError::Client {
                endpoint: ENDPOINT.into(),
                source: Arc::new(error),
            })?;
        Ok(Exchange::with_client(client, target, policy, sleep))
    }

    /// Exchanges `subject`, retrying transient failures within the policy. `on_attempt` is called
    /// before every request (the cache counts them).
    pub(crate) async fn exchange(
        &self,
        subject: &SubjectToken,
        on_attempt: &(dyn Fn() + Send + Sync),
    ) -> Result<Exchanged, ExchangeError> {
        retry_with_policies(
            self.sleep.as_ref(),
            std::slice::from_ref(&self.policy),
            "openai token exchange",
            |retries_done| {
                on_attempt();
                self.attempt(subject, retries_done + 1)
            },
        )
        .await
    }

    async fn attempt(
        &self,
        subject: &SubjectToken,
        attempt: u32,
    ) -> Result<Exchanged, ExchangeError> {
        logged_attempt(attempt, "subject_token", self.send(subject)).await
    }

    async fn send(&self, subject: &SubjectToken) -> Result<Exchanged, ExchangeError> {
        // The subject token is exposed here and only here, where the request body is built.
        let secret = subject.secret().expose_secret();
        let response = self
            .target
            .post(
                &self.client,
                &[
                    ("subject_token", secret),
                    ("subject_token_type", subject.token_type().urn()),
                ],
            )
            .await
            .map_err(|error| HttpError::transport(ENDPOINT, error))?;
        token_reply(response, &self.secrets.with(&[secret])).await
    }
}

/// One exchange attempt with its log event: the attempt number, how long it took, the mode
/// (`subject_token` or `x509`) and the outcome; the error's message, never a body or a token.
pub(crate) async fn logged_attempt(
    attempt: u32,
    mode: &'static str,
    send: impl Future<Output = Result<Exchanged, ExchangeError>>,
) -> Result<Exchanged, ExchangeError> {
    let started = Instant::now();
    let result = send.await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match &result {
        Ok(exchanged) => tracing::info!(
            target: "openai_conn_client::exchange",
            attempt,
            duration_ms,
            expires_in = exchanged.expires_in.as_secs(),
            mode,
            outcome = "ok",
            "token exchange succeeded"
        ),
        Err(error) => tracing::warn!(
            target: "openai_conn_client::exchange",
            attempt,
            duration_ms,
            status = error.status(),
            mode,
            outcome = "error",
            error = %error,
            "token exchange failed"
        ),
    }
    result
}

/// The exchange's reply, read the same way in both modes: a 2xx body (bounded) is the token; a
/// 400, 401 or 403 is an OAuth error keeping the `x-request-id`, its server text and request id
/// scrubbed of `secrets` (an unreadable or oversized error body still yields the OAuth error with
/// generic text); anything else, a redirect included, is the status.
pub(crate) async fn token_reply(
    response: reqwest::Response,
    secrets: &[&str],
) -> Result<Exchanged, ExchangeError> {
    let status = response.status().as_u16();
    let request_id = request_id(response.headers(), secrets);
    match status {
        200..=299 => {
            let server_date = server_date(response.headers(), secrets);
            let bytes = read_reply(ENDPOINT, response).await?;
            parse_success(&bytes, status).map(|exchanged| Exchanged {
                server_date,
                ..exchanged
            })
        }
        400 | 401 | 403 => {
            let bytes = read_body(response, MAX_BODY_BYTES)
                .await
                .unwrap_or_default();
            Err(parse_oauth_error(&bytes, status, request_id, secrets))
        }
        _ => Err(HttpError::status_of(ENDPOINT, &response).into()),
    }
}

fn parse_success(bytes: &[u8], status: u16) -> Result<Exchanged, ExchangeError> {
    let malformed = |expected| {
        ExchangeError::Http(HttpError::Malformed {
            endpoint: ENDPOINT.into(),
            status,
            expected,
        })
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| malformed("a json object"))?;
    let object = value
        .as_object()
        .ok_or_else(|| malformed("a json object"))?;
    let access_token = match object.get("access_token") {
        Some(serde_json::Value::String(token)) if !token.is_empty() => token.clone(),
        _ => return Err(malformed("a non-empty string access_token")),
    };
    // A JSON number only: `true` or `"3600"` are rejected, not coerced.
    let expires_in = match object.get("expires_in") {
        Some(serde_json::Value::Number(number)) => number.as_f64(),
        _ => None,
    }
    .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
    .ok_or_else(|| malformed("a positive number expires_in"))?;
    let expires_in = if expires_in >= MAX_TOKEN_LIFETIME.as_secs_f64() {
        MAX_TOKEN_LIFETIME
    } else {
        Duration::from_secs_f64(expires_in)
    };
    let bearer_type = match object.get("token_type") {
        None => true,
        Some(serde_json::Value::String(kind)) => kind.eq_ignore_ascii_case("bearer"),
        Some(_) => false,
    };
    Ok(Exchanged {
        access_token: SecretString::from(access_token),
        expires_in,
        server_date: None,
        bearer_type,
    })
}

/// The response's `Date` header (RFC 9110 section 6.6.1), printable and bounded; `None` when
/// absent or blank. It is kept as text: only `doctor` reads it, to compare clocks; like every
/// text from the server, it is scrubbed of the request's secrets (a server may echo them).
fn server_date(headers: &reqwest::header::HeaderMap, secrets: &[&str]) -> Option<String> {
    const MAX_DATE_CHARS: usize = 64;
    let value = headers.get(reqwest::header::DATE)?.to_str().ok()?;
    let date: String = scrub(value, secrets).chars().take(MAX_DATE_CHARS).collect();
    (!date.is_empty()).then_some(date)
}

fn parse_oauth_error(
    bytes: &[u8],
    status: u16,
    request_id: Option<String>,
    secrets: &[&str],
) -> ExchangeError {
    let value: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
    // A server may echo the request; the subject token it was sent never reaches a message.
    let field = |name: &str| {
        value
            .as_ref()
            .and_then(|value| value.get(name))
            .and_then(serde_json::Value::as_str)
            .map(|text| scrub(text, secrets))
            .filter(|text| !text.is_empty())
    };
    ExchangeError::OAuth {
        error: field("error").unwrap_or_else(|| "unknown_error".to_owned()),
        description: field("error_description")
            .unwrap_or_else(|| "the token exchange was rejected".to_owned()),
        status,
        request_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use providers_http::Retryable;

    #[test]
    fn success_needs_a_token_and_a_positive_number() {
        let ok = parse_success(br#"{"access_token":"a","expires_in":3600}"#, 200).unwrap();
        assert_eq!(ok.expires_in, Duration::from_secs(3600));
        assert_eq!(ok.access_token.expose_secret(), "a");
        for body in [
            &br#"{"expires_in":3600}"#[..],
            br#"{"access_token":"","expires_in":3600}"#,
            br#"{"access_token":1,"expires_in":3600}"#,
            br#"{"access_token":"a","expires_in":0}"#,
            br#"{"access_token":"a","expires_in":-5}"#,
            br#"{"access_token":"a","expires_in":"3600"}"#,
            br#"{"access_token":"a","expires_in":true}"#,
            br#"{"access_token":"a"}"#,
            br#"[1]"#,
            b"not json",
        ] {
            let error = parse_success(body, 200).err().expect("rejected");
            assert!(
                matches!(
                    error,
                    ExchangeError::Http(HttpError::Malformed { status: 200, .. })
                ),
                "{error}"
            );
        }
    }

    #[test]
    fn huge_lifetimes_are_clamped() {
        let ok = parse_success(br#"{"access_token":"a","expires_in":1e300}"#, 200).unwrap();
        assert_eq!(ok.expires_in, MAX_TOKEN_LIFETIME);
        let ok = parse_success(br#"{"access_token":"a","expires_in":0.5}"#, 200).unwrap();
        assert_eq!(ok.expires_in, Duration::from_millis(500));
    }

    fn subject() -> SubjectToken {
        SubjectToken::new(
            SecretString::from("eyJ.subject-SECRET.sig"),
            providers_core::TokenType::Jwt,
        )
    }

    #[test]
    fn oauth_errors_never_repeat_the_subject_token() {
        let error = parse_oauth_error(
            br#"{"error":"invalid_grant eyJ.subject-SECRET.sig","error_description":"token eyJ.subject-SECRET.sig is expired"}"#,
            400,
            None,
            &[subject().secret().expose_secret()],
        );
        assert_eq!(
            error.to_string(),
            "oauth error invalid_grant [redacted] (400): token [redacted] is expired"
        );
    }

    #[test]
    fn the_server_date_never_repeats_the_subject_token() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::DATE,
            reqwest::header::HeaderValue::from_static("Sun, 06 Dec 2026 eyJ.subject-SECRET.sig"),
        );
        let date = server_date(&headers, &[subject().secret().expose_secret()]);
        assert_eq!(date.as_deref(), Some("Sun, 06 Dec 2026 [redacted]"));
    }

    #[test]
    fn oauth_errors_keep_code_description_and_status() {
        let error = parse_oauth_error(
            br#"{"error":"invalid_grant","error_description":"subject token expired\n"}"#,
            401,
            None,
            &[],
        );
        assert_eq!(
            error.to_string(),
            "oauth error invalid_grant (401): subject token expired"
        );
        let error = parse_oauth_error(b"<html>", 403, Some("req_123".to_owned()), &[]);
        assert_eq!(
            error.to_string(),
            "oauth error unknown_error (403): the token exchange was rejected (request id req_123)"
        );
    }

    #[test]
    fn exchange_urls_must_be_https_or_loopback_http() {
        assert!(parse_exchange_url("https://auth.openai.com/oauth/token").is_ok());
        assert!(parse_exchange_url("http://127.0.0.1:8080/token").is_ok());
        assert!(parse_exchange_url("http://localhost/token").is_ok());
        assert!(parse_exchange_url("http://[::1]/token").is_ok());
        assert!(parse_exchange_url("http://auth.example.com/token").is_err());
        assert!(parse_exchange_url("https://user:pw@auth.example.com/token").is_err());
        assert!(parse_exchange_url("ftp://auth.example.com/token").is_err());
        assert!(parse_exchange_url("auth.openai.com").is_err());
    }

    #[test]
    fn transience_follows_the_status() {
        let status = |status| {
            ExchangeError::Http(HttpError::Status {
                endpoint: ENDPOINT.into(),
                status,
                retry_after: None,
            })
        };
        assert!(
            status(503).is_transient() && status(429).is_transient() && status(408).is_transient()
        );
        assert!(!status(404).is_transient());
        let redirect = ExchangeError::Http(HttpError::Redirect {
            endpoint: ENDPOINT.into(),
            status: 302,
        });
        assert!(!redirect.is_transient() && !redirect.is_retried());
        assert!(status(503).is_retried() && !status(404).is_retried());
        assert!(!parse_oauth_error(b"{}", 401, None, &[]).is_transient());
    }
}

/// The subject-token exchange as a [`TokenMinter`]: fetch a subject token from `source`, then
/// exchange it.
#[derive(Debug)]
pub(crate) struct SubjectTokenMinter {
    source: Arc<dyn SubjectTokenSource>,
    exchanger: Exchanger,
}

impl SubjectTokenMinter {
    pub(crate) fn new(source: Arc<dyn SubjectTokenSource>, exchanger: Exchanger) -> Self {
        SubjectTokenMinter { source, exchanger }
    }
}

impl TokenMinter for SubjectTokenMinter {
    fn mint<'a>(
        &'a self,
        counters: &'a MintCounters,
    ) -> BoxFuture<'a, Result<Minted, ExchangeError>> {
        Box::pin(async move {
            counters
                .subject_fetches
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let subject = self
                .source
                .fetch()
                .await
                .map_err(|error| ExchangeError::Source(Arc::new(error)))?;
            if subject.is_empty() {
                return Err(ExchangeError::EmptySubjectToken);
            }
            let issued_at = tokio::time::Instant::now();
            let exchanged = self
                .exchanger
                .exchange(&subject, &|| counters.count_exchange())
                .await?;
            Ok(exchanged.minted(issued_at))
        })
    }

    fn endpoint(&self) -> &str {
        self.exchanger.target.url.as_str()
    }
}
