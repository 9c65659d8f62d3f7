//! Azure managed identity as a subject-token source (token type `jwt`).
//!
//! [`AzureSource`] asks the platform's managed-identity endpoint for an access token and hands it
//! on as the subject token. It picks the endpoint on every fetch, from the injected [`Env`]:
//!
//! - App Service, Functions and Container Apps: when `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are
//!   both set, `GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=R` with the headers
//!   `X-IDENTITY-HEADER` and `Metadata: true`;
//! - otherwise the instance metadata service (IMDS):
//!   `GET {authority}/metadata/identity/oauth2/token?api-version=V&resource=R` with the header
//!   `Metadata: true`; the authority is `http://169.254.169.254`, or
//!   `AZURE_POD_IDENTITY_AUTHORITY_HOST` when set.
//!
//! Transport failures, 404, 408, 429 and 5xx are retried (three times, exponential backoff from
//! 1 s with jitter, `Retry-After` honoured); 410 (IMDS upgrading) every 10 s up to seven times;
//! 400, 401 and 403 never. Every attempt has a 10 s timeout and redirects are never followed; the
//! retry loop and the sorting of transport failures are those of `providers-http`.
//!
//! The source knows no connection format: it is built from a resource, an [`Env`] and optional
//! identity selectors.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod signals;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use providers_core::{Env, RetryPolicy, SubjectToken, TokenType};
use providers_http::{HttpSettings, MAX_BODY_BYTES, Proxy, read_body, read_reply};
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

pub use error::{AzureError, Endpoint};
pub use providers_http::{DEFAULT_TIMEOUT, HttpError, HttpSource, SourceHttpError};
pub use signals::{
    AUTHORITY_HOST_ENV, AzureSignals, CLIENT_ID_ENV, FEDERATED_TOKEN_FILE_ENV,
    IDENTITY_ENDPOINT_ENV, IDENTITY_HEADER_ENV, TENANT_ID_ENV,
};

/// The IMDS authority when `AZURE_POD_IDENTITY_AUTHORITY_HOST` is not set.
pub const DEFAULT_AUTHORITY: &str = "http://169.254.169.254";

/// The `api-version` IMDS is asked with unless [`AzureSource::with_api_version`] says otherwise.
pub const DEFAULT_API_VERSION: &str = "2018-02-01";

/// The `api-version` the App Service identity endpoint is asked with; the configured
/// `api_version` is IMDS's and does not apply there.
pub const APP_SERVICE_API_VERSION: &str = "2019-08-01";

/// Retries of 410, which IMDS answers for up to 70 s while it upgrades: every 10 s, seven times.
pub const DEFAULT_UPGRADE_RETRY_POLICY: RetryPolicy = RetryPolicy {
    max_retries: 7,
    base_delay: Duration::from_secs(10),
    max_delay: Duration::from_secs(10),
    jitter: 0.0,
    max_retry_after: Duration::from_secs(10),
};

/// Retries of transport failures, 404, 408, 429 and 5xx: three, at about 1 s, 2 s and 4 s.
pub const DEFAULT_RETRY_POLICY: RetryPolicy =
    RetryPolicy::exponential(3, Duration::from_secs(1), Duration::from_secs(8));

const IMDS_PATH: &str = "/metadata/identity/oauth2/token";

/// A managed-identity token from IMDS or the App Service identity endpoint.
///
/// Build it with [`AzureSource::new`]; the `with_*` methods select a user-assigned identity, the
/// IMDS `api-version` and the IMDS authority, and with the `test-util` feature adjust retries,
/// sleeping and the timeout. One HTTP client is built here and reused by every
/// fetch. Debug shows the configuration only: the source never holds a token.
pub struct AzureSource {
    resource: String,
    identity: Identity,
    api_version: String,
    env: Arc<dyn Env>,
    authority: Option<String>,
    /// The retry budgets are the usual one (0) and 410's (1).
    http: HttpSettings,
}

/// The optional user-assigned identity selectors.
#[derive(Clone, Debug, Default)]
struct Identity {
    client_id: Option<String>,
    object_id: Option<String>,
    msi_res_id: Option<String>,
}

impl Identity {
    /// The identity in words, for the "not assigned" advice.
    fn describe(&self, endpoint: Endpoint) -> String {
        let resource_id_name = match endpoint {
            Endpoint::Imds => "msi_res_id",
            Endpoint::AppService => "mi_res_id",
        };
        let selectors: Vec<String> = [
            ("client_id", &self.client_id),
            ("object_id", &self.object_id),
            (resource_id_name, &self.msi_res_id),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|value| format!("{name} {value}")))
        .collect();
        if selectors.is_empty() {
            "the system-assigned identity".to_owned()
        } else {
            format!(
                "the user-assigned identity with {}",
                selectors.join(" and ")
            )
        }
    }
}

