//! Criterion benches of what authentication adds to a request: the cached-token read (one and two
//! threads) and the workload-identity layer around a service that answers at once.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use axum::Router;
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use openai_conn_client::providers_core::MapEnv;
use openai_conn_client::{TokenCache, WorkloadIdentityLayer};
use serde_json::json;
use tower::{Layer, ServiceExt, service_fn};

mod support;

use support::StaticSource;

/// A warm cache whose one exchange went to an in-process mock on 127.0.0.1.
fn warm_cache(runtime: &tokio::runtime::Runtime) -> TokenCache {
    runtime.block_on(async {
        let router = Router::new().route(
            "/oauth/token",
            post(|| async {
                axum::Json(json!({"access_token": "bench-access", "expires_in": 3600}))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, router).await });
        let cache = TokenCache::builder(Arc::new(StaticSource), "idp", "sa")
            .exchange_url(format!("http://{address}/oauth/token"))
            .env(Arc::new(MapEnv::new()))
            .build()
            .expect("cache");
        cache.token().await.expect("first exchange");
        cache
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

fn cached_read(c: &mut Criterion) {
    let runtime = runtime();
    let cache = warm_cache(&runtime);
    let local = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    // One `block_on` per batch, so the figure is the read, not the runtime's entry.
    c.bench_function("cached token read, 1 thread", |b| {
        b.iter_custom(|iterations| {
            local.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    std::hint::black_box(cache.token().await.expect("token"));
                }
                started.elapsed()
            })
        })
    });
    c.bench_function(
        "cached token read, 2 threads (time per read per thread)",
        |b| {
            b.iter_custom(|iterations| {
                let started = Instant::now();
                let workers: Vec<_> = (0..2)
                    .map(|_| {
                        let cache = cache.clone();
                        std::thread::spawn(move || {
                            let local = tokio::runtime::Builder::new_current_thread()
                                .build()
                                .expect("runtime");
                            local.block_on(async {
                                for _ in 0..iterations {
                                    std::hint::black_box(cache.token().await.expect("token"));
                                }
                            });
                        })
                    })
                    .collect();
                for worker in workers {
                    worker.join().expect("reader thread");
                }
                started.elapsed()
            })
        },
    );
}

fn layer_overhead(c: &mut Criterion) {
    let runtime = runtime();
    let cache = warm_cache(&runtime);
    let answer = service_fn(|factory: HttpRequestFactory| async move {
        let request = factory.build().await?;
        std::hint::black_box(&request);
        let response = http::Response::builder()
            .status(200)
            .body(Vec::new())
            .map_err(|error| OpenAIError::InvalidArgument(error.to_string()))?;
        Ok::<_, OpenAIError>(reqwest::Response::from(response))
    });
    // One client for every request: building a client per request would time TLS set-up.
    let client = providers_http::tls_client_builder()
        .build()
        .expect("client");
    let factory = HttpRequestFactory::new(move || {
        let request = client
            .get("http://127.0.0.1:9/v1/models")
            .build()
            .map_err(OpenAIError::Reqwest);
        async move { request }
    });
    let layered = WorkloadIdentityLayer::new(cache).layer(answer);
    let mut group = c.benchmark_group("one request through the tower stack");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("without the layer", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    std::hint::black_box(answer.oneshot(factory.clone()).await.expect("response"));
                }
                started.elapsed()
            })
        })
    });
    group.bench_function("with the workload-identity layer", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    std::hint::black_box(
                        layered
                            .clone()
                            .oneshot(factory.clone())
                            .await
                            .expect("response"),
                    );
                }
                started.elapsed()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, cached_read, layer_overhead);
criterion_main!(benches);
