//! Bearer tokens: 256 random bits with a type prefix (so secret scanners can spot a leaked
//! one), handed to the client once and stored only as their SHA-256.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parley_domain::{Secret, TokenHash};

use crate::CryptoError;
use crate::random::random_bytes;

/// A freshly issued token: the secret for the client, the hash for storage.
pub struct BearerToken {
    /// The token text. Shown to the client once; never stored or logged.
    pub secret: Secret<String>,
    /// What the server keeps.
    pub hash: TokenHash,
}

impl BearerToken {
    /// Issues a token with the given type prefix (e.g. `prly_s` for sessions).
    pub fn generate(prefix: &str) -> Result<Self, CryptoError> {
        let secret = format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()?));
        let hash = Self::hash(&secret);
        Ok(Self { secret: Secret::new(secret), hash })
    }

    /// The stored form of a presented token. Lookups compare hashes, so the time a lookup takes
    /// says nothing about the secret.
    pub fn hash(presented: &str) -> TokenHash {
        let digest = digest::digest(&digest::SHA256, presented.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        TokenHash(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_long_and_hash_consistently() {
        let tokens: Vec<BearerToken> = (0..1000).map(|_| BearerToken::generate("prly_s").unwrap()).collect();
        let unique: std::collections::HashSet<&str> = tokens.iter().map(|t| t.secret.expose().as_str()).collect();
        assert_eq!(unique.len(), 1000);
        for token in &tokens {
            let random_part = token.secret.expose().strip_prefix("prly_s_").unwrap();
            assert_eq!(URL_SAFE_NO_PAD.decode(random_part).unwrap().len(), 32);
            assert_eq!(BearerToken::hash(token.secret.expose()), token.hash);
        }
    }

    #[test]
    fn sha256_matches_the_fips_180_example() {
        let hash = BearerToken::hash("abc");
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let hex = hash.0.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().concat();
        assert_eq!(hex, expected);
    }
}
