//! Rows of the fault matrix (README) that the other exchange tests do not already cover: a server
//! failing forever, a server that never answers, and an HTML page where JSON was expected.

mod support;

use std::time::Duration;

use openai_conn_client::providers_core::TokenType;
use openai_conn_client::{ExchangeError, HttpError};
use support::{CountingSource, Mock, Reply, failed_status};

#[tokio::test]
async fn server_error_forever_is_a_typed_error_after_the_retry_budget() {
    let mock = Mock::start().await;
    mock.set_exchange_default(Reply::Status(500));
    let cache = mock.cache(CountingSource::new(TokenType::Jwt));

    let error = cache.token().await.unwrap_err();

    assert_eq!(failed_status(&error), Some(500), "{error:?}");
    assert!(error.is_transient());
    assert_eq!(
        error.to_string(),
        "the token exchange endpoint answered status 500"
    );
    // One attempt and two retries, then the error; the cache stays usable for the next caller.
    assert_eq!(mock.exchange_calls(), 3);
    mock.set_exchange_default(Reply::Token);
    assert!(cache.token().await.is_ok());
}

// Paused time: the mock's delay and reqwest's 10 s timeout both run on tokio's clock, so the
// timeouts fire as soon as nothing else can happen, without waiting for real.
#[tokio::test(start_paused = true)]
async fn an_exchange_that_never_answers_times_out_and_is_retried() {
    let mock = Mock::start().await;
    mock.set_exchange_default(Reply::DelayedToken(Duration::from_secs(3600)));
    let error = mock.exchange_error().await;

    assert!(
        matches!(error, ExchangeError::Http(HttpError::Timeout { .. })),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert_eq!(mock.exchange_calls(), 3);
    assert_eq!(mock.exchanges_completed(), 0);
}

#[tokio::test]
async fn an_html_page_is_a_malformed_reply_not_retried() {
    for status in [200, 502] {
        let mock = Mock::scripted([Reply::Raw(
            status,
            "text/html",
            "<html><body>Bad gateway — access_token=leak</body></html>",
        )])
        .await;
        mock.set_exchange_default(Reply::Token);
        let cache = mock.cache(CountingSource::new(TokenType::Jwt));

        let result = cache.token().await;

        if status == 200 {
            let error = result.unwrap_err();
            assert!(
                matches!(
                    error,
                    ExchangeError::Http(HttpError::Malformed { status: 200, .. })
                ),
                "{error:?}"
            );
            assert!(!error.to_string().contains("leak"));
            assert_eq!(mock.exchange_calls(), 1);
        } else {
            // A gateway error page is a 5xx: retried, and the retry succeeds.
            assert!(result.is_ok());
            assert_eq!(mock.exchange_calls(), 2);
        }
    }
}
