//! The diagnosis against loopback servers, one test per provider and per cause the issue lists,
//! on a fixed clock; the human output of the main cases is snapshotted.

mod support;

use openai_conn_doctor::{Status, StepId};
use providers_gcp::HttpSource;
use serde_json::json;
use support::*;
use wiremock::ResponseTemplate;

#[tokio::test]
async fn kubernetes_all_steps_ok() {
    let case = Case::answering().await;
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    assert_eq!(
        statuses(&report),
        [
            "load=ok",
            "resolve=ok",
            "environment=ok",
            "subject-token=ok",
            "token-claims=ok",
            "exchange=ok",
            "api=ok"
        ]
    );
    assert!(report.ok);
    let claims = report.step(StepId::TokenClaims).expect("claims");
    assert_eq!(claims.facts["iss"], ISSUER);
    assert_eq!(claims.facts["exp"]["utc"], "2026-12-06T03:38:20Z");
    assert_eq!(claims.facts["exp"]["relative"], "in 58m 20s");
    assert_eq!(claims.facts["header"]["kid"], "key-1");
    let exchange = report.step(StepId::Exchange).expect("exchange");
    assert_eq!(exchange.facts["clock_offset_s"], 0);
    insta::assert_snapshot!(human(&case, &report));
}

#[tokio::test]
async fn the_json_document_has_the_contract_fields() {
    let case = Case::answering().await;
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    let document = report.to_json();
    assert_eq!(document["conn_id"], "conn");
    assert_eq!(document["ok"], true);
    let ids: Vec<&str> = document["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|step| {
            for key in ["id", "status", "took_ms", "facts", "hints"] {
                assert!(step.get(key).is_some(), "{key} missing in {step}");
            }
            step["id"].as_str().expect("id")
        })
        .collect();
    assert_eq!(
        ids,
        [
            "load",
            "resolve",
            "environment",
            "subject-token",
            "token-claims",
            "exchange",
            "api"
        ]
    );
}

#[tokio::test]
async fn no_service_account_mapping_names_the_claims_and_the_ids() {
    let case = Case::new().await;
    case.mount_exchange(
        ResponseTemplate::new(401)
            .insert_header("x-request-id", "req_abc123")
            .set_body_json(json!({
                "error": "invalid_grant",
                "error_description": "No service account mapping found for the provided service_account_id."
            })),
    )
    .await;
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    assert!(!report.ok);
    let text = message(&report, StepId::Exchange, "no-service-account-mapping");
    for expected in [
        ISSUER,
        "system:serviceaccount:jobs:trainer",
        "api://openai",
        "idp-123",
        "sa-456",
        "mapping",
        "req_abc123",
    ] {
        assert!(text.contains(expected), "{expected} missing: {text}");
    }
    let exchange = report.step(StepId::Exchange).expect("exchange");
    assert_eq!(exchange.facts["request_id"], "req_abc123");
    assert_eq!(exchange.facts["status"], 401);
    let api = report.step(StepId::Api).expect("api");
    assert_eq!(api.status, Status::Skipped);
    assert_eq!(case.requests("/v1/models").await, 0);
    insta::assert_snapshot!(human(&case, &report));
}

#[tokio::test]
async fn invalid_subject_token_says_openai_could_not_verify_it() {
    let case = Case::new().await;
    case.mount_exchange(ResponseTemplate::new(400).set_body_json(
        json!({"error": "invalid_subject_token", "error_description": "could not verify"}),
    ))
    .await;
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    let text = message(&report, StepId::Exchange, "invalid-subject-token");
    assert!(text.contains("JWKS") && text.contains("issuer"), "{text}");
}

#[tokio::test]
async fn another_invalid_grant_is_its_own_hint() {
    let case = Case::new().await;
    case.mount_exchange(
        ResponseTemplate::new(400)
            .set_body_json(json!({"error": "invalid_grant", "error_description": "token too old"})),
    )
    .await;
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    assert_eq!(codes(&report, StepId::Exchange), ["invalid-grant"]);
}

