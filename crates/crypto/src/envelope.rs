//! Envelope encryption. The key-encryption key (KEK) wraps data keys (DEKs); each DEK seals
//! the fields of one scope (a user's profile, one author's messages in one conversation).
//! Destroying a wrapped DEK makes every ciphertext under it unreadable, wherever copies of
//! the ciphertext live: that is crypto-shredding.
//!
//! Format of a sealed value: `0x01 || nonce (12 bytes, random) || ciphertext || tag (16)`.
//! Random 96-bit nonces are safe up to 2^32 encryptions per key (NIST SP 800-38D); a DEK
//! seals one author's messages in one conversation, far below that bound.

use aws_lc_rs::aead::{self, AES_256_GCM, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use parley_domain::{KeyScope, WrappedKey};
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::random::random_bytes;

const FORMAT_V1: u8 = 1;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;

/// Associated data binding a ciphertext to where it lives, so that a ciphertext copied into
/// another row or field fails to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aad(String);

impl Aad {
    /// Binds a ciphertext to `table`, the row's id and `field`.
    pub fn field(table: &str, row_id: &impl std::fmt::Display, field: &str) -> Self {
        Self(format!("parley/v1/{table}/{row_id}/{field}"))
    }

    fn for_wrapped_key(scope: &KeyScope) -> Self {
        Self(format!("parley/v1/data-key/{}", scope.name()))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// 32 bytes of key material, wiped from memory when dropped.
pub struct KeyBytes(Zeroizing<[u8; KEY_LEN]>);

impl KeyBytes {
    /// Fresh random key material.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(Zeroizing::new(random_bytes::<KEY_LEN>()?)))
    }

    /// Decodes key material from its base64 text form (a master-key file or variable).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let decoded = Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| CryptoError::Malformed)?);
        let bytes: [u8; KEY_LEN] = decoded.as_slice().try_into().map_err(|_| CryptoError::Malformed)?;
        Ok(Self(Zeroizing::new(bytes)))
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// The base64 text form, for writing a newly generated master-key file.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0.as_slice()))
    }
}

/// An AES-256-GCM key with random nonces. Shared by [`Kek`] and [`Dek`].
struct AeadKey(LessSafeKey);

impl AeadKey {
    fn new(bytes: &[u8]) -> Result<Self, CryptoError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| CryptoError::Malformed)?;
        Ok(Self(LessSafeKey::new(unbound)))
    }

    fn seal(&self, plaintext: &[u8], aad: &Aad) -> Result<Vec<u8>, CryptoError> {
        self.seal_with_nonce(random_bytes::<NONCE_LEN>()?, plaintext, aad)
    }

    fn seal_with_nonce(&self, nonce: [u8; NONCE_LEN], plaintext: &[u8], aad: &Aad) -> Result<Vec<u8>, CryptoError> {
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        let mut in_out = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), aead::Aad::from(aad.as_bytes()), &mut in_out)
            .map_err(|_| CryptoError::Malformed)?;
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    fn open(&self, sealed: &[u8], aad: &Aad) -> Result<Vec<u8>, CryptoError> {
        let Some((&FORMAT_V1, rest)) = sealed.split_first() else {
            return Err(CryptoError::Malformed);
        };
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Malformed)?;
        let mut in_out = ciphertext.to_vec();
        let plaintext = self.0.open_in_place(nonce, aead::Aad::from(aad.as_bytes()), &mut in_out).map_err(|_| CryptoError::Integrity)?;
        Ok(plaintext.to_vec())
    }
}

/// The deployment's key-encryption key. It only ever wraps and unwraps data keys.
pub struct Kek {
    id: String,
    key: AeadKey,
}

impl Kek {
    /// Builds the KEK from its key material. Its id is derived from the key, so a wrapped key
    /// records which KEK can open it without revealing anything about it.
    pub fn new(material: &KeyBytes) -> Result<Self, CryptoError> {
        let mut id_input = Zeroizing::new(b"parley kek id v1:".to_vec());
        id_input.extend_from_slice(material.0.as_slice());
        let fingerprint = digest::digest(&digest::SHA256, &id_input);
        let id = fingerprint.as_ref()[..8].iter().map(|byte| format!("{byte:02x}")).collect::<Vec<_>>().concat();
        Ok(Self { id, key: AeadKey::new(material.0.as_slice())? })
    }

    /// The KEK's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Wraps a data key for storage under `scope`.
    pub fn wrap(&self, dek: &Dek, scope: &KeyScope) -> Result<WrappedKey, CryptoError> {
        let bytes = self.key.seal(dek.material.0.as_slice(), &Aad::for_wrapped_key(scope))?;
        Ok(WrappedKey { kek_id: self.id.clone(), bytes })
    }

