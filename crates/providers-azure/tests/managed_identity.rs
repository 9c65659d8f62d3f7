//! The Azure managed-identity source against a real HTTP server on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use providers_azure::HttpSource;
use providers_azure::{AzureError, AzureSource, Endpoint, HttpError, SourceHttpError};
use providers_core::{MapEnv, RetryPolicy, SourceError, SubjectTokenSource, TokenType};
use providers_http::conformance::{
    assert_failed_at, cause_of, exact_request, fails_at_once, fetch_once, recorded, renderings,
    request_count, serving, serving_in_turn, sleeping_on_record,
};
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "eyJ.azure-MI-token.sig";
const IDENTITY_HEADER: &str = "identity-header-SECRET";

const RESOURCE: &str = "api://openai-wi";
const IMDS_PATH: &str = "/metadata/identity/oauth2/token";

/// A source of the system-assigned identity for [`RESOURCE`]; tests add selectors with `with_*`.
fn azure(env: MapEnv) -> AzureSource {
    AzureSource::new(RESOURCE, Arc::new(env)).expect("the client builds")
}

/// A source aimed at `server` through `AZURE_POD_IDENTITY_AUTHORITY_HOST`, with `select` applied
/// and a recording sleep.
fn imds_source(
    server: &MockServer,
    select: impl FnOnce(AzureSource) -> AzureSource,
) -> (AzureSource, Arc<Mutex<Vec<Duration>>>) {
    let env = MapEnv::new().with("AZURE_POD_IDENTITY_AUTHORITY_HOST", server.uri());
    sleeping_on_record(select(azure(env)))
}

fn system_assigned(source: AzureSource) -> AzureSource {
    source
}

fn token_reply() -> ResponseTemplate {
    // IMDS sends its numbers as strings.
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": TOKEN,
        "expires_in": "86399",
        "expires_on": "1700000000",
        "not_before": "1699913600",
        "resource": "api://openai-wi",
        "token_type": "Bearer",
    }))
}

async fn fetch_error(source: &AzureSource) -> SourceError {
    source.fetch().await.expect_err("the fetch fails")
}

fn azure_error(error: &SourceError) -> &AzureError {
    cause_of(error, "azure")
}

/// A server answering every IMDS request with `reply`, and a system-assigned source aimed at it.
async fn imds_replying(
    reply: ResponseTemplate,
) -> (MockServer, AzureSource, Arc<Mutex<Vec<Duration>>>) {
    let server = serving(IMDS_PATH, reply).await;
    let (source, delays) = imds_source(&server, system_assigned);
    (server, source, delays)
}

#[tokio::test]
async fn imds_request_is_exact_and_the_token_is_the_access_token() {
    let server = MockServer::start().await;
    let (source, delays) = imds_source(&server, |source| {
        source
            .with_client_id("cid-1")
            .with_object_id("oid-2")
            .with_msi_res_id("/subscriptions/s/identities/u")
            .with_api_version("2018-02-01")
    });
    // The request those selectors make.
    let exact = Mock::given(method("GET"))
        .and(path(IMDS_PATH))
        .and(query_param("api-version", "2018-02-01"))
        .and(query_param("resource", "api://openai-wi"))
        .and(query_param("client_id", "cid-1"))
        .and(query_param("object_id", "oid-2"))
        .and(query_param("msi_res_id", "/subscriptions/s/identities/u"))
        .and(header("Metadata", "true"))
        .respond_with(token_reply());
    let request = exact_request(&server, exact, &source, &delays, TOKEN, TokenType::Jwt).await;
    assert_eq!(AzureSource::TOKEN_TYPE, TokenType::Jwt);
    assert!(request.headers.get("x-identity-header").is_none());
    // The exact query, in order and form-encoded, with nothing else in it.
    assert_eq!(
        request.url.query(),
        Some(
            "api-version=2018-02-01&resource=api%3A%2F%2Fopenai-wi&client_id=cid-1&object_id=oid-2\
             &msi_res_id=%2Fsubscriptions%2Fs%2Fidentities%2Fu"
        )
    );
}

