//! The CLI against a hostile connection author, server and local environment, second pass
//! (issue 21): every URL form, every terminal byte, every syntax error, every stream.
#![cfg(unix)]

use std::process::{Output, Stdio};

mod support;

use support::{command, text};

/// Runs `openai-conn` with `args` and `env`, standard input closed.
fn run_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = command(args);
    command.stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("openai-conn runs")
}

/// Both streams of `output`, for assertions that nothing reached either.
fn both(output: &Output) -> String {
    format!("{}{}", text(&output.stdout), text(&output.stderr))
}

/// Writes `text` as `name` in `directory` and returns the path as a string.
fn write(directory: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = directory.path().join(name);
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("UTF-8 temp path").to_owned()
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

#[test]
fn every_user_info_form_is_refused_and_never_printed_wherever_the_url_is_set() {
    let directory = tempfile::tempdir().expect("temp dir");
    let token = write(&directory, "token", "subject-token");
    for form in USER_INFO_FORMS {
        let host = write(
            &directory,
            "host.json",
            &serde_json::json!({"conn_type": "openai", "host": form, "password": "sk-x"})
                .to_string(),
        );
        let base_url = write(
            &directory,
            "base.json",
            &serde_json::json!({"conn_type": "openai", "password": "sk-x",
                "extra": {"openai_client_kwargs": {"base_url": form}}})
            .to_string(),
        );
        let bare = write(
            &directory,
            "bare.json",
            r#"{"conn_type": "openai", "password": "sk-x"}"#,
        );
        let workload = write(
            &directory,
            "wi.json",
            &serde_json::json!({"conn_type": "openai", "extra": {
                "auth_type": "workload_identity", "workload_identity_provider": "kubernetes",
                "identity_provider_id": "idp", "service_account_id": "sa",
                "token_file_path": token}})
            .to_string(),
        );
        for (file, env) in [
            (&host, None),
            (&base_url, None),
            (&bare, Some(("OPENAI_BASE_URL", *form))),
        ] {
            let env: Vec<(&str, &str)> = env.into_iter().collect();
            let output = run_with(&["validate", file], &env);
            assert_eq!(output.status.code(), Some(1), "{form}: {}", both(&output));
            assert!(
                text(&output.stdout).contains("error[credentials-in-url]"),
                "{form} {env:?}: {}",
                both(&output)
            );
            for command in ["plan", "token", "test"] {
                let output = run_with(&[command, file], &env);
                assert_eq!(
                    output.status.code(),
                    Some(1),
                    "{command} {form}: {}",
                    both(&output)
                );
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
        assert_eq!(output.status.code(), Some(1), "{form}: {}", both(&output));
    }
}

#[test]
fn every_cleartext_form_is_named_wherever_the_url_is_set() {
    let directory = tempfile::tempdir().expect("temp dir");
    let token = write(&directory, "token", "subject-token");
    for form in CLEARTEXT_FORMS {
        let host = write(
            &directory,
            "host.json",
            &serde_json::json!({"conn_type": "openai", "host": form, "password": "sk-x"})
                .to_string(),
        );
        let base_url = write(
            &directory,
            "base.json",
            &serde_json::json!({"conn_type": "openai", "password": "sk-x",
                "extra": {"openai_client_kwargs": {"base_url": form}}})
            .to_string(),
        );
        let bare = write(
            &directory,
            "bare.json",
            r#"{"conn_type": "openai", "password": "sk-x"}"#,
        );
        for (file, env) in [
            (&host, None),
            (&base_url, None),
            (&bare, Some(("OPENAI_BASE_URL", *form))),
        ] {
            let env: Vec<(&str, &str)> = env.into_iter().collect();
            let output = run_with(&["validate", file], &env);
            assert!(
                text(&output.stdout).contains("warning[cleartext-http]"),
                "{form} {env:?}: {}",
                both(&output)
            );
        }
        for (file, env) in [(&host, None), (&bare, Some(("OPENAI_BASE_URL", *form)))] {
            let env: Vec<(&str, &str)> = env.into_iter().collect();
            let output = run_with(&["plan", file], &env);
            assert!(
                text(&output.stderr).contains("is plain http"),
                "{form} {env:?}: {}",
                both(&output)
            );
        }
        // The exchange refuses plain http to another host however it is spelt.
        let workload = write(
            &directory,
            "wi.json",
            &serde_json::json!({"conn_type": "openai", "extra": {
                "auth_type": "workload_identity", "workload_identity_provider": "kubernetes",
                "identity_provider_id": "idp", "service_account_id": "sa",
                "token_file_path": token}})
            .to_string(),
        );
        let output = run_with(
            &["token", &workload],
            &[("OPENAI_TOKEN_EXCHANGE_URL", form)],
        );
        assert_eq!(output.status.code(), Some(1), "{form}: {}", both(&output));
        assert!(
            text(&output.stderr).contains("plain http is only allowed to a loopback host"),
            "{form}: {}",
            both(&output)
        );
    }
}
