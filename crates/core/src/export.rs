//! The right of access: a machine-readable archive (JSON, format `parley-export/1`, described
//! by the `ExportArchive` schema of the API) of everything Parley holds about a user: profile,
//! preferences, blocks, sessions, security events, second factors, passkeys, policy
//! acceptances and consents (with their proof), and every
//! conversation with its messages (the other party by handle only). A user asks for it, it is
//! built and sealed under their profile key, and it is downloaded once through an unguessable
//! link within a day. An operator can build one directly (`parley user export`).

use std::time::Duration;

use parley_crypto::{Aad, BearerToken};
use parley_domain::page::{ConversationCursor, MessageWindow, PageLimit};
use parley_domain::{Handle, KeyScope, Role, Sealed, Secret, Seq, Timestamp, UserId};
use parley_store::ExportRecord;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Parley;
use crate::auth::Session;
use crate::error::CoreError;
use crate::format_time;
use crate::keyring::KeyRing;
use crate::notices::MAX_EVENTS_LISTED;

/// Export links start with this.
const EXPORT_PREFIX: &str = "prly_e";
/// How long a download link works.
pub const EXPORT_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// The archive format's name and version.
pub const EXPORT_FORMAT: &str = "parley-export/1";

/// A built export, ready to download once.
#[derive(Debug)]
pub struct ExportLink {
    /// The single-use download token.
    pub token: Secret<String>,
    /// When the link stops working.
    pub expires_at: Timestamp,
}

impl Parley {
    /// Builds the caller's archive and returns its single-use download link.
    pub async fn request_export(&self, session: &Session) -> Result<ExportLink, CoreError> {
        let now = self.clock.now();
        Self::check_rate(&self.export_limiter, session.user_id(), now)?;
        let archive = serde_json::to_vec(&self.archive_of(session.user_id()).await?).map_err(|e| CoreError::Internal(Box::new(e)))?;
        let id = Uuid::now_v7();
        let dek = self.keys.dek_for(&KeyScope::UserProfile(session.user_id()), now).await?;
        let token = BearerToken::generate(EXPORT_PREFIX)?;
        let record = ExportRecord {
            token_hash: token.hash,
            id,
            user_id: session.user_id(),
            archive: Sealed::from_bytes(dek.seal(&archive, &export_aad(id))?),
            created_at: now,
            expires_at: now.plus(EXPORT_TTL),
        };
        self.store.insert_export(&record).await?;
        tracing::info!(user_id = %session.user_id(), "data export built");
        Ok(ExportLink { token: token.secret, expires_at: record.expires_at })
    }

    /// Downloads (and so uses up) one of the caller's exports.
    pub async fn download_export(&self, session: &Session, token: &str) -> Result<Vec<u8>, CoreError> {
        let record = self.store.take_export(session.user_id(), &BearerToken::hash(token)).await?;
        let record = record.filter(|r| r.expires_at > self.clock.now()).ok_or(CoreError::ExportNotFound)?;
        let dek = self.keys.existing_dek(&KeyScope::UserProfile(record.user_id)).await?.ok_or(CoreError::ExportNotFound)?;
        Ok(dek.open(record.archive.as_bytes(), &export_aad(record.id))?)
    }

    /// The archive of the user with this handle, for an operator answering a request.
    pub async fn export_by_handle(&self, handle: &str) -> Result<Value, CoreError> {
        let handle = Handle::parse(handle).map_err(|_| CoreError::UserNotFound)?;
        let user = self.store.user_by_handle(&handle.key()).await?.ok_or(CoreError::UserNotFound)?;
        tracing::info!(user_id = %user.id, "data export built by an operator");
        let archive = self.archive_of(user.id).await?;
        self.audit(crate::audit::Actor::Operator, "account.exported", &user.id.to_string(), &json!({})).await?;
        Ok(archive)
    }

    async fn archive_of(&self, user: UserId) -> Result<Value, CoreError> {
        let record = self.store.user_by_id(user).await?.ok_or(CoreError::UserNotFound)?;
        let email = match (&record.email, self.keys.existing_dek(&KeyScope::UserProfile(user)).await?) {
            (Some(sealed), Some(dek)) => Some(KeyRing::open_email(&dek, user, sealed)?.expose().to_owned()),
            _ => None,
        };
        let preferences = self.store.preferences_of(user).await?.unwrap_or_default();
        let totp = self.store.totp_of(user).await?.is_some_and(|t| t.confirmed_at.is_some());
        Ok(json!({
            "format": EXPORT_FORMAT,
            "generated_at": format_time(self.clock.now()),
            "account": {
                "id": user.to_string(),
                "handle": record.handle.as_str(),
                "email": email,
                "created_at": format_time(record.created_at),
                "has_password": record.password_hash.is_some(),
            },
            "preferences": {
                "contact_policy": preferences.contact_policy.as_str(),
                "do_not_sell": preferences.do_not_sell,
                "new_device_mail": preferences.new_device_mail,
            },
            "blocked": self.store.blocks_of(user).await?.iter().map(|(_, handle, since)| json!({"handle": handle.as_str(), "since": format_time(*since)})).collect::<Vec<_>>(),
            "sessions": self.sessions_of(user, None).await?.iter().map(|s| json!({
                "id": s.id.to_string(), "kind": s.kind.as_str(), "device": s.device.as_str(), "network": s.network.as_str(),
                "created_at": format_time(s.created_at), "last_seen_at": format_time(s.last_seen_at), "expires_at": format_time(s.expires_at),
            })).collect::<Vec<_>>(),
            "security_events": self.security_events_of(user, MAX_EVENTS_LISTED).await?.iter().map(|e| json!({
                "kind": e.kind.as_str(), "at": format_time(e.at), "ip": e.ip.map(|ip| ip.to_string()), "network": e.network.as_str(), "device": e.device.as_str(),
            })).collect::<Vec<_>>(),
            "two_factor": {"totp": totp, "recovery_codes_left": self.store.recovery_codes_left(user).await?},
            "passkeys": self.passkeys_of(user).await?.iter().map(|p| json!({
                "label": p.label, "created_at": format_time(p.created_at), "last_used_at": p.last_used_at.map(format_time),
            })).collect::<Vec<_>>(),
            "consents": self.consents_archive(user).await?,
            "conversations": self.conversations_archive(user).await?,
        }))
    }

