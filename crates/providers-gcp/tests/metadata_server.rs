//! The GCP metadata-server source against a real HTTP server on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use providers_core::{Env, MapEnv, RetryPolicy, SourceError, SubjectTokenSource, TokenType};
use providers_gcp::HttpSource;
use providers_gcp::{
    DEFAULT_RETRY_POLICY, GcpError, GcpSource, HttpError, IDENTITY_PATH, SourceHttpError,
};
use providers_http::conformance::{
    assert_failed_at, cause_of, exact_request, fails_at_once, fetch_once, renderings,
    request_count, serving, serving_in_turn, sleeping_on_record,
};
use secrecy::ExposeSecret;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.gcp-identity-SECRET.sig";
const OPENAI_AUDIENCE: &str = "https://api.openai.com/v1";

/// The metadata server's `host:port` as `GCE_METADATA_HOST` holds it.
fn host_of(server: &MockServer) -> String {
    server.address().to_string()
}

/// A source aimed at `server` through `GCE_METADATA_HOST`, with the default retry policy and a
/// recording sleep (so backoff is observed, never waited for).
fn source_for(server: &MockServer, audience: &str) -> (GcpSource, Arc<Mutex<Vec<Duration>>>) {
    let env = MapEnv::new().with("GCE_METADATA_HOST", host_of(server));
    sleeping_on_record(GcpSource::new(audience, Arc::new(env)).expect("the client builds"))
}

/// The metadata server's reply: the identity token is the body.
fn token_body(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(body)
}

fn gcp_error(error: &SourceError) -> &GcpError {
    cause_of(error, "gcp")
}

#[tokio::test]
async fn request_is_exact_and_the_token_is_the_trimmed_body() {
    let server = MockServer::start().await;
    let exact = Mock::given(method("GET"))
        .and(path(IDENTITY_PATH))
        .and(query_param("audience", OPENAI_AUDIENCE))
        .and(header("Metadata-Flavor", "Google"))
        .respond_with(token_body(&format!("  {TOKEN}\n\n")));
    let (source, delays) = source_for(&server, OPENAI_AUDIENCE);

    let request = exact_request(&server, exact, &source, &delays, TOKEN, TokenType::Id).await;
    assert_eq!(GcpSource::TOKEN_TYPE, TokenType::Id);
    assert_eq!(
        request
            .headers
            .get("metadata-flavor")
            .and_then(|v| v.to_str().ok()),
        Some("Google")
    );
    assert!(request.headers.get("authorization").is_none());
}

/// The audience, the default one as a configured one, is the only query parameter, and it is
/// url-encoded on the wire.
#[tokio::test]
async fn the_default_and_a_configured_audience_are_sent_url_encoded() {
    let audiences = [
        (
            OPENAI_AUDIENCE,
            "audience=https%3A%2F%2Fapi.openai.com%2Fv1",
        ),
        (
            "api://openai wi/?team=a&b",
            "audience=api%3A%2F%2Fopenai+wi%2F%3Fteam%3Da%26b",
        ),
    ];
    for (audience, query) in audiences {
        let server = serving(IDENTITY_PATH, token_body(TOKEN)).await;
        let (source, _) = source_for(&server, audience);
        assert_eq!(source.audience(), audience);

        let request = fetch_once(&source, &server, TOKEN, TokenType::Id).await;
        assert_eq!(request.url.query(), Some(query), "{audience}");
    }
}

/// An environment whose `GCE_METADATA_HOST` the test can change between fetches.
#[derive(Debug)]
struct SwitchableEnv(Mutex<String>);

impl Env for SwitchableEnv {
    fn var(&self, name: &str) -> Option<String> {
        (name == "GCE_METADATA_HOST").then(|| self.0.lock().expect("not poisoned").clone())
    }

    fn vars(&self) -> Vec<(String, String)> {
        vec![(
            "GCE_METADATA_HOST".to_owned(),
            self.0.lock().expect("not poisoned").clone(),
        )]
    }
}

#[tokio::test]
async fn gce_metadata_host_is_read_at_every_fetch() {
    let first = MockServer::start().await;
    let second = MockServer::start().await;
    for (server, body) in [(&first, "eyJ.first"), (&second, "eyJ.second")] {
        Mock::given(path(IDENTITY_PATH))
            .respond_with(token_body(body))
            .expect(1)
            .mount(server)
            .await;
    }
    let env = Arc::new(SwitchableEnv(Mutex::new(host_of(&first))));
    let source = GcpSource::new(OPENAI_AUDIENCE, env.clone()).expect("the client builds");

    let token = source.fetch().await.expect("first token");
    assert_eq!(token.secret().expose_secret(), "eyJ.first");
    *env.0.lock().expect("not poisoned") = host_of(&second);
    let token = source.fetch().await.expect("second token");
    assert_eq!(token.secret().expose_secret(), "eyJ.second");
}

