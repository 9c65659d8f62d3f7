//! The CLI against a hostile connection author, server and local environment, second pass:
//! every URL form, every terminal byte, every syntax error, every stream.
#![cfg(unix)]

use std::process::{Output, Stdio};

mod support;

use support::{command, run_with, text, write, written};

/// Both streams of `output`, for assertions that nothing reached either.
fn both(output: &Output) -> String {
    format!("{}{}", text(&output.stdout), text(&output.stderr))
}

/// Asserts that `output` exited with `code`; a failure names `case` and shows both streams.
fn assert_exit(output: &Output, code: i32, case: impl std::fmt::Display) {
    assert_eq!(output.status.code(), Some(code), "{case}: {}", both(output));
}

/// URLs whose user info the client reads although they do not look like `scheme://user@host`.
const USER_INFO_FORMS: &[&str] = &[
    "https:///user:PW-SECRET@api.example.com/v1",
    "https:/user:PW-SECRET@api.example.com/v1",
    "https://user:PW-SECRET/RET@api.example.com/v1",
];

/// Plain http URLs to another host that do not look like `http://host`.
const CLEARTEXT_FORMS: &[&str] = &[
    "http:/api.example.com/v1",
    "http:api.example.com",
    "http:\\\\api.example.com",
];

/// A Kubernetes workload-identity connection reading its subject token from `token`, written
/// as `wi.json` in `directory`.
fn workload_file(directory: &tempfile::TempDir, token: &str) -> String {
    write(
        directory,
        "wi.json",
        &serde_json::json!({"conn_type": "openai", "extra": {
            "auth_type": "workload_identity", "workload_identity_provider": "kubernetes",
            "identity_provider_id": "idp", "service_account_id": "sa",
            "token_file_path": token}})
        .to_string(),
    )
}

/// An API key connection that sets no URL, written as `name` in `directory`.
fn api_key_file(directory: &tempfile::TempDir, name: &str) -> String {
    write(
        directory,
        name,
        r#"{"conn_type": "openai", "password": "sk-x"}"#,
    )
}

/// The three places an API key connection takes its URL `form` from: `host`, `base_url` in
/// `extra`, and `OPENAI_BASE_URL` beside a connection that sets neither. Each is a file and the
/// environment to run it with.
fn url_places(directory: &tempfile::TempDir, form: &str) -> [(String, Vec<(String, String)>); 3] {
    let host = write(
        directory,
        "host.json",
        &serde_json::json!({"conn_type": "openai", "host": form, "password": "sk-x"}).to_string(),
    );
    let base_url = write(
        directory,
        "base.json",
        &serde_json::json!({"conn_type": "openai", "password": "sk-x",
            "extra": {"openai_client_kwargs": {"base_url": form}}})
        .to_string(),
    );
    let bare = api_key_file(directory, "bare.json");
    [
        (host, vec![]),
        (base_url, vec![]),
        (bare, vec![("OPENAI_BASE_URL".to_owned(), form.to_owned())]),
    ]
}

/// `env` as the pairs `run_with` takes.
fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

#[test]
fn every_user_info_form_is_refused_and_never_printed_wherever_the_url_is_set() {
    let (directory, token) = written("token", "subject-token");
    let workload = workload_file(&directory, &token);
    for form in USER_INFO_FORMS {
        for (file, env) in url_places(&directory, form) {
            let env = pairs(&env);
            let output = run_with(&["validate", &file], &env);
            assert_exit(&output, 1, format_args!("{form}"));
            assert!(
                text(&output.stdout).contains("error[credentials-in-url]"),
                "{form} {env:?}: {}",
                both(&output)
            );
            for command in ["plan", "token", "test"] {
                let output = run_with(&[command, &file], &env);
                assert_exit(&output, 1, format_args!("{command} {form}"));
                assert!(
                    !both(&output).contains("PW-SECRET"),
                    "{command} {form}: {}",
                    both(&output)
                );
            }
        }
        // The exchange URL: `plan` shows it without the user info, `token` refuses it.
        let env = [("OPENAI_TOKEN_EXCHANGE_URL", *form)];
        for command in ["plan", "token"] {
            let output = run_with(&[command, &workload], &env);
            assert!(
                !both(&output).contains("PW-SECRET"),
                "{command} {form}: {}",
                both(&output)
            );
        }
        let output = run_with(&["token", &workload], &env);
        assert_exit(&output, 1, format_args!("{form}"));
    }
}