impl AzureSource {
    /// The type of every token this source yields: a managed-identity access token is a JWT.
    pub const TOKEN_TYPE: TokenType = TokenType::Jwt;

    /// A source of the system-assigned identity's tokens for `resource`, reading
    /// `IDENTITY_ENDPOINT`, `IDENTITY_HEADER` and `AZURE_POD_IDENTITY_AUTHORITY_HOST` from `env` at
    /// every fetch (a bad environment is reported by [`SubjectTokenSource::fetch`]). Fails only
    /// when the HTTP client cannot be built.
    pub fn new(resource: impl Into<String>, env: Arc<dyn Env>) -> Result<AzureSource, HttpError> {
        Ok(AzureSource {
            resource: resource.into(),
            identity: Identity::default(),
            api_version: DEFAULT_API_VERSION.to_owned(),
            env,
            authority: None,
            // IMDS and the App Service endpoint are local to the host; a proxy must never see them.
            http: HttpSettings::build(
                "azure managed identity token",
                "the managed identity endpoint",
                Proxy::Never,
                DEFAULT_TIMEOUT,
                &[DEFAULT_RETRY_POLICY, DEFAULT_UPGRADE_RETRY_POLICY],
            )?,
        })
    }

    /// Selects the user-assigned identity with this client id (sent as `client_id`).
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.identity.client_id = Some(client_id.into());
        self
    }

    /// Selects the user-assigned identity with this object (principal) id (sent as `object_id`).
    pub fn with_object_id(mut self, object_id: impl Into<String>) -> Self {
        self.identity.object_id = Some(object_id.into());
        self
    }

    /// Selects the user-assigned identity with this Azure resource id (sent as `msi_res_id` to
    /// IMDS and as `mi_res_id` to App Service).
    pub fn with_msi_res_id(mut self, msi_res_id: impl Into<String>) -> Self {
        self.identity.msi_res_id = Some(msi_res_id.into());
        self
    }

    /// Replaces [`DEFAULT_API_VERSION`], the `api-version` IMDS is asked with (the App Service
    /// endpoint always gets [`APP_SERVICE_API_VERSION`]).
    pub fn with_api_version(mut self, api_version: impl Into<String>) -> Self {
        self.api_version = api_version.into();
        self
    }

    /// Uses `authority` (scheme, host and port, such as `http://127.0.0.1:8080`) for IMDS instead
    /// of `AZURE_POD_IDENTITY_AUTHORITY_HOST` and the default. The App Service endpoint, when its
    /// variables are set, still wins.
    pub fn with_authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into());
        self
    }

    /// Replaces [`DEFAULT_UPGRADE_RETRY_POLICY`], the policy for 410.
    #[cfg(feature = "test-util")]
    pub fn with_upgrade_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.http.set_retry_policy(1, policy);
        self
    }

    async fn fetch_token(&self) -> Result<SubjectToken, AzureError> {
        let request = self.request()?;
        // 410 has its own budget (see `AzureError::budget`), so an IMDS upgrade does not use up
        // the retries of other failures.
        let attempt = |_| self.attempt(&request);
        self.http.fetch(Self::TOKEN_TYPE, attempt).await
    }

    /// The endpoint, URL and headers for this fetch, from the environment as it is now.
    fn request(&self) -> Result<Request, AzureError> {
        let set = |name: &str| self.env.var(name).filter(|value| !value.is_empty());
        if let (Some(endpoint), Some(header)) = (set("IDENTITY_ENDPOINT"), set("IDENTITY_HEADER")) {
            let header = SecretString::from(header);
            let mut url = parse_endpoint(&endpoint, "IDENTITY_ENDPOINT")?;
            // The request carries the IDENTITY_HEADER secret: plain http only on this machine.
            if url.scheme() == "http" && !providers_http::is_loopback(&url) {
                return Err(AzureError::CleartextEndpoint {
                    origin: "IDENTITY_ENDPOINT",
                });
            }
            self.append_query(&mut url, APP_SERVICE_API_VERSION, "mi_res_id");
            let mut identity_header = HeaderValue::from_str(header.expose_secret())
                .map_err(|_| AzureError::InvalidIdentityHeader)?;
            identity_header.set_sensitive(true);
            return Ok(Request {
                endpoint: Endpoint::AppService,
                url,
                identity_header: Some(identity_header),
            });
        }
        let (authority, origin) = match (&self.authority, set("AZURE_POD_IDENTITY_AUTHORITY_HOST"))
        {
            (Some(authority), _) => (authority.clone(), "the IMDS authority override"),
            (None, Some(authority)) => (authority, "AZURE_POD_IDENTITY_AUTHORITY_HOST"),
            (None, None) => (DEFAULT_AUTHORITY.to_owned(), "the default IMDS authority"),
        };
        let mut url = parse_endpoint(
            &format!("{}{IMDS_PATH}", authority.trim_end_matches('/')),
            origin,
        )?;
        self.append_query(&mut url, &self.api_version, "msi_res_id");
        Ok(Request {
            endpoint: Endpoint::Imds,
            url,
            identity_header: None,
        })
    }

    fn append_query(&self, url: &mut Url, api_version: &str, resource_id_name: &str) {
        let mut query = url.query_pairs_mut();
        query.append_pair("api-version", api_version);
        query.append_pair("resource", &self.resource);
        for (name, value) in [
            ("client_id", &self.identity.client_id),
            ("object_id", &self.identity.object_id),
            (resource_id_name, &self.identity.msi_res_id),
        ] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
    }

    async fn attempt(&self, request: &Request) -> Result<SecretString, AzureError> {
        let endpoint = request.endpoint;
        let http = |source: HttpError| AzureError::Http {
            endpoint,
            source,
            code: None,
        };
        let mut builder = self
            .http
            .get(request.url.clone())
            .header("Metadata", "true");
        if let Some(identity_header) = &request.identity_header {
            builder = builder.header("X-IDENTITY-HEADER", identity_header.clone());
        }
        let response = builder
            .send()
            .await
            .map_err(|error| http(HttpError::transport(endpoint.name(), error)))?;
        let status = response.status();
        if status.is_success() {
            let body = read_reply(endpoint.name(), response).await.map_err(http)?;
            let malformed = |expected| {
                http(HttpError::Malformed {
                    endpoint: endpoint.name().into(),
                    status: status.as_u16(),
                    expected,
                })
            };
            // The parse error is dropped: it may quote the reply.
            let reply: TokenReply = serde_json::from_slice(&body)
                .map_err(|_| malformed("json with a string access_token"))?;
            if reply.access_token.expose_secret().is_empty() {
                return Err(malformed("a non-empty access_token"));
            }
            return Ok(reply.access_token);
        }
        let source = HttpError::status_of(endpoint.name(), &response);
        if matches!(source, HttpError::Redirect { .. }) {
            return Err(http(source));
        }
        // A body that cannot be read only loses the error code; the status says enough.
        let code = read_body(response, MAX_BODY_BYTES)
            .await
            .ok()
            .and_then(|body| error_code(&body));
        if status.as_u16() == 400 {
            return Err(AzureError::IdentityNotAssigned {
                endpoint,
                identity: self.identity.describe(endpoint),
                code,
            });
        }
        Err(AzureError::Http {
            endpoint,
            source,
            code,
        })
    }
}

