//! The connection model: the typed view of an Airflow `openai` connection and its `extra`.
//!
//! These types are the single source of truth. Their doc comments become the descriptions an
//! editor shows on hover (see `schema.rs`), and the parser in `parse.rs` fills them in with the
//! reference defaults applied, so every consumer sees the same resolved values.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use secrecy::SecretString;
use serde::Serialize;

/// Default path of the Kubernetes projected service-account token.
pub const DEFAULT_TOKEN_FILE_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
/// Default Azure resource the managed-identity token is requested for.
pub const DEFAULT_AZURE_RESOURCE: &str = "https://management.azure.com/";
/// Default Azure IMDS `api-version`.
pub const DEFAULT_AZURE_API_VERSION: &str = "2018-02-01";
/// Default audience of GCP and GitHub Actions ID tokens.
pub const DEFAULT_AUDIENCE: &str = "https://api.openai.com/v1";
/// Default number of seconds before expiry at which an access token is refreshed.
pub const DEFAULT_REFRESH_BUFFER_SECONDS: f64 = 1200.0;
/// Default number of seconds an external token command may run.
pub const DEFAULT_TOKEN_COMMAND_TIMEOUT_SECONDS: f64 = 30.0;
/// The smallest number of seconds a `Duration` cannot hold (2^64): every key in seconds must be
/// below it, in the schema (`exclusiveMaximum`) as in the parser.
pub const MAX_SECONDS_EXCLUSIVE: f64 = 18_446_744_073_709_551_616.0;
/// The `conn_type` of an OpenAI connection.
pub const CONN_TYPE: &str = "openai";

/// How the connection authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthType {
    /// Send a static API key: `openai_client_kwargs.api_key`, else the connection password, else the
    /// `OPENAI_API_KEY` environment variable. This is the default when `auth_type` is absent.
    ApiKey,
    /// Exchange a short-lived identity token from the environment for a short-lived OpenAI access
    /// token. No API key is stored or sent.
    WorkloadIdentity,
}

impl AuthType {
    /// Every accepted value, in the order the schema lists them.
    pub const ALL: [AuthType; 2] = [AuthType::ApiKey, AuthType::WorkloadIdentity];

    /// The value as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::ApiKey => "api_key",
            AuthType::WorkloadIdentity => "workload_identity",
        }
    }
}

/// Where the subject (identity) token comes from under workload identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// The Kubernetes projected service-account token, read from `token_file_path` on every fetch.
    Kubernetes,
    /// An Azure managed-identity token from the instance metadata service (IMDS), or from App
    /// Service when `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set.
    Azure,
    /// A Google Cloud ID token for `audience` from the metadata server.
    Gcp,
    /// A token from a source the host program registered under `token_provider`, or printed by
    /// `token_command`.
    Custom,
    /// A GitHub Actions OIDC token for `audience` (the job needs `permissions: id-token: write`).
    GithubActions,
    /// No subject token: the workload's X.509 client certificate (`certificate_path`,
    /// `private_key_path`) is presented over mutual TLS to the exchange and the API.
    X509,
}

impl ProviderKind {
    /// Every accepted value, in the order the schema lists them.
    pub const ALL: [ProviderKind; 6] = [
        ProviderKind::Kubernetes,
        ProviderKind::Azure,
        ProviderKind::Gcp,
        ProviderKind::Custom,
        ProviderKind::GithubActions,
        ProviderKind::X509,
    ];

    /// The value as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Kubernetes => "kubernetes",
            ProviderKind::Azure => "azure",
            ProviderKind::Gcp => "gcp",
            ProviderKind::Custom => "custom",
            ProviderKind::GithubActions => "github_actions",
            ProviderKind::X509 => "x509",
        }
    }
}

/// The kind of subject token a source yields; it selects the `subject_token_type` of the exchange.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    /// A JWT (`urn:ietf:params:oauth:token-type:jwt`). The default.
    #[default]
    Jwt,
    /// An OpenID Connect ID token (`urn:ietf:params:oauth:token-type:id_token`).
    Id,
}

impl TokenType {
    /// Every accepted value, in the order the schema lists them.
    pub const ALL: [TokenType; 2] = [TokenType::Jwt, TokenType::Id];

    /// The value as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Jwt => "jwt",
            TokenType::Id => "id",
        }
    }
}

