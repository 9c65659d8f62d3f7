//! The reference's edges: the exchange's attempts follow `openai_client_kwargs.max_retries`, every
//! token flight has one overall deadline, and OAuth errors keep the response's `x-request-id`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use openai_conn_client::providers_core::{
    BoxFuture, MapEnv, SourceError, SubjectToken, SubjectTokenSource, TokenType,
};
use openai_conn_client::test_util::exchange_retry_policy_for;
use openai_conn_client::{
    DEFAULT_FLIGHT_DEADLINE, ExchangeError, TokenCache, default_exchange_retry_policy,
    from_connection,
};
use serde_json::json;
use support::{CountingSource, Mock, Reply, failed_status, workload_identity_connection};

async fn exchange_calls_with_max_retries(max_retries: Option<u32>) -> usize {
    let mock = Mock::start().await;
    mock.set_exchange_default(Reply::Status(503));
    let source = CountingSource::new(TokenType::Jwt);
    let extra = match max_retries {
        Some(count) => json!({"openai_client_kwargs": {"max_retries": count}}),
        None => json!({}),
    };
    let connection = workload_identity_connection(&mock, extra);
    let connected = from_connection(&connection, "openai_wi", mock.options(source))
        .expect("the connection builds");
    let cache = connected
        .token_cache
        .expect("workload identity has a cache");
    let error = cache.token().await.expect_err("every attempt fails");
    assert_eq!(failed_status(&error), Some(503), "{error:?}");
    mock.exchange_calls()
}

#[tokio::test]
async fn the_exchange_makes_max_retries_plus_one_attempts() {
    // As in the SDK: 0 is one attempt, and the default (2 retries) is three.
    assert_eq!(exchange_calls_with_max_retries(Some(0)).await, 1);
    assert_eq!(exchange_calls_with_max_retries(Some(1)).await, 2);
    assert_eq!(exchange_calls_with_max_retries(None).await, 3);
}

#[test]
fn max_retries_sets_the_count_and_keeps_the_delays() {
    let base = default_exchange_retry_policy();
    let zero = exchange_retry_policy_for(Some(0), base);
    assert_eq!(zero.max_retries, 0);
    assert_eq!(zero.base_delay, base.base_delay);
    assert_eq!(exchange_retry_policy_for(None, base).max_retries, 2);
}

/// `elapsed` on the paused clock is `expected`, give or take the timer's millisecond ticks.
fn assert_about(elapsed: Duration, expected: Duration) {
    assert!(
        elapsed >= expected && elapsed <= expected + Duration::from_millis(5),
        "waited {elapsed:?}, expected {expected:?}"
    );
}

/// A subject-token source that never answers.
#[derive(Debug)]
struct Silent;

impl SubjectTokenSource for Silent {
    fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>> {
        Box::pin(std::future::pending())
    }
}

fn silent_cache(mock: &Mock, deadline: Option<Duration>) -> TokenCache {
    let mut builder = TokenCache::builder(Arc::new(Silent), "idp-1", "sa-1")
        .exchange_url(mock.exchange_url())
        .env(Arc::new(MapEnv::new()));
    if let Some(deadline) = deadline {
        builder = builder.flight_deadline(deadline);
    }
    builder.build().expect("the cache builds")
}

