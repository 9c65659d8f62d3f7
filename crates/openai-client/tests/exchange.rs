//! The exchange on the wire, through the token cache: the request, the reply checks, the error
//! mapping and the retries.

mod support;

use openai_conn_client::providers_core::{MapEnv, TokenType};
use openai_conn_client::{ExchangeError, HttpError, TOKEN_EXCHANGE_URL_ENV, TokenCache};
use secrecy::ExposeSecret;
use serde_json::json;
use std::sync::Arc;
use support::{CountingSource, Mock, Reply, SUBJECT_TOKEN, failed_status, oauth};

/// Starts a mock answering the exchange with `replies`, whose exchange must fail with an
/// [`ExchangeError`] matching `pattern` (`context`, when given, leads the failure message);
/// gives the mock and the error.
macro_rules! exchange_fails_with {
    ($replies:expr, $pattern:pat $(, $context:expr)?) => {{
        let mock = Mock::scripted($replies).await;
        let error = mock.exchange_error().await;
        let context = String::new() $(+ &format!("{}: ", $context))?;
        assert!(
            matches!(error, $pattern),
            "{context}expected {}, got {error:?}",
            stringify!($pattern)
        );
        (mock, error)
    }};
}

#[tokio::test]
async fn exchange_body_for_a_jwt_source_is_exactly_the_five_fields() {
    let mock = Mock::start().await;
    let source = CountingSource::new(TokenType::Jwt);
    // The URL comes from the injected environment here, not from a builder option.
    let env = MapEnv::new().with(TOKEN_EXCHANGE_URL_ENV, mock.exchange_url());
    let cache = TokenCache::builder(source.clone(), "idp-1", "sa-1")
        .env(Arc::new(env))
        .build()
        .unwrap();
    assert_eq!(cache.exchange_url(), mock.exchange_url());

    let token = cache.token().await.unwrap();

    assert_eq!(token.secret().expose_secret(), "access-1");
    assert_eq!(
        mock.state.exchange_bodies.lock().unwrap().clone(),
        vec![json!({
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": SUBJECT_TOKEN,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "identity_provider_id": "idp-1",
            "service_account_id": "sa-1",
        })]
    );
    let headers = mock.state.exchange_headers.lock().unwrap();
    assert!(headers[0].get("authorization").is_none());
    assert_eq!(headers[0]["content-type"], "application/json");
    assert_eq!(source.fetches(), 1);
}

#[tokio::test]
async fn exchange_body_for_an_id_source_names_the_id_token_type() {
    let mock = Mock::start().await;
    let cache = mock.cache(CountingSource::new(TokenType::Id));

    cache.token().await.unwrap();

    let bodies = mock.state.exchange_bodies.lock().unwrap();
    assert_eq!(
        bodies[0]["subject_token_type"],
        "urn:ietf:params:oauth:token-type:id_token"
    );
    assert_eq!(bodies[0].as_object().unwrap().len(), 5);
}

#[tokio::test]
async fn oauth_error_is_typed_with_code_description_and_status() {
    let mock = Mock::refusing_the_grant("subject token expired").await;
    let error = mock.exchange_error().await;

    assert_eq!(
        oauth(&error),
        ("invalid_grant", "subject token expired", 401)
    );
    assert_eq!(
        error.to_string(),
        "oauth error invalid_grant (401): subject token expired"
    );
    // Never retried.
    assert_eq!(mock.exchange_calls(), 1);
}

#[tokio::test]
async fn forbidden_and_bad_request_are_not_retried() {
    for status in [400, 403] {
        let (mock, error) = exchange_fails_with!(
            [Reply::Json(status, json!({"error": "invalid_request"}))],
            ExchangeError::OAuth { .. }
        );
        assert_eq!(error.status(), Some(status));
        assert_eq!(mock.exchange_calls(), 1);
    }
}

