//! Where the proxy listens and who may use it: loopback TCP or a unix socket (mode 0600) by
//! default; any other address only with `allow_remote` and a client key, which every forwarded
//! request must then carry (compared in constant time).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use tokio::net::{TcpListener, UnixListener};

use crate::ProxyError;

/// The default `--listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// A `--listen` value: `IP:PORT` or `unix:PATH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A unix socket path.
    Unix(PathBuf),
}

impl FromStr for Listen {
    type Err = ProxyError;

    fn from_str(value: &str) -> Result<Self, ProxyError> {
        if let Some(path) = value.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(ProxyError::InvalidListen {
                    value: value.to_owned(),
                });
            }
            return Ok(Listen::Unix(PathBuf::from(path)));
        }
        value
            .parse()
            .map(Listen::Tcp)
            .map_err(|_| ProxyError::InvalidListen {
                value: value.to_owned(),
            })
    }
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Tcp(addr) => addr.fmt(f),
            Listen::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Who may use the proxy.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Access {
    /// The key every forwarded request must carry (`Authorization: Bearer KEY`, `api-key` or
    /// `x-api-key`); `None` lets every local process in.
    pub client_key: Option<SecretString>,
    /// Whether a non-loopback address may be served (only together with a client key).
    pub allow_remote: bool,
}

impl Access {
    /// Local processes only, without a key.
    pub fn local() -> Self {
        Access::default()
    }

    /// Requires `key` on every forwarded request.
    pub fn with_client_key(mut self, key: SecretString) -> Self {
        self.client_key = Some(key);
        self
    }

    /// Allows a non-loopback address (refused by [`bind`] without a client key).
    pub fn with_allow_remote(mut self, allow: bool) -> Self {
        self.allow_remote = allow;
        self
    }

    /// Whether a request presenting `presented` may pass: always without a client key, else
    /// only when one of them is the key (each compared in constant time).
    pub(crate) fn admits(&self, presented: &[&[u8]]) -> bool {
        match &self.client_key {
            None => true,
            Some(key) => presented
                .iter()
                .any(|presented| constant_time_eq(key.expose_secret().as_bytes(), presented)),
        }
    }
}

/// Compares in time that depends on the lengths only, never on where the bytes differ.
fn constant_time_eq(expected: &[u8], presented: &[u8]) -> bool {
    if expected.len() != presented.len() {
        return false;
    }
    let difference = expected
        .iter()
        .zip(presented)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

/// Reads a client key file (at most 64 KiB, a regular file, surrounding whitespace trimmed).
pub fn read_client_key(path: &Path) -> Result<SecretString, ProxyError> {
    let error = |reason: String| ProxyError::ClientKey {
        path: path.to_owned(),
        reason,
    };
    let bytes = providers_core::read_regular_file(path, providers_core::MAX_TOKEN_FILE_BYTES)
        .map_err(|e| error(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| error("not UTF-8".to_owned()))?;
    let key = text.trim();
    if key.is_empty() {
        return Err(error("empty".to_owned()));
    }
    Ok(SecretString::from(key.to_owned()))
}

/// A bound listener.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// A unix socket, removed again when the listener is dropped.
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// The TCP address (tests bind port 0), `None` for a unix socket.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Listener::Tcp(listener) => listener.local_addr().ok(),
            Listener::Unix(..) => None,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Binds `listen` if `access` allows it: a TCP address must be loopback unless
/// `access.allow_remote` is set, which needs a client key; a unix socket is created with mode
/// 0600 (a stale socket at the path is replaced, any other file is refused).
pub async fn bind(listen: &Listen, access: &Access) -> Result<Listener, ProxyError> {
    if access.allow_remote && access.client_key.is_none() {
        return Err(ProxyError::RemoteWithoutKey);
    }
    let bind_error = |source| ProxyError::Bind {
        listen: listen.to_string(),
        source,
    };
    match listen {
        Listen::Tcp(addr) => {
            if !addr.ip().is_loopback() && !access.allow_remote {
                return Err(ProxyError::RemoteRefused { addr: *addr });
            }
            TcpListener::bind(addr)
                .await
                .map(Listener::Tcp)
                .map_err(bind_error)
        }
        Listen::Unix(path) => {
            use std::os::unix::fs::FileTypeExt;
            match std::fs::symlink_metadata(path) {
                Ok(meta) if meta.file_type().is_socket() => {
                    std::fs::remove_file(path).map_err(bind_error)?;
                }
                Ok(_) => return Err(ProxyError::PathInUse { path: path.clone() }),
                Err(_) => {}
            }
            // The socket file is created with mode 0600 from the start (no window in which
            // another user could connect); the umask is restored at once.
            let previous = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
            let bound = UnixListener::bind(path);
            rustix::process::umask(previous);
            bound
                .map(|listener| Listener::Unix(listener, path.clone()))
                .map_err(bind_error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_values_parse_or_are_refused() {
        assert_eq!(
            "127.0.0.1:8787".parse::<Listen>().ok(),
            Some(Listen::Tcp(SocketAddr::from(([127, 0, 0, 1], 8787))))
        );
        assert_eq!(
            "unix:/run/p.sock".parse::<Listen>().ok(),
            Some(Listen::Unix(PathBuf::from("/run/p.sock")))
        );
        for bad in ["localhost:8787", "unix:", "8787", ""] {
            assert!(bad.parse::<Listen>().is_err(), "{bad}");
        }
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"key-1", b"key-1"));
        assert!(!constant_time_eq(b"key-1", b"key-2"));
        assert!(!constant_time_eq(b"key-1", b"key-10"));
        assert!(!constant_time_eq(b"key-1", b""));
    }
}
