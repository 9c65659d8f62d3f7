//! What the API transport guards, against real servers on 127.0.0.1: no redirect is followed, no
//! URL reaches a transport error, and an error reply is bounded and scrubbed of the credentials
//! its request carried.

use std::sync::Arc;

use openai_conn_client::async_openai::error::OpenAIError;
use openai_conn_client::providers_core::MapEnv;
use openai_conn_client::{ApiTransportError, ClientOptions, from_connection, test_connection};
use serde_json::{Value, json};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-live-KEY-SECRET-0001";
const HEADER_KEY: &str = "azure-HEADER-SECRET-0002";
const QUERY_KEY: &str = "query-QUERY-SECRET-0003";

fn connection(base_url: &str) -> conn_schema::Connection {
    let document = json!({
        "conn_type": "openai",
        "password": KEY,
        "extra": {
            "openai_client_kwargs": {
                "base_url": base_url,
                "default_headers": {"api-key": HEADER_KEY},
                "default_query": {"sig": QUERY_KEY},
                "max_retries": 0
            }
        }
    });
    let report = conn_schema::validate(&document.to_string(), conn_schema::DocumentKind::Auto);
    report.into_connection().expect("a valid test connection")
}

async fn test_error(base_url: &str) -> OpenAIError {
    let options = ClientOptions::new().with_env(Arc::new(MapEnv::new()));
    let connected = from_connection(&connection(base_url), "guarded", options).expect("client");
    test_connection(&connected.client)
        .await
        .expect_err("the test fails")
}

/// The error and all its causes, as a person would read them.
fn rendered(error: &OpenAIError) -> String {
    let mut text = format!("{error} | {error:?}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(" | {cause}"));
        source = cause.source();
    }
    text
}

