//! Token-cache scenarios for `cargo xtask bench`, against the loopback mock (`mock_openai`).
//!
//! `token_bench read --exchange-url URL [--iterations N] [--threads T]`: P1, the cached-token read
//! on a warm cache, in nanoseconds per read. `token_bench cold --exchange-url URL [--callers N]`:
//! P2, N concurrent first calls; prints the exchanges and subject fetches they caused.
//! `token_bench floor --exchange-url URL [--threads T]`: what the parts of a cached read cost alone.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use openai_conn_client::TokenCache;
use openai_conn_client::providers_core::MapEnv;
use serde_json::json;

#[path = "../benches/support/mod.rs"]
mod support;

use support::StaticSource;

fn argument(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == name)
        .and_then(|index| args.get(index + 1))
        .cloned()
}

fn number(name: &str, default: u64) -> u64 {
    argument(name)
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

fn cache(url: &str) -> Result<TokenCache, String> {
    TokenCache::builder(Arc::new(StaticSource), "idp-bench", "sa-bench")
        .exchange_url(url)
        .env(Arc::new(MapEnv::new()))
        .build()
        .map_err(|error| error.to_string())
}

/// P1: reads of a warm cache, on `threads` OS threads with a current-thread runtime each.
fn read(url: &str, iterations: u64, threads: u64) -> Result<serde_json::Value, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    let cache = cache(url)?;
    runtime
        .block_on(cache.token())
        .map_err(|error| error.to_string())?;
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let cache = cache.clone();
            std::thread::spawn(move || -> Result<(), String> {
                let local = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|error| error.to_string())?;
                local.block_on(async {
                    for _ in 0..iterations {
                        let token = cache.token().await.map_err(|error| error.to_string())?;
                        std::hint::black_box(&token);
                    }
                    Ok(())
                })
            })
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| "a reader thread panicked".to_owned())??;
    }
    let elapsed = started.elapsed();
    let reads = iterations * threads;
    Ok(json!({
        "threads": threads,
        "reads": reads,
        "ns_per_read": elapsed.as_nanos() as f64 / iterations as f64,
        "reads_per_second": reads as f64 / elapsed.as_secs_f64(),
        "exchanges": cache.exchanges(),
    }))
}

/// The floor under P1: what the read path's parts cost alone, on `threads` threads at once. A
/// cached read is a clock read (tokio's `Instant`, which the cache uses so tests can pause time),
/// an `ArcSwap` load and an `Arc` clone of the shared token.
fn floor(iterations: u64, threads: u64) -> Result<serde_json::Value, String> {
    fn per_op(iterations: u64, threads: u64, work: impl Fn() + Send + Sync + 'static) -> f64 {
        let work = Arc::new(work);
        let started = Instant::now();
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let work = Arc::clone(&work);
                std::thread::spawn(move || {
                    for _ in 0..iterations {
                        work();
                    }
                })
            })
            .collect();
        for worker in workers {
            let _ = worker.join();
        }
        started.elapsed().as_nanos() as f64 / iterations as f64
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    let _guard = runtime.enter();
    let shared = Arc::new(String::from("token"));
    let swap = Arc::new(arc_swap::ArcSwapOption::from(Some(Arc::clone(&shared))));
    let std_now = per_op(iterations, threads, || {
        std::hint::black_box(std::time::Instant::now());
    });
    let tokio_now = per_op(iterations, threads, || {
        std::hint::black_box(tokio::time::Instant::now());
    });
    let load = per_op(iterations, threads, move || {
        std::hint::black_box(swap.load().is_some());
    });
    let clone = per_op(iterations, threads, move || {
        std::hint::black_box(Arc::clone(&shared));
    });
    Ok(json!({
            "threads": threads,
            "std_instant_now_ns": std_now,
            "tokio_instant_now_ns": tokio_now,
            "arc_swap_load_ns": load,
            "arc_clone_drop_ns": clone,
    }))
}

/// P2: `callers` concurrent first calls on a cold cache.
fn cold(url: &str, callers: u64) -> Result<serde_json::Value, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    let cache = cache(url)?;
    let failures = runtime.block_on(async {
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.token().await.is_err() })
            })
            .collect();
        let mut failures = 0;
        for task in tasks {
            if task.await.unwrap_or(true) {
                failures += 1;
            }
        }
        failures
    });
    Ok(json!({
        "callers": callers,
        "failures": failures,
        "exchanges": cache.exchanges(),
        "subject_fetches": cache.subject_fetches(),
    }))
}

fn main() -> ExitCode {
    let Some(url) = argument("--exchange-url") else {
        eprintln!("usage: token_bench read|cold --exchange-url URL");
        return ExitCode::from(2);
    };
    let result = match std::env::args().nth(1).as_deref() {
        Some("read") => read(
            &url,
            number("--iterations", 2_000_000),
            number("--threads", 1),
        ),
        Some("cold") => cold(&url, number("--callers", 1000)),
        Some("floor") => floor(number("--iterations", 2_000_000), number("--threads", 1)),
        _ => Err("the first argument is read or cold".to_owned()),
    };
    match result {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
    }
}
