//! TLS: with `--tls-cert` and `--tls-key` the server speaks https:// and wss://.

use std::sync::Arc;
use tickroom_shared::SUBPROTOCOL;
use tickroom_tests::{request, start_lab, test_config, Client, Join, PATIENCE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::Connector;

/// A self-signed certificate for "localhost", written to a temporary folder.
struct TestCert {
    der: rustls::pki_types::CertificateDer<'static>,
    cert_path: std::path::PathBuf,
    key_path: std::path::PathBuf,
}

fn test_cert() -> TestCert {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()])
        .expect("rcgen makes a self-signed certificate");
    let dir = std::env::temp_dir().join(format!("tickroom-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, generated.cert.pem()).expect("write cert");
    std::fs::write(&key_path, generated.signing_key.serialize_pem()).expect("write key");
    TestCert {
        der: generated.cert.der().clone(),
        cert_path,
        key_path,
    }
}

fn client_config(cert: &TestCert) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der.clone()).expect("valid certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A client that trusts the test certificate joins a room over wss://, and /healthz answers
/// over https://.
#[tokio::test]
async fn wss_and_https_with_a_self_signed_certificate() {
    let cert = test_cert();
    let mut config = test_config();
    config.tls_cert = Some(cert.cert_path.clone());
    config.tls_key = Some(cert.key_path.clone());
    let server = start_lab(config);
    let port = server.addr.port();
    let tls = client_config(&cert);

    let url = format!("wss://localhost:{port}/ws");
    let (ws, response) = tokio_tungstenite::connect_async_tls_with_config(
        request(&url, Some(SUBPROTOCOL)),
        None,
        false,
        Some(Connector::Rustls(tls.clone())),
    )
    .await
    .expect("wss connects");
    assert_eq!(response.status(), 101);
    let mut client = Client::over(ws);
    client
        .try_join(Join::quick("tls"))
        .await
        .expect("joins over wss");
    assert_eq!(client.welcomed().game, "lab");

    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("tcp");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .expect("tls handshake");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut response = Vec::new();
    // The server closes after the response; a TLS close without close_notify is fine here.
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut response)).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok\n"), "{response}");
    let _ = std::fs::remove_dir_all(cert.cert_path.parent().expect("has a parent"));
}
