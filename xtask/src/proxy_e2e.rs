//! `cargo xtask proxy-e2e` (part of `ci`): the official Python SDK streams a chat completion
//! through `openai-conn proxy`.
//!
//! 1. `tests/proxy-e2e/upstream.py` stands in for the API and the token exchange on 127.0.0.1; it
//!    sends each server-sent event only after the client acknowledged the previous one, so a
//!    proxy that buffers the stream fails the test instead of passing slowly.
//! 2. `openai-conn proxy` (the debug build) serves a Kubernetes workload-identity connection (a
//!    token file written here) on an ephemeral loopback port.
//! 3. `tests/proxy-e2e/client.py` runs the pinned SDK from a venv under `target/proxy-e2e/`,
//!    with `base_url` set to the proxy and a placeholder API key.
//! 4. The answer, the upstream's record (one exchange; the workload's bearer on the API request,
//!    never the placeholder key) and the proxy's exit 0 after SIGTERM are checked.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::dist::tools_venv;
use crate::process::{Killed, expect_exit};

/// The SDK the reference behaviour comes from.
const SDK: &str = "openai==3.63.0";
const WORK_DIR: &str = "proxy-e2e";

pub(crate) fn run(root: &Path) -> Result<()> {
    let work = crate::work_dir(root, WORK_DIR)?;
    let venv = tools_venv(&work.join("venv"), &[SDK])?;
    crate::cargo(root, &["build", "-p", "openai-conn", "--locked"])?;
    let binary = crate::target_dir(root).join("debug/openai-conn");

    let python = venv.join("bin").join("python");
    let mut upstream = Killed(
        Command::new(&python)
            .arg(root.join("tests/proxy-e2e/upstream.py"))
            .stdout(Stdio::piped())
            .spawn()
            .context("starting tests/proxy-e2e/upstream.py")?,
    );
    let mut port = String::new();
    BufReader::new(upstream.0.stdout.take().context("upstream stdout")?)
        .read_line(&mut port)
        .context("reading the upstream's port")?;
    let upstream_addr = format!("127.0.0.1:{}", port.trim());

    let token_file = work.join("subject-token");
    std::fs::write(&token_file, "subject-token-e2e")?;
    let connection = work.join("connection.json");
    std::fs::write(
        &connection,
        serde_json::json!({
            "conn_type": "openai",
            "host": format!("http://{upstream_addr}/v1"),
            "extra": {
                "auth_type": "workload_identity",
                "workload_identity_provider": "kubernetes",
                "identity_provider_id": "idp-e2e",
                "service_account_id": "sa-e2e",
                "token_file_path": token_file,
            }
        })
        .to_string(),
    )?;
    let mut proxy = Killed(
        Command::new(&binary)
            .args(["proxy", "--listen", "127.0.0.1:0"])
            .arg(&connection)
            .env(
                "OPENAI_TOKEN_EXCHANGE_URL",
                format!("http://{upstream_addr}/oauth/token"),
            )
            .env("RUST_LOG", "openai_conn_proxy=info")
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?,
    );
    let mut proxy_log = BufReader::new(proxy.0.stderr.take().context("proxy stderr")?);
    let mut first = String::new();
    proxy_log.read_line(&mut first)?;
    let proxy_addr = listening_address(&first)?;
    eprintln!("xtask: {}", first.trim());

    let output = expect_exit(
        Command::new(&python)
            .arg(root.join("tests/proxy-e2e/client.py"))
            .args([proxy_addr, upstream_addr.as_str()]),
        0,
        "the Python SDK through the proxy",
    )?;
    let answer: Value = last_json_line(&output.stdout)?;
    let expected_sdk = SDK.trim_start_matches("openai==");
    if answer["openai"] != expected_sdk
        || answer["text"] != "Hello from the proxy"
        || answer["events"] != 4
    {
        bail!("unexpected answer through the proxy: {answer}");
    }
    let seen = fetch_json(&upstream_addr, "/seen")?;
    if seen["exchanges"] != 1
        || seen["authorizations"] != serde_json::json!(["Bearer access-e2e-1"])
        || seen["api_keys"] != serde_json::json!([null])
    {
        bail!("the upstream saw other credentials than the workload's one bearer: {seen}");
    }

    let pid = proxy.0.id().to_string();
    expect_exit(Command::new("kill").args(["-TERM", &pid]), 0, "kill -TERM")?;
    let status = proxy.0.wait()?;
    let mut rest = String::new();
    proxy_log.read_to_string(&mut rest)?;
    if !status.success() || !rest.contains("openai-conn proxy: stopped") {
        bail!("the proxy did not stop cleanly on SIGTERM ({status}):\n{rest}");
    }
    if rest.contains("subject-token-e2e") || rest.contains("access-e2e-1") {
        bail!("the proxy logged a secret:\n{rest}");
    }
    eprintln!(
        "xtask: proxy e2e passed: {SDK} streamed {} events through the proxy; 1 exchange",
        answer["events"]
    );
    Ok(())
}

fn last_json_line(stdout: &[u8]) -> Result<Value> {
    let text = String::from_utf8_lossy(stdout);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).with_context(|| format!("parsing {last:?}"))
}

/// A GET over a plain TCP connection (xtask has no HTTP client).
pub(crate) fn fetch_json(addr: &str, path: &str) -> Result<Value> {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or_default();
    serde_json::from_str(body).with_context(|| format!("parsing the reply of {path}: {response}"))
}

/// The address in the proxy's first log line (`... listening on ADDR, ...`), or why it did not
/// start.
pub(crate) fn listening_address(first: &str) -> Result<&str> {
    first
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .with_context(|| format!("the proxy did not start: {first}"))
}
