//! From a parsed connection to a ready client: the resolution rules of the reference hook
//! ([`plan`], pure), and [`from_connection`], which builds the async-openai client, its tower
//! stack and, under workload identity, the token cache and its subject-token source.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_openai::middleware::retry::OpenAIRetryLayer;
use conn_schema::{Auth, Connection, ProviderConfig, ProviderKind, WorkloadIdentity};
use providers_core::{BoxError, Env, ProcessEnv, RetryPolicy, Sleep, SubjectTokenSource};
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

use crate::cache::{DEFAULT_REFRESH_BUFFER, ExchangeUrlOrigin, TokenCache, resolve_exchange_url};
use crate::exchange::{ExchangeError, parse_exchange_url};
use crate::layer::{DefaultQueryLayer, WorkloadIdentityLayer, is_credential_header};
use crate::transport::ApiTransport;

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
    /// A header name or value cannot be sent.
    #[error("connection {conn_id:?}: {key} is not a valid http header")]
    InvalidHeader {
        /// The connection id.
        conn_id: String,
        /// The offending key, such as `openai_client_kwargs.default_headers.X-Foo`.
        key: String,
    },
    /// `openai_client_kwargs.timeout` is not a positive number of seconds.
    #[error(
        "connection {conn_id:?}: openai_client_kwargs.timeout must be a number of seconds greater \
         than 0, got {value}"
    )]
    InvalidTimeout {
        /// The connection id.
        conn_id: String,
        /// The rejected value.
        value: f64,
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

/// Where the base URL came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BaseUrlOrigin {
    /// `openai_client_kwargs.base_url`.
    ClientKwargs,
    /// The connection `host`.
    Host,
    /// The `OPENAI_BASE_URL` environment variable.
    Env,
    /// `https://api.openai.com/v1`.
    Default,
}

impl BaseUrlOrigin {
    /// A short description for people.
    pub fn as_str(self) -> &'static str {
        match self {
            BaseUrlOrigin::ClientKwargs => "openai_client_kwargs.base_url",
            BaseUrlOrigin::Host => "the connection host",
            BaseUrlOrigin::Env => "the OPENAI_BASE_URL environment variable",
            BaseUrlOrigin::Default => "the default",
        }
    }
}

impl std::fmt::Display for BaseUrlOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the API key came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiKeyOrigin {
    /// `openai_client_kwargs.api_key`.
    ClientKwargs,
    /// The connection password.
    Password,
    /// The `OPENAI_API_KEY` environment variable.
    Env,
}

impl ApiKeyOrigin {
    /// A short description for people.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyOrigin::ClientKwargs => "openai_client_kwargs.api_key",
            ApiKeyOrigin::Password => "the connection password",
            ApiKeyOrigin::Env => "the OPENAI_API_KEY environment variable",
        }
    }
}

impl std::fmt::Display for ApiKeyOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ExchangeUrlOrigin {
    /// A short description for people.
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeUrlOrigin::Override => "an explicit option",
            ExchangeUrlOrigin::Env => "the OPENAI_TOKEN_EXCHANGE_URL environment variable",
            ExchangeUrlOrigin::Default => "the default",
        }
    }
}

/// How a connection will authenticate, resolved without any network access.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AuthPlan {
    /// A static API key, sent as `Authorization: Bearer`.
    ApiKey {
        /// Where the key comes from (the key itself is never part of a plan).
        origin: ApiKeyOrigin,
    },
    /// Workload identity.
    WorkloadIdentity {
        /// The subject-token source.
        provider: ProviderKind,
        /// The subject token's type.
        token_type: conn_schema::TokenType,
        /// The identity provider id registered with OpenAI.
        identity_provider_id: String,
        /// The OpenAI service account id.
        service_account_id: String,
        /// How long before expiry the token is refreshed (at most half its lifetime).
        refresh_buffer: Duration,
        /// The exchange endpoint, query values masked.
        exchange_url: String,
        /// Where the exchange endpoint came from.
        exchange_url_origin: ExchangeUrlOrigin,
        /// Whether an API key was configured and will be ignored (never sent).
        ignored_api_key: Option<ApiKeyOrigin>,
    },
}

/// What [`from_connection`] will build, for people to read (the CLI prints it). Holds no secret.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Plan {
    /// The connection id.
    pub conn_id: String,
    /// The API base, without a trailing slash, query values masked (`?api-key=[redacted]`).
    pub base_url: String,
    /// Where the base came from.
    pub base_url_origin: BaseUrlOrigin,
    /// The `OpenAI-Organization` header, if any.
    pub organization: Option<String>,
    /// The `OpenAI-Project` header, if any.
    pub project: Option<String>,
    /// API request timeout.
    pub timeout: Duration,
    /// API retries on 429, 5xx and connection errors.
    pub max_retries: u32,
    /// Names of the extra headers sent with every request.
    pub default_header_names: Vec<String>,
    /// Names of the extra query parameters added to every request.
    pub default_query_names: Vec<String>,
    /// How requests authenticate.
    pub auth: AuthPlan,
}

