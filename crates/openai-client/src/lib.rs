//! Turns an Apache Airflow OpenAI connection into an authenticated async-openai client.
//!
//! - [`from_connection`] is the Airflow hook's `get_conn`: it resolves the base URL, headers,
//!   timeout and retries, and authenticates with an API key or with workload identity.
//!   [`plan`] resolves the same without network access, for people to read.
//! - Under workload identity a subject token from the platform is exchanged (RFC 8693, see
//!   [`ExchangeError`] for the failure modes) for a short-lived OpenAI access token, kept by a
//!   [`TokenCache`]: lock-free reads, one exchange at a time, refreshed in the background, served
//!   while still valid when a refresh fails, compare-and-clear invalidation.
//! - [`WorkloadIdentityLayer`] is the tower middleware that puts the bearer on every request and
//!   replays a 401 once with a fresh token.
//! - Under X.509 workload identity (`workload_identity_provider: "x509"`) there is no subject
//!   token: the client certificate is presented over mutual TLS to the exchange
//!   ([`DEFAULT_MTLS_TOKEN_EXCHANGE_URL`]) and to the API ([`DEFAULT_MTLS_BASE_URL`]), and is read
//!   again when its files change on disk.
//! - [`upstream`] resolves the same connection for programs that forward raw HTTP requests (a
//!   local proxy): base URL, credential, headers and the API's HTTP client, without retries.
//! - [`test_connection`], [`chat_completion`] and [`embed`] are small helpers over the client.
//!
//! No function logs or formats a key or token; [`AccessToken`] and every error are safe to print.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use conn_schema::{DocumentKind, validate};
//! use openai_conn_client::{ClientOptions, chat_completion, from_connection};
//!
//! let connection = validate(&std::fs::read_to_string("conn.json")?, DocumentKind::Auto).into_connection().ok_or("invalid connection")?;
//! let client = from_connection(&connection, "openai_default", ClientOptions::new())?.client; // an async_openai::Client
//! println!("{}", chat_completion(&client, "Say hello", None).await?);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
mod builder;
mod cache;
mod connect;
mod errors;
mod exchange;
mod layer;
mod mint;
mod options;
mod plan;
mod resolve;
mod retry;
mod server_text;
mod token;
mod transport;
mod upstream;
mod x509;

pub use api::{
    CONNECTION_ESTABLISHED, DEFAULT_CHAT_MODEL, DEFAULT_EMBEDDING_MODEL, chat_completion, embed,
    test_connection,
};
pub use builder::TokenCacheBuilder;
pub use cache::{DEFAULT_FLIGHT_DEADLINE, DEFAULT_REFRESH_BUFFER, TokenCache};
pub use connect::{Connected, from_connection, subject_token_source};
pub use errors::{ApiTransportError, ClientError, ExchangeError, MutualTlsError};
pub use exchange::{MAX_TOKEN_LIFETIME, default_exchange_retry_policy};
pub use layer::{
    DefaultQueryLayer, DefaultQueryService, WorkloadIdentityLayer, WorkloadIdentityService,
};
pub use options::ClientOptions;
pub use plan::{AuthPlan, Plan, environment_findings, exposed_key_warning, plan};
pub use resolve::{
    API_KEY_ENV, ApiKeyOrigin, BASE_URL_ENV, BaseUrlOrigin, CUSTOM_HEADERS_ENV, DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RETRIES, DEFAULT_MTLS_BASE_URL,
    DEFAULT_MTLS_TOKEN_EXCHANGE_URL, DEFAULT_TIMEOUT, DEFAULT_TOKEN_EXCHANGE_URL,
    ExchangeUrlOrigin, ORGANIZATION_ENV, PROJECT_ENV, TOKEN_EXCHANGE_URL_ENV,
};
pub use token::AccessToken;
pub use upstream::{Upstream, upstream};
pub use x509::X509_SUBJECT_TOKEN_TYPE;

/// The X.509 identity (certificate files followed on disk) behind an `x509` connection.
pub use providers_x509;

/// The failure shape the exchange shares with the HTTP sources (see [`ExchangeError::Http`]).
pub use providers_http::HttpError;

/// The registry of named sources a `custom` connection may select (see [`ClientOptions::with_registry`]).
pub use providers_custom::Registry as CustomRegistry;

/// What tests of programs built on this crate need and users do not (feature `test-util`); the
/// knobs of [`ClientOptions`] and [`TokenCacheBuilder`] that inject sleeps and retry schedules
/// are behind the same feature.
#[cfg(feature = "test-util")]
pub mod test_util {
    use providers_core::RetryPolicy;

    /// The exchange's retry policy once `openai_client_kwargs.max_retries` applies to `policy`
    /// (`Some(0)` is one attempt, `None` keeps the policy's own count).
    pub fn exchange_retry_policy_for(max_retries: Option<u32>, policy: RetryPolicy) -> RetryPolicy {
        crate::builder::exchange_retry_policy_for(max_retries, policy)
    }
}

/// Re-exported so users need not depend on async-openai and providers-core directly.
pub use async_openai;
pub use providers_core;
