//! The CLI at the edges a hostile connection author or server would try: inputs that
//! are not regular files, and other inputs that must end with a message and an exit code.
#![cfg(unix)]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{command, stderr, write, written};

/// Runs `openai-conn` with `args` and the extra `env` to its end; a run that has not ended after
/// a minute is killed and fails the test, so a regression is a failure, not a hung test run.
fn finish(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = command(args);
    let mut child = command
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openai-conn starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().expect("kill");
            let _ = child.wait();
            panic!("openai-conn did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// Asserts that `output` exited with `code` and says `message` on standard error.
fn assert_exit_saying(output: &Output, code: i32, message: &str) {
    assert_eq!(output.status.code(), Some(code), "{}", stderr(output));
    assert!(
        stderr(output).contains(message),
        "standard error says {message:?}: {}",
        stderr(output)
    );
}

/// Checks the exit code, and that standard output says `message`; gives standard output.
fn assert_exit_printing(output: &Output, code: i32, message: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "{stdout}{}",
        stderr(output)
    );
    assert!(
        stdout.contains(message),
        "standard output says {message:?}: {stdout}"
    );
    stdout
}

/// Makes a named pipe `name` in `directory` and returns its path.
fn mkfifo(directory: &tempfile::TempDir, name: &str) -> std::path::PathBuf {
    let fifo = directory.path().join(name);
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo makes {}", fifo.display());
    fifo
}

#[test]
fn validate_refuses_a_fifo_without_opening_it() {
    let directory = tempfile::tempdir().expect("temp dir");
    let fifo = mkfifo(&directory, "conn.json");

    let output = finish(
        &[
            "validate",
            fifo.to_str().expect("the temporary path is UTF-8"),
        ],
        &[],
    );

    assert_exit_saying(&output, 2, "not a regular file (it is a named pipe)");
}

#[test]
fn a_token_file_that_is_a_device_is_refused_at_once() {
    let directory = tempfile::tempdir().expect("temp dir");
    let document = serde_json::json!({
        "conn_type": "openai",
        "host": "http://127.0.0.1:9/v1",
        "extra": {
            "auth_type": "workload_identity",
            "workload_identity_provider": "kubernetes",
            "token_file_path": "/dev/zero",
            "identity_provider_id": "idp",
            "service_account_id": "sa"
        }
    });
    let file = support::write_connection(directory.path(), &document);
    // Nothing may leave this host, even if the source were read.
    let output = finish(
        &["token", &file],
        &[("OPENAI_TOKEN_EXCHANGE_URL", "http://127.0.0.1:9/token")],
    );

    assert_exit_saying(
        &output,
        1,
        "token file /dev/zero: not a regular file (it is a character device)",
    );
}

#[test]
fn standard_input_past_sixteen_mib_is_refused() {
    let mut child = command(&["validate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openai-conn starts");
    let mut input = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let chunk = vec![b' '; 1 << 20];
        // The reader stops after 16 MiB + 1 byte, and the pipe then breaks: that ends the loop.
        for _ in 0..17 {
            if input.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let output = child.wait_with_output().expect("output");
    writer.join().expect("writer");

    assert_exit_saying(
        &output,
        2,
        "cannot read standard input: larger than the limit of 16777216 bytes",
    );
}

/// A write end of a pipe whose read end is already closed: every write fails with `EPIPE`.
fn broken_pipe(directory: &tempfile::TempDir) -> std::fs::File {
    let fifo = mkfifo(directory, "pipe");
    // Opened for reading and writing first, so that opening the write end does not wait for a
    // reader; then the only reader goes away.
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .expect("open the fifo");
    let writer = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("open the write end");
    drop(reader);
    writer
}

#[test]
fn a_closed_or_full_standard_output_is_exit_2_with_a_message_not_a_panic() {
    let directory = tempfile::tempdir().expect("temp dir");
    let valid = directory.path().join("conn.json");
    std::fs::write(&valid, r#"{"conn_type": "openai", "password": "sk-x"}"#).expect("write");
    let valid = valid.to_str().expect("UTF-8 temp path").to_owned();
    for args in [
        vec!["schema"],
        vec!["validate", valid.as_str()],
        vec!["plan", valid.as_str()],
    ] {
        for (what, sink) in [
            ("a broken pipe", broken_pipe(&directory)),
            (
                "a full disk",
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .expect("/dev/full"),
            ),
        ] {
            let output = command(&args)
                .stdin(Stdio::null())
                .stdout(sink)
                .stderr(Stdio::piped())
                .output()
                .expect("openai-conn runs");
            let stderr = stderr(&output);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{args:?} to {what}: {stderr}"
            );
            assert!(
                stderr.starts_with("openai-conn: cannot write to standard output: "),
                "{args:?} to {what}: {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
            let _ = std::fs::remove_file(directory.path().join("pipe"));
        }
    }
}

#[test]
fn syntax_errors_are_exit_1_in_every_format_and_unreadable_input_is_2() {
    let (directory, json) = written("conn.json", "{\"auth_type\": ,}");
    let yaml = write(&directory, "conn.yaml", "auth_type: [unclosed\n");
    let toml = write(&directory, "conn.toml", "auth_type = \n");
    for file in [&json, &yaml, &toml] {
        let output = finish(&["validate", file], &[]);
        assert_eq!(output.status.code(), Some(1), "{file}: {}", stderr(&output));
    }
    // A connection URI that cannot be parsed, in AIRFLOW_CONN_*.
    let output = finish(
        &["validate", "--conn-id", "broken"],
        &[("AIRFLOW_CONN_BROKEN", "openai://:sk-SECRET@host:notaport/")],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        !stderr(&output).contains("sk-SECRET"),
        "{}",
        stderr(&output)
    );

    let missing = directory.path().join("missing.json");
    let output = finish(
        &[
            "validate",
            missing.to_str().expect("the temporary path is UTF-8"),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let output = finish(&["validate", "--conn-id", "unset"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn control_characters_in_key_names_are_escaped_in_human_output() {
    let (_directory, file) = written(
        "conn.json",
        r#"{"auth_type": "api_key", "evil\u001b[2J\nconn.json:1:1: error: forged": 1}"#,
    );
    let output = finish(&["validate", &file], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
    assert!(stdout.contains("evil\\u{1b}[2J\\nconn.json"), "{stdout}");
    assert!(
        !stdout.lines().any(|line| line.starts_with("conn.json:1:1")),
        "a key forged a line: {stdout}"
    );
}

#[test]
fn openai_base_url_is_checked_by_validate_and_plan() {
    // No host and no base_url: OPENAI_BASE_URL is the base in effect.
    let (_directory, file) = written(
        "conn.json",
        r#"{"conn_type": "openai", "password": "sk-conn-key", "extra": {}}"#,
    );

    let with_credentials = [(
        "OPENAI_BASE_URL",
        "https://user:sk-URL-SECRET@api.example.com/v1",
    )];
    let output = finish(&["validate", &file], &with_credentials);
    let stdout = assert_exit_printing(&output, 1, "env OPENAI_BASE_URL: error[credentials-in-url]");
    assert!(!stdout.contains("sk-URL-SECRET"), "{stdout}");

    let output = finish(&["plan", &file], &with_credentials);
    assert_exit_saying(&output, 1, "credentials in the url are not allowed");
    assert!(
        !stderr(&output).contains("sk-URL-SECRET"),
        "{}",
        stderr(&output)
    );

    let in_clear = [("OPENAI_BASE_URL", "http://api.example.com/v1")];
    let output = finish(&["validate", &file], &in_clear);
    assert_exit_printing(&output, 0, "env OPENAI_BASE_URL: warning[cleartext-http]");

    let output = finish(&["plan", &file], &in_clear);
    assert_exit_saying(
        &output,
        0,
        "openai-conn: warning: the api base http://api.example.com/v1 (from the OPENAI_BASE_URL environment variable) is plain http",
    );

    // A loopback base in clear text is a local proxy or test server: no warning.
    let output = finish(
        &["validate", &file],
        &[("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")],
    );
    assert_eq!(output.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("cleartext-http"));
}