fn assert_no_secret(text: &str) {
    for secret in [KEY, HEADER_KEY, QUERY_KEY] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn an_api_redirect_is_an_error_naming_status_and_host_and_is_not_followed() {
    let elsewhere = MockServer::start().await;
    Mock::given(path("/v1/models"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": []})),
        )
        .mount(&elsewhere)
        .await;
    let api = MockServer::start().await;
    Mock::given(path("/v1/models"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "Location",
            format!("{}/v1/models?stolen=1", elsewhere.uri()),
        ))
        .mount(&api)
        .await;

    let error = test_error(&format!("{}/v1", api.uri())).await;

    let target = elsewhere.address().to_string();
    let OpenAIError::Boxed(boxed) = &error else {
        panic!("expected the transport's error, got {error:?}");
    };
    let Some(ApiTransportError::Redirect {
        status,
        target: host,
    }) = boxed.downcast_ref()
    else {
        panic!("expected a redirect error, got {boxed:?}");
    };
    assert_eq!((*status, host.as_str()), (302, target.as_str()));
    assert_eq!(
        error.to_string(),
        format!("the api answered with a redirect (302) to {target}, which is not followed")
    );
    let followed = elsewhere.received_requests().await.expect("recording");
    assert_eq!(followed.len(), 0, "the redirect was followed");
    assert_no_secret(&rendered(&error));
}

#[tokio::test]
async fn a_transport_error_does_not_print_the_request_url() {
    // A port that was just free: the connection is refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);

    let error = test_error(&format!("http://{address}/v1")).await;

    assert!(matches!(error, OpenAIError::Reqwest(_)), "{error:?}");
    let text = rendered(&error);
    assert!(!text.contains("/v1/models"), "{text}");
    assert_no_secret(&text);
}

async fn api_answering(status: u16, body: Value) -> MockServer {
    let api = MockServer::start().await;
    Mock::given(path("/v1/models"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&api)
        .await;
    api
}

#[tokio::test]
async fn an_api_error_message_never_repeats_a_credential_the_request_carried() {
    let echo = format!(
        "Incorrect API key provided: {KEY}. Header {HEADER_KEY}. Padding {}",
        "x".repeat(2000)
    );
    let api = api_answering(
        401,
        json!({"error": {"message": echo, "type": "invalid_request_error", "param": KEY, "code": "invalid_api_key"}}),
    )
    .await;

    let error = test_error(&format!("{}/v1", api.uri())).await;

    let OpenAIError::ApiError(api_error) = &error else {
        panic!("expected the API's error, got {error:?}");
    };
    assert_eq!(api_error.status_code.as_u16(), 401);
    let message = &api_error.api_error.message;
    assert!(
        message.starts_with("Incorrect API key provided: [redacted]. Header [redacted]. Padding"),
        "{message}"
    );
    assert_eq!(message.chars().count(), 500);
    assert_eq!(api_error.api_error.code.as_deref(), Some("invalid_api_key"));
    assert_no_secret(&rendered(&error));
}

#[tokio::test]
async fn a_plain_text_server_error_is_scrubbed_too() {
    let api = MockServer::start().await;
    Mock::given(path("/v1/models"))
        .respond_with(
            ResponseTemplate::new(500).set_body_string(format!("upstream rejected Bearer {KEY}")),
        )
        .mount(&api)
        .await;

    let error = test_error(&format!("{}/v1", api.uri())).await;

    let text = rendered(&error);
    assert!(text.contains("upstream rejected [redacted]"), "{text}");
    assert_no_secret(&text);
}

#[tokio::test]
async fn an_error_body_past_64_kib_is_refused_naming_the_status() {
    let api = MockServer::start().await;
    Mock::given(path("/v1/models"))
        .respond_with(ResponseTemplate::new(400).set_body_string("e".repeat(64 * 1024 + 1)))
        .mount(&api)
        .await;

    let error = test_error(&format!("{}/v1", api.uri())).await;

    assert_eq!(
        error.to_string(),
        "the api answered 400, and its reply body could not be read: the reply body is larger \
         than 65536 bytes"
    );
}

#[test]
fn validation_and_the_client_agree_on_what_is_clear_text() {
    for (text, cleartext) in [
        ("http://api.example.com/v1", true),
        ("http://10.0.0.5:8080/v1", true),
        ("http://[fe80::1]/v1", true),
        ("https://api.example.com/v1", false),
        ("http://localhost:8080/v1", false),
        ("http://127.0.0.1/v1", false),
        ("http://127.8.9.10/v1", false),
        ("http://[::1]:8080/v1", false),
    ] {
        let url = url::Url::parse(text).expect("a url");
        let client_says = url.scheme() == "http" && !providers_http::is_loopback(&url);
        assert_eq!(conn_schema::is_cleartext_remote(text), cleartext, "{text}");
        assert_eq!(client_says, cleartext, "{text}");
    }
}

#[test]
fn the_plan_warns_about_a_clear_text_base_from_the_environment() {
    let document = json!({"conn_type": "openai", "password": KEY, "extra": {}});
    let report = conn_schema::validate(&document.to_string(), conn_schema::DocumentKind::Auto);
    let connection = report.connection().expect("valid");
    let env = MapEnv::new().with("OPENAI_BASE_URL", "http://gateway.internal:8080/v1");
    let plan = openai_conn_client::plan(
        connection,
        "plain",
        &ClientOptions::new().with_env(Arc::new(env)),
    )
    .expect("a plan");
    let warning = plan.cleartext_warning().expect("a warning");
    assert!(
        warning.starts_with(
            "the api base http://gateway.internal:8080/v1 (from the OPENAI_BASE_URL environment \
             variable) is plain http"
        ),
        "{warning}"
    );
}

#[test]
fn a_base_url_with_credentials_is_refused_without_repeating_them() {
    // From the environment: refused when the client is planned.
    let document = json!({"conn_type": "openai", "password": KEY, "extra": {}});
    let report = conn_schema::validate(&document.to_string(), conn_schema::DocumentKind::Auto);
    let connection = report.connection().expect("the document itself is valid");
    let env = MapEnv::new().with(
        "OPENAI_BASE_URL",
        format!("https://user:{QUERY_KEY}@api.example.com/v1?sig={HEADER_KEY}"),
    );
    let error = openai_conn_client::plan(
        connection,
        "creds",
        &ClientOptions::new().with_env(Arc::new(env)),
    )
    .expect_err("credentials in the base url are refused");
    let text = error.to_string();
    assert!(
        text.contains("credentials in the url are not allowed"),
        "{text}"
    );
    assert!(
        text.contains("\"https://api.example.com/v1?sig=[redacted]\""),
        "{text}"
    );
    assert_no_secret(&text);

    // In the document: a validation error whose message and snippet hold no secret.
    for document in [
        json!({"conn_type": "openai", "password": KEY, "host": format!("https://{QUERY_KEY}@api.example.com/v1")}),
        json!({"conn_type": "openai", "password": KEY, "extra": {"openai_client_kwargs": {"base_url": format!("https://u:{QUERY_KEY}@api.example.com/v1")}}}),
    ] {
        let report = conn_schema::validate(&document.to_string(), conn_schema::DocumentKind::Auto);
        let rendered = report.render("conn.json");
        assert!(report.has_errors(), "{rendered}");
        assert!(rendered.contains("must not hold credentials"), "{rendered}");
        assert_no_secret(&rendered);
    }
}

/// A GCP workload-identity connection sending `default_headers`.
fn gcp_workload_identity(default_headers: Value) -> Value {
    json!({
        "conn_type": "openai",
        "extra": {
            "auth_type": "workload_identity",
            "workload_identity_provider": "gcp",
            "identity_provider_id": "i",
            "service_account_id": "s",
            "openai_client_kwargs": {"default_headers": default_headers}
        }
    })
}

#[test]
fn validation_warns_about_every_credential_header_under_workload_identity() {
    let headers: serde_json::Map<String, Value> = conn_schema::CREDENTIAL_HEADERS
        .iter()
        .map(|name| (name.to_uppercase(), json!("v")))
        .chain([("X-Trace".to_owned(), json!("t"))])
        .collect();
    let document = gcp_workload_identity(Value::Object(headers));
    let report = conn_schema::validate(&document.to_string(), conn_schema::DocumentKind::Auto);
    let warned: Vec<&str> = report
        .diagnostics()
        .iter()
        .filter(|d| d.message.contains("is a credential header"))
        .map(|d| d.pointer.as_str())
        .collect();
    assert_eq!(warned.len(), 7, "{warned:?}");
    for name in [
        "PROXY-AUTHORIZATION",
        "COOKIE",
        "OCP-APIM-SUBSCRIPTION-KEY",
        "API_KEY",
    ] {
        assert!(
            warned
                .contains(&format!("/extra/openai_client_kwargs/default_headers/{name}").as_str()),
            "{name}: {warned:?}"
        );
    }
}

const SUBJECT: &str = "eyJ.subject-SUBJECT-SECRET-0004";
const ACCESS: &str = "access-ACCESS-SECRET-0005";

#[derive(Debug)]
struct FixedSubject;

impl openai_conn_client::providers_core::SubjectTokenSource for FixedSubject {
    fn fetch(
        &self,
    ) -> openai_conn_client::providers_core::BoxFuture<
        '_,
        Result<
            openai_conn_client::providers_core::SubjectToken,
            openai_conn_client::providers_core::SourceError,
        >,
    > {
        Box::pin(async {
            Ok(openai_conn_client::providers_core::SubjectToken::new(
                SUBJECT,
                openai_conn_client::providers_core::TokenType::Jwt,
            ))
        })
    }
}

#[tokio::test]
async fn an_oauth_error_never_repeats_the_subject_token() {
    let exchange = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": format!("subject token {SUBJECT} is not trusted")
        })))
        .mount(&exchange)
        .await;
    let cache = openai_conn_client::TokenCache::builder(Arc::new(FixedSubject), "idp", "sa")
        .exchange_url(format!("{}/token", exchange.uri()))
        .env(Arc::new(MapEnv::new()))
        .build()
        .expect("cache");

    let error = cache.token().await.expect_err("the exchange is refused");

    assert_eq!(
        error.to_string(),
        "oauth error invalid_grant (400): subject token [redacted] is not trusted"
    );
    assert!(!format!("{error:?}").contains(SUBJECT));
}

