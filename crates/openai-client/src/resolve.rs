//! The resolution rules, in one place for [`crate::plan`] and [`crate::from_connection`]: the
//! defaults, the environment variables, and where each value comes from (its origin). A leaf: it
//! imports no other module of the crate.

use std::time::Duration;

use conn_schema::{Auth, Connection, CustomConfig, ProviderConfig, WorkloadIdentity};
use providers_azure::AzureSource;
use providers_core::{Env, TokenType};
use providers_gcp::GcpSource;
use providers_github::GithubActionsSource;
use providers_kubernetes::KubernetesSource;
use secrecy::{ExposeSecret, SecretString};

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
/// Timeout of each read of an API reply (and of a connect when `timeout` is set) when
/// `openai_client_kwargs.timeout` is absent. Per phase, as the SDK's: a reply that keeps sending
/// is never cut, however long it takes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// Timeout of connecting to the API when `openai_client_kwargs.timeout` is absent (the SDK's).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// API retries when `openai_client_kwargs.max_retries` is absent.
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// The exchange endpoint used when neither the builder nor `OPENAI_TOKEN_EXCHANGE_URL` sets one.
pub const DEFAULT_TOKEN_EXCHANGE_URL: &str = "https://auth.openai.com/oauth/token";
/// The environment variable that overrides the exchange endpoint.
pub const TOKEN_EXCHANGE_URL_ENV: &str = "OPENAI_TOKEN_EXCHANGE_URL";
/// The API base under x509 when neither the connection nor `OPENAI_BASE_URL` sets one.
pub const DEFAULT_MTLS_BASE_URL: &str = "https://mtls.api.openai.com/v1";
/// The exchange endpoint under x509 when neither an option nor `OPENAI_TOKEN_EXCHANGE_URL` sets
/// one.
pub const DEFAULT_MTLS_TOKEN_EXCHANGE_URL: &str = "https://mtls.auth.openai.com/oauth/token";
/// Environment variable holding extra default headers, one `Name: value` per line (as the SDK
/// reads it); `openai_client_kwargs.default_headers` wins over a header of the same name.
pub const CUSTOM_HEADERS_ENV: &str = "OPENAI_CUSTOM_HEADERS";

/// The headers of `OPENAI_CUSTOM_HEADERS`, as the SDK parses them: every line with a colon is a
/// header, name and value trimmed, a later line winning over an earlier one of the same name.
/// Empty when the variable is unset.
pub(crate) fn custom_headers(env: &dyn Env) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in env.var(CUSTOM_HEADERS_ENV).unwrap_or_default().split('\n') {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        headers.retain(|(seen, _)| !seen.eq_ignore_ascii_case(name));
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    headers
}

/// Whether the client drops a credential header of `OPENAI_CUSTOM_HEADERS`: `Authorization`
/// always (the client sets the key or the bearer itself), and under workload identity every
/// credential header, as from `default_headers`. `connect` drops it and `plan` warns about it.
pub(crate) fn custom_credential_dropped(name: &str, workload_identity: bool) -> bool {
    name.eq_ignore_ascii_case("authorization")
        || (workload_identity && conn_schema::is_credential_header(name))
}

/// Where the base URL came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BaseUrlOrigin {
    /// `openai_client_kwargs.base_url`.
    ClientKwargs,
    /// `openai_client_kwargs.data_residency`: the region's endpoint.
    DataResidency,
    /// The connection `host`.
    Host,
    /// The `OPENAI_BASE_URL` environment variable.
    Env,
    /// `https://api.openai.com/v1` (`https://mtls.api.openai.com/v1` under x509).
    Default,
}

impl BaseUrlOrigin {
    /// A short description for people.
    pub fn as_str(self) -> &'static str {
        match self {
            BaseUrlOrigin::ClientKwargs => "openai_client_kwargs.base_url",
            BaseUrlOrigin::DataResidency => "openai_client_kwargs.data_residency",
            BaseUrlOrigin::Host => "the connection host",
            BaseUrlOrigin::Env => "the OPENAI_BASE_URL environment variable",
            BaseUrlOrigin::Default => "the default",
        }
    }
}

providers_core::display_via!(BaseUrlOrigin, as_str);

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

providers_core::display_via!(ApiKeyOrigin, as_str);

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

/// Where the exchange URL came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExchangeUrlOrigin {
    /// Set in code (a builder option or [`crate::ClientOptions`]).
    Override,
    /// The `OPENAI_TOKEN_EXCHANGE_URL` environment variable.
    Env,
    /// `https://auth.openai.com/oauth/token` (`https://mtls.auth.openai.com/oauth/token` under
    /// x509).
    Default,
}

/// An exchange URL given by an option or the builder, kept as written. Debug shows it as
/// [`conn_schema::redact_url`] does: a URL may carry a credential in its user info or query.
#[derive(Clone)]
pub(crate) struct UrlText(String);

impl UrlText {
    pub(crate) fn new(url: impl Into<String>) -> Self {
        UrlText(url.into())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for UrlText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&conn_schema::redact_url(&self.0), f)
    }
}

/// Resolves the exchange endpoint: an explicit override, else `OPENAI_TOKEN_EXCHANGE_URL` (when
/// set and not blank), else the default. The URL is not checked here.
pub(crate) fn resolve_exchange_url(
    override_url: Option<&str>,
    env: &dyn Env,
) -> (String, ExchangeUrlOrigin) {
    resolve_exchange_url_with_default(override_url, env, DEFAULT_TOKEN_EXCHANGE_URL)
}

