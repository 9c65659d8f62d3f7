//! P8 of `cargo xtask bench`: `openai-conn proxy` (the release build, default logging) in front
//! of the loopback mock, measured in the same run against that same mock.
//!
//! 1. The proxy's memory: its RSS (`VmRSS` of `/proc/PID/status`) idle after its first token,
//!    then with [`STREAMS`] server-sent-event responses held open (the mock sends one chunk and
//!    keeps each stream open; this process holds the client ends).
//! 2. The latency it adds: the `load` example at concurrency 1, `GET /v1/models` straight to the
//!    mock with a static key, then through the proxy (workload identity) with a placeholder key,
//!    in alternating rounds with the processes pinned to cores as a sidecar runs ([`Placement`]);
//!    the median of the rounds' p50 differences. A few unpinned rounds follow, for the record.
//! 3. Its throughput: the same at concurrency 16, the median round of each side.
//! 4. Exchanges: [`PROCESSES`] Python processes with the pinned SDK, each calling the API once
//!    through the proxy with a placeholder key, then as many using the SDK's own workload
//!    identity straight at the mock; the mock counts the exchanges of each group.
//!
//! Every server binds 127.0.0.1; every loop is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::bench_mock::{MockServer, connections, ours, start_mock};
use crate::bench_report::{median, number};
use crate::process::Killed;
use crate::proxy_e2e::fetch_json;

/// Server-sent-event streams held open through the proxy.
const STREAMS: usize = 1000;
/// Separate client processes for the exchange count.
const PROCESSES: usize = 50;
/// Alternating rounds of the latency and throughput comparisons.
const ROUNDS: usize = 7;
/// Requests of each throughput round, and its concurrency.
const THROUGHPUT_REQUESTS: usize = 20_000;
const THROUGHPUT_CONCURRENCY: usize = 16;
/// What clients send the proxy as their API key (the proxy replaces it).
const PLACEHOLDER_KEY: &str = "sk-placeholder-for-the-proxy";

/// Unpinned latency rounds, after the pinned ones: what the scheduler's own placement gives.
const UNPINNED_ROUNDS: usize = 3;

/// Where the latency rounds run: the load generator and the proxy on one core, the mock (the
/// API) on the other, as a sidecar runs beside its clients with the API elsewhere. A direct
/// request then crosses between the cores twice (there and back), and so does one through the
/// proxy, whose two extra hops stay on one core: the difference is what the proxy adds. Left to
/// the scheduler, which of the three processes share a core changes from run to run, and on this
/// VM (haltpoll cpuidle) each hop to an idle core costs tens of microseconds, so the unpinned
/// difference measures the placement as much as the proxy (kept as `unpinned_added_us`).
struct Placement {
    client: usize,
    upstream: usize,
}

impl Placement {
    /// Pins the mock and the proxy (every thread of each) with `taskset`; `None`, changing
    /// nothing, on a single core or without `taskset`.
    fn pin(mock: u32, proxy: u32) -> Result<Option<Placement>> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let has_taskset = Command::new("taskset")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if cores < 2 || !has_taskset {
            return Ok(None);
        }
        let placement = Placement {
            client: 1,
            upstream: 0,
        };
        taskset(mock, &placement.upstream.to_string())?;
        taskset(proxy, &placement.client.to_string())?;
        Ok(Some(placement))
    }

    /// Lets the mock and the proxy run on every core again.
    fn unpin(mock: u32, proxy: u32) -> Result<()> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let all = format!("0-{}", cores - 1);
        taskset(mock, &all)?;
        taskset(proxy, &all)
    }

    fn describe(&self) -> String {
        format!(
            "load generator and proxy on core {}, mock on core {}",
            self.client, self.upstream
        )
    }
}

/// `taskset -a -p -c CPUS PID`: every thread of the process.
fn taskset(pid: u32, cpus: &str) -> Result<()> {
    let pid = pid.to_string();
    crate::process::run_status(
        Command::new("taskset")
            .args(["-a", "-p", "-c", cpus, &pid])
            .stdout(Stdio::null()),
        &format!("taskset -a -p -c {cpus} {pid}"),
    )
}

/// [`ours`] on core `cpu` when given (`taskset -c`).
fn ours_on_cpu(
    root: &Path,
    example: &str,
    args: &[&str],
    exchange_url: &str,
    cpu: Option<usize>,
) -> Result<Value> {
    let Some(cpu) = cpu else {
        return ours(root, example, args, exchange_url);
    };
    let mut command = Command::new("taskset");
    command
        .args(["-c", &cpu.to_string()])
        .arg(crate::bench_mock::example(root, example))
        .args(args)
        .env("OPENAI_TOKEN_EXCHANGE_URL", exchange_url);
    crate::bench_mock::run_json(command)
}

