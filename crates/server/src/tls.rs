//! The rustls server configuration: TLS 1.2 and 1.3 only, aws-lc-rs cipher suites (ECDHE
//! with AES-GCM or ChaCha20-Poly1305 for 1.2), ALPN for HTTP/2 and HTTP/1.1.

use std::sync::Arc;

use anyhow::Context as _;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::bootstrap::TlsMaterial;

/// Installs aws-lc-rs as the process's rustls provider. Several dependencies could enable
/// `ring` as well, and rustls refuses to guess between two, so this runs first thing.
pub fn install_crypto_provider() {
    // Err only means it was already installed (tests start many servers): nothing to do.
    drop(rustls::crypto::aws_lc_rs::default_provider().install_default());
}

/// Builds the server config from PEM material.
pub fn server_config(material: &TlsMaterial) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_slice_iter(material.cert_chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("the TLS certificate is not valid PEM")?;
    if chain.is_empty() {
        anyhow::bail!("the TLS certificate file holds no certificate");
    }
    let key = PrivateKeyDer::from_pem_slice(material.key_pem.as_bytes()).context("the TLS key is not a valid PEM private key")?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS key does not match the certificate")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