    /// The user's policy acceptances and consent ledger, each with its proof.
    async fn consents_archive(&self, user: UserId) -> Result<Value, CoreError> {
        let state = self.consent_state_of(user).await?;
        Ok(json!({
            "current_policy_version": state.current_version,
            "acceptance_required": state.acceptance_required,
            "acceptances": state.acceptances.iter().map(|a| json!({
                "version": a.version, "accepted_at": format_time(a.accepted_at), "source": a.source.as_str(),
            })).collect::<Vec<_>>(),
            "purposes": state.purposes.iter().map(|p| json!({
                "purpose": p.purpose.as_str(), "description": p.purpose.description(), "granted": p.granted, "active": p.active,
            })).collect::<Vec<_>>(),
            "ledger": state.ledger.iter().map(|c| json!({
                "purpose": c.purpose.as_str(), "granted": c.granted, "at": format_time(c.at),
                "policy_version": c.policy_version, "source": c.source.as_str(),
            })).collect::<Vec<_>>(),
        }))
    }

    /// Every conversation of the user with all its messages, oldest first.
    async fn conversations_archive(&self, user: UserId) -> Result<Vec<Value>, CoreError> {
        let page = PageLimit::parse(Some(PageLimit::MAX))?;
        let mut cursor: Option<ConversationCursor> = None;
        let mut archived = Vec::new();
        loop {
            let records = self.store.conversations_of(user, cursor, page).await?;
            let Some(last) = records.last() else { break };
            cursor = Some(ConversationCursor { last_activity_at: last.conversation.last_activity_at, id: last.conversation.id });
            for record in &records {
                let Some(role) = record.conversation.role_of(user) else { continue };
                let other = if role == Role::Buyer { &record.seller_handle } else { &record.buyer_handle };
                archived.push(json!({
                    "id": record.conversation.id.to_string(),
                    "listing_id": record.conversation.listing.as_ref().map(|l| l.as_str().to_owned()),
                    "my_role": if role == Role::Buyer { "buyer" } else { "seller" },
                    "other_party": other.as_str(),
                    "created_at": format_time(record.conversation.created_at),
                    "messages": self.messages_archive(user, record.conversation.id, other).await?,
                }));
            }
        }
        Ok(archived)
    }

    /// Every message of the conversation. A body that does not open may have been re-sealed by
    /// a deletion while the archive was read: the conversation is read once more then.
    async fn messages_archive(
        &self,
        user: UserId,
        conversation: parley_domain::ConversationId,
        other: &Handle,
    ) -> Result<Vec<Value>, CoreError> {
        let (archived, complete) = self.read_messages_archive(user, conversation, other).await?;
        if complete { Ok(archived) } else { Ok(self.read_messages_archive(user, conversation, other).await?.0) }
    }

    /// The conversation's messages, and whether every stored body opened.
    async fn read_messages_archive(
        &self,
        user: UserId,
        conversation: parley_domain::ConversationId,
        other: &Handle,
    ) -> Result<(Vec<Value>, bool), CoreError> {
        let mut complete = true;
        let page = PageLimit::parse(Some(PageLimit::MAX))?;
        let mut after = Seq::ZERO;
        let mut keys = std::collections::HashMap::new();
        let mut archived = Vec::new();
        loop {
            let records = self.store.messages(conversation, MessageWindow::After(after), page).await?;
            let Some(last) = records.last() else { break };
            after = last.seq;
            for record in records {
                let key = match keys.entry((record.author, record.key_generation)) {
                    std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                    std::collections::hash_map::Entry::Vacant(entry) => {
                        let scope = KeyScope::MessageAuthor { conversation, author: record.author, generation: record.key_generation };
                        entry.insert(self.keys.existing_dek(&scope).await?)
                    }
                };
                let body = key.as_ref().and_then(|dek| crate::messages::readable_body(dek, &record));
                complete &= body.is_some() || record.body.as_bytes().is_empty();
                archived.push(json!({
                    "seq": record.seq.value(),
                    "mine": record.author == user,
                    "author": if record.author == user { "me" } else { other.as_str() },
                    "body": body.map(|b| b.expose().to_owned()),
                    "created_at": format_time(record.created_at),
                }));
            }
        }
        Ok((archived, complete))
    }
}

fn export_aad(id: Uuid) -> Aad {
    Aad::field("exports", &id, "archive")
}
