//! `openai-conn proxy` as a process: refusals are usage errors (exit 2) before anything listens;
//! a running proxy forwards with the connection's key, logs without query values (while it runs,
//! not only at exit) and stops with exit 0 on SIGTERM.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;

use serde_json::json;
use support::{command, run};
use wiremock::MockServer;

fn api_key_connection(dir: &std::path::Path, host: &str) -> String {
    support::write_connection(
        dir,
        &json!({"conn_type": "openai", "host": host, "password": "sk-cli-SECRET"}),
    )
}

#[test]
fn a_remote_address_needs_allow_remote_and_a_client_key() {
    let dir = tempfile::tempdir().unwrap();
    let conn = api_key_connection(dir.path(), "http://127.0.0.1:9/v1");

    let output = run(&["proxy", "--listen", "0.0.0.0:0", &conn]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
    assert!(stderr.contains("--allow-remote"), "{stderr}");

    let output = run(&["proxy", "--listen", "0.0.0.0:0", "--allow-remote", &conn]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--allow-remote needs --client-key-file"),
        "{stderr}"
    );

    let output = run(&["proxy", "--listen", "localhost", &conn]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid listen address"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_forwards_with_the_connection_key_and_stops_on_sigterm() {
    let upstream = MockServer::start().await;
    support::serve_models(&upstream).await;
    let dir = tempfile::tempdir().unwrap();
    let conn = api_key_connection(dir.path(), &format!("{}/v1", upstream.uri()));

    let mut child = command(&["proxy", "--listen", "127.0.0.1:0", &conn])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (stderr, first) = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        (stderr, line)
    })
    .await
    .unwrap();
    assert!(first.contains("listening on 127.0.0.1:"), "{first}");
    assert!(first.contains("forwarding /v1 to http://"), "{first}");
    let addr = first
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap()
        .to_owned();

    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream
            .write_all(
                b"GET /v1/models?sig=QUERY-SECRET HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer dummy\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""object":"list""#), "{answer}");
    let seen = upstream.received_requests().await.expect("recording is on");
    let bearers: Vec<Option<&str>> = seen
        .iter()
        .map(|request| {
            let header = request.headers.get("authorization");
            header.and_then(|value| value.to_str().ok())
        })
        .collect();
    assert_eq!(bearers, [Some("Bearer sk-cli-SECRET")]);

    // The request's log line reaches standard error while the proxy runs (it is written when the
    // proxy idles, not at exit). A thread passes the lines on; the bound only keeps a missing line
    // from hanging the test.
    let (lines, received) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in stderr.lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    while !seen.contains("path=\"/v1/models\"") {
        match received.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(line) => seen.push_str(&line),
            Err(_) => {
                child.kill().ok();
                panic!("no request log line while the proxy runs: {seen}");
            }
        }
    }
    assert!(seen.contains("status=200"), "{seen}");
    assert!(
        !seen.contains("QUERY-SECRET") && !seen.contains("sk-cli-SECRET"),
        "{seen}"
    );

    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let (status, rest) = tokio::task::spawn_blocking(move || {
        let rest: Vec<String> = received.iter().collect();
        (child.wait().unwrap(), rest.join("\n"))
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(rest.contains("openai-conn proxy: stopped"), "{rest}");
    assert!(
        !rest.contains("QUERY-SECRET") && !rest.contains("sk-cli-SECRET"),
        "{rest}"
    );
}
