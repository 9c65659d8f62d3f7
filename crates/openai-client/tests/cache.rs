//! The access-token cache: single flight, background refresh on paused time, stale-while-refresh,
//! compare-and-clear invalidation, cancel safety and the background task's lifetime.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use openai_conn_client::TokenCache;
use openai_conn_client::providers_core::TokenType;
use secrecy::ExposeSecret;
use support::{CountingSource, Mock, Reply, eventually, failed_status};

fn value(token: &openai_conn_client::AccessToken) -> String {
    token.secret().expose_secret().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_first_calls_make_one_fetch_and_one_exchange() {
    let mock = Mock::start().await;
    let source = CountingSource::new(TokenType::Jwt);
    let cache = mock.cache(source.clone());

    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.token().await })
        })
        .collect();
    for task in tasks {
        assert_eq!(value(&task.await.unwrap().unwrap()), "access-1");
    }

    assert_eq!(source.fetches(), 1);
    assert_eq!(mock.exchange_calls(), 1);
    assert_eq!((cache.subject_fetches(), cache.exchanges()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn tokens_are_refreshed_in_the_background_across_three_lifetimes() {
    let mock = Mock::start().await;
    let source = CountingSource::new(TokenType::Jwt);
    // 3600 s tokens with the default 1200 s buffer: refreshed every 2400 s.
    let cache = mock.cache(source.clone());
    assert_eq!(value(&cache.token().await.unwrap()), "access-1");

    for round in 2..=4 {
        // Nobody calls `token` while time passes the refresh point: only the background task can
        // exchange.
        tokio::time::sleep(Duration::from_secs(2400)).await;
        assert!(eventually(|| mock.exchanges_completed() == round).await);
        let expected = format!("access-{round}");
        assert!(
            eventually(|| { futures_now(&cache).is_some_and(|token| value(&token) == expected) })
                .await,
            "round {round}"
        );
    }
    assert_eq!(source.fetches(), 4);
    assert_eq!(mock.exchange_calls(), 4);
}

// The cached token if one is served without waiting: `token` on a cache with a usable token
// completes on its first poll.
fn futures_now(cache: &TokenCache) -> Option<openai_conn_client::AccessToken> {
    let mut future = std::pin::pin!(cache.token());
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(result) => result.ok(),
        std::task::Poll::Pending => None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_at_the_refresh_point_does_not_wait_for_the_exchange() {
    let mock = Mock::scripted([Reply::Token, Reply::DelayedToken(Duration::from_secs(2))]).await;
    let cache = mock.cache(CountingSource::new(TokenType::Jwt));
    let first = cache.token().await.unwrap();

    tokio::time::sleep_until(first.refresh_at()).await;
    // The background refresh is now under way, held 2 s by the mock.
    assert!(eventually(|| mock.exchange_calls() == 2).await);
    assert_eq!(mock.exchanges_completed(), 1);

    let during = futures_now(&cache).expect("served without waiting");
    assert_eq!(value(&during), "access-1");
    assert_eq!(
        mock.exchanges_completed(),
        1,
        "the refresh was still running"
    );

    assert!(
        eventually(|| futures_now(&cache).is_some_and(|token| value(&token) == "access-2")).await
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_refresh_keeps_serving_the_valid_token_then_reports_and_recovers() {
    let mock = Mock::scripted([Reply::Token]).await;
    mock.set_exchange_default(Reply::Status(500));
    let cache = mock.cache(CountingSource::new(TokenType::Jwt));
    let first = cache.token().await.unwrap();

    // From the refresh point to just before expiry, every request still gets the old token while
    // the background task keeps retrying.
    tokio::time::sleep_until(first.refresh_at() + Duration::from_secs(1)).await;
    for _ in 0..10 {
        assert_eq!(value(&cache.token().await.unwrap()), "access-1");
        tokio::time::sleep(Duration::from_secs(100)).await;
    }
    let calls_before_expiry = mock.exchange_calls();
    assert!(
        calls_before_expiry > 4,
        "refresh retried: {calls_before_expiry}"
    );

    tokio::time::sleep_until(first.expires_at()).await;
    let error = cache.token().await.unwrap_err();
    assert_eq!(failed_status(&error), Some(500), "{error:?}");

    mock.set_exchange_default(Reply::Token);
    assert_eq!(value(&cache.token().await.unwrap()), "access-2");
}

#[tokio::test]
async fn invalidation_compares_before_clearing() {
    let mock = Mock::start().await;
    let cache = mock.cache(CountingSource::new(TokenType::Jwt));
    let first = cache.token().await.unwrap();

    assert!(cache.invalidate(&first));
    let second = cache.token().await.unwrap();
    assert_eq!(value(&second), "access-2");

    // A late 401 on the old token must not discard the new one.
    assert!(!cache.invalidate(&first));
    assert!(cache.token().await.unwrap().same_as(&second));
    assert_eq!(mock.exchange_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_waiter_cancelled_mid_refresh_leaves_the_cache_usable() {
    let mock = Mock::scripted([Reply::DelayedToken(Duration::from_secs(2))]).await;
    let cache = mock.cache(CountingSource::new(TokenType::Jwt));

    let cancelled = tokio::time::timeout(Duration::from_millis(500), cache.token()).await;
    assert!(cancelled.is_err(), "the waiter was cancelled");

    let token = cache.token().await.unwrap();
    assert_eq!(value(&token), "access-1");
    // The cancelled waiter did not cancel the exchange, and no second one was needed.
    assert_eq!(mock.exchange_calls(), 1);
}

#[test]
fn a_refresh_dropped_with_its_runtime_does_not_leave_the_cache_stuck() {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mock = server.block_on(Mock::start());
    mock.script_exchange([Reply::GatedToken]);
    let cache = mock.cache(CountingSource::new(TokenType::Jwt));

    let doomed = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    doomed.block_on(async {
        let waiter = tokio::spawn({
            let cache = cache.clone();
            async move { cache.token().await }
        });
        assert!(eventually(|| mock.exchange_calls() == 1).await);
        waiter.abort();
    });
    // Dropping the runtime drops the flight task mid-exchange.
    drop(doomed);

    let fresh = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token = fresh.block_on(cache.token()).unwrap();
    assert_eq!(value(&token), "access-1");
    assert_eq!(mock.exchange_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_handle_frees_the_cache_despite_the_background_task() {
    let mock = Mock::start().await;
    let source = CountingSource::new(TokenType::Jwt);
    let cache = mock.cache(source.clone());
    cache.token().await.unwrap();
    // The background task is now sleeping until the refresh point.
    assert_eq!(Arc::strong_count(&source), 2);

    drop(cache);
    tokio::task::yield_now().await;

    assert!(eventually(|| Arc::strong_count(&source) == 1).await);
    // Past the refresh point nothing exchanges any more.
    tokio::time::sleep(Duration::from_secs(10_000)).await;
    assert_eq!(mock.exchange_calls(), 1);
}
