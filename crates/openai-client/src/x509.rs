//! X.509 workload identity in the client: the exchange over mutual TLS (four JSON fields, no
//! subject token) and the API transport that presents the same certificate. The mapping from an
//! `x509` connection to them is `connect.rs`'s, like every other provider's.
//!
//! The certificate files are `providers_x509`'s business: a [`ReloadingIdentity`] follows them on
//! disk, and each [`ReloadingClient`] here (one for the exchange, with its 10 s timeout, one for
//! the API, with the connection's timeout) asks it for the current generation before every
//! request, so a rotation is picked up by the next connection and no request fails because of it.

use std::sync::Arc;
use std::time::Duration;

use async_openai::error::OpenAIError;
use providers_core::{BoxFuture, Decision, SdkRetryPolicy, Sleep, retry};
use providers_http::HttpError;
use providers_x509::{ReloadingClient, ReloadingIdentity, X509Error, tls_failure};
use url::Url;

use crate::errors::{ExchangeError, MutualTlsError};
use crate::exchange::{
    ENDPOINT, EXCHANGE_TIMEOUT, Exchange, ExchangeTarget, Exchanged, logged_attempt, token_reply,
};
use crate::mint::{MintCounters, Minted, TokenMinter};
use crate::retry::is_retried_status;
use crate::transport::ApiClient;

/// The `subject_token_type` of an X.509 exchange (the certificate is the subject).
pub const X509_SUBJECT_TOKEN_TYPE: &str = "urn:openai:params:oauth:token-type:x509";

/// Mutual TLS needs `https`: the certificate is presented in the TLS handshake.
pub(crate) fn require_https(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|error| error.to_string())?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("credentials in the url are not allowed".to_owned());
    }
    if parsed.scheme() != "https" {
        return Err(
            "x509 workload identity needs an https url: the client certificate is presented in \
             the TLS handshake"
                .to_owned(),
        );
    }
    Ok(parsed)
}

pub(crate) fn parse_x509_exchange_url(text: &str) -> Result<Url, ExchangeError> {
    require_https(text).map_err(|reason| ExchangeError::InvalidUrl {
        url: conn_schema::redact_url(text),
        reason,
    })
}

/// A failed exchange attempt with what its reply said about a retry, sorted by the SDK's X.509
/// rule: a reply of 400, 401 or 403 or with `x-should-retry: false` is final; one with
/// `x-should-retry: true`, or of 408, 409, 429 or 5xx, is retried, as are transport failures.
struct Attempt {
    error: ExchangeError,
    retried: bool,
    server_delay: Option<Duration>,
}

impl Attempt {
    fn of_reply(error: ExchangeError, status: u16, headers: &reqwest::header::HeaderMap) -> Self {
        let retried = !matches!(status, 400 | 401 | 403)
            && providers_http::should_retry(headers).unwrap_or_else(|| is_retried_status(status));
        Attempt {
            error,
            retried,
            server_delay: providers_http::retry_after(headers),
        }
    }

    fn without_reply(error: ExchangeError) -> Self {
        // A refused client certificate stays refused; any other transport failure is retried.
        let retried = matches!(&error, ExchangeError::Http(error) if error.is_transport());
        Attempt {
            error,
            retried,
            server_delay: None,
        }
    }
}

/// Performs X.509 exchanges: `POST` over mutual TLS with the identity's current certificate.
pub(crate) type X509Exchanger = Exchange<ReloadingClient, SdkRetryPolicy>;

