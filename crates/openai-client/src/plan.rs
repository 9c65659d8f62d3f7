//! What a connection will do, resolved without network access: the resolution rules of the
//! reference hook ([`plan`]) and the [`Plan`] people read (`openai-conn plan` prints its JSON form).

use std::time::Duration;

use conn_schema::{Auth, Connection, ProviderConfig, ProviderKind, WorkloadIdentity};
use providers_core::{Env, TokenType};
use serde::Serialize;
use serde::ser::Serializer;
use serde_json::{Map, Value};

use crate::errors::ClientError;
use crate::exchange::parse_exchange_url;
use crate::options::ClientOptions;
use crate::resolve::{
    API_KEY_ENV, ApiKeyOrigin, BASE_URL_ENV, BaseUrlOrigin, CUSTOM_HEADERS_ENV,
    DEFAULT_MAX_RETRIES, DEFAULT_MTLS_TOKEN_EXCHANGE_URL, DEFAULT_TIMEOUT,
    DEFAULT_TOKEN_EXCHANGE_URL, ExchangeUrlOrigin, ORGANIZATION_ENV, PROJECT_ENV,
    TOKEN_EXCHANGE_URL_ENV, UrlText, custom_credential_dropped, custom_headers,
    data_residency_error, is_x509, non_empty, resolve_api_key, resolve_base_url,
    resolve_exchange_url_with_default, token_type,
};
use crate::x509::{X509_SUBJECT_TOKEN_TYPE, parse_x509_exchange_url, require_https};

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
        /// The subject-token source, or `x509` (the client certificate).
        provider: ProviderKind,
        /// The subject token's type; `None` under `x509`, where the client certificate presented
        /// over mutual TLS is the subject (the exchange's `subject_token_type` is
        /// [`X509_SUBJECT_TOKEN_TYPE`]).
        token_type: Option<TokenType>,
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
        /// Every parameter of the source with its default filled in, as shown to people. A custom
        /// command shows its program and argument count only: arguments may carry secrets. Under
        /// `x509` the paths of the files, never their contents.
        parameters: Map<String, Value>,
        /// The environment variables that steer the source or the exchange and are set.
        env_in_effect: Vec<&'static str>,
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
    /// The environment variables whose values are in effect: the `OPENAI_CONN_*` overrides the
    /// loader applied (see [`ClientOptions::with_applied_overrides`]), and each `OPENAI_*`
    /// variable only where it won over the connection.
    pub env_in_effect: Vec<String>,
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
    if base_url_origin == BaseUrlOrigin::Default {
        refuse_non_unicode(env, BASE_URL_ENV, conn_id)?;
    }
    if let Some(reason) = data_residency_error(conn) {
        return Err(ClientError::InvalidBaseUrl {
            conn_id: conn_id.to_owned(),
            url: conn_schema::redact_url(&base_url),
            origin: base_url_origin,
            reason,
        });
    }
    check_base_url(&base_url, base_url_origin, conn_id, is_x509(conn))?;
    let timeout = kwargs.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let auth = match &conn.extra.auth {
        Auth::ApiKey => {
            let (_, origin) =
                resolve_api_key(conn, env).ok_or_else(|| ClientError::MissingApiKey {
                    conn_id: conn_id.to_owned(),
                })?;
            AuthPlan::ApiKey { origin }
        }
        Auth::WorkloadIdentity(identity) => {
            let x509 = matches!(identity.provider, ProviderConfig::X509(_));
            let default_exchange_url = if x509 {
                DEFAULT_MTLS_TOKEN_EXCHANGE_URL
            } else {
                DEFAULT_TOKEN_EXCHANGE_URL
            };
            let (exchange_url, exchange_url_origin) = resolve_exchange_url_with_default(
                options.exchange_url.as_ref().map(UrlText::as_str),
                env,
                default_exchange_url,
            );
            if exchange_url_origin == ExchangeUrlOrigin::Default {
                refuse_non_unicode(env, TOKEN_EXCHANGE_URL_ENV, conn_id)?;
            }
            let checked = if x509 {
                parse_x509_exchange_url(&exchange_url)
            } else {
                parse_exchange_url(&exchange_url)
            };
            checked.map_err(|source| ClientError::Exchange {
                conn_id: conn_id.to_owned(),
                source,
            })?;
            let mut env_in_effect: Vec<&'static str> = Vec::new();
            if exchange_url_origin == ExchangeUrlOrigin::Env {
                env_in_effect.push(TOKEN_EXCHANGE_URL_ENV);
            }
            env_in_effect.extend(
                provider_env_vars(&identity.provider)
                    .iter()
                    .filter(|name| env.var(name).is_some_and(|value| !value.is_empty())),
            );
            AuthPlan::WorkloadIdentity {
                parameters: provider_parameters(&identity.provider),
                env_in_effect,
                provider: identity.provider.kind(),
                token_type: token_type(&identity.provider),
                identity_provider_id: identity.identity_provider_id.clone(),
                service_account_id: identity.service_account_id.clone(),
                refresh_buffer: identity.refresh_buffer,
                exchange_url: conn_schema::redact_url(&exchange_url),
                exchange_url_origin,
                ignored_api_key: resolve_api_key(conn, env).map(|(_, origin)| origin),
            }
        }
    };
    // A variable is in effect only where it won: the connection's own values come first.
    let mut env_in_effect = options.applied_overrides.clone();
    if base_url_origin == BaseUrlOrigin::Env {
        env_in_effect.push(BASE_URL_ENV.to_owned());
    }
    let from_env = |own: &Option<String>, name: &str, in_effect: &mut Vec<String>| {
        non_empty(own.clone()).or_else(|| {
            let value = non_empty(env.var(name));
            if value.is_some() {
                in_effect.push(name.to_owned());
            }
            value
        })
    };
    if !custom_headers(env).is_empty() {
        env_in_effect.push(CUSTOM_HEADERS_ENV.to_owned());
    }
    let organization = from_env(&kwargs.organization, ORGANIZATION_ENV, &mut env_in_effect);
    let project = from_env(&kwargs.project, PROJECT_ENV, &mut env_in_effect);
    if matches!(
        auth,
        AuthPlan::ApiKey {
            origin: ApiKeyOrigin::Env
        }
    ) {
        env_in_effect.push(API_KEY_ENV.to_owned());
    }
    Ok(Plan {
        conn_id: conn_id.to_owned(),
        base_url: conn_schema::redact_url(&base_url),
        base_url_origin,
        organization,
        project,
        env_in_effect,
        timeout,
        max_retries: kwargs.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
        default_header_names: kwargs.default_headers.keys().cloned().collect(),
        default_query_names: kwargs.default_query.keys().cloned().collect(),
        auth,
    })
}

