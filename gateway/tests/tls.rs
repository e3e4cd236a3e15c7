//! TLS termination with certificates made in the test (rcgen): a renewed
//! certificate is picked up without a restart, and mTLS refuses a client
//! without a certificate from the configured CA.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use concord_gateway::{GatewayConfig, TlsConfig};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A certificate for `localhost` (server) or a client, as PEM (cert, key).
fn issue(
    ca: &CertifiedIssuer<'static, KeyPair>,
    purpose: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.extended_key_usages = vec![purpose];
    let cert = params.signed_by(&key, ca).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn write_pair(dir: &Path, (cert, key): &(String, String)) {
    std::fs::write(dir.join("key.pem"), key).unwrap();
    std::fs::write(dir.join("cert.pem"), cert).unwrap();
}

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

fn client_config(
    ca: &CertifiedIssuer<'static, KeyPair>,
    identity: Option<&(String, String)>,
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![der(cert)],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    config
}

/// Connects over TLS; the server's certificate and a health check of `""`.
async fn call(
    addr: std::net::SocketAddr,
    config: rustls::ClientConfig,
) -> Result<(CertificateDer<'static>, i32), String> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let presented = tls.get_ref().1.peer_certificates().unwrap()[0]
        .clone()
        .into_owned();
    let h2 = H2::connect(hyper_util::rt::TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    let status = HealthClient::new(h2)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map_err(|e| e.to_string())?
        .into_inner()
        .status;
    Ok((presented, status))
}

/// Starts a TLS gateway; waits until it answers over TLS.
async fn tls_gateway(tls: TlsConfig, probe: rustls::ClientConfig) -> Gateway {
    concord_kit::testing::init_log();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let config = GatewayConfig {
        tls: Some(tls),
        ..GatewayConfig::default()
    };
    let handle = tokio::spawn(concord_gateway::serve(
        listener,
        config,
        concord_kit::testing::verifier(),
        shutdown.clone(),
    ));
    let gateway = Gateway {
        addr,
        shutdown,
        handle: Some(handle),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while call(addr, probe.clone()).await.is_err() {
        assert!(Instant::now() < deadline, "the TLS gateway never answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gateway
}

#[tokio::test]
async fn tls_is_terminated_and_a_renewed_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ca = authority("Concord test CA");
    let first = issue(&ca, ExtendedKeyUsagePurpose::ServerAuth);
    write_pair(dir.path(), &first);
    let mut tls = TlsConfig::new(dir.path().join("cert.pem"), dir.path().join("key.pem"));
    tls.reload_interval = Duration::from_millis(100);
    let gw = tls_gateway(tls, client_config(&ca, None)).await;

    let (presented, status) = call(gw.addr, client_config(&ca, None)).await.unwrap();
    assert_eq!(presented, der(&first.0));
    assert_eq!(status, ServingStatus::Serving as i32);

    let renewed = issue(&ca, ExtendedKeyUsagePurpose::ServerAuth);
    write_pair(dir.path(), &renewed);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (presented, _) = call(gw.addr, client_config(&ca, None)).await.unwrap();
        if presented == der(&renewed.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the renewed certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A broken pair on disk keeps the last good certificate in service.
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        call(gw.addr, client_config(&ca, None)).await.unwrap().0,
        der(&renewed.0)
    );
}

#[tokio::test]
async fn mtls_refuses_clients_without_a_certificate_from_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = authority("Concord test CA");
    write_pair(dir.path(), &issue(&ca, ExtendedKeyUsagePurpose::ServerAuth));
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let mut tls = TlsConfig::new(dir.path().join("cert.pem"), dir.path().join("key.pem"));
    tls.client_ca_path = Some(dir.path().join("ca.pem"));
    tls.require_client_cert = true;
    let client = issue(&ca, ExtendedKeyUsagePurpose::ClientAuth);
    let gw = tls_gateway(tls, client_config(&ca, Some(&client))).await;

    let (_, status) = call(gw.addr, client_config(&ca, Some(&client)))
        .await
        .unwrap();
    assert_eq!(status, ServingStatus::Serving as i32);

    let refused = call(gw.addr, client_config(&ca, None)).await;
    assert!(
        refused.is_err(),
        "a client without a certificate was served"
    );

    let stranger = issue(
        &authority("Someone else's CA"),
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let refused = call(gw.addr, client_config(&ca, Some(&stranger))).await;
    assert!(
        refused.is_err(),
        "a client with a foreign certificate was served"
    );
}
