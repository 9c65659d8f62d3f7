//! Test support (feature `test-util`, never in a normal build): a throw-away CA, certificates
//! issued by it and written to files, and a mutual-TLS HTTP server on 127.0.0.1 that tells each
//! request which client certificate its connection presented.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

/// A certificate authority that exists only for one test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
    pem: String,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// A certificate and its key, as PEM text.
#[derive(Clone)]
pub struct TestCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM.
    pub key_pem: String,
    /// The certificate, DER (what a server sees).
    pub der: CertificateDer<'static>,
}

impl std::fmt::Debug for TestCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCert")
            .field("key_pem", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Writes `contents` to `path` by a rename, as cert-manager's atomic writer does: a reader sees
/// the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, contents: &str) {
    let temporary = path.with_extension("tmp-rotate");
    std::fs::write(&temporary, contents).expect("write the temporary file");
    std::fs::rename(&temporary, path).expect("rename over the old file");
}

impl TestCert {
    /// Writes the certificate and key to `certificate_path` and `private_key_path`, each by a
    /// rename.
    pub fn write_to(&self, certificate_path: &Path, private_key_path: &Path) {
        write_atomically(certificate_path, &self.cert_pem);
        write_atomically(private_key_path, &self.key_pem);
    }

    /// Writes `STEM.crt` and `STEM.key` in `directory`; returns their paths.
    pub fn write(&self, directory: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let certificate_path = directory.join(format!("{stem}.crt"));
        let private_key_path = directory.join(format!("{stem}.key"));
        self.write_to(&certificate_path, &private_key_path);
        (certificate_path, private_key_path)
    }
}

/// The files a connection names for a client of a [`TestCa`]: the certificate and key of a client
/// certificate it issued, and a bundle of the CA alone ([`TestCa::client_files`]).
pub struct ClientFiles {
    /// The client certificate.
    pub client: TestCert,
    /// Where its certificate is written.
    pub certificate_path: PathBuf,
    /// Where its private key is written.
    pub private_key_path: PathBuf,
    /// Where the CA bundle is written.
    pub ca_bundle_path: PathBuf,
}

impl ClientFiles {
    /// `path` as the text a connection document holds.
    pub fn text(path: &Path) -> String {
        match path.to_str() {
            Some(text) => text.to_owned(),
            None => panic!("the test path {} was expected to be UTF-8", path.display()),
        }
    }
}

fn expect<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("test certificate: {what}: {error}"),
    }
}