/// A variable that would have been read had its value been UTF-8 is an error naming it: reading
/// it as unset would fall back to a default in silence.
fn refuse_non_unicode(env: &dyn Env, var: &'static str, conn_id: &str) -> Result<(), ClientError> {
    if env.non_unicode_names().iter().any(|name| name == var) {
        return Err(ClientError::EnvNotUnicode {
            conn_id: conn_id.to_owned(),
            var,
        });
    }
    Ok(())
}

fn check_base_url(
    url: &str,
    origin: BaseUrlOrigin,
    conn_id: &str,
    x509: bool,
) -> Result<(), ClientError> {
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
    if x509 {
        require_https(url).map_err(invalid)?;
    }
    Ok(())
}

/// Environment variables that change where a provider's subject token comes from.
fn provider_env_vars(provider: &ProviderConfig) -> &'static [&'static str] {
    match provider {
        ProviderConfig::Kubernetes(_) | ProviderConfig::Custom(_) | ProviderConfig::X509(_) => &[],
        ProviderConfig::Azure(_) => &[
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            "IDENTITY_ENDPOINT",
            "IDENTITY_HEADER",
        ],
        ProviderConfig::Gcp(_) => &["GCE_METADATA_HOST"],
        ProviderConfig::GithubActions(_) => &[
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        ],
    }
}

/// Every provider parameter with its default filled in. A custom command shows its program and
/// argument count only: arguments may carry secrets.
fn provider_parameters(provider: &ProviderConfig) -> Map<String, Value> {
    let mut parameters = match serde_json::to_value(provider) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    parameters.remove("token_type");
    parameters
}

