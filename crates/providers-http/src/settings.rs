//! The skeleton of an HTTP subject-token source: what every one of them holds (one client, the
//! timeout of each attempt, its retry policies and the sleep between attempts), built once, and
//! the error trait whose shared methods are written here once.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use providers_core::{RetryPolicy, Sleep, SourceError, SubjectToken, TokenType};
use secrecy::SecretString;

use crate::{HttpError, Proxy, Retryable, TokioSleep, build_client, retry_with_policies};

/// What every HTTP source shares: one client (redirects off, the proxy rule applied), the timeout
/// of each attempt including reading the reply, one retry policy per budget (see
/// [`Retryable::budget`]), and the sleep between attempts (tokio's timer).
///
/// Built once with [`HttpSettings::build`], which fails when the client cannot be built. The
/// knobs tests need (another sleep, schedule or timeout) are behind the `test-util` feature.
pub struct HttpSettings {
    /// The request as the debug event of each retry names it.
    request: &'static str,
    client: reqwest::Client,
    timeout: Duration,
    retry_policies: Vec<RetryPolicy>,
    sleep: Arc<dyn Sleep>,
}

impl HttpSettings {
    /// Builds the client for `endpoint` (named in the error) with `proxy`, and keeps the
    /// source's defaults: `timeout` per attempt and `retry_policies`, one per budget; `request`
    /// names the request in the debug event of each retry.
    pub fn build(
        request: &'static str,
        endpoint: impl Into<Cow<'static, str>>,
        proxy: Proxy,
        timeout: Duration,
        retry_policies: &[RetryPolicy],
    ) -> Result<HttpSettings, HttpError> {
        let client = build_client(proxy).map_err(|source| HttpError::Client {
            endpoint: endpoint.into(),
            source,
        })?;
        Ok(HttpSettings {
            request,
            client,
            timeout,
            retry_policies: retry_policies.to_vec(),
            sleep: Arc::new(TokioSleep),
        })
    }

    /// The client every attempt uses.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The limit on each attempt, including reading the reply.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A `GET` of `url` on the client, with the timeout of an attempt.
    pub fn get(&self, url: url::Url) -> reqwest::RequestBuilder {
        self.client.get(url).timeout(self.timeout)
    }

    /// Runs `attempt` under the retry policies, sleeping between attempts (see
    /// [`retry_with_policies`]).
    pub async fn retry<T, E, F, Fut>(&self, attempt: F) -> Result<T, E>
    where
        E: Retryable,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        retry_with_policies(&*self.sleep, &self.retry_policies, self.request, attempt).await
    }

    /// [`HttpSettings::retry`] for a subject token: the secret `attempt` yields becomes a
    /// token of `token_type`.
    pub async fn fetch<E, F, Fut>(
        &self,
        token_type: TokenType,
        attempt: F,
    ) -> Result<SubjectToken, E>
    where
        E: Retryable,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<SecretString, E>>,
    {
        let secret = self.retry(attempt).await?;
        Ok(SubjectToken::new(secret, token_type))
    }

    /// Replaces the policy of `budget` (0 for the usual one). Feature `test-util`.
    #[cfg(feature = "test-util")]
    pub fn set_retry_policy(&mut self, budget: usize, policy: RetryPolicy) {
        if let Some(slot) = self.retry_policies.get_mut(budget) {
            *slot = policy;
        }
    }

    /// Sleeps between attempts with `sleep` instead of tokio's timer. Feature `test-util`.
    #[cfg(feature = "test-util")]
    pub fn set_sleep(&mut self, sleep: Arc<dyn Sleep>) {
        self.sleep = sleep;
    }

    /// Replaces the timeout of each attempt. Feature `test-util`.
    #[cfg(feature = "test-util")]
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }
}

/// A source built on [`HttpSettings`]; with the `test-util` feature it takes the knobs tests
/// need, written here once.
pub trait HttpSource: Sized {
    /// The source's settings, for the knobs to adjust.
    fn http_settings(&mut self) -> &mut HttpSettings;

