//! `cargo xtask bench`: the cost of authentication, ours next to the official Python SDK.
//!
//! Builds the release binaries, starts the loopback mock (`openai-conn-client`'s `mock_openai`
//! example) once per scenario, installs the pinned `openai` SDK into `bench/.venv`, runs every
//! scenario in this one run (P1 to P4 through both clients; P5 and P6 here, P7 in
//! `bench_validate` and P8 in `bench_proxy`), writes the figures to `bench/results.json` and has
//! `bench_report` write `bench/RESULTS.md` from them. Every loop is bounded and every server binds
//! 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::bench_mock::{connections, median_ms, median_ms_exiting, ours, run_json, start_mock};
use crate::bench_report::number;

/// The SDK version compared against (its workload identity is `openai.auth.WorkloadIdentityAuth`).
const SDK_PIN: &str = "openai==3.63.0";

fn python_venv(root: &Path) -> Result<PathBuf> {
    let venv = root.join("bench/.venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("creating bench/.venv")?;
        if !status.success() {
            bail!("python3 -m venv failed");
        }
    }
    let installed = Command::new(&python)
        .args([
            "-c",
            "import openai, sys; sys.exit(openai.__version__ != sys.argv[1])",
            SDK_PIN.trim_start_matches("openai=="),
        ])
        // A fresh venv has no SDK yet: that is the expected answer, not an error to print.
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                SDK_PIN,
            ])
            .status()
            .context("installing the openai SDK")?;
        if !status.success() {
            bail!("pip install {SDK_PIN} failed");
        }
    }
    Ok(python)
}

fn sdk(python: &Path, root: &Path, scenario: &str, base: &str, extra: &[&str]) -> Result<Value> {
    let mut command = Command::new(python);
    command
        .arg(root.join("bench/sdk_bench.py"))
        .arg(scenario)
        .args(["--base", base])
        .args(extra);
    run_json(command)
}

/// The total and the stolen CPU time so far (from `/proc/stat`), to report how much of the run the
/// hypervisor took away; zeros where `/proc/stat` does not exist.
fn cpu_ticks() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    (fields.iter().sum(), fields.get(7).copied().unwrap_or(0))
}