/// Under x509, a warning when the private key file is readable by its group or others (ssh's
/// "unprotected private key file"), naming the file and its mode. `validate` reports it as an
/// `exposed-private-key` finding, `plan` and `token` print it.
pub fn exposed_key_warning(conn: &Connection) -> Option<String> {
    let Auth::WorkloadIdentity(WorkloadIdentity {
        provider: ProviderConfig::X509(x509),
        ..
    }) = &conn.extra.auth
    else {
        return None;
    };
    let mode = providers_x509::exposed_key_mode(std::path::Path::new(&x509.private_key_path))?;
    Some(format!(
        "private_key_path {:?} is readable by others (mode {mode:o}); make it readable by its \
         owner only (chmod 600)",
        x509.private_key_path
    ))
}

/// Findings about the API base that validation of the document alone cannot see: when
/// `OPENAI_BASE_URL` is the base in effect (neither `base_url` nor `host` is set), credentials in
/// it are an error and plain http to another host a warning, as for `host` and `base_url` in the
/// document ([`conn_schema::api_base_finding`]); and a credential header in
/// `OPENAI_CUSTOM_HEADERS` that the client drops is a warning. Each finding names the variable as
/// its origin.
pub fn environment_findings(conn: &Connection, env: &dyn Env) -> Vec<conn_schema::Diagnostic> {
    let mut findings: Vec<conn_schema::Diagnostic> = exposed_key_warning(conn)
        .map(|message| conn_schema::Diagnostic {
            severity: conn_schema::Severity::Warning,
            code: conn_schema::Code::ExposedPrivateKey,
            pointer: "/extra/private_key_path".to_owned(),
            origin: None,
            location: None,
            message,
            suggestion: Some("chmod 600 the key file".to_owned()),
        })
        .into_iter()
        .collect();
    findings.extend(base_url_findings(conn, env));
    // A credential in OPENAI_CUSTOM_HEADERS is dropped (`Authorization` always, every credential
    // header under workload identity): say so, as for `default_headers`.
    let workload_identity = matches!(conn.extra.auth, Auth::WorkloadIdentity(_));
    for (name, _) in custom_headers(env) {
        if custom_credential_dropped(&name, workload_identity) {
            findings.push(conn_schema::Diagnostic {
                severity: conn_schema::Severity::Warning,
                code: conn_schema::Code::IgnoredCredentialHeader,
                pointer: String::new(),
                origin: Some(format!("env {CUSTOM_HEADERS_ENV}")),
                location: None,
                message: format!(
                    "\"{name}\" in {CUSTOM_HEADERS_ENV} is a credential header: it is ignored \
                     and never sent"
                ),
                suggestion: Some(format!(
                    "remove it from {CUSTOM_HEADERS_ENV}; the client sets the credential itself"
                )),
            });
        }
    }
    findings
}

fn base_url_findings(conn: &Connection, env: &dyn Env) -> Vec<conn_schema::Diagnostic> {
    let (url, origin) = resolve_base_url(conn, env);
    if origin == BaseUrlOrigin::Default
        && env
            .non_unicode_names()
            .iter()
            .any(|name| name == BASE_URL_ENV)
    {
        return vec![conn_schema::Diagnostic {
            severity: conn_schema::Severity::Error,
            code: conn_schema::Code::Unreadable,
            pointer: String::new(),
            origin: Some(format!("env {BASE_URL_ENV}")),
            location: None,
            message: format!("{BASE_URL_ENV} is set but its value is not valid UTF-8"),
            suggestion: Some("set it to an https URL, or unset it".to_owned()),
        }];
    }
    if origin != BaseUrlOrigin::Env {
        return Vec::new();
    }
    conn_schema::api_base_finding(BASE_URL_ENV, &url)
        .map(|finding| conn_schema::Diagnostic {
            severity: finding.severity,
            code: finding.code,
            pointer: String::new(),
            origin: Some(format!("env {BASE_URL_ENV}")),
            location: None,
            message: finding.message,
            suggestion: Some(finding.suggestion),
        })
        .into_iter()
        .collect()
}

