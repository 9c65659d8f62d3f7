//! X.509 workload identity through the built binary: `token`, `test` and `plan` against a
//! mutual-TLS server on 127.0.0.1, a refused certificate, a missing key, and no key material in
//! any output, even at `RUST_LOG=trace`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::routing::{get, post};
use axum::{Json, Router};
use providers_x509::testing::{ClientFiles, MtlsServer, TestCa};
use serde_json::{Value, json};
use support::{run_async, text};

const ACCESS: &str = "access-TOKEN-x509-e2e";

fn router(exchanges: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route(
            "/oauth/token",
            post(move |Json(body): Json<Value>| {
                let exchanges = Arc::clone(&exchanges);
                async move {
                    exchanges.fetch_add(1, Ordering::SeqCst);
                    assert_eq!(
                        body,
                        json!({
                            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                            "subject_token_type": "urn:openai:params:oauth:token-type:x509",
                            "identity_provider_id": "idp-e2e",
                            "service_account_id": "sa-e2e",
                        })
                    );
                    Json(
                        json!({"access_token": ACCESS, "token_type": "Bearer", "expires_in": 3600}),
                    )
                }
            }),
        )
        .route(
            "/v1/models",
            get(|| async { Json(json!({"object": "list", "data": []})) }),
        )
}

struct Setup {
    directory: tempfile::TempDir,
    server: MtlsServer,
    exchanges: Arc<AtomicUsize>,
    files: ClientFiles,
}

async fn setup() -> Setup {
    let directory = tempfile::tempdir().expect("a temporary directory can be made");
    let ca = TestCa::new("e2e ca");
    let exchanges = Arc::new(AtomicUsize::new(0));
    let server = MtlsServer::start(router(Arc::clone(&exchanges)), &ca.server(), &[&ca]).await;
    Setup {
        files: ca.client_files(directory.path(), "workload"),
        directory,
        server,
        exchanges,
    }
}

impl Setup {
    fn connection(&self, host: Option<String>) -> String {
        let document = json!({
            "conn_type": "openai",
            "host": host,
            "extra": {
                "auth_type": "workload_identity",
                "workload_identity_provider": "x509",
                "identity_provider_id": "idp-e2e",
                "service_account_id": "sa-e2e",
                "certificate_path": ClientFiles::text(&self.files.certificate_path),
                "private_key_path": ClientFiles::text(&self.files.private_key_path),
                "ca_bundle_path": ClientFiles::text(&self.files.ca_bundle_path),
            }
        });
        support::write_connection(self.directory.path(), &document)
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![(
            "OPENAI_TOKEN_EXCHANGE_URL".to_owned(),
            self.server.url("/oauth/token"),
        )]
    }

    fn key_body(&self) -> String {
        self.files
            .client
            .key_pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect()
    }
}

#[tokio::test]
async fn token_and_test_work_over_mutual_tls() {
    let setup = setup().await;
    let file = setup.connection(Some(setup.server.url("/v1")));

    let output = run_async(vec!["token".into(), file.clone()], setup.env()).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let printed: Value =
        serde_json::from_slice(&output.stdout).expect("standard output is one JSON document");
    assert_eq!(printed["access_token"], "[redacted]");
    assert_eq!(printed["token_type"], "Bearer");

    let output = run_async(vec!["test".into(), file], setup.env()).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), "Connection established!");
    assert_eq!(setup.exchanges.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn plan_shows_the_paths_and_the_mtls_defaults_never_the_contents() {
    let setup = setup().await;
    let file = setup.connection(None);
    let output = run_async(vec!["plan".into(), file], Vec::new()).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let plan: Value =
        serde_json::from_slice(&output.stdout).expect("standard output is one JSON document");
    assert_eq!(plan["base_url"], "https://mtls.api.openai.com/v1");
    assert_eq!(plan["base_url_source"], "the default");
    let workload = &plan["workload_identity"];
    assert_eq!(workload["provider"], "x509");
    assert_eq!(
        workload["subject_token_type"],
        "urn:openai:params:oauth:token-type:x509"
    );
    for (key, path) in [
        ("certificate_path", &setup.files.certificate_path),
        ("private_key_path", &setup.files.private_key_path),
        ("ca_bundle_path", &setup.files.ca_bundle_path),
    ] {
        assert_eq!(workload[key], ClientFiles::text(path).as_str(), "{key}");
    }
    assert_eq!(
        workload["token_exchange_url"],
        "https://mtls.auth.openai.com/oauth/token"
    );
    assert!(!text(&output.stdout).contains(&setup.key_body()[..24]));
    assert!(!text(&output.stdout).contains("BEGIN"));
    assert_eq!(setup.exchanges.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_refused_certificate_and_a_missing_key_are_clear_errors() {
    let setup = setup().await;
    let file = setup.connection(Some(setup.server.url("/v1")));
    TestCa::new("stranger ca")
        .client("intruder")
        .write_to(&setup.files.certificate_path, &setup.files.private_key_path);
    let output = run_async(vec!["token".into(), file.clone()], setup.env()).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("refused the client certificate"),
        "{stderr}"
    );
    assert!(stderr.contains("unknown_ca"), "{stderr}");
    assert!(
        stderr.contains(&ClientFiles::text(&setup.files.certificate_path)),
        "{stderr}"
    );

    std::fs::remove_file(&setup.files.private_key_path).expect("the file can be removed");
    let output = run_async(vec!["test".into(), file], setup.env()).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "private_key_path {:?} does not exist",
            ClientFiles::text(&setup.files.private_key_path)
        )),
        "{stderr}"
    );
    assert_eq!(setup.exchanges.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn no_key_material_at_trace_level() {
    let setup = setup().await;
    let file = setup.connection(Some(setup.server.url("/v1")));
    let mut env = setup.env();
    env.push(("RUST_LOG".to_owned(), "trace".to_owned()));
    for subcommand in ["token", "test", "plan"] {
        let output = run_async(vec![subcommand.into(), file.clone()], env.clone()).await;
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
        let body = setup.key_body();
        for chunk in body.as_bytes().chunks(20) {
            let chunk = std::str::from_utf8(chunk).expect("the chunk is UTF-8 (PEM is ASCII)");
            assert!(!all.contains(chunk), "{subcommand} printed key material");
        }
        assert!(
            !all.contains(ACCESS),
            "{subcommand} printed the access token"
        );
    }
}