impl Plan {
    /// A warning when the API base is plain `http` to a host other than this machine, so that
    /// the API key or access token would travel in clear text (`None` for https or loopback).
    /// Validation warns about `host` and `base_url` in a document; this covers the resolved base,
    /// `OPENAI_BASE_URL` included.
    pub fn cleartext_warning(&self) -> Option<String> {
        let url = url::Url::parse(&self.base_url).ok()?;
        (url.scheme() == "http" && !providers_http::is_loopback(&url)).then(|| {
            format!(
                "the api base {} (from {}) is plain http to a host other than this machine: the \
                 api key or access token travels in clear text; use https, unless a trusted \
                 service mesh or gateway encrypts the traffic",
                self.base_url, self.base_url_origin
            )
        })
    }
}

/// Options of [`from_connection`] and [`plan`]: the environment, custom sources, and overrides
/// for tests.
#[derive(Clone)]
pub struct ClientOptions {
    env: Arc<dyn Env>,
    registry: providers_custom::Registry,
    exchange_url: Option<String>,
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
            .field("exchange_url", &self.exchange_url)
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

    /// Retries of one exchange (tests use `RetryPolicy::without_delays`).
    pub fn with_exchange_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.exchange_retry = Some(policy);
        self
    }

    /// How the exchange waits between retries.
    pub fn with_exchange_sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.exchange_sleep = Some(sleep);
        self
    }

    /// Delays between failed background refreshes.
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

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.trim().is_empty())
}

fn resolve_base_url(conn: &Connection, env: &dyn Env) -> (String, BaseUrlOrigin) {
    let kwargs = &conn.extra.client_kwargs;
    let (url, origin) = if let Some(url) = non_empty(kwargs.base_url.clone()) {
        (url, BaseUrlOrigin::ClientKwargs)
    } else if let Some(url) = non_empty(conn.host.clone()) {
        (url, BaseUrlOrigin::Host)
    } else if let Some(url) = non_empty(env.var(BASE_URL_ENV)) {
        (url, BaseUrlOrigin::Env)
    } else {
        (DEFAULT_BASE_URL.to_owned(), BaseUrlOrigin::Default)
    };
    // async-openai joins the base and a path that starts with `/`.
    (url.trim().trim_end_matches('/').to_owned(), origin)
}

fn resolve_api_key(conn: &Connection, env: &dyn Env) -> Option<(SecretString, ApiKeyOrigin)> {
    let present = |key: &SecretString| !key.expose_secret().is_empty();
    if let Some(key) = conn
        .extra
        .client_kwargs
        .api_key
        .as_ref()
        .filter(|k| present(k))
    {
        return Some((key.clone(), ApiKeyOrigin::ClientKwargs));
    }
    if let Some(key) = conn.password.as_ref().filter(|k| present(k)) {
        return Some((key.clone(), ApiKeyOrigin::Password));
    }
    env.var(API_KEY_ENV)
        .filter(|key| !key.is_empty())
        .map(|key| (SecretString::from(key), ApiKeyOrigin::Env))
}

fn refresh_buffer(identity: &WorkloadIdentity) -> Duration {
    Duration::try_from_secs_f64(identity.refresh_buffer_seconds).unwrap_or(DEFAULT_REFRESH_BUFFER)
}

/// Resolves what [`from_connection`] would build, without network access: base URL and its
/// origin, where the API key comes from, the exchange endpoint, headers, timeout and retries.
/// Fails on the same configuration errors as [`from_connection`] (except those of the provider
/// crates, which it does not run).
pub fn plan(
    conn: &Connection,
    conn_id: &str,
    options: &ClientOptions,
) -> Result<Plan, ClientError> {
    let env = options.env.as_ref();
    let kwargs = &conn.extra.client_kwargs;
    let (base_url, base_url_origin) = resolve_base_url(conn, env);
    check_base_url(&base_url, base_url_origin, conn_id)?;
    let timeout = match kwargs.timeout {
        None => DEFAULT_TIMEOUT,
        Some(value) => Duration::try_from_secs_f64(value)
            .ok()
            .filter(|timeout| !timeout.is_zero())
            .ok_or_else(|| ClientError::InvalidTimeout {
                conn_id: conn_id.to_owned(),
                value,
            })?,
    };
    let auth = match &conn.extra.auth {
        Auth::ApiKey => {
            let (_, origin) =
                resolve_api_key(conn, env).ok_or_else(|| ClientError::MissingApiKey {
                    conn_id: conn_id.to_owned(),
                })?;
            AuthPlan::ApiKey { origin }
        }
        Auth::WorkloadIdentity(identity) => {
            let (exchange_url, exchange_url_origin) =
                resolve_exchange_url(options.exchange_url.as_deref(), env);
            parse_exchange_url(&exchange_url).map_err(|source| ClientError::Exchange {
                conn_id: conn_id.to_owned(),
                source,
            })?;
            AuthPlan::WorkloadIdentity {
                provider: identity.provider.kind(),
                token_type: identity.provider.token_type(),
                identity_provider_id: identity.identity_provider_id.clone(),
                service_account_id: identity.service_account_id.clone(),
                refresh_buffer: refresh_buffer(identity),
                exchange_url: conn_schema::redact_url(&exchange_url),
                exchange_url_origin,
                ignored_api_key: resolve_api_key(conn, env).map(|(_, origin)| origin),
            }
        }
    };
    Ok(Plan {
        conn_id: conn_id.to_owned(),
        base_url: conn_schema::redact_url(&base_url),
        base_url_origin,
        organization: non_empty(kwargs.organization.clone())
            .or_else(|| non_empty(env.var(ORGANIZATION_ENV))),
        project: non_empty(kwargs.project.clone()).or_else(|| non_empty(env.var(PROJECT_ENV))),
        timeout,
        max_retries: kwargs.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
        default_header_names: kwargs.default_headers.keys().cloned().collect(),
        default_query_names: kwargs.default_query.keys().cloned().collect(),
        auth,
    })
}