#[tokio::test]
async fn an_expired_token_fails_its_claims_and_the_exchange_still_runs() {
    let case = Case::answering().await;
    let token = jwt(json!({"iat": NOW - 7200, "nbf": NOW - 7200, "exp": NOW - 3600}));
    let report = case.run(case.kubernetes(&token, json!({}))).await;
    assert_eq!(codes(&report, StepId::TokenClaims), ["token-expired"]);
    let text = message(&report, StepId::TokenClaims, "token-expired");
    assert!(
        text.contains("2026-12-06T01:40:00Z") && text.contains("1h 0m ago"),
        "{text}"
    );
    assert_failed_though_passed(&report, StepId::Exchange);
}

#[tokio::test]
async fn a_token_not_valid_yet_gives_the_skew() {
    let case = Case::answering().await;
    let token = jwt(json!({"iat": NOW + 300, "nbf": NOW + 300, "exp": NOW + 3900}));
    let report = case.run(case.kubernetes(&token, json!({}))).await;
    let text = message(&report, StepId::TokenClaims, "token-not-yet-valid");
    assert!(text.contains("5m 0s behind"), "{text}");
}

#[tokio::test]
async fn the_default_service_account_token_is_named_by_its_audience() {
    let case = Case::answering().await;
    let token = jwt(json!({
        "iss": "https://kubernetes.default.svc.cluster.local",
        "aud": ["https://kubernetes.default.svc.cluster.local"],
    }));
    let report = case.run(case.kubernetes(&token, json!({}))).await;
    assert_eq!(
        codes(&report, StepId::TokenClaims),
        ["audience-kubernetes-api-server"]
    );
    assert!(report.ok, "a warning does not fail the run");
}

#[tokio::test]
async fn an_issuer_that_is_not_https_is_a_warning() {
    let case = Case::answering().await;
    let token = jwt(json!({"iss": "http://issuer.internal"}));
    let report = case.run(case.kubernetes(&token, json!({}))).await;
    assert_eq!(codes(&report, StepId::TokenClaims), ["issuer-not-https"]);
}

#[tokio::test]
async fn the_server_clock_past_sixty_seconds_is_a_warning() {
    let case = Case::new().await;
    // Five minutes after the fixed clock.
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(granting(3600).insert_header("date", "Sun, 06 Dec 2026 02:45:00 GMT"))
        .mount(&case.server)
        .await;
    case.mount_api(model_list()).await;
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    assert_eq!(codes(&report, StepId::Exchange), ["clock-skew"]);
    let text = message(&report, StepId::Exchange, "clock-skew");
    assert!(text.contains("5m 0s behind"), "{text}");
    assert_eq!(
        report.step(StepId::Exchange).expect("exchange").facts["clock_offset_s"],
        300
    );
}

#[tokio::test]
async fn a_lifetime_within_the_refresh_buffer_is_a_warning() {
    let case = Case::new().await;
    case.mount_exchange(granting(600)).await;
    case.mount_api(model_list()).await;
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    assert_eq!(
        codes(&report, StepId::Exchange),
        ["lifetime-below-refresh-buffer"]
    );
}

#[tokio::test]
async fn exchange_5xx_timeouts_and_refusals_each_get_their_hint() {
    // 503 on every attempt.
    let case = Case::new().await;
    case.mount_exchange(ResponseTemplate::new(503)).await;
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    assert_eq!(codes(&report, StepId::Exchange), ["exchange-server-error"]);
    assert_eq!(case.requests("/oauth/token").await, 3, "the usual retries");

    // A refused connection: a port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let case = Case::new().await.with_env(
        "OPENAI_TOKEN_EXCHANGE_URL",
        format!("http://127.0.0.1:{port}/oauth/token"),
    );
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    assert_eq!(codes(&report, StepId::Exchange), ["exchange-unreachable"]);

    // TLS to a server that speaks plain HTTP.
    let case = Case::new().await;
    let url = format!("https://{}/oauth/token", case.server.address());
    let case = case.with_env("OPENAI_TOKEN_EXCHANGE_URL", url);
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    assert_eq!(codes(&report, StepId::Exchange), ["exchange-tls"]);

    // A proxy named by the environment (the loopback exchange bypasses it, so the hint is chosen
    // from the variable; the CLI test sends through a real one).
    let case = Case::new()
        .await
        .with_env(
            "OPENAI_TOKEN_EXCHANGE_URL",
            format!("http://127.0.0.1:{port}/oauth/token"),
        )
        .with_env("HTTPS_PROXY", "http://127.0.0.1:9");
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    assert_eq!(codes(&report, StepId::Exchange), ["exchange-proxy"]);
}

