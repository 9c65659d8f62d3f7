//! What `cargo xtask bench`'s scenarios share: the loopback mock (`openai-conn-client`'s
//! `mock_openai` example, release build), the connection files the load generator reads, the
//! release build itself, running a release example that prints one JSON object, and the median
//! wall time of a command run several times.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::process::Killed;

/// A running mock; killed when dropped.
pub(crate) struct MockServer {
    process: Killed,
    pub(crate) base: String,
}

impl MockServer {
    pub(crate) fn child_id(&self) -> u32 {
        self.process.0.id()
    }
}

pub(crate) fn start_mock(root: &Path, expires_in: u64, delay_ms: u64) -> Result<MockServer> {
    let mut child = Command::new(example(root, "mock_openai"))
        .args(["--expires-in", &expires_in.to_string()])
        .args(["--exchange-delay-ms", &delay_ms.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the mock")?;
    let stdout = child.stdout.take().context("mock stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("reading the mock's port")?;
    let port = serde_json::from_str::<Value>(&line)?["port"]
        .as_u64()
        .context("the mock prints its port")?;
    Ok(MockServer {
        process: Killed(child),
        base: format!("http://127.0.0.1:{port}"),
    })
}

pub(crate) fn run_json(mut command: Command) -> Result<Value> {
    let output = command.output().context("running a benchmark step")?;
    if !output.status.success() {
        bail!(
            "{:?} failed: {}",
            command,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).with_context(|| format!("parsing {last:?}"))
}

/// The release build of `openai-conn-client`'s example `name`.
pub(crate) fn example(root: &Path, name: &str) -> PathBuf {
    crate::target_dir(root).join("release/examples").join(name)
}

pub(crate) fn ours(root: &Path, example: &str, args: &[&str], exchange_url: &str) -> Result<Value> {
    let mut command = Command::new(self::example(root, example));
    command
        .args(args)
        .env("OPENAI_TOKEN_EXCHANGE_URL", exchange_url);
    run_json(command)
}

/// Writes the two connection files the load generator uses: workload identity (Kubernetes token
/// file) and a static key, both pointing at `base`.
pub(crate) fn connections(directory: &Path, base: &str) -> Result<(String, String)> {
    std::fs::create_dir_all(directory)?;
    let token = directory.join("subject-token");
    std::fs::write(&token, "bench-subject")?;
    let workload = directory.join("workload.json");
    std::fs::write(
        &workload,
        json!({
            "conn_type": "openai",
            "host": format!("{base}/v1"),
            "extra": {
                "auth_type": "workload_identity",
                "workload_identity_provider": "kubernetes",
                "token_file_path": token,
                "identity_provider_id": "idp-bench",
                "service_account_id": "sa-bench",
                "openai_client_kwargs": {"max_retries": 0},
            },
        })
        .to_string(),
    )?;
    let key = directory.join("static.json");
    std::fs::write(
        &key,
        json!({"conn_type": "openai", "host": format!("{base}/v1"), "password": "sk-bench-static",
               "extra": {"openai_client_kwargs": {"max_retries": 0}}})
        .to_string(),
    )?;
    Ok((workload.display().to_string(), key.display().to_string()))
}

/// The release build of the mock, the load generator and the other examples, and the
/// command-line binary.
pub(crate) fn build_release(root: &Path) -> Result<()> {
    crate::release_build(
        root,
        &[
            "-p",
            "openai-conn-client",
            "--examples",
            "-p",
            "openai-conn",
            // The command-line binary too: P5, P6 and P8 run it (`--examples` alone leaves it
            // out).
            "--bins",
        ],
    )
}

/// Median wall time of `runs` runs of a command that exits 0, in milliseconds.
pub(crate) fn median_ms(runs: usize, make: impl FnMut() -> Command) -> Result<f64> {
    median_ms_exiting(runs, 0, make)
}

/// Median wall time of `runs` runs of a command that exits with `code`, in milliseconds.
pub(crate) fn median_ms_exiting(
    runs: usize,
    code: i32,
    mut make: impl FnMut() -> Command,
) -> Result<f64> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut command = make();
        let started = Instant::now();
        let status = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("running {command:?}"))?;
        if status.code() != Some(code) {
            bail!("{command:?} exited with {status}, not {code}");
        }
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}