impl Plan {
    /// A warning when the API base is plain `http` to a host other than this machine, so that
    /// the API key or access token would travel in clear text (`None` for https or loopback).
    /// Validation warns about `host`, `base_url` and `OPENAI_BASE_URL` (see
    /// [`environment_findings`]); `plan`, `token` and `test` print this for the base in effect.
    pub fn cleartext_warning(&self) -> Option<String> {
        conn_schema::is_cleartext_remote(&self.base_url).then(|| {
            format!(
                "the api base {} (from {}) is plain http to a host other than this machine: the \
                 api key or access token travels in clear text; use https, unless a trusted \
                 service mesh or gateway encrypts the traffic",
                self.base_url, self.base_url_origin
            )
        })
    }
}

/// The JSON object `openai-conn plan` prints, derived field by field with the JSON names:
/// `conn_id`, `auth_type`, `base_url` and its source, `api_key` (never the key) and its source,
/// the client options, under workload identity `workload_identity`, and `env_overrides` (the
/// variables in effect). A view of [`Plan`] that borrows it; nothing else builds the JSON.
#[derive(Serialize)]
struct PlanJson<'a> {
    conn_id: &'a str,
    auth_type: &'static str,
    base_url: &'a str,
    #[serde(serialize_with = "as_str")]
    base_url_source: BaseUrlOrigin,
    /// `"[redacted]"` under an API key, `null` under workload identity.
    api_key: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key_source: Option<&'static str>,
    organization: &'a Option<String>,
    project: &'a Option<String>,
    #[serde(serialize_with = "seconds")]
    timeout_seconds: Duration,
    max_retries: u32,
    default_headers: &'a [String],
    default_query: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    workload_identity: Option<WorkloadIdentityJson<'a>>,
    env_overrides: &'a [String],
}

/// The `workload_identity` object of [`PlanJson`].
#[derive(Serialize)]
struct WorkloadIdentityJson<'a> {
    provider: &'static str,
    /// The subject token's type; absent under x509, which has `subject_token_type` instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject_token_type: Option<&'static str>,
    #[serde(flatten)]
    parameters: &'a Map<String, Value>,
    identity_provider_id: &'a str,
    service_account_id: &'a str,
    #[serde(serialize_with = "seconds")]
    refresh_buffer_seconds: Duration,
    token_exchange_url: &'a str,
    token_exchange_url_source: &'static str,
    ignored_api_key: Option<&'static str>,
    env_overrides: &'a [&'static str],
}

fn as_str<S: Serializer>(origin: &BaseUrlOrigin, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(origin.as_str())
}

fn seconds<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

impl<'a> From<&'a Plan> for PlanJson<'a> {
    fn from(plan: &'a Plan) -> Self {
        let (auth_type, api_key, api_key_source) = match &plan.auth {
            AuthPlan::ApiKey { origin } => ("api_key", Some("[redacted]"), Some(origin.as_str())),
            AuthPlan::WorkloadIdentity { .. } => ("workload_identity", None, None),
        };
        let workload_identity = match &plan.auth {
            AuthPlan::ApiKey { .. } => None,
            AuthPlan::WorkloadIdentity {
                provider,
                token_type,
                identity_provider_id,
                service_account_id,
                refresh_buffer,
                exchange_url,
                exchange_url_origin,
                ignored_api_key,
                parameters,
                env_in_effect,
            } => Some(WorkloadIdentityJson {
                provider: provider.as_str(),
                token_type: token_type.map(TokenType::as_str),
                subject_token_type: token_type.is_none().then_some(X509_SUBJECT_TOKEN_TYPE),
                parameters,
                identity_provider_id,
                service_account_id,
                refresh_buffer_seconds: *refresh_buffer,
                token_exchange_url: exchange_url,
                token_exchange_url_source: exchange_url_origin.as_str(),
                ignored_api_key: ignored_api_key.map(ApiKeyOrigin::as_str),
                env_overrides: env_in_effect,
            }),
        };
        PlanJson {
            conn_id: &plan.conn_id,
            auth_type,
            base_url: &plan.base_url,
            base_url_source: plan.base_url_origin,
            api_key,
            api_key_source,
            organization: &plan.organization,
            project: &plan.project,
            timeout_seconds: plan.timeout,
            max_retries: plan.max_retries,
            default_headers: &plan.default_header_names,
            default_query: &plan.default_query_names,
            workload_identity,
            env_overrides: &plan.env_in_effect,
        }
    }
}

/// The JSON form `openai-conn plan` prints (derived on the private `PlanJson` view).
impl Serialize for Plan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PlanJson::from(self).serialize(serializer)
    }
}