#[tokio::test]
async fn redirect_is_not_followed() {
    let (mock, _) = exchange_fails_with!(
        [Reply::Redirect(302)],
        ExchangeError::Http(HttpError::Redirect { status: 302, .. })
    );
    assert_eq!(mock.exchange_calls(), 1);
    assert_eq!(
        mock.state
            .redirect_target_hits
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn two_server_errors_then_success_recovers_in_three_calls() {
    let mock = Mock::scripted([Reply::Status(500), Reply::Status(503)]).await;
    let cache = mock.cache(CountingSource::new(TokenType::Jwt));

    let token = cache.token().await.unwrap();

    assert_eq!(token.secret().expose_secret(), "access-1");
    assert_eq!(mock.exchange_calls(), 3);
    assert_eq!(cache.exchanges(), 3);
    assert_eq!(cache.subject_fetches(), 1);
}

#[tokio::test]
async fn retries_are_bounded_and_the_status_is_reported() {
    let mock = Mock::start().await;
    mock.set_exchange_default(Reply::Status(429));
    let error = mock.exchange_error().await;

    assert_eq!(failed_status(&error), Some(429), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the token exchange endpoint answered status 429"
    );
    assert_eq!(mock.exchange_calls(), 3);
}

#[tokio::test]
async fn unexpected_status_is_typed_and_not_retried() {
    let mock = Mock::scripted([Reply::Json(404, json!({"access_token": "leaky"}))]).await;
    let error = mock.exchange_error().await;

    assert_eq!(failed_status(&error), Some(404), "{error:?}");
    assert!(!error.to_string().contains("leaky"));
    assert_eq!(mock.exchange_calls(), 1);
}

#[tokio::test]
async fn malformed_success_bodies_are_typed_errors_after_one_call() {
    for body in [
        json!({"expires_in": 3600}),
        json!({"access_token": "", "expires_in": 3600}),
        json!({"access_token": "a", "expires_in": 0}),
        json!({"access_token": "a", "expires_in": -60}),
        json!({"access_token": "a", "expires_in": "3600"}),
        json!({"access_token": "a", "expires_in": true}),
        json!({"access_token": "a"}),
        json!(["not", "an", "object"]),
    ] {
        let (mock, _) = exchange_fails_with!(
            [Reply::Json(200, body.clone())],
            ExchangeError::Http(HttpError::Malformed { status: 200, .. }),
            body
        );
        assert_eq!(mock.exchange_calls(), 1, "{body}");
    }
}

#[tokio::test]
async fn an_absurd_lifetime_is_clamped_not_overflowed() {
    let mock = Mock::start().await;
    mock.set_expires_in(json!(1e300));
    let cache = mock.cache(CountingSource::new(TokenType::Jwt));

    let token = cache.token().await.unwrap();

    let lifetime = token.expires_at() - tokio::time::Instant::now();
    assert!(lifetime <= openai_conn_client::MAX_TOKEN_LIFETIME);
}

#[tokio::test]
async fn refused_connections_are_retried_then_reported() {
    // Bind and drop a listener so the port is very likely closed.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let source = CountingSource::new(TokenType::Jwt);
    let cache = TokenCache::builder(source, "idp-1", "sa-1")
        .exchange_url(format!("http://127.0.0.1:{port}/oauth/token"))
        .env(Arc::new(MapEnv::new()))
        .retry_policy(openai_conn_client::default_exchange_retry_policy().without_delays())
        .build()
        .unwrap();

    let error = cache.token().await.unwrap_err();

    assert!(
        matches!(error, ExchangeError::Http(HttpError::Connect { .. })),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert_eq!(cache.exchanges(), 3);
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused() {
    let error = TokenCache::builder(CountingSource::new(TokenType::Jwt), "idp", "sa")
        .exchange_url("http://auth.example.com/oauth/token")
        .env(Arc::new(MapEnv::new()))
        .build()
        .unwrap_err();
    assert!(
        matches!(error, ExchangeError::InvalidUrl { .. }),
        "{error:?}"
    );
}
