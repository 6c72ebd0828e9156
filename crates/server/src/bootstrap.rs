//! First-start preparation of the data directory: the directory itself (mode 0700), the
//! master key (generated into a 0600 file with a loud warning when none is given) and the TLS
//! material (a local CA and a short-lived leaf certificate, when no certificate is given).

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use parley_crypto::{Kek, KeyBytes};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use time::{Duration as TimeDuration, OffsetDateTime};

use crate::config::Config;

/// Leaf certificates live 90 days (Mozilla's recommendation); one is issued at every start.
const LEAF_VALIDITY_DAYS: i64 = 90;
/// The local CA lives ten years; trust it once in a development client.
const CA_VALIDITY_DAYS: i64 = 3650;

/// The certificate and key the listener serves, as PEM.
pub struct TlsMaterial {
    /// The certificate chain.
    pub cert_chain_pem: String,
    /// The private key.
    pub key_pem: String,
    /// The local CA's certificate, when the material was generated (clients trust this).
    pub ca_pem: Option<String>,
}

/// Creates the data directory with owner-only permissions.
pub fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create data directory {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).with_context(|| format!("cannot restrict {}", dir.display()))?;
    Ok(())
}

/// Loads the master key from `PARLEY_MASTER_KEY`, else from the key file, generating the
/// file on first start.
pub fn load_master_key(config: &Config, env_key: Option<&str>) -> anyhow::Result<Kek> {
    if let Some(text) = env_key {
        let material = KeyBytes::from_base64(text).context("PARLEY_MASTER_KEY must be 32 bytes in base64")?;
        return Ok(Kek::new(&material)?);
    }
    let path = config.master_key_path();
    if path.exists() {
        warn_if_readable_by_others(&path)?;
        let text = fs::read_to_string(&path).with_context(|| format!("cannot read master key file {}", path.display()))?;
        let material =
            KeyBytes::from_base64(&text).with_context(|| format!("master key file {} must hold 32 bytes in base64", path.display()))?;
        return Ok(Kek::new(&material)?);
    }
    let material = KeyBytes::generate()?;
    write_private_file(&path, material.to_base64().as_bytes())?;
    tracing::warn!(
        path = %path.display(),
        "generated a new master key. Back it up apart from the database: without it the data cannot be read. \
         For production, pass it in PARLEY_MASTER_KEY or a key file on separate storage."
    );
    Ok(Kek::new(&material)?)
}

/// Loads the configured certificate, or generates a local CA (kept) and a fresh leaf.
pub fn tls_material(config: &Config) -> anyhow::Result<TlsMaterial> {
    if !config.tls.cert_path.as_os_str().is_empty() {
        let read = |path: &PathBuf| fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()));
        return Ok(TlsMaterial { cert_chain_pem: read(&config.tls.cert_path)?, key_pem: read(&config.tls.key_path)?, ca_pem: None });
    }
    let dir = config.data_dir.join("tls");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (ca_key, ca_pem) = load_or_create_ca(&dir)?;
    let issuer = Issuer::new(ca_params()?, ca_key);
    let leaf_key = KeyPair::generate()?;
    let leaf = leaf_params(&config.tls.hostnames)?.signed_by(&leaf_key, &issuer)?;
    let cert_chain_pem = format!("{}{}", leaf.pem(), ca_pem);
    fs::write(dir.join("cert.pem"), &cert_chain_pem).context("cannot write tls/cert.pem")?;
    Ok(TlsMaterial { cert_chain_pem, key_pem: leaf_key.serialize_pem(), ca_pem: Some(ca_pem) })
}

fn load_or_create_ca(dir: &Path) -> anyhow::Result<(KeyPair, String)> {
    let (key_path, cert_path) = (dir.join("ca.key"), dir.join("ca.pem"));
    if key_path.exists() && cert_path.exists() {
        warn_if_readable_by_others(&key_path)?;
        let key = KeyPair::from_pem(&fs::read_to_string(&key_path)?).context("tls/ca.key is not a valid key")?;
        return Ok((key, fs::read_to_string(&cert_path)?));
    }
    let key = KeyPair::generate()?;
    let cert = ca_params()?.self_signed(&key)?;
    write_private_file(&key_path, key.serialize_pem().as_bytes())?;
    fs::write(&cert_path, cert.pem()).context("cannot write tls/ca.pem")?;
    tracing::warn!(path = %cert_path.display(), "generated a local certificate authority; trust this file in clients, or configure tls.cert_path");
    Ok((key, cert.pem()))
}

/// The local CA's parameters. They are rebuilt identically at every start, so the kept CA key
/// keeps signing leaves that chain to the kept CA certificate.
fn ca_params() -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "Parley local CA");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - TimeDuration::days(1);
    params.not_after = now + TimeDuration::days(CA_VALIDITY_DAYS);
    Ok(params)
}

fn leaf_params(extra_hostnames: &[String]) -> anyhow::Result<CertificateParams> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    names.extend(extra_hostnames.iter().cloned());
    let mut params = CertificateParams::new(names)?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "Parley server");
    params.distinguished_name = name;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - TimeDuration::minutes(5);
    params.not_after = now + TimeDuration::days(LEAF_VALIDITY_DAYS);
    Ok(params)
}

/// Writes a file only the owner can read, refusing to replace an existing one.
fn write_private_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

fn warn_if_readable_by_others(path: &Path) -> anyhow::Result<()> {
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!("{} is readable by other users (mode {:o}); run chmod 600 on it", path.display(), mode & 0o777);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &Path) -> Config {
        Config { data_dir: dir.to_owned(), ..Config::default() }
    }

    #[test]
    fn first_start_generates_a_private_master_key_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let first = load_master_key(&config, None).unwrap();
        let mode = fs::metadata(config.master_key_path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = load_master_key(&config, None).unwrap();
        assert_eq!(first.id(), second.id());
    }

    #[test]
    fn env_master_key_wins_and_bad_keys_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let material = KeyBytes::generate().unwrap();
        let from_env = load_master_key(&config, Some(&material.to_base64())).unwrap();
        assert_eq!(from_env.id(), Kek::new(&material).unwrap().id());
        assert!(!config.master_key_path().exists(), "no file is written when the key comes from the environment");
        let error = load_master_key(&config, Some("short")).err().unwrap().to_string();
        assert!(error.contains("PARLEY_MASTER_KEY"), "{error}");
    }

    #[test]
    fn a_world_readable_master_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        load_master_key(&config, None).unwrap();
        fs::set_permissions(config.master_key_path(), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load_master_key(&config, None).is_err());
    }

    #[test]
    fn generated_leaves_chain_to_the_kept_ca() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let first = tls_material(&config).unwrap();
        let second = tls_material(&config).unwrap();
        assert_eq!(first.ca_pem, second.ca_pem, "the CA is kept across starts");
        assert_ne!(first.key_pem, second.key_pem, "each start issues a fresh leaf");
        let key_mode = fs::metadata(dir.path().join("tls/ca.key")).unwrap().permissions().mode();
        assert_eq!(key_mode & 0o777, 0o600);
    }
}
