//! The built `openai-conn` binary against mocks on 127.0.0.1: the exchange, the API and the
//! metadata endpoints, pointed at by the same environment overrides operators use.

mod support;

use serde_json::{Value, json};
use support::{run_async, text};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SUBJECT: &str = "subject-TOKEN-e2e-0123";
const ACCESS: &str = "access-TOKEN-e2e-4567";
const API_KEY: &str = "sk-KEY-e2e-89ab";

/// An exchange that accepts exactly this subject token and type, and an API that accepts exactly
/// the access token.
async fn exchange_and_api(subject_token_type: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_json(json!({
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": SUBJECT,
            "subject_token_type": subject_token_type,
            "identity_provider_id": "idp-e2e",
            "service_account_id": "sa-e2e",
        })))
        .respond_with(support::granting(ACCESS))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("authorization", format!("Bearer {ACCESS}").as_str()))
        .respond_with(support::model_list())
        .mount(&server)
        .await;
    server
}

fn write_connection(directory: &tempfile::TempDir, extra: Value, base: &str) -> String {
    support::write_connection(
        directory.path(),
        &json!({"conn_type": "openai", "host": format!("{base}/v1"), "extra": extra}),
    )
}

fn workload(provider: &str, more: Value) -> Value {
    let mut extra = json!({
        "auth_type": "workload_identity",
        "workload_identity_provider": provider,
        "identity_provider_id": "idp-e2e",
        "service_account_id": "sa-e2e",
    });
    if let (Some(target), Value::Object(more)) = (extra.as_object_mut(), more) {
        target.extend(more);
    }
    extra
}

/// A Kubernetes workload-identity connection to `server` that also sets [`API_KEY`] as its
/// password and `client_kwargs` as its `openai_client_kwargs`; the subject token file holds
/// [`SUBJECT`].
fn kubernetes_with_api_key(
    directory: &tempfile::TempDir,
    server: &MockServer,
    client_kwargs: Value,
) -> String {
    let token_file = directory.path().join("token");
    std::fs::write(&token_file, SUBJECT).expect("the subject token file can be written");
    support::write_connection(
        directory.path(),
        &json!({
        "conn_type": "openai",
        "host": format!("{}/v1", server.uri()),
        "password": API_KEY,
        "extra": workload("kubernetes", json!({
            "token_file_path": token_file,
            "openai_client_kwargs": client_kwargs,
        })),
        }),
    )
}

fn requests_carry(requests: &[Request], needle: &str) -> bool {
    requests.iter().any(|request| {
        request
            .headers
            .values()
            .any(|value| value.to_str().unwrap_or_default().contains(needle))
            || String::from_utf8_lossy(&request.body).contains(needle)
            || request.url.as_str().contains(needle)
    })
}