/// The OpenAI region whose endpoint `openai_client_kwargs.data_residency` selects, as the SDK's
/// `data_residency` argument does. The one table of regional base URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataResidency {
    /// `https://api.openai.com/v1` (`https://mtls.api.openai.com/v1` under x509).
    Global,
    /// `https://us.api.openai.com/v1` (`https://mtls-us.api.openai.com/v1` under x509).
    Us,
    /// `https://eu.api.openai.com/v1` (`https://mtls-eu.api.openai.com/v1` under x509).
    Eu,
    /// `https://ae.api.openai.com/v1` (not under x509).
    Ae,
    /// `https://au.api.openai.com/v1` (not under x509).
    Au,
    /// `https://in.api.openai.com/v1` (not under x509).
    In,
    /// `https://jp.api.openai.com/v1` (not under x509).
    Jp,
}

impl DataResidency {
    /// Every accepted value, in the order the schema lists them.
    pub const ALL: [DataResidency; 7] = [
        DataResidency::Global,
        DataResidency::Us,
        DataResidency::Eu,
        DataResidency::Ae,
        DataResidency::Au,
        DataResidency::In,
        DataResidency::Jp,
    ];

    /// The value as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DataResidency::Global => "global",
            DataResidency::Us => "us",
            DataResidency::Eu => "eu",
            DataResidency::Ae => "ae",
            DataResidency::Au => "au",
            DataResidency::In => "in",
            DataResidency::Jp => "jp",
        }
    }

    /// The API base URL of this region for an API key or a subject-token exchange.
    pub fn base_url(self) -> &'static str {
        match self {
            DataResidency::Global => "https://api.openai.com/v1",
            DataResidency::Us => "https://us.api.openai.com/v1",
            DataResidency::Eu => "https://eu.api.openai.com/v1",
            DataResidency::Ae => "https://ae.api.openai.com/v1",
            DataResidency::Au => "https://au.api.openai.com/v1",
            DataResidency::In => "https://in.api.openai.com/v1",
            DataResidency::Jp => "https://jp.api.openai.com/v1",
        }
    }

    /// The mutual-TLS API base URL of this region under x509; `None` for a region without one.
    pub fn mtls_base_url(self) -> Option<&'static str> {
        match self {
            DataResidency::Global => Some("https://mtls.api.openai.com/v1"),
            DataResidency::Us => Some("https://mtls-us.api.openai.com/v1"),
            DataResidency::Eu => Some("https://mtls-eu.api.openai.com/v1"),
            DataResidency::Ae | DataResidency::Au | DataResidency::In | DataResidency::Jp => None,
        }
    }

    /// The values that have a mutual-TLS endpoint (accepted under x509), in schema order.
    pub fn mtls_values() -> Vec<DataResidency> {
        Self::ALL
            .into_iter()
            .filter(|value| value.mtls_base_url().is_some())
            .collect()
    }
}

/// Options passed to the OpenAI client. Debug shows header and query names, not their values,
/// which may carry credentials.
#[derive(Clone, Default, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ClientKwargs {
    /// API base URL, an absolute http or https URL such as `https://api.openai.com/v1`.
    /// Default: `data_residency`'s endpoint, else the connection `host`, else the
    /// `OPENAI_BASE_URL` environment variable, else
    /// `https://api.openai.com/v1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[hH][tT][tT][pP][sS]?://[^\s/?#@]+([/?#]\S*)?$"))]
    pub base_url: Option<String>,
    /// OpenAI region whose endpoint becomes the API base, as the SDK's `data_residency`:
    /// `global`, `us`, `eu`, `ae`, `au`, `in` or `jp` (`https://us.api.openai.com/v1`, ...);
    /// under the `x509` provider only `global`, `us` and `eu`, to their mutual-TLS hosts
    /// (`https://mtls-us.api.openai.com/v1`, ...). Cannot be combined with `base_url` or the
    /// connection `host`; wins over `OPENAI_BASE_URL`. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_residency: Option<DataResidency>,
    /// OpenAI organization id, sent as the `OpenAI-Organization` header. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub organization: Option<String>,
    /// OpenAI project id, sent as the `OpenAI-Project` header. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub project: Option<String>,
    /// Request timeout in seconds; must be greater than 0. Default: the client's own (600 s).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_seconds"
    )]
    #[schemars(
        with = "Option<f64>",
        extend("exclusiveMinimum" = 0, "exclusiveMaximum" = MAX_SECONDS_EXCLUSIVE)
    )]
    pub timeout: Option<Duration>,
    /// How many times a failed API request is retried; an integer, 0 or more. Default: the
    /// client's own (2).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 4_294_967_295u32))]
    pub max_retries: Option<u32>,
    /// Extra HTTP headers sent with every API request, as a map of header name to value.
    /// Default: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub default_headers: BTreeMap<String, String>,
    /// Extra query parameters added to every API request, as a map of name to value.
    /// Default: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub default_query: BTreeMap<String, String>,
    /// API key used when `auth_type` is `api_key`; it wins over the connection password.
    /// Ignored (never sent) under workload identity. Default: none.
    #[serde(skip_serializing)]
    #[schemars(with = "Option<String>", length(min = 1))]
    pub api_key: Option<SecretString>,
}

