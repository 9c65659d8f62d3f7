//! The reloading client against a mutual-TLS server on 127.0.0.1: the certificate it presents,
//! a certificate from another CA refused (and recognised as such), a server outside the roots,
//! and a rotation presented on the next request.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Extension, Router};
use providers_x509::testing::{ClientFiles, MtlsServer, PeerCertificate, TestCa};
use providers_x509::{ReloadingClient, ReloadingIdentity, TlsFailure, X509Files, tls_failure};

/// Answers with the common name's position among the known certificates: the test compares DER.
fn echo_router() -> Router {
    Router::new().route(
        "/whoami",
        get(
            |Extension(PeerCertificate(peer)): Extension<PeerCertificate>| async move {
                peer.as_ref().to_vec()
            },
        ),
    )
}

struct Setup {
    _directory: tempfile::TempDir,
    ca: TestCa,
    server: MtlsServer,
    client: ClientFiles,
}

impl Setup {
    /// The client's files as the client is configured with them.
    fn files(&self) -> X509Files {
        X509Files::new(&self.client.certificate_path, &self.client.private_key_path)
            .with_ca_bundle(&self.client.ca_bundle_path)
    }
}

async fn setup() -> Setup {
    let directory = tempfile::tempdir().expect("a temporary directory can be made");
    let ca = TestCa::new("ca");
    let server = MtlsServer::start(echo_router(), &ca.server(), &[&ca]).await;
    let client = ca.client_files(directory.path(), "workload-1");
    Setup {
        _directory: directory,
        ca,
        server,
        client,
    }
}

fn client(files: X509Files) -> ReloadingClient {
    let identity =
        Arc::new(ReloadingIdentity::load(files).expect("the test certificate and key load"));
    ReloadingClient::new(identity, Duration::from_secs(10)).expect("the mutual-TLS client builds")
}

async fn whoami(client: &ReloadingClient, server: &MtlsServer) -> Result<Vec<u8>, reqwest::Error> {
    let response = client
        .client()
        .get(server.url("/whoami"))
        .send()
        .await?
        .error_for_status()?;
    Ok(response.bytes().await?.to_vec())
}

#[tokio::test]
async fn the_server_sees_the_configured_client_certificate() {
    let setup = setup().await;
    let client = client(setup.files());
    let seen = whoami(&client, &setup.server)
        .await
        .expect("the mutual-TLS server answers");
    assert_eq!(seen, setup.client.client.der.as_ref());
    assert_eq!(setup.server.refused_handshakes(), 0);
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_and_recognised_as_refused() {
    let setup = setup().await;
    let stranger = TestCa::new("another ca").client("intruder");
    stranger.write_to(
        &setup.client.certificate_path,
        &setup.client.private_key_path,
    );
    let client = client(setup.files());
    let error = whoami(&client, &setup.server)
        .await
        .expect_err("the step fails");
    assert_eq!(
        tls_failure(&error),
        Some(TlsFailure::CertificateRefused {
            alert: "unknown_ca"
        }),
        "{error:?}"
    );
    assert_eq!(setup.server.refused_handshakes(), 1);
}

#[tokio::test]
async fn a_server_outside_the_roots_is_not_trusted() {
    let setup = setup().await;
    // The system roots (no ca_bundle_path) do not hold the test CA; and a bundle of another CA
    // replaces the system roots: also not trusted.
    let system_roots = X509Files::new(
        &setup.client.certificate_path,
        &setup.client.private_key_path,
    );
    let other = setup._directory.path().join("other.pem");
    std::fs::write(&other, TestCa::new("other").pem()).expect("the test file can be written");
    for files in [system_roots, setup.files().with_ca_bundle(&other)] {
        let error = whoami(&client(files), &setup.server)
            .await
            .expect_err("the server is not trusted");
        assert!(
            matches!(
                tls_failure(&error),
                Some(TlsFailure::ServerNotTrusted { .. })
            ),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn after_a_rotation_the_next_request_presents_the_new_certificate() {
    let setup = setup().await;
    let client = client(setup.files());
    assert_eq!(
        whoami(&client, &setup.server)
            .await
            .expect("the mutual-TLS server answers"),
        setup.client.client.der.as_ref()
    );
    let rotated = setup.ca.client("workload-2");
    rotated.write_to(
        &setup.client.certificate_path,
        &setup.client.private_key_path,
    );
    assert_eq!(
        whoami(&client, &setup.server)
            .await
            .expect("the mutual-TLS server answers"),
        rotated.der.as_ref()
    );
    assert_eq!(client.identity().current().number(), 2);
}
