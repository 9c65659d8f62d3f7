//! X.509 workload identity: the workload holds a client certificate (a SPIFFE X.509 SVID, a
//! cert-manager certificate, a service-mesh identity) instead of a subject token, and presents
//! it over mutual TLS to the token exchange and to the API.
//!
//! - [`X509Files`]: the certificate chain, the key and the optional CA bundle, as plain paths
//!   (this crate knows no connection format).
//! - [`ReloadingIdentity`]: the files read and checked (a certificate, valid now, a key that
//!   matches it, usable CA certificates; each failure an [`X509Error`] naming the file), and read
//!   again whenever they change on disk, keeping the last good certificate when a new one does not
//!   load.
//! - [`ReloadingClient`]: a `reqwest::Client` (rustls, redirects never followed) that presents the
//!   identity's current certificate, rebuilt when it changes.
//! - [`tls_failure`]: whether a transport error means the server refused the certificate, or we
//!   did not trust the server.
//!
//! No type here prints key material: Debug shows paths, generations and expiry dates only.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod failure;
mod identity;
mod reload;
mod signals;
mod validity;

#[cfg(feature = "test-util")]
pub mod testing;

pub use error::{FileRole, X509Error};
pub use failure::{TlsFailure, tls_failure};
pub use identity::{X509Files, exposed_key_mode};
pub use reload::{Generation, ReloadingClient, ReloadingIdentity};
pub use signals::{CertificateFacts, certificate_facts};