impl fmt::Debug for AzureSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureSource")
            .field("resource", &self.resource)
            .field("client_id", &self.identity.client_id)
            .field("object_id", &self.identity.object_id)
            .field("msi_res_id", &self.identity.msi_res_id)
            .field("api_version", &self.api_version)
            .field("authority", &self.authority)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

providers_http::http_source!(AzureSource, AzureError);

/// One resolved request: where it goes and the App Service secret header, if any.
struct Request {
    endpoint: Endpoint,
    url: Url,
    identity_header: Option<HeaderValue>,
}

/// The one field read from a token reply; the others (whose numbers may be strings) are ignored.
#[derive(Deserialize)]
struct TokenReply {
    access_token: SecretString,
}

#[derive(Deserialize)]
struct ErrorReply {
    error: Option<serde_json::Value>,
}

/// The `error` code of an error reply, kept only when it looks like a code (short, plain
/// characters), so that nothing else from the body can reach an error message.
fn error_code(body: &[u8]) -> Option<String> {
    let reply: ErrorReply = serde_json::from_slice(body).ok()?;
    let code = reply.error?.as_str()?.to_owned();
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    (!code.is_empty() && code.len() <= 64 && code.chars().all(plain)).then_some(code)
}

fn parse_endpoint(value: &str, origin: &'static str) -> Result<Url, AzureError> {
    let url = Url::parse(value).map_err(|source| AzureError::InvalidEndpoint { origin, source })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AzureError::UnsupportedScheme { origin });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_keeps_only_plain_short_codes() {
        assert_eq!(
            error_code(br#"{"error":"invalid_request","error_description":"secret"}"#).as_deref(),
            Some("invalid_request")
        );
        assert_eq!(error_code(br#"{"error":"has spaces and secret"}"#), None);
        assert_eq!(error_code(br#"{"error":{"nested":"secret"}}"#), None);
        assert_eq!(error_code(&[b'a'; 100]), None);
        assert_eq!(error_code(br#"{"error":""}"#), None);
    }

    #[test]
    fn identity_description_names_the_selectors() {
        assert_eq!(
            Identity::default().describe(Endpoint::Imds),
            "the system-assigned identity"
        );
        let identity = Identity {
            client_id: Some("c1".into()),
            object_id: None,
            msi_res_id: Some("/sub/r".into()),
        };
        assert_eq!(
            identity.describe(Endpoint::AppService),
            "the user-assigned identity with client_id c1 and mi_res_id /sub/r"
        );
    }
}
