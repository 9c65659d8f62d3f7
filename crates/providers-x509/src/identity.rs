//! Reading and checking the PEM files, and the rustls client configuration built from them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore};

use crate::error::{FileRole, X509Error};
use crate::validity::{format_utc, validity};

/// The files of an X.509 workload identity, as plain paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X509Files {
    /// The PEM certificate chain, the workload's certificate first.
    pub certificate_path: PathBuf,
    /// The PEM private key of that certificate (PKCS #8, PKCS #1 or SEC1).
    pub private_key_path: PathBuf,
    /// A PEM bundle of CA certificates that replaces the system roots for server certificates.
    pub ca_bundle_path: Option<PathBuf>,
}

impl X509Files {
    /// The certificate and key, with the system roots.
    pub fn new(certificate_path: impl Into<PathBuf>, private_key_path: impl Into<PathBuf>) -> Self {
        X509Files {
            certificate_path: certificate_path.into(),
            private_key_path: private_key_path.into(),
            ca_bundle_path: None,
        }
    }

    /// Replaces the system roots with the CA certificates in `path`.
    pub fn with_ca_bundle(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_bundle_path = Some(path.into());
        self
    }

    pub(crate) fn paths(&self) -> impl Iterator<Item = &Path> {
        [
            Some(self.certificate_path.as_path()),
            Some(self.private_key_path.as_path()),
            self.ca_bundle_path.as_deref(),
        ]
        .into_iter()
        .flatten()
    }
}

/// How far in the future a certificate's `notBefore` may be and the certificate still load: the
/// issuer's clock may run a little ahead of this host's (SPIFFE and cert-manager issue
/// certificates that start the moment they are written), and refusing such a certificate at
/// start-up would fail a workload that is about to be fine.
pub(crate) const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// What a successful load yields: the TLS configuration and the certificate's expiry.
pub(crate) struct Material {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) not_after: SystemTime,
}

/// Reads a PEM file as every secret file is read: a regular file only (a FIFO, a device or a
/// directory is refused, and a path swapped for a FIFO cannot block the open), at most
/// [`providers_core::MAX_CREDENTIAL_FILE_BYTES`].
fn read(role: FileRole, path: &Path) -> Result<Vec<u8>, X509Error> {
    providers_core::read_regular_file(path, providers_core::MAX_CREDENTIAL_FILE_BYTES).map_err(
        |source| match source.kind() {
            std::io::ErrorKind::NotFound => X509Error::Missing {
                role,
                path: path.to_owned(),
            },
            _ => X509Error::Read {
                role,
                path: path.to_owned(),
                source,
            },
        },
    )
}

pub(crate) fn certificates(
    role: FileRole,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, X509Error> {
    let bytes = read(role, path)?;
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| X509Error::Pem {
            role,
            path: path.to_owned(),
        })?;
    if certificates.is_empty() {
        return Err(X509Error::NoCertificate {
            role,
            path: path.to_owned(),
        });
    }
    Ok(certificates)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, X509Error> {
    let bytes = read(FileRole::PrivateKey, path)?;
    // The parse error is dropped on purpose: its text could quote part of the key.
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| match error {
        _ if is_encrypted_key(&bytes) => X509Error::EncryptedKey {
            path: path.to_owned(),
        },
        pem::Error::NoItemsFound => X509Error::NoPrivateKey {
            path: path.to_owned(),
        },
        _ => X509Error::Pem {
            role: FileRole::PrivateKey,
            path: path.to_owned(),
        },
    })
}

/// Whether PEM `bytes` hold an encrypted private key: PKCS #8's `ENCRYPTED PRIVATE KEY` block, or
/// OpenSSL's legacy `Proc-Type: 4,ENCRYPTED` header inside an RSA or EC key block.
fn is_encrypted_key(bytes: &[u8]) -> bool {
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|window| window == needle);
    contains(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") || contains(b"Proc-Type: 4,ENCRYPTED")
}

/// Where the private key file lets others read it: `Some(mode)` when its permission bits give
/// the group or others any access (as ssh refuses an "unprotected private key file"), `None`
/// when only its owner may read it or it cannot be inspected (the load reports that).
pub fn exposed_key_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The crypto provider rustls uses: the process default when one is installed (the clients are
/// built with `providers_http::tls_client_builder`, which installs `ring` unless the program
/// installed another first), else `ring`, the workspace's provider.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// Reads the three files, checks them (a certificate, an unexpired one, a key that matches it,
/// usable CA certificates) and builds the client configuration.
pub(crate) fn load(files: &X509Files, now: SystemTime) -> Result<Material, X509Error> {
    let certificate_path = &files.certificate_path;
    let chain = certificates(FileRole::Certificate, certificate_path)?;
    let (not_before, not_after) =
        validity(&chain[0]).map_err(|reason| X509Error::BadCertificate {
            path: certificate_path.clone(),
            reason,
        })?;
    if not_before > now + CLOCK_SKEW {
        return Err(X509Error::NotYetValid {
            path: certificate_path.clone(),
            not_before: format_utc(not_before),
        });
    }
    if not_after < now {
        return Err(X509Error::Expired {
            path: certificate_path.clone(),
            not_after: format_utc(not_after),
        });
    }
    let key = private_key(&files.private_key_path)?;
    let provider = provider();
    let certified = CertifiedKey::from_der(chain, key, &provider).map_err(|error| match error {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            X509Error::KeyMismatch {
                certificate_path: certificate_path.clone(),
                private_key_path: files.private_key_path.clone(),
            }
        }
        other => X509Error::UnusableKey {
            path: files.private_key_path.clone(),
            reason: other.to_string(),
        },
    })?;
    let tls_error = |error: rustls::Error| X509Error::Tls {
        reason: error.to_string(),
    };
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;
    let builder = match &files.ca_bundle_path {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for certificate in certificates(FileRole::CaBundle, path)? {
                roots
                    .add(certificate)
                    .map_err(|error| X509Error::BadCaCertificate {
                        path: path.clone(),
                        reason: error.to_string(),
                    })?;
            }
            builder.with_root_certificates(roots)
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(
                rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
                    .map_err(tls_error)?,
            )),
    };
    let mut config = builder
        .with_client_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    // reqwest is built without HTTP/2 here; offering only HTTP/1.1 keeps the server from
    // choosing a protocol the client cannot speak.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Material {
        config: Arc::new(config),
        not_after,
    })
}
