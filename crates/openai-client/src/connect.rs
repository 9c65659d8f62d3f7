//! From a parsed connection to a ready client: the resolution rules of the reference hook
//! ([`plan`], pure), and [`from_connection`], which builds the async-openai client, its tower
//! stack and, under workload identity, the token cache and its subject-token source.
//!
//! This module holds the one mapping from the connection's provider types to the source crates,
//! which take plain parameters and know no connection format (`build_source`, and `x509_files`
//! for the `x509` provider's certificate files), and the one place a subject token's type is
//! chosen (`token_type`: each source states its own, a custom source takes the configured one,
//! `x509` has none).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_openai::middleware::retry::OpenAIRetryLayer;
use conn_schema::{
    Auth, Connection, CustomConfig, CustomSource, ProviderConfig, ProviderKind, WorkloadIdentity,
    X509Config,
};
use providers_azure::AzureSource;
use providers_core::{
    BoxError, Env, ProcessEnv, RetryPolicy, Sleep, SubjectTokenSource, TokenType,
};
use providers_custom::CommandSource;
use providers_gcp::GcpSource;
use providers_github::GithubActionsSource;
use providers_kubernetes::KubernetesSource;
use providers_x509::{ReloadingIdentity, X509Files};
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

use crate::cache::{TokenCache, TokenCacheBuilder};
use crate::exchange::ExchangeError;
use crate::layer::{DefaultQueryLayer, WorkloadIdentityLayer, is_credential_header};
use crate::plan::{ApiKeyOrigin, BaseUrlOrigin, Plan, plan, resolve_api_key, resolve_base_url};
use crate::transport::ApiTransport;
use crate::x509::X509ApiClient;

/// The API base used when nothing else sets one.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Environment variable holding the API base.
pub const BASE_URL_ENV: &str = "OPENAI_BASE_URL";
/// Environment variable holding the API key (under `api_key` auth only).
pub const API_KEY_ENV: &str = "OPENAI_API_KEY";
/// Environment variable holding the organization id.
pub const ORGANIZATION_ENV: &str = "OPENAI_ORG_ID";
/// Environment variable holding the project id.
pub const PROJECT_ENV: &str = "OPENAI_PROJECT_ID";
/// API request timeout when `openai_client_kwargs.timeout` is absent.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// API retries when `openai_client_kwargs.max_retries` is absent.
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// Turning a connection into a client failed. Every message names the connection id and the key
/// or value at fault; none contains a key or a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// `api_key` auth without any key.
    #[error(
        "connection {conn_id:?} has no api key: set openai_client_kwargs.api_key, the connection \
         password or the {API_KEY_ENV} environment variable"
    )]
    MissingApiKey {
        /// The connection id.
        conn_id: String,
    },
    /// The API key cannot be sent in a header (it holds a control character, for example).
    #[error("connection {conn_id:?}: the api key from {origin} is not a valid header value")]
    InvalidApiKey {
        /// The connection id.
        conn_id: String,
        /// Where the key came from.
        origin: ApiKeyOrigin,
    },
    /// The resolved base URL is not an absolute http(s) URL, or holds credentials.
    #[error("connection {conn_id:?}: invalid base url {url:?} (from {origin}): {reason}")]
    InvalidBaseUrl {
        /// The connection id.
        conn_id: String,
        /// The rejected value, without user info and with query values masked.
        url: String,
        /// Where it came from.
        origin: BaseUrlOrigin,
        /// Why it was rejected.
        reason: String,
    },
    /// A variable the connection would read (`OPENAI_BASE_URL`, `OPENAI_TOKEN_EXCHANGE_URL`) is
    /// set to a value that is not UTF-8: an error, never a silent fall back to the default.
    #[error(
        "connection {conn_id:?}: environment variable {var} is set but its value is not valid UTF-8"
    )]
    EnvNotUnicode {
        /// The connection id.
        conn_id: String,
        /// The variable.
        var: &'static str,
    },
    /// A header name or value cannot be sent.
    #[error("connection {conn_id:?}: {key} is not a valid http header")]
    InvalidHeader {
        /// The connection id.
        conn_id: String,
        /// The offending key, such as `openai_client_kwargs.default_headers.X-Foo`.
        key: String,
    },
    /// The subject-token source could not be set up (an unknown custom provider name, say).
    #[error("connection {conn_id:?}: could not set up the {provider} token source: {source}")]
    Provider {
        /// The connection id.
        conn_id: String,
        /// The provider name.
        provider: &'static str,
        /// The provider crate's error.
        #[source]
        source: BoxError,
    },
    /// The exchange could not be set up (an invalid exchange URL, say).
    #[error("connection {conn_id:?}: {source}")]
    Exchange {
        /// The connection id.
        conn_id: String,
        /// What went wrong.
        #[source]
        source: ExchangeError,
    },
    /// Under x509: the client certificate, its key or the CA bundle could not be loaded (the
    /// message names the file).
    #[error("connection {conn_id:?}: {source}")]
    X509 {
        /// The connection id.
        conn_id: String,
        /// What went wrong, naming the file.
        #[source]
        source: providers_x509::X509Error,
    },
    /// The API's HTTP client could not be built.
    #[error("connection {conn_id:?}: could not build the http client")]
    HttpClient {
        /// The connection id.
        conn_id: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
}