#[test]
fn every_cleartext_form_is_named_wherever_the_url_is_set() {
    let (directory, token) = written("token", "subject-token");
    let workload = workload_file(&directory, &token);
    for form in CLEARTEXT_FORMS {
        let [host, base_url, variable] = url_places(&directory, form);
        // `validate` warns on standard output wherever the URL is set; `plan` on standard error
        // for the host and the variable (not for `base_url`).
        let stdout: fn(&Output) -> String = |output| text(&output.stdout);
        let stderr: fn(&Output) -> String = |output| text(&output.stderr);
        let warnings = [
            ("validate", &host, stdout, "warning[cleartext-http]"),
            ("validate", &base_url, stdout, "warning[cleartext-http]"),
            ("validate", &variable, stdout, "warning[cleartext-http]"),
            ("plan", &host, stderr, "is plain http"),
            ("plan", &variable, stderr, "is plain http"),
        ];
        for (subcommand, (file, env), stream, warning) in warnings {
            let env = pairs(env);
            let output = run_with(&[subcommand, file], &env);
            assert!(
                stream(&output).contains(warning),
                "{subcommand} {form} {env:?}: {}",
                both(&output)
            );
        }
        // The exchange refuses plain http to another host however it is spelt.
        let output = run_with(
            &["token", &workload],
            &[("OPENAI_TOKEN_EXCHANGE_URL", form)],
        );
        assert_exit(&output, 1, format_args!("{form}"));
        assert!(
            text(&output.stderr).contains("plain http is only allowed to a loopback host"),
            "{form}: {}",
            both(&output)
        );
    }
}

/// Whether `bytes` hold a byte that a terminal reads as a control: C0 (but the line feed), DEL,
/// or a C1 control in UTF-8 (`C2 80` to `C2 9F`, `C2 9B` being a one-byte CSI).
fn raw_control(bytes: &[u8]) -> Option<usize> {
    bytes.iter().enumerate().position(|(index, byte)| {
        (*byte < 0x20 && *byte != b'\n')
            || *byte == 0x7f
            || (*byte == 0xc2
                && bytes
                    .get(index + 1)
                    .is_some_and(|next| (0x80..0xa0).contains(next)))
    })
}

/// What a hostile author puts in a key or an id: a line that forges a GitHub annotation, and
/// terminal sequences (ESC, BEL, the one-byte CSI 0x9b).
const HOSTILE: &str = "evil\n::error file=forged.json::forged\u{1b}[2J\u{7}\u{9b}31m\u{202e}";

/// Asserts that `output` carries no raw control and no forged line on either stream.
fn assert_nothing_raw(what: &str, output: &Output) {
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        assert_eq!(
            raw_control(bytes),
            None,
            "{what}: raw control on {stream}: {:?}",
            text(bytes)
        );
        assert!(
            !text(bytes)
                .lines()
                .any(|line| line.starts_with("::error file=forged")),
            "{what}: a forged annotation on {stream}: {}",
            text(bytes)
        );
    }
}

