//! The GCP metadata server as a subject-token source (token type `id`).
//!
//! [`GcpSource`] asks the metadata server of a Compute Engine VM, GKE node or Cloud Run service
//! for an identity token of the instance's default service account:
//!
//! `GET http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/identity?audience=A`
//! with the header `Metadata-Flavor: Google`. The reply body is the token (trimmed; empty is an
//! error). The host is replaced by `GCE_METADATA_HOST` (`host` or `host:port`, always plain
//! `http`) when that variable is set in the injected [`Env`]; it is read on every fetch.
//!
//! Timeouts, connection failures, 408, 429, 500, 503 and 504 are retried four times with
//! exponential backoff from 1 s plus jitter, honouring `Retry-After`; other statuses are not.
//! Every attempt has a 10 s timeout and redirects are never followed. [`GcpError`] says why a
//! fetch failed, without any reply body: its own variant for a bad `GCE_METADATA_HOST`, and the
//! shared [`HttpError`] of `providers-http` for the rest.
//!
//! The source knows no connection format: it is built from an audience and an [`Env`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod signals;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use providers_core::{Env, RetryPolicy, SubjectToken, TokenType};
use providers_http::{HttpSettings, Proxy, read_reply};
use secrecy::SecretString;
use url::Url;

pub use error::GcpError;
pub use providers_http::{DEFAULT_TIMEOUT, HttpError, HttpSource, SourceHttpError};
pub use signals::GcpSignals;

/// The metadata server's host when `GCE_METADATA_HOST` is not set.
pub const DEFAULT_METADATA_HOST: &str = "metadata.google.internal";

/// The environment variable that replaces [`DEFAULT_METADATA_HOST`] (`host` or `host:port`).
pub const METADATA_HOST_ENV: &str = "GCE_METADATA_HOST";

/// The path of the default service account's identity-token endpoint.
pub const IDENTITY_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/identity";

/// Retries of timeouts, connection failures, 408, 429, 500, 503 and 504: four, at about 1 s, 2 s,
/// 4 s and 8 s plus up to 25 % jitter, with a server's `Retry-After` honoured up to 60 s.
// The cap is above the last computed delay (8 s), so the jitter of that retry is not clipped.
pub const DEFAULT_RETRY_POLICY: RetryPolicy =
    RetryPolicy::exponential(4, Duration::from_secs(1), Duration::from_secs(10));

/// An identity token from the GCP metadata server.
///
/// Build it with [`GcpSource::new`]; with the `test-util` feature, the `with_*` methods adjust
/// retries, sleeping and the timeout. One HTTP client is built at construction and reused by
/// every fetch. Debug shows the configuration only: the source never holds a token.
pub struct GcpSource {
    env: Arc<dyn Env>,
    audience: String,
    http: HttpSettings,
}

impl GcpSource {
    /// The type of every token this source yields: the metadata server issues OpenID Connect ID
    /// tokens.
    pub const TOKEN_TYPE: TokenType = TokenType::Id;

    /// A source of ID tokens for `audience`, reading `GCE_METADATA_HOST` from `env` at every
    /// fetch (a bad value is reported by [`SubjectTokenSource::fetch`]). Fails only when the
    /// HTTP client cannot be built.
    pub fn new(audience: impl Into<String>, env: Arc<dyn Env>) -> Result<GcpSource, HttpError> {
        Ok(GcpSource {
            env,
            audience: audience.into(),
            // The metadata server is local to the instance; a proxy must never see its tokens.
            http: HttpSettings::build(
                "gcp metadata server identity token",
                "the metadata server",
                Proxy::Never,
                DEFAULT_TIMEOUT,
                &[DEFAULT_RETRY_POLICY],
            )?,
        })
    }

    /// The audience the token is requested for.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    async fn fetch_token(&self) -> Result<SubjectToken, GcpError> {
        let (url, host) = self.request_url()?;
        let attempt = |_| self.attempt(&url, &host);
        self.http.fetch(Self::TOKEN_TYPE, attempt).await
    }

    /// The identity URL and the `host[:port]` it goes to, from the environment as it is now.
    fn request_url(&self) -> Result<(Url, String), GcpError> {
        let host = self
            .env
            .var(METADATA_HOST_ENV)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| DEFAULT_METADATA_HOST.to_owned());
        let mut url = metadata_base_url(&host)?;
        url.set_path(IDENTITY_PATH);
        url.query_pairs_mut()
            .append_pair("audience", &self.audience);
        Ok((url, host))
    }

    async fn attempt(&self, url: &Url, host: &str) -> Result<SecretString, GcpError> {
        let endpoint = format!("the metadata server at {host}");
        let response = self
            .http
            .get(url.clone())
            .header("Metadata-Flavor", "Google")
            .send()
            .await
            .map_err(|error| HttpError::transport(endpoint.clone(), error))?;
        let status = response.status();
        if !status.is_success() {
            return Err(HttpError::status_of(endpoint, &response).into());
        }
        let body = read_reply(endpoint.clone(), response).await?;
        let malformed = |expected| HttpError::Malformed {
            endpoint: endpoint.clone().into(),
            status: status.as_u16(),
            expected,
        };
        let text =
            std::str::from_utf8(&body).map_err(|_| malformed("an identity token in utf-8"))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(malformed("a non-empty identity token").into());
        }
        Ok(SecretString::from(token))
    }
}

