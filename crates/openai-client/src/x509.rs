//! X.509 workload identity in the client: the exchange over mutual TLS (four JSON fields, no
//! subject token), the API transport that presents the same certificate, and the mapping from
//! an `x509` connection to both.
//!
//! The certificate files are `providers_x509`'s business: a [`ReloadingIdentity`] follows them on
//! disk, and each [`ReloadingClient`] here (one for the exchange, with its 10 s timeout, one for
//! the API, with the connection's timeout) asks it for the current generation before every
//! request, so a rotation is picked up by the next connection and no request fails because of it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use conn_schema::{Connection, WorkloadIdentity, X509Config};
use providers_core::{BoxFuture, RetryPolicy, Sleep};
use providers_http::{Retryable, retry_with_policy};
use providers_x509::{ReloadingClient, ReloadingIdentity, TlsFailure, X509Files, tls_failure};
use url::Url;

use crate::cache::{TokenCache, resolve_exchange_url_with_default};
use crate::connect::{
    AuthPlan, BaseUrlOrigin, ClientError, ClientOptions, refresh_buffer, resolve_api_key,
};
use crate::exchange::{
    EXCHANGE_TIMEOUT, ExchangeError, Exchanged, TOKEN_EXCHANGE_GRANT_TYPE, parse_oauth_error,
    parse_success, transport_error,
};

/// The API base under x509 when neither the connection nor `OPENAI_BASE_URL` sets one.
pub const DEFAULT_MTLS_BASE_URL: &str = "https://mtls.api.openai.com/v1";
/// The exchange endpoint under x509 when neither an option nor `OPENAI_TOKEN_EXCHANGE_URL` sets
/// one.
pub const DEFAULT_MTLS_TOKEN_EXCHANGE_URL: &str = "https://mtls.auth.openai.com/oauth/token";
/// The `subject_token_type` of an X.509 exchange (the certificate is the subject).
pub const X509_SUBJECT_TOKEN_TYPE: &str = "urn:openai:params:oauth:token-type:x509";

/// The files of a connection's `x509` provider, as `providers_x509` takes them.
fn files(config: &X509Config) -> X509Files {
    let files = X509Files::new(&config.certificate_path, &config.private_key_path);
    match &config.ca_bundle_path {
        Some(path) => files.with_ca_bundle(path),
        None => files,
    }
}