// Paused time: the deadline fires as soon as nothing else can happen.
#[tokio::test(start_paused = true)]
async fn a_cold_caller_waits_no_longer_than_the_flight_deadline() {
    let mock = Mock::start().await;
    let cache = silent_cache(&mock, None);
    let started = tokio::time::Instant::now();

    let error = cache.token().await.expect_err("every attempt fails");

    assert!(
        matches!(error, ExchangeError::Deadline(deadline) if deadline == DEFAULT_FLIGHT_DEADLINE),
        "{error:?}"
    );
    // On the paused clock the wait is the deadline: not cut short, not longer.
    assert_about(started.elapsed(), DEFAULT_FLIGHT_DEADLINE);
    assert!(error.is_transient());
    assert!(error.to_string().contains("120s deadline"), "{error}");
    assert_eq!(mock.exchange_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn every_waiter_of_the_flight_gets_the_deadline_error_and_the_next_call_tries_again() {
    let mock = Mock::start().await;
    let deadline = Duration::from_secs(5);
    let cache = silent_cache(&mock, Some(deadline));
    let started = tokio::time::Instant::now();

    let early = tokio::spawn({
        let cache = cache.clone();
        async move { cache.token().await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    // A caller that arrives later joins the same flight and waits only for what is left.
    let late = cache.token().await.expect_err("every attempt fails");
    assert_about(started.elapsed(), deadline);
    assert!(matches!(late, ExchangeError::Deadline(_)), "{late:?}");
    assert!(matches!(
        early.await.unwrap().unwrap_err(),
        ExchangeError::Deadline(_)
    ));
    assert_eq!(cache.subject_fetches(), 1);

    // The flight is over: the next caller starts a new one (and waits a full deadline again).
    assert!(matches!(
        cache.token().await.unwrap_err(),
        ExchangeError::Deadline(_)
    ));
    assert_eq!(cache.subject_fetches(), 2);
}

/// The deadline also bounds the exchange's retries: an exchange that never answers takes three
/// attempts of 10 s, and a 15 s deadline ends the flight during the second.
#[tokio::test(start_paused = true)]
async fn the_deadline_bounds_the_exchange_retries_too() {
    let mock = Mock::start().await;
    mock.set_exchange_default(Reply::DelayedToken(Duration::from_secs(3600)));
    let cache = TokenCache::builder(CountingSource::new(TokenType::Jwt), "idp-1", "sa-1")
        .exchange_url(mock.exchange_url())
        .env(Arc::new(MapEnv::new()))
        .flight_deadline(Duration::from_secs(15))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();

    let error = cache.token().await.expect_err("every attempt fails");

    // Without the deadline: three attempts of 10 s each (the fault matrix's row).
    assert!(matches!(error, ExchangeError::Deadline(_)), "{error:?}");
    assert_about(started.elapsed(), Duration::from_secs(15));
    assert_eq!(mock.exchange_calls(), 2);
}

/// A one-route exchange server answering 401 `invalid_grant`, with an `x-request-id` when given.
async fn oauth_server(request_id: Option<&'static str>) -> String {
    let app = Router::new().route(
        "/oauth/token",
        post(move || async move {
            let body = axum::Json(json!({
                "error": "invalid_grant",
                "error_description": "No service account mapping found."
            }));
            match request_id {
                Some(id) => {
                    (StatusCode::UNAUTHORIZED, [("x-request-id", id)], body).into_response()
                }
                None => (StatusCode::UNAUTHORIZED, body).into_response(),
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/oauth/token")
}

#[tokio::test]
async fn oauth_errors_keep_the_request_id_when_the_response_has_one() {
    for (request_id, suffix) in [(Some("req_8f2a1c"), " (request id req_8f2a1c)"), (None, "")] {
        let url = oauth_server(request_id).await;
        let cache = TokenCache::builder(CountingSource::new(TokenType::Jwt), "idp-1", "sa-1")
            .exchange_url(url)
            .env(Arc::new(MapEnv::new()))
            .build()
            .unwrap();

        let error = cache.token().await.expect_err("every attempt fails");

        match &error {
            ExchangeError::OAuth {
                error: code,
                status,
                request_id: found,
                ..
            } => {
                assert_eq!((code.as_str(), *status), ("invalid_grant", 401));
                assert_eq!(found.as_deref(), request_id);
            }
            other => panic!("expected an oauth error, got {other:?}"),
        }
        assert_eq!(
            error.to_string(),
            format!("oauth error invalid_grant (401): No service account mapping found.{suffix}")
        );
    }
}