impl fmt::Debug for GcpSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The environment is left out: it is the process's, not the source's.
        let GcpSource { audience, http, .. } = self;
        write!(
            f,
            "GcpSource {{ audience: {audience:?}, http: {http:?}, .. }}"
        )
    }
}

providers_http::http_source!(GcpSource, GcpError);

/// `http://{host}/` for a `host` or `host:port`, rejecting anything else (a scheme, a path,
/// credentials), since the value is pasted after `http://` and must not redirect the request.
fn metadata_base_url(host: &str) -> Result<Url, GcpError> {
    let invalid = || GcpError::InvalidMetadataHost {
        value: host.to_owned(),
    };
    let url = Url::parse(&format!("http://{host}")).map_err(|_| invalid())?;
    let plain = url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && !host.ends_with('/');
    if plain { Ok(url) } else { Err(invalid()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use providers_http::Retryable;

    #[test]
    fn metadata_host_accepts_host_and_port_only() {
        assert_eq!(
            metadata_base_url("metadata.google.internal")
                .unwrap()
                .as_str(),
            "http://metadata.google.internal/"
        );
        assert_eq!(
            metadata_base_url("127.0.0.1:8080").unwrap().as_str(),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(
            metadata_base_url("[::1]:8080").unwrap().as_str(),
            "http://[::1]:8080/"
        );
        for bad in [
            "http://metadata.google.internal",
            "metadata/computeMetadata",
            "user:pw@metadata",
            "metadata?x=1",
            "metadata#x",
            "metadata/",
            "host:notaport",
            "",
        ] {
            let refused = matches!(
                metadata_base_url(bad),
                Err(GcpError::InvalidMetadataHost { .. })
            );
            assert!(refused, "{bad}");
        }
    }

    #[test]
    fn without_gce_metadata_host_the_request_goes_to_metadata_google_internal() {
        for env in [
            providers_core::MapEnv::new(),
            providers_core::MapEnv::new().with(METADATA_HOST_ENV, "  "),
        ] {
            let source =
                GcpSource::new("https://api.openai.com/v1", Arc::new(env)).expect("client builds");
            let (url, host) = source.request_url().unwrap();
            assert_eq!(
                url.as_str(),
                "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/\
                 default/identity?audience=https%3A%2F%2Fapi.openai.com%2Fv1"
            );
            assert_eq!(host, DEFAULT_METADATA_HOST);
        }
    }

    #[test]
    fn retried_statuses_are_a_subset_of_transient_ones() {
        let status = |status| -> GcpError {
            let endpoint = "the metadata server".into();
            let retry_after = None;
            HttpError::Status {
                endpoint,
                status,
                retry_after,
            }
            .into()
        };
        for code in [408, 429, 500, 503, 504] {
            assert!(
                status(code).is_retried() && status(code).is_transient(),
                "{code}"
            );
        }
        // A 502 is worth trying later, but google-auth does not retry it in the loop.
        assert!(status(502).is_transient() && !status(502).is_retried());
        for code in [400, 401, 403, 404] {
            assert!(
                !status(code).is_transient() && !status(code).is_retried(),
                "{code}"
            );
        }
        let redirect = GcpError::Http(HttpError::Redirect {
            endpoint: "the metadata server".into(),
            status: 302,
        });
        assert!(!redirect.is_retried());
        let empty = GcpError::Http(HttpError::Malformed {
            endpoint: "the metadata server".into(),
            status: 200,
            expected: "a non-empty identity token",
        });
        assert!(!empty.is_transient() && !empty.is_retried());
    }

    #[test]
    fn status_messages_name_the_status_and_hint_at_the_cause() {
        let error = GcpError::Http(HttpError::Status {
            endpoint: "the metadata server at h".into(),
            status: 404,
            retry_after: None,
        });
        assert!(
            error
                .to_string()
                .starts_with("the metadata server at h answered status 404 (not found:"),
            "{error}"
        );
        let error = GcpError::Http(HttpError::Status {
            endpoint: "the metadata server at h".into(),
            status: 503,
            retry_after: Some(Duration::from_secs(3)),
        });
        assert_eq!(
            error.to_string(),
            "the metadata server at h answered status 503"
        );
        assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
    }
}
