//! The client from a connection, against the mock API: the bearer on the wire, the 401 replay,
//! key handling, the connection options and the helpers.

mod support;

use std::sync::Arc;
use std::time::Duration;

use openai_conn_client::async_openai::error::OpenAIError;
use openai_conn_client::providers_core::{MapEnv, TokenType};
use openai_conn_client::{
    ClientOptions, DEFAULT_CHAT_MODEL, DEFAULT_EMBEDDING_MODEL, ExchangeError, chat_completion,
    embed, from_connection, test_connection,
};
use serde_json::json;
use support::{
    CountingSource, Mock, Reply, connect_workload_identity, oauth, parse,
    workload_identity_connection, workload_identity_document,
};

fn api_status(error: &OpenAIError) -> Option<u16> {
    match error {
        OpenAIError::ApiError(api) => Some(api.status_code.as_u16()),
        _ => None,
    }
}

#[tokio::test]
async fn the_api_receives_the_exchanged_bearer() {
    let mock = Mock::start().await;
    let (_, connected) = connect_workload_identity(&mock);

    assert_eq!(
        test_connection(&connected.client).await.unwrap(),
        "Connection established!"
    );

    assert_eq!(mock.api_authorizations(), vec!["Bearer access-1"]);
    let requests = mock.state.api_requests.lock().unwrap();
    assert_eq!(
        (requests[0].method.as_str(), requests[0].uri.as_str()),
        ("GET", "/v1/models")
    );
}

#[tokio::test]
async fn two_api_calls_make_one_fetch_and_one_exchange() {
    let mock = Mock::start().await;
    let (source, connected) = connect_workload_identity(&mock);

    test_connection(&connected.client).await.unwrap();
    test_connection(&connected.client).await.unwrap();

    assert_eq!(source.fetches(), 1);
    assert_eq!(mock.exchange_calls(), 1);
    assert_eq!(mock.api_authorizations(), vec!["Bearer access-1"; 2]);
    let cache = connected.token_cache.unwrap();
    assert_eq!((cache.subject_fetches(), cache.exchanges()), (1, 1));
}

#[tokio::test]
async fn an_exchange_oauth_error_reaches_the_caller_typed_and_no_api_call_is_made() {
    let mock = Mock::refusing_the_grant("bad subject token").await;
    let (_, connected) = connect_workload_identity(&mock);

    let error = test_connection(&connected.client).await.unwrap_err();

    let OpenAIError::Boxed(boxed) = &error else {
        panic!("expected the exchange error, got {error:?}");
    };
    let exchange = boxed
        .downcast_ref::<ExchangeError>()
        .expect("the boxed error is the exchange's");
    assert_eq!(oauth(exchange), ("invalid_grant", "bad subject token", 401));
    assert_eq!(
        error.to_string(),
        "oauth error invalid_grant (401): bad subject token"
    );
    assert_eq!(mock.api_calls(), 0);
}

#[tokio::test]
async fn an_api_401_re_exchanges_once_and_replays_with_the_new_token() {
    let mock = Mock::start().await;
    mock.script_api([401]);
    let (source, connected) = connect_workload_identity(&mock);

    test_connection(&connected.client).await.unwrap();

    assert_eq!(source.fetches(), 2);
    assert_eq!(mock.exchange_calls(), 2);
    assert_eq!(
        mock.api_authorizations(),
        vec!["Bearer access-1", "Bearer access-2"]
    );
}

/// A second 401 is returned as it is, after one replay; a 403 at once, without a new exchange.
#[tokio::test]
async fn a_second_401_and_a_403_are_returned_as_they_are() {
    // The API's replies, and the requests, exchanges and fetches each takes.
    for (replies, calls) in [(&[401, 401][..], 2), (&[403][..], 1)] {
        let mock = Mock::start().await;
        mock.script_api(replies.iter().copied());
        let (source, connected) = connect_workload_identity(&mock);

        let error = test_connection(&connected.client)
            .await
            .expect_err("the API's last status is returned");

        let last = replies.last().copied();
        assert_eq!(api_status(&error), last, "{error:?}");
        assert_eq!(mock.api_calls(), calls, "API calls for {replies:?}");
        assert_eq!(mock.exchange_calls(), calls, "exchanges for {replies:?}");
        assert_eq!(source.fetches(), calls, "fetches for {replies:?}");
    }
}

