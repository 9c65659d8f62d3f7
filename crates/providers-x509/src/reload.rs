//! The identity that follows its files: checked by file metadata on every use, read again when
//! they change, and the HTTP clients rebuilt for the new certificate.
//!
//! cert-manager and SPIFFE helpers rotate certificates in place, by an atomic symlink swap or by
//! rewriting each file. Each use compares the files' metadata (device, inode, length, modification
//! and change times) with the loaded generation's: three `stat` calls and one atomic load when
//! nothing changed. When something did, one caller reloads (the others keep the current
//! generation meanwhile) and publishes a new generation with its own rustls configuration, so
//! the next connection presents the new certificate and no TLS session of the old one is resumed.
//! A reload that fails (a half-written pair, a key that no longer matches) keeps the current
//! generation, logs a warning naming the file, and is tried again when the files change again:
//! requests keep working with the certificate that still works.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use providers_http::{Proxy, client_builder};
use rustls::ClientConfig;

use crate::error::X509Error;
use crate::identity::{Material, X509Files, load};

/// What the metadata of one file says; `None` when it cannot be read (missing mid-rotation).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp {
    device: u64,
    inode: u64,
    length: u64,
    modified: Option<SystemTime>,
    changed: i64,
    changed_nanos: i64,
}

#[cfg(unix)]
fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).ok()?;
    Some(Stamp {
        device: metadata.dev(),
        inode: metadata.ino(),
        length: metadata.len(),
        modified: metadata.modified().ok(),
        changed: metadata.ctime(),
        changed_nanos: metadata.ctime_nsec(),
    })
}

#[cfg(not(unix))]
fn stamp(path: &Path) -> Option<Stamp> {
    let metadata = std::fs::metadata(path).ok()?;
    Some(Stamp {
        device: 0,
        inode: 0,
        length: metadata.len(),
        modified: metadata.modified().ok(),
        changed: 0,
        changed_nanos: 0,
    })
}

type Signature = Vec<Option<Stamp>>;

fn signature(files: &X509Files) -> Signature {
    files.paths().map(stamp).collect()
}

/// One loaded generation of the identity.
pub struct Generation {
    number: u64,
    signature: Signature,
    config: Arc<ClientConfig>,
    not_after: SystemTime,
}

impl Generation {
    /// 1 for the first load, then one more per successful reload.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The rustls client configuration: this generation's certificate and key, and the roots.
    pub fn tls_config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// When this generation's certificate expires.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generation")
            .field("number", &self.number)
            .field("not_after", &crate::validity::format_utc(self.not_after))
            .field("tls_config", &"[redacted]")
            .finish()
    }
}

/// How long a certificate that is not valid yet waits before it is read again: time, not a
/// change of the files, is what will make it load.
pub(crate) const NOT_YET_VALID_RECHECK: Duration = Duration::from_secs(30);

#[derive(Default)]
struct ReloadState {
    // The signature of the files when the last reload failed: the same files are not parsed
    // again until they change, or, for a certificate that is not valid yet, until `retry_at`.
    failed: Option<Signature>,
    retry_at: Option<SystemTime>,
    last_error: Option<Arc<X509Error>>,
}

impl ReloadState {
    /// Whether the files with `signature` already failed to load and are not due again at `now`.
    fn skips(&self, signature: &Signature, now: SystemTime) -> bool {
        self.failed.as_ref() == Some(signature) && self.retry_at.is_none_or(|at| now < at)
    }
}

/// An X.509 identity that is read again whenever its files change on disk.
///
/// Cheap to share behind an `Arc`; [`ReloadingIdentity::current`] takes no lock unless the files
/// changed. Debug shows the paths and the generation, never key material.
pub struct ReloadingIdentity {
    files: X509Files,
    current: ArcSwap<Generation>,
    reload: Mutex<ReloadState>,
}

impl std::fmt::Debug for ReloadingIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingIdentity")
            .field("files", &self.files)
            .field("generation", &self.current.load().number)
            .finish_non_exhaustive()
    }
}

impl ReloadingIdentity {
    /// Reads and checks the files now: a missing file, no certificate, a key that does not match
    /// or a certificate that is expired or not valid yet is an error naming the file.
    pub fn load(files: X509Files) -> Result<Self, X509Error> {
        let signature = signature(&files);
        let Material { config, not_after } = load(&files, SystemTime::now())?;
        Ok(ReloadingIdentity {
            files,
            current: ArcSwap::from_pointee(Generation {
                number: 1,
                signature,
                config,
                not_after,
            }),
            reload: Mutex::new(ReloadState::default()),
        })
    }

    /// The files this identity follows.
    pub fn files(&self) -> &X509Files {
        &self.files
    }

