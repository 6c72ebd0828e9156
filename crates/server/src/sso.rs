//! Loads the single sign-on integrations of the configuration into the core's verifiers: the
//! shared secret, the public key (PEM) or key set (JWKS) read from their files, or a key set
//! fetched from the marketplace's JWKS URL and kept fresh by a [`JwksFetcher`].

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use parley_core::{RemoteKeys, SsoKeys, SsoProvider};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, SsoAlgorithm, SsoConfig};

/// How often a JWKS URL is fetched again, keys rotated or not.
const REFRESH_EVERY: Duration = Duration::from_secs(10 * 60);
/// The least time between two fetches asked for by tokens with an unknown key id, so a flood
/// of forged key ids cannot make Parley hammer the marketplace.
const MIN_WANTED_GAP: Duration = Duration::from_secs(30);
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The integrations, with their keys loaded, and a fetcher for each key set behind a URL.
pub fn providers(config: &Config) -> anyhow::Result<(Vec<SsoProvider>, Vec<JwksFetcher>)> {
    let mut fetchers = Vec::new();
    let providers = config
        .sso
        .iter()
        .map(|sso| provider(sso, &mut fetchers).with_context(|| format!("single sign-on integration `{}`", sso.name)))
        .collect::<anyhow::Result<_>>()?;
    Ok((providers, fetchers))
}

fn provider(sso: &SsoConfig, fetchers: &mut Vec<JwksFetcher>) -> anyhow::Result<SsoProvider> {
    let algorithm = match sso.algorithm {
        SsoAlgorithm::Hs256 => Algorithm::HS256,
        SsoAlgorithm::Rs256 => Algorithm::RS256,
        SsoAlgorithm::Eddsa => Algorithm::EdDSA,
    };
    let keys = if sso.algorithm == SsoAlgorithm::Hs256 {
        SsoKeys::Single(DecodingKey::from_secret(sso.shared_secret.0.as_bytes()))
    } else if !sso.jwks_url.is_empty() {
        let fetcher = JwksFetcher::new(sso)?;
        let keys = SsoKeys::Remote(Arc::clone(&fetcher.keys));
        fetchers.push(fetcher);
        keys
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

/// Fetches one integration's JWKS URL into the key set its verifier reads.
pub struct JwksFetcher {
    name: String,
    url: String,
    client: reqwest::Client,
    keys: Arc<RemoteKeys>,
}

impl JwksFetcher {
    fn new(sso: &SsoConfig) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder().https_only(true).timeout(FETCH_TIMEOUT).redirect(reqwest::redirect::Policy::none());
        if !sso.jwks_ca_file.as_os_str().is_empty() {
            let pem = std::fs::read(&sso.jwks_ca_file).with_context(|| format!("cannot read {}", sso.jwks_ca_file.display()))?;
            builder = builder.tls_certs_only([reqwest::Certificate::from_pem(&pem).context("jwks_ca_file holds no certificate")?]);
        }
        Ok(Self { name: sso.name.clone(), url: sso.jwks_url.clone(), client: builder.build()?, keys: Arc::new(RemoteKeys::default()) })
    }

    /// Fetches the key set once and installs it; a failed fetch keeps the keys there were.
    pub async fn fetch(&self) -> anyhow::Result<usize> {
        let mut response = self.client.get(&self.url).send().await?.error_for_status()?;
        let too_large = || anyhow::anyhow!("the JWKS document is larger than {MAX_JWKS_BYTES} bytes");
        if response.content_length().is_some_and(|length| length > MAX_JWKS_BYTES as u64) {
            return Err(too_large());
        }
        // Read in chunks, and stop at the limit: a body without a length is not buffered whole.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let json = std::str::from_utf8(&body).context("the JWKS document is not UTF-8")?;
        self.keys.replace(json).map_err(|message| anyhow::anyhow!(message))
    }

    /// Fetches every ten minutes (soon, if the fetch at start failed) and whenever a token
    /// names an unknown key id (at most once per half minute), until `shutdown`.
    pub async fn keep_fresh(self, shutdown: CancellationToken) {
        let first = if self.keys.is_empty() { MIN_WANTED_GAP } else { REFRESH_EVERY };
        let mut next = tokio::time::Instant::now() + first;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep_until(next) => {}
                () = self.keys.wanted() => {}
            }
            match self.fetch().await {
                Ok(keys) => tracing::info!(integration = %self.name, keys, "JWKS fetched"),
                Err(error) => {
                    tracing::warn!(integration = %self.name, error = %format!("{error:#}"), "cannot fetch the JWKS; keeping the keys there were");
                }
            }
            next = tokio::time::Instant::now() + REFRESH_EVERY;
            // However the next fetch is asked for, not before the gap.
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(MIN_WANTED_GAP) => {}
            }
        }
    }
}