    /// Replaces the source's retry policy (the usual budget). Feature `test-util`.
    #[cfg(feature = "test-util")]
    fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.http_settings().set_retry_policy(0, policy);
        self
    }

    /// Sleeps between attempts with `sleep` instead of tokio's timer. Feature `test-util`.
    #[cfg(feature = "test-util")]
    fn with_sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.http_settings().set_sleep(sleep);
        self
    }

    /// Replaces the source's timeout of each attempt, including reading the reply. Feature
    /// `test-util`.
    #[cfg(feature = "test-util")]
    fn with_timeout(mut self, timeout: Duration) -> Self {
        self.http_settings().set_timeout(timeout);
        self
    }
}

impl fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The client and the sleep have nothing to show.
        let Self {
            timeout,
            retry_policies,
            ..
        } = self;
        write!(
            f,
            "HttpSettings {{ timeout: {timeout:?}, retry_policies: {retry_policies:?}, .. }}"
        )
    }
}

/// The error of an HTTP source: its own protocol's variants, and the shared [`HttpError`] for
/// the rest. The methods every such error has are written here once.
pub trait SourceHttpError: std::error::Error + Send + Sync + Sized + 'static {
    /// The provider's name in a [`SourceError`] (`gcp`, `azure`, ...).
    const PROVIDER: &'static str;

    /// The shared failure, when this is one.
    fn http(&self) -> Option<&HttpError>;

    /// The step that failed, as [`SourceError::step`] reports it.
    fn step(&self) -> &'static str;

    /// Whether the source retries a reply with this status itself (each protocol follows its
    /// reference client).
    fn retries_status(&self, status: u16) -> bool;

    /// Whether trying again later may succeed: timeouts, connection and transport failures, 408,
    /// 429 and 5xx. The source's own variants (a bad environment) stay as they are.
    fn is_transient(&self) -> bool {
        self.http().is_some_and(HttpError::is_transient)
    }

    /// The HTTP status the endpoint answered, when it answered.
    fn status(&self) -> Option<u16> {
        self.http().and_then(HttpError::status)
    }

    /// The error as a [`SourceError`] of [`SourceHttpError::PROVIDER`].
    fn into_source_error(self) -> SourceError {
        let step = self.step();
        let transient = self.is_transient();
        SourceError::new(Self::PROVIDER, step, transient, self)
    }
}

/// Whether `error` is retried by its source: a status the protocol retries, or any other
/// transient failure (timeouts, connection and transport failures).
pub fn is_retried<E: SourceHttpError>(error: &E) -> bool {
    match error.http() {
        Some(HttpError::Status { status, .. }) => error.retries_status(*status),
        _ => error.is_transient(),
    }
}

/// The server's `Retry-After`, when the failure carries one.
pub fn retry_after_of<E: SourceHttpError>(error: &E) -> Option<Duration> {
    error.http().and_then(HttpError::retry_after)
}

/// Writes, for an error type that implements [`SourceHttpError`], the [`Retryable`] the retry
/// loop sorts it with (its retried statuses, the server's `Retry-After`) and its conversion into
/// a [`SourceError`]. A protocol with more rules (a budget of its own) writes both itself.
#[macro_export]
macro_rules! source_http_error {
    ($error:ty) => {
        impl $crate::Retryable for $error {
            fn is_retried(&self) -> bool {
                $crate::is_retried(self)
            }

            fn retry_after(&self) -> Option<::std::time::Duration> {
                $crate::retry_after_of(self)
            }
        }

        impl From<$error> for ::providers_core::SourceError {
            fn from(error: $error) -> Self {
                $crate::SourceHttpError::into_source_error(error)
            }
        }
    };
}

/// Writes, for a source with an [`HttpSettings`] field named `http` and an inherent
/// `async fn fetch_token(&self) -> Result<SubjectToken, E>` where `E` implements
/// [`SourceHttpError`], its [`HttpSource`] and its `SubjectTokenSource`.
#[macro_export]
macro_rules! http_source {
    ($source:ty, $error:ty) => {
        impl $crate::HttpSource for $source {
            fn http_settings(&mut self) -> &mut $crate::HttpSettings {
                &mut self.http
            }
        }

        impl ::providers_core::SubjectTokenSource for $source {
            fn fetch(
                &self,
            ) -> ::providers_core::BoxFuture<
                '_,
                Result<::providers_core::SubjectToken, ::providers_core::SourceError>,
            > {
                Box::pin(async move {
                    self.fetch_token()
                        .await
                        .map_err(<$error as $crate::SourceHttpError>::into_source_error)
                })
            }

            fn endpoint(&self) -> Option<String> {
                self.endpoint_description().ok()
            }
        }
    };
}
