//! One-time recovery codes: ten per enrolment, each 60 random bits shown as
//! `xxxx-xxxx-xxxx` in an unambiguous base32 alphabet, stored only as a SHA-256 bound to the
//! account (so equal codes of two accounts never share a hash).

use aws_lc_rs::digest;
use parley_domain::{Secret, TokenHash};

use crate::CryptoError;
use crate::random::random_bytes;

/// Codes issued per enrolment.
pub const CODES_PER_ENROLMENT: usize = 10;

/// Crockford's base32 alphabet: no I, L, O or U to misread.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Issues a set of codes for display (once) and storage (hashes).
pub fn generate(account: &str) -> Result<(Vec<Secret<String>>, Vec<TokenHash>), CryptoError> {
    let mut shown = Vec::with_capacity(CODES_PER_ENROLMENT);
    let mut hashes = Vec::with_capacity(CODES_PER_ENROLMENT);
    for _ in 0..CODES_PER_ENROLMENT {
        let bits = u64::from_be_bytes(random_bytes::<8>()?) >> 4;
        let chars: String = (0..12).rev().map(|i| char::from(ALPHABET[usize::try_from((bits >> (i * 5)) & 31).unwrap_or(0)])).collect();
        let code = format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12]);
        hashes.push(hash(account, &code));
        shown.push(Secret::new(code));
    }
    Ok((shown, hashes))
}

/// The stored form of a presented code: case, spaces and dashes do not matter.
pub fn hash(account: &str, presented: &str) -> TokenHash {
    let normalised: String = presented.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_lowercase).collect();
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(b"recovery-code\0");
    context.update(account.as_bytes());
    context.update(b"\0");
    context.update(normalised.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    TokenHash(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_readable_and_hash_forgivingly() {
        let (shown, hashes) = generate("user-1").unwrap();
        assert_eq!(shown.len(), CODES_PER_ENROLMENT);
        let unique: std::collections::HashSet<_> = shown.iter().map(|c| c.expose().clone()).collect();
        assert_eq!(unique.len(), CODES_PER_ENROLMENT);
        for (code, stored) in shown.iter().zip(&hashes) {
            let code = code.expose();
            assert_eq!(code.len(), 14);
            assert!(code.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
            assert_eq!(&hash("user-1", code), stored);
            assert_eq!(&hash("user-1", &code.to_uppercase().replace('-', " ")), stored);
            assert_ne!(&hash("user-2", code), stored);
        }
    }
}