    /// The current generation, after reloading the files if they changed since it was loaded.
    pub fn current(&self) -> Arc<Generation> {
        let current = self.current.load_full();
        let now = signature(&self.files);
        if now == current.signature {
            return current;
        }
        // One caller reloads; the others carry on with the current generation meanwhile.
        let Ok(mut state) = self.reload.try_lock() else {
            return current;
        };
        let current = self.current.load_full();
        let clock = SystemTime::now();
        if now == current.signature || state.skips(&now, clock) {
            return current;
        }
        match load(&self.files, clock) {
            Ok(Material { config, not_after }) => {
                let next = Arc::new(Generation {
                    number: current.number + 1,
                    signature: now,
                    config,
                    not_after,
                });
                self.current.store(Arc::clone(&next));
                state.failed = None;
                state.retry_at = None;
                state.last_error = None;
                tracing::info!(
                    target: "providers_x509",
                    generation = next.number,
                    certificate_path = %self.files.certificate_path.display(),
                    not_after = %crate::validity::format_utc(next.not_after),
                    "client certificate reloaded"
                );
                next
            }
            Err(error) => {
                tracing::warn!(
                    target: "providers_x509",
                    generation = current.number,
                    error = %error,
                    "client certificate files changed but could not be loaded; the current certificate stays in use"
                );
                state.retry_at = matches!(error, X509Error::NotYetValid { .. })
                    .then(|| clock + NOT_YET_VALID_RECHECK);
                state.failed = Some(now);
                state.last_error = Some(Arc::new(error));
                current
            }
        }
    }

    /// Why the last reload failed, while the files still hold what failed to load.
    pub fn last_reload_error(&self) -> Option<Arc<X509Error>> {
        self.reload
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .last_error
            .clone()
    }
}

/// A `reqwest::Client` that presents the identity's current certificate: rebuilt (new
/// connections, new TLS sessions) when the identity moves to a new generation. Redirects are
/// never followed; a proxy named by the environment applies.
#[derive(Debug)]
pub struct ReloadingClient {
    identity: Arc<ReloadingIdentity>,
    // Per phase, as the official SDK's: the connect, and each read (a reply that keeps sending
    // is never cut).
    connect_timeout: Duration,
    read_timeout: Duration,
    current: ArcSwap<BuiltClient>,
}

/// The client built for one generation of the identity. Debug shows the generation only, not the
/// client's configuration.
struct BuiltClient {
    generation: u64,
    client: reqwest::Client,
}

impl std::fmt::Debug for BuiltClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltClient")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

fn build(
    config: &ClientConfig,
    connect_timeout: Duration,
    read_timeout: Duration,
) -> Result<reqwest::Client, X509Error> {
    client_builder(Proxy::FromEnvironment)
        .connect_timeout(connect_timeout)
        .read_timeout(read_timeout)
        .tls_backend_preconfigured(config.clone())
        .build()
        .map_err(X509Error::HttpClient)
}

impl ReloadingClient {
    /// A client for `identity` whose connect and each read time out after `timeout`.
    pub fn new(identity: Arc<ReloadingIdentity>, timeout: Duration) -> Result<Self, X509Error> {
        Self::with_timeouts(identity, timeout, timeout)
    }

    /// A client for `identity` whose connect times out after `connect_timeout` and each read
    /// after `read_timeout`.
    pub fn with_timeouts(
        identity: Arc<ReloadingIdentity>,
        connect_timeout: Duration,
        read_timeout: Duration,
    ) -> Result<Self, X509Error> {
        let generation = identity.current();
        let client = build(generation.tls_config(), connect_timeout, read_timeout)?;
        Ok(ReloadingClient {
            identity,
            connect_timeout,
            read_timeout,
            current: ArcSwap::from_pointee(BuiltClient {
                generation: generation.number(),
                client,
            }),
        })
    }

    /// The identity this client follows.
    pub fn identity(&self) -> &Arc<ReloadingIdentity> {
        &self.identity
    }

    /// The client for the identity's current generation (a cheap clone).
    pub fn client(&self) -> reqwest::Client {
        let generation = self.identity.current();
        let cached = self.current.load();
        if cached.generation >= generation.number() {
            return cached.client.clone();
        }
        match build(
            generation.tls_config(),
            self.connect_timeout,
            self.read_timeout,
        ) {
            Ok(client) => {
                self.current.store(Arc::new(BuiltClient {
                    generation: generation.number(),
                    client: client.clone(),
                }));
                client
            }
            Err(error) => {
                // Building a client from a configuration that already loaded does not fail in
                // practice; if it does, the previous certificate keeps serving.
                tracing::warn!(target: "providers_x509", error = %error, "could not rebuild the mutual-TLS client");
                cached.client.clone()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_files_are_skipped_until_they_change_or_a_not_yet_valid_one_is_due() {
        let epoch = SystemTime::UNIX_EPOCH;
        let failed: Signature = vec![None];
        let changed: Signature = vec![None, None];
        let mut state = ReloadState {
            failed: Some(failed.clone()),
            retry_at: None,
            last_error: None,
        };
        // Any other failure: skipped for as long as the files stay the same.
        assert!(state.skips(&failed, epoch + Duration::from_secs(1_000_000)));
        assert!(!state.skips(&changed, epoch));
        // A certificate that is not valid yet: skipped until it is due again.
        state.retry_at = Some(epoch + NOT_YET_VALID_RECHECK);
        assert!(state.skips(&failed, epoch));
        assert!(!state.skips(&failed, epoch + NOT_YET_VALID_RECHECK));
        assert!(!ReloadState::default().skips(&failed, epoch));
    }
}
