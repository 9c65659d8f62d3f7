//! `openai-conn doctor` as a process: exit codes, the JSON document, and a proxy named by the
//! environment, against loopback servers. (The diagnosis itself is tested in
//! `crates/doctor/tests`; its output at `RUST_LOG=trace` in `e2e_cli.rs`.)

mod support;

use serde_json::{Value, json};
use support::{run_async, text};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SUBJECT: &str = "subject-TOKEN-doctor-0123";
const ACCESS: &str = "access-TOKEN-doctor-4567";

struct Setup {
    server: MockServer,
    directory: tempfile::TempDir,
    file: String,
}

async fn setup(exchange: ResponseTemplate) -> Setup {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(exchange)
        .mount(&server)
        .await;
    support::serve_models(&server).await;
    let directory = tempfile::tempdir().expect("temp dir");
    let token = directory.path().join("token");
    std::fs::write(&token, SUBJECT).expect("token");
    let file = support::write_connection(
        directory.path(),
        &json!({
        "conn_type": "openai",
        "host": format!("{}/v1", server.uri()),
        "extra": {
            "auth_type": "workload_identity",
            "workload_identity_provider": "kubernetes",
            "identity_provider_id": "idp-doctor",
            "service_account_id": "sa-doctor",
            "token_file_path": token,
        }
        }),
    );
    Setup {
        server,
        directory,
        file,
    }
}

/// An exchange reply that grants [`ACCESS`].
fn granted() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"access_token": ACCESS, "expires_in": 3600}))
}

fn exchange_env(server: &MockServer) -> Vec<(String, String)> {
    vec![(
        "OPENAI_TOKEN_EXCHANGE_URL".to_owned(),
        format!("{}/oauth/token", server.uri()),
    )]
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|arg| (*arg).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_0_with_the_json_document_when_every_step_passes() {
    let setup = setup(granted()).await;
    let output = run_async(
        args(&["doctor", "--format", "json", &setup.file]),
        exchange_env(&setup.server),
    )
    .await;
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        text(&output.stderr)
    );
    let document: Value = serde_json::from_str(&stdout).expect("one json document");
    assert_eq!(document["conn_id"], "conn");
    assert_eq!(document["ok"], true);
    let statuses = support::texts_at(&document["steps"], "status");
    assert_eq!(statuses, ["ok", "ok", "ok", "ok", "ok", "ok", "ok"]);
    assert_eq!(
        document["steps"][4]["facts"]["format"], "opaque",
        "a token that is not a JWT is opaque"
    );
    assert!(
        !stdout.contains(SUBJECT) && !stdout.contains(ACCESS),
        "{stdout}"
    );
    let _ = &setup.directory;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_1_when_a_step_fails_and_2_for_usage_or_unreadable_input() {
    let setup = setup(ResponseTemplate::new(401).set_body_json(json!({
        "error": "invalid_grant",
        "error_description": "No service account mapping found for the provided service_account_id."
    })))
    .await;
    let output = run_async(args(&["doctor", &setup.file]), exchange_env(&setup.server)).await;
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("fail[no-service-account-mapping]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[skipped] api: no access token"),
        "{stdout}"
    );

    // --no-exchange stops before the refused exchange: nothing failed.
    let output = run_async(
        args(&["doctor", "--no-exchange", &setup.file]),
        exchange_env(&setup.server),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));

    let missing = setup.directory.path().join("missing.json");
    let output = run_async(
        args(&["doctor", missing.to_str().expect("utf-8")]),
        Vec::new(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let output = run_async(args(&["doctor"]), Vec::new()).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_refuses_is_named() {
    let setup = setup(granted()).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let proxy = format!(
        "http://{}",
        closed.local_addr().expect("the port's address")
    );
    drop(closed);
    // A request to this machine never goes through a proxy, so the exchange is named by a host
    // only the proxy would resolve (`.invalid` never resolves); the proxy on loopback refuses the
    // connection, so nothing leaves the machine.
    let env = vec![
        (
            "OPENAI_TOKEN_EXCHANGE_URL".to_owned(),
            "https://exchange.invalid/oauth/token".to_owned(),
        ),
        ("HTTPS_PROXY".to_owned(), proxy),
        ("NO_PROXY".to_owned(), String::new()),
    ];
    let output = run_async(args(&["doctor", "--no-api", &setup.file]), env).await;
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("fail[exchange-proxy]"), "{stdout}");
}