impl TestCa {
    /// A new self-signed CA named `name`.
    pub fn new(name: &str) -> Self {
        let key = expect(KeyPair::generate(), "CA key");
        let mut params = expect(CertificateParams::new(Vec::<String>::new()), "CA params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let certificate = expect(params.self_signed(&key), "CA certificate");
        TestCa {
            der: certificate.der().clone(),
            pem: certificate.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate, PEM (what a `ca_bundle_path` file holds).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    fn issue(&self, params: CertificateParams) -> TestCert {
        let key = expect(KeyPair::generate(), "leaf key");
        let certificate = expect(params.signed_by(&key, &self.issuer), "leaf certificate");
        TestCert {
            cert_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
            der: certificate.der().clone(),
        }
    }

    /// A client certificate `name` issued by this CA, written as `client.crt` and `client.key` in
    /// `directory` with a bundle of this CA alone as `ca.pem`.
    pub fn client_files(&self, directory: &Path, name: &str) -> ClientFiles {
        let client = self.client(name);
        let (certificate_path, private_key_path) = client.write(directory, "client");
        let ca_bundle_path = directory.join("ca.pem");
        expect(
            std::fs::write(&ca_bundle_path, self.pem()),
            "writing the CA bundle",
        );
        ClientFiles {
            client,
            certificate_path,
            private_key_path,
            ca_bundle_path,
        }
    }

    /// A client certificate for `name`, valid from 1975 to 4096 (rcgen's defaults).
    pub fn client(&self, name: &str) -> TestCert {
        self.issue(client_params(name))
    }

    /// A client certificate for `name` whose subject alternative name is the URI `uri` (a
    /// SPIFFE id, say).
    pub fn client_with_uri(&self, name: &str, uri: &str) -> TestCert {
        let mut params = client_params(name);
        let uri = expect(rcgen::string::Ia5String::try_from(uri), "SAN URI");
        params.subject_alt_names.push(SanType::URI(uri));
        self.issue(params)
    }

    /// A client certificate for `name` that expired on 2000-01-01.
    pub fn expired_client(&self, name: &str) -> TestCert {
        let mut params = client_params(name);
        params.not_before = rcgen::date_time_ymd(1999, 1, 1);
        params.not_after = rcgen::date_time_ymd(2000, 1, 1);
        self.issue(params)
    }

    /// A client certificate for `name` that is valid only from 4000-01-01.
    pub fn future_client(&self, name: &str) -> TestCert {
        let mut params = client_params(name);
        params.not_before = rcgen::date_time_ymd(4000, 1, 1);
        params.not_after = rcgen::date_time_ymd(4001, 1, 1);
        self.issue(params)
    }

    /// A server certificate for `127.0.0.1` and `localhost`.
    pub fn server(&self) -> TestCert {
        let mut params = expect(
            CertificateParams::new(vec!["localhost".to_owned()]),
            "server params",
        );
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params)
    }
}

fn client_params(name: &str) -> CertificateParams {
    let mut params = expect(
        CertificateParams::new(Vec::<String>::new()),
        "client params",
    );
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params
}

/// The client certificate (leaf, DER) of the connection a request came on, as an axum
/// extension: `Extension(peer): Extension<PeerCertificate>`.
#[derive(Clone, Debug)]
pub struct PeerCertificate(pub CertificateDer<'static>);

/// A mutual-TLS HTTP/1.1 server on 127.0.0.1 that accepts only client certificates issued by
/// the given CAs. Stops when dropped.
#[derive(Debug)]
pub struct MtlsServer {
    address: SocketAddr,
    refused: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MtlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MtlsServer {
    /// Serves `router` with the certificate `server`, requiring a client certificate issued by
    /// one of `client_cas`.
    pub async fn start(router: axum::Router, server: &TestCert, client_cas: &[&TestCa]) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for ca in client_cas {
            expect(roots.add(ca.der().clone()), "client CA");
        }
        let verifier = expect(
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .build(),
            "client verifier",
        );
        let key = expect(
            PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes()),
            "server key",
        );
        let mut config = expect(
            expect(
                rustls::ServerConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions(),
                "protocol versions",
            )
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![server.der.clone()], key),
            "server config",
        );
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = expect(
            tokio::net::TcpListener::bind("127.0.0.1:0").await,
            "bind 127.0.0.1",
        );
        let address = expect(listener.local_addr(), "local address");
        let refused = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&refused);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let router = router.clone();
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    let tls = match acceptor.accept(stream).into_fallible().await {
                        Ok(tls) => tls,
                        Err((_, mut stream)) => {
                            counter.fetch_add(1, Ordering::SeqCst);
                            // The alert is written; close as a real server does. Dropping a
                            // socket with the client's unread request in its buffer would send
                            // a reset, which can overtake the alert on the client's side.
                            use tokio::io::{AsyncReadExt, AsyncWriteExt};
                            let _ = stream.shutdown().await;
                            let mut sink = [0u8; 4096];
                            while matches!(stream.read(&mut sink).await, Ok(read) if read > 0) {}
                            return;
                        }
                    };
                    let Some(peer) = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|leaf| leaf.clone().into_owned())
                    else {
                        counter.fetch_add(1, Ordering::SeqCst);
                        return;
                    };
                    let service = router.layer(axum::Extension(PeerCertificate(peer)));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service))
                        .await;
                });
            }
        });
        MtlsServer {
            address,
            refused,
            task,
        }
    }

    /// `https://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.address)
    }

    /// How many handshakes failed (a client certificate refused, or none sent).
    pub fn refused_handshakes(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}
