//! `openai-conn proxy`: loads the connection and starts `openai_conn_proxy` in front of it until
//! SIGTERM or Ctrl-C. The rules (where it may listen, what is forwarded) are the library's.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use openai_conn_client::upstream;
use openai_conn_proxy::{Access, DEFAULT_LISTEN, Listen, ProxyConfig, ProxyError, bind, serve};

use crate::source::SourceArgs;
use crate::{EXIT_INVALID, EXIT_USAGE, load_connection};

/// Arguments of `proxy`.
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Where to listen: `IP:PORT` (loopback unless --allow-remote) or `unix:PATH` (a socket of
    /// mode 0600).
    #[arg(long, value_name = "ADDRESS", default_value = DEFAULT_LISTEN)]
    listen: String,
    /// A file holding the key every client must send as its API key (`Authorization: Bearer`,
    /// `api-key` or `x-api-key`); compared in constant time, never forwarded.
    #[arg(long, value_name = "FILE")]
    client_key_file: Option<PathBuf>,
    /// Serve a non-loopback address; needs --client-key-file.
    #[arg(long)]
    allow_remote: bool,
    /// Seconds the requests in flight may take to finish after SIGTERM.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    drain_seconds: u64,
    /// The connection file (JSON, TOML or YAML); `-` reads standard input, in the format it is
    /// written in (or the one `--stdin-filename` names).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

/// Runs the proxy until SIGTERM or Ctrl-C; exit 0 after the drain.
pub(crate) fn run(args: &ProxyArgs) -> ExitCode {
    let usage = |error: ProxyError| {
        errln!("openai-conn: {error}");
        ExitCode::from(EXIT_USAGE)
    };
    let listen: Listen = match args.listen.parse() {
        Ok(listen) => listen,
        Err(error) => return usage(error),
    };
    let mut access = Access::local().with_allow_remote(args.allow_remote);
    if let Some(path) = &args.client_key_file {
        match openai_conn_proxy::read_client_key(path) {
            Ok(key) => access = access.with_client_key(key),
            Err(error) => return usage(error),
        }
    }
    let usable = match load_connection(&args.source, args.file.as_ref()) {
        Ok(usable) => usable,
        Err(code) => return code,
    };
    let upstream = match upstream(&usable.connection, &usable.conn_id, usable.options()) {
        Ok(upstream) => upstream,
        Err(error) => {
            errln!("{error}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    if let Some(warning) = upstream.plan().cleartext_warning() {
        errln!("openai-conn: warning: {warning}");
    }
    let runtime = match openai_conn_proxy::runtime_with_idle_hook(crate::deferred_log::flush) {
        Ok(runtime) => runtime,
        Err(error) => {
            errln!("openai-conn: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    runtime.block_on(async {
        let listener = match bind(&listen, &access).await {
            Ok(listener) => listener,
            Err(error @ ProxyError::Bind { .. }) => {
                errln!("openai-conn: {error}");
                return ExitCode::from(EXIT_INVALID);
            }
            Err(error) => return usage(error),
        };
        let shown = match listener.local_addr() {
            Some(addr) => addr.to_string(),
            None => listen.to_string(),
        };
        errln!(
            "openai-conn proxy: listening on {shown}, forwarding {} to {} ({})",
            match upstream.base_url().path() {
                "" | "/" => "/",
                path => path,
            },
            upstream.plan().base_url,
            if upstream.token_cache().is_some() {
                "workload identity"
            } else {
                "api key"
            }
        );
        let config = ProxyConfig::new(access).with_drain(Duration::from_secs(args.drain_seconds));
        serve(listener, upstream, config, shutdown_signal()).await;
        crate::deferred_log::flush();
        errln!("openai-conn proxy: stopped");
        ExitCode::SUCCESS
    })
}

/// SIGTERM (what Kubernetes and systemd send) or Ctrl-C.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(error) => {
            errln!("openai-conn: cannot watch SIGTERM ({error}); stop with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
