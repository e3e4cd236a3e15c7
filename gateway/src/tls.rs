//! TLS termination with rustls (ring): the certificate and key come from PEM
//! files and are reloaded when the files change, so a renewed certificate
//! needs no restart; client certificates are verified against a CA when
//! configured (mTLS).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use anyhow::Context as _;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use tokio_util::sync::CancellationToken;

use crate::config::TlsConfig;

/// Builds the acceptor and starts watching the certificate files until `stop`.
pub(crate) fn acceptor(
    config: &TlsConfig,
    stop: &CancellationToken,
) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let resolver = Arc::new(ReloadingResolver::load(
        &config.cert_path,
        &config.key_path,
        provider.clone(),
    )?);
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = match &config.client_ca_path {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in read_certs(ca)? {
                roots.add(cert).with_context(|| {
                    format!("tls.client_ca_path {}: bad CA certificate", ca.display())
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if config.require_client_cert {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .context("tls.client_ca_path: client verifier")?,
            )
        }
        None => builder.with_no_client_auth(),
    };
    let mut server = builder.with_cert_resolver(resolver.clone());
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tokio::spawn(watch(resolver, config.reload_interval, stop.clone()));
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(server)))
}

/// Serves the current certificate; replaced when the files change.
#[derive(Debug)]
struct ReloadingResolver {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadingResolver {
    fn load(
        cert_path: &Path,
        key_path: &Path,
        provider: Arc<CryptoProvider>,
    ) -> anyhow::Result<Self> {
        let key = certified_key(cert_path, key_path, &provider)?;
        Ok(Self {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            provider,
            current: RwLock::new(Arc::new(key)),
        })
    }

    /// The files' modification stamps, to notice a change cheaply.
    fn stamp(&self) -> Option<[(SystemTime, u64); 2]> {
        let one = |p: &Path| {
            std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        };
        Some([one(&self.cert_path)?, one(&self.key_path)?])
    }

    fn reload(&self) -> anyhow::Result<()> {
        let key = certified_key(&self.cert_path, &self.key_path, &self.provider)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
        Ok(())
    }
}

impl ResolvesServerCert for ReloadingResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

/// Checks the files every `interval`; a new pair that does not load (for
/// example a certificate written before its key) keeps the old one and is
/// tried again at the next change.
async fn watch(
    resolver: Arc<ReloadingResolver>,
    interval: std::time::Duration,
    stop: CancellationToken,
) {
    let mut seen = resolver.stamp();
    let mut failed = None;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let now = resolver.stamp();
        if now.is_none() || now == seen || now == failed {
            continue;
        }
        match resolver.reload() {
            Ok(()) => {
                tracing::info!(cert = %resolver.cert_path.display(), "reloaded TLS certificate");
                seen = now;
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "TLS certificate files changed but do not load; keeping the old ones");
                failed = now;
            }
        }
    }
}

fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading certificates from {}", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", path.display());
    Ok(certs)
}

fn certified_key(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> anyhow::Result<CertifiedKey> {
    let certs = read_certs(cert_path).context("tls.cert_path")?;
    let key = PrivateKeyDer::from_pem_file(key_path).with_context(|| {
        format!(
            "tls.key_path: reading a private key from {}",
            key_path.display()
        )
    })?;
    CertifiedKey::from_der(certs, key, provider)
        .context("tls: certificate and key do not form a usable pair")
}
