//! What a diagnosis shows of the client certificate: subject, issuer, SAN URIs (a SPIFFE id),
//! serial and validity, read straight from the DER (as `validity` reads the dates: no X.509
//! parser in the tree), and whether the chain verifies against `ca_bundle_path`. Nothing of the
//! key is read here.

use std::sync::Arc;
use std::time::SystemTime;

use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;

use crate::error::{FileRole, X509Error};
use crate::identity::{X509Files, certificates, provider};
use crate::validity::{Tbs, element, expect, tbs, validity};

const SEQUENCE: u8 = 0x30;
const EXTENSIONS: u8 = 0xa3;
const OBJECT_IDENTIFIER: u8 = 0x06;
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
/// `GeneralName`'s `uniformResourceIdentifier [6] IA5String`.
const URI_NAME: u8 = 0x86;
/// `id-ce-subjectAltName`, 2.5.29.17.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
/// The longest name or URI kept, in characters.
const MAX_TEXT_CHARS: usize = 256;

/// The facts of the workload's certificate (the first of `certificate_path`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateFacts {
    /// The subject, as `CN=..., O=...`.
    pub subject: String,
    /// The issuer, in the same form.
    pub issuer: String,
    /// The serial number in hexadecimal.
    pub serial: String,
    /// The URIs of the subject alternative names (a SPIFFE id is one).
    pub san_uris: Vec<String>,
    /// `notBefore`.
    pub not_before: SystemTime,
    /// `notAfter`.
    pub not_after: SystemTime,
    /// Whether the chain verifies, for client authentication, against the certificates of
    /// `ca_bundle_path` (`Err` holds why not); `None` without a bundle.
    pub verifies_against_ca_bundle: Option<Result<(), String>>,
}

/// Reads the facts of the certificate in `files` (and verifies its chain against the CA bundle,
/// when there is one, at `now`).
pub fn certificate_facts(
    files: &X509Files,
    now: SystemTime,
) -> Result<CertificateFacts, X509Error> {
    let path = &files.certificate_path;
    let chain = certificates(FileRole::Certificate, path)?;
    let bad = |reason: &'static str| X509Error::BadCertificate {
        path: path.clone(),
        reason,
    };
    let (not_before, not_after) = validity(&chain[0]).map_err(bad)?;
    let names = names(&chain[0]).map_err(bad)?;
    let verifies_against_ca_bundle = match &files.ca_bundle_path {
        Some(bundle) => Some(verify(
            &chain,
            &certificates(FileRole::CaBundle, bundle)?,
            now,
        )),
        None => None,
    };
    Ok(CertificateFacts {
        subject: names.subject,
        issuer: names.issuer,
        serial: names.serial,
        san_uris: names.san_uris,
        not_before,
        not_after,
        verifies_against_ca_bundle,
    })
}

fn verify(
    chain: &[CertificateDer<'static>],
    anchors: &[CertificateDer<'static>],
    now: SystemTime,
) -> Result<(), String> {
    let mut roots = RootCertStore::empty();
    for anchor in anchors {
        roots
            .add(anchor.clone())
            .map_err(|error| format!("unusable CA certificate: {error}"))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|error| format!("{error}"))?;
    let seconds = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    verifier
        .verify_client_cert(&chain[0], &chain[1..], UnixTime::since_unix_epoch(seconds))
        .map(|_| ())
        .map_err(|error| format!("{error}"))
}

struct Names {
    subject: String,
    issuer: String,
    serial: String,
    san_uris: Vec<String>,
}

/// Walks `tbsCertificate` (RFC 5280 section 4.1) for the serial, the issuer, the subject and the
/// SAN extension.
fn names(der: &[u8]) -> Result<Names, &'static str> {
    let Tbs {
        serial,
        issuer,
        subject,
        after_subject,
        ..
    } = tbs(der)?;
    let (_, mut rest) = expect(after_subject, SEQUENCE, "no public key")?;
    let mut san_uris = Vec::new();
    while !rest.is_empty() {
        let (tag, content, next) = element(rest)?;
        if tag == EXTENSIONS {
            san_uris = subject_alt_uris(content)?;
        }
        rest = next;
    }
    let serial = serial
        .iter()
        .skip_while(|byte| **byte == 0)
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    Ok(Names {
        subject: name(subject)?,
        issuer: name(issuer)?,
        serial: if serial.is_empty() {
            "00".to_owned()
        } else {
            serial
        },
        san_uris,
    })
}

/// A `Name` as `CN=..., O=...`: each attribute of each RDN, short names for the common types.
fn name(mut rdns: &[u8]) -> Result<String, &'static str> {
    let mut parts = Vec::new();
    while !rdns.is_empty() {
        let (_, mut set, next) = element(rdns)?;
        while !set.is_empty() {
            let (attribute, after) = expect(set, SEQUENCE, "malformed name")?;
            let (oid, value) = expect(attribute, OBJECT_IDENTIFIER, "malformed name")?;
            let (_, value, _) = element(value)?;
            parts.push(format!("{}={}", attribute_name(oid), text(value)));
            set = after;
        }
        rdns = next;
    }
    Ok(parts.join(", "))
}