/// Mutual TLS needs `https`: the certificate is presented in the TLS handshake.
fn require_https(url: &str) -> Result<Url, String> {
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

fn parse_x509_exchange_url(text: &str) -> Result<Url, ExchangeError> {
    require_https(text).map_err(|reason| ExchangeError::InvalidUrl {
        url: text.to_owned(),
        reason,
    })
}

/// The plan of an `x509` connection: its files, ids, refresh buffer and exchange endpoint.
pub(crate) fn auth_plan(
    conn: &Connection,
    identity: &WorkloadIdentity,
    config: &X509Config,
    base_url: (&str, BaseUrlOrigin),
    conn_id: &str,
    options: &ClientOptions,
) -> Result<AuthPlan, ClientError> {
    let env = options.env();
    require_https(base_url.0).map_err(|reason| ClientError::InvalidBaseUrl {
        conn_id: conn_id.to_owned(),
        url: base_url.0.to_owned(),
        origin: base_url.1,
        reason,
    })?;
    let (exchange_url, exchange_url_origin) = resolve_exchange_url_with_default(
        options.exchange_url(),
        env,
        DEFAULT_MTLS_TOKEN_EXCHANGE_URL,
    );
    parse_x509_exchange_url(&exchange_url).map_err(|source| ClientError::Exchange {
        conn_id: conn_id.to_owned(),
        source,
    })?;
    Ok(AuthPlan::X509WorkloadIdentity {
        certificate_path: PathBuf::from(&config.certificate_path),
        private_key_path: PathBuf::from(&config.private_key_path),
        ca_bundle_path: config.ca_bundle_path.as_ref().map(PathBuf::from),
        identity_provider_id: identity.identity_provider_id.clone(),
        service_account_id: identity.service_account_id.clone(),
        refresh_buffer: refresh_buffer(identity),
        exchange_url,
        exchange_url_origin,
        ignored_api_key: resolve_api_key(conn, env).map(|(_, origin)| origin),
    })
}

/// Loads the identity (every file error surfaces here, naming the file) and builds the token
/// cache that exchanges it.
pub(crate) fn build_cache(
    identity: &WorkloadIdentity,
    config: &X509Config,
    conn_id: &str,
    options: &ClientOptions,
) -> Result<(TokenCache, Arc<ReloadingIdentity>), ClientError> {
    let loaded =
        Arc::new(
            ReloadingIdentity::load(files(config)).map_err(|source| ClientError::X509 {
                conn_id: conn_id.to_owned(),
                source,
            })?,
        );
    let mut builder = TokenCache::x509_builder(
        Arc::clone(&loaded),
        identity.identity_provider_id.clone(),
        identity.service_account_id.clone(),
    );
    builder = options.apply(builder.refresh_buffer(refresh_buffer(identity)));
    let cache = builder.build().map_err(|source| ClientError::Exchange {
        conn_id: conn_id.to_owned(),
        source,
    })?;
    Ok((cache, loaded))
}

/// An exchange attempt's error, sorted with the SDK's X.509 retry rule: 409 is retried too.
struct Attempt(ExchangeError);

impl std::fmt::Display for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Retryable for Attempt {
    fn is_retried(&self) -> bool {
        self.0.is_retried() || self.0.status() == Some(409)
    }

    fn retry_after(&self) -> Option<Duration> {
        Retryable::retry_after(&self.0)
    }
}

/// Performs X.509 exchanges: `POST` over mutual TLS with the identity's current certificate.
pub(crate) struct X509Exchanger {
    client: ReloadingClient,
    url: Url,
    identity_provider_id: String,
    service_account_id: String,
    policy: RetryPolicy,
    sleep: Arc<dyn Sleep>,
}

impl std::fmt::Debug for X509Exchanger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X509Exchanger")
            .field("url", &self.url.as_str())
            .field("identity", self.client.identity())
            .field("identity_provider_id", &self.identity_provider_id)
            .field("service_account_id", &self.service_account_id)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl X509Exchanger {
    pub(crate) fn new(
        identity: Arc<ReloadingIdentity>,
        url: &str,
        identity_provider_id: String,
        service_account_id: String,
        policy: RetryPolicy,
        sleep: Arc<dyn Sleep>,
    ) -> Result<Self, ExchangeError> {
        let url = parse_x509_exchange_url(url)?;
        let client = ReloadingClient::new(identity, EXCHANGE_TIMEOUT)
            .map_err(|error| ExchangeError::X509(Arc::new(error)))?;
        Ok(X509Exchanger {
            client,
            url,
            identity_provider_id,
            service_account_id,
            policy,
            sleep,
        })
    }

    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    pub(crate) async fn exchange(
        &self,
        on_attempt: &(dyn Fn() + Send + Sync),
    ) -> Result<Exchanged, ExchangeError> {
        retry_with_policy(
            self.sleep.as_ref(),
            &self.policy,
            "openai x509 token exchange",
            |retries_done| {
                on_attempt();
                self.attempt(retries_done + 1)
            },
        )
        .await
        .map_err(|Attempt(error)| error)
    }

    async fn attempt(&self, attempt: u32) -> Result<Exchanged, Attempt> {
        let started = Instant::now();
        let result = self.send().await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &result {
            Ok(exchanged) => tracing::info!(
                target: "openai_client::exchange",
                attempt,
                duration_ms,
                expires_in = exchanged.expires_in.as_secs(),
                mode = "x509",
                outcome = "ok",
                "token exchange succeeded"
            ),
            Err(error) => tracing::warn!(
                target: "openai_client::exchange",
                attempt,
                duration_ms,
                status = error.status(),
                mode = "x509",
                outcome = "error",
                error = %error,
                "token exchange failed"
            ),
        }
        result.map_err(Attempt)
    }

    async fn send(&self) -> Result<Exchanged, ExchangeError> {
        // Exactly the SDK's four fields; the certificate of the TLS handshake is the subject.
        let body = serde_json::json!({
            "grant_type": TOKEN_EXCHANGE_GRANT_TYPE,
            "subject_token_type": X509_SUBJECT_TOKEN_TYPE,
            "identity_provider_id": self.identity_provider_id,
            "service_account_id": self.service_account_id,
        });
        let response = self
            .client
            .client()
            .post(self.url.clone())
            .json(&body)
            .send()
            .await
            .map_err(|error| self.request_error(error))?;
        let status = response.status().as_u16();
        let retry_after = providers_http::retry_after(response.headers());
        match status {
            200..=299 => {
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|error| self.request_error(error))?;
                parse_success(&bytes, status)
            }
            300..=399 => Err(ExchangeError::Redirect { status }),
            400 | 401 | 403 => {
                let bytes = response.bytes().await.unwrap_or_default();
                Err(parse_oauth_error(&bytes, status))
            }
            _ => Err(ExchangeError::Status {
                status,
                retry_after,
            }),
        }
    }

    fn request_error(&self, error: reqwest::Error) -> ExchangeError {
        match tls_failure(&error) {
            Some(failure) => ExchangeError::MutualTls(Arc::new(MutualTlsError {
                endpoint: origin(&self.url),
                certificate_path: self.client.identity().files().certificate_path.clone(),
                failure,
            })),
            None => transport_error(error),
        }
    }
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// A mutual-TLS handshake failed: the server refused the client certificate, or the server's
/// own certificate is not trusted. Under x509 the API's transport returns it inside
/// [`OpenAIError::Boxed`]; the exchange inside [`ExchangeError::MutualTls`].
#[derive(Clone, Debug, thiserror::Error)]
#[error("{endpoint}: {failure} (certificate_path {certificate_path:?})")]
pub struct MutualTlsError {
    /// The origin of the request, such as `https://mtls.api.openai.com`.
    pub endpoint: String,
    /// The client certificate file.
    pub certificate_path: PathBuf,
    /// What failed.
    pub failure: TlsFailure,
}

/// The bottom of the API's tower stack under x509: sends each request with the client of the
/// identity's current generation.
#[derive(Clone, Debug)]
pub(crate) struct X509Transport {
    client: Arc<ReloadingClient>,
}

impl X509Transport {
    pub(crate) fn new(
        identity: Arc<ReloadingIdentity>,
        timeout: Duration,
        conn_id: &str,
    ) -> Result<Self, ClientError> {
        let client =
            ReloadingClient::new(identity, timeout).map_err(|source| ClientError::X509 {
                conn_id: conn_id.to_owned(),
                source,
            })?;
        Ok(X509Transport {
            client: Arc::new(client),
        })
    }
}

impl tower::Service<HttpRequestFactory> for X509Transport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = BoxFuture<'static, Result<reqwest::Response, OpenAIError>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let client = self.client.client();
        let certificate_path = self.client.identity().files().certificate_path.clone();
        Box::pin(async move {
            let request = factory.build().await?;
            let endpoint = origin(request.url());
            client
                .execute(request)
                .await
                .map_err(|error| match tls_failure(&error) {
                    // Not retried by the retry layer (it retries only connect errors of reqwest's
                    // own type): a refused certificate stays refused.
                    Some(failure) => OpenAIError::Boxed(Box::new(MutualTlsError {
                        endpoint,
                        certificate_path,
                        failure,
                    })),
                    None => OpenAIError::Reqwest(error),
                })
        })
    }
}