/// An exchange that accepts the connection and never answers: the 10 s timeout of each attempt
/// (on paused time, so the test does not wait) ends in the timeout hint.
#[tokio::test(start_paused = true)]
async fn an_exchange_that_never_answers_is_a_timeout() {
    // The kernel accepts connections into the backlog; nobody ever reads or answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = silent.local_addr().expect("address");
    let case = Case::new().await.with_env(
        "OPENAI_TOKEN_EXCHANGE_URL",
        format!("http://{address}/oauth/token"),
    );
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    assert_eq!(codes(&report, StepId::Exchange), ["exchange-timeout"]);
    drop(silent);
}

#[tokio::test]
async fn an_api_401_after_a_good_exchange_is_access_denied() {
    let case = Case::new().await;
    case.mount_exchange(granting(3600)).await;
    case.mount_api(ResponseTemplate::new(403).set_body_json(json!({
        "error": {"message": "You do not have access to the project", "type": "invalid_request_error", "param": null, "code": null}
    })))
    .await;
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    assert_eq!(codes(&report, StepId::Api), ["api-access-denied"]);
    let text = message(&report, StepId::Api, "api-access-denied");
    assert!(text.contains("accepted the token"), "{text}");
    assert_eq!(status(&report, StepId::Exchange), Status::Ok);
}

#[tokio::test]
async fn no_exchange_and_no_api_send_nothing_past_their_step() {
    let mut case = Case::new().await;
    case.mount_ok().await;
    case.exchange = false;
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    let exchange = report.step(StepId::Exchange).expect("exchange");
    assert_eq!(exchange.status, Status::Skipped);
    assert_eq!(exchange.reason.as_deref(), Some("--no-exchange"));
    assert_eq!(case.requests("/oauth/token").await, 0);
    assert_eq!(case.requests("/v1/models").await, 0);

    case.exchange = true;
    case.api = false;
    let report = case.run(case.kubernetes(&jwt(json!({})), json!({}))).await;
    assert_eq!(reason(&report, StepId::Api), Some("--no-api"));
    assert_eq!(case.requests("/oauth/token").await, 1);
    assert_eq!(case.requests("/v1/models").await, 0);
}

#[tokio::test]
async fn an_invalid_connection_fails_load_and_the_environment_still_runs() {
    let case = Case::new().await;
    let report = case
        .run(json!({"auth_type": "workload_identity", "workload_identity_provider": "kubernetes"}))
        .await;
    assert_eq!(
        statuses(&report),
        [
            "load=fail",
            "resolve=skipped",
            "environment=ok",
            "subject-token=skipped",
            "token-claims=skipped",
            "exchange=skipped",
            "api=skipped"
        ]
    );
    assert_eq!(codes(&report, StepId::Load), ["connection-invalid"]);
}

#[tokio::test]
async fn a_document_that_does_not_parse_fails_load_with_its_error() {
    let case = Case::new().await;
    let path = case.file("conn.yaml", "extra: [unclosed\n");
    let loaded = conn_load::load(
        &conn_load::SourceSpec::File(path.into()),
        conn_schema::DocumentKind::Auto,
        &case.env,
    );
    assert!(loaded.is_err(), "a YAML syntax error is a load error");
    let report = openai_conn_doctor::diagnose(loaded, "broken", &case.options()).await;
    assert_eq!(report.conn_id, "broken");
    assert_eq!(status(&report, StepId::Load), Status::Fail);
    let error = text_fact(&report, StepId::Load, "error");
    assert!(error.contains("yaml"), "{error}");
    assert_failed_though_passed(&report, StepId::Environment);
}

