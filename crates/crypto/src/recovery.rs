//! One-time recovery codes: ten per enrolment, each 60 random bits shown as
//! `xxxx-xxxx-xxxx` in an unambiguous base32 alphabet. They are stored as a keyed digest (the
//! core's blind-index key, bound to the account), so a stolen database alone does not let
//! anyone test guesses offline; [`legacy_hash`] reads codes issued before, stored as a plain
//! SHA-256 bound to the account.

use aws_lc_rs::digest;
use parley_domain::{Secret, TokenHash};

use crate::CryptoError;
use crate::random::random_bytes;

/// Codes issued per enrolment.
pub const CODES_PER_ENROLMENT: usize = 10;

/// Crockford's base32 alphabet: no I, L, O or U to misread.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Issues a set of codes, for display (once) and for the caller to digest for storage.
pub fn generate() -> Result<Vec<Secret<String>>, CryptoError> {
    let mut shown = Vec::with_capacity(CODES_PER_ENROLMENT);
    for _ in 0..CODES_PER_ENROLMENT {
        let bits = u64::from_be_bytes(random_bytes::<8>()?) >> 4;
        let chars: String = (0..12).rev().map(|i| char::from(ALPHABET[usize::try_from((bits >> (i * 5)) & 31).unwrap_or(0)])).collect();
        shown.push(Secret::new(format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])));
    }
    Ok(shown)
}

/// The form a presented code is digested in: case, spaces and dashes do not matter.
pub fn normalise(presented: &str) -> String {
    presented.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_lowercase).collect()
}

/// The stored form of codes issued before they were keyed: an unkeyed SHA-256 bound to the
/// account. Only read (a code in this form is used up like any other); never written.
pub fn legacy_hash(account: &str, presented: &str) -> TokenHash {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(b"recovery-code\0");
    context.update(account.as_bytes());
    context.update(b"\0");
    context.update(normalise(presented).as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    TokenHash(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_readable_and_normalise_forgivingly() {
        let shown = generate().unwrap();
        assert_eq!(shown.len(), CODES_PER_ENROLMENT);
        let unique: std::collections::HashSet<_> = shown.iter().map(|c| c.expose().clone()).collect();
        assert_eq!(unique.len(), CODES_PER_ENROLMENT);
        for code in &shown {
            let code = code.expose();
            assert_eq!(code.len(), 14);
            assert!(code.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
            assert_eq!(normalise(&code.to_uppercase().replace('-', " ")), normalise(code));
            assert_eq!(legacy_hash("user-1", code), legacy_hash("user-1", &code.to_uppercase()));
            assert_ne!(legacy_hash("user-2", code), legacy_hash("user-1", code));
        }
    }
}
