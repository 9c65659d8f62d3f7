//! Building a [`TokenCache`]: the grant (a subject-token source or an X.509 identity), the
//! exchange endpoint (an option, else `OPENAI_TOKEN_EXCHANGE_URL`, else the default) and the
//! retry policy become one [`TokenMinter`]; the cache is then built from that minter alone.

use std::sync::Arc;
use std::time::Duration;

use providers_core::{Env, ProcessEnv, RetryPolicy, SdkRetryPolicy, Sleep, SubjectTokenSource};
use providers_http::TokioSleep;
use providers_x509::ReloadingIdentity;

use crate::cache::{DEFAULT_FLIGHT_DEADLINE, DEFAULT_REFRESH_BUFFER, TokenCache};
use crate::errors::ExchangeError;
use crate::exchange::{
    ExchangeTarget, Exchanger, SubjectTokenMinter, default_exchange_retry_policy,
    parse_exchange_url,
};
use crate::mint::TokenMinter;
use crate::resolve::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MTLS_TOKEN_EXCHANGE_URL, DEFAULT_TIMEOUT, UrlText,
    resolve_exchange_url, resolve_exchange_url_with_default,
};
use crate::server_text::ConfiguredSecrets;
use crate::x509::{X509Exchanger, parse_x509_exchange_url};

/// The exchange's retry policy for a connection: `policy`'s delays, with
/// `openai_client_kwargs.max_retries` retries when set (so `0` means one attempt, as in the
/// Python SDK), else `policy`'s own count.
pub(crate) fn exchange_retry_policy_for(
    max_retries: Option<u32>,
    policy: RetryPolicy,
) -> RetryPolicy {
    RetryPolicy {
        max_retries: max_retries.unwrap_or(policy.max_retries),
        ..policy
    }
}

/// What a cache trades for access tokens.
#[derive(Clone, Debug)]
enum Grant {
    /// Subject tokens from a source, exchanged per RFC 8693.
    SubjectToken(Arc<dyn SubjectTokenSource>),
    /// The client certificate, presented over mutual TLS (no subject token).
    X509(Arc<ReloadingIdentity>),
}

/// Builds a [`TokenCache`]. Debug shows the exchange URL without credentials or query values.
#[derive(Debug)]
pub struct TokenCacheBuilder {
    grant: Grant,
    identity_provider_id: String,
    service_account_id: String,
    refresh_buffer: Duration,
    exchange_url: Option<UrlText>,
    env: Arc<dyn Env>,
    retry_policy: RetryPolicy,
    sleep: Arc<dyn Sleep>,
    refresh_backoff: RetryPolicy,
    flight_deadline: Duration,
    x509_api_timeouts: (Duration, Duration),
    secrets: ConfiguredSecrets,
}

impl TokenCacheBuilder {
    /// Seconds before expiry at which the token is refreshed, at most half its lifetime.
    /// Default: 1200 s.
    pub fn refresh_buffer(mut self, buffer: Duration) -> Self {
        self.refresh_buffer = buffer;
        self
    }

    /// The exchange endpoint; wins over `OPENAI_TOKEN_EXCHANGE_URL`.
    /// Default: `https://auth.openai.com/oauth/token`, or
    /// `https://mtls.auth.openai.com/oauth/token` for [`TokenCache::x509_builder`].
    pub fn exchange_url(mut self, url: impl Into<String>) -> Self {
        self.exchange_url = Some(UrlText::new(url));
        self
    }

    /// Where `OPENAI_TOKEN_EXCHANGE_URL` is read. Default: the process environment.
    pub fn env(mut self, env: Arc<dyn Env>) -> Self {
        self.env = env;
        self
    }

    /// Retries of one exchange. Default: 2 retries, 0.5 s doubling to 8 s, `Retry-After` ≤ 60 s.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// How the exchange waits between retries. Default: tokio's timer. A test knob (feature
    /// `test-util`): tokio's paused clock already makes waits free in tests.
    #[cfg(feature = "test-util")]
    pub fn sleep(self, sleep: Arc<dyn Sleep>) -> Self {
        self.with_sleep(sleep)
    }

