//! One request: answered locally (`/healthz`, `/metrics`, refusals) or forwarded.
//!
//! Forwarding rules:
//! - Only origin-form targets under the connection's base path are forwarded, to the
//!   connection's origin whatever the `Host` header says; absolute-form targets (forward-proxy
//!   use), `CONNECT`, dot segments and paths outside the base path are refused locally.
//! - Hop-by-hop headers ([`HOP_BY_HOP_HEADERS`] and every header `Connection` names) are dropped
//!   both ways; `Host` and `Expect` are the proxy's own business. Every client credential header
//!   is replaced by the connection's credential (`Upstream::authorize`).
//! - Bodies stream both ways: a response reaches the client chunk by chunk as the upstream sends
//!   it (server-sent events included); a request body is forwarded as it arrives once its first
//!   [`REPLAY_BODY_LIMIT`] bytes are read.
//! - A 401 from upstream under workload identity invalidates the token and replays the request
//!   once with a fresh one when the whole body was kept (at most [`REPLAY_BODY_LIMIT`]);
//!   otherwise the 401 goes to the client. No other retry: clients retry themselves.
//! - Redirects from upstream are not followed (the client is built that way); they reach the
//!   client as they are.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use openai_conn_client::{AccessToken, Upstream};
use tokio::time::Instant;
use url::Url;

use crate::body::RequestBody;
use crate::health::Health;
use crate::listen::Access;
use crate::metrics::{Metrics, TokenFigures};

/// The largest request body kept for the one replay after a 401 (1 MiB); a longer body is
/// streamed and a 401 to it reaches the client.
pub const REPLAY_BODY_LIMIT: usize = 1024 * 1024;

/// Headers that concern one connection only (RFC 9110 section 7.6.1), never forwarded either way.
pub const HOP_BY_HOP_HEADERS: &[&str] = &[
    "connection",
    "proxy-connection",
    "keep-alive",
    "te",
    "transfer-encoding",
    "upgrade",
    "trailer",
    "proxy-authenticate",
    "proxy-authorization",
];

type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type ProxyBody = BoxBody<Bytes, BoxError>;

/// What every connection shares.
pub(crate) struct Shared {
    pub(crate) upstream: Upstream,
    pub(crate) access: Access,
    pub(crate) metrics: Metrics,
    pub(crate) health: Arc<Health>,
    /// The base URL's path without its trailing `/` (empty for a base at the root).
    base_path: String,
}

impl Shared {
    pub(crate) fn new(upstream: Upstream, access: Access, health: Arc<Health>) -> Self {
        let base_path = upstream.base_url().path().trim_end_matches('/').to_owned();
        Shared {
            upstream,
            access,
            metrics: Metrics::default(),
            health,
            base_path,
        }
    }
}

/// Answers one request and logs it: method, path without query, status, duration; never a
/// query or header value.
pub(crate) async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<ProxyBody> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = route(shared, request).await;
    let status = response.status().as_u16();
    shared.metrics.record_status(status);
    tracing::info!(
        target: "openai_conn_proxy",
        method = %method,
        path = ?path,
        status,
        duration_ms = started.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    response
}

async fn route(shared: &Shared, request: Request<Incoming>) -> Response<ProxyBody> {
    if request.method() == Method::CONNECT {
        return local_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "connect_refused",
            "the proxy opens no tunnels (CONNECT)",
        );
    }
    let uri = request.uri();
    if uri.scheme().is_some() || uri.authority().is_some() {
        return local_error(
            StatusCode::BAD_REQUEST,
            "absolute_form_refused",
            "absolute-form request targets are refused: this is not a forward proxy; set the \
             client's base url to the proxy (http://127.0.0.1:8787/v1) instead",
        );
    }
    match uri.path() {
        "/healthz" => return local_only(request.method(), || healthz(shared)),
        "/metrics" => return local_only(request.method(), || metrics(shared)),
        _ => {}
    }
    let presented = presented_keys(request.headers());
    if !shared.access.admits(&presented) {
        return local_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client_key",
            "the proxy needs its client key (as the API key: Authorization: Bearer KEY, api-key or x-api-key)",
        );
    }
    let url = match target(shared, uri) {
        Ok(url) => url,
        Err(response) => return *response,
    };
    forward(shared, request, url).await
}