/// Options of [`from_connection`] and [`plan`]: the environment, custom sources, and overrides
/// for tests.
#[derive(Clone)]
pub struct ClientOptions {
    pub(crate) env: Arc<dyn Env>,
    registry: providers_custom::Registry,
    pub(crate) exchange_url: Option<String>,
    pub(crate) applied_overrides: Vec<String>,
    exchange_retry: Option<RetryPolicy>,
    exchange_sleep: Option<Arc<dyn Sleep>>,
    refresh_backoff: Option<RetryPolicy>,
    subject_token_source: Option<Arc<dyn SubjectTokenSource>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            env: Arc::new(ProcessEnv),
            registry: providers_custom::Registry::new(),
            exchange_url: None,
            applied_overrides: Vec::new(),
            exchange_retry: None,
            exchange_sleep: None,
            refresh_backoff: None,
            subject_token_source: None,
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("env", &self.env)
            .field("registry", &self.registry)
            // A URL may carry a credential in its user info or query.
            .field(
                "exchange_url",
                &self.exchange_url.as_deref().map(conn_schema::redact_url),
            )
            .field("exchange_retry", &self.exchange_retry)
            .field("subject_token_source", &self.subject_token_source)
            .finish_non_exhaustive()
    }
}

impl ClientOptions {
    /// Default options: the process environment, no custom sources, no overrides.
    pub fn new() -> Self {
        ClientOptions::default()
    }

    /// Where `OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`,
    /// `OPENAI_TOKEN_EXCHANGE_URL` and the sources' variables are read.
    pub fn with_env(mut self, env: Arc<dyn Env>) -> Self {
        self.env = env;
        self
    }

    /// Names of the `OPENAI_CONN_*` variables the loader applied to the connection, so that the
    /// [`Plan`] lists them among the variables in effect.
    pub fn with_applied_overrides(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.applied_overrides = names.into_iter().collect();
        self
    }

    /// The sources a `custom` connection may name in `token_provider`.
    pub fn with_registry(mut self, registry: providers_custom::Registry) -> Self {
        self.registry = registry;
        self
    }

    /// The exchange endpoint; wins over `OPENAI_TOKEN_EXCHANGE_URL`.
    pub fn with_exchange_url(mut self, url: impl Into<String>) -> Self {
        self.exchange_url = Some(url.into());
        self
    }

    /// Retries of one exchange (tests use `RetryPolicy::without_delays`); feature `test-util`.
    #[cfg(feature = "test-util")]
    pub fn with_exchange_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.exchange_retry = Some(policy);
        self
    }

    /// How the exchange waits between retries; feature `test-util`.
    #[cfg(feature = "test-util")]
    pub fn with_exchange_sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.exchange_sleep = Some(sleep);
        self
    }

    /// Delays between failed background refreshes; feature `test-util`.
    #[cfg(feature = "test-util")]
    pub fn with_refresh_backoff(mut self, policy: RetryPolicy) -> Self {
        self.refresh_backoff = Some(policy);
        self
    }

    /// Uses `source` instead of the one the connection's provider describes (tests, or programs
    /// that build their own source).
    pub fn with_subject_token_source(mut self, source: Arc<dyn SubjectTokenSource>) -> Self {
        self.subject_token_source = Some(source);
        self
    }

    /// The environment, the exchange overrides and the exchange's retries (which follow
    /// `openai_client_kwargs.max_retries`, as the SDK's do), applied to a cache builder.
    fn apply(&self, mut builder: TokenCacheBuilder, max_retries: Option<u32>) -> TokenCacheBuilder {
        builder = builder.env(Arc::clone(&self.env));
        if let Some(url) = &self.exchange_url {
            builder = builder.exchange_url(url.clone());
        }
        let policy = self
            .exchange_retry
            .unwrap_or_else(crate::exchange::default_exchange_retry_policy);
        builder =
            builder.retry_policy(crate::cache::exchange_retry_policy_for(max_retries, policy));
        if let Some(sleep) = &self.exchange_sleep {
            builder = builder.with_sleep(Arc::clone(sleep));
        }
        if let Some(policy) = self.refresh_backoff {
            builder = builder.refresh_backoff(policy);
        }
        builder
    }
}

