//! Parley's keys and ciphers, and the only crate that touches key material.
//!
//! It owns envelope encryption (a key-encryption key wraps per-scope data keys; data keys
//! seal fields with AES-256-GCM under associated data naming table, row and field), keyed
//! blind indexes for lookups on encrypted fields, bearer-token generation and hashing,
//! Argon2id password hashing, TOTP (RFC 6238) and one-time recovery codes. Primitives come from aws-lc-rs (the same library rustls uses)
//! and the RustCrypto `argon2` crate; nothing here invents a construction.
//!
//! It must never log, persist or return key bytes except as a wrapped key or a master-key
//! file body produced on purpose for the operator.

pub mod blind_index;
pub mod digest;
pub mod envelope;
pub mod password;
pub mod random;
pub mod recovery;
pub mod token;
pub mod totp;

pub use blind_index::BlindIndexKey;
pub use envelope::{Aad, Dek, Kek, KeyBytes};
pub use password::{PasswordHasher, PasswordParams};
pub use token::BearerToken;
pub use totp::TotpKey;

/// What can go wrong in a cryptographic operation. Deliberately vague: a failed open says
/// neither why nor where, so it cannot serve as an oracle.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A ciphertext did not authenticate: wrong key, wrong associated data, or tampering.
    #[error("ciphertext did not authenticate")]
    Integrity,
    /// A key or ciphertext had the wrong shape.
    #[error("malformed key or ciphertext")]
    Malformed,
    /// The operating system's random number generator failed.
    #[error("system random number generator failed")]
    Rng,
    /// Password hashing failed (bad parameters; never a wrong password).
    #[error("password hashing failed: {0}")]
    PasswordHashing(String),
}
