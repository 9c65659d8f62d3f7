//! Loading and reloading the certificate files: each file error names the file, nothing prints
//! key material, and a rotation on disk is picked up (a half-written rotation keeps the old
//! certificate until the pair is whole again).

mod support;

use std::path::Path;

use providers_x509::testing::{TestCa, write_atomically};
use providers_x509::{FileRole, X509Error, X509Files};
use support::{load, loads, refused, workload_client, workload_pair, written_and_loaded};

fn key_body(key_pem: &str) -> String {
    // The base64 body of the key, without its BEGIN/END lines.
    key_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect::<String>()
}

#[test]
fn a_valid_pair_loads_as_generation_one() {
    let (_directory, _, _, _, identity) = written_and_loaded("workload");
    assert_eq!(identity.current().number(), 1);
    assert!(identity.last_reload_error().is_none());
}

#[test]
fn each_missing_file_is_named() {
    let (directory, cert, key) = workload_pair();
    let nowhere = directory.path().join("nowhere.pem");
    let cases = [
        ("certificate_path", X509Files::new(&nowhere, &key)),
        ("private_key_path", X509Files::new(&cert, &nowhere)),
        (
            "ca_bundle_path",
            X509Files::new(&cert, &key).with_ca_bundle(&nowhere),
        ),
    ];
    for (key_name, files) in cases {
        let error = load(files);
        assert!(
            matches!(&error, X509Error::Missing { role, path } if role.key() == key_name && path == &nowhere),
            "{key_name}: {error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("{key_name} {nowhere:?} does not exist")
        );
    }
}

#[test]
fn a_certificate_file_without_a_certificate_is_an_error_naming_it() {
    let (directory, client, _, key) = workload_client();
    // A common mistake: the key file given twice.
    let error = load(X509Files::new(&key, &key));
    assert!(
        matches!(&error, X509Error::NoCertificate { role: FileRole::Certificate, path } if path == &key),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("holds no certificate"), "{text}");
    assert!(text.contains("BEGIN CERTIFICATE"), "{text}");
    assert!(!text.contains(&key_body(&client.key_pem)), "{text}");

    let empty = directory.path().join("empty.crt");
    std::fs::write(&empty, "").expect("the test file can be written");
    assert!(matches!(
        load(X509Files::new(&empty, &key)),
        X509Error::NoCertificate { .. }
    ));
}

#[test]
fn a_key_file_without_a_key_is_an_error_naming_it() {
    let (_directory, cert, _) = workload_pair();
    let error = load(X509Files::new(&cert, &cert));
    assert!(
        matches!(&error, X509Error::NoPrivateKey { path } if path == &cert),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("holds no private key"),
        "{error}"
    );
}

