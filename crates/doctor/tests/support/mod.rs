//! Shared helpers of the doctor tests: a fixed clock, JWTs built around it, connections written
//! to a temporary file and loaded as the CLI loads them, and loopback exchange and API servers.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use conn_load::SourceSpec;
use conn_schema::DocumentKind;
use openai_conn_client::{ClientOptions, default_exchange_retry_policy};
use openai_conn_doctor::{
    FixedClock, Options, Report, Status, Step, StepId, diagnose, render_human,
};
use providers_core::MapEnv;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// 2026-12-06T02:40:00Z, the fixed "now" of every test.
pub const NOW: i64 = 1_796_524_800;
/// `NOW` as an HTTP date, the `Date` the loopback servers send.
pub const NOW_HTTP: &str = "Sun, 06 Dec 2026 02:40:00 GMT";
/// The JWT signature every test token carries; it must never be printed.
pub const SIGNATURE: &str = "c2lnbmF0dXJlLVNFQ1JFVC1zaWc";
/// A claim outside the shown set; its value must never be printed.
pub const PRIVATE_CLAIM: &str = "private-claim-SECRET";
/// The access token the exchange hands out.
pub const ACCESS: &str = "access-token-SECRET-9999";
/// The identity provider's issuer of the test tokens.
pub const ISSUER: &str = "https://oidc.example.com/cluster-1";

pub fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock(UNIX_EPOCH + Duration::from_secs(NOW as u64)))
}

/// A JWT with `claims` (merged over a valid default: issued 100 s ago, for an hour).
pub fn jwt(claims: Value) -> String {
    let mut all = json!({
        "iss": ISSUER,
        "sub": "system:serviceaccount:jobs:trainer",
        "aud": ["api://openai"],
        "iat": NOW - 100,
        "nbf": NOW - 100,
        "exp": NOW + 3500,
        "private": PRIVATE_CLAIM,
    });
    if let (Some(target), Value::Object(more)) = (all.as_object_mut(), claims) {
        for (key, value) in more {
            if value.is_null() {
                target.remove(&key);
            } else {
                target.insert(key, value);
            }
        }
    }
    let part = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    format!(
        "{}.{}.{SIGNATURE}",
        part(&json!({"alg": "RS256", "kid": "key-1", "typ": "JWT"})),
        part(&all)
    )
}

/// A test: a temporary folder, loopback servers, the environment and the options.
pub struct Case {
    pub directory: tempfile::TempDir,
    pub server: MockServer,
    pub env: MapEnv,
    pub client: Option<ClientOptions>,
    pub exchange: bool,
    pub api: bool,
}

impl Case {
    /// A folder and a loopback server that is both the exchange and the API (not yet mounted);
    /// the environment points `OPENAI_TOKEN_EXCHANGE_URL` and `OPENAI_BASE_URL` at it.
    /// A case whose exchange and API answer as they should ([`Case::mount_ok`]).
    pub async fn answering() -> Case {
        let case = Case::new().await;
        case.mount_ok().await;
        case
    }

    pub async fn new() -> Case {
        let server = MockServer::start().await;
        let env = MapEnv::new()
            .with(
                "OPENAI_TOKEN_EXCHANGE_URL",
                format!("{}/oauth/token", server.uri()),
            )
            .with("OPENAI_BASE_URL", format!("{}/v1", server.uri()));
        Case {
            directory: tempfile::tempdir().expect("temp dir"),
            server,
            env,
            client: None,
            exchange: true,
            api: true,
        }
    }

    pub fn with_env(mut self, name: &str, value: impl Into<String>) -> Case {
        self.env = self.env.with(name, value);
        self
    }

    /// Writes a file into the case's folder and returns its path.
    pub fn file(&self, name: &str, contents: &str) -> String {
        let path = self.directory.path().join(name);
        std::fs::write(&path, contents).expect("write");
        path.to_str().expect("utf-8").to_owned()
    }

    /// A Kubernetes connection reading `token` from a file.
    pub fn kubernetes(&self, token: &str, more: Value) -> Value {
        let path = self.file("token", token);
        workload("kubernetes", merge(json!({"token_file_path": path}), more))
    }

