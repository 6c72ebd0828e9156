//! Time-based one-time passwords (RFC 6238) through `totp-rs`: SHA-1, six digits, 30-second
//! steps, one step of clock skew either way, 160-bit secrets from the system CSPRNG. Checking a
//! code returns its time step; refusing a step already used is the caller's job (the store
//! keeps the last accepted step).

use totp_rs::{Algorithm, Builder, Secret as TotpSecretBytes, Totp};

use crate::CryptoError;
use crate::random::random_bytes;

/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
/// Digits per code.
pub const DIGITS: u8 = 6;

/// A TOTP shared secret. Its `Debug` shows nothing.
pub struct TotpKey(Vec<u8>);

impl std::fmt::Debug for TotpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpKey(..)")
    }
}

impl TotpKey {
    /// A fresh 160-bit secret.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(random_bytes::<20>()?.to_vec()))
    }

    /// A secret read back (after opening its sealed form).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// A secret typed in base32 (as an authenticator app would take it).
    pub fn from_base32(text: &str) -> Result<Self, CryptoError> {
        let secret = TotpSecretBytes::try_from_base32(text).map_err(|_| CryptoError::Malformed)?;
        Ok(Self(secret.as_ref().to_vec()))
    }

    /// The raw secret, for sealing.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret in base32, as authenticator apps take it when typed in.
    pub fn to_base32(&self) -> String {
        TotpSecretBytes::from(self.0.clone()).to_base32()
    }

    /// The `otpauth://` URI that a QR code carries to an authenticator app.
    pub fn provisioning_uri(&self, issuer: &str, account: &str) -> Result<String, CryptoError> {
        self.totp(Some((issuer, account)))?.to_url().map_err(|_| CryptoError::Malformed)
    }

    /// The time step a `code` is valid for at `unix_seconds` (this step or one either side).
    pub fn verify(&self, code: &str, unix_seconds: u64) -> Result<Option<u64>, CryptoError> {
        let code = code.trim();
        if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        Ok(self.totp(None)?.check(code, unix_seconds))
    }

    /// The code for `unix_seconds` (what an authenticator app shows; used by tests and tools).
    pub fn code_at(&self, unix_seconds: u64) -> Result<String, CryptoError> {
        Ok(self.totp(None)?.generate(unix_seconds).to_string())
    }

    fn totp(&self, label: Option<(&str, &str)>) -> Result<Totp, CryptoError> {
        let mut builder = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(1)
            .with_step_duration(STEP_SECONDS)
            .with_secret(self.0.clone());
        if let Some((issuer, account)) = label {
            builder = builder.with_issuer(Some(issuer)).with_account_name(account);
        }
        builder.build().map_err(|_| CryptoError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (the secret is the ASCII "12345678901234567890"); the
    /// appendix shows eight digits, whose last six are the six-digit code.
    #[test]
    fn matches_the_rfc_6238_test_vectors() {
        let key = TotpKey::from_bytes(b"12345678901234567890".to_vec());
        for (time, eight_digits) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(key.code_at(time).unwrap(), eight_digits[2..], "time {time}");
            assert_eq!(key.verify(&eight_digits[2..], time).unwrap(), Some(time / STEP_SECONDS));
        }
    }

    #[test]
    fn accepts_one_step_of_skew_and_no_more() {
        let key = TotpKey::generate().unwrap();
        let now = 1_700_000_000;
        let code = key.code_at(now).unwrap();
        assert!(key.verify(&code, now + STEP_SECONDS).unwrap().is_some());
        assert!(key.verify(&code, now - STEP_SECONDS).unwrap().is_some());
        assert_eq!(key.verify(&code, now + 2 * STEP_SECONDS).unwrap(), None);
        assert_eq!(key.verify(&code, now - 2 * STEP_SECONDS).unwrap(), None);
        assert_eq!(key.verify("12345", now).unwrap(), None);
        assert_eq!(key.verify("abcdef", now).unwrap(), None);
    }

    #[test]
    fn secrets_are_160_bits_and_the_uri_names_the_account() {
        let key = TotpKey::generate().unwrap();
        assert_eq!(key.as_bytes().len(), 20);
        let uri = key.provisioning_uri("Parley", "alice").unwrap();
        assert!(uri.starts_with("otpauth://totp/Parley:alice?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", key.to_base32())));
        assert_eq!(TotpKey::from_base32(&key.to_base32()).unwrap().as_bytes(), key.as_bytes());
    }
}