#[tokio::test]
async fn azure_imds_on_a_workload_identity_pod_is_the_nodes_identity() {
    let case = Case::answering().await;
    wiremock::Mock::given(wiremock::matchers::path("/metadata/identity/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": jwt(json!({"aud": ["api://AzureADTokenExchange"]}))}),
        ))
        .mount(&case.server)
        .await;
    let authority = case.server.uri();
    let case = case
        .with_env("AZURE_POD_IDENTITY_AUTHORITY_HOST", authority)
        .with_env("KUBERNETES_SERVICE_HOST", "10.0.0.1")
        .with_env(
            "AZURE_FEDERATED_TOKEN_FILE",
            "/var/run/secrets/azure/tokens/azure-identity-token",
        )
        .with_env("AZURE_CLIENT_ID", "cid");
    let report = case.run(workload("azure", json!({}))).await;
    assert_eq!(
        codes(&report, StepId::Environment),
        ["azure-imds-on-workload-identity-pod"]
    );
    let environment = report.step(StepId::Environment).expect("environment");
    assert_eq!(
        environment.facts["platform"],
        json!(["kubernetes pod", "azure workload identity (aks)"])
    );
    assert_eq!(status(&report, StepId::SubjectToken), Status::Ok);
    let endpoint = text_fact(&report, StepId::SubjectToken, "endpoint");
    assert!(
        endpoint.starts_with("IMDS at http://127.0.0.1:"),
        "{endpoint}"
    );
    insta::assert_snapshot!(human(&case, &report));
}

#[tokio::test]
async fn github_without_id_token_permission_fails_before_any_request() {
    let case = Case::new().await.with_env("GITHUB_ACTIONS", "true");
    case.mount_ok().await;
    let report = case.run(workload("github_actions", json!({}))).await;
    assert_eq!(
        codes(&report, StepId::Environment),
        ["github-id-token-permission"]
    );
    assert_eq!(
        codes(&report, StepId::SubjectToken),
        ["github-id-token-permission"]
    );
    let text = message(&report, StepId::Environment, "github-id-token-permission");
    assert!(text.contains("permissions: id-token: write"), "{text}");
    assert_eq!(case.requests("/oauth/token").await, 0);
}

#[tokio::test]
async fn github_actions_with_the_wrong_audience() {
    let case = Case::answering().await;
    wiremock::Mock::given(wiremock::matchers::path("/oidc"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"value": jwt(json!({"aud": "https://github.com/octo-org"}))}),
            ),
        )
        .mount(&case.server)
        .await;
    let url = format!("{}/oidc?api-version=2.0", case.server.uri());
    let case = case
        .with_env("GITHUB_ACTIONS", "true")
        .with_env("ACTIONS_ID_TOKEN_REQUEST_URL", url)
        .with_env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token");
    let report = case
        .run(workload(
            "github_actions",
            json!({"audience": "api://openai"}),
        ))
        .await;
    assert_eq!(codes(&report, StepId::Environment), Vec::<&str>::new());
    assert_eq!(codes(&report, StepId::TokenClaims), ["audience-mismatch"]);
    let text = message(&report, StepId::TokenClaims, "audience-mismatch");
    assert!(
        text.contains("https://github.com/octo-org") && text.contains("api://openai"),
        "{text}"
    );
}

