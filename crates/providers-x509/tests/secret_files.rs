//! The certificate files are read like every other secret file: regular files only,
//! bounded, never blocking on a FIFO; an encrypted key is named as such.
#![cfg(unix)]

mod support;

use std::path::Path;

use providers_x509::{X509Error, X509Files, exposed_key_mode};
use support::{load, workload_pair};

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
}

#[test]
fn fifos_devices_directories_and_huge_files_are_refused_without_blocking() {
    let (directory, cert, key) = workload_pair();
    let fifo = directory.path().join("fifo.pem");
    mkfifo(&fifo);
    let huge = directory.path().join("huge.pem");
    std::fs::write(&huge, vec![b'x'; 1024 * 1024 + 1]).expect("write");
    for (bad, expected) in [
        (fifo.as_path(), "not a regular file (it is a named pipe)"),
        (
            Path::new("/dev/zero"),
            "not a regular file (it is a character device)",
        ),
        (directory.path(), "not a regular file (it is a directory)"),
        (huge.as_path(), "larger than the limit of 1048576 bytes"),
    ] {
        for files in [
            X509Files::new(bad, &key),
            X509Files::new(&cert, bad),
            X509Files::new(&cert, &key).with_ca_bundle(bad),
        ] {
            let error = load(files);
            assert!(
                matches!(&error, X509Error::Read { path, .. } if path == bad),
                "{error:?}"
            );
            assert!(error.to_string().ends_with(expected), "{error}");
        }
    }
}

#[test]
fn an_encrypted_key_is_reported_as_encrypted() {
    let (directory, cert, _) = workload_pair();
    let pkcs8 = directory.path().join("pkcs8.pem");
    std::fs::write(
        &pkcs8,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .expect("write");
    let legacy = directory.path().join("legacy.pem");
    std::fs::write(
        &legacy,
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
    )
    .expect("write");
    for key in [&pkcs8, &legacy] {
        let error = load(X509Files::new(&cert, key));
        assert!(
            matches!(&error, X509Error::EncryptedKey { path } if path == key),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("holds an encrypted private key, which is not supported"),
            "{error}"
        );
    }
}

#[test]
fn a_key_readable_by_group_or_others_is_exposed() {
    use std::os::unix::fs::PermissionsExt as _;

    let (_directory, _, key) = workload_pair();
    for (mode, exposed) in [
        (0o600, None),
        (0o400, None),
        (0o640, Some(0o640)),
        (0o604, Some(0o604)),
        (0o644, Some(0o644)),
    ] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).expect("chmod");
        assert_eq!(exposed_key_mode(&key), exposed, "{mode:o}");
    }
}
