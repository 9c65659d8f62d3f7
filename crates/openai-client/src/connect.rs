//! From a parsed connection to a ready client: [`from_connection`] builds the async-openai
//! client, its tower stack (retry, default query, workload identity, transport) and, under
//! workload identity, the token cache and its subject-token source, from the [`crate::plan`] of
//! the same connection.
//!
//! This module holds the one mapping from the connection's provider types to the source crates,
//! which take plain parameters and know no connection format (`build_source`, and `x509_files`
//! for the `x509` provider's certificate files). The defaults, environment variables and origins
//! are `resolve.rs`'s; the errors are `errors.rs`'s.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use conn_schema::{
    Auth, Connection, CustomSource, ProviderConfig, ProviderKind, WorkloadIdentity, X509Config,
};
use providers_azure::AzureSource;
use providers_core::{BoxError, Env, SubjectTokenSource};
use providers_custom::CommandSource;
use providers_gcp::GcpSource;
use providers_github::GithubActionsSource;
use providers_kubernetes::KubernetesSource;
use providers_x509::{ReloadingIdentity, X509Files};
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

use crate::builder::TokenCacheBuilder;
use crate::cache::TokenCache;
use crate::errors::ClientError;
use crate::layer::{DefaultQueryLayer, WorkloadIdentityLayer};
use crate::options::ClientOptions;
use crate::plan::{Plan, plan};
use crate::resolve::{
    API_KEY_ENV, CUSTOM_HEADERS_ENV, DEFAULT_CONNECT_TIMEOUT, custom_credential_dropped,
    custom_headers, custom_token_type, resolve_api_key, resolve_base_url,
};
use crate::retry::sdk_retry_layer;
use crate::server_text::ConfiguredSecrets;
use crate::transport::ApiTransport;
use crate::x509::X509ApiClient;

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
    let prepared = prepare(conn, conn_id, &options)?;
    let plan = prepared.plan;
    let kwargs = &conn.extra.client_kwargs;
    let secrets = prepared.secrets;
    let token_cache = prepared.token_cache;
    let service = match prepared.x509_client {
        // Under x509 the requests go out with the client of the certificate's current
        // generation; `http` only builds them.
        Some(x509) => build_service(
            ApiTransport::new(x509).scrubbing(secrets),
            plan.max_retries,
            &kwargs.default_query,
            token_cache.clone(),
        ),
        None => build_service(
            ApiTransport::new(prepared.http.clone()).scrubbing(secrets),
            plan.max_retries,
            &kwargs.default_query,
            token_cache.clone(),
        ),
    };
    let client = Client::build(prepared.http, prepared.config).with_http_service(service);
    Ok(Connected {
        client,
        token_cache,
        plan,
    })
}

/// What [`from_connection`] and [`crate::upstream`] share: the plan, the base URL as configured,
/// the async-openai config (organization, project, API key, default headers), the token cache
/// under workload identity, the API client of the x509 identity, the HTTP client that follows no
/// redirect, and the configured secrets that no server text may repeat.
pub(crate) struct Prepared {
    pub(crate) base_url: String,
    pub(crate) config: OpenAIConfig,
    pub(crate) secrets: ConfiguredSecrets,
    pub(crate) token_cache: Option<TokenCache>,
    /// Under x509, the client presenting the certificate, with the connection's timeouts.
    pub(crate) x509_client: Option<X509ApiClient>,
    pub(crate) http: reqwest::Client,
    pub(crate) plan: Plan,
}

/// Resolves and builds everything but the tower stack; no request is sent.
pub(crate) fn prepare(
    conn: &Connection,
    conn_id: &str,
    options: &ClientOptions,
) -> Result<Prepared, ClientError> {
    let plan = plan(conn, conn_id, options)?;
    let kwargs = &conn.extra.client_kwargs;
    // A configured `timeout` sets every phase, as in the SDK; else 5 s to connect.
    let connect_timeout = kwargs.timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let header_error = |key: String| ClientError::InvalidHeader {
        conn_id: conn_id.to_owned(),
        key,
    };

    // The plan shows the base with query values masked; the client gets it as configured.
    let (base_url, _) = resolve_base_url(conn, options.env.as_ref());
    let parsed_base_url = url::Url::parse(&base_url).ok();
    let custom = custom_headers(options.env.as_ref());
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
    let secrets = configured_secrets(
        conn,
        options.env.as_ref(),
        parsed_base_url.as_ref(),
        &custom,
    );
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
                    let (cache, loaded) = build_x509_cache(
                        identity,
                        x509,
                        kwargs.max_retries,
                        (connect_timeout, plan.timeout),
                        conn_id,
                        options,
                        secrets.clone(),
                    )?;
                    x509_identity = Some(loaded);
                    Some(cache)
                }
                _ => Some(build_cache(
                    identity,
                    kwargs.max_retries,
                    conn_id,
                    options,
                    secrets.clone(),
                )?),
            }
        }
    };
    config = add_custom_headers(
        config,
        &custom,
        &kwargs.default_headers,
        token_cache.is_some(),
        conn_id,
    )?;
    config = add_default_headers(
        config,
        &kwargs.default_headers,
        token_cache.is_some(),
        conn_id,
    )?;

    // Every API request goes to the base URL's origin: its proxy rule is decided once.
    let http = match &parsed_base_url {
        Some(origin) => providers_http::tls_client_builder_for_origin(origin),
        None => providers_http::tls_client_builder(),
    }
    // No API request follows a redirect: the transport reports it (see `transport`).
    .redirect(reqwest::redirect::Policy::none())
    // Per phase, as the SDK's: connecting, and each read of the reply.
    .connect_timeout(connect_timeout)
    .read_timeout(plan.timeout)
    .build()
    .map_err(|source| ClientError::HttpClient {
        conn_id: conn_id.to_owned(),
        source,
    })?;
    let x509_client = x509_identity
        .map(|identity| X509ApiClient::new(identity, connect_timeout, plan.timeout))
        .transpose()
        .map_err(|source| ClientError::X509 {
            conn_id: conn_id.to_owned(),
            source,
        })?;
    Ok(Prepared {
        base_url,
        config,
        secrets,
        token_cache,
        x509_client,
        http,
        plan,
    })
}