/// GET and HEAD are answered; other methods get 405.
fn local_only(
    method: &Method,
    answer: impl FnOnce() -> Response<ProxyBody>,
) -> Response<ProxyBody> {
    if method == Method::GET || method == Method::HEAD {
        answer()
    } else {
        local_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "only GET is served here",
        )
    }
}

fn healthz(shared: &Shared) -> Response<ProxyBody> {
    let readiness = match shared.upstream.token_cache() {
        None => Ok(()),
        Some(_) => shared.health.readiness(Instant::now()),
    };
    let (status, body) = match readiness {
        Ok(()) => (StatusCode::OK, serde_like_json(&[("status", "ok")])),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_like_json(&[("status", "unavailable"), ("reason", &reason)]),
        ),
    };
    local_response(status, "application/json", body)
}

fn metrics(shared: &Shared) -> Response<ProxyBody> {
    let token = shared.upstream.token_cache().map(|cache| {
        let now = Instant::now();
        TokenFigures {
            exchanges: cache.exchanges(),
            failed_refreshes: cache.failed_refreshes(),
            expires_in: shared
                .health
                .token(now)
                .map(|token| {
                    token
                        .expires_at()
                        .saturating_duration_since(now)
                        .as_secs_f64()
                })
                .unwrap_or(0.0),
        }
    });
    local_response(
        StatusCode::OK,
        "text/plain; version=0.0.4",
        shared.metrics.render(token),
    )
}

/// The keys a client presents: the bearer of `Authorization`, `api-key` and `x-api-key`.
fn presented_keys(headers: &HeaderMap) -> Vec<&[u8]> {
    let mut keys = Vec::new();
    for value in headers.get_all(header::AUTHORIZATION) {
        let bytes = value.as_bytes();
        if bytes.len() > 7 && bytes[..7].eq_ignore_ascii_case(b"bearer ") {
            keys.push(bytes[7..].trim_ascii());
        }
    }
    for name in ["api-key", "x-api-key"] {
        keys.extend(
            headers
                .get_all(name)
                .iter()
                .map(|value| value.as_bytes().trim_ascii()),
        );
    }
    keys
}

/// The upstream URL of an origin-form target under the base path.
fn target(shared: &Shared, uri: &http::Uri) -> Result<Url, Box<Response<ProxyBody>>> {
    let path = uri.path();
    let under_base = shared.base_path.is_empty()
        || path == shared.base_path
        || path
            .strip_prefix(shared.base_path.as_str())
            .is_some_and(|rest| rest.starts_with('/'));
    if !under_base {
        return Err(Box::new(local_error(
            StatusCode::NOT_FOUND,
            "outside_base_path",
            &format!(
                "only paths under the connection's base path {} are forwarded",
                if shared.base_path.is_empty() {
                    "/"
                } else {
                    &shared.base_path
                }
            ),
        )));
    }
    if path.split('/').any(is_dot_segment) {
        return Err(Box::new(local_error(
            StatusCode::BAD_REQUEST,
            "dot_segment_refused",
            "paths with . or .. segments are refused",
        )));
    }
    let mut url = shared.upstream.base_url().clone();
    url.set_path(path);
    url.set_query(uri.query());
    let extra = shared.upstream.default_query();
    if !extra.is_empty() {
        url.query_pairs_mut().extend_pairs(extra);
    }
    Ok(url)
}

fn is_dot_segment(segment: &str) -> bool {
    let decoded = segment.replace("%2e", ".").replace("%2E", ".");
    decoded == "." || decoded == ".."
}

