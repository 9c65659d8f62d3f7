//! The transport at the bottom of the API client's tower stack, in place of async-openai's
//! `ReqwestService`. It sends each request once and guards what comes back:
//!
//! - a redirect is an error naming the status and the target host, never followed (the client
//!   is built with redirects off, so the API key, custom headers and the default query never go
//!   to another origin);
//! - a transport error loses its URL, which may hold `default_query` values;
//! - an error reply's body is read up to [`MAX_BODY_BYTES`], and every credential the request
//!   carried is replaced by `[redacted]` in it before async-openai turns it into a message; the
//!   message of a JSON error and a plain-text body are cut to 500 characters.

use std::task::{Context, Poll};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use providers_core::BoxFuture;
use providers_http::{BodyError, MAX_BODY_BYTES, read_body};
use reqwest::header::{CONTENT_LENGTH, HeaderMap, HeaderValue, LOCATION};
use secrecy::{ExposeSecret, SecretString};
use tower::Service;

use crate::layer::is_credential_header;
use crate::server_text::scrub;

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

/// Where the API transport gets the client for each request, and how it reports a transport
/// error: a fixed client, or under x509 the client of the certificate's current generation,
/// whose handshake failures say which side refused.
pub(crate) trait ApiClient: Clone + Send + Sync + 'static {
    /// The client for the next request; built with `redirect::Policy::none()`.
    fn client(&self) -> reqwest::Client;

    /// A transport error of a request to `url`, as the API client reports it: never with the URL,
    /// which may hold `default_query` values.
    fn transport_error(&self, url: &url::Url, error: reqwest::Error) -> OpenAIError {
        let _ = url;
        OpenAIError::Reqwest(error.without_url())
    }
}

impl ApiClient for reqwest::Client {
    fn client(&self) -> reqwest::Client {
        self.clone()
    }
}

/// Sends API requests with a client that follows no redirect; see the module docs.
#[derive(Clone, Debug)]
pub(crate) struct ApiTransport<C = reqwest::Client> {
    client: C,
}

impl<C: ApiClient> ApiTransport<C> {
    /// A transport over `client`.
    pub(crate) fn new(client: C) -> Self {
        ApiTransport { client }
    }
}

impl<C: ApiClient> Service<HttpRequestFactory> for ApiTransport<C> {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = BoxFuture<'static, Result<reqwest::Response, OpenAIError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let source = self.client.clone();
        Box::pin(async move {
            let request = request.build().await?;
            // Kept as header values (a reference-count clone each) and turned into secrets only
            // when an error reply has to be scrubbed: the success path copies no credential.
            let mut carried = carried_credentials(request.headers());
            let url = request.url().clone();
            // Every query value too (`default_query` may hold a signature or a key).
            carried.extend(
                url.query_pairs()
                    .filter_map(|(_, value)| HeaderValue::from_str(&value).ok()),
            );
            let response = source
                .client()
                .execute(request)
                .await
                .map_err(|error| source.transport_error(&url, error))?;
            let status = response.status();
            if status.is_redirection() {
                return Err(OpenAIError::Boxed(Box::new(ApiTransportError::Redirect {
                    status: status.as_u16(),
                    target: redirect_target(&url, response.headers()),
                })));
            }
            if status.is_success() {
                return Ok(response);
            }
            guarded_error_reply(response, &credentials(&carried)).await
        })
    }
}

/// Headers whose values are protocol, never configuration: everything else a request carries
/// (the credential headers, `default_headers`, the organization and project) is scrubbed from
/// server text.
const PROTOCOL_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "accept",
    "accept-encoding",
    "user-agent",
    "host",
];

/// The values of the headers in `headers` that may hold a configured secret: the credential
/// headers and every `default_headers` entry, that is every header but [`PROTOCOL_HEADERS`].
fn carried_credentials(headers: &HeaderMap) -> Vec<HeaderValue> {
    headers
        .iter()
        .filter(|(name, _)| {
            is_credential_header(name) || !PROTOCOL_HEADERS.contains(&name.as_str())
        })
        .map(|(_, value)| value.clone())
        .collect()
}

