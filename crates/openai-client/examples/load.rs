//! Load generator: N `GET {base}/models` through the real client built from a connection.
//!
//! `cargo run --release -p openai-conn-client --example load -- --conn FILE --requests N --concurrency C`
//! prints one JSON object:
//! `{"requests","ok","failed","exchanges","subject_fetches","rps","p50_us","p99_us","max_us"}`
//! (`exchanges` and `subject_fetches` are the token cache's own counters; 0 under an API key).
//! `--pace-ms P` makes each task wait P ms between requests (a steady stream rather than a
//! flood), `waited` counts requests slower than `--waited-ms` (default 100), the sign of a
//! request that waited for an exchange, and `--warmup` sends one untimed request first.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use conn_load::{ProcessEnv, SourceSpec, load};
use conn_schema::DocumentKind;
use openai_conn_client::{ClientOptions, from_connection};
use serde_json::json;

struct Args {
    conn: String,
    requests: usize,
    concurrency: usize,
    pace: Duration,
    waited_threshold: Duration,
    warmup: bool,
}

fn parse_args() -> Result<Args, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|index| args.get(index + 1))
            .cloned()
    };
    let number = |name: &str, default: usize| -> Result<usize, String> {
        value(name).map_or(Ok(default), |text| {
            text.parse()
                .map_err(|_| format!("{name} must be a whole number"))
        })
    };
    Ok(Args {
        conn: value("--conn")
            .ok_or("usage: load --conn FILE --requests N --concurrency C [--pace-ms P]")?,
        requests: number("--requests", 1000)?,
        concurrency: number("--concurrency", 16)?.max(1),
        pace: Duration::from_millis(number("--pace-ms", 0)? as u64),
        waited_threshold: Duration::from_millis(number("--waited-ms", 100)? as u64),
        warmup: args.iter().any(|arg| arg == "--warmup"),
    })
}

fn percentile(sorted: &[u64], fraction: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let loaded = match load(
        &SourceSpec::File(args.conn.clone().into()),
        DocumentKind::Auto,
        &ProcessEnv,
    ) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let Some(connection) = loaded.report.connection() else {
        eprint!("{}", loaded.report.render(&loaded.label));
        return ExitCode::from(1);
    };
    let connected = match from_connection(connection, "load", ClientOptions::new()) {
        Ok(connected) => connected,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(1);
        }
    };
    // With --warmup one untimed request takes the cold start (the first exchange) out of the
    // figures, so they show the steady state.
    if args.warmup && connected.client.models().list().await.is_err() {
        eprintln!("the warm-up request failed");
        return ExitCode::from(1);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let client = connected.client.clone();
        let (next, failed) = (Arc::clone(&next), Arc::clone(&failed));
        let (requests, pace) = (args.requests, args.pace);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let sent = Instant::now();
                if client.models().list().await.is_err() {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                latencies.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
                if !pace.is_zero() {
                    tokio::time::sleep(pace).await;
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::with_capacity(args.requests);
    for task in tasks {
        match task.await {
            Ok(mut part) => latencies.append(&mut part),
            Err(error) => eprintln!("a load task failed: {error}"),
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let failed = failed.load(Ordering::Relaxed);
    let threshold = u64::try_from(args.waited_threshold.as_micros()).unwrap_or(u64::MAX);
    let (exchanges, subject_fetches) = connected
        .token_cache
        .as_ref()
        .map_or((0, 0), |cache| (cache.exchanges(), cache.subject_fetches()));
    println!(
        "{}",
        json!({
            "requests": latencies.len(),
            "ok": latencies.len() - failed.min(latencies.len()),
            "failed": failed,
            "exchanges": exchanges,
            "subject_fetches": subject_fetches,
            "rps": latencies.len() as f64 / elapsed.as_secs_f64().max(1e-9),
            "p50_us": percentile(&latencies, 0.50),
            "p99_us": percentile(&latencies, 0.99),
            "max_us": latencies.last().copied().unwrap_or(0),
            "waited": latencies.iter().filter(|latency| **latency >= threshold).count(),
            "elapsed_s": elapsed.as_secs_f64(),
        })
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