#[tokio::test]
async fn system_assigned_identity_sends_no_selector() {
    let server = MockServer::start().await;
    Mock::given(path(IMDS_PATH))
        .and(query_param_is_missing("client_id"))
        .and(query_param_is_missing("object_id"))
        .and(query_param_is_missing("msi_res_id"))
        .respond_with(token_reply())
        .expect(1)
        .mount(&server)
        .await;
    let (source, _) = imds_source(&server, system_assigned);
    assert!(source.fetch().await.is_ok());
}

#[tokio::test]
async fn app_service_endpoint_wins_when_both_variables_are_set() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/msi/token"))
        .and(query_param("api-version", "2019-08-01"))
        .and(query_param("resource", "api://openai-wi"))
        .and(query_param("mi_res_id", "/subscriptions/s/identities/u"))
        .and(query_param_is_missing("msi_res_id"))
        .and(header("X-IDENTITY-HEADER", IDENTITY_HEADER))
        .and(header("Metadata", "true"))
        .respond_with(token_reply())
        .expect(1)
        .mount(&server)
        .await;
    let env = MapEnv::new()
        .with("IDENTITY_ENDPOINT", format!("{}/msi/token", server.uri()))
        .with("IDENTITY_HEADER", IDENTITY_HEADER)
        .with("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9");
    let source = azure(env).with_msi_res_id("/subscriptions/s/identities/u");
    let token = source.fetch().await.expect("token");
    assert_eq!(token.secret().expose_secret(), TOKEN);
    assert!(!format!("{source:?}").contains(IDENTITY_HEADER));
}

#[tokio::test]
async fn status_400_is_identity_not_assigned_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path(IMDS_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_request",
            "error_description": "Identity not found",
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (source, delays) = imds_source(&server, |source| source.with_client_id("cid-9"));
    let error = fails_at_once(&source, &server, &delays).await;
    assert!(matches!(
        azure_error(&error),
        AzureError::IdentityNotAssigned { .. }
    ));
    let message = error.to_string();
    assert!(
        message.contains(
            "the user-assigned identity with client_id cid-9 is not assigned to this resource"
        ),
        "{message}"
    );
    assert!(
        message.contains("(invalid_request)") || message.contains("invalid_request"),
        "{message}"
    );
    assert!(
        !message.contains("Identity not found"),
        "the body's description stays out: {message}"
    );
}

#[tokio::test]
async fn transient_statuses_are_retried_three_times_with_growing_delays() {
    for status in [404, 408, 429, 500, 503] {
        let (server, source, delays) = imds_replying(ResponseTemplate::new(status)).await;
        let error = fetch_error(&source).await;
        assert_eq!(azure_error(&error).status(), Some(status));
        assert!(error.is_transient());
        assert_eq!(request_count(&server).await, 4, "{status}: four requests");
        let delays = recorded(&delays);
        assert_eq!(delays.len(), 3, "{status}");
        for (delay, base) in delays.iter().zip([1.0, 2.0, 4.0]) {
            let seconds = delay.as_secs_f64();
            assert!(
                seconds >= base && seconds <= base * 1.25,
                "{status}: {delays:?}"
            );
        }
    }
}

#[tokio::test]
async fn status_410_is_retried_every_ten_seconds_for_seventy_seconds() {
    let (server, source, delays) = imds_replying(ResponseTemplate::new(410)).await;
    let error = fetch_error(&source).await;
    assert_eq!(azure_error(&error).status(), Some(410));
    assert_eq!(request_count(&server).await, 8, "eight requests");
    assert_eq!(*recorded(&delays), vec![Duration::from_secs(10); 7]);
}

#[tokio::test]
async fn malformed_and_empty_replies_are_errors() {
    for (body, expected) in [
        (
            json!({"token": TOKEN}),
            "the reply of IMDS is malformed: expected json with a string access_token",
        ),
        (
            json!({"access_token": ""}),
            "the reply of IMDS is malformed: expected a non-empty access_token",
        ),
    ] {
        let (server, source, delays) =
            imds_replying(ResponseTemplate::new(200).set_body_json(body)).await;
        let error = fails_at_once(&source, &server, &delays).await;
        assert!(
            matches!(
                azure_error(&error),
                AzureError::Http {
                    endpoint: Endpoint::Imds,
                    source: HttpError::Malformed { status: 200, .. },
                    code: None,
                }
            ),
            "{error:?}"
        );
        assert_eq!(azure_error(&error).to_string(), expected);
        assert_failed_at(&error, "reading the IMDS reply", false);
        assert!(!error.to_string().contains(TOKEN));
    }
}