fn check_base_url(url: &str, origin: BaseUrlOrigin, conn_id: &str) -> Result<(), ClientError> {
    let invalid = |reason: String| ClientError::InvalidBaseUrl {
        conn_id: conn_id.to_owned(),
        url: conn_schema::redact_url(url),
        origin,
        reason,
    };
    if conn_schema::has_user_info(url) {
        return Err(invalid(
            "credentials in the url are not allowed; put the api key in the connection password"
                .to_owned(),
        ));
    }
    let parsed = url::Url::parse(url).map_err(|error| invalid(error.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("expected an http or https url".to_owned()));
    }
    Ok(())
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
            Some(build_cache(identity, conn_id, &options)?)
        }
    };
    config = add_default_headers(
        config,
        &kwargs.default_headers,
        token_cache.is_some(),
        conn_id,
    )?;

    let http = reqwest::Client::builder()
        // No API request follows a redirect: the transport reports it (see `transport`).
        .redirect(reqwest::redirect::Policy::none())
        .timeout(plan.timeout)
        .build()
        .map_err(|source| ClientError::HttpClient {
            conn_id: conn_id.to_owned(),
            source,
        })?;
    let service = build_service(
        http.clone(),
        plan.max_retries,
        &kwargs.default_query,
        token_cache.clone(),
    );
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
                target: "openai_client::connect",
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

fn build_service(
    http: reqwest::Client,
    max_retries: u32,
    default_query: &BTreeMap<String, String>,
    token_cache: Option<TokenCache>,
) -> HttpService {
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
        .service(ApiTransport::new(http));
    BoxCloneSyncService::new(service)
}

fn build_cache(
    identity: &WorkloadIdentity,
    conn_id: &str,
    options: &ClientOptions,
) -> Result<TokenCache, ClientError> {
    let source = match &options.subject_token_source {
        Some(source) => Arc::clone(source),
        None => build_source(&identity.provider, conn_id, options)?,
    };
    let mut builder = TokenCache::builder(
        source,
        identity.identity_provider_id.clone(),
        identity.service_account_id.clone(),
    )
    .refresh_buffer(refresh_buffer(identity))
    .env(Arc::clone(&options.env));
    if let Some(url) = &options.exchange_url {
        builder = builder.exchange_url(url.clone());
    }
    if let Some(policy) = options.exchange_retry {
        builder = builder.retry_policy(policy);
    }
    if let Some(sleep) = &options.exchange_sleep {
        builder = builder.sleep(Arc::clone(sleep));
    }
    if let Some(policy) = options.refresh_backoff {
        builder = builder.refresh_backoff(policy);
    }
    builder.build().map_err(|source| ClientError::Exchange {
        conn_id: conn_id.to_owned(),
        source,
    })
}

fn build_source(
    provider: &ProviderConfig,
    conn_id: &str,
    options: &ClientOptions,
) -> Result<Arc<dyn SubjectTokenSource>, ClientError> {
    match provider {
        ProviderConfig::Kubernetes(config) => Ok(Arc::new(
            providers_kubernetes::KubernetesSource::from_config(config),
        )),
        ProviderConfig::Azure(config) => Ok(Arc::new(providers_azure::AzureSource::from_config(
            config,
            Arc::clone(&options.env),
        ))),
        ProviderConfig::Gcp(config) => Ok(Arc::new(providers_gcp::GcpSource::from_config(
            config,
            Arc::clone(&options.env),
        ))),
        ProviderConfig::GithubActions(config) => Ok(Arc::new(
            providers_github::GithubActionsSource::from_config(config, Arc::clone(&options.env)),
        )),
        ProviderConfig::Custom(config) => {
            providers_custom::source_from_config(config, &options.registry).map_err(|source| {
                ClientError::Provider {
                    conn_id: conn_id.to_owned(),
                    provider: ProviderKind::Custom.as_str(),
                    source: Box::new(source),
                }
            })
        }
    }
}