#[tokio::test]
async fn an_invalid_gce_metadata_host_fails_before_any_request() {
    let server = MockServer::start().await;
    let value = format!("http://{}", host_of(&server));
    let env = MapEnv::new().with("GCE_METADATA_HOST", value.clone());
    let source = GcpSource::new(OPENAI_AUDIENCE, Arc::new(env)).expect("the client builds");

    let error = source.fetch().await.expect_err("rejected");
    assert_failed_at(&error, "reading GCE_METADATA_HOST", false);
    assert!(
        matches!(gcp_error(&error), GcpError::InvalidMetadataHost { value: v } if *v == value),
        "{error:?}"
    );
    assert_eq!(
        gcp_error(&error).to_string(),
        format!(
            "GCE_METADATA_HOST {value:?} is not a valid metadata server address: expected host or \
             host:port without a scheme or path"
        )
    );
    assert_eq!(request_count(&server).await, 0);
}

/// Bodies the source cannot read a token from, each with what the error says it expected.
const UNREADABLE_BODIES: [(&[u8], &str); 3] = [
    (b"", "a non-empty identity token"),
    (b" \n\t ", "a non-empty identity token"),
    (&[0xff, 0xfe, b'e', b'y'], "an identity token in utf-8"),
];

#[tokio::test]
async fn an_empty_blank_or_non_utf8_body_is_an_error_and_not_retried() {
    for (body, expected) in UNREADABLE_BODIES {
        let server = serving(
            IDENTITY_PATH,
            ResponseTemplate::new(200).set_body_bytes(body),
        )
        .await;
        let (source, delays) = source_for(&server, OPENAI_AUDIENCE);

        let error = fails_at_once(&source, &server, &delays).await;
        assert!(
            matches!(
                gcp_error(&error),
                GcpError::Http(HttpError::Malformed { status: 200, expected: said, .. })
                    if *said == expected
            ),
            "body {body:?}: {error:?}"
        );
        assert_failed_at(&error, "reading the metadata server reply", false);
        let cause = format!(
            "the reply of the metadata server at {} is malformed: expected {expected}",
            host_of(&server)
        );
        assert_eq!(gcp_error(&error).to_string(), cause, "body {body:?}");
        assert_eq!(
            error.to_string(),
            format!("gcp token source failed while reading the metadata server reply: {cause}"),
            "body {body:?}"
        );
    }
}

#[tokio::test]
async fn retryable_statuses_are_retried_four_times() {
    for status in [408, 429, 500, 503, 504] {
        let server = serving(IDENTITY_PATH, ResponseTemplate::new(status)).await;
        let (source, _) = source_for(&server, OPENAI_AUDIENCE);
        let source = source.with_retry_policy(DEFAULT_RETRY_POLICY.without_delays());

        let error = source.fetch().await.expect_err("gives up");
        assert_eq!(gcp_error(&error).status(), Some(status));
        assert!(error.is_transient(), "{status}");
        assert_eq!(request_count(&server).await, 5, "{status}");
    }
}

#[tokio::test]
async fn a_404_says_what_is_probably_wrong() {
    let server = serving(IDENTITY_PATH, ResponseTemplate::new(404)).await;
    let (source, _) = source_for(&server, OPENAI_AUDIENCE);
    let error = source.fetch().await.expect_err("fails");
    assert_eq!(
        gcp_error(&error).to_string(),
        format!(
            "the metadata server at {} answered status 404 (not found: the instance may have no \
             default service account, or this is not a google cloud metadata server)",
            host_of(&server)
        )
    );
}

#[tokio::test]
async fn no_token_or_body_reaches_debug_output_or_error_text() {
    // An error reply that echoes the token, then a success.
    let denied = ResponseTemplate::new(403).set_body_string(format!("denied for token {TOKEN}"));
    let success = token_body(TOKEN);
    let server = serving_in_turn(IDENTITY_PATH, [(denied, 1)], success).await;
    let (source, _) = source_for(&server, OPENAI_AUDIENCE);

    let error = source.fetch().await.expect_err("403");
    for text in renderings(&error) {
        assert!(!text.contains("SECRET"), "{text}");
        assert!(!text.contains("denied for token"), "{text}");
    }

    let token = source.fetch().await.expect("token");
    assert_eq!(token.secret().expose_secret(), TOKEN);
    assert!(!format!("{token:?}").contains("SECRET"));
    assert!(!format!("{source:?}").contains("SECRET"));
}

#[tokio::test]
async fn transport_errors_carry_no_url() {
    let server = serving(
        IDENTITY_PATH,
        ResponseTemplate::new(200).set_delay(Duration::from_secs(3)),
    )
    .await;
    let (source, _) = source_for(&server, "https://audience.example/SECRET-AUDIENCE");
    let source = source
        .with_retry_policy(RetryPolicy::NONE)
        .with_timeout(Duration::from_millis(200));
    let error = source.fetch().await.expect_err("times out");
    for text in renderings(&error) {
        assert!(!text.contains("SECRET-AUDIENCE"), "{text}");
        assert!(!text.contains(IDENTITY_PATH), "{text}");
    }
}
