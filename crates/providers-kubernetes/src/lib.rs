//! The Kubernetes subject-token source: the projected service-account token file.
//!
//! This crate owns [`KubernetesSource`], which reads the token file on every fetch, and
//! [`KubernetesError`], which says why a read failed. The kubelet rotates projected tokens by
//! writing a new timestamped directory and atomically swapping the `..data` symlink that the
//! `token` link points through; opening the file by path on every fetch is what picks the new
//! token up, so nothing here caches or watches the file (caching belongs to the access-token
//! cache of `openai-conn-client`).
//!
//! The source knows no connection format: it is built from a path.
//!
//! The crate has no async runtime and no HTTP stack: `cargo xtask tidy` fails if tokio, reqwest or
//! hyper enter its normal dependency tree, so a program can read the token without them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io;
use std::path::{Path, PathBuf};

use providers_core::{
    BoxFuture, MAX_TOKEN_FILE_BYTES, SourceError, SubjectToken, SubjectTokenSource, TokenType,
    read_regular_file,
};
use secrecy::SecretString;
use secrecy::zeroize::Zeroizing;

mod signals;
pub use signals::{DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH, KubernetesSignals, SERVICE_HOST_ENV};

/// The name this source reports in a [`SourceError`].
const PROVIDER: &str = "kubernetes";
/// The step every failure of this source belongs to.
const STEP: &str = "reading the token file";

/// Reads the projected service-account token from a file, again on every fetch.
///
/// The token is trimmed of surrounding whitespace and has the type `jwt`. Debug shows the path
/// only; the source never keeps a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubernetesSource {
    path: PathBuf,
}

impl KubernetesSource {
    /// The type of every token this source yields: a projected service-account token is a JWT.
    pub const TOKEN_TYPE: TokenType = TokenType::Jwt;

    /// A source reading the token file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        KubernetesSource { path: path.into() }
    }

    /// The path of the token file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and checks the token file once.
    fn read(&self) -> Result<SubjectToken, KubernetesError> {
        // The raw bytes are the token, so they are wiped when dropped, whatever the outcome.
        let bytes = Zeroizing::new(
            read_regular_file(&self.path, MAX_TOKEN_FILE_BYTES)
                .map_err(|source| classify(&self.path, source))?,
        );
        let text = std::str::from_utf8(&bytes).map_err(|source| KubernetesError::NotUtf8 {
            path: self.path.clone(),
            source,
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(KubernetesError::Empty {
                path: self.path.clone(),
            });
        }
        Ok(SubjectToken::new(
            SecretString::from(token),
            Self::TOKEN_TYPE,
        ))
    }
}

impl SubjectTokenSource for KubernetesSource {
    fn fetch(&self) -> BoxFuture<'_, Result<SubjectToken, SourceError>> {
        // The file is read with blocking `std::fs` inside the future on purpose: it is a few
        // kilobytes on a local tmpfs (projected volumes are memory-backed), so the read takes
        // microseconds and would cost more to hand to a blocking pool than to do here. Doing it
        // here also keeps this crate free of any async runtime.
        Box::pin(async move { self.read().map_err(SourceError::from) })
    }

    fn endpoint(&self) -> Option<String> {
        Some(self.endpoint_description())
    }
}

/// Why the token file could not be turned into a token. Every variant names the path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubernetesError {
    /// The file does not exist (the service-account token is not projected into this pod, or
    /// `token_file_path` is wrong).
    #[error(
        "token file {} does not exist; expected a projected service-account token there",
        path.display()
    )]
    NotFound {
        /// The configured path.
        path: PathBuf,
        /// The error from the file system.
        #[source]
        source: io::Error,
    },
    /// The process may not read the file.
    #[error(
        "permission denied reading token file {}; the process needs read access to it",
        path.display()
    )]
    PermissionDenied {
        /// The configured path.
        path: PathBuf,
        /// The error from the file system.
        #[source]
        source: io::Error,
    },
    /// The file holds bytes that are not UTF-8, so it cannot be a JWT.
    #[error("token file {} is not valid UTF-8; expected a JWT", path.display())]
    NotUtf8 {
        /// The configured path.
        path: PathBuf,
        /// Where decoding failed (a position only, never the bytes).
        #[source]
        source: std::str::Utf8Error,
    },
    /// The file is empty or holds only whitespace.
    #[error("token file {} is empty; expected a JWT", path.display())]
    Empty {
        /// The configured path.
        path: PathBuf,
    },
    /// Any other failure to read the file: it is not a regular file (a directory, a FIFO, a
    /// device such as `/dev/zero`, refused before it is opened), it is larger than
    /// [`MAX_TOKEN_FILE_BYTES`], or an I/O error.
    #[error("could not read token file {}: {source}", path.display())]
    Read {
        /// The configured path.
        path: PathBuf,
        /// The error from the file system.
        #[source]
        source: io::Error,
    },
}

impl KubernetesError {
    /// The path of the token file that could not be read.
    pub fn path(&self) -> &Path {
        match self {
            KubernetesError::NotFound { path, .. }
            | KubernetesError::PermissionDenied { path, .. }
            | KubernetesError::NotUtf8 { path, .. }
            | KubernetesError::Empty { path }
            | KubernetesError::Read { path, .. } => path,
        }
    }
}

impl From<KubernetesError> for SourceError {
    fn from(error: KubernetesError) -> Self {
        // None of these failures clears up by retrying within one exchange: a missing, unreadable
        // or malformed file stays so until someone changes the pod or the configuration.
        SourceError::new(PROVIDER, STEP, false, error)
    }
}

/// Maps an I/O error from reading `path` to the variant that says what went wrong.
fn classify(path: &Path, source: io::Error) -> KubernetesError {
    let path = path.to_path_buf();
    match source.kind() {
        io::ErrorKind::NotFound => KubernetesError::NotFound { path, source },
        io::ErrorKind::PermissionDenied => KubernetesError::PermissionDenied { path, source },
        _ => KubernetesError::Read { path, source },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_kinds_map_to_their_variants() {
        let path = Path::new("/var/run/secrets/token");
        let denied = classify(path, io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(
            matches!(&denied, KubernetesError::PermissionDenied { path, .. } if path == Path::new("/var/run/secrets/token")),
            "{denied:?}"
        );
        assert_eq!(
            denied.to_string(),
            "permission denied reading token file /var/run/secrets/token; the process needs read \
             access to it"
        );

        let missing = classify(path, io::Error::from(io::ErrorKind::NotFound));
        assert!(
            matches!(missing, KubernetesError::NotFound { .. }),
            "{missing:?}"
        );

        let other = classify(path, io::Error::other("disk on fire"));
        assert!(matches!(other, KubernetesError::Read { .. }), "{other:?}");
        assert_eq!(
            other.to_string(),
            "could not read token file /var/run/secrets/token: disk on fire"
        );
    }

    #[test]
    fn permission_denied_becomes_a_permanent_kubernetes_source_error() {
        let error: SourceError = classify(
            Path::new("/t"),
            io::Error::from(io::ErrorKind::PermissionDenied),
        )
        .into();
        assert_eq!(error.provider(), "kubernetes");
        assert_eq!(error.step(), "reading the token file");
        assert!(!error.is_transient());
        let cause = error.cause().downcast_ref::<KubernetesError>();
        assert!(
            matches!(cause, Some(KubernetesError::PermissionDenied { .. })),
            "{cause:?}"
        );
    }
}