impl std::fmt::Debug for ClientKwargs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKwargs")
            .field("base_url", &self.base_url)
            .field("data_residency", &self.data_residency)
            .field("organization", &self.organization)
            .field("project", &self.project)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field(
                "default_headers",
                &self.default_headers.keys().collect::<Vec<_>>(),
            )
            .field(
                "default_query",
                &self.default_query.keys().collect::<Vec<_>>(),
            )
            .field("api_key", &self.api_key)
            .finish()
    }
}

/// Kubernetes: the projected service-account token file.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct KubernetesConfig {
    /// Path of the service-account token file, read again on every fetch so kubelet's rotation is
    /// picked up. Default: `/var/run/secrets/kubernetes.io/serviceaccount/token`.
    #[serde(default = "default_token_file_path")]
    #[schemars(length(min = 1))]
    pub token_file_path: String,
}

/// Azure: a managed-identity token.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct AzureConfig {
    /// Resource (audience) the managed-identity token is requested for.
    /// Default: `https://management.azure.com/`.
    #[serde(default = "default_azure_resource")]
    #[schemars(length(min = 1))]
    pub resource: String,
    /// Client id of a user-assigned managed identity. Default: the system-assigned identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub client_id: Option<String>,
    /// Object (principal) id of a user-assigned managed identity. Default: the system-assigned
    /// identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub object_id: Option<String>,
    /// Azure resource id of a user-assigned managed identity. Default: the system-assigned
    /// identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub msi_res_id: Option<String>,
    /// `api-version` of the instance metadata service (IMDS). Default: `2018-02-01`.
    #[serde(default = "default_azure_api_version")]
    #[schemars(length(min = 1))]
    pub api_version: String,
}

/// Google Cloud: an ID token from the metadata server.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct GcpConfig {
    /// Audience of the ID token. Default: `https://api.openai.com/v1`.
    #[serde(default = "default_audience")]
    #[schemars(length(min = 1))]
    pub audience: String,
}

/// GitHub Actions: the job's OIDC token.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct GithubActionsConfig {
    /// Audience of the OIDC token. Default: `https://api.openai.com/v1`.
    #[serde(default = "default_audience")]
    #[schemars(length(min = 1))]
    pub audience: String,
}

/// X.509: the workload's client certificate, presented over mutual TLS instead of a subject
/// token.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct X509Config {
    /// Path of the PEM client certificate chain (the workload's certificate first, then any
    /// intermediates), such as a SPIFFE X.509 SVID or a cert-manager `tls.crt`. Read again
    /// whenever the file changes on disk. Required under workload identity when
    /// `workload_identity_provider` is `x509`.
    #[schemars(length(min = 1))]
    pub certificate_path: String,
    /// Path of the PEM private key of the certificate (PKCS #8, PKCS #1 or SEC1), such as a
    /// cert-manager `tls.key`. Read again whenever the file changes on disk. Required under
    /// workload identity when `workload_identity_provider` is `x509`.
    #[schemars(length(min = 1))]
    pub private_key_path: String,
    /// Path of a PEM bundle of CA certificates that replace the system roots when checking the
    /// token exchange's and the API's server certificates. Default: the system roots.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub ca_bundle_path: Option<String>,
}

