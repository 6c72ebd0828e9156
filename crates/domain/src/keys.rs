//! The shapes protected data takes on its way to storage: ciphertexts (`Sealed<T>`), wrapped
//! data keys, keyed blind indexes and hashes. The store holds only these, never plaintext;
//! `parley-crypto` is the only crate that makes or opens them.

use std::fmt;
use std::marker::PhantomData;

use crate::ids::{ConversationId, UserId};

/// The ciphertext of a `T`, bound by its associated data to one table, row and field.
pub struct Sealed<T> {
    bytes: Vec<u8>,
    marker: PhantomData<fn() -> T>,
}

impl<T> Sealed<T> {
    /// Wraps ciphertext bytes (from the crypto crate, or read back from storage).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self { bytes, marker: PhantomData }
    }

    /// The ciphertext bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Unwraps the ciphertext bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

impl<T> Clone for Sealed<T> {
    fn clone(&self) -> Self {
        Self::from_bytes(self.bytes.clone())
    }
}

impl<T> PartialEq for Sealed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl<T> fmt::Debug for Sealed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.bytes.len())
    }
}

/// A data-encryption key wrapped (encrypted) under the key-encryption key.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// Which key-encryption key wrapped it, so a rotation can find what to rewrap.
    pub kek_id: String,
    /// The wrapped key bytes.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrappedKey(kek {}, {} bytes)", self.kek_id, self.bytes.len())
    }
}

/// What a data key protects. Erasing the thing means destroying its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyScope {
    /// A user's personal profile fields (email, ...).
    UserProfile(UserId),
    /// The message bodies one author wrote in one conversation. Deleting one of them for
    /// everyone re-seals the others under the next generation and destroys this one, so no
    /// backup can show the deleted text again.
    MessageAuthor {
        /// The conversation.
        conversation: ConversationId,
        /// The author.
        author: UserId,
        /// 0 at first, one more after each deletion for everyone.
        generation: u32,
    },
    /// The deployment's key for blind indexes over encrypted fields.
    BlindIndex,
}

impl KeyScope {
    /// The stable name under which the key store files this key.
    pub fn name(&self) -> String {
        match self {
            KeyScope::UserProfile(user) => format!("user/{user}"),
            // Generation 0 keeps the name keys had before generations existed.
            KeyScope::MessageAuthor { conversation, author, generation: 0 } => format!("conversation/{conversation}/author/{author}"),
            KeyScope::MessageAuthor { conversation, author, generation } => {
                format!("conversation/{conversation}/author/{author}/generation/{generation}")
            }
            KeyScope::BlindIndex => "system/blind-index".to_owned(),
        }
    }
}

/// An HMAC of a normalised value, for equality lookups on an encrypted field.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BlindIndex(pub [u8; 32]);

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndex(..)")
    }
}

/// The SHA-256 of a bearer token: the only form in which tokens are stored.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// A password hash in PHC string format (`$argon2id$...`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn key_scope_names_are_distinct_per_scope() {
        let user = UserId::from_uuid(Uuid::from_u128(7));
        let conversation = ConversationId::from_uuid(Uuid::from_u128(7));
        let names = [
            KeyScope::UserProfile(user).name(),
            KeyScope::MessageAuthor { conversation, author: user, generation: 0 }.name(),
            KeyScope::MessageAuthor { conversation, author: user, generation: 1 }.name(),
            KeyScope::BlindIndex.name(),
        ];
        assert_eq!(names.len(), names.iter().collect::<std::collections::HashSet<_>>().len());
        assert_eq!(names[1], "conversation/00000000-0000-0000-0000-000000000007/author/00000000-0000-0000-0000-000000000007");
    }
}