async fn forward(shared: &Shared, request: Request<Incoming>, url: Url) -> Response<ProxyBody> {
    let (parts, incoming) = request.into_parts();
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    headers.remove(header::EXPECT);
    let cache = shared.upstream.token_cache();
    let mut token = match cache {
        Some(cache) => match cache.token().await {
            Ok(token) => Some(token),
            Err(error) => return no_token(&error),
        },
        None => None,
    };
    if let Err(response) = authorize(shared, &mut headers, token.as_ref()) {
        return *response;
    }
    let body = match RequestBody::read(incoming, REPLAY_BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => {
            return local_error(
                StatusCode::BAD_REQUEST,
                "request_body_unreadable",
                "the request body could not be read",
            );
        }
    };
    let (first, kept) = match body {
        RequestBody::Complete(bytes) => (reqwest::Body::from(bytes.clone()), Some(bytes)),
        RequestBody::Streaming(body) => (reqwest::Body::wrap(body), None),
    };
    // The headers and the URL are copied for the replay only when there can be one.
    let replay = match (cache, kept) {
        (Some(cache), Some(kept)) => Some((cache, kept, headers.clone(), url.clone())),
        _ => None,
    };
    let mut response = match send(shared, &parts.method, url, headers, first).await {
        Ok(response) => response,
        Err(response) => return response,
    };
    if response.status() == StatusCode::UNAUTHORIZED {
        if let (Some((cache, kept, mut headers, url)), Some(used)) = (replay, token.take()) {
            cache.invalidate(&used);
            drop(response);
            tracing::info!(
                target: "openai_conn_proxy",
                "upstream answered 401; replaying once with a fresh access token"
            );
            let fresh = match cache.token().await {
                Ok(fresh) => fresh,
                Err(error) => return no_token(&error),
            };
            if let Err(response) = authorize(shared, &mut headers, Some(&fresh)) {
                return *response;
            }
            shared.metrics.record_replay();
            response = match send(
                shared,
                &parts.method,
                url,
                headers,
                reqwest::Body::from(kept),
            )
            .await
            {
                Ok(response) => response,
                Err(response) => return response,
            };
            if response.status() == StatusCode::UNAUTHORIZED {
                cache.invalidate(&fresh);
            }
        }
    }
    to_client(response)
}

fn authorize(
    shared: &Shared,
    headers: &mut HeaderMap,
    token: Option<&AccessToken>,
) -> Result<(), Box<Response<ProxyBody>>> {
    shared.upstream.authorize(headers, token).map_err(|_| {
        Box::new(local_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "credential_unusable",
            "the connection's credential is not a valid header value",
        ))
    })
}

fn no_token(error: &openai_conn_client::ExchangeError) -> Response<ProxyBody> {
    local_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "no_access_token",
        &format!("the proxy has no access token: {error}"),
    )
}

async fn send(
    shared: &Shared,
    method: &Method,
    url: Url,
    headers: HeaderMap,
    body: reqwest::Body,
) -> Result<reqwest::Response, Response<ProxyBody>> {
    let started = Instant::now();
    let result = shared
        .upstream
        .client()
        .request(method.clone(), url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    shared.metrics.record_upstream(started.elapsed());
    result.map_err(|error| {
        let error = shared.upstream.transport_error(error);
        tracing::warn!(target: "openai_conn_proxy", error = %error, "upstream request failed");
        local_error(
            StatusCode::BAD_GATEWAY,
            "upstream_unreachable",
            &format!("the upstream request failed: {error}"),
        )
    })
}

/// The upstream response as the client gets it: status, headers (without hop-by-hop ones) and
/// the body streamed frame by frame.
fn to_client(response: reqwest::Response) -> Response<ProxyBody> {
    let (mut parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    strip_hop_by_hop(&mut parts.headers);
    parts.version = http::Version::HTTP_11;
    Response::from_parts(parts, body.map_err(BoxError::from).boxed())
}

/// Removes [`HOP_BY_HOP_HEADERS`] and every header the `Connection` header names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP_HEADERS {
        headers.remove(*name);
    }
}

/// An error the proxy answers itself, in the OpenAI error shape so that SDKs show its message.
fn local_error(status: StatusCode, code: &str, message: &str) -> Response<ProxyBody> {
    let body = format!(
        "{{\"error\":{{\"message\":{},\"type\":\"openai_conn_proxy\",\"code\":{}}}}}",
        json_string(message),
        json_string(code)
    );
    local_response(status, "application/json", body)
}

fn local_response(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<ProxyBody> {
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn serde_like_json(fields: &[(&str, &str)]) -> String {
    let inner: Vec<String> = fields
        .iter()
        .map(|(key, value)| format!("{}:{}", json_string(key), json_string(value)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// A JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_named_headers_and_hop_by_hop_ones_are_removed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, X-Secret-Hop"),
        );
        headers.insert("x-secret-hop", HeaderValue::from_static("1"));
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut headers);
        let left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["x-kept"]);
    }

    #[test]
    fn dot_segments_are_recognised_encoded_or_not() {
        for segment in [".", "..", "%2e", "%2E%2e", ".%2E"] {
            assert!(is_dot_segment(segment), "{segment}");
        }
        for segment in ["...", "v1", "", ".well-known"] {
            assert!(!is_dot_segment(segment), "{segment}");
        }
    }
}