    /// Mounts a good exchange (an hour) and a good `GET /models`.
    pub async fn mount_ok(&self) {
        self.mount_exchange(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": ACCESS, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer", "expires_in": 3600}),
        ))
        .await;
        self.mount_api(model_list()).await;
    }

    pub async fn mount_exchange(&self, reply: ResponseTemplate) {
        self.mount("POST", "/oauth/token", reply).await;
    }

    pub async fn mount_api(&self, reply: ResponseTemplate) {
        self.mount("GET", "/v1/models", reply).await;
    }

    /// Answers `verb route` with `reply`, dated at [`NOW`] as the server's clock.
    async fn mount(&self, verb: &str, route: &str, reply: ResponseTemplate) {
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(reply.insert_header("date", NOW_HTTP))
            .mount(&self.server)
            .await;
    }

    pub fn options(&self) -> Options {
        let env: Arc<MapEnv> = Arc::new(self.env.clone());
        let client = self.client.clone().unwrap_or_else(|| {
            ClientOptions::new()
                .with_env(env.clone())
                .with_exchange_retry_policy(default_exchange_retry_policy().without_delays())
        });
        Options::new(env)
            .with_client_options(client)
            .with_clock(clock())
            .with_exchange(self.exchange)
            .with_api(self.api)
            .with_default_service_account_token(self.directory.path().join("no-default-token"))
    }

    /// Writes the connection `extra` (or a whole connection) and runs the diagnosis on it.
    pub async fn run(&self, document: Value) -> Report {
        let path = self.directory.path().join("conn.json");
        std::fs::write(&path, document.to_string()).expect("write");
        let loaded = conn_load::load(&SourceSpec::File(path), DocumentKind::Auto, &self.env);
        diagnose(loaded, "conn", &self.options()).await
    }

    pub async fn requests(&self, route: &str) -> usize {
        self.server
            .received_requests()
            .await
            .expect("recording")
            .iter()
            .filter(|request| request.url.path() == route)
            .count()
    }
}

pub fn workload(provider: &str, more: Value) -> Value {
    merge(
        json!({
            "auth_type": "workload_identity",
            "workload_identity_provider": provider,
            "identity_provider_id": "idp-123",
            "service_account_id": "sa-456",
        }),
        more,
    )
}

pub fn merge(mut base: Value, more: Value) -> Value {
    if let (Some(target), Value::Object(more)) = (base.as_object_mut(), more) {
        for (key, value) in more {
            target.insert(key, value);
        }
    }
    base
}

/// The statuses of the steps, in order, as `id=status`.
pub fn statuses(report: &Report) -> Vec<String> {
    report
        .steps
        .iter()
        .map(|step| format!("{}={}", step.id.as_str(), step.status.as_str()))
        .collect()
}

/// The step `id` of `report`; a step that is not reported fails the test.
pub fn step(report: &Report, id: StepId) -> &Step {
    report
        .step(id)
        .unwrap_or_else(|| panic!("the step {id:?} was expected in {report:#?}"))
}

/// The status of the step `id`.
pub fn status(report: &Report, id: StepId) -> Status {
    step(report, id).status
}

/// The run failed, though the step `id` still ran and passed.
pub fn assert_failed_though_passed(report: &Report, id: StepId) {
    assert_eq!(status(report, id), Status::Ok, "the step {id:?} passes");
    assert!(!report.ok, "the run was expected to fail");
}

/// The text fact `key` of the step `id`; a fact that is missing or not text fails the test.
pub fn text_fact<'r>(report: &'r Report, id: StepId, key: &str) -> &'r str {
    let facts = &step(report, id).facts;
    facts[key]
        .as_str()
        .unwrap_or_else(|| panic!("a text {key:?} was expected in the facts of {id:?}: {facts:?}"))
}

/// Why the step `id` was skipped, when it was.
pub fn reason(report: &Report, id: StepId) -> Option<&str> {
    step(report, id).reason.as_deref()
}

/// The hint codes of step `id`.
pub fn codes(report: &Report, id: StepId) -> Vec<&'static str> {
    step(report, id)
        .hints
        .iter()
        .map(|hint| hint.code.as_str())
        .collect()
}

/// A token exchange reply that grants [`ACCESS`] for `expires_in` seconds.
pub fn granting(expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"access_token": ACCESS, "expires_in": expires_in}))
}

/// The API's answer to `GET /v1/models`: an empty list.
pub fn model_list() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": []}))
}

/// The one hint message of step `id` with `code`.
pub fn message(report: &Report, id: StepId, code: &str) -> String {
    step(report, id)
        .hints
        .iter()
        .find(|hint| hint.code.as_str() == code)
        .unwrap_or_else(|| panic!("no {code} in {report:#?}"))
        .message
        .clone()
}

/// Human and JSON output, checked for every secret, with the temporary folder's path replaced
/// by `[dir]` and the loopback port by `[port]` for snapshots.
pub fn human(case: &Case, report: &Report) -> String {
    let text = render_human(report);
    assert_clean(case, report, &text);
    let directory = case.directory.path().to_str().expect("utf-8").to_owned();
    let address = case.server.address().to_string();
    text.replace(&directory, "[dir]")
        .replace(&address, "127.0.0.1:[port]")
}

pub fn assert_clean(case: &Case, report: &Report, text: &str) {
    let json = report.to_json().to_string();
    for secret in [SIGNATURE, PRIVATE_CLAIM, ACCESS] {
        assert!(
            !text.contains(secret),
            "the human output shows {secret}:\n{text}"
        );
        assert!(!json.contains(secret), "the json shows {secret}:\n{json}");
    }
    let _ = case;
}