/// [`resolve_exchange_url`] with another default (the mutual-TLS endpoint under x509).
pub(crate) fn resolve_exchange_url_with_default(
    override_url: Option<&str>,
    env: &dyn Env,
    default: &str,
) -> (String, ExchangeUrlOrigin) {
    if let Some(url) = override_url {
        return (url.to_owned(), ExchangeUrlOrigin::Override);
    }
    match env.var(TOKEN_EXCHANGE_URL_ENV) {
        Some(url) if !url.trim().is_empty() => (url.trim().to_owned(), ExchangeUrlOrigin::Env),
        _ => (default.to_owned(), ExchangeUrlOrigin::Default),
    }
}

pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.trim().is_empty())
}

/// The API base and its origin: `data_residency`'s endpoint (its mutual-TLS one under x509),
/// else `base_url`, else the connection `host`, else `OPENAI_BASE_URL`, else the default. As in
/// the SDK, `data_residency` is resolved before the environment; a `data_residency` that
/// [`data_residency_error`] refuses yields its plain endpoint here, and `plan` refuses it.
pub(crate) fn resolve_base_url(conn: &Connection, env: &dyn Env) -> (String, BaseUrlOrigin) {
    let kwargs = &conn.extra.client_kwargs;
    let (url, origin) = if let Some(residency) = kwargs.data_residency {
        let url = if is_x509(conn) {
            residency.mtls_base_url().unwrap_or(residency.base_url())
        } else {
            residency.base_url()
        };
        (url.to_owned(), BaseUrlOrigin::DataResidency)
    } else if let Some(url) = non_empty(kwargs.base_url.clone()) {
        (url, BaseUrlOrigin::ClientKwargs)
    } else if let Some(url) = non_empty(conn.host.clone()) {
        (url, BaseUrlOrigin::Host)
    } else if let Some(url) = non_empty(env.var(BASE_URL_ENV)) {
        (url, BaseUrlOrigin::Env)
    } else if is_x509(conn) {
        (DEFAULT_MTLS_BASE_URL.to_owned(), BaseUrlOrigin::Default)
    } else {
        (DEFAULT_BASE_URL.to_owned(), BaseUrlOrigin::Default)
    };
    // async-openai joins the base and a path that starts with `/`.
    (url.trim().trim_end_matches('/').to_owned(), origin)
}

/// Why `data_residency` cannot name the API base of `conn` (the SDK refuses the same): it is set
/// beside `base_url` or the connection `host`, or under x509 names a region without a mutual-TLS
/// endpoint. `None` when it is absent or fine.
pub(crate) fn data_residency_error(conn: &Connection) -> Option<String> {
    let kwargs = &conn.extra.client_kwargs;
    let residency = kwargs.data_residency?;
    if non_empty(kwargs.base_url.clone()).is_some() {
        return Some("\"data_residency\" and \"base_url\" cannot both be set".to_owned());
    }
    if non_empty(conn.host.clone()).is_some() {
        return Some("\"data_residency\" and the connection host cannot both be set".to_owned());
    }
    (is_x509(conn) && residency.mtls_base_url().is_none()).then(|| {
        format!(
            "data_residency \"{}\" has no mutual-TLS endpoint; under x509 use \"global\", \"us\" or \"eu\"",
            residency.as_str()
        )
    })
}

pub(crate) fn is_x509(conn: &Connection) -> bool {
    matches!(
        &conn.extra.auth,
        Auth::WorkloadIdentity(WorkloadIdentity {
            provider: ProviderConfig::X509(_),
            ..
        })
    )
}

pub(crate) fn resolve_api_key(
    conn: &Connection,
    env: &dyn Env,
) -> Option<(SecretString, ApiKeyOrigin)> {
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

pub(crate) fn custom_token_type(config: &CustomConfig) -> TokenType {
    match config.token_type {
        conn_schema::TokenType::Jwt => TokenType::Jwt,
        conn_schema::TokenType::Id => TokenType::Id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use providers_core::MapEnv;

    #[test]
    fn custom_headers_are_read_line_by_line_as_the_sdk_reads_them() {
        let env = MapEnv::new().with(
            CUSTOM_HEADERS_ENV,
            "X-Team: ml \nno colon here\n: empty name\nx-team: data\nX-Empty:\nX-Url: https://a:b",
        );
        assert_eq!(
            custom_headers(&env),
            [
                ("x-team".to_owned(), "data".to_owned()),
                ("X-Empty".to_owned(), String::new()),
                ("X-Url".to_owned(), "https://a:b".to_owned()),
            ]
        );
        assert!(custom_headers(&MapEnv::new()).is_empty());
    }

    #[test]
    fn exchange_url_prefers_the_override_then_the_environment() {
        let env = MapEnv::new().with(TOKEN_EXCHANGE_URL_ENV, "http://127.0.0.1:1/t");
        assert_eq!(
            resolve_exchange_url(Some("https://x/t"), &env),
            ("https://x/t".to_owned(), ExchangeUrlOrigin::Override)
        );
        assert_eq!(
            resolve_exchange_url(None, &env),
            ("http://127.0.0.1:1/t".to_owned(), ExchangeUrlOrigin::Env)
        );
        assert_eq!(
            resolve_exchange_url(None, &MapEnv::new()),
            (
                DEFAULT_TOKEN_EXCHANGE_URL.to_owned(),
                ExchangeUrlOrigin::Default
            )
        );
    }
}
