//! Keyed blind indexes: HMAC-SHA256 of a normalised value under a key of its own, so an
//! encrypted field (an email address) can be found by equality without storing it in clear
//! or under an unkeyed hash that a dictionary would reverse.

use crate::envelope::Dek;
use aws_lc_rs::hmac;
use parley_domain::{BlindIndex, EmailAddress};

/// The blind-index key. It is random, stored wrapped like any data key, and never derived
/// from the KEK, so rotating the KEK does not change any index.
pub struct BlindIndexKey(hmac::Key);

impl BlindIndexKey {
    /// Uses the material of the data key filed under `KeyScope::BlindIndex` as the HMAC key.
    /// That key is kept for this one purpose and never seals anything.
    pub fn from_dek(dek: &Dek) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, dek.material()))
    }

    /// The index of an email address (already normalised by the domain type).
    pub fn email(&self, email: &EmailAddress) -> BlindIndex {
        self.index("email", email.expose())
    }

    /// A keyed digest of several values for one `purpose` (device fingerprints, single sign-on
    /// subjects, CSRF tokens): each value is length-prefixed, so no two lists collide.
    pub fn keyed(&self, purpose: &str, values: &[&str]) -> BlindIndex {
        let mut out = [0u8; 32];
        out.copy_from_slice(hmac::sign(&self.0, &keyed_message(purpose, values)).as_ref());
        BlindIndex(out)
    }

    /// Whether `presented` is the keyed digest of `values` for `purpose`, compared in constant
    /// time.
    pub fn verify_keyed(&self, purpose: &str, values: &[&str], presented: &[u8]) -> bool {
        hmac::verify(&self.0, &keyed_message(purpose, values), presented).is_ok()
    }

    fn index(&self, purpose: &str, value: &str) -> BlindIndex {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(purpose.as_bytes());
        context.update(&[0]);
        context.update(value.as_bytes());
        let tag = context.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        BlindIndex(out)
    }
}

fn keyed_message(purpose: &str, values: &[&str]) -> Vec<u8> {
    let mut message = Vec::with_capacity(purpose.len() + 1 + values.iter().map(|v| v.len() + 8).sum::<usize>());
    message.extend_from_slice(purpose.as_bytes());
    message.push(0);
    for value in values {
        message.extend_from_slice(&u64::try_from(value.len()).unwrap_or(u64::MAX).to_be_bytes());
        message.extend_from_slice(value.as_bytes());
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    /// RFC 4231 test cases 1, 2 and 6 for HMAC-SHA-256.
    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let cases: &[(Vec<u8>, &[u8], &str)] = &[
            (vec![0x0b; 20], b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (b"Jefe".to_vec(), b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, data, expected) in cases {
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
            assert_eq!(tag.as_ref(), hex(expected).as_slice());
        }
    }

    #[test]
    fn same_email_same_index_other_key_other_index() {
        let dek = Dek::generate().unwrap();
        let key = BlindIndexKey::from_dek(&dek);
        let reopened = BlindIndexKey::from_dek(&dek);
        let email = EmailAddress::parse("Jane@Example.com").unwrap();
        let same = EmailAddress::parse("jane@example.com").unwrap();
        assert_eq!(key.email(&email), reopened.email(&same));
        let other = BlindIndexKey::from_dek(&Dek::generate().unwrap());
        assert_ne!(key.email(&email), other.email(&email));
    }
}