pub(crate) fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    let (total_before, steal_before) = cpu_ticks();
    // Other builds may share the machine: the 1, 5 and 15 minute load averages say how much.
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    // One invocation, so both packages share one feature resolution and every dependency is
    // compiled once (two invocations rebuilt tokio and friends with other features: +2 min cold).
    crate::bench_mock::build_release(root)?;
    let built = started.elapsed().as_secs_f64();
    let python = python_venv(root)?;
    let prepared = started.elapsed().as_secs_f64();
    let scratch = std::env::temp_dir().join(format!("openai-conn-bench-{}", std::process::id()));
    let mut results = serde_json::Map::new();

    // P1: cached-token read on a warm cache.
    {
        let mock = start_mock(root, 3600, 0)?;
        let url = format!("{}/oauth/token", mock.base);
        let token_bench = |mode: &str, threads: &str| {
            ours(
                root,
                "token_bench",
                &[
                    mode,
                    "--exchange-url",
                    &url,
                    "--iterations",
                    "2000000",
                    "--threads",
                    threads,
                ],
                &url,
            )
        };
        let ours_1 = token_bench("read", "1")?;
        let ours_2 = token_bench("read", "2")?;
        let floor_1 = token_bench("floor", "1")?;
        let floor_2 = token_bench("floor", "2")?;
        let sdk_read = |iterations: &str, threads: &str| {
            sdk(
                &python,
                root,
                "read",
                &mock.base,
                &["--iterations", iterations, "--threads", threads],
            )
        };
        let sdk_1 = sdk_read("200000", "1")?;
        let sdk_2 = sdk_read("100000", "2")?;
        results.insert("p1".into(), json!({"ours_1_thread": ours_1, "ours_2_threads": ours_2, "sdk_1_thread": sdk_1, "sdk_2_threads": sdk_2, "floor_1_thread": floor_1, "floor_2_threads": floor_2}));
    }
    // P2: 1000 concurrent first calls.
    {
        let mock = start_mock(root, 3600, 0)?;
        let url = format!("{}/oauth/token", mock.base);
        let ours_cold = ours(
            root,
            "token_bench",
            &["cold", "--exchange-url", &url, "--callers", "1000"],
            &url,
        )?;
        let sdk_mock = start_mock(root, 3600, 0)?;
        let sdk_cold = sdk(
            &python,
            root,
            "cold",
            &sdk_mock.base,
            &["--callers", "1000"],
        )?;
        results.insert("p2".into(), json!({"ours": ours_cold, "sdk": sdk_cold}));
    }
    // P3: a steady stream across three refresh points (expires_in 4 s refreshes every 2 s) with a
    // 300 ms exchange delay; a request slower than 250 ms waited for an exchange.
    {
        let mock = start_mock(root, 4, 300)?;
        let (workload, key) = connections(&scratch.join("p3"), &mock.base)?;
        let url = format!("{}/oauth/token", mock.base);
        let stream = [
            "--requests",
            "2800",
            "--concurrency",
            "8",
            "--pace-ms",
            "20",
            "--waited-ms",
            "250",
            "--warmup",
        ];
        let mut args = vec!["--conn", workload.as_str()];
        args.extend(stream);
        let ours_stream = ours(root, "load", &args, &url)?;
        // The same stream with a static key: the transport's own spread, with no auth at all.
        let mut baseline_args = vec!["--conn", key.as_str()];
        baseline_args.extend(stream);
        let ours_static = ours(root, "load", &baseline_args, &url)?;
        let sdk_mock = start_mock(root, 4, 300)?;
        let sdk_stream = sdk(&python, root, "stream", &sdk_mock.base, &stream)?;
        results.insert(
            "p3".into(),
            json!({"ours": ours_stream, "ours_static_key": ours_static, "sdk": sdk_stream}),
        );
    }
    // P4: throughput, workload identity against a static key, and against the SDK.
    {
        let mock = start_mock(root, 3600, 0)?;
        let (workload, key) = connections(&scratch.join("p4"), &mock.base)?;
        let url = format!("{}/oauth/token", mock.base);
        let load = |file: &str, requests: &str| {
            ours(
                root,
                "load",
                &[
                    "--conn",
                    file,
                    "--requests",
                    requests,
                    "--concurrency",
                    "16",
                    "--warmup",
                ],
                &url,
            )
        };
        // Five alternating rounds, so drift on a shared machine hits both alike; each side keeps
        // its median round.
        let (mut statics, mut workloads) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            statics.push(load(&key, "20000")?);
            workloads.push(load(&workload, "20000")?);
        }
        let median = |mut runs: Vec<Value>| {
            runs.sort_by(|a, b| number(a, "rps").total_cmp(&number(b, "rps")));
            runs.swap_remove(runs.len() / 2)
        };
        let rounds = |runs: &[Value]| {
            runs.iter()
                .map(|run| number(run, "rps"))
                .collect::<Vec<f64>>()
        };
        let (static_rounds, workload_rounds) = (rounds(&statics), rounds(&workloads));
        let ours_static = median(statics);
        let ours_workload = median(workloads);
        let sdk_load = sdk(
            &python,
            root,
            "stream",
            &mock.base,
            &["--requests", "3000", "--concurrency", "16", "--warmup"],
        )?;
        results.insert("p4".into(), json!({"ours_workload_identity": ours_workload, "ours_static_key": ours_static, "sdk_workload_identity": sdk_load, "workload_identity_rounds_rps": workload_rounds, "static_key_rounds_rps": static_rounds}));
    }
    // P5: `openai-conn validate` on the examples, whole process, against spawning `true`.
    {
        let examples = crate::files_with_extension(&root.join("examples"), "json")?;
        let binary = crate::target_dir(root).join("release/openai-conn");
        let validate = median_ms(50, || {
            let mut command = Command::new(&binary);
            command.arg("validate").args(&examples);
            command
        })?;
        let spawn = median_ms(50, || Command::new("true"))?;
        results.insert(
            "p5".into(),
            json!({"validate_ms": validate, "spawn_true_ms": spawn, "files": examples.len()}),
        );
    }
    // P6: one line with thousands of findings, whole process (rendering used to rescan
    // the line for every finding, 34 s for 2 000). The baseline is the same command on half the
    // findings in the same run: linear time doubles, quadratic time quadruples. 8 000 and 16 000
    // keys take tens of milliseconds, enough that starting the process and the noise of a shared
    // machine do not decide the ratio (at 2 000 keys they did, both ways).
    {
        std::fs::create_dir_all(&scratch)?;
        let one_line = |keys: usize| -> Result<(PathBuf, usize)> {
            let pairs: Vec<String> = (0..keys).map(|i| format!("\"k{i:05}\":\"v\"")).collect();
            let text = format!("{{\"conn_type\":\"openai\",{}}}", pairs.join(","));
            let path = scratch.join(format!("one-line-{keys}.json"));
            std::fs::write(&path, &text)?;
            Ok((path, text.len()))
        };
        let binary = crate::target_dir(root).join("release/openai-conn");
        let time = |path: &Path| {
            median_ms_exiting(21, 1, || {
                let mut command = Command::new(&binary);
                command.arg("validate").arg(path);
                command
            })
        };
        let (small, small_bytes) = one_line(8000)?;
        let (large, large_bytes) = one_line(16000)?;
        let small_ms = time(&small)?;
        let large_ms = time(&large)?;
        results.insert(
            "p6".into(),
            json!({"small_keys": 8000, "small_bytes": small_bytes, "small_ms": small_ms, "large_keys": 16000, "large_bytes": large_bytes, "large_ms": large_ms}),
        );
    }
    results.insert("p7".into(), crate::bench_validate::run(root, &scratch)?);
    // P8: `openai-conn proxy` in front of the mock.
    results.insert(
        "p8".into(),
        crate::bench_proxy::run(root, &python, &scratch)?,
    );
    std::fs::remove_dir_all(&scratch).ok();

    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let (total_after, steal_after) = cpu_ticks();
    let steal = steal_after.saturating_sub(steal_before) as f64
        / total_after.saturating_sub(total_before).max(1) as f64;
    results.insert(
        "machine".into(),
        json!({
            "cores": cores,
            "sdk": SDK_PIN,
            "seconds": started.elapsed().as_secs_f64(),
            "build_seconds": built,
            "venv_seconds": prepared - built,
            "scenario_seconds": started.elapsed().as_secs_f64() - prepared,
            "cpu_steal_fraction": steal,
            "load_average": load_average
        }),
    );
    let results = Value::Object(results);
    std::fs::write(
        root.join("bench/results.json"),
        format!("{}\n", serde_json::to_string_pretty(&results)?),
    )?;
    crate::bench_report::write_report(root)?;
    eprintln!(
        "xtask: wrote bench/RESULTS.md and bench/results.json in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