#[tokio::test]
async fn gcp_with_the_right_audience_is_ok_and_with_another_fails() {
    let case = Case::answering().await;
    wiremock::Mock::given(wiremock::matchers::path(
        "/computeMetadata/v1/instance/service-accounts/default/identity",
    ))
    .and(wiremock::matchers::header("Metadata-Flavor", "Google"))
    .respond_with(ResponseTemplate::new(200).set_body_string(jwt(json!({"aud": "api://openai"}))))
    .mount(&case.server)
    .await;
    let host = case.server.address().to_string();
    let case = case.with_env("GCE_METADATA_HOST", host);
    let report = case
        .run(workload("gcp", json!({"audience": "api://openai"})))
        .await;
    assert!(report.ok, "{report:#?}");
    let report = case
        .run(workload("gcp", json!({"audience": "api://other"})))
        .await;
    assert_eq!(codes(&report, StepId::TokenClaims), ["audience-mismatch"]);
}

#[tokio::test]
async fn gcp_without_a_metadata_server_says_so() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let host = closed.local_addr().expect("address").to_string();
    drop(closed);
    let mut case = Case::new().await.with_env("GCE_METADATA_HOST", host);
    // The real GCP source, with its retries not waiting.
    let env = std::sync::Arc::new(case.env.clone());
    let source = providers_gcp::GcpSource::new("api://openai", env.clone())
        .expect("the GCP source builds its HTTP client")
        .with_retry_policy(providers_gcp::DEFAULT_RETRY_POLICY.without_delays());
    case.client = Some(
        openai_conn_client::ClientOptions::new()
            .with_env(env)
            .with_subject_token_source(std::sync::Arc::new(source)),
    );
    let report = case.run(workload("gcp", json!({}))).await;
    assert_eq!(
        codes(&report, StepId::SubjectToken),
        ["gcp-metadata-unreachable"]
    );
    assert_eq!(reason(&report, StepId::Exchange), Some("no subject token"));
}

#[tokio::test]
async fn a_custom_command_with_an_opaque_token_shows_its_length_only() {
    let case = Case::answering().await;
    let report = case
        .run(workload(
            "custom",
            json!({"token_command": ["printf", "opaque-SECRET-token"], "token_type": "id"}),
        ))
        .await;
    let claims = report.step(StepId::TokenClaims).expect("claims");
    assert_eq!(claims.facts["format"], "opaque");
    assert_eq!(claims.facts["length"], 19);
    let text = human(&case, &report);
    assert!(!text.contains("opaque-SECRET-token"), "{text}");
    assert!(report.ok, "{report:#?}");
}

#[tokio::test]
async fn an_api_key_connection_skips_the_workload_steps() {
    let case = Case::answering().await;
    let report = case
        .run(json!({"openai_client_kwargs": {"api_key": "sk-test-SECRET"}}))
        .await;
    assert_eq!(
        statuses(&report),
        [
            "load=ok",
            "resolve=ok",
            "environment=ok",
            "subject-token=skipped",
            "token-claims=skipped",
            "exchange=skipped",
            "api=ok"
        ]
    );
    let text = human(&case, &report);
    assert!(!text.contains("sk-test-SECRET"), "{text}");
    assert_eq!(case.requests("/v1/models").await, 1);
}

#[tokio::test]
async fn control_characters_from_a_token_or_a_server_are_escaped() {
    let case = Case::new().await;
    case.mount_exchange(ResponseTemplate::new(400).set_body_json(json!({
        "error": "invalid_grant",
        "error_description": "bad\u{1b}[2J\nfail[forged-hint]: yes"
    })))
    .await;
    let token = jwt(json!({"sub": "evil\u{1b}[31m\n[ok]      api (0 ms)"}));
    let report = case.run(case.kubernetes(&token, json!({}))).await;
    let text = human(&case, &report);
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(!text.contains("\n[ok]      api"), "{text}");
    assert!(!text.contains("\nfail[forged-hint]"), "{text}");
    assert!(text.contains("evil\\u{1b}[31m\\n[ok]"), "{text}");
}

#[test]
fn the_readme_holds_the_hint_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let table = openai_conn_doctor::markdown_table();
    assert!(
        readme.contains(&table),
        "README.md's hint-code table is stale; paste:\n{table}"
    );
}

mod x509 {
    use std::sync::Arc;