/// Custom, as written: a source compiled into the host program, or an external command. This is
/// the schema's shape of the keys; parsing resolves them into a [`CustomConfig`].
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct CustomKeys {
    /// Name of a token source the host program registered (for example
    /// `corp.tokens.vault_jwt`). Set exactly one of `token_provider` and `token_command`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub token_provider: Option<String>,
    /// Command that prints the subject token on standard output, as an argument array run without
    /// a shell, for example `["vault", "read", "-field=token", "secret/openai"]`. Set exactly one
    /// of `token_provider` and `token_command`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), inner(length(min = 1)))]
    pub token_command: Option<Vec<String>>,
    /// Seconds `token_command` may run before it is killed; must be greater than 0. Default: 30.
    #[serde(default = "default_token_command_timeout_seconds")]
    #[schemars(extend("exclusiveMinimum" = 0, "exclusiveMaximum" = MAX_SECONDS_EXCLUSIVE))]
    pub token_command_timeout_seconds: f64,
    /// Kind of token the custom source returns: `jwt` or `id`. Default: `jwt`.
    #[serde(default)]
    pub token_type: TokenType,
}

/// Custom, resolved: where the subject token comes from and what kind of token it is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CustomConfig {
    /// The source.
    #[serde(flatten)]
    pub source: CustomSource,
    /// Kind of token the source returns.
    pub token_type: TokenType,
}

/// Where a custom subject token comes from: exactly one of the two, as the parser guarantees.
#[derive(Clone, PartialEq)]
pub enum CustomSource {
    /// A source registered by the host program under this name (`token_provider`).
    Registered(String),
    /// An external command (`token_command`: argv, no shell) and how long it may run.
    Command {
        /// The program and its arguments.
        argv: Vec<String>,
        /// How long the command may run before it is killed.
        timeout: Duration,
    },
}

/// Arguments may carry secrets (a `--password=...`), so only the program and the number of
/// arguments are shown, in Debug as in the serialised form.
impl std::fmt::Debug for CustomSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CustomSource::Registered(name) => f.debug_tuple("Registered").field(name).finish(),
            CustomSource::Command { argv, timeout } => f
                .debug_struct("Command")
                .field("program", &argv.first())
                .field("arguments", &argv.len().saturating_sub(1))
                .field("timeout", timeout)
                .finish(),
        }
    }
}

/// The keys as written (`token_provider`, or `token_command` as its program and argument count
/// with `token_command_timeout_seconds`).
impl Serialize for CustomSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            CustomSource::Registered(name) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("token_provider", name)?;
                map.end()
            }
            CustomSource::Command { argv, timeout } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry(
                    "token_command",
                    &serde_json::json!({
                        "program": argv.first(),
                        "arguments": argv.len().saturating_sub(1),
                    }),
                )?;
                map.serialize_entry("token_command_timeout_seconds", &timeout.as_secs_f64())?;
                map.end()
            }
        }
    }
}

/// The keys every workload-identity connection carries.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct WorkloadIdentityKeys {
    /// Where the subject token comes from: `kubernetes`, `azure`, `gcp`, `custom` or
    /// `github_actions`; or `x509` to present a client certificate instead. Required under
    /// workload identity.
    pub workload_identity_provider: ProviderKind,
    /// Id of the identity provider registered with OpenAI. Required under workload identity.
    #[schemars(length(min = 1))]
    pub identity_provider_id: String,
    /// Id of the OpenAI service account the external identity is bound to. Required under
    /// workload identity.
    #[schemars(length(min = 1))]
    pub service_account_id: String,
    /// Seconds before the access token expires at which it is refreshed, at most half its
    /// lifetime; a number, 0 or more. Default: 1200.
    #[serde(default = "default_refresh_buffer_seconds")]
    #[schemars(range(min = 0), extend("exclusiveMaximum" = MAX_SECONDS_EXCLUSIVE))]
    pub refresh_buffer_seconds: f64,
}

/// What `workload_identity_provider` selects, with its parameters and their defaults filled in:
/// a source of subject tokens, or (`x509`) the client certificate presented over mutual TLS.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ProviderConfig {
    /// See [`KubernetesConfig`].
    Kubernetes(KubernetesConfig),
    /// See [`AzureConfig`].
    Azure(AzureConfig),
    /// See [`GcpConfig`].
    Gcp(GcpConfig),
    /// See [`CustomConfig`].
    Custom(CustomConfig),
    /// See [`GithubActionsConfig`].
    GithubActions(GithubActionsConfig),
    /// See [`X509Config`].
    X509(X509Config),
}

impl ProviderConfig {
    /// The provider's name as written in `workload_identity_provider`.
    pub fn kind(&self) -> ProviderKind {
        match self {
            ProviderConfig::Kubernetes(_) => ProviderKind::Kubernetes,
            ProviderConfig::Azure(_) => ProviderKind::Azure,
            ProviderConfig::Gcp(_) => ProviderKind::Gcp,
            ProviderConfig::Custom(_) => ProviderKind::Custom,
            ProviderConfig::GithubActions(_) => ProviderKind::GithubActions,
            ProviderConfig::X509(_) => ProviderKind::X509,
        }
    }
}

