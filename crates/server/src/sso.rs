//! Loads the single sign-on integrations of the configuration into the core's verifiers: the
//! shared secret, or the public key (PEM) or key set (JWKS) read from their files.

use anyhow::Context as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use parley_core::{SsoKeys, SsoProvider};

use crate::config::{Config, SsoAlgorithm, SsoConfig};

/// The integrations, with their keys loaded.
pub fn providers(config: &Config) -> anyhow::Result<Vec<SsoProvider>> {
    config.sso.iter().map(|sso| provider(sso).with_context(|| format!("single sign-on integration `{}`", sso.name))).collect()
}

fn provider(sso: &SsoConfig) -> anyhow::Result<SsoProvider> {
    let algorithm = match sso.algorithm {
        SsoAlgorithm::Hs256 => Algorithm::HS256,
        SsoAlgorithm::Rs256 => Algorithm::RS256,
        SsoAlgorithm::Eddsa => Algorithm::EdDSA,
    };
    let keys = if sso.algorithm == SsoAlgorithm::Hs256 {
        SsoKeys::Single(DecodingKey::from_secret(sso.shared_secret.0.as_bytes()))
    } else if sso.jwks_file.as_os_str().is_empty() {
        let pem = std::fs::read(&sso.public_key_file).with_context(|| format!("cannot read {}", sso.public_key_file.display()))?;
        let key = match sso.algorithm {
            SsoAlgorithm::Rs256 => DecodingKey::from_rsa_pem(&pem),
            _ => DecodingKey::from_ed_pem(&pem),
        };
        SsoKeys::Single(key.context("public_key_file holds no usable public key")?)
    } else {
        let json = std::fs::read_to_string(&sso.jwks_file).with_context(|| format!("cannot read {}", sso.jwks_file.display()))?;
        SsoKeys::from_jwks(&json).map_err(|message| anyhow::anyhow!("jwks_file: {message}"))?
    };
    Ok(SsoProvider { name: sso.name.clone(), issuer: sso.issuer.clone(), audience: sso.audience.clone(), algorithm, keys })
}