    pub(crate) fn with_sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.sleep = sleep;
        self
    }

    /// Delays between failed background refreshes while the old token is still served; only
    /// `base_delay`, `max_delay` and `jitter` are used. Default: 1 s doubling to 60 s.
    pub fn refresh_backoff(mut self, policy: RetryPolicy) -> Self {
        self.refresh_backoff = policy;
        self
    }

    /// The overall deadline of one token flight (the subject-token fetch and the exchange, all
    /// retries included); past it, every waiting caller gets [`ExchangeError::Deadline`].
    /// Default: [`DEFAULT_FLIGHT_DEADLINE`] (120 s).
    pub fn flight_deadline(mut self, deadline: Duration) -> Self {
        self.flight_deadline = deadline;
        self
    }

    /// Under x509, the API client's timeouts (connect, each read): each phase of the exchange
    /// gets the smaller of the API's and 10 s, as in the SDK. Default: 5 s and 600 s.
    pub fn x509_exchange_timeouts(mut self, connect: Duration, read: Duration) -> Self {
        self.x509_api_timeouts = (connect, read);
        self
    }

    /// The configured secrets that no exchange error may repeat (the connection's, from
    /// `from_connection`).
    pub(crate) fn scrubbing(mut self, secrets: ConfiguredSecrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// Checks the exchange URL and builds the cache (and its one HTTP client). No request is sent
    /// until the first [`TokenCache::token`].
    pub fn build(self) -> Result<TokenCache, ExchangeError> {
        let minter: Arc<dyn TokenMinter> = match self.grant {
            Grant::SubjectToken(source) => {
                let (url, _) = resolve_exchange_url(
                    self.exchange_url.as_ref().map(UrlText::as_str),
                    self.env.as_ref(),
                );
                let target = ExchangeTarget {
                    url: parse_exchange_url(&url)?,
                    identity_provider_id: self.identity_provider_id,
                    service_account_id: self.service_account_id,
                };
                let exchanger =
                    Exchanger::new(target, self.retry_policy, self.sleep)?.scrubbing(self.secrets);
                Arc::new(SubjectTokenMinter::new(source, exchanger))
            }
            Grant::X509(identity) => {
                let (url, _) = resolve_exchange_url_with_default(
                    self.exchange_url.as_ref().map(UrlText::as_str),
                    self.env.as_ref(),
                    DEFAULT_MTLS_TOKEN_EXCHANGE_URL,
                );
                let target = ExchangeTarget {
                    url: parse_x509_exchange_url(&url)?,
                    identity_provider_id: self.identity_provider_id,
                    service_account_id: self.service_account_id,
                };
                Arc::new(
                    X509Exchanger::new(
                        identity,
                        target,
                        SdkRetryPolicy::x509_exchange(self.retry_policy.max_retries),
                        self.x509_api_timeouts,
                        self.sleep,
                    )?
                    .scrubbing(self.secrets),
                )
            }
        };
        Ok(TokenCache::from_minter(
            minter,
            self.refresh_buffer,
            self.refresh_backoff,
            self.flight_deadline,
        ))
    }
}

impl TokenCache {
    /// Starts building a cache that exchanges tokens from `source` for the given identity
    /// provider and service account.
    pub fn builder(
        source: Arc<dyn SubjectTokenSource>,
        identity_provider_id: impl Into<String>,
        service_account_id: impl Into<String>,
    ) -> TokenCacheBuilder {
        Self::builder_for(
            Grant::SubjectToken(source),
            identity_provider_id.into(),
            service_account_id.into(),
        )
    }

    /// Starts building a cache that exchanges the client certificate of `identity` over mutual
    /// TLS (X.509 workload identity: no subject token). The exchange presents the identity's
    /// current certificate, so a rotation on disk is picked up by the next exchange.
    pub fn x509_builder(
        identity: Arc<ReloadingIdentity>,
        identity_provider_id: impl Into<String>,
        service_account_id: impl Into<String>,
    ) -> TokenCacheBuilder {
        Self::builder_for(
            Grant::X509(identity),
            identity_provider_id.into(),
            service_account_id.into(),
        )
    }

    fn builder_for(
        grant: Grant,
        identity_provider_id: String,
        service_account_id: String,
    ) -> TokenCacheBuilder {
        TokenCacheBuilder {
            grant,
            identity_provider_id,
            service_account_id,
            refresh_buffer: DEFAULT_REFRESH_BUFFER,
            exchange_url: None,
            env: Arc::new(ProcessEnv),
            retry_policy: default_exchange_retry_policy(),
            sleep: Arc::new(TokioSleep),
            refresh_backoff: RetryPolicy::exponential(
                u32::MAX,
                Duration::from_secs(1),
                Duration::from_secs(60),
            ),
            flight_deadline: DEFAULT_FLIGHT_DEADLINE,
            x509_api_timeouts: (DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT),
            secrets: ConfiguredSecrets::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use providers_core::{BoxFuture, SourceError, SubjectToken, TokenType};

    #[derive(Debug)]
    struct NeverFetched;

    impl SubjectTokenSource for NeverFetched {
        fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>> {
            Box::pin(async { Ok(SubjectToken::new("subject", TokenType::Jwt)) })
        }
    }

    #[test]
    fn debug_shows_the_exchange_url_without_its_credentials() {
        let url = "https://user:pw-SECRET@auth.example.com/token?key=query-SECRET";
        let builder = TokenCache::builder(Arc::new(NeverFetched), "idp", "sa").exchange_url(url);
        let options = crate::ClientOptions::new().with_exchange_url(url);
        for debug in [format!("{builder:?}"), format!("{options:?}")] {
            assert!(!debug.contains("SECRET"), "{debug}");
            assert!(debug.contains("auth.example.com/token"), "{debug}");
        }
    }
}
