//! The connection as an HTTP upstream, for programs that forward raw requests to the API (the
//! `openai-conn-proxy` crate) rather than call it through async-openai: the same resolution,
//! token cache, headers and transport rules as [`crate::from_connection`], without the tower
//! stack (no retries: the forwarded clients retry themselves).

use std::sync::Arc;

use async_openai::config::Config;
use async_openai::error::OpenAIError;
use conn_schema::Connection;
use reqwest::header::{AUTHORIZATION, HeaderMap};
use url::Url;

use crate::cache::TokenCache;
use crate::connect::prepare;
use crate::errors::ClientError;
use crate::options::ClientOptions;
use crate::plan::Plan;
use crate::token::AccessToken;
use crate::transport::ApiClient;
use crate::x509::X509ApiClient;

/// A connection resolved for forwarding: the base URL, the credential (the API key among the
/// fixed headers, or the workload-identity [`TokenCache`]), and the HTTP client of the API (rustls,
/// redirects never followed, the connection's timeout, under x509 the client certificate of the
/// current generation). Cloning is cheap. Debug shows no header value.
#[derive(Clone)]
pub struct Upstream {
    inner: Arc<Inner>,
}

struct Inner {
    base_url: Url,
    headers: HeaderMap,
    default_query: Vec<(String, String)>,
    token_cache: Option<TokenCache>,
    client: Client,
    plan: Plan,
}

#[derive(Clone)]
enum Client {
    Plain(reqwest::Client),
    X509(X509ApiClient),
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("base_url", &self.inner.plan.base_url)
            .field("headers", &self.inner.headers.keys().collect::<Vec<_>>())
            .field("token_cache", &self.inner.token_cache)
            .finish_non_exhaustive()
    }
}

/// Resolves `conn` as [`crate::from_connection`] does and returns it as an [`Upstream`]. No
/// request is sent.
pub fn upstream(
    conn: &Connection,
    conn_id: &str,
    options: ClientOptions,
) -> Result<Upstream, ClientError> {
    let prepared = prepare(conn, conn_id, &options)?;
    let invalid_base = |reason: String| ClientError::InvalidBaseUrl {
        conn_id: conn_id.to_owned(),
        url: prepared.plan.base_url.clone(),
        origin: prepared.plan.base_url_origin,
        reason,
    };
    let base_url =
        Url::parse(&prepared.base_url).map_err(|error| invalid_base(error.to_string()))?;
    let mut headers = prepared.config.headers();
    let token_cache = prepared.token_cache;
    match token_cache {
        // Under workload identity the config holds an empty key; the bearer comes per request.
        Some(_) => {
            headers.remove(AUTHORIZATION);
        }
        None => {
            if let Some(value) = headers.get_mut(AUTHORIZATION) {
                value.set_sensitive(true);
            }
        }
    }
    let client = match prepared.x509_client {
        Some(x509) => Client::X509(x509),
        None => Client::Plain(prepared.http),
    };
    let default_query = conn
        .extra
        .client_kwargs
        .default_query
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    Ok(Upstream {
        inner: Arc::new(Inner {
            base_url,
            headers,
            default_query,
            token_cache,
            client,
            plan: prepared.plan,
        }),
    })
}

impl Upstream {
    /// The API base as configured (`https://api.openai.com/v1` by default).
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The workload-identity token cache; `None` under `api_key` auth.
    pub fn token_cache(&self) -> Option<&TokenCache> {
        self.inner.token_cache.as_ref()
    }

    /// What was resolved (safe to print).
    pub fn plan(&self) -> &Plan {
        &self.inner.plan
    }

    /// `openai_client_kwargs.default_query`, to append to every request's query.
    pub fn default_query(&self) -> &[(String, String)] {
        &self.inner.default_query
    }

    /// The client for the next request: redirects off, the connection's timeout, under x509 the
    /// current certificate generation.
    pub fn client(&self) -> reqwest::Client {
        match &self.inner.client {
            Client::Plain(client) => client.clone(),
            Client::X509(client) => client.client(),
        }
    }

    /// Makes `headers` carry the connection's credential and nothing else: every credential
    /// header (`conn_schema::CREDENTIAL_HEADERS`: `Authorization`, `api-key`, `x-api-key`,
    /// `Cookie`, `Proxy-Authorization`, ...) is removed, the connection's headers (organization,
    /// project, default headers, the API key's bearer) are set, and under workload identity the
    /// bearer of `token`.
    pub fn authorize(
        &self,
        headers: &mut HeaderMap,
        token: Option<&AccessToken>,
    ) -> Result<(), OpenAIError> {
        for name in conn_schema::CREDENTIAL_HEADERS {
            headers.remove(*name);
        }
        for (name, value) in &self.inner.headers {
            headers.insert(name, value.clone());
        }
        match token {
            Some(token) => crate::layer::set_bearer(headers, token),
            None => Ok(()),
        }
    }

    /// A transport error of a request to the API, as the API client reports it: without the
    /// URL, and under x509 naming the refused certificate.
    pub fn transport_error(&self, error: reqwest::Error) -> OpenAIError {
        match &self.inner.client {
            Client::Plain(client) => client.transport_error(&self.inner.base_url, error),
            Client::X509(client) => client.transport_error(&self.inner.base_url, error),
        }
    }
}
