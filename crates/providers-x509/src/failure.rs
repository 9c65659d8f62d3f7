//! What a failed mutual-TLS request means: the server refused our certificate, or we did not
//! trust the server's. Both are read out of the transport error's chain of causes.

use std::error::Error as StdError;

use rustls::AlertDescription;

/// A TLS failure worth a message of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The server ended the handshake with an alert about our certificate (its CA is not
    /// trusted, it expired, none was sent...). `alert` is the TLS name, such as `unknown_ca`.
    CertificateRefused {
        /// The alert's name as in the TLS specification.
        alert: &'static str,
    },
    /// The server's certificate failed our check (not issued by a trusted CA, wrong name...).
    ServerNotTrusted {
        /// Why, from the TLS library.
        reason: String,
    },
}

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsFailure::CertificateRefused { alert } => {
                write!(
                    f,
                    "the server refused the client certificate (TLS alert {alert})"
                )
            }
            TlsFailure::ServerNotTrusted { reason } => write!(
                f,
                "the server's certificate is not trusted ({reason}); set ca_bundle_path to the \
                 CA bundle that issued it, if it is not in the system roots"
            ),
        }
    }
}

fn alert_name(alert: AlertDescription) -> Option<&'static str> {
    Some(match alert {
        AlertDescription::BadCertificate => "bad_certificate",
        AlertDescription::UnsupportedCertificate => "unsupported_certificate",
        AlertDescription::CertificateRevoked => "certificate_revoked",
        AlertDescription::CertificateExpired => "certificate_expired",
        AlertDescription::CertificateUnknown => "certificate_unknown",
        AlertDescription::UnknownCA => "unknown_ca",
        AlertDescription::AccessDenied => "access_denied",
        AlertDescription::CertificateRequired => "certificate_required",
        AlertDescription::HandshakeFailure => "handshake_failure",
        AlertDescription::DecryptError => "decrypt_error",
        _ => return None,
    })
}

fn classify(error: &rustls::Error) -> Option<TlsFailure> {
    match error {
        rustls::Error::AlertReceived(alert) => {
            alert_name(*alert).map(|alert| TlsFailure::CertificateRefused { alert })
        }
        rustls::Error::InvalidCertificate(reason) => Some(TlsFailure::ServerNotTrusted {
            reason: format!("{reason:?}"),
        }),
        _ => None,
    }
}

/// Finds a [`TlsFailure`] among the causes of `error` (a `reqwest::Error`, say). An `io::Error`
/// that wraps a rustls error hides it from `source()`, so each one is opened too.
pub fn tls_failure(error: &(dyn StdError + 'static)) -> Option<TlsFailure> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(rustls_error) = current.downcast_ref::<rustls::Error>() {
            return classify(rustls_error);
        }
        if let Some(inner) = current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && let Some(found) = tls_failure(inner)
        {
            return Some(found);
        }
        next = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_inside_an_io_error_is_found() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::UnknownCA),
        );
        assert_eq!(
            tls_failure(&io),
            Some(TlsFailure::CertificateRefused {
                alert: "unknown_ca"
            })
        );
        let other = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::RecordOverflow),
        );
        assert_eq!(tls_failure(&other), None);
        assert_eq!(tls_failure(&std::io::Error::other("plain")), None);
    }
}