#[test]
fn hostile_text_never_reaches_a_terminal_raw_in_any_format_or_stream() {
    let directory = tempfile::tempdir().expect("temp dir");
    let key = serde_json::to_string(HOSTILE).expect("encode");
    // A YAML type-tag error names the key (on standard error, and as a finding).
    let yaml = write(
        &directory,
        "conn.yaml",
        &format!("conn_type: openai\n{key}: !!int abc\n"),
    );
    // An unknown key in JSON, reported by validation.
    let json = write(
        &directory,
        "conn.json",
        &format!(r#"{{"conn_type": "openai", "password": "sk-x", "extra": {{{key}: 1}}}}"#),
    );
    // A connections file whose valid connection's id is hostile: the "ok" line names it.
    let connections = write(
        &directory,
        "connections.json",
        &format!(r#"{{{key}: {{"conn_type": "openai", "password": "sk-x"}}}}"#),
    );
    // A file whose name is hostile.
    let named = directory.path().join(format!("{HOSTILE}.json"));
    std::fs::write(
        &named,
        r#"{"conn_type": "openai", "password": "sk-x", "x": 1}"#,
    )
    .expect("write");
    let named = named.to_str().expect("UTF-8 temp path").to_owned();
    for format in ["human", "json", "github", "sarif"] {
        for args in [
            vec!["validate", "--format", format, yaml.as_str()],
            vec!["validate", "--format", format, json.as_str()],
            vec!["validate", "--format", format, named.as_str()],
            vec![
                "validate",
                "--format",
                format,
                "--connections-file",
                connections.as_str(),
            ],
        ] {
            let output = run_with(&args, &[]);
            assert_nothing_raw(&format!("{args:?}"), &output);
            if matches!(format, "json" | "sarif") {
                let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&output.stdout);
                assert!(parsed.is_ok(), "{args:?}: {}", text(&output.stdout));
            }
        }
    }
    for args in [
        vec!["plan", yaml.as_str()],
        vec!["plan", "--format", "human", named.as_str()],
        vec!["token", json.as_str()],
        vec![
            "plan",
            "--connections-file",
            connections.as_str(),
            "--conn-id",
            HOSTILE,
        ],
        vec!["validate", "--conn-id", HOSTILE],
        vec!["validate", HOSTILE],
    ] {
        let output = run_with(&args, &[]);
        assert_nothing_raw(&format!("{args:?}"), &output);
    }
}

#[test]
fn a_yaml_or_toml_syntax_error_is_a_finding_with_its_position_in_every_format() {
    let (directory, yaml) = written("conn.yaml", "conn_type: openai\nextra: [unclosed\n");
    let toml = write(
        &directory,
        "conn.toml",
        "conn_type = \"openai\"\nextra = \n",
    );
    for file in [&yaml, &toml] {
        let output = run_with(&["validate", "--format", "json", file], &[]);
        assert_exit(&output, 1, format_args!("{file}"));
        let findings: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("a JSON array");
        let findings = findings.as_array().expect("an array");
        assert_eq!(findings.len(), 1, "{file}: {findings:?}");
        assert_eq!(findings[0]["code"], "syntax", "{file}: {findings:?}");
        assert_eq!(findings[0]["file"], file.as_str());
        assert!(
            findings[0]["line"].as_u64() >= Some(2),
            "{file}: {findings:?}"
        );
        assert!(
            findings[0]["column"].as_u64() >= Some(1),
            "{file}: {findings:?}"
        );

        let output = run_with(&["validate", "--format", "sarif", file], &[]);
        let log: serde_json::Value = serde_json::from_slice(&output.stdout).expect("SARIF");
        let result = &log["runs"][0]["results"][0];
        assert_eq!(result["ruleId"], "syntax", "{file}: {log}");
        assert!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64() >= Some(2),
            "{file}: {result}"
        );

        let output = run_with(&["validate", "--format", "github", file], &[]);
        assert!(
            text(&output.stdout).starts_with("::error file=")
                && text(&output.stdout).contains(",line="),
            "{file}: {}",
            both(&output)
        );
    }
}