fn add_default_headers(
    config: OpenAIConfig,
    headers: &BTreeMap<String, String>,
    workload_identity: bool,
    conn_id: &str,
) -> Result<OpenAIConfig, ClientError> {
    add_headers(
        config,
        headers,
        conn_id,
        |name| format!("openai_client_kwargs.default_headers.{name}"),
        |header| {
            if workload_identity && header == reqwest::header::HOST {
                // Validation refuses it too: a request carrying the bearer names its URL's host.
                return HeaderRule::Refuse;
            }
            if workload_identity && conn_schema::is_credential_header(header.as_str()) {
                // The layer would remove it anyway; skipping it keeps it out of the config too.
                return HeaderRule::Skip(
                    "credential header in default_headers ignored under workload identity".into(),
                );
            }
            HeaderRule::Keep
        },
    )
}

/// The headers of `OPENAI_CUSTOM_HEADERS`, below the explicit `default_headers` (a header named
/// there is skipped here). `Authorization` is always dropped (the key or the bearer is set by
/// the client), and under workload identity every credential header, as from `default_headers`.
fn add_custom_headers(
    config: OpenAIConfig,
    headers: &[(String, String)],
    explicit: &BTreeMap<String, String>,
    workload_identity: bool,
    conn_id: &str,
) -> Result<OpenAIConfig, ClientError> {
    let below_explicit = headers
        .iter()
        .filter(|(name, _)| !explicit.keys().any(|key| key.eq_ignore_ascii_case(name)))
        .map(|(name, value)| (name, value));
    add_headers(
        config,
        below_explicit,
        conn_id,
        |name| format!("{CUSTOM_HEADERS_ENV} header {name}"),
        |header| {
            let host = workload_identity && header == reqwest::header::HOST;
            if host || custom_credential_dropped(header.as_str(), workload_identity) {
                return HeaderRule::Skip(
                    format!("credential header in {CUSTOM_HEADERS_ENV} ignored").into(),
                );
            }
            HeaderRule::Keep
        },
    )
}

