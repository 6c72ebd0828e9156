//! The key ring: the KEK, the key store and the blind-index key. It hands out the data key
//! of a scope (creating it on first use) and seals and opens protected fields with it.

use std::sync::Arc;

use parley_crypto::{Aad, BlindIndexKey, Dek, Kek};
use parley_domain::{BlindIndex, ClientContext, EmailAddress, KeyScope, SessionId, Timestamp, TokenHash, UserId};
use parley_store::KeyStore;

use crate::error::CoreError;

/// Keys and what they do.
pub struct KeyRing {
    kek: Kek,
    store: Arc<dyn KeyStore>,
    blind_index: BlindIndexKey,
}

impl KeyRing {
    /// Opens the ring, creating the blind-index key on first start.
    pub async fn open(kek: Kek, store: Arc<dyn KeyStore>, now: Timestamp) -> Result<Self, CoreError> {
        let dek = get_or_create(&kek, store.as_ref(), &KeyScope::BlindIndex, now).await?;
        Ok(Self { blind_index: BlindIndexKey::from_dek(&dek), kek, store })
    }

    /// The data key of `scope`, created if it does not exist yet.
    pub async fn dek_for(&self, scope: &KeyScope, now: Timestamp) -> Result<Dek, CoreError> {
        get_or_create(&self.kek, self.store.as_ref(), scope, now).await
    }

    /// The data key of `scope`, if it exists (it does not after erasure).
    pub async fn existing_dek(&self, scope: &KeyScope) -> Result<Option<Dek>, CoreError> {
        match self.store.wrapped_key(scope).await? {
            Some(wrapped) => Ok(Some(self.kek.unwrap(&wrapped, scope)?)),
            None => Ok(None),
        }
    }

    /// Destroys the data key of `scope`: everything sealed under it becomes unreadable.
    pub async fn destroy(&self, scope: &KeyScope) -> Result<(), CoreError> {
        self.store.destroy_key(scope).await?;
        Ok(())
    }

    /// The audit log's checkpoint, kept in the key store (apart from the data database).
    pub async fn audit_checkpoint(&self) -> Result<Option<(u64, [u8; 32])>, CoreError> {
        Ok(self.store.audit_checkpoint().await?)
    }

    /// Moves the audit checkpoint forward to entry `seq`.
    pub async fn advance_audit_checkpoint(&self, seq: u64, hash: &[u8; 32]) -> Result<(), CoreError> {
        Ok(self.store.advance_audit_checkpoint(seq, hash).await?)
    }

    /// The blind index of an email address.
    pub fn email_index(&self, email: &EmailAddress) -> BlindIndex {
        self.blind_index.email(email)
    }

    /// The fingerprint of a device a user logs in from (its label and coarse network), keyed so
    /// the stored value says nothing without the key.
    pub fn device_fingerprint(&self, user: UserId, context: &ClientContext) -> BlindIndex {
        self.blind_index.keyed("device", &[&user.to_string(), context.network.as_str(), context.device.as_str()])
    }

    /// The fingerprint of a device token a user's login received.
    pub fn device_token_fingerprint(&self, user: UserId, token: &str) -> BlindIndex {
        self.blind_index.keyed("device-token", &[&user.to_string(), token])
    }

    /// The stored form of a user's recovery code: keyed, so a copy of the database alone
    /// cannot test guesses.
    pub fn recovery_code_digest(&self, user: UserId, code: &str) -> TokenHash {
        TokenHash(self.blind_index.keyed("recovery-code", &[&user.to_string(), &parley_crypto::recovery::normalise(code)]).0)
    }

    /// The keyed index of a single sign-on subject (the marketplace's own user id).
    pub fn external_subject(&self, provider: &str, subject: &str) -> BlindIndex {
        self.blind_index.keyed("sso-subject", &[provider, subject])
    }

    /// The CSRF digest of a cookie session.
    pub fn csrf_digest(&self, session: SessionId) -> BlindIndex {
        self.blind_index.keyed("csrf", &[&session.to_string()])
    }

    /// Whether `presented` is the CSRF digest of the session, compared in constant time.
    pub fn verify_csrf(&self, session: SessionId, presented: &[u8]) -> bool {
        self.blind_index.verify_keyed("csrf", &[&session.to_string()], presented)
    }

    /// The tag of a user's unsubscribe link for one purpose: only Parley can make one.
    pub fn unsubscribe_tag(&self, user: UserId, purpose: &str) -> BlindIndex {
        self.blind_index.keyed("unsubscribe", &[&user.to_string(), purpose])
    }

    /// Whether `presented` is the tag of the user's unsubscribe link for `purpose`, compared
    /// in constant time.
    pub fn verify_unsubscribe_tag(&self, user: UserId, purpose: &str, presented: &[u8]) -> bool {
        self.blind_index.verify_keyed("unsubscribe", &[&user.to_string(), purpose], presented)
    }

    /// The chained MAC of audit entry `seq` after the entry whose MAC is `previous`: without
    /// the key, nobody can rewrite the log and make it verify.
    pub fn audit_mac(&self, seq: u64, previous: &[u8; 32], entry: &parley_store::AuditEntry) -> [u8; 32] {
        use base64::Engine as _;
        let previous = base64::engine::general_purpose::STANDARD.encode(previous);
        let values = [
            previous.as_str(),
            &seq.to_string(),
            &entry.at.as_millis().to_string(),
            &entry.actor,
            &entry.action,
            &entry.subject,
            &entry.details,
        ];
        self.blind_index.keyed("audit", &values).0
    }

    /// Opens a user's sealed email address.
    pub fn open_email(dek: &Dek, user: UserId, sealed: &parley_domain::Sealed<EmailAddress>) -> Result<EmailAddress, CoreError> {
        let bytes = dek.open(sealed.as_bytes(), &Self::email_aad(&user))?;
        Ok(EmailAddress::from_trusted(String::from_utf8(bytes).map_err(|e| CoreError::Internal(Box::new(e)))?))
    }

    /// The associated data of a user's email field.
    pub fn email_aad(user: &impl std::fmt::Display) -> Aad {
        Aad::field("users", user, "email")
    }

    /// The associated data of an earlier text of an edited message.
    pub fn edit_aad(edit: &impl std::fmt::Display) -> Aad {
        Aad::field("message_edits", edit, "body")
    }

    /// The associated data of a message body.
    pub fn body_aad(message: &impl std::fmt::Display) -> Aad {
        Aad::field("messages", message, "body")
    }
}

async fn get_or_create(kek: &Kek, store: &dyn KeyStore, scope: &KeyScope, now: Timestamp) -> Result<Dek, CoreError> {
    if let Some(wrapped) = store.wrapped_key(scope).await? {
        return Ok(kek.unwrap(&wrapped, scope)?);
    }
    let fresh = kek.wrap(&Dek::generate()?, scope)?;
    // Two writers may race to create the key: the store keeps the first and both use it.
    let filed = store.insert_key_if_absent(scope, &fresh, now).await?;
    Ok(kek.unwrap(&filed, scope)?)
}