#[test]
fn a_closed_or_full_standard_error_is_exit_2_not_a_panic() {
    let (directory, invalid) = written("invalid.json", r#"{"conn_type": "openai", "x": 1}"#);
    let missing = directory.path().join("missing.json");
    let missing = missing.to_str().expect("UTF-8 temp path");
    let plain = write(
        &directory,
        "plain.json",
        r#"{"conn_type": "openai", "host": "http://api.example.com/v1", "password": "sk-x"}"#,
    );
    for args in [
        vec!["plan", missing],
        vec!["validate", missing],
        vec!["plan", invalid.as_str()],
        vec!["token", invalid.as_str()],
        vec!["validate", "--format", "json", missing],
        // A warning on standard error, then the plan on standard output.
        vec!["plan", plain.as_str()],
        vec!["no-such-command"],
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let output = command(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(full)
            .output()
            .expect("openai-conn runs");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&output.stdout)
        );
    }
}

#[test]
fn an_override_cannot_run_a_program() {
    let directory = tempfile::tempdir().expect("temp dir");
    let marker = directory.path().join("ran");
    let connection = write(
        &directory,
        "conn.json",
        r#"{"conn_type": "openai", "extra": {"auth_type": "workload_identity",
            "workload_identity_provider": "custom", "identity_provider_id": "idp",
            "service_account_id": "sa", "token_type": "jwt", "token_provider": "none"}}"#,
    );
    let argv = serde_json::json!(["touch", marker.to_str().expect("UTF-8 temp path")]).to_string();
    for (name, value) in [
        ("OPENAI_CONN_EXTRA__TOKEN_COMMAND", argv.as_str()),
        ("OPENAI_CONN_EXTRA__TOKEN_COMMAND_TIMEOUT_SECONDS", "1"),
    ] {
        for subcommand in ["validate", "plan", "token", "test"] {
            let output = run_with(&[subcommand, &connection], &[(name, value)]);
            assert_exit(&output, 1, format_args!("{subcommand} {name}"));
            assert!(
                text(&output.stderr).contains(name)
                    && text(&output.stderr).contains("may not set token_command"),
                "{subcommand} {name}: {}",
                both(&output)
            );
        }
    }
    assert!(!marker.exists(), "an override ran a program");
}

#[test]
fn a_non_utf8_base_or_exchange_url_is_an_error_naming_the_variable() {
    use std::os::unix::ffi::OsStrExt as _;

    let (directory, token) = written("token", "subject-token");
    let api_key = api_key_file(&directory, "key.json");
    let workload = workload_file(&directory, &token);
    let not_utf8 = std::ffi::OsStr::from_bytes(b"https://api.example.com/\xff");
    for (file, var, subcommands) in [
        (
            &api_key,
            "OPENAI_BASE_URL",
            &["validate", "plan", "test"][..],
        ),
        (
            &workload,
            "OPENAI_TOKEN_EXCHANGE_URL",
            &["plan", "token"][..],
        ),
    ] {
        for subcommand in subcommands {
            let output = command(&[subcommand, file])
                .env(var, not_utf8)
                .stdin(Stdio::null())
                .output()
                .expect("openai-conn runs");
            assert_exit(&output, 1, format_args!("{subcommand} {var}"));
            assert!(
                both(&output).contains(var) && both(&output).contains("not valid UTF-8"),
                "{subcommand} {var}: {}",
                both(&output)
            );
        }
    }
}

/// With `http_proxy`, `https_proxy` and `all_proxy` pointing at a recording server, a token
/// exchange and an API call to loopback in plain http go direct: the proxy sees nothing.
#[tokio::test]
async fn requests_to_this_machine_never_go_through_a_proxy() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let proxy = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&proxy)
        .await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(support::granting("access-token"))
        .mount(&server)
        .await;
    support::serve_models(&server).await;
    let (directory, token) = written("token", "subject-token");
    let connection = write(
        &directory,
        "wi.json",
        &serde_json::json!({"conn_type": "openai", "host": format!("{}/v1", server.uri()),
            "extra": {"auth_type": "workload_identity",
            "workload_identity_provider": "kubernetes", "identity_provider_id": "idp",
            "service_account_id": "sa", "token_file_path": token}})
        .to_string(),
    );
    let mut env: Vec<(String, String)> = ["http_proxy", "HTTPS_PROXY", "ALL_PROXY"]
        .iter()
        .map(|name| ((*name).to_owned(), proxy.uri()))
        .collect();
    env.push((
        "OPENAI_TOKEN_EXCHANGE_URL".to_owned(),
        format!("{}/oauth/token", server.uri()),
    ));
    for subcommand in ["token", "test"] {
        let output =
            support::run_async(vec![subcommand.to_owned(), connection.clone()], env.clone()).await;
        assert_exit(&output, 0, format_args!("{subcommand}"));
    }
    let seen = proxy.received_requests().await.expect("recording");
    assert!(seen.is_empty(), "the proxy saw {} requests", seen.len());
    assert!(
        !server
            .received_requests()
            .await
            .expect("recording")
            .is_empty()
    );
}