impl std::fmt::Debug for X509Exchanger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X509Exchanger")
            .field("target", &self.target)
            .field("identity", self.client.identity())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl X509Exchanger {
    /// An exchanger retrying on `policy` (the target's URL checked by
    /// [`parse_x509_exchange_url`]); `api_timeouts` (connect, read) are the API client's, and
    /// each phase of the exchange gets the smaller of that and 10 s, as in the SDK.
    pub(crate) fn new(
        identity: Arc<ReloadingIdentity>,
        target: ExchangeTarget,
        policy: SdkRetryPolicy,
        api_timeouts: (Duration, Duration),
        sleep: Arc<dyn Sleep>,
    ) -> Result<Self, ExchangeError> {
        let client = ReloadingClient::with_timeouts(
            identity,
            api_timeouts.0.min(EXCHANGE_TIMEOUT),
            api_timeouts.1.min(EXCHANGE_TIMEOUT),
        )
        .map_err(|error| ExchangeError::X509(Arc::new(error)))?;
        Ok(Exchange::with_client(client, target, policy, sleep))
    }

    pub(crate) async fn exchange(
        &self,
        on_attempt: &(dyn Fn() + Send + Sync),
    ) -> Result<Exchanged, ExchangeError> {
        let policy = self.policy;
        retry(
            self.sleep.as_ref(),
            |retries_done| {
                on_attempt();
                self.attempt(retries_done + 1)
            },
            |attempt: &Attempt, retries_done| match attempt
                .retried
                .then(|| policy.delay(retries_done, attempt.server_delay))
                .flatten()
            {
                Some(delay) => Decision::RetryAfter(delay),
                None => Decision::Stop,
            },
        )
        .await
        .map_err(|attempt| attempt.error)
    }

    async fn attempt(&self, attempt: u32) -> Result<Exchanged, Attempt> {
        let mut reply = None;
        let result = logged_attempt(attempt, "x509", self.send(&mut reply)).await;
        result.map_err(|error| match reply {
            Some((status, headers)) => Attempt::of_reply(error, status, &headers),
            None => Attempt::without_reply(error),
        })
    }

    /// One exchange request; `reply` gets the status and headers when the server answered.
    async fn send(
        &self,
        reply: &mut Option<(u16, reqwest::header::HeaderMap)>,
    ) -> Result<Exchanged, ExchangeError> {
        // Exactly the SDK's four fields; the certificate of the TLS handshake is the subject.
        let response = self
            .target
            .post(
                &self.client.client(),
                &[("subject_token_type", X509_SUBJECT_TOKEN_TYPE)],
            )
            .await
            .map_err(|error| self.request_error(error))?;
        if !response.status().is_success() {
            *reply = Some((response.status().as_u16(), response.headers().clone()));
        }
        // No subject token travels under x509; the configured secrets are scrubbed all the same.
        let exchanged = token_reply(response, &self.secrets.with(&[])).await?;
        check_bearer(&exchanged)?;
        Ok(exchanged)
    }

    fn request_error(&self, error: reqwest::Error) -> ExchangeError {
        match tls_failure(&error) {
            Some(failure) => ExchangeError::MutualTls(Arc::new(MutualTlsError {
                endpoint: origin(&self.target.url),
                certificate_path: self.client.identity().files().certificate_path.clone(),
                failure,
            })),
            None => HttpError::transport(ENDPOINT, error).into(),
        }
    }
}

/// The X.509 exchange as a [`TokenMinter`]: no subject token, the client certificate is the
/// subject.
impl TokenMinter for X509Exchanger {
    fn mint<'a>(
        &'a self,
        counters: &'a MintCounters,
    ) -> BoxFuture<'a, Result<Minted, ExchangeError>> {
        Box::pin(async move {
            let issued_at = tokio::time::Instant::now();
            let exchanged = self.exchange(&|| counters.count_exchange()).await?;
            Ok(exchanged.minted(issued_at))
        })
    }

    fn endpoint(&self) -> &str {
        self.target.url.as_str()
    }
}

/// The SDK's checks of an X.509 exchange reply: a `token_type`, when present, is `Bearer` (any
/// case), and the token is usable as a bearer (`[A-Za-z0-9._~+/-]+=*`).
fn check_bearer(exchanged: &Exchanged) -> Result<(), ExchangeError> {
    use secrecy::ExposeSecret;
    let malformed = |expected| {
        ExchangeError::Http(HttpError::Malformed {
            endpoint: ENDPOINT.into(),
            status: 200,
            expected,
        })
    };
    if !exchanged.bearer_type {
        return Err(malformed("token_type Bearer"));
    }
    let token = exchanged.access_token.expose_secret();
    let body = token.trim_end_matches('=');
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"._~+/-".contains(&byte));
    if valid {
        return Ok(());
    }
    Err(malformed(
        "an access_token made of [A-Za-z0-9._~+/-] and trailing =",
    ))
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The API's client under x509: the client of the identity's current generation (rebuilt when
/// the certificate files change), whose refused handshakes become a [`MutualTlsError`].
#[derive(Clone, Debug)]
pub(crate) struct X509ApiClient {
    client: Arc<ReloadingClient>,
}

impl X509ApiClient {
    pub(crate) fn new(
        identity: Arc<ReloadingIdentity>,
        connect_timeout: Duration,
        read_timeout: Duration,
    ) -> Result<Self, X509Error> {
        let client = ReloadingClient::with_timeouts(identity, connect_timeout, read_timeout)?;
        Ok(X509ApiClient {
            client: Arc::new(client),
        })
    }
}

impl ApiClient for X509ApiClient {
    fn client(&self) -> reqwest::Client {
        self.client.client()
    }

    fn transport_error(&self, url: &Url, error: reqwest::Error) -> OpenAIError {
        match tls_failure(&error) {
            // Not retried by the retry layer (it retries only connect errors of reqwest's own
            // type): a refused certificate stays refused.
            Some(failure) => OpenAIError::Boxed(Box::new(MutualTlsError {
                endpoint: origin(url),
                certificate_path: self.client.identity().files().certificate_path.clone(),
                failure,
            })),
            None => crate::transport::transport_error(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rejected x509 exchange URL is named without its user info or query values, as every
    /// other URL in a message.
    #[test]
    fn a_rejected_exchange_url_repeats_no_credential() {
        for text in [
            "https://user:SECRET-PW@auth.example/oauth/token",
            "http://auth.example/oauth/token?key=SECRET-Q",
        ] {
            let error = parse_x509_exchange_url(text).expect_err("rejected");
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains("SECRET"), "{shown}");
            assert!(shown.contains("auth.example"), "{shown}");
        }
        assert!(parse_x509_exchange_url(crate::resolve::DEFAULT_MTLS_TOKEN_EXCHANGE_URL).is_ok());
    }
}