#[tokio::test]
async fn without_workload_identity_a_401_is_not_retried() {
    let mock = Mock::start().await;
    mock.script_api([401]);
    let connection = parse(&json!({
        "conn_type": "openai",
        "host": mock.api_base(),
        "password": "sk-from-password",
        "extra": {}
    }));
    let connected = from_connection(
        &connection,
        "openai_key",
        ClientOptions::new().with_env(Arc::new(MapEnv::new())),
    )
    .unwrap();
    assert!(connected.token_cache.is_none());

    let error = test_connection(&connected.client).await.unwrap_err();

    assert_eq!(api_status(&error), Some(401), "{error:?}");
    assert_eq!(mock.api_authorizations(), vec!["Bearer sk-from-password"]);
    assert_eq!(mock.exchange_calls(), 0);
}

#[tokio::test]
async fn under_workload_identity_no_request_carries_the_configured_api_key() {
    let mock = Mock::start().await;
    let mut document = workload_identity_document(
        &mock,
        json!({
            "openai_client_kwargs": {
                "api_key": "sk-kwargs-must-not-leak",
                "default_headers": {
                    "api-key": "sk-header-must-not-leak",
                    "X-Api-Key": "x-must-not-leak",
                    "api_key": "underscore-must-not-leak",
                    "Authorization": "Basic must-not-leak",
                    "Proxy-Authorization": "Basic proxy-must-not-leak",
                    "Cookie": "session=must-not-leak",
                    "Ocp-Apim-Subscription-Key": "apim-must-not-leak",
                    "X-Trace": "t1"
                }
            }
        }),
    );
    document["password"] = json!("sk-password-must-not-leak");
    let connection = parse(&document);
    let env = MapEnv::new().with("OPENAI_API_KEY", "sk-env-must-not-leak");
    let options = mock
        .options(CountingSource::new(TokenType::Jwt))
        .with_env(Arc::new(env));
    let connected = from_connection(&connection, "openai_wi", options).unwrap();

    test_connection(&connected.client).await.unwrap();
    mock.script_api([401]);
    test_connection(&connected.client).await.unwrap();

    let requests = mock.state.api_requests.lock().unwrap();
    assert_eq!(requests.len(), 3);
    for request in requests.iter() {
        for (name, value) in &request.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            assert!(!value.contains("must-not-leak"), "{name}: {value}");
        }
        assert!(request.headers.get("api-key").is_none());
        assert_eq!(request.headers["x-trace"], "t1");
        assert!(
            request.headers["authorization"]
                .to_str()
                .unwrap()
                .starts_with("Bearer access-")
        );
    }
}

#[tokio::test]
async fn connection_options_reach_the_wire() {
    let mock = Mock::start().await;
    let connection = parse(&json!({
        "conn_type": "openai",
        "host": "https://ignored.example.com/v1",
        "extra": {
            "openai_client_kwargs": {
                "base_url": format!("{}/", mock.api_base()),
                "api_key": "sk-kwargs",
                "organization": "org-1",
                "project": "proj-1",
                "default_headers": {"X-Team": "data"},
                "default_query": {"api-version": "2024-01-01"},
                "timeout": 30,
                "max_retries": 1
            }
        }
    }));
    let options =
        ClientOptions::new().with_env(Arc::new(MapEnv::new().with("OPENAI_API_KEY", "sk-env")));
    let connected = from_connection(&connection, "openai_opts", options).unwrap();
    assert_eq!(connected.plan.max_retries, 1);
    assert_eq!(connected.plan.timeout, Duration::from_secs(30));

    mock.script_api([500, 500]);
    let error = test_connection(&connected.client).await.unwrap_err();
    // max_retries = 1: two attempts in all.
    assert_eq!(mock.api_calls(), 2, "{error:?}");

    let requests = mock.state.api_requests.lock().unwrap();
    let request = &requests[0];
    assert_eq!(request.uri, "/v1/models?api-version=2024-01-01");
    assert_eq!(request.headers["authorization"], "Bearer sk-kwargs");
    assert_eq!(request.headers["openai-organization"], "org-1");
    assert_eq!(request.headers["openai-project"], "proj-1");
    assert_eq!(request.headers["x-team"], "data");
}

