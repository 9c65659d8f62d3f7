//! `openai-conn proxy` as a library: a local HTTP/1.1 listener that forwards every request under
//! the connection's base path to the connection's base URL with the connection's credential, so
//! that every process of a node shares one workload-identity token and any OpenAI client (one
//! that only knows an API key and a base URL) works unchanged.
//!
//! - [`Listen`] and [`bind`]: loopback or a unix socket (mode 0600); another address only with
//!   [`Access::allow_remote`] and a client key.
//! - [`serve`]: accepts until the shutdown future completes, then stops accepting and lets the
//!   requests in flight finish for up to [`ProxyConfig::drain`].
//! - The forwarding rules ([`forward`]'s module docs): streamed bodies both ways, hop-by-hop and
//!   client credential headers removed, no absolute-form target, no `CONNECT`, one 401 replay for
//!   bodies up to [`REPLAY_BODY_LIMIT`], no retries of its own.
//! - `GET /healthz` and `GET /metrics` (Prometheus text) are answered by the proxy itself.
//!
//! The connection's resolution, token cache and transport (TLS, X.509 client certificates, no
//! redirects) are `openai-conn-client`'s [`Upstream`]; this crate adds none of its own.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod forward;
mod health;
mod listen;
mod metrics;
mod server;

use std::time::Duration;

pub use forward::{HOP_BY_HOP_HEADERS, REPLAY_BODY_LIMIT};
pub use listen::{Access, DEFAULT_LISTEN, Listen, Listener, bind, read_client_key};
pub use openai_conn_client::Upstream;
pub use server::{runtime, runtime_with_idle_hook, serve};

/// What the proxy serves with, besides its upstream.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// Who may use the proxy: the client key, if any.
    pub access: Access,
    /// How long requests in flight may take to finish after shutdown starts. Default: 30 s.
    pub drain: Duration,
}

/// The default of [`ProxyConfig::drain`] (`--drain-seconds 30`).
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(30);

impl ProxyConfig {
    /// A configuration with `access` and the default drain.
    pub fn new(access: Access) -> Self {
        ProxyConfig {
            access,
            drain: DEFAULT_DRAIN,
        }
    }

    /// Sets [`ProxyConfig::drain`].
    pub fn with_drain(mut self, drain: Duration) -> Self {
        self.drain = drain;
        self
    }
}

/// Why the proxy could not start. No message holds a key or a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// A `--listen` value that is neither `IP:PORT` nor `unix:PATH`.
    #[error(
        "invalid listen address {value:?}: expected IP:PORT (such as 127.0.0.1:8787) or unix:PATH"
    )]
    InvalidListen {
        /// The value given.
        value: String,
    },
    /// A non-loopback address without `--allow-remote` and a client key.
    #[error(
        "refusing to listen on {addr}: it is not a loopback address; give --allow-remote together \
         with --client-key-file to serve other hosts"
    )]
    RemoteRefused {
        /// The address.
        addr: std::net::SocketAddr,
    },
    /// `--allow-remote` without a client key would be an open door.
    #[error(
        "--allow-remote needs --client-key-file: without a key anyone who reaches the port would use the credential"
    )]
    RemoteWithoutKey,
    /// The client key file could not be read or is empty.
    #[error("client key file {path}: {reason}")]
    ClientKey {
        /// The file.
        path: std::path::PathBuf,
        /// Why (never the content).
        reason: String,
    },
    /// The unix socket path exists and is not a socket.
    #[error("{path} exists and is not a socket; remove it or choose another path")]
    PathInUse {
        /// The path.
        path: std::path::PathBuf,
    },
    /// Binding failed.
    #[error("cannot listen on {listen}: {source}")]
    Bind {
        /// The address or socket path.
        listen: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}