/// The API client decides its proxy once, for the base URL's origin: a remote origin goes
/// through the environment's proxy (here a loopback server standing in for one, which answers in
/// the API's place: the origin's name is never resolved, so nothing leaves the machine).
#[tokio::test]
async fn api_requests_to_a_remote_origin_go_through_the_environments_proxy() {
    let proxy = wiremock::MockServer::start().await;
    support::serve_models(&proxy).await;
    let (directory, _) = written("unused", "");
    let connection = write(
        &directory,
        "key.json",
        &serde_json::json!({"conn_type": "openai", "host": "http://api.openai.invalid/v1",
            "password": "sk-proxied-SECRET"})
        .to_string(),
    );
    let env = vec![("HTTP_PROXY".to_owned(), proxy.uri())];
    let output = support::run_async(vec!["test".to_owned(), connection], env).await;
    assert_exit(&output, 0, format_args!("test through the proxy"));
    let seen = proxy.received_requests().await.expect("recording");
    let targets: Vec<String> = seen.iter().map(|request| request.url.to_string()).collect();
    assert_eq!(targets, ["http://api.openai.invalid/v1/models"]);
}

/// An x509 connection of `key` and `cert`, with `more` keys in `extra` and a `host`.
fn x509_connection(
    directory: &tempfile::TempDir,
    cert: &std::path::Path,
    key: &std::path::Path,
    host: Option<&str>,
    base_url: Option<&str>,
) -> String {
    let mut extra = serde_json::json!({"auth_type": "workload_identity",
        "workload_identity_provider": "x509", "identity_provider_id": "idp",
        "service_account_id": "sa", "certificate_path": cert, "private_key_path": key});
    if let Some(base_url) = base_url {
        extra["openai_client_kwargs"] = serde_json::json!({"base_url": base_url});
    }
    let mut document = serde_json::json!({"conn_type": "openai", "extra": extra});
    if let Some(host) = host {
        document["host"] = serde_json::json!(host);
    }
    write(directory, "x509.json", &document.to_string())
}

/// A fresh directory holding a client certificate of a fresh CA and its key, and their paths.
fn x509_client_files() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let directory = tempfile::tempdir().expect("temp dir");
    let (cert, key) = providers_x509::testing::TestCa::new("ca")
        .client("workload")
        .write(directory.path(), "client");
    (directory, cert, key)
}

#[test]
fn an_exposed_private_key_is_a_warning_in_validate_plan_and_token() {
    use std::os::unix::fs::PermissionsExt as _;

    let (directory, cert, key) = x509_client_files();
    let connection = x509_connection(&directory, &cert, &key, None, None);
    for (mode, warned) in [(0o600, false), (0o644, true), (0o640, true)] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let output = run_with(&["validate", &connection], &[]);
        assert_eq!(
            text(&output.stdout).contains("warning[exposed-private-key]"),
            warned,
            "{mode:o}: {}",
            both(&output)
        );
        assert_exit(&output, 0, format_args!("{mode:o}"));
        // `token` fails later (no exchange answers at the default URL is never reached: the
        // exchange URL is refused first), but the warning comes before.
        for subcommand in ["plan", "token"] {
            let output = run_with(
                &[subcommand, &connection],
                &[("OPENAI_TOKEN_EXCHANGE_URL", "http://127.0.0.1:9/refused")],
            );
            assert_eq!(
                text(&output.stderr).contains("is readable by others (mode"),
                warned,
                "{subcommand} {mode:o}: {}",
                both(&output)
            );
        }
    }
}