    use axum::Router;
    use axum::routing::{get, post};
    use openai_conn_doctor::{Status, StepId};
    use providers_x509::testing::{MtlsServer, TestCa};
    use serde_json::{Value, json};

    use super::support::*;

    async fn server(ca: &TestCa) -> MtlsServer {
        let router = Router::new()
            .route(
                "/oauth/token",
                post(|| async { axum::Json(json!({"access_token": ACCESS, "expires_in": 3600})) }),
            )
            .route(
                "/v1/models",
                get(|| async { axum::Json(json!({"object": "list", "data": []})) }),
            );
        MtlsServer::start(router, &ca.server(), &[ca]).await
    }

    async fn run_with(ca: &TestCa, client: &TestCa) -> (openai_conn_doctor::Report, Case) {
        let server = server(ca).await;
        let case = Case::new()
            .await
            .with_env("OPENAI_TOKEN_EXCHANGE_URL", server.url("/oauth/token"))
            .with_env("OPENAI_BASE_URL", server.url("/v1"));
        let (certificate, key) = client
            .client_with_uri("workload-1", "spiffe://example.org/ns/jobs/sa/trainer")
            .write(case.directory.path(), "client");
        let bundle = case.file("ca.pem", ca.pem());
        let path = |path: std::path::PathBuf| path.to_str().expect("utf-8").to_owned();
        let report = case
            .run(workload(
                "x509",
                json!({
                    "certificate_path": path(certificate),
                    "private_key_path": path(key),
                    "ca_bundle_path": bundle,
                }),
            ))
            .await;
        drop(server);
        let _ = Arc::new(());
        (report, case)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_certificate_of_the_trusted_ca_passes_every_step() {
        let ca = TestCa::new("workload ca");
        let (report, case) = run_with(&ca, &ca).await;
        assert!(report.ok, "{report:#?}");
        let claims = report.step(StepId::TokenClaims).expect("claims");
        assert_eq!(claims.facts["subject"], "CN=workload-1");
        assert_eq!(claims.facts["issuer"], "CN=workload ca");
        assert_eq!(
            claims.facts["san_uris"],
            json!(["spiffe://example.org/ns/jobs/sa/trainer"])
        );
        assert_eq!(claims.facts["key_matches"], Value::Bool(true));
        let chain = text_fact(&report, StepId::TokenClaims, "chain");
        assert!(chain.starts_with("verifies against"), "{chain}");
        assert_eq!(status(&report, StepId::Api), Status::Ok);
        let text = human(&case, &report);
        assert!(
            text.contains("san_uris: spiffe://example.org/ns/jobs/sa/trainer"),
            "{text}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_certificate_of_another_ca_is_named_before_and_at_the_exchange() {
        let ca = TestCa::new("workload ca");
        let other = TestCa::new("other ca");
        let (report, _case) = run_with(&ca, &other).await;
        assert_eq!(
            codes(&report, StepId::TokenClaims),
            ["certificate-not-from-ca-bundle"]
        );
        assert_eq!(
            codes(&report, StepId::Exchange),
            ["exchange-tls"],
            "{report:#?}"
        );
        let text = message(&report, StepId::Exchange, "exchange-tls");
        assert!(text.contains("refused the client certificate"), "{text}");
        assert_eq!(status(&report, StepId::Api), Status::Skipped);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_expired_certificate_fails_the_subject_token_step() {
        let ca = TestCa::new("workload ca");
        let case = Case::new().await;
        let (certificate, key) = ca.expired_client("old").write(case.directory.path(), "old");
        let path = |path: std::path::PathBuf| path.to_str().expect("utf-8").to_owned();
        let report = case
            .run(workload(
                "x509",
                json!({"certificate_path": path(certificate), "private_key_path": path(key)}),
            ))
            .await;
        assert_eq!(
            codes(&report, StepId::SubjectToken),
            ["certificate-expired"]
        );
        assert_eq!(reason(&report, StepId::Exchange), Some("no subject token"));
    }
}