#[tokio::test]
async fn an_api_error_never_repeats_the_access_token() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": ACCESS, "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v1/models"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"error": {"message": format!("token {ACCESS} lacks api.model.read"), "type": "x"}}),
        ))
        .mount(&server)
        .await;
    let document = json!({
        "conn_type": "openai",
        "host": format!("{}/v1", server.uri()),
        "extra": {
            "auth_type": "workload_identity",
            "workload_identity_provider": "custom",
            "token_provider": "fixed",
            "identity_provider_id": "idp",
            "service_account_id": "sa"
        }
    });
    let report = conn_schema::validate(&document.to_string(), conn_schema::DocumentKind::Auto);
    let connection = report.connection().expect("valid");
    let options = ClientOptions::new()
        .with_env(Arc::new(MapEnv::new()))
        .with_exchange_url(format!("{}/token", server.uri()))
        .with_subject_token_source(Arc::new(FixedSubject));
    let connected = from_connection(connection, "wi", options).expect("client");

    let error = test_connection(&connected.client)
        .await
        .expect_err("the API refuses");

    let text = rendered(&error);
    assert!(
        text.contains("token [redacted] lacks api.model.read"),
        "{text}"
    );
    assert!(!text.contains(ACCESS), "{text}");
}

/// A `Host` in `default_headers` is an error with its position under workload identity (a
/// request carrying the bearer names its URL's host), a warning under an API key.
#[test]
fn a_host_header_is_refused_under_workload_identity_and_warned_about_under_an_api_key() {
    let document = gcp_workload_identity(json!({"Host": "internal.example", "X-Trace": "t"}));
    let text = serde_json::to_string_pretty(&document).expect("a JSON value prints");
    let host_line = text
        .lines()
        .position(|line| line.contains(r#""Host""#))
        .map(|index| index + 1);
    let report = conn_schema::validate(&text, conn_schema::DocumentKind::Auto);
    assert!(report.connection().is_none());
    let host: Vec<_> = report
        .diagnostics()
        .iter()
        .filter(|d| d.pointer == "/extra/openai_client_kwargs/default_headers/Host")
        .collect();
    assert_eq!(host.len(), 1, "{:?}", report.diagnostics());
    assert_eq!(host[0].severity, conn_schema::Severity::Error);
    assert_eq!(host[0].code.as_str(), "not-allowed-here");
    assert_eq!(
        host[0].location.map(|location| location.line),
        host_line,
        "{:?}",
        host[0]
    );

    let api_key = json!({
        "conn_type": "openai",
        "password": "sk-x",
        "extra": {"openai_client_kwargs": {"default_headers": {"host": "internal.example"}}}
    });
    let report = conn_schema::validate(&api_key.to_string(), conn_schema::DocumentKind::Auto);
    assert!(report.connection().is_some());
    assert!(
        report
            .diagnostics()
            .iter()
            .any(|d| d.severity == conn_schema::Severity::Warning
                && d.pointer == "/extra/openai_client_kwargs/default_headers/host"),
        "{:?}",
        report.diagnostics()
    );
}