/// The proxy process (killed when dropped) and its address.
struct Proxy {
    process: Killed,
    addr: String,
}

/// Starts `openai-conn proxy` on an ephemeral loopback port in front of `connection` and waits
/// until `/healthz` says it holds a token. Its request log is read and dropped, as a container
/// runtime would collect it.
fn start_proxy(root: &Path, connection: &str, exchange_url: &str) -> Result<Proxy> {
    let binary = crate::target_dir(root).join("release/openai-conn");
    let mut child = Command::new(&binary)
        .args(["proxy", "--listen", "127.0.0.1:0", connection])
        .env("OPENAI_TOKEN_EXCHANGE_URL", exchange_url)
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let mut log = BufReader::new(child.stderr.take().context("proxy stderr")?);
    let mut first = String::new();
    log.read_line(&mut first)?;
    std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
    let addr = crate::proxy_e2e::listening_address(&first)?;
    let proxy = Proxy {
        addr: addr.to_owned(),
        process: Killed(child),
    };
    for _ in 0..200 {
        if fetch_json(&proxy.addr, "/healthz").is_ok_and(|health| health["status"] == "ok") {
            return Ok(proxy);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    bail!("the proxy did not turn ready within 5 s")
}

/// The resident set of a process in KiB (`VmRSS` of `/proc/PID/status`).
fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/PID/status")
}

/// Open file descriptors of a process (its sockets, here).
fn open_fds(pid: u32) -> Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

/// CPU time (user + system) in clock ticks from `/proc/PID/stat`: of the process itself (fields
/// 14 and 15), or with `children` of its waited-for children (fields 16 and 17).
fn cpu_ticks(pid: &str, children: bool) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces; the fields after it start at `) `, with field 3 first.
    let fields: Vec<u64> = stat
        .rsplit_once(") ")
        .context("no fields in /proc/PID/stat")?
        .1
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    let first = if children { 13 } else { 11 };
    Ok(fields.get(first).copied().unwrap_or(0) + fields.get(first + 1).copied().unwrap_or(0))
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 where it cannot be asked).
fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU ticks of the load generators (this process's children), the mock and the proxy.
#[derive(Clone, Copy, Default)]
struct Cpu {
    client: u64,
    upstream: u64,
    proxy: u64,
}

impl Cpu {
    fn now(mock: u32, proxy: u32) -> Result<Cpu> {
        Ok(Cpu {
            client: cpu_ticks("self", true)?,
            upstream: cpu_ticks(&mock.to_string(), false)?,
            proxy: cpu_ticks(&proxy.to_string(), false)?,
        })
    }

    fn add_since(&mut self, before: Cpu, after: Cpu) {
        self.client += after.client - before.client;
        self.upstream += after.upstream - before.upstream;
        self.proxy += after.proxy - before.proxy;
    }

    /// Microseconds per request of each process.
    fn per_request(self, requests: usize) -> Value {
        let ticks_per_second = ticks_per_second();
        let micros = |ticks: u64| ticks as f64 / ticks_per_second * 1e6 / requests as f64;
        json!({"client": micros(self.client), "upstream": micros(self.upstream),
               "proxy": micros(self.proxy)})
    }
}

/// Opens `count` streamed chat completions through the proxy, each on its own connection, and
/// returns once every one has delivered its first event.
fn open_streams(addr: &str, count: usize) -> Result<Vec<TcpStream>> {
    let body =
        r#"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hold"}]}"#;
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer \
             {PLACEHOLDER_KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        streams.push(stream);
    }
    for stream in &mut streams {
        let mut seen = Vec::new();
        let mut buffer = [0u8; 4096];
        while !first_event_arrived(&seen) {
            let read = stream.read(&mut buffer)?;
            if read == 0 || seen.len() > 65536 {
                bail!(
                    "a stream ended before its first event: {}",
                    String::from_utf8_lossy(&seen)
                );
            }
            seen.extend_from_slice(&buffer[..read]);
        }
        if !seen.starts_with(b"HTTP/1.1 200") {
            bail!("a stream was refused: {}", String::from_utf8_lossy(&seen));
        }
    }
    Ok(streams)
}

fn first_event_arrived(seen: &[u8]) -> bool {
    let text = String::from_utf8_lossy(seen);
    text.find("data: ")
        .is_some_and(|start| text[start..].contains("\n\n"))
}

/// Runs `count` processes of `sdk_bench.py once` at the same time; each must exit 0. Returns the
/// wall time in seconds.
fn python_processes(python: &Path, root: &Path, count: usize, args: &[&str]) -> Result<f64> {
    let started = Instant::now();
    let children = (0..count)
        .map(|_| {
            Command::new(python)
                .arg(root.join("bench/sdk_bench.py"))
                .arg("once")
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
        })
        .collect::<std::io::Result<Vec<Child>>>()
        .context("starting the SDK processes")?;
    for child in children {
        let output = child.wait_with_output()?;
        if !output.status.success() {
            bail!(
                "an SDK process failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

/// `cargo xtask bench --proxy`: builds the release binaries and runs P8's latency and
/// throughput rounds alone (no Python: memory and exchanges are left to the full bench), then
/// prints their figures and the CPU time per request of each process.
pub(crate) fn standalone(root: &Path) -> Result<()> {
    crate::bench_mock::build_release(root)?;
    let scratch = std::env::temp_dir().join(format!("openai-conn-p8-{}", std::process::id()));
    let result = Setup::start(root, &scratch).and_then(|setup| setup.speed(root));
    std::fs::remove_dir_all(&scratch).ok();
    let result = result?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    let throughput = &result["throughput"];
    let cpu = |side: &str, process: &str| {
        number(&throughput[format!("{side}_cpu_us_per_request")], process)
    };
    let direct = cpu("direct", "client") + cpu("direct", "upstream");
    let proxied = cpu("proxy", "client") + cpu("proxy", "upstream") + cpu("proxy", "proxy");
    println!(
        "P8: added {:.0} µs at concurrency 1 ({}; unpinned: {}); CPU µs per request: direct {:.1} + {:.1} = {direct:.1}, \
         through the proxy {:.1} + {:.1} + {:.1} (proxy) = {proxied:.1}; ratio {:.2}; req/s ratio {:.2}",
        number(&result["latency"], "added_us"),
        result["latency"]["placement"].as_str().unwrap_or_default(),
        result["latency"]["unpinned_added_us"],
        cpu("direct", "client"),
        cpu("direct", "upstream"),
        cpu("proxy", "client"),
        cpu("proxy", "upstream"),
        cpu("proxy", "proxy"),
        direct / proxied,
        number(throughput, "proxy_median_rps") / number(throughput, "direct_median_rps"),
    );
    Ok(())
}

/// The mock, the proxy in front of it and the two connection files of the load generator.
struct Setup {
    mock: MockServer,
    mock_addr: String,
    exchange_url: String,
    proxy: Proxy,
    direct: String,
    through: String,
}

impl Setup {
    fn start(root: &Path, scratch: &Path) -> Result<Setup> {
        let mock = start_mock(root, 3600, 0)?;
        let mock_addr = mock.base.trim_start_matches("http://").to_owned();
        let exchange_url = format!("{}/oauth/token", mock.base);
        let (workload, direct) = connections(&scratch.join("p8"), &mock.base)?;
        let proxy = start_proxy(root, &workload, &exchange_url)?;
        let through = scratch.join("p8/through-proxy.json");
        std::fs::write(
            &through,
            json!({"conn_type": "openai", "host": format!("http://{}/v1", proxy.addr),
                   "password": PLACEHOLDER_KEY,
                   "extra": {"openai_client_kwargs": {"max_retries": 0}}})
            .to_string(),
        )?;
        Ok(Setup {
            mock,
            mock_addr,
            exchange_url,
            proxy,
            direct,
            through: through.display().to_string(),
        })
    }

    /// Latency at concurrency 1 and throughput at 16, alternating direct and proxied:
    /// `{"latency", "throughput"}`.
    fn speed(&self, root: &Path) -> Result<Value> {
        let load = |connection: &str, requests: &str, concurrency: &str, cpu: Option<usize>| {
            let args = [
                "--conn",
                connection,
                "--requests",
                requests,
                "--concurrency",
                concurrency,
                "--warmup",
            ];
            ours_on_cpu(root, "load", &args, &self.exchange_url, cpu)
        };
        let (direct, through) = (self.direct.as_str(), self.through.as_str());
        let (mock, proxy) = (self.mock.child_id(), self.proxy.process.0.id());

        // Latency: the sidecar's placement, pinned, so that both sides cross between the cores
        // the same number of times (see `Placement`); then the same rounds unpinned, as the
        // scheduler places them, for the record.
        let placement = Placement::pin(mock, proxy)?;
        let p50 = |connection: &str, cpu: Option<usize>| -> Result<f64> {
            Ok(number(&load(connection, "3000", "1", cpu)?, "p50_us"))
        };
        let (mut direct_p50, mut proxy_p50, mut added) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let client = placement.as_ref().map(|placement| placement.client);
            let (plain, proxied) = (p50(direct, client)?, p50(through, client)?);
            direct_p50.push(plain);
            proxy_p50.push(proxied);
            added.push(proxied - plain);
        }
        if placement.is_some() {
            Placement::unpin(mock, proxy)?;
        }
        let mut unpinned_added = Vec::new();
        for _ in 0..UNPINNED_ROUNDS {
            let (plain, proxied) = (p50(direct, None)?, p50(through, None)?);
            unpinned_added.push(proxied - plain);
        }

        let (mut direct_rps, mut proxy_rps) = (Vec::new(), Vec::new());
        // CPU of every process during the throughput rounds: what each request costs, whatever
        // else the machine runs meanwhile.
        let (mut direct_cpu, mut proxy_cpu) = (Cpu::default(), Cpu::default());
        let cpu = || Cpu::now(mock, proxy);
        let (requests, concurrency) = (
            THROUGHPUT_REQUESTS.to_string(),
            THROUGHPUT_CONCURRENCY.to_string(),
        );
        let rps = |connection: &str| -> Result<f64> {
            Ok(number(
                &load(connection, &requests, &concurrency, None)?,
                "rps",
            ))
        };
        for _ in 0..ROUNDS {
            let before = cpu()?;
            direct_rps.push(rps(direct)?);
            let between = cpu()?;
            proxy_rps.push(rps(through)?);
            direct_cpu.add_since(before, between);
            proxy_cpu.add_since(between, cpu()?);
        }
        Ok(json!({
            "latency": {
                "placement": placement.map_or_else(
                    || "unpinned (taskset or a second core missing)".to_owned(),
                    |placement| placement.describe(),
                ),
                "direct_p50_us": direct_p50,
                "proxy_p50_us": proxy_p50,
                "added_us": median(&added),
                "unpinned_added_us": unpinned_added,
            },
            "throughput": {
                "concurrency": THROUGHPUT_CONCURRENCY,
                "direct_rps": direct_rps,
                "proxy_rps": proxy_rps,
                "direct_median_rps": median(&direct_rps),
                "proxy_median_rps": median(&proxy_rps),
                "direct_cpu_us_per_request": direct_cpu.per_request(ROUNDS * THROUGHPUT_REQUESTS),
                "proxy_cpu_us_per_request": proxy_cpu.per_request(ROUNDS * THROUGHPUT_REQUESTS),
            },
        }))
    }
}

/// Measures P8 and returns its figures (the `p8` key of `bench/results.json`).
pub(crate) fn run(root: &Path, python: &Path, scratch: &Path) -> Result<Value> {
    let setup = Setup::start(root, scratch)?;
    let (proxy, mock_addr) = (&setup.proxy, setup.mock_addr.as_str());

    // 1. Memory: idle, then with the streams held open, then after they closed.
    let pid = proxy.process.0.id();
    let (idle_kib, idle_fds) = (rss_kib(pid)?, open_fds(pid)?);
    let streams = open_streams(&proxy.addr, STREAMS)?;
    let upstream_streams = fetch_json(mock_addr, "/stats")?["streams"].clone();
    let (streams_kib, streams_fds) = (rss_kib(pid)?, open_fds(pid)?);
    drop(streams);
    std::thread::sleep(Duration::from_millis(500));
    let (closed_kib, closed_fds) = (rss_kib(pid)?, open_fds(pid)?);

    // 2 and 3. Latency at concurrency 1 and throughput at 16.
    let speed = setup.speed(root)?;

    // 4. Exchanges: the mock's count covers the proxy's whole life (its first token included).
    let key_arg = [
        "--base",
        &format!("http://{}", proxy.addr),
        "--api-key",
        PLACEHOLDER_KEY,
    ];
    let before = fetch_json(mock_addr, "/stats")?;
    let through_seconds = python_processes(python, root, PROCESSES, &key_arg)?;
    let after_proxy = fetch_json(mock_addr, "/stats")?;
    let sdk_seconds = python_processes(python, root, PROCESSES, &["--base", &setup.mock.base])?;
    let after_sdk = fetch_json(mock_addr, "/stats")?;
    let count = |stats: &Value, key: &str| stats[key].as_u64().unwrap_or(0);
    let requests = |from: &Value, to: &Value| count(to, "models") - count(from, "models");

    Ok(json!({
        "memory": {
            "streams": STREAMS,
            "upstream_streams": upstream_streams,
            "idle_kib": idle_kib,
            "streams_kib": streams_kib,
            "closed_kib": closed_kib,
            "idle_fds": idle_fds,
            "streams_fds": streams_fds,
            "closed_fds": closed_fds,
        },
        "latency": speed["latency"],
        "throughput": speed["throughput"],
        "exchanges": {
            "processes": PROCESSES,
            "through_proxy": count(&after_proxy, "exchanges"),
            "through_proxy_requests": requests(&before, &after_proxy),
            "through_proxy_seconds": through_seconds,
            "sdk": count(&after_sdk, "exchanges") - count(&after_proxy, "exchanges"),
            "sdk_requests": requests(&after_proxy, &after_sdk),
            "sdk_seconds": sdk_seconds,
        },
    }))
}