#[test]
fn validate_refuses_a_plain_http_base_under_x509_as_test_does() {
    let (directory, cert, key) = x509_client_files();
    for (host, base_url, at) in [
        (Some("http://127.0.0.1:8080/v1"), None, "host"),
        (None, Some("http://api.example.com/v1"), "base_url"),
        (
            Some("https://api.example.com/v1"),
            Some("http://127.0.0.1/v1"),
            "base_url",
        ),
    ] {
        let connection = x509_connection(&directory, &cert, &key, host, base_url);
        let output = run_with(&["validate", &connection], &[]);
        assert_exit(&output, 1, format_args!("{at}"));
        assert!(
            text(&output.stdout).contains(&format!(
                "error[invalid-url]: \"{at}\" must be https under x509 workload identity"
            )),
            "{at}: {}",
            both(&output)
        );
        let output = run_with(&["test", &connection], &[]);
        assert_exit(&output, 1, format_args!("{at}"));
    }
    // https is fine, and so is a document without a base (the mutual-TLS default).
    for (host, base_url) in [(Some("https://api.example.com/v1"), None), (None, None)] {
        let connection = x509_connection(&directory, &cert, &key, host, base_url);
        let output = run_with(&["validate", &connection], &[]);
        assert_exit(&output, 0, "");
    }
}