#[tokio::test]
async fn retries_and_the_401_replay_compose() {
    let mock = Mock::start().await;
    // A 500 is retried by async-openai's layer; the retry then meets a 401, which our layer
    // replays with a fresh token.
    mock.script_api([500, 401]);
    let (_, connected) = connect_workload_identity(&mock);

    test_connection(&connected.client).await.unwrap();

    assert_eq!(
        mock.api_authorizations(),
        vec!["Bearer access-1", "Bearer access-1", "Bearer access-2"]
    );
    assert_eq!(mock.exchange_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_api_request_at_the_refresh_point_completes_before_the_slow_exchange() {
    let mock = Mock::scripted([Reply::Token, Reply::DelayedToken(Duration::from_secs(2))]).await;
    let (_, connected) = connect_workload_identity(&mock);
    test_connection(&connected.client).await.unwrap();
    let cache = connected.token_cache.clone().unwrap();
    let first = cache.token().await.unwrap();

    tokio::time::sleep_until(first.refresh_at()).await;
    assert!(support::eventually(|| mock.exchange_calls() == 2).await);

    test_connection(&connected.client).await.unwrap();
    // The API answered while the refresh exchange was still held by the mock.
    assert_eq!(mock.exchanges_completed(), 1);
    assert_eq!(mock.api_authorizations()[1], "Bearer access-1");

    assert!(support::eventually(|| mock.exchanges_completed() == 2).await);
    test_connection(&connected.client).await.unwrap();
    assert_eq!(mock.api_authorizations()[2], "Bearer access-2");
}

#[tokio::test]
async fn the_helpers_use_the_default_models() {
    let mock = Mock::start().await;
    let (_, connected) = connect_workload_identity(&mock);

    let reply = chat_completion(&connected.client, "hi", None)
        .await
        .unwrap();
    let vectors = embed(&connected.client, vec!["a".into(), "b".into()], None)
        .await
        .unwrap();

    assert_eq!(reply, "hello");
    assert_eq!(vectors, vec![vec![1.0, 2.0], vec![0.5, 0.25]]);
    let requests = mock.state.api_requests.lock().unwrap();
    let chat: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    let embeddings: serde_json::Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(chat["model"], DEFAULT_CHAT_MODEL);
    assert_eq!(embeddings["model"], DEFAULT_EMBEDDING_MODEL);
    assert_eq!(requests[0].uri, "/v1/chat/completions");
}

/// `OPENAI_CUSTOM_HEADERS` adds headers below the explicit `default_headers`; under workload
/// identity its credential headers are dropped (and validation's environment findings say so);
/// `plan` lists the variable among those in effect.
#[tokio::test]
async fn openai_custom_headers_are_sent_below_default_headers_without_credentials() {
    let mock = Mock::start().await;
    let source = CountingSource::new(TokenType::Jwt);
    let env = MapEnv::new().with(
        "OPENAI_CUSTOM_HEADERS",
        "X-Team: ml\nApi-Key: sk-LEAKED-ENV\nX-Trace: from-env",
    );
    let connection = workload_identity_connection(
        &mock,
        json!({"openai_client_kwargs": {"default_headers": {"X-Trace": "explicit"}}}),
    );
    let options = mock.options(source).with_env(Arc::new(env.clone()));
    let connected = from_connection(&connection, "openai_wi", options).unwrap();
    test_connection(&connected.client).await.unwrap();

    let requests = mock.state.api_requests.lock().unwrap();
    let headers = &requests[0].headers;
    assert_eq!(headers.get("x-team").unwrap(), "ml");
    assert_eq!(headers.get("x-trace").unwrap(), "explicit");
    assert!(headers.get("api-key").is_none(), "{headers:?}");
    assert!(
        connected
            .plan
            .env_in_effect
            .contains(&"OPENAI_CUSTOM_HEADERS".to_owned())
    );

    let findings = openai_conn_client::environment_findings(&connection, &env);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0]
            .message
            .contains("\"Api-Key\" in OPENAI_CUSTOM_HEADERS")
    );
    assert!(!findings[0].message.contains("LEAKED"));
}
