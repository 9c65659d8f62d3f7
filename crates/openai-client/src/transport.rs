//! The transport at the bottom of the API client's tower stack, in place of async-openai's
//! `ReqwestService`. It sends each request once and guards what comes back:
//!
//! - a redirect is an error naming the status and the target host, never followed (the client
//!   is built with redirects off, so the API key, custom headers and the default query never go
//!   to another origin);
//! - every transport failure, of the request or of reading a body, becomes our error through one
//!   function, [`transport_error`], which drops the URL (it may hold `default_query` values);
//! - a success reply's body is read here (a server-sent event stream is passed on as it comes,
//!   without its URL), so a read that stalls past the timeout is a transport failure the retry
//!   layer sees, and async-openai never reads a body that could fail with the URL in its error;
//! - an error reply's body is read up to [`MAX_BODY_BYTES`], and every credential the request
//!   carried is replaced by `[redacted]` in it before async-openai turns it into a message; the
//!   message of a JSON error and a plain-text body are cut to 500 characters. A body that is not
//!   an OpenAI JSON error becomes one (its text, and the reply's `x-request-id`), so a non-JSON
//!   `429` is a `429` error and never a deserialisation error.

use std::task::{Context, Poll};

use async_openai::error::{ApiError, OpenAIError};
use async_openai::middleware::HttpRequestFactory;
use providers_core::BoxFuture;
use providers_http::{MAX_BODY_BYTES, read_body};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION};
use secrecy::{ExposeSecret, SecretString};
use tower::Service;

use crate::errors::ApiTransportError;
use crate::server_text::{ConfiguredSecrets, request_id, scrub};

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
        transport_error(error)
    }
}

/// The one way a transport failure (the request, a read of a reply body) becomes the API
/// client's error: reqwest's error without the URL, which may hold `default_query` values. The
/// retry layer retries it (see `retry.rs`).
pub(crate) fn transport_error(error: reqwest::Error) -> OpenAIError {
    OpenAIError::Reqwest(error.without_url())
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
    /// What error replies are scrubbed of besides the credentials each request carried.
    secrets: ConfiguredSecrets,
}

impl<C: ApiClient> ApiTransport<C> {
    /// A transport over `client`.
    pub(crate) fn new(client: C) -> Self {
        ApiTransport {
            client,
            secrets: ConfiguredSecrets::default(),
        }
    }

    /// The configured secrets no error reply it passes on may repeat.
    pub(crate) fn scrubbing(mut self, secrets: ConfiguredSecrets) -> Self {
        self.secrets = secrets;
        self
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
        let configured = self.secrets.clone();
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
                return success_reply(response).await;
            }
            guarded_error_reply(response, &configured, &credentials(&carried)).await
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
            conn_schema::is_credential_header(name.as_str())
                || !PROTOCOL_HEADERS.contains(&name.as_str())
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

/// A success reply without its URL: an event stream as it comes, any other body read here.
async fn success_reply(response: reqwest::Response) -> Result<reqwest::Response, OpenAIError> {
    let streamed = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("text/event-stream"));
    let (parts, body) = http::Response::from(response).into_parts();
    if streamed {
        // async-openai reads an event stream chunk by chunk, with errors that carry no URL.
        return Ok(reqwest::Response::from(http::Response::from_parts(
            parts, body,
        )));
    }
    // Read as async-openai would (it buffers every reply that is not a stream), but here, where
    // a failure is a transport failure without the URL.
    let body = reqwest::Response::from(http::Response::new(body))
        .bytes()
        .await
        .map_err(transport_error)?;
    Ok(reqwest::Response::from(http::Response::from_parts(
        parts, body,
    )))
}

/// The error reply rebuilt from its bounded, scrubbed body.
async fn guarded_error_reply(
    response: reqwest::Response,
    configured: &ConfiguredSecrets,
    carried: &[SecretString],
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
    let carried: Vec<&str> = carried.iter().map(|s| s.expose_secret()).collect();
    let secrets = configured.with(&carried);
    let body = guarded_body(
        &body,
        &secrets,
        status,
        request_id(&headers, &secrets).as_deref(),
    );
    headers.remove(CONTENT_LENGTH);
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}

/// An OpenAI JSON error keeps its shape with every string scrubbed and cut. Any other body
/// becomes what async-openai reads as an error of the reply's status, never a deserialisation
/// error: for a 5xx (whose body async-openai takes as text) its scrubbed text, else an OpenAI
/// JSON error holding that text; both end with the reply's `x-request-id`.
fn guarded_body(
    body: &[u8],
    secrets: &[&str],
    status: reqwest::StatusCode,
    request_id: Option<&str>,
) -> Vec<u8> {
    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body) {
        let openai_error = value
            .get("error")
            .is_some_and(|error| serde_json::from_value::<ApiError>(error.clone()).is_ok());
        if openai_error || status.is_server_error() {
            scrub_strings(&mut value, secrets);
            if let Ok(text) = serde_json::to_vec(&value) {
                return text;
            }
        }
    }
    let mut text = scrub(&String::from_utf8_lossy(body), secrets);
    if text.is_empty() {
        text = format!("the api answered {status} with an empty body");
    }
    if let Some(id) = request_id {
        text = format!("{text} (request id {id})");
    }
    if status.is_server_error() {
        return text.into_bytes();
    }
    let wrapped = serde_json::json!({
        "error": { "message": text, "type": null, "param": null, "code": null }
    });
    serde_json::to_vec(&wrapped).unwrap_or_default()
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
        let guarded = guarded_body(
            body,
            &["sk-SECRET-1"],
            reqwest::StatusCode::BAD_REQUEST,
            Some("req_1"),
        );
        let value: serde_json::Value = serde_json::from_slice(&guarded).expect("json");
        assert_eq!(value["error"]["message"], "bad key [redacted]");
        assert_eq!(value["error"]["type"], "invalid_request_error");
    }

    #[test]
    fn other_bodies_become_an_openai_error_with_the_request_id() {
        let guarded = guarded_body(
            b"<html>slow down sk-SECRET-1</html>",
            &["sk-SECRET-1"],
            reqwest::StatusCode::TOO_MANY_REQUESTS,
            Some("req_9"),
        );
        let value: serde_json::Value = serde_json::from_slice(&guarded).expect("json");
        assert_eq!(
            value["error"]["message"],
            "<html>slow down [redacted]</html> (request id req_9)"
        );
        let guarded = guarded_body(
            b"upstream down",
            &[],
            reqwest::StatusCode::BAD_GATEWAY,
            None,
        );
        assert_eq!(guarded, b"upstream down");
    }
}