/// An API error that echoes a `default_headers` value and a `default_query` value prints
/// neither: every configured value the request carried is scrubbed from server text.
#[tokio::test]
async fn server_text_never_repeats_a_configured_header_or_query_value() {
    use wiremock::matchers::path;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let api = MockServer::start().await;
    Mock::given(path("/v1/models"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(serde_json::json!({"error": {
            "message": "bad header hdr-SECRET-one and signature qry-SECRET-two",
            "type": "invalid_request_error", "code": "invalid"}})),
        )
        .mount(&api)
        .await;
    let (_directory, connection) = written(
        "conn.json",
        &serde_json::json!({"conn_type": "openai", "host": format!("{}/v1", api.uri()),
            "password": "sk-key", "extra": {"openai_client_kwargs": {
                "default_headers": {"X-Gateway-Secret": "hdr-SECRET-one"},
                "default_query": {"sig": "qry-SECRET-two"}}}})
        .to_string(),
    );
    let output = support::run_async(vec!["test".to_owned(), connection], Vec::new()).await;
    assert_exit(&output, 1, "");
    let printed = both(&output);
    assert!(!printed.contains("SECRET"), "{printed}");
    assert!(
        printed.contains("bad header [redacted] and signature [redacted]"),
        "{printed}"
    );
}

/// Exchange and API replies that echo every configured secret, in their text and in their
/// `x-request-id`, print none of them: the API key, a `default_headers` value, a `default_query`
/// value and an `OPENAI_CUSTOM_HEADERS` value everywhere, and the token each request carried (the
/// subject token to the exchange, the access token to the API).
#[tokio::test]
async fn server_text_and_request_ids_never_repeat_a_configured_secret() {
    use wiremock::matchers::path;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    // The exchange is sent the subject token, the API the access token the exchange granted.
    // The query value comes also as it travels in the URL (`+`, `/` and `=` percent-encoded),
    // which is how a server that echoes the request line repeats it.
    // So does a value in the base URL's own query (given to `token` only: the API client does
    // not keep a base URL's query in front of the paths it appends).
    const TO_THE_EXCHANGE: &str = "subj-SECRET-0 sk-SECRET-2 hdr-SECRET-3 qry+SECRET/4= \
        qry%2BSECRET%2F4%3D cst-SECRET-5 bse+SECRET/6= bse%2BSECRET%2F6%3D";
    const TO_THE_API: &str = "acc-SECRET-1 sk-SECRET-2 hdr-SECRET-3 qry+SECRET/4= \
        qry%2BSECRET%2F4%3D cst-SECRET-5";
    let echo = |status: u16, secrets: &str| {
        ResponseTemplate::new(status).insert_header("x-request-id", format!("req {secrets}"))
    };
    // One server refuses the exchange; the other grants it and refuses the API call.
    let refusing = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(echo(401, TO_THE_EXCHANGE).set_body_json(serde_json::json!({
            "error": "invalid_grant", "error_description": format!("echo {TO_THE_EXCHANGE}")})))
        .mount(&refusing)
        .await;
    let granting = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(echo(200, TO_THE_API).set_body_json(serde_json::json!({
            "access_token": "acc-SECRET-1", "expires_in": 3600, "token_type": "Bearer"})))
        .mount(&granting)
        .await;
    Mock::given(path("/v1/models"))
        .respond_with(echo(400, TO_THE_API).set_body_string(format!("plain echo {TO_THE_API}")))
        .mount(&granting)
        .await;

    let (directory, token_file) = written("subject", "subj-SECRET-0");
    let connection = write(
        &directory,
        "conn.json",
        &serde_json::json!({"conn_type": "openai", "password": "sk-SECRET-2", "extra": {
            "auth_type": "workload_identity", "workload_identity_provider": "kubernetes",
            "identity_provider_id": "idp", "service_account_id": "sa",
            "token_file_path": token_file, "openai_client_kwargs": {
                "default_headers": {"X-Gateway-Secret": "hdr-SECRET-3"},
                "default_query": {"sig": "qry+SECRET/4="}}}})
        .to_string(),
    );
    for (subcommand, exchange, base_query, expected) in [
        (
            "token",
            &refusing,
            "?ver=bse%2BSECRET%2F6%3D",
            "oauth error invalid_grant (401)",
        ),
        ("test", &granting, "", "plain echo"),
    ] {
        let env = vec![
            (
                "OPENAI_BASE_URL".to_owned(),
                format!("{}/v1{base_query}", granting.uri()),
            ),
            (
                "OPENAI_TOKEN_EXCHANGE_URL".to_owned(),
                format!("{}/token", exchange.uri()),
            ),
            (
                "OPENAI_CUSTOM_HEADERS".to_owned(),
                "X-Custom: cst-SECRET-5".to_owned(),
            ),
        ];
        let output = support::run_async(vec![subcommand.to_owned(), connection.clone()], env).await;
        let printed = both(&output);
        assert_eq!(output.status.code(), Some(1), "{subcommand}: {printed}");
        assert!(printed.contains(expected), "{subcommand}: {printed}");
        assert!(
            printed.contains("request id req [redacted]"),
            "{subcommand}: {printed}"
        );
        assert!(!printed.contains("SECRET"), "{subcommand}: {printed}");
    }
}

/// Whether `pid` is gone: no `/proc` entry, or a zombie (dead, waiting for whichever process
/// inherited it to reap it).
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

#[test]
fn a_signal_kills_the_token_command_group_and_exits_with_128_plus_its_number() {
    let directory = tempfile::tempdir().expect("temp dir");
    let pid_file = directory.path().join("grandchild");
    let pid_path = pid_file.to_str().expect("UTF-8 temp path");
    // The command starts a long sleep in its own group, says which, and waits for it: it never
    // prints a token, so the tool is still waiting for it when the signal comes.
    let connection = write(
        &directory,
        "conn.json",
        &serde_json::json!({"conn_type": "openai", "extra": {
            "auth_type": "workload_identity", "workload_identity_provider": "custom",
            "identity_provider_id": "idp", "service_account_id": "sa", "token_type": "jwt",
            "token_command": ["sh", "-c",
                "sleep 317 & echo $! > \"$0.tmp\" && mv \"$0.tmp\" \"$0\"; wait", pid_path],
            "token_command_timeout_seconds": 600,
            "openai_client_kwargs": {"base_url": "http://127.0.0.1:9/v1"}}})
        .to_string(),
    );
    let runs: [(&[&str], &str, i32); 5] = [
        (&["token"], "-INT", 130),
        (&["token"], "-TERM", 143),
        (&["token"], "-HUP", 129),
        (&["test"], "-TERM", 143),
        (&["doctor", "--no-exchange", "--no-api"], "-INT", 130),
    ];
    for (subcommand, signal, status) in runs {
        let _ = std::fs::remove_file(&pid_file);
        let mut args = subcommand.to_vec();
        args.push(&connection);
        let mut child = command(&args)
            .env("OPENAI_TOKEN_EXCHANGE_URL", "http://127.0.0.1:9/token")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openai-conn starts");
        // Bounded: the command writes the file at once; a tool that never runs it fails here.
        let mut polls = 0;
        while !pid_file.exists() {
            assert!(
                polls < 3000 && child.try_wait().expect("try_wait").is_none(),
                "{subcommand:?}: the token command never started"
            );
            polls += 1;
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let grandchild: u32 = std::fs::read_to_string(&pid_file)
            .expect("the PID file")
            .trim()
            .parse()
            .expect("a PID");
        let sent = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill {signal} failed");
        let exit = child.wait().expect("openai-conn exits");
        assert_eq!(
            exit.code(),
            Some(status),
            "{subcommand:?} {signal}: {exit:?}"
        );
        // SIGKILL is delivered asynchronously, so the sleep may take a moment to die; an unkilled
        // one lives for five minutes, so a regression still fails.
        let mut polls = 0;
        while !process_gone(grandchild) && polls < 1000 {
            polls += 1;
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let left = process_gone(grandchild);
        if !left {
            // Leave nothing behind for the next run of the suite.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &grandchild.to_string()])
                .status();
        }
        assert!(
            left,
            "{subcommand:?} {signal}: the token command's child {grandchild} outlived the tool"
        );
    }
}

/// A reply whose body stalls past `timeout` is a transport error on `test`'s standard error
/// that names no request URL: neither the secret in the base URL's path nor the
/// `default_query` value the request carried (nor the API key) is printed.
#[test]
fn a_body_that_stalls_past_the_timeout_prints_no_url_query_or_path_secret() {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port is free");
    let address = listener.local_addr().expect("bound");
    let (lines, request_lines) = std::sync::mpsc::channel();
    // Headers and the start of the body, then silence on an open socket. The thread ends with
    // the test process; it holds each socket so the body stays stalled.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { continue };
            let mut reader = BufReader::new(socket.try_clone().expect("clone the socket"));
            let mut line = String::new();
            reader.read_line(&mut line).expect("a request line");
            let _ = lines.send(line);
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|read| read > 2) {
                header.clear();
            }
            let _ = socket.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                  content-length: 1000\r\n\r\n{\"object\"",
            );
            held.push(socket);
        }
    });
    let (_directory, connection) = written(
        "conn.json",
        &serde_json::json!({"conn_type": "openai",
            "host": format!("http://{address}/PATH-SECRET-p41/v1"),
            "password": "sk-KEY-SECRET-k77",
            "extra": {"openai_client_kwargs": {
                "timeout": 1, "max_retries": 0,
                "default_query": {"sig": "QUERY-SECRET-q93"}}}})
        .to_string(),
    );
    let output = run_with(&["test", &connection], &[]);
    assert_exit(&output, 1, "");
    let request = request_lines
        .try_recv()
        .expect("the server saw the request");
    assert!(
        request.contains("/PATH-SECRET-p41/v1/models?sig=QUERY-SECRET-q93"),
        "the request carried both secrets: {request}"
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("timed out"),
        "the stall is a timeout: {stderr}"
    );
    for secret in ["QUERY-SECRET", "PATH-SECRET", "KEY-SECRET", "sig="] {
        assert!(!stderr.contains(secret), "{secret} printed: {stderr}");
    }
    assert!(
        !text(&output.stdout).contains("SECRET"),
        "{}",
        both(&output)
    );
}
