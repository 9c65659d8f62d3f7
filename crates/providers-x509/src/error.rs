//! The one error type of the crate: which file, which step, what was expected.

use std::path::PathBuf;

/// Which of the configured files a problem is about; shown as the connection key that names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileRole {
    /// `certificate_path`: the PEM client certificate chain.
    Certificate,
    /// `private_key_path`: the PEM private key.
    PrivateKey,
    /// `ca_bundle_path`: the PEM CA bundle.
    CaBundle,
}

impl FileRole {
    /// The connection key that names this file.
    pub fn key(self) -> &'static str {
        match self {
            FileRole::Certificate => "certificate_path",
            FileRole::PrivateKey => "private_key_path",
            FileRole::CaBundle => "ca_bundle_path",
        }
    }
}

providers_core::display_via!(FileRole, key);

/// Loading the client certificate, its key or the CA bundle failed, or the TLS set-up built from
/// them did. Every message names the file; none holds key material (a PEM parse error of the key
/// file is reported without its details, which could quote the key).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum X509Error {
    /// The file does not exist.
    #[error("{role} {path:?} does not exist")]
    Missing {
        /// Which file.
        role: FileRole,
        /// Its path.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read {role} {path:?}: {source}")]
    Read {
        /// Which file.
        role: FileRole,
        /// Its path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid PEM.
    #[error("{role} {path:?} is not valid PEM")]
    Pem {
        /// Which file.
        role: FileRole,
        /// Its path.
        path: PathBuf,
    },
    /// The certificate file (or the CA bundle) holds no certificate.
    #[error(
        "{role} {path:?} holds no certificate: expected a PEM block \"-----BEGIN CERTIFICATE-----\""
    )]
    NoCertificate {
        /// Which file.
        role: FileRole,
        /// Its path.
        path: PathBuf,
    },
    /// The key file holds no private key.
    #[error(
        "private_key_path {path:?} holds no private key: expected a PEM block \"-----BEGIN PRIVATE \
         KEY-----\", \"-----BEGIN RSA PRIVATE KEY-----\" or \"-----BEGIN EC PRIVATE KEY-----\""
    )]
    NoPrivateKey {
        /// The key file.
        path: PathBuf,
    },
    /// The key file holds an encrypted private key, which is not supported.
    #[error(
        "private_key_path {path:?} holds an encrypted private key, which is not supported: \
         decrypt it into a file only the workload can read (openssl pkey -in KEY -out KEY.dec)"
    )]
    EncryptedKey {
        /// The key file.
        path: PathBuf,
    },
    /// The private key cannot be used (an unsupported algorithm, say).
    #[error("private_key_path {path:?}: the key cannot be used: {reason}")]
    UnusableKey {
        /// The key file.
        path: PathBuf,
        /// Why, from the TLS library (never the key itself).
        reason: String,
    },
    /// The private key is not the key of the certificate.
    #[error(
        "the private key in private_key_path {private_key_path:?} does not match the certificate \
         in certificate_path {certificate_path:?}"
    )]
    KeyMismatch {
        /// The certificate file.
        certificate_path: PathBuf,
        /// The key file.
        private_key_path: PathBuf,
    },
    /// The first certificate of the chain cannot be read.
    #[error("certificate_path {path:?}: the certificate cannot be read: {reason}")]
    BadCertificate {
        /// The certificate file.
        path: PathBuf,
        /// What was wrong.
        reason: &'static str,
    },
    /// The certificate's validity has ended.
    #[error(
        "the certificate in certificate_path {path:?} expired at {not_after}; renew it, or point \
         certificate_path at the current one"
    )]
    Expired {
        /// The certificate file.
        path: PathBuf,
        /// Its `notAfter`, as `YYYY-MM-DDTHH:MM:SSZ`.
        not_after: String,
    },
    /// The certificate's validity has not begun yet (more than a minute of clock skew ahead).
    #[error(
        "the certificate in certificate_path {path:?} is not valid before {not_before}; check \
         this host's clock, or wait until the certificate is valid"
    )]
    NotYetValid {
        /// The certificate file.
        path: PathBuf,
        /// Its `notBefore`, as `YYYY-MM-DDTHH:MM:SSZ`.
        not_before: String,
    },
    /// A certificate of the CA bundle cannot be used as a trust anchor.
    #[error("ca_bundle_path {path:?}: a certificate cannot be used as a CA: {reason}")]
    BadCaCertificate {
        /// The bundle.
        path: PathBuf,
        /// Why, from the TLS library.
        reason: String,
    },
    /// The TLS configuration could not be built (the system roots could not be loaded, say).
    #[error("could not set up TLS for the client certificate: {reason}")]
    Tls {
        /// Why, from the TLS library.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("could not build the mutual-TLS http client")]
    HttpClient(#[source] reqwest::Error),
}