    /// Unwraps a data key filed under `scope`. A key wrapped for another scope fails.
    pub fn unwrap(&self, wrapped: &WrappedKey, scope: &KeyScope) -> Result<Dek, CryptoError> {
        if wrapped.kek_id != self.id {
            return Err(CryptoError::Integrity);
        }
        let plain = Zeroizing::new(self.key.open(&wrapped.bytes, &Aad::for_wrapped_key(scope))?);
        let bytes: [u8; KEY_LEN] = plain.as_slice().try_into().map_err(|_| CryptoError::Malformed)?;
        Dek::from_material(KeyBytes(Zeroizing::new(bytes)))
    }
}

/// A data key: seals and opens the fields of one scope.
pub struct Dek {
    material: KeyBytes,
    key: AeadKey,
}

impl Dek {
    /// A fresh random data key.
    pub fn generate() -> Result<Self, CryptoError> {
        Self::from_material(KeyBytes::generate()?)
    }

    fn from_material(material: KeyBytes) -> Result<Self, CryptoError> {
        let key = AeadKey::new(material.0.as_slice())?;
        Ok(Self { material, key })
    }

    pub(crate) fn material(&self) -> &[u8] {
        self.material.as_slice()
    }

    /// Encrypts `plaintext`, bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &Aad) -> Result<Vec<u8>, CryptoError> {
        self.key.seal(plaintext, aad)
    }

    /// Decrypts a value sealed under this key with the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &Aad) -> Result<Vec<u8>, CryptoError> {
        self.key.open(sealed, aad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_domain::UserId;
    use proptest::prelude::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    struct GcmVector {
        key: &'static str,
        iv: &'static str,
        plaintext: &'static str,
        aad: &'static str,
        ciphertext_and_tag: &'static str,
    }

    /// AES-256 cases 13, 14 and 16 of McGrew & Viega, "The Galois/Counter Mode of Operation",
    /// the test vectors NIST SP 800-38D refers to.
    const GCM_VECTORS: &[GcmVector] = &[
        GcmVector {
            key: "0000000000000000000000000000000000000000000000000000000000000000",
            iv: "000000000000000000000000",
            plaintext: "",
            aad: "",
            ciphertext_and_tag: "530f8afbc74536b9a963b4f1c4cb738b",
        },
        GcmVector {
            key: "0000000000000000000000000000000000000000000000000000000000000000",
            iv: "000000000000000000000000",
            plaintext: "00000000000000000000000000000000",
            aad: "",
            ciphertext_and_tag: "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919",
        },
        GcmVector {
            key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            iv: "cafebabefacedbaddecaf888",
            plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
            aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            ciphertext_and_tag: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f66276fc6ece0f4e1768cddf8853bb2d551b",
        },
    ];

    #[test]
    fn aes_256_gcm_matches_published_vectors() {
        for vector in GCM_VECTORS {
            let key = AeadKey::new(&hex(vector.key)).unwrap();
            let iv: [u8; NONCE_LEN] = hex(vector.iv).try_into().unwrap();
            // The vectors' AAD is raw bytes; ours is text, so go through the raw key here.
            let mut in_out = hex(vector.plaintext);
            key.0.seal_in_place_append_tag(Nonce::assume_unique_for_key(iv), aead::Aad::from(hex(vector.aad)), &mut in_out).unwrap();
            assert_eq!(in_out, hex(vector.ciphertext_and_tag));
            let opened = key.0.open_in_place(Nonce::assume_unique_for_key(iv), aead::Aad::from(hex(vector.aad)), &mut in_out).unwrap();
            assert_eq!(opened, hex(vector.plaintext).as_slice());
        }
    }

    #[test]
    fn sealed_format_carries_version_and_nonce() {
        let key = AeadKey::new(&[7u8; 32]).unwrap();
        let aad = Aad::field("messages", &"m1", "body");
        let sealed = key.seal_with_nonce([9u8; NONCE_LEN], b"hello", &aad).unwrap();
        assert_eq!(sealed[0], FORMAT_V1);
        assert_eq!(&sealed[1..=NONCE_LEN], &[9u8; NONCE_LEN]);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + 5 + TAG_LEN);
        assert_eq!(key.open(&sealed, &aad).unwrap(), b"hello");
    }

    #[test]
    fn ciphertext_moved_to_another_row_does_not_open() {
        let dek = Dek::generate().unwrap();
        let sealed = dek.seal(b"secret", &Aad::field("messages", &"row-1", "body")).unwrap();
        assert!(matches!(dek.open(&sealed, &Aad::field("messages", &"row-2", "body")), Err(CryptoError::Integrity)));
        assert!(matches!(dek.open(&sealed, &Aad::field("users", &"row-1", "body")), Err(CryptoError::Integrity)));
    }

    #[test]
    fn truncated_or_unknown_format_is_malformed() {
        let dek = Dek::generate().unwrap();
        let aad = Aad::field("t", &1, "f");
        assert!(matches!(dek.open(&[], &aad), Err(CryptoError::Malformed)));
        assert!(matches!(dek.open(&[FORMAT_V1; 10], &aad), Err(CryptoError::Malformed)));
        let mut sealed = dek.seal(b"x", &aad).unwrap();
        sealed[0] = 2;
        assert!(matches!(dek.open(&sealed, &aad), Err(CryptoError::Malformed)));
    }

    #[test]
    fn nonces_are_fresh_for_every_seal() {
        let dek = Dek::generate().unwrap();
        let aad = Aad::field("t", &1, "f");
        let nonces: std::collections::HashSet<Vec<u8>> =
            (0..1000).map(|_| dek.seal(b"same", &aad).unwrap()[1..=NONCE_LEN].to_vec()).collect();
        assert_eq!(nonces.len(), 1000);
    }

    #[test]
    fn wrapped_keys_open_only_under_their_scope_and_kek() {
        let kek = Kek::new(&KeyBytes::generate().unwrap()).unwrap();
        let other_kek = Kek::new(&KeyBytes::generate().unwrap()).unwrap();
        let scope = KeyScope::UserProfile(UserId::from_uuid(uuid_from(1)));
        let other_scope = KeyScope::UserProfile(UserId::from_uuid(uuid_from(2)));
        let dek = Dek::generate().unwrap();
        let wrapped = kek.wrap(&dek, &scope).unwrap();
        let aad = Aad::field("users", &1, "email");
        let sealed = dek.seal(b"a@example.com", &aad).unwrap();
        assert_eq!(kek.unwrap(&wrapped, &scope).unwrap().open(&sealed, &aad).unwrap(), b"a@example.com");
        assert!(kek.unwrap(&wrapped, &other_scope).is_err());
        assert!(other_kek.unwrap(&wrapped, &scope).is_err());
        let mut tampered = wrapped.clone();
        tampered.bytes[20] ^= 1;
        assert!(kek.unwrap(&tampered, &scope).is_err());
    }

    #[test]
    fn kek_id_is_stable_and_differs_between_keys() {
        let material = KeyBytes::from_base64(&KeyBytes::generate().unwrap().to_base64()).unwrap();
        let again = KeyBytes::from_base64(&material.to_base64()).unwrap();
        assert_eq!(Kek::new(&material).unwrap().id(), Kek::new(&again).unwrap().id());
        assert_ne!(Kek::new(&material).unwrap().id(), Kek::new(&KeyBytes::generate().unwrap()).unwrap().id());
    }

    #[test]
    fn master_key_text_must_be_32_bytes_of_base64() {
        assert!(KeyBytes::from_base64("not base64!").is_err());
        assert!(KeyBytes::from_base64(&STANDARD.encode([1u8; 16])).is_err());
        assert!(KeyBytes::from_base64(&format!("  {}\n", STANDARD.encode([1u8; 32]))).is_ok());
    }

    fn uuid_from(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }

    proptest! {
        #[test]
        fn seal_then_open_round_trips(plaintext in proptest::collection::vec(any::<u8>(), 0..2048), row in any::<u64>()) {
            let dek = Dek::generate().unwrap();
            let aad = Aad::field("messages", &row, "body");
            prop_assert_eq!(dek.open(&dek.seal(&plaintext, &aad).unwrap(), &aad).unwrap(), plaintext);
        }

        #[test]
        fn any_single_byte_flip_is_detected(plaintext in proptest::collection::vec(any::<u8>(), 1..256), index in any::<prop::sample::Index>(), bit in 0u8..8) {
            let dek = Dek::generate().unwrap();
            let aad = Aad::field("messages", &1, "body");
            let mut sealed = dek.seal(&plaintext, &aad).unwrap();
            let at = index.index(sealed.len());
            sealed[at] ^= 1 << bit;
            prop_assert!(dek.open(&sealed, &aad).is_err());
        }

        #[test]
        fn a_different_key_never_opens(plaintext in proptest::collection::vec(any::<u8>(), 0..256)) {
            let aad = Aad::field("messages", &1, "body");
            let sealed = Dek::generate().unwrap().seal(&plaintext, &aad).unwrap();
            prop_assert!(Dek::generate().unwrap().open(&sealed, &aad).is_err());
        }
    }
}