/// A connection turned into a client. Debug leaves the client out: async-openai's config prints
/// custom header values, which may carry credentials.
#[derive(Clone)]
#[non_exhaustive]
pub struct Connected {
    /// The ready client: base URL, headers, timeout, retries and authentication applied.
    pub client: Client<OpenAIConfig>,
    /// The token cache under workload identity (for counters, or for plain reqwest calls).
    pub token_cache: Option<TokenCache>,
    /// What was resolved.
    pub plan: Plan,
}

impl std::fmt::Debug for Connected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connected")
            .field("client", &"async_openai::Client { .. }")
            .field("token_cache", &self.token_cache)
            .field("plan", &self.plan)
            .finish()
    }
}

/// The Airflow hook's `get_conn`: turns a parsed connection into a ready async-openai client.
///
/// Under `api_key` auth the key is `openai_client_kwargs.api_key`, else the connection password,
/// else `OPENAI_API_KEY`. Under `workload_identity` no API key is ever sent: the tower stack
/// (retry outside, workload identity inside, see [`WorkloadIdentityLayer`]) sets the bearer from
/// the returned [`TokenCache`] on every attempt. No request is sent here.
pub fn from_connection(
    conn: &Connection,
    conn_id: &str,
    options: ClientOptions,
) -> Result<Connected, ClientError> {
    let plan = plan(conn, conn_id, &options)?;
    let kwargs = &conn.extra.client_kwargs;
    let header_error = |key: String| ClientError::InvalidHeader {
        conn_id: conn_id.to_owned(),
        key,
    };

    // The plan shows the base with query values masked; the client gets it as configured.
    let (base_url, _) = resolve_base_url(conn, options.env.as_ref());
    let mut config = OpenAIConfig::new().with_api_base(&base_url);
    // Set explicitly so async-openai's own reads of the process environment never apply; its
    // `Config::headers` parses these with `unwrap`, so they are checked first.
    for (value, key) in [
        (&plan.organization, "openai_client_kwargs.organization"),
        (&plan.project, "openai_client_kwargs.project"),
    ] {
        if let Some(value) = value {
            HeaderValue::from_str(value).map_err(|_| header_error(key.to_owned()))?;
        }
    }
    config = config
        .with_org_id(plan.organization.clone().unwrap_or_default())
        .with_project_id(plan.project.clone().unwrap_or_default());
    let mut x509_identity = None;
    let token_cache = match &conn.extra.auth {
        Auth::ApiKey => {
            let (key, origin) = resolve_api_key(conn, options.env.as_ref()).ok_or_else(|| {
                ClientError::MissingApiKey {
                    conn_id: conn_id.to_owned(),
                }
            })?;
            HeaderValue::from_str(&format!("Bearer {}", key.expose_secret())).map_err(|_| {
                ClientError::InvalidApiKey {
                    conn_id: conn_id.to_owned(),
                    origin,
                }
            })?;
            // The key is exposed here, where async-openai's config that builds the header takes
            // it (it keeps it as a `SecretString`).
            config = config.with_api_key(key.expose_secret());
            None
        }
        Auth::WorkloadIdentity(identity) => {
            // No key: the layer sets the bearer and strips any other credential header.
            config = config.with_api_key("");
            match &identity.provider {
                ProviderConfig::X509(x509) => {
                    let (cache, loaded) =
                        build_x509_cache(identity, x509, kwargs.max_retries, conn_id, &options)?;
                    x509_identity = Some(loaded);
                    Some(cache)
                }
                _ => Some(build_cache(
                    identity,
                    kwargs.max_retries,
                    conn_id,
                    &options,
                )?),
            }
        }
    };
    config = add_default_headers(
        config,
        &kwargs.default_headers,
        token_cache.is_some(),
        conn_id,
    )?;

    let http = providers_http::tls_client_builder()
        // No API request follows a redirect: the transport reports it (see `transport`).
        .redirect(reqwest::redirect::Policy::none())
        .timeout(plan.timeout)
        .build()
        .map_err(|source| ClientError::HttpClient {
            conn_id: conn_id.to_owned(),
            source,
        })?;
    let service = match x509_identity {
        // Under x509 the requests go out with the client of the certificate's current
        // generation; `http` only builds them.
        Some(identity) => build_service(
            ApiTransport::new(
                X509ApiClient::new(identity, plan.timeout).map_err(|source| ClientError::X509 {
                    conn_id: conn_id.to_owned(),
                    source,
                })?,
            ),
            plan.max_retries,
            &kwargs.default_query,
            token_cache.clone(),
        ),
        None => build_service(
            ApiTransport::new(http.clone()),
            plan.max_retries,
            &kwargs.default_query,
            token_cache.clone(),
        ),
    };
    let client = Client::build(http, config).with_http_service(service);
    Ok(Connected {
        client,
        token_cache,
        plan,
    })
}