/// The credentials in credential header values: each value, and a bearer's token.
fn credentials(values: &[HeaderValue]) -> Vec<SecretString> {
    values
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| {
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "));
            [Some(value), token]
        })
        .flatten()
        .map(|value| SecretString::from(value.trim().to_owned()))
        .collect()
}

/// The host (and port, when the `Location` names one) a redirect points to, never its path or
/// query, which may hold credentials.
fn redirect_target(request_url: &url::Url, headers: &HeaderMap) -> String {
    headers
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|location| request_url.join(location).ok())
        .and_then(|target| {
            let host = target.host_str()?;
            Some(match target.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            })
        })
        .unwrap_or_else(|| "no location".to_owned())
}

/// The error reply rebuilt from its bounded, scrubbed body.
async fn guarded_error_reply(
    response: reqwest::Response,
    secrets: &[SecretString],
) -> Result<reqwest::Response, OpenAIError> {
    let status = response.status();
    let version = response.version();
    let mut headers = response.headers().clone();
    let body = read_body(response, MAX_BODY_BYTES)
        .await
        .map_err(|source| {
            OpenAIError::Boxed(Box::new(ApiTransportError::Body {
                status: status.as_u16(),
                source,
            }))
        })?;
    let secrets: Vec<&str> = secrets.iter().map(|s| s.expose_secret()).collect();
    let body = guarded_body(&body, &secrets);
    headers.remove(CONTENT_LENGTH);
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}

/// A JSON error keeps its shape with its `error.message` scrubbed and cut; any other body is
/// scrubbed and cut as text.
fn guarded_body(body: &[u8], secrets: &[&str]) -> Vec<u8> {
    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body) {
        scrub_strings(&mut value, secrets);
        if let Ok(text) = serde_json::to_vec(&value) {
            return text;
        }
    }
    scrub(&String::from_utf8_lossy(body), secrets).into_bytes()
}

/// Scrubs every string in a JSON value (the message, but also `param` or `code`, which a server
/// may fill from the request).
fn scrub_strings(value: &mut serde_json::Value, secrets: &[&str]) {
    match value {
        serde_json::Value::String(text) => *text = scrub(text, secrets),
        serde_json::Value::Array(items) => {
            items
                .iter_mut()
                .for_each(|item| scrub_strings(item, secrets));
        }
        serde_json::Value::Object(map) => {
            map.values_mut()
                .for_each(|item| scrub_strings(item, secrets));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{AUTHORIZATION, HeaderValue};

    #[test]
    fn credentials_are_read_from_every_configured_header_but_not_protocol_ones() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer tok-123456"));
        headers.insert("api-key", HeaderValue::from_static("key-abcdef"));
        headers.insert("x-gateway-secret", HeaderValue::from_static("hdr-secret"));
        headers.insert("content-type", HeaderValue::from_static("req-1"));
        let found: Vec<String> = credentials(&carried_credentials(&headers))
            .iter()
            .map(|secret| secret.expose_secret().to_owned())
            .collect();
        assert!(found.contains(&"tok-123456".to_owned()), "{found:?}");
        assert!(found.contains(&"key-abcdef".to_owned()), "{found:?}");
        assert!(found.contains(&"hdr-secret".to_owned()), "{found:?}");
        assert!(!found.contains(&"req-1".to_owned()), "{found:?}");
    }

    #[test]
    fn json_error_bodies_keep_their_shape() {
        let body = br#"{"error":{"message":"bad key sk-SECRET-1","type":"invalid_request_error","code":null}}"#;
        let guarded = guarded_body(body, &["sk-SECRET-1"]);
        let value: serde_json::Value = serde_json::from_slice(&guarded).expect("json");
        assert_eq!(value["error"]["message"], "bad key [redacted]");
        assert_eq!(value["error"]["type"], "invalid_request_error");
    }
}
