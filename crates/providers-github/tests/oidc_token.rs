//! The GitHub Actions OIDC source against a real HTTP server on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use providers_core::{MapEnv, RetryPolicy, SourceError, SubjectTokenSource, TokenType};
use providers_github::HttpSource;
use providers_github::{GithubActionsError, GithubActionsSource, HttpError};
use providers_http::conformance::{
    assert_failed_at, cause_of, exact_request, fails_at_once, fetch_once, renderings,
    request_count, serving, serving_in_turn, sleeping_on_record,
};
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.github-oidc-SECRET.sig";
const REQUEST_TOKEN: &str = "ghs_request-token-PRIVATE";
const OPENAI_AUDIENCE: &str = "https://api.openai.com/v1";
const TOKEN_PATH: &str = "/abc/_apis/distributedtask/hubs/Actions/plans/p1/jobs/j1/idtoken";

/// The request URL as the runner sets it: with its query already started.
fn request_url(server: &MockServer) -> String {
    format!("{}{TOKEN_PATH}?api-version=2.0", server.uri())
}

fn env_for(url: impl Into<String>) -> MapEnv {
    MapEnv::new()
        .with("ACTIONS_ID_TOKEN_REQUEST_URL", url)
        .with("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
}

/// A source aimed at `server`, with the default retry policy and a recording sleep (so backoff is
/// observed, never waited for).
fn source_for(
    server: &MockServer,
    audience: &str,
) -> (GithubActionsSource, Arc<Mutex<Vec<Duration>>>) {
    let env = env_for(request_url(server));
    sleeping_on_record(
        GithubActionsSource::new(audience, Arc::new(env)).expect("the client builds"),
    )
}

fn github_error(error: &SourceError) -> &GithubActionsError {
    cause_of(error, "github_actions")
}

/// Fetches with `env`, which must fail with a [`GithubActionsError`] matching `pattern`; gives
/// the error.
macro_rules! fetch_fails_with {
    ($env:expr, $pattern:pat) => {{
        let error = fetch_error($env).await;
        assert!(
            matches!(github_error(&error), $pattern),
            "expected {}, got {error:?}",
            stringify!($pattern)
        );
        error
    }};
}

/// What fetching with `env` fails with. Construction never fails: what is wrong in the
/// environment surfaces at fetch time.
async fn fetch_error(env: MapEnv) -> SourceError {
    let source =
        GithubActionsSource::new(OPENAI_AUDIENCE, Arc::new(env)).expect("the client builds");
    source
        .fetch()
        .await
        .expect_err("the fetch fails on the environment")
}

fn token_reply() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "count": 2, "value": TOKEN }))
}

#[tokio::test]
async fn request_is_exact_and_the_token_is_the_value_field() {
    let server = MockServer::start().await;
    let exact = Mock::given(method("GET"))
        .and(path(TOKEN_PATH))
        .and(query_param("api-version", "2.0"))
        .and(query_param("audience", OPENAI_AUDIENCE))
        .and(header("Authorization", format!("Bearer {REQUEST_TOKEN}")))
        .and(header("Accept", "application/json"))
        .respond_with(token_reply());
    let (source, delays) = source_for(&server, OPENAI_AUDIENCE);

    let request = exact_request(&server, exact, &source, &delays, TOKEN, TokenType::Jwt).await;
    assert_eq!(GithubActionsSource::TOKEN_TYPE, TokenType::Jwt);
    // The audience follows the runner's own query with `&`, url-encoded.
    assert_eq!(
        request.url.query(),
        Some("api-version=2.0&audience=https%3A%2F%2Fapi.openai.com%2Fv1")
    );
}

#[tokio::test]
async fn a_url_without_a_query_gets_one() {
    let server = serving(TOKEN_PATH, token_reply()).await;
    let audience = "sts.example/openai wi?x=1&y";
    let env = env_for(format!("{}{TOKEN_PATH}", server.uri()));
    let source = GithubActionsSource::new(audience, Arc::new(env)).expect("the client builds");
    assert_eq!(source.audience(), audience);

    let request = fetch_once(&source, &server, TOKEN, TokenType::Jwt).await;
    assert_eq!(
        request.url.query(),
        Some("audience=sts.example%2Fopenai+wi%3Fx%3D1%26y")
    );
}

