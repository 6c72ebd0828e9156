//! Password hashing with Argon2id (RFC 9106), parameters at or above OWASP's and ASVS 5.0
//! Appendix C's minimum (m = 19 MiB, t = 2, p = 1). Hashes are PHC strings that carry their
//! own parameters, so raising them later leaves old hashes verifiable.

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use parley_domain::PasswordHash;

use crate::CryptoError;
use crate::random::random_bytes;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory, in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl PasswordParams {
    /// OWASP's recommended minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
    pub const OWASP_MINIMUM: PasswordParams = PasswordParams { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 };
}

/// Hashes and verifies passwords. Cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    dummy_hash: String,
}

impl PasswordHasher {
    /// A hasher with the given parameters. It prepares a dummy hash so that checking a login
    /// for an unknown account costs the same as for a known one.
    pub fn new(params: PasswordParams) -> Result<Self, CryptoError> {
        let params = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
            .map_err(|e| CryptoError::PasswordHashing(e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut hasher = Self { argon2, dummy_hash: String::new() };
        let dummy_password = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, random_bytes::<16>()?);
        hasher.dummy_hash = hasher.hash(&dummy_password)?.0;
        Ok(hasher)
    }

    /// Hashes a new password with a fresh 128-bit salt. CPU-heavy: call from a blocking task.
    pub fn hash(&self, password: &str) -> Result<PasswordHash, CryptoError> {
        let salt = random_bytes::<16>()?;
        let hash =
            self.argon2.hash_password_with_salt(password.as_bytes(), &salt).map_err(|e| CryptoError::PasswordHashing(e.to_string()))?;
        Ok(PasswordHash(hash.to_string()))
    }

    /// Whether `password` matches `stored`. Compares in constant time (inside `argon2`).
    /// CPU-heavy: call from a blocking task.
    pub fn verify(&self, password: &str, stored: &PasswordHash) -> bool {
        self.argon2.verify_password(password.as_bytes(), stored.0.as_str()).is_ok()
    }

    /// Spends the same effort as [`PasswordHasher::verify`] against a hash that matches
    /// nothing: used when the account does not exist, so timing reveals nothing.
    pub fn verify_dummy(&self, password: &str) {
        let matched = self.argon2.verify_password(password.as_bytes(), self.dummy_hash.as_str()).is_ok();
        std::hint::black_box(matched);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_unique_salts() {
        let hasher = PasswordHasher::new(PasswordParams::OWASP_MINIMUM).unwrap();
        let first = hasher.hash("correct horse battery staple").unwrap();
        let second = hasher.hash("correct horse battery staple").unwrap();
        assert!(first.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", first.0);
        assert_ne!(first, second, "salts must differ");
        assert!(hasher.verify("correct horse battery staple", &first));
        assert!(!hasher.verify("correct horse battery stapl", &first));
        assert!(!hasher.verify("Correct horse battery staple", &first));
    }

    #[test]
    fn verification_is_byte_exact_over_long_passwords() {
        let hasher = PasswordHasher::new(PasswordParams { memory_kib: 1024, iterations: 1, parallelism: 1 }).unwrap();
        let password = "x".repeat(127) + "y";
        let hash = hasher.hash(&password).unwrap();
        assert!(!hasher.verify(&("x".repeat(127) + "z"), &hash), "character 128 must count");
        assert!(hasher.verify(&password, &hash));
    }

    #[test]
    fn garbage_stored_hash_never_verifies() {
        let hasher = PasswordHasher::new(PasswordParams { memory_kib: 1024, iterations: 1, parallelism: 1 }).unwrap();
        assert!(!hasher.verify("anything", &PasswordHash("not a phc string".into())));
        hasher.verify_dummy("anything");
    }
}