fn add_default_headers(
    mut config: OpenAIConfig,
    headers: &BTreeMap<String, String>,
    workload_identity: bool,
    conn_id: &str,
) -> Result<OpenAIConfig, ClientError> {
    for (name, value) in headers {
        let key = format!("openai_client_kwargs.default_headers.{name}");
        let invalid = || ClientError::InvalidHeader {
            conn_id: conn_id.to_owned(),
            key: key.clone(),
        };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        if workload_identity && is_credential_header(&header) {
            // The layer would remove it anyway; skipping it keeps it out of the config too.
            tracing::warn!(
                target: "openai_conn_client::connect",
                conn_id,
                header = %header,
                "credential header in default_headers ignored under workload identity"
            );
            continue;
        }
        config = config
            .with_header(header, value.as_str())
            .map_err(|_| invalid())?;
    }
    Ok(config)
}

type HttpService = BoxCloneSyncService<HttpRequestFactory, reqwest::Response, OpenAIError>;

fn build_service<T>(
    transport: T,
    max_retries: u32,
    default_query: &BTreeMap<String, String>,
    token_cache: Option<TokenCache>,
) -> HttpService
where
    T: tower::Service<HttpRequestFactory, Response = reqwest::Response, Error = OpenAIError>
        + Clone
        + Send
        + Sync
        + 'static,
    T::Future: Send + 'static,
{
    let query = (!default_query.is_empty()).then(|| {
        DefaultQueryLayer::new(
            default_query
                .iter()
                .map(|(name, value)| (name.clone(), value.clone())),
        )
    });
    // Order, outermost first: retry (429, 5xx, connection errors), default query, workload
    // identity, transport. Workload identity sits inside the retry so every retry attempt reads
    // the cache again (a token refreshed during a long `Retry-After` wait is picked up) and a 401
    // replay does not consume the retry budget; the retry layer only sees the response that
    // follows any replay.
    let service = ServiceBuilder::new()
        .layer(OpenAIRetryLayer::new(
            usize::try_from(max_retries).unwrap_or(usize::MAX),
        ))
        .option_layer(query)
        .option_layer(token_cache.map(WorkloadIdentityLayer::new))
        .service(transport);
    BoxCloneSyncService::new(service)
}

fn build_cache(
    identity: &WorkloadIdentity,
    max_retries: Option<u32>,
    conn_id: &str,
    options: &ClientOptions,
) -> Result<TokenCache, ClientError> {
    let source = match &options.subject_token_source {
        Some(source) => Arc::clone(source),
        None => build_source(&identity.provider, conn_id, options)?,
    };
    let builder = TokenCache::builder(
        source,
        identity.identity_provider_id.clone(),
        identity.service_account_id.clone(),
    );
    options
        .apply(builder.refresh_buffer(identity.refresh_buffer), max_retries)
        .build()
        .map_err(|source| ClientError::Exchange {
            conn_id: conn_id.to_owned(),
            source,
        })
}