/// Workload identity, resolved: the ids, the refresh buffer and the subject-token source.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadIdentity {
    /// Id of the identity provider registered with OpenAI.
    pub identity_provider_id: String,
    /// Id of the OpenAI service account.
    pub service_account_id: String,
    /// How long before expiry the access token is refreshed (`refresh_buffer_seconds`, default
    /// 1200 s).
    pub refresh_buffer: Duration,
    /// The subject-token source, or the client certificate under `x509`.
    pub provider: ProviderConfig,
}

/// How a connection authenticates, resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum Auth {
    /// A static API key (`auth_type` absent or `api_key`).
    ApiKey,
    /// Workload identity.
    WorkloadIdentity(WorkloadIdentity),
}

impl Auth {
    /// The `auth_type` this resolves.
    pub fn auth_type(&self) -> AuthType {
        match self {
            Auth::ApiKey => AuthType::ApiKey,
            Auth::WorkloadIdentity(_) => AuthType::WorkloadIdentity,
        }
    }
}

/// The `extra` object, resolved, with defaults applied.
#[derive(Clone, Debug)]
pub struct Extra {
    /// How the connection authenticates.
    pub auth: Auth,
    /// Options for the OpenAI client (`openai_client_kwargs`).
    pub client_kwargs: ClientKwargs,
}

/// A whole connection in Airflow's JSON form, resolved.
#[derive(Clone, Debug)]
pub struct Connection {
    /// `conn_type`; `openai` when present.
    pub conn_type: Option<String>,
    /// Free-text description.
    pub description: Option<String>,
    /// API base URL (Airflow `host`), used when `openai_client_kwargs.base_url` is absent.
    pub host: Option<String>,
    /// Airflow `login`; unused by OpenAI connections.
    pub login: Option<String>,
    /// The API key (Airflow `password`), used under `api_key` when `openai_client_kwargs.api_key`
    /// is absent.
    pub password: Option<SecretString>,
    /// Airflow `schema`; unused by OpenAI connections.
    pub schema: Option<String>,
    /// Airflow `port`; unused by OpenAI connections.
    pub port: Option<u16>,
    /// The resolved `extra`.
    pub extra: Extra,
}

impl Connection {
    /// A connection that holds only an `extra` (what a bare extra document means).
    pub fn from_extra(extra: Extra) -> Self {
        Connection {
            conn_type: None,
            description: None,
            host: None,
            login: None,
            password: None,
            schema: None,
            port: None,
            extra,
        }
    }
}

fn default_token_file_path() -> String {
    DEFAULT_TOKEN_FILE_PATH.to_owned()
}

fn default_azure_resource() -> String {
    DEFAULT_AZURE_RESOURCE.to_owned()
}

fn default_azure_api_version() -> String {
    DEFAULT_AZURE_API_VERSION.to_owned()
}

fn default_audience() -> String {
    DEFAULT_AUDIENCE.to_owned()
}

fn default_refresh_buffer_seconds() -> f64 {
    DEFAULT_REFRESH_BUFFER_SECONDS
}

fn default_token_command_timeout_seconds() -> f64 {
    DEFAULT_TOKEN_COMMAND_TIMEOUT_SECONDS
}

fn optional_seconds<S: serde::Serializer>(
    value: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    value
        .map(|duration| duration.as_secs_f64())
        .serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command's arguments may hold secrets: Debug and the serialised form (what `plan` prints)
    /// show the program and the number of arguments only.
    #[test]
    fn a_custom_command_shows_its_program_and_argument_count_only() {
        let source = CustomSource::Command {
            argv: vec!["vault".into(), "--password=SECRET-ARG".into()],
            timeout: Duration::from_secs(7),
        };
        let debug = format!("{source:?}");
        assert_eq!(
            debug,
            "Command { program: Some(\"vault\"), arguments: 1, timeout: 7s }"
        );
        let config = CustomConfig {
            source,
            token_type: TokenType::Id,
        };
        let json = serde_json::to_value(&config).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({
                "token_command": {"program": "vault", "arguments": 1},
                "token_command_timeout_seconds": 7.0,
                "token_type": "id"
            })
        );
        assert!(!format!("{config:?}").contains("SECRET-ARG"));
    }
}
