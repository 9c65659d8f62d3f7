//! The accept loop and the drain: one task per connection (HTTP/1.1 with keep-alive), all of
//! them told to finish when shutdown starts, and cut at the drain deadline.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::forward::{Shared, handle};
use crate::health::{Health, keep_fresh};
use crate::listen::Listener;
use crate::{ProxyConfig, Upstream};

/// Serves `listener` until `shutdown` completes; then stops accepting (a unix socket is removed),
/// lets the requests in flight finish for up to `config.drain` and closes what is left.
///
/// Under workload identity the first token is fetched at once and kept fresh in the background,
/// so `/healthz` turns ready without traffic.
pub async fn serve(
    listener: Listener,
    upstream: Upstream,
    config: ProxyConfig,
    shutdown: impl Future<Output = ()>,
) {
    let health = Arc::new(Health::default());
    let keeper = upstream
        .token_cache()
        .map(|cache| tokio::spawn(keep_fresh(cache.clone(), Arc::clone(&health))));
    let shared = Arc::new(Shared::new(upstream, config.access, health));
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener) => match accepted {
                Ok(Accepted::Tcp(stream)) => {
                    connections.spawn(connection(stream, Arc::clone(&shared), stopped.clone()));
                }
                Ok(Accepted::Unix(stream)) => {
                    connections.spawn(connection(stream, Arc::clone(&shared), stopped.clone()));
                }
                Err(error) => {
                    // Out of file descriptors, say: wait a little instead of spinning.
                    tracing::warn!(target: "openai_conn_proxy", error = %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop.send(true);
    tracing::info!(
        target: "openai_conn_proxy",
        connections = connections.len(),
        drain_seconds = config.drain.as_secs_f64(),
        "shutting down: no new connections; draining"
    );
    let drained = tokio::time::timeout(config.drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            target: "openai_conn_proxy",
            connections = connections.len(),
            "drain deadline reached; closing the connections left"
        );
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
    if let Some(keeper) = keeper {
        keeper.abort();
    }
}

/// The runtime `serve` is meant to run on: tokio's multi-threaded scheduler with one worker.
///
/// Forwarding costs tens of microseconds of CPU per request against upstream latencies of
/// milliseconds to seconds, so one worker carries far more than a node's clients send; a second
/// worker costs CPU on every request for the hand-offs between the threads (6 to 11 % of the
/// proxy's CPU time per request against the loopback mock; README, P8). Blocking work still goes
/// to tokio's blocking pool.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    runtime_with_idle_hook(|| {})
}

/// [`runtime`], calling `on_idle` each time its worker is about to go idle: where work that
/// must not delay a request can be done, such as writing the log lines gathered meanwhile.
pub fn runtime_with_idle_hook(
    on_idle: impl Fn() + Send + Sync + 'static,
) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .on_thread_park(on_idle)
        .enable_all()
        .build()
}

enum Accepted {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn accept(listener: &Listener) -> std::io::Result<Accepted> {
    Ok(match listener {
        Listener::Tcp(listener) => {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            Accepted::Tcp(stream)
        }
        Listener::Unix(listener, _) => Accepted::Unix(listener.accept().await?.0),
    })
}

async fn connection<I>(io: I, shared: Arc<Shared>, mut stopped: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(handle(&shared, request).await) }
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = async { let _ = stopped.wait_for(|stopped| *stopped).await; } => {
            // Finish the request in flight, if any, then close; an idle connection closes now.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(target: "openai_conn_proxy", error = %error, "connection ended with an error");
    }
}