/// Under x509: loads the identity (every file error surfaces here, naming the file) and builds
/// the token cache that exchanges it over mutual TLS.
fn build_x509_cache(
    identity: &WorkloadIdentity,
    config: &X509Config,
    max_retries: Option<u32>,
    conn_id: &str,
    options: &ClientOptions,
) -> Result<(TokenCache, Arc<ReloadingIdentity>), ClientError> {
    let loaded =
        ReloadingIdentity::load(x509_files(config)).map_err(|source| ClientError::X509 {
            conn_id: conn_id.to_owned(),
            source,
        })?;
    let loaded = Arc::new(loaded);
    let builder = TokenCache::x509_builder(
        Arc::clone(&loaded),
        identity.identity_provider_id.clone(),
        identity.service_account_id.clone(),
    );
    let cache = options
        .apply(builder.refresh_buffer(identity.refresh_buffer), max_retries)
        .build()
        .map_err(|source| ClientError::Exchange {
            conn_id: conn_id.to_owned(),
            source,
        })?;
    Ok((cache, loaded))
}

/// The files of a connection's `x509` provider, as `providers_x509` takes them.
fn x509_files(config: &X509Config) -> X509Files {
    let files = X509Files::new(&config.certificate_path, &config.private_key_path);
    match &config.ca_bundle_path {
        Some(path) => files.with_ca_bundle(path),
        None => files,
    }
}

/// The source the connection's provider describes. This is the one mapping from the connection
/// model to the source crates: each of them is built from plain parameters, with the defaults
/// the parser filled in, and re-checks nothing the parser checked.
fn build_source(
    provider: &ProviderConfig,
    conn_id: &str,
    options: &ClientOptions,
) -> Result<Arc<dyn SubjectTokenSource>, ClientError> {
    let env = || Arc::clone(&options.env);
    Ok(match provider {
        ProviderConfig::Kubernetes(config) => {
            Arc::new(KubernetesSource::new(&config.token_file_path))
        }
        ProviderConfig::Azure(config) => {
            let mut source =
                AzureSource::new(&config.resource, env()).with_api_version(&config.api_version);
            if let Some(client_id) = &config.client_id {
                source = source.with_client_id(client_id);
            }
            if let Some(object_id) = &config.object_id {
                source = source.with_object_id(object_id);
            }
            if let Some(msi_res_id) = &config.msi_res_id {
                source = source.with_msi_res_id(msi_res_id);
            }
            Arc::new(source)
        }
        ProviderConfig::Gcp(config) => Arc::new(GcpSource::new(&config.audience, env())),
        ProviderConfig::GithubActions(config) => {
            Arc::new(GithubActionsSource::new(&config.audience, env()))
        }
        ProviderConfig::Custom(config) => {
            let provider_error = |source: BoxError| ClientError::Provider {
                conn_id: conn_id.to_owned(),
                provider: ProviderKind::Custom.as_str(),
                source,
            };
            let token_type = custom_token_type(config);
            match &config.source {
                CustomSource::Registered(name) => options
                    .registry
                    .source(name, token_type)
                    .map_err(|error| provider_error(Box::new(error)))?,
                CustomSource::Command { argv, timeout } => {
                    Arc::new(CommandSource::new(argv.clone(), *timeout, token_type))
                }
            }
        }
        // `from_connection` builds the x509 cache without a source; this keeps the mapping total.
        ProviderConfig::X509(_) => {
            return Err(ClientError::Provider {
                conn_id: conn_id.to_owned(),
                provider: ProviderKind::X509.as_str(),
                source: "x509 presents a client certificate; it has no subject-token source".into(),
            });
        }
    })
}

/// The type of the subject tokens `provider` yields: the one its source states, or for a custom
/// source the configured `token_type`; `None` under `x509`, where the client certificate of the
/// mutual-TLS handshake is the subject.
pub(crate) fn token_type(provider: &ProviderConfig) -> Option<TokenType> {
    Some(match provider {
        ProviderConfig::Kubernetes(_) => KubernetesSource::TOKEN_TYPE,
        ProviderConfig::Azure(_) => AzureSource::TOKEN_TYPE,
        ProviderConfig::Gcp(_) => GcpSource::TOKEN_TYPE,
        ProviderConfig::GithubActions(_) => GithubActionsSource::TOKEN_TYPE,
        ProviderConfig::Custom(config) => custom_token_type(config),
        ProviderConfig::X509(_) => return None,
    })
}

fn custom_token_type(config: &CustomConfig) -> TokenType {
    match config.token_type {
        conn_schema::TokenType::Jwt => TokenType::Jwt,
        conn_schema::TokenType::Id => TokenType::Id,
    }
}