#[test]
fn a_key_that_does_not_match_the_certificate_names_both_files() {
    let directory = tempfile::tempdir().expect("a temporary directory can be made");
    let ca = TestCa::new("ca");
    let (cert, _) = ca.client("one").write(directory.path(), "one");
    let other = ca.client("two");
    let (_, other_key) = other.write(directory.path(), "two");
    let error = load(X509Files::new(&cert, &other_key));
    assert!(matches!(error, X509Error::KeyMismatch { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains(&format!("{other_key:?}")) && text.contains(&format!("{cert:?}")),
        "{text}"
    );
    assert!(text.contains("does not match"), "{text}");
    assert!(!text.contains(&key_body(&other.key_pem)), "{text}");
}

#[test]
fn a_certificate_outside_its_validity_is_an_error_with_its_date() {
    let ca = TestCa::new("ca");
    // The client, the error it is refused with, the date the error names, and what it says.
    let cases = [
        (
            ca.expired_client("old"),
            "Expired",
            "2000-01-01T00:00:00Z",
            "expired at",
        ),
        (
            ca.future_client("early"),
            "NotYetValid",
            "4000-01-01T00:00:00Z",
            "is not valid before",
        ),
    ];
    for (client, variant, date, says) in cases {
        let (_directory, cert, error) = refused(&client);
        let (refused_as, named) = match &error {
            X509Error::Expired { path, not_after } if path == &cert => ("Expired", not_after),
            X509Error::NotYetValid { path, not_before } if path == &cert => {
                ("NotYetValid", not_before)
            }
            other => panic!("{variant}: a validity error naming {cert:?} was expected: {other:?}"),
        };
        assert_eq!((refused_as, named.as_str()), (variant, date), "{cert:?}");
        let message = error.to_string();
        assert!(
            message.contains(&format!("certificate_path {cert:?}"))
                && message.contains(&format!("{says} {date}")),
            "{variant}: {message}"
        );
    }
}

#[test]
fn a_broken_key_file_says_so_without_quoting_it() {
    let (_directory, cert, key) = workload_pair();
    let secretish =
        "-----BEGIN PRIVATE KEY-----\nTOPSECRET!!notbase64\n-----END PRIVATE KEY-----\n";
    std::fs::write(&key, secretish).expect("the test file can be written");
    let error = load(X509Files::new(&cert, &key));
    assert!(
        matches!(
            &error,
            X509Error::Pem {
                role: FileRole::PrivateKey,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!format!("{error} {error:?}").contains("TOPSECRET"));
}

#[test]
fn a_ca_bundle_without_certificates_is_an_error_naming_it() {
    let (directory, cert, key) = workload_pair();
    let bundle = directory.path().join("bundle.pem");
    std::fs::write(&bundle, "no pem here\n").expect("the test file can be written");
    let error = load(X509Files::new(&cert, &key).with_ca_bundle(&bundle));
    assert!(
        matches!(&error, X509Error::NoCertificate { role: FileRole::CaBundle, path } if path == &bundle),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("ca_bundle_path "), "{error}");
}

#[test]
fn debug_never_shows_key_material() {
    let (_directory, client, cert, key) = workload_client();
    let identity = loads(X509Files::new(&cert, &key));
    let client_http = providers_x509::ReloadingClient::new(
        std::sync::Arc::new(identity),
        std::time::Duration::from_secs(5),
    )
    .expect("the mutual-TLS client builds");
    let debug = format!(
        "{client_http:?} {:?} {:?}",
        client_http.identity().current(),
        client
    );
    let body = key_body(&client.key_pem);
    for chunk in body.as_bytes().chunks(16) {
        assert!(
            !debug.contains(std::str::from_utf8(chunk).expect("the chunk is UTF-8 (PEM is ASCII)")),
            "{debug}"
        );
    }
    assert!(debug.contains("client.crt"), "{debug}");
}

fn rotate(cert: &Path, key: &Path, pem_cert: &str, pem_key: &str) {
    write_atomically(cert, pem_cert);
    write_atomically(key, pem_key);
}

#[test]
fn a_rotation_is_picked_up_and_a_half_written_one_keeps_the_old_certificate() {
    let (_directory, ca, cert, key, identity) = written_and_loaded("one");
    let first = identity.current();
    assert_eq!(first.number(), 1);
    // Unchanged files: the same generation, not a reload.
    assert!(std::sync::Arc::ptr_eq(&first, &identity.current()));

    let two = ca.client("two");
    rotate(&cert, &key, &two.cert_pem, &two.key_pem);
    assert_eq!(identity.current().number(), 2);

    // The certificate is replaced first, the key not yet: the pair does not match, so the
    // current certificate stays in use and the failure is kept for messages.
    let three = ca.client("three");
    write_atomically(&cert, &three.cert_pem);
    assert_eq!(identity.current().number(), 2);
    assert_eq!(identity.current().number(), 2);
    assert!(matches!(
        identity.last_reload_error().as_deref(),
        Some(X509Error::KeyMismatch { .. })
    ));

    // The key arrives: the pair loads.
    write_atomically(&key, &three.key_pem);
    assert_eq!(identity.current().number(), 3);
    assert!(identity.last_reload_error().is_none());

    // The files vanish mid-rotation: still generation 3.
    std::fs::remove_file(&cert).expect("the file can be removed");
    assert_eq!(identity.current().number(), 3);
    assert!(matches!(
        identity.last_reload_error().as_deref(),
        Some(X509Error::Missing { .. })
    ));
}

#[test]
fn a_rotation_to_a_certificate_not_valid_yet_keeps_the_current_one() {
    let (_directory, ca, cert, key, identity) = written_and_loaded("one");
    let early = ca.future_client("early");
    rotate(&cert, &key, &early.cert_pem, &early.key_pem);
    assert_eq!(identity.current().number(), 1);
    assert!(matches!(
        identity.last_reload_error().as_deref(),
        Some(X509Error::NotYetValid { .. })
    ));
}
