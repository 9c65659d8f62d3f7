//! Tower middleware for async-openai's `Client::with_http_service`: the workload-identity bearer
//! with its 401 replay, and the connection's default query parameters.
//!
//! Both layers take and return async-openai's replayable [`HttpRequestFactory`]: they wrap the
//! factory so that every build (every attempt, every replay) gets the same treatment.

use std::sync::Arc;
use std::task::{Context, Poll};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use providers_core::BoxFuture;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::ExposeSecret;
use tower::{Layer, Service, ServiceExt};

use crate::cache::TokenCache;
use crate::errors::ExchangeError;
use crate::token::AccessToken;

/// Authenticates every API request with a workload-identity access token.
///
/// Each attempt gets `Authorization: Bearer <token>` from the [`TokenCache`], and any other
/// credential header ([`conn_schema::CREDENTIAL_HEADERS`]: `api-key`, `x-api-key`, `api_key`,
/// `Proxy-Authorization`, `Cookie`, `Ocp-Apim-Subscription-Key`, an earlier `Authorization`) is
/// removed. On a 401 the
/// layer invalidates the token it used (compare-and-clear), gets a fresh one and replays the
/// request once, rebuilt from its factory; a second 401 is returned as is. A 403 is returned as
/// is: it means the identity lacks permission, which a new token does not change.
///
/// Put it inside async-openai's `OpenAIRetryLayer` (retry outside, this layer inside): then every
/// retry attempt reads the cache again and so carries the current token even after a long
/// `Retry-After` wait, the retry layer sees the response after any 401 replay, and the replay
/// does not spend the retry budget. [`crate::from_connection`] builds that order.
#[derive(Clone, Debug)]
pub struct WorkloadIdentityLayer {
    cache: TokenCache,
}

impl WorkloadIdentityLayer {
    /// A layer that takes its tokens from `cache`.
    pub fn new(cache: TokenCache) -> Self {
        WorkloadIdentityLayer { cache }
    }
}

impl<S> Layer<S> for WorkloadIdentityLayer {
    type Service = WorkloadIdentityService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WorkloadIdentityService {
            inner,
            cache: self.cache.clone(),
        }
    }
}

/// The service made by [`WorkloadIdentityLayer`].
#[derive(Clone, Debug)]
pub struct WorkloadIdentityService<S> {
    inner: S,
    cache: TokenCache,
}

impl<S> Service<HttpRequestFactory> for WorkloadIdentityService<S>
where
    S: Service<HttpRequestFactory, Response = reqwest::Response, Error = OpenAIError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = BoxFuture<'static, Result<reqwest::Response, OpenAIError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        // The service that was polled ready is the one to call; leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let cache = self.cache.clone();
        Box::pin(async move {
            let token = cache.token().await.map_err(token_error)?;
            let response = inner
                .call(with_bearer(request.clone(), token.clone()))
                .await?;
            if response.status() != reqwest::StatusCode::UNAUTHORIZED {
                return Ok(response);
            }
            cache.invalidate(&token);
            drop(response);
            tracing::info!(
                target: "openai_conn_client::auth",
                "api answered 401; replaying once with a fresh access token"
            );
            let fresh = cache.token().await.map_err(token_error)?;
            let response = inner
                .ready()
                .await?
                .call(with_bearer(request, fresh.clone()))
                .await?;
            if response.status() == reqwest::StatusCode::UNAUTHORIZED {
                // Returned as is, but the token is not trusted again.
                cache.invalidate(&fresh);
            }
            Ok(response)
        })
    }
}

fn token_error(error: ExchangeError) -> OpenAIError {
    OpenAIError::Boxed(Box::new(error))
}

fn with_bearer(request: HttpRequestFactory, token: AccessToken) -> HttpRequestFactory {
    HttpRequestFactory::new(move || {
        let request = request.clone();
        let token = token.clone();
        async move {
            let mut built = request.build().await?;
            set_bearer(built.headers_mut(), &token)?;
            Ok(built)
        }
    })
}

pub(crate) fn set_bearer(headers: &mut HeaderMap, token: &AccessToken) -> Result<(), OpenAIError> {
    // Only the workload's bearer authenticates: every other credential header goes
    // (`conn_schema::CREDENTIAL_HEADERS`, `Authorization` included).
    for name in conn_schema::CREDENTIAL_HEADERS {
        headers.remove(*name);
    }
    // The access token is exposed here and only here, where the header is built.
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.secret().expose_secret()))
        .map_err(|_| {
            OpenAIError::InvalidArgument("the access token is not a valid header value".to_owned())
        })?;
    value.set_sensitive(true);
    headers.insert(AUTHORIZATION, value);
    Ok(())
}

/// Adds fixed query parameters (`openai_client_kwargs.default_query`) to every request;
/// async-openai's `OpenAIConfig` has no place for them.
#[derive(Clone, Debug)]
pub struct DefaultQueryLayer {
    query: Arc<[(String, String)]>,
}

impl DefaultQueryLayer {
    /// A layer that appends `query` to every request URL.
    pub fn new(query: impl IntoIterator<Item = (String, String)>) -> Self {
        DefaultQueryLayer {
            query: query.into_iter().collect(),
        }
    }
}

impl<S> Layer<S> for DefaultQueryLayer {
    type Service = DefaultQueryService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DefaultQueryService {
            inner,
            query: Arc::clone(&self.query),
        }
    }
}

/// The service made by [`DefaultQueryLayer`].
#[derive(Clone, Debug)]
pub struct DefaultQueryService<S> {
    inner: S,
    query: Arc<[(String, String)]>,
}

impl<S> Service<HttpRequestFactory> for DefaultQueryService<S>
where
    S: Service<HttpRequestFactory>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let query = Arc::clone(&self.query);
        self.inner.call(HttpRequestFactory::new(move || {
            let request = request.clone();
            let query = Arc::clone(&query);
            async move {
                let mut built = request.build().await?;
                {
                    let mut pairs = built.url_mut().query_pairs_mut();
                    for (name, value) in query.iter() {
                        pairs.append_pair(name, value);
                    }
                }
                Ok(built)
            }
        }))
    }
}
