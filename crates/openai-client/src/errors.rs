//! Every error type of the crate, in a leaf module: what turning a connection into a client
//! ([`ClientError`]), getting an access token ([`ExchangeError`]), a mutual-TLS handshake
//! ([`MutualTlsError`]) and the API transport ([`ApiTransportError`]) can fail with.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use providers_core::{BoxError, SourceError};
use providers_http::{BodyError, HttpError, Retryable, is_transient_status};
use providers_x509::TlsFailure;

use crate::resolve::{API_KEY_ENV, ApiKeyOrigin, BaseUrlOrigin};

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

/// Getting an access token failed: the subject-token source, the exchange request, or its reply.
///
/// Messages never contain a token or a response body; the one piece of server text they carry is
/// an OAuth `error_description`, which the OAuth error contract defines as human-readable.
/// The error is `Clone` (causes are shared) so one failed refresh can be handed to every caller
/// that waited for it.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The subject-token source failed.
    #[error("could not get a subject token: {0}")]
    Source(#[source] Arc<SourceError>),
    /// The subject-token source returned an empty token.
    #[error("the subject-token source returned an empty token")]
    EmptySubjectToken,
    /// The exchange answered 400, 401 or 403: an OAuth error such as `invalid_grant`.
    #[error("oauth error {error} ({status}): {description}{}", request_id_suffix(request_id.as_deref()))]
    OAuth {
        /// The body's `error` code, or `unknown_error` when the body has none.
        error: String,
        /// The body's `error_description`, or a generic sentence when the body has none.
        description: String,
        /// The HTTP status.
        status: u16,
        /// The response's `x-request-id`, when it sent one (what OpenAI support asks for).
        request_id: Option<String>,
    },
    /// The exchange request failed as any credential request can: the client, the transport,
    /// a redirect (never followed: the subject token must go only to the configured endpoint),
    /// another status, or a 2xx reply that is not a valid token response.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The refresh that callers were waiting for was stopped before it finished (its runtime shut
    /// down); the next call starts a new one.
    #[error("the token refresh was interrupted before it finished")]
    Interrupted,
    /// The subject-token fetch and the exchange, retries included, did not finish within the
    /// flight's overall deadline (see `TokenCacheBuilder::flight_deadline`).
    #[error("no access token within the {}s deadline (subject-token fetch and exchange, retries included)", .0.as_secs_f64())]
    Deadline(Duration),
    /// The exchange endpoint is not a usable URL.
    #[error("invalid token exchange url {url:?}: {reason}")]
    InvalidUrl {
        /// The rejected value, without user info and with query values masked.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Under x509: the client certificate could not be set up for the exchange.
    #[error(transparent)]
    X509(Arc<providers_x509::X509Error>),
    /// Under x509: the mutual-TLS handshake failed (the exchange refused the client certificate,
    /// or its own certificate is not trusted). Not transient: the same certificate would be
    /// refused again.
    #[error("token exchange over mutual tls failed: {0}")]
    MutualTls(Arc<MutualTlsError>),
}

impl ExchangeError {
    /// Whether trying again later may succeed: 408, 429, 5xx, timeouts, connection failures,
    /// transient source failures and interrupted refreshes. OAuth errors, redirects and malformed
    /// replies are not transient.
    pub fn is_transient(&self) -> bool {
        match self {
            ExchangeError::Source(source) => source.is_transient(),
            ExchangeError::Http(error) => error.is_transient(),
            ExchangeError::Interrupted | ExchangeError::Deadline(_) => true,
            _ => false,
        }
    }

    /// The HTTP status the exchange answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ExchangeError::OAuth { status, .. } => Some(*status),
            ExchangeError::Http(error) => error.status(),
            _ => None,
        }
    }
}

impl Retryable for ExchangeError {
    /// Whether the exchange loop retries this error itself: 408, 429, 5xx, timeouts and refused
    /// connections. Source failures are not retried here: the exchange reuses the subject token
    /// it was given, and the cache's refresh backoff retries the whole step.
    fn is_retried(&self) -> bool {
        match self {
            ExchangeError::Http(HttpError::Status { status, .. }) => is_transient_status(*status),
            ExchangeError::Http(HttpError::Timeout { .. } | HttpError::Connect { .. }) => true,
            _ => false,
        }
    }

    /// The exchange's `Retry-After`, when a retried status carried one.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            ExchangeError::Http(error) => error.retry_after(),
            _ => None,
        }
    }
}

fn request_id_suffix(request_id: Option<&str>) -> String {
    request_id.map_or_else(String::new, |id| format!(" (request id {id})"))
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

/// What the API transport refuses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiTransportError {
    /// The API answered with a redirect, which is never followed: the request's credentials must
    /// go only to the configured base URL.
    #[error("the api answered with a redirect ({status}) to {target}, which is not followed")]
    Redirect {
        /// The HTTP status.
        status: u16,
        /// The host and port the `Location` header points to (`no location` when it has none).
        target: String,
    },
    /// An error reply whose body is larger than [`MAX_BODY_BYTES`] or could not be read.
    #[error("the api answered {status}, and its reply body could not be read: {source}")]
    Body {
        /// The HTTP status.
        status: u16,
        /// Why.
        #[source]
        source: BodyError,
    },
}