#[tokio::test]
async fn no_token_in_debug_or_errors() {
    let (_server, source, _) = imds_replying(
        ResponseTemplate::new(500).set_body_json(json!({"access_token": TOKEN, "error": "oops"})),
    )
    .await;
    let source = source.with_retry_policy(RetryPolicy::NONE);
    let error = fetch_error(&source).await;
    for text in [
        format!("{error}"),
        format!("{error:?}"),
        format!("{source:?}"),
    ] {
        assert!(!text.contains(TOKEN), "{text}");
    }
    let (_token_server, source, _) = imds_replying(token_reply()).await;
    let token = source.fetch().await.expect("token");
    assert!(!format!("{token:?}").contains(TOKEN));
}

/// The error's message with all its sources, and their Debug forms, as one text.
fn full_text(error: &SourceError) -> String {
    renderings(error).join(" | ")
}

#[tokio::test]
async fn explicit_authority_overrides_the_environment() {
    let server = serving(IMDS_PATH, token_reply()).await;
    // The variable points at a port nobody listens on; the override must win.
    let env = MapEnv::new().with("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9");
    let source = azure(env)
        .with_authority(format!("{}/", server.uri()))
        .with_retry_policy(RetryPolicy::NONE);

    fetch_once(&source, &server, TOKEN, TokenType::Jwt).await;
}

#[tokio::test]
async fn only_one_app_service_variable_falls_back_to_imds() {
    let server = serving(IMDS_PATH, token_reply()).await;
    let env = MapEnv::new()
        .with("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token")
        .with("AZURE_POD_IDENTITY_AUTHORITY_HOST", server.uri());
    let source = azure(env).with_retry_policy(RetryPolicy::NONE);

    fetch_once(&source, &server, TOKEN, TokenType::Jwt).await;
}

#[tokio::test]
async fn app_service_400_names_mi_res_id_and_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/msi/token"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(serde_json::json!({"statusCode": 400})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let env = MapEnv::new()
        .with("IDENTITY_ENDPOINT", format!("{}/msi/token", server.uri()))
        .with("IDENTITY_HEADER", "app-service-header-secret");
    let source = azure(env).with_msi_res_id("/subscriptions/s/mi");

    let error = source.fetch().await.expect_err("the fetch fails");

    assert_failed_at(
        &error,
        "requesting a token from the App Service identity endpoint",
        false,
    );
    assert_eq!(
        azure_error(&error).to_string(),
        "the App Service identity endpoint answered HTTP 400: the user-assigned identity with \
         mi_res_id /subscriptions/s/mi is not assigned to this resource; assign it, or set \
         client_id, object_id or msi_res_id to an identity that is"
    );
    assert!(!full_text(&error).contains("app-service-header-secret"));
}

#[tokio::test]
async fn system_assigned_400_says_so() {
    let (_server, source, _) = imds_replying(ResponseTemplate::new(400)).await;

    let error = source.fetch().await.expect_err("the fetch fails");

    assert!(
        matches!(azure_error(&error), AzureError::IdentityNotAssigned { endpoint: Endpoint::Imds, identity, code: None }
            if identity == "the system-assigned identity"),
        "{error}"
    );
}

#[tokio::test]
async fn gone_has_its_own_budget() {
    let gone = ResponseTemplate::new(410);
    let unavailable = ResponseTemplate::new(503);
    let server = serving_in_turn(IMDS_PATH, [(gone, 5), (unavailable, 2)], token_reply()).await;
    let (source, slept) = imds_source(&server, system_assigned);
    let source = source.with_retry_policy(providers_azure::DEFAULT_RETRY_POLICY.without_delays());

    source.fetch().await.expect("ok");

    assert_eq!(request_count(&server).await, 8);
    let slept = recorded(&slept);
    assert_eq!(slept[..5], [Duration::from_secs(10); 5]);
    assert_eq!(slept[5..], [Duration::ZERO; 2]);
}