#[tokio::test]
async fn missing_variables_ask_for_the_id_token_permission() {
    let server = MockServer::start().await;
    let cases = [
        (
            MapEnv::new(),
            "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set",
        ),
        (
            MapEnv::new().with("ACTIONS_ID_TOKEN_REQUEST_URL", request_url(&server)),
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set",
        ),
        (
            MapEnv::new()
                .with("ACTIONS_ID_TOKEN_REQUEST_URL", "")
                .with("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN),
            "ACTIONS_ID_TOKEN_REQUEST_URL is not set",
        ),
    ];
    for (env, names) in cases {
        let error = fetch_fails_with!(env, GithubActionsError::MissingEnvironment { .. });
        assert_failed_at(
            &error,
            "reading the ACTIONS_ID_TOKEN_REQUEST variables",
            false,
        );
        assert_eq!(
            github_error(&error).to_string(),
            format!(
                "{names}; the github actions job needs `permissions: id-token: write` to request \
                 an oidc token"
            )
        );
        assert!(error.to_string().contains("id-token: write"), "{error}");
    }
    assert_eq!(request_count(&server).await, 0);
}

#[tokio::test]
async fn a_plain_http_url_to_another_host_is_refused_before_the_request_token_is_sent() {
    let env = env_for("http://pipelines.example.com/idtoken?api-version=2.0");
    let error = fetch_fails_with!(env, GithubActionsError::InvalidRequestUrl { .. });
    assert_eq!(
        github_error(&error).to_string(),
        "ACTIONS_ID_TOKEN_REQUEST_URL is not a valid token request url: expected an https url \
         (plain http only to a loopback host)"
    );
    assert!(!error.is_transient());
}

#[tokio::test]
async fn a_request_token_that_cannot_be_a_header_is_an_error_without_its_value() {
    let server = MockServer::start().await;
    let env = MapEnv::new()
        .with("ACTIONS_ID_TOKEN_REQUEST_URL", request_url(&server))
        .with("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "PRIVATE\nvalue");
    let error = fetch_fails_with!(env, GithubActionsError::InvalidRequestToken);
    assert!(!format!("{error} {error:?}").contains("PRIVATE"));
    assert_eq!(request_count(&server).await, 0);
}

#[tokio::test]
async fn a_reply_without_a_usable_value_is_an_error() {
    let bodies = [
        ResponseTemplate::new(200).set_body_json(json!({ "count": 1 })),
        ResponseTemplate::new(200).set_body_json(json!({ "value": "" })),
        ResponseTemplate::new(200).set_body_json(json!({ "value": 42 })),
    ];
    for reply in bodies {
        let server = serving(TOKEN_PATH, reply).await;
        let (source, delays) = source_for(&server, OPENAI_AUDIENCE);
        let error = fails_at_once(&source, &server, &delays).await;
        assert!(
            matches!(
                github_error(&error),
                GithubActionsError::Http(HttpError::Malformed { status: 200, .. })
            ),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "github_actions token source failed while reading the oidc token reply: the reply of \
             the github actions token endpoint at 127.0.0.1 is malformed: expected a non-empty \
             string `value`"
        );
    }
}

#[tokio::test]
async fn a_reply_that_is_not_json_is_an_error_without_the_body() {
    let server = serving(
        TOKEN_PATH,
        ResponseTemplate::new(200).set_body_string(TOKEN),
    )
    .await;
    let (source, _) = source_for(&server, OPENAI_AUDIENCE);
    let error = source.fetch().await.expect_err("not json");
    assert!(
        matches!(
            github_error(&error),
            GithubActionsError::Http(HttpError::Malformed { .. })
        ),
        "{error:?}"
    );
    assert_eq!(
        github_error(&error).to_string(),
        "the reply of the github actions token endpoint at 127.0.0.1 is malformed: expected json \
         with a non-empty string `value`"
    );
    assert!(!format!("{error} {error:?}").contains("SECRET"));
}

#[tokio::test]
async fn a_rejected_request_token_says_so() {
    let server = serving(TOKEN_PATH, ResponseTemplate::new(401)).await;
    let (source, _) = source_for(&server, OPENAI_AUDIENCE);
    let error = source.fetch().await.expect_err("401");
    assert_eq!(error.step(), "requesting the oidc token");
    assert_eq!(
        github_error(&error).to_string(),
        "the github actions token endpoint at 127.0.0.1 answered status 401 (the request token \
         was rejected; it is valid only during its own job)"
    );
}

#[tokio::test]
async fn neither_token_nor_request_token_reaches_debug_output_or_error_text() {
    // Error replies that echo both secrets, then a success.
    let echo = json!({ "message": format!("bad {REQUEST_TOKEN} for {TOKEN}") });
    let replies = [
        (ResponseTemplate::new(403).set_body_json(echo.clone()), 1),
        (
            ResponseTemplate::new(200).set_body_json(json!({ "message": echo })),
            1,
        ),
        (token_reply().set_delay(Duration::from_secs(3)), 1),
    ];
    let server = serving_in_turn(TOKEN_PATH, replies, token_reply()).await;
    let (source, _) = source_for(&server, OPENAI_AUDIENCE);
    let source = source
        .with_retry_policy(RetryPolicy::NONE)
        .with_timeout(Duration::from_millis(200));

    // A status failure, a reply without `value`, and a timeout (whose reqwest error is kept).
    for _ in 0..3 {
        let error = source.fetch().await.expect_err("fails");
        for text in renderings(&error) {
            assert!(!text.contains("SECRET"), "{text}");
            assert!(!text.contains("PRIVATE"), "{text}");
            assert!(!text.contains(TOKEN_PATH), "{text}");
        }
    }

    let token = source.fetch().await.expect("token");
    assert_eq!(token.secret().expose_secret(), TOKEN);
    for text in [format!("{token:?}"), format!("{source:?}")] {
        assert!(!text.contains("SECRET"), "{text}");
        assert!(!text.contains("PRIVATE"), "{text}");
    }
}
