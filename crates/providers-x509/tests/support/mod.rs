//! What the file tests share: a client certificate and key written to a temporary directory, and
//! the error a load fails with.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use providers_x509::testing::{TestCa, TestCert};
use providers_x509::{ReloadingIdentity, X509Error, X509Files};

/// A temporary directory holding `client.crt` and `client.key`, a client certificate `workload`
/// of a fresh CA and its key, and their paths. The directory lives as long as the first value.
pub fn workload_pair() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (directory, _, cert, key) = workload_client();
    (directory, cert, key)
}

/// As [`workload_pair`], with the client certificate itself (its PEM texts) second.
pub fn workload_client() -> (tempfile::TempDir, TestCert, PathBuf, PathBuf) {
    let directory = tempfile::tempdir().expect("a temporary directory can be made");
    let client = TestCa::new("ca").client("workload");
    let (cert, key) = client.write(directory.path(), "client");
    (directory, client, cert, key)
}

/// The identity `files` load, which they must.
pub fn loads(files: X509Files) -> ReloadingIdentity {
    ReloadingIdentity::load(files).expect("the test certificate and key load")
}

/// What loading `files` fails with.
pub fn load(files: X509Files) -> X509Error {
    ReloadingIdentity::load(files).expect_err("the load fails")
}

/// The client certificate `name` of a fresh CA written as `client.crt` and `client.key` in a
/// temporary directory and loaded: the directory (which lives as long as the first value), the CA
/// (for the certificates a test rotates to), the two paths, and the identity they loaded as.
pub fn written_and_loaded(
    name: &str,
) -> (
    tempfile::TempDir,
    TestCa,
    PathBuf,
    PathBuf,
    ReloadingIdentity,
) {
    let directory = tempfile::tempdir().expect("a temporary directory can be made");
    let ca = TestCa::new("ca");
    let (cert, key) = ca.client(name).write(directory.path(), "client");
    let identity = loads(X509Files::new(&cert, &key));
    (directory, ca, cert, key, identity)
}

/// `client` written as `client.crt` and `client.key` in a temporary directory (which lives as
/// long as the first value), the certificate's path, and what loading the two fails with.
pub fn refused(client: &TestCert) -> (tempfile::TempDir, PathBuf, X509Error) {
    let directory = tempfile::tempdir().expect("a temporary directory can be made");
    let (cert, key) = client.write(directory.path(), "client");
    let error = load(X509Files::new(&cert, &key));
    (directory, cert, error)
}