#[tokio::test]
async fn connection_errors_are_transient_and_retried() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("ok")
        .local_addr()
        .expect("ok")
        .port();
    let env = MapEnv::new().with(
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        format!("http://127.0.0.1:{port}"),
    );
    let (source, slept) = sleeping_on_record(azure(env));
    let source = source.with_retry_policy(
        RetryPolicy::exponential(2, Duration::from_secs(1), Duration::from_secs(4))
            .without_delays(),
    );

    let error = source.fetch().await.expect_err("the fetch fails");

    assert!(error.is_transient());
    assert!(
        matches!(
            azure_error(&error),
            AzureError::Http {
                endpoint: Endpoint::Imds,
                source: HttpError::Connect { .. },
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(recorded(&slept).len(), 2);
}

#[tokio::test]
async fn error_bodies_never_reach_the_message() {
    let (_server, source, _) =
        imds_replying(ResponseTemplate::new(500).set_body_string(format!("upstream said {TOKEN}")))
            .await;
    let source = source.with_retry_policy(RetryPolicy::NONE);

    let error = source.fetch().await.expect_err("the fetch fails");

    assert_eq!(azure_error(&error).to_string(), "IMDS answered status 500");
    assert!(!full_text(&error).contains(TOKEN));
}

#[tokio::test]
async fn bad_environment_is_reported_at_fetch_time() {
    let cases = [
        (
            MapEnv::new().with("AZURE_POD_IDENTITY_AUTHORITY_HOST", "169.254.169.254"),
            "AZURE_POD_IDENTITY_AUTHORITY_HOST is not a valid URL",
        ),
        (
            MapEnv::new()
                .with("IDENTITY_ENDPOINT", "ftp://127.0.0.1/msi")
                .with("IDENTITY_HEADER", "h"),
            "IDENTITY_ENDPOINT must be an http or https URL",
        ),
        (
            MapEnv::new()
                .with("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi")
                .with("IDENTITY_HEADER", "bad\nheader-secret"),
            "IDENTITY_HEADER is not a valid HTTP header value",
        ),
    ];
    for (env, expected) in cases {
        let error = azure(env).fetch().await.expect_err("the fetch fails");

        assert_failed_at(&error, "reading the endpoint from the environment", false);
        assert_eq!(azure_error(&error).to_string(), expected);
        assert!(!full_text(&error).contains("header-secret"));
    }
}

/// App Service's endpoint sends the `IDENTITY_HEADER` secret: plain http is refused unless it
/// goes to this machine (where the platform puts it), and nothing is sent.
#[tokio::test]
async fn a_plain_http_identity_endpoint_off_this_machine_is_refused() {
    for endpoint in [
        "http://169.254.169.254/msi/token",
        "http://identity.example.com/msi/token",
        "http:identity.example.com/msi/token",
    ] {
        let env = MapEnv::new()
            .with("IDENTITY_ENDPOINT", endpoint)
            .with("IDENTITY_HEADER", "header-secret");
        let error = azure(env).fetch().await.expect_err("the fetch fails");
        assert_failed_at(&error, "reading the endpoint from the environment", false);
        assert!(
            azure_error(&error)
                .to_string()
                .starts_with("IDENTITY_ENDPOINT is plain http to a host other than this machine"),
            "{endpoint}: {}",
            full_text(&error)
        );
        assert!(!full_text(&error).contains("header-secret"));
    }
    // On this machine, plain http is what App Service uses.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/msi/token"))
        .respond_with(token_reply())
        .mount(&server)
        .await;
    let env = MapEnv::new()
        .with("IDENTITY_ENDPOINT", format!("{}/msi/token", server.uri()))
        .with("IDENTITY_HEADER", "header-secret");
    azure(env)
        .fetch()
        .await
        .expect("a loopback endpoint is used");
}