/// `token` then `test` for one connection; asserts the outputs and what the mocks received.
async fn token_and_test(server: &MockServer, file: &str, env: Vec<(String, String)>) {
    let mut env = env;
    env.push((
        "OPENAI_TOKEN_EXCHANGE_URL".into(),
        format!("{}/oauth/token", server.uri()),
    ));
    let token = run_async(vec!["token".into(), file.into()], env.clone()).await;
    assert_eq!(token.status.code(), Some(0), "{}", text(&token.stderr));
    let printed: Value = serde_json::from_slice(&token.stdout).expect("token prints JSON");
    assert_eq!(printed["token_type"], "Bearer");
    assert_eq!(printed["access_token"], "[redacted]");
    let expires_in = printed["expires_in"]
        .as_u64()
        .expect("expires_in is a number");
    assert!(expires_in > 3500 && expires_in <= 3600, "{expires_in}");
    assert!(!text(&token.stdout).contains(ACCESS) && !text(&token.stderr).contains(ACCESS));

    let shown = run_async(
        vec!["token".into(), "--show-token".into(), file.into()],
        env.clone(),
    )
    .await;
    assert!(
        text(&shown.stdout).contains(ACCESS),
        "{}",
        text(&shown.stderr)
    );

    let test = run_async(vec!["test".into(), file.into()], env).await;
    assert_eq!(test.status.code(), Some(0), "{}", text(&test.stderr));
    assert_eq!(text(&test.stdout), "Connection established!\n");

    let requests = server.received_requests().await.expect("recording is on");
    let models: Vec<&Request> = requests
        .iter()
        .filter(|r| r.url.path() == "/v1/models")
        .collect();
    assert_eq!(models.len(), 1);
    assert!(
        models
            .iter()
            .all(|r| !requests_carry(&[(*r).clone()], API_KEY))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_token_file_end_to_end() {
    let server = exchange_and_api("urn:ietf:params:oauth:token-type:jwt").await;
    let directory = tempfile::tempdir().expect("temp dir");
    let token_file = directory.path().join("token");
    std::fs::write(&token_file, format!("{SUBJECT}\n")).expect("token file");
    let extra = workload("kubernetes", json!({"token_file_path": token_file}));
    let file = write_connection(&directory, extra, &server.uri());
    token_and_test(&server, &file, vec![]).await;
    let exchanges = server
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .filter(|r| r.url.path() == "/oauth/token")
        .count();
    // One exchange per process: `token`, `token --show-token`, `test`.
    assert_eq!(exchanges, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_token_command_end_to_end() {
    let server = exchange_and_api("urn:ietf:params:oauth:token-type:id_token").await;
    let directory = tempfile::tempdir().expect("temp dir");
    let extra = workload(
        "custom",
        json!({"token_command": ["sh", "-c", format!("printf '{SUBJECT}'")], "token_type": "id"}),
    );
    let file = write_connection(&directory, extra, &server.uri());
    token_and_test(&server, &file, vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_identity_never_sends_a_configured_api_key() {
    let server = exchange_and_api("urn:ietf:params:oauth:token-type:jwt").await;
    let directory = tempfile::tempdir().expect("temp dir");
    let file = kubernetes_with_api_key(&directory, &server, json!({"api_key": API_KEY}));
    let env = vec![
        (
            "OPENAI_TOKEN_EXCHANGE_URL".to_owned(),
            format!("{}/oauth/token", server.uri()),
        ),
        ("OPENAI_API_KEY".to_owned(), API_KEY.to_owned()),
    ];
    let test = run_async(vec!["test".into(), file], env).await;
    assert_eq!(test.status.code(), Some(0), "{}", text(&test.stderr));
    let requests = server.received_requests().await.expect("recording");
    assert!(!requests.is_empty());
    assert!(!requests_carry(&requests, API_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_from_password_kwargs_and_env() {
    let server = MockServer::start().await;
    for key in ["sk-from-kwargs", "sk-from-password", "sk-from-env"] {
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .and(header("authorization", format!("Bearer {key}").as_str()))
            .respond_with(support::model_list())
            .expect(1)
            .mount(&server)
            .await;
    }
    let directory = tempfile::tempdir().expect("temp dir");
    let cases = [
        (
            json!({"host": format!("{}/v1", server.uri()), "password": "sk-from-password", "extra": {"openai_client_kwargs": {"api_key": "sk-from-kwargs"}}}),
            vec![],
        ),
        (
            json!({"host": format!("{}/v1", server.uri()), "password": "sk-from-password", "extra": {}}),
            vec![],
        ),
        (
            json!({"host": format!("{}/v1", server.uri()), "extra": {}}),
            vec![("OPENAI_API_KEY".to_owned(), "sk-from-env".to_owned())],
        ),
    ];
    for (index, (document, env)) in cases.into_iter().enumerate() {
        let path = directory.path().join(format!("conn-{index}.json"));
        let mut document = document;
        document["conn_type"] = json!("openai");
        std::fs::write(&path, document.to_string()).expect("write");
        let test = run_async(
            vec!["test".into(), path.to_str().expect("utf-8").into()],
            env,
        )
        .await;
        assert_eq!(
            test.status.code(),
            Some(0),
            "case {index}: {}",
            text(&test.stderr)
        );
    }
    // Each key was seen exactly once (the `expect(1)`s are verified when the server drops).
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exchange_oauth_error_is_one_line_and_exit_1() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "No service account mapping found for the provided service_account_id.",
        })))
        .mount(&server)
        .await;
    let directory = tempfile::tempdir().expect("temp dir");
    let token_file = directory.path().join("token");
    std::fs::write(&token_file, SUBJECT).expect("token file");
    let file = write_connection(
        &directory,
        workload("kubernetes", json!({"token_file_path": token_file})),
        &server.uri(),
    );
    let env = vec![(
        "OPENAI_TOKEN_EXCHANGE_URL".to_owned(),
        format!("{}/oauth/token", server.uri()),
    )];
    let token = run_async(vec!["token".into(), file], env).await;
    assert_eq!(token.status.code(), Some(1));
    assert_eq!(
        text(&token.stderr),
        "oauth error invalid_grant (401): No service account mapping found for the provided service_account_id.\n"
    );
    assert!(token.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_reports_an_api_failure_and_exits_1() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(query_param("x", "1"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}})))
        .mount(&server)
        .await;
    let directory = tempfile::tempdir().expect("temp dir");
    let file = support::write_connection(
        directory.path(),
        &json!({"conn_type": "openai", "host": format!("{}/v1", server.uri()), "password": API_KEY}),
    );
    let test = run_async(vec!["test".into(), file], vec![]).await;
    assert_eq!(test.status.code(), Some(1));
    let stderr = text(&test.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("Incorrect API key provided"), "{stderr}");
    assert!(!stderr.contains(API_KEY) && !text(&test.stdout).contains(API_KEY));
}

/// Every subcommand at `RUST_LOG=trace`: no subject token, access token or API key in any output,
/// except the access token printed on purpose by `token --show-token`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_output_even_at_trace_level() {
    let server = exchange_and_api("urn:ietf:params:oauth:token-type:jwt").await;
    let directory = tempfile::tempdir().expect("temp dir");
    let file = kubernetes_with_api_key(
        &directory,
        &server,
        json!({"api_key": API_KEY, "default_headers": {"X-Secret": API_KEY}}),
    );
    let env = vec![
        ("RUST_LOG".to_owned(), "trace".to_owned()),
        (
            "OPENAI_TOKEN_EXCHANGE_URL".to_owned(),
            format!("{}/oauth/token", server.uri()),
        ),
        ("OPENAI_API_KEY".to_owned(), API_KEY.to_owned()),
    ];
    let mut saw_trace = false;
    for args in [
        vec!["validate", &file],
        vec!["validate", "--format", "json", &file],
        vec!["plan", &file],
        vec!["plan", "--format", "human", &file],
        vec!["token", &file],
        vec!["test", &file],
        vec!["doctor", &file],
        vec!["doctor", "--format", "json", &file],
    ] {
        let output = run_async(
            args.iter().map(|arg| (*arg).to_owned()).collect(),
            env.clone(),
        )
        .await;
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        saw_trace |= stderr.contains("TRACE");
        for secret in [SUBJECT, ACCESS, API_KEY] {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "{args:?} leaked {secret}:\n{stdout}\n{stderr}"
            );
        }
    }
    assert!(
        saw_trace,
        "RUST_LOG=trace produced no trace output, so the test proves nothing"
    );
    let shown = run_async(vec!["token".into(), "--show-token".into(), file], env).await;
    assert!(text(&shown.stdout).contains(ACCESS));
    assert!(!text(&shown.stderr).contains(ACCESS) && !text(&shown.stdout).contains(SUBJECT));
}

/// A mock metadata endpoint answering `body` to a GET of `route` that carries what it must
/// receive: the query parameters and headers, as (name, value) pairs.
async fn metadata_mock(
    server: &MockServer,
    route: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: ResponseTemplate,
) {
    let mut mock = Mock::given(method("GET")).and(path(route));
    for (name, value) in query {
        mock = mock.and(query_param(*name, *value));
    }
    for (name, value) in headers {
        mock = mock.and(header(*name, *value));
    }
    mock.respond_with(body).mount(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_imds_end_to_end() {
    let server = exchange_and_api("urn:ietf:params:oauth:token-type:jwt").await;
    metadata_mock(
        &server,
        "/metadata/identity/oauth2/token",
        &[
            ("api-version", "2018-02-01"),
            ("resource", "https://management.azure.com/"),
            ("client_id", "cid-e2e"),
        ],
        &[],
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": SUBJECT, "expires_in": "86399"})),
    )
    .await;
    let directory = tempfile::tempdir().expect("temp dir");
    let file = write_connection(
        &directory,
        workload("azure", json!({"client_id": "cid-e2e"})),
        &server.uri(),
    );
    token_and_test(
        &server,
        &file,
        vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST".into(), server.uri())],
    )
    .await;
    let requests = server.received_requests().await.expect("recording");
    let imds: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/metadata/identity/oauth2/token")
        .collect();
    assert_eq!(imds.len(), 3);
    assert!(
        imds.iter()
            .all(|r| r.headers.get("metadata").is_some_and(|v| v == "true"))
    );
}

/// [`token_and_test`] for a connection whose source is `provider` with its defaults, the source
/// pointed at `server` by `env`.
async fn source_end_to_end(server: &MockServer, provider: &str, env: &[(&str, String)]) {
    let directory = tempfile::tempdir().expect("a temporary directory can be made");
    let file = write_connection(&directory, workload(provider, json!({})), &server.uri());
    let env = env
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect();
    token_and_test(server, &file, env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_app_service_end_to_end() {
    let server = exchange_and_api("urn:ietf:params:oauth:token-type:jwt").await;
    let identity_header = "app-service-header-SECRET";
    metadata_mock(
        &server,
        "/msi/token",
        &[("api-version", "2019-08-01")],
        &[("x-identity-header", identity_header)],
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": SUBJECT, "expires_on": "1700000000"})),
    )
    .await;
    let env = [
        ("IDENTITY_ENDPOINT", format!("{}/msi/token", server.uri())),
        ("IDENTITY_HEADER", identity_header.to_owned()),
    ];
    source_end_to_end(&server, "azure", &env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcp_metadata_end_to_end() {
    let server = exchange_and_api("urn:ietf:params:oauth:token-type:id_token").await;
    metadata_mock(
        &server,
        "/computeMetadata/v1/instance/service-accounts/default/identity",
        &[("audience", "https://api.openai.com/v1")],
        &[("Metadata-Flavor", "Google")],
        ResponseTemplate::new(200).set_body_string(format!("{SUBJECT}\n")),
    )
    .await;
    let host = server.uri().trim_start_matches("http://").to_owned();
    source_end_to_end(&server, "gcp", &[("GCE_METADATA_HOST", host)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_actions_oidc_end_to_end() {
    let server = exchange_and_api("urn:ietf:params:oauth:token-type:jwt").await;
    let request_token = "actions-request-SECRET";
    let bearer = format!("Bearer {request_token}");
    metadata_mock(
        &server,
        "/_apis/idtoken",
        &[
            ("api-version", "2.0"),
            ("audience", "https://api.openai.com/v1"),
        ],
        &[("authorization", bearer.as_str())],
        ResponseTemplate::new(200).set_body_json(json!({"value": SUBJECT})),
    )
    .await;
    let env = [
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{}/_apis/idtoken?api-version=2.0", server.uri()),
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token.to_owned()),
    ];
    source_end_to_end(&server, "github_actions", &env).await;
}

/// `token` never calls the API, so a plain-http base to another host can be named without any
/// traffic leaving this machine: the warning is on standard error, the token still comes.
#[tokio::test]
async fn token_warns_when_the_api_base_is_plain_http_to_another_host() {
    let server = exchange_and_api("urn:ietf:params:oauth:token-type:jwt").await;
    let directory = tempfile::tempdir().expect("temp dir");
    let token_file = directory.path().join("token");
    std::fs::write(&token_file, format!("{SUBJECT}\n")).expect("token file");
    let env = vec![(
        "OPENAI_TOKEN_EXCHANGE_URL".to_owned(),
        format!("{}/oauth/token", server.uri()),
    )];
    let extra = workload("kubernetes", json!({"token_file_path": token_file}));

    let remote = write_connection(&directory, extra.clone(), "http://api.example.com");
    let token = run_async(vec!["token".into(), remote], env.clone()).await;
    assert_eq!(token.status.code(), Some(0), "{}", text(&token.stderr));
    assert!(
        text(&token.stderr).contains(
            "openai-conn: warning: the api base http://api.example.com/v1 (from the connection \
             host) is plain http to a host other than this machine"
        ),
        "{}",
        text(&token.stderr)
    );

    // The mock's own base is loopback: plain http there is a local test server, not a warning.
    let local = write_connection(&directory, extra, &server.uri());
    let token = run_async(vec!["token".into(), local], env).await;
    assert_eq!(token.status.code(), Some(0), "{}", text(&token.stderr));
    assert!(
        !text(&token.stderr).contains("plain http"),
        "{}",
        text(&token.stderr)
    );
}