/// What one source of headers does with a header before it joins the config.
enum HeaderRule {
    Keep,
    /// Left out, with a warning saying why.
    Skip(Cow<'static, str>),
    /// An [`ClientError::InvalidHeader`].
    Refuse,
}

/// Adds `headers` to `config`, each under its `rule`; a name or value that is no valid header
/// is an [`ClientError::InvalidHeader`] naming the header by `key`.
fn add_headers<'a>(
    mut config: OpenAIConfig,
    headers: impl IntoIterator<Item = (&'a String, &'a String)>,
    conn_id: &str,
    key: impl Fn(&str) -> String,
    rule: impl Fn(&HeaderName) -> HeaderRule,
) -> Result<OpenAIConfig, ClientError> {
    for (name, value) in headers {
        let invalid = || ClientError::InvalidHeader {
            conn_id: conn_id.to_owned(),
            key: key(name),
        };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        match rule(&header) {
            HeaderRule::Keep => {}
            HeaderRule::Skip(why) => {
                tracing::warn!(
                    target: "openai_conn_client::connect",
                    conn_id,
                    header = %header,
                    "{why}"
                );
                continue;
            }
            HeaderRule::Refuse => return Err(invalid()),
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
    // Order, outermost first: retry (the SDK's policy, `retry.rs`), default query, workload
    // identity, transport. Workload identity sits inside the retry so every retry attempt reads
    // the cache again (a token refreshed during a long `Retry-After` wait is picked up) and a 401
    // replay does not consume the retry budget; the retry layer only sees the response that
    // follows any replay.
    let service = ServiceBuilder::new()
        .layer(sdk_retry_layer(max_retries))
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
    secrets: ConfiguredSecrets,
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
    build_with_options(
        builder.scrubbing(secrets),
        identity,
        max_retries,
        conn_id,
        options,
    )
}

/// Under x509: loads the identity (every file error surfaces here, naming the file) and builds
/// the token cache that exchanges it over mutual TLS.
fn build_x509_cache(
    identity: &WorkloadIdentity,
    config: &X509Config,
    max_retries: Option<u32>,
    api_timeouts: (Duration, Duration),
    conn_id: &str,
    options: &ClientOptions,
    secrets: ConfiguredSecrets,
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
    )
    .x509_exchange_timeouts(api_timeouts.0, api_timeouts.1);
    let cache = build_with_options(
        builder.scrubbing(secrets),
        identity,
        max_retries,
        conn_id,
        options,
    )?;
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

/// The subject-token source `from_connection` would use for `conn` (the one mapping below), for
/// programs that fetch a subject token on their own, such as `openai-conn doctor`. `None` under
/// `api_key` auth and under `x509`, which have no subject token. No request is sent here.
pub fn subject_token_source(
    conn: &Connection,
    conn_id: &str,
    options: &ClientOptions,
) -> Result<Option<Arc<dyn SubjectTokenSource>>, ClientError> {
    match &conn.extra.auth {
        Auth::WorkloadIdentity(identity)
            if !matches!(identity.provider, ProviderConfig::X509(_)) =>
        {
            match &options.subject_token_source {
                Some(source) => Ok(Some(Arc::clone(source))),
                None => build_source(&identity.provider, conn_id, options).map(Some),
            }
        }
        _ => Ok(None),
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
    // The HTTP sources fail to build only when their client cannot be built.
    let unbuilt = |kind: ProviderKind| {
        move |error: providers_http::HttpError| ClientError::Provider {
            conn_id: conn_id.to_owned(),
            provider: kind.as_str(),
            source: Box::new(error),
        }
    };
    Ok(match provider {
        ProviderConfig::Kubernetes(config) => {
            Arc::new(KubernetesSource::new(&config.token_file_path))
        }
        ProviderConfig::Azure(config) => {
            let mut source = AzureSource::new(&config.resource, env())
                .map_err(unbuilt(ProviderKind::Azure))?
                .with_api_version(&config.api_version);
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
        ProviderConfig::Gcp(config) => {
            Arc::new(GcpSource::new(&config.audience, env()).map_err(unbuilt(ProviderKind::Gcp))?)
        }
        ProviderConfig::GithubActions(config) => Arc::new(
            GithubActionsSource::new(&config.audience, env())
                .map_err(unbuilt(ProviderKind::GithubActions))?,
        ),
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

/// The secrets of `conn`'s configuration that no server text may repeat (see
/// [`ConfiguredSecrets`]): every API key it could use, and every configured header and query
/// value (`default_query`, the query of `base_url` (the resolved base URL, when it parses) and
/// `custom`, the headers of `OPENAI_CUSTOM_HEADERS`), whether or not a request carries it. The
/// caller has resolved and read those already: they are not read twice.
fn configured_secrets(
    conn: &Connection,
    env: &dyn Env,
    base_url: Option<&url::Url>,
    custom: &[(String, String)],
) -> ConfiguredSecrets {
    let kwargs = &conn.extra.client_kwargs;
    let base_query: Vec<String> = base_url
        .map(|url| {
            url.query_pairs()
                .map(|(_, value)| value.into_owned())
                .collect()
        })
        .unwrap_or_default();
    let keys = [kwargs.api_key.clone(), conn.password.clone()]
        .into_iter()
        .flatten()
        .chain(env.var(API_KEY_ENV).map(SecretString::from));
    let values = kwargs
        .default_headers
        .values()
        .chain(kwargs.default_query.values())
        .chain(&base_query)
        .chain(custom.iter().map(|(_, value)| value))
        .cloned()
        .map(SecretString::from);
    ConfiguredSecrets::new(keys.chain(values))
}

/// Builds the cache with the connection's `refresh_buffer` and the options' environment,
/// exchange URL, exchange retry policy (its retries following `openai_client_kwargs.max_retries`,
/// as the SDK's do), sleep and refresh backoff.
fn build_with_options(
    mut builder: TokenCacheBuilder,
    identity: &WorkloadIdentity,
    max_retries: Option<u32>,
    conn_id: &str,
    options: &ClientOptions,
) -> Result<TokenCache, ClientError> {
    builder = builder.refresh_buffer(identity.refresh_buffer);
    builder = builder.env(Arc::clone(&options.env));
    if let Some(url) = &options.exchange_url {
        builder = builder.exchange_url(url.as_str());
    }
    let policy = options
        .exchange_retry
        .unwrap_or_else(crate::exchange::default_exchange_retry_policy);
    builder = builder.retry_policy(crate::builder::exchange_retry_policy_for(
        max_retries,
        policy,
    ));
    if let Some(sleep) = &options.exchange_sleep {
        builder = builder.with_sleep(Arc::clone(sleep));
    }
    if let Some(policy) = options.refresh_backoff {
        builder = builder.refresh_backoff(policy);
    }
    builder.build().map_err(|source| ClientError::Exchange {
        conn_id: conn_id.to_owned(),
        source,
    })
}