fn attribute_name(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".to_owned(),
        [0x55, 0x04, 0x06] => "C".to_owned(),
        [0x55, 0x04, 0x07] => "L".to_owned(),
        [0x55, 0x04, 0x08] => "ST".to_owned(),
        [0x55, 0x04, 0x0a] => "O".to_owned(),
        [0x55, 0x04, 0x0b] => "OU".to_owned(),
        other => dotted(other),
    }
}

fn dotted(oid: &[u8]) -> String {
    let Some((first, rest)) = oid.split_first() else {
        return String::new();
    };
    let mut arcs = vec![u64::from(*first / 40), u64::from(*first % 40)];
    let mut value = 0u64;
    for byte in rest {
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            arcs.push(value);
            value = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .take(MAX_TEXT_CHARS)
        .collect()
}

/// The URIs of the subject-alternative-name extension among `extensions` (`[3]` content).
fn subject_alt_uris(extensions: &[u8]) -> Result<Vec<String>, &'static str> {
    let (mut list, _) = expect(extensions, SEQUENCE, "malformed extensions")?;
    let mut uris = Vec::new();
    while !list.is_empty() {
        let (extension, next) = expect(list, SEQUENCE, "malformed extension")?;
        let (oid, mut rest) = expect(extension, OBJECT_IDENTIFIER, "malformed extension")?;
        if rest.first() == Some(&BOOLEAN) {
            rest = element(rest)?.2;
        }
        if oid == SUBJECT_ALT_NAME {
            let (value, _) = expect(rest, OCTET_STRING, "malformed extension")?;
            let (mut names, _) = expect(value, SEQUENCE, "malformed subject alternative name")?;
            while !names.is_empty() {
                let (tag, content, after) = element(names)?;
                if tag == URI_NAME {
                    uris.push(text(content));
                }
                names = after;
            }
        }
        list = next;
    }
    Ok(uris)
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use super::*;
    use crate::testing::TestCa;

    #[test]
    fn names_serial_and_the_chain_are_read() {
        let directory = tempfile::tempdir().expect("temp dir");
        let ca = TestCa::new("facts ca");
        let spiffe = "spiffe://example.org/ns/jobs/sa/trainer";
        let (certificate, key) = ca
            .client_with_uri("workload-1", spiffe)
            .write(directory.path(), "client");
        let bundle = directory.path().join("ca.pem");
        std::fs::write(&bundle, ca.pem()).expect("bundle");
        let files = X509Files::new(&certificate, &key).with_ca_bundle(&bundle);
        let facts = certificate_facts(&files, SystemTime::now()).expect("facts");
        assert!(facts.subject.contains("CN=workload-1"), "{facts:?}");
        assert!(facts.issuer.contains("CN=facts ca"), "{facts:?}");
        assert!(!facts.serial.is_empty());
        assert_eq!(facts.san_uris, [spiffe]);
        assert_eq!(facts.verifies_against_ca_bundle, Some(Ok(())));

        let other = TestCa::new("other ca");
        std::fs::write(&bundle, other.pem()).expect("bundle");
        let facts = certificate_facts(&files, SystemTime::now()).expect("facts");
        assert!(
            matches!(facts.verifies_against_ca_bundle, Some(Err(_))),
            "{facts:?}"
        );
    }
}
