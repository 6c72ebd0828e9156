//! Security events and account-activity mail. A [`SecurityNotice`] is built here (context
//! sealed under the user's profile key; a mail queued in the outbox when the kind is one the
//! owner is told about) and handed to the store, which writes it in the same transaction as the
//! change it reports. The outbox is drained by the server's mail worker through
//! [`Parley::claim_mail`], [`Parley::mail_delivered`] and [`Parley::mail_failed`].

use std::time::Duration;

use parley_crypto::{Aad, Dek};
use parley_domain::{
    ClientContext, ConsentPurpose, DeviceLabel, EmailAddress, Handle, KeyScope, Network, Sealed, SecurityEventKind, Timestamp, UserId,
};
use parley_store::{OutboxRecord, SecurityEventRecord, SecurityNotice};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Parley;
use crate::auth::Session;
use crate::consent::{BroadcastMailJson, PolicyMailJson};
use crate::error::CoreError;
use crate::keyring::KeyRing;

/// The most security events one listing returns.
pub const MAX_EVENTS_LISTED: u32 = 200;
/// How long a mail worker holds a claimed mail before another may retry it: longer than a
/// worker's whole batch can take (the server bounds each send, and so the batch, well below
/// it), so no mail is sent twice.
pub const MAIL_LEASE: Duration = Duration::from_secs(10 * 60);
/// The first retry waits this long; each further one twice as long, up to [`MAIL_RETRY_CEILING`].
const MAIL_RETRY_BASE: Duration = Duration::from_secs(30);
const MAIL_RETRY_CEILING: Duration = Duration::from_secs(60 * 60);
/// A mail still undelivered this long after it was queued is dropped (and the drop logged).
const MAIL_GIVE_UP_AFTER: Duration = Duration::from_secs(3 * 24 * 60 * 60);
/// What a queued mail is; its outbox `kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MailKind {
    /// Account activity (a security event).
    Security,
    /// A new privacy policy version.
    PolicyUpdate,
    /// A broadcast the user consented to.
    Broadcast,
}

impl MailKind {
    const ALL: [MailKind; 3] = [Self::Security, Self::PolicyUpdate, Self::Broadcast];

    fn as_str(self) -> &'static str {
        match self {
            Self::Security => "security_event",
            Self::PolicyUpdate => "policy_update",
            Self::Broadcast => "broadcast",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// A security event as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEventView {
    /// Its id.
    pub id: Uuid,
    /// What happened.
    pub kind: SecurityEventKind,
    /// When.
    pub at: Timestamp,
    /// From which address.
    pub ip: Option<std::net::IpAddr>,
    /// From which network (coarse).
    pub network: Network,
    /// From which device.
    pub device: DeviceLabel,
}

/// A mail ready to send: rendered, addressed, with no secret and no message content in it.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    /// The outbox id (also a stable `Message-ID` part, so a resend is recognisable).
    pub id: Uuid,
    /// The recipient.
    pub to: EmailAddress,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// Delivery attempts, this one included.
    pub attempts: u32,
    /// When it was queued.
    pub queued_at: Timestamp,
    /// For a broadcast: the one-click unsubscribe URL (RFC 8058), also in the text.
    pub unsubscribe_url: Option<String>,
}

/// The sealed context of an event and the sealed payload of its mail.
#[derive(Serialize, Deserialize)]
struct ContextJson {
    #[serde(default)]
    ip: Option<String>,
    network: String,
    device: String,
}

#[derive(Serialize, Deserialize)]
struct SecurityMailJson {
    /// The address on file when it happened (absent in mail queued before it was recorded: then
    /// the address on file now).
    #[serde(default)]
    to: Option<String>,
    event: String,
    at: i64,
    network: String,
    device: String,
}

impl Parley {
    /// Builds the notice of `kind` for `user`: the event, and its mail when the kind is mailed
    /// and there is an address to send it to (`mail_to`, the account's address now, sealed
    /// under its profile key). The address goes into the mail's sealed payload: a mail is
    /// delivered where the owner read their mail when it happened, even if the address changes
    /// before the outbox is drained.
    pub(crate) async fn notice(
        &self,
        user: UserId,
        mail_to: Option<&Sealed<EmailAddress>>,
        kind: SecurityEventKind,
        context: &ClientContext,
    ) -> Result<SecurityNotice, CoreError> {
        let now = self.clock.now();
        let dek = self.keys.dek_for(&KeyScope::UserProfile(user), now).await?;
        let id = Uuid::now_v7();
        let context_json = serde_json::to_vec(&ContextJson {
            ip: Some(context.ip.to_string()),
            network: context.network.as_str().into(),
            device: context.device.as_str().into(),
        })
        .map_err(|e| CoreError::Internal(Box::new(e)))?;
        let event =
            SecurityEventRecord { id, user_id: user, kind, at: now, context: Sealed::from_bytes(dek.seal(&context_json, &event_aad(id))?) };
        let mail = match mail_to.filter(|_| kind.is_mailed()) {
            Some(sealed) => Some(security_mail(&dek, user, kind, context, &KeyRing::open_email(&dek, user, sealed)?, now)?),
            None => None,
        };
        tracing::info!(user_id = %user, event = %kind, "security event");
        Ok(SecurityNotice { event, mail })
    }

    /// The caller's most recent security events, newest first.
    pub async fn security_events(&self, session: &Session, limit: u32) -> Result<Vec<SecurityEventView>, CoreError> {
        self.security_events_of(session.user_id(), limit).await
    }

    /// A user's most recent security events, newest first.
    pub(crate) async fn security_events_of(&self, user: UserId, limit: u32) -> Result<Vec<SecurityEventView>, CoreError> {
        let records = self.store.security_events_of(user, limit.clamp(1, MAX_EVENTS_LISTED)).await?;
        let Some(dek) = self.keys.existing_dek(&KeyScope::UserProfile(user)).await? else {
            return Ok(Vec::new());
        };
        records
            .into_iter()
            .map(|record| {
                let json = dek.open(record.context.as_bytes(), &event_aad(record.id))?;
                let context: ContextJson = serde_json::from_slice(&json).map_err(|e| CoreError::Internal(Box::new(e)))?;
                Ok(SecurityEventView {
                    id: record.id,
                    kind: record.kind,
                    at: record.at,
                    ip: context.ip.and_then(|ip| ip.parse().ok()),
                    network: Network::from_trusted(context.network),
                    device: DeviceLabel::from_trusted(context.device),
                })
            })
            .collect()
    }

    /// Deletes security events older than their retention period. Run periodically.
    pub async fn purge_security_events(&self) -> Result<u64, CoreError> {
        let before = self.clock.now().minus(self.settings.security_event_retention);
        let purged = self.store.purge_security_events(before).await?;
        if purged > 0 {
            tracing::info!(purged, "expired security events deleted");
        }
        Ok(purged)
    }

    /// Takes up to `limit` due mails and renders them. Mail for an account that no longer has
    /// an address (or a key) is dropped here: there is no one to send it to.
    pub async fn claim_mail(&self, limit: u32) -> Result<Vec<OutgoingMail>, CoreError> {
        let now = self.clock.now();
        let claimed = self.store.claim_due_mail(now, now.plus(MAIL_LEASE), limit).await?;
        let mut ready = Vec::with_capacity(claimed.len());
        for record in claimed {
            // One mail that cannot be rendered must not hold back the others.
            match self.render_mail(&record).await {
                Ok(Some(mail)) => ready.push(mail),
                Ok(None) => self.store.remove_mail(record.id, record.attempts).await?,
                Err(error) => {
                    tracing::warn!(mail_id = %record.id, %error, "cannot render a queued mail; will retry");
                    self.mail_failed(record.id, record.attempts, record.created_at).await?;
                }
            }
        }
        Ok(ready)
    }

    /// Removes a delivered mail from the outbox (`attempts` as claimed).
    pub async fn mail_delivered(&self, id: Uuid, attempts: u32) -> Result<(), CoreError> {
        Ok(self.store.remove_mail(id, attempts).await?)
    }

    /// Schedules a failed mail's next attempt with exponential back-off, or drops it when it
    /// has waited too long. `attempts` counts the one that just failed.
    pub async fn mail_failed(&self, id: Uuid, attempts: u32, queued_at: Timestamp) -> Result<(), CoreError> {
        let now = self.clock.now();
        if now.since(queued_at) >= MAIL_GIVE_UP_AFTER {
            tracing::error!(mail_id = %id, attempts, "mail undeliverable for days; dropped");
            return Ok(self.store.remove_mail(id, attempts).await?);
        }
        let factor = 1u32.checked_shl(attempts.saturating_sub(1).min(31)).unwrap_or(u32::MAX);
        let wait = MAIL_RETRY_BASE.saturating_mul(factor).min(MAIL_RETRY_CEILING);
        Ok(self.store.retry_mail_at(id, attempts, now.plus(wait)).await?)
    }

    async fn render_mail(&self, record: &OutboxRecord) -> Result<Option<OutgoingMail>, CoreError> {
        let Some(user) = self.store.user_by_id(record.user_id).await? else {
            return Ok(None);
        };
        let Some(dek) = self.keys.existing_dek(&KeyScope::UserProfile(user.id)).await? else {
            return Ok(None);
        };
        // The address on file now, unless the mail names the one on file when it was queued.
        let mut to = user.email.as_ref().map(|sealed| KeyRing::open_email(&dek, user.id, sealed)).transpose()?;
        let payload = dek.open(record.payload.as_bytes(), &mail_aad(record.id))?;
        let Some(kind) = MailKind::parse(&record.kind) else {
            tracing::error!(mail_id = %record.id, "outbox mail of an unknown kind; dropped");
            return Ok(None);
        };
        let rendered = match kind {
            MailKind::Security => {
                let facts: SecurityMailJson = parse_payload(&payload)?;
                if let Some(then) = &facts.to {
                    to = Some(EmailAddress::from_trusted(then.clone()));
                }
                SecurityEventKind::parse(&facts.event).map(|event| (render_security_mail(&user.handle, event, &facts), None))
            }
            MailKind::PolicyUpdate => {
                let facts: PolicyMailJson = parse_payload(&payload)?;
                Some((render_policy_mail(&user.handle, facts.version, &self.settings.public_url), None))
            }
            MailKind::Broadcast => {
                let facts: BroadcastMailJson = parse_payload(&payload)?;
                let Some(purpose) = ConsentPurpose::parse(&facts.purpose) else { return Ok(None) };
                // The user may have withdrawn, or a new policy may await their acceptance, since
                // the mail was queued: then it is not sent.
                if !self.purpose_active(user.id, purpose).await? {
                    return Ok(None);
                }
                let url = format!("{}/unsubscribe/{}", self.settings.public_url, self.unsubscribe_token(user.id, purpose));
                Some(((facts.subject.clone(), render_broadcast_text(&user.handle, purpose, &facts.text, &url)), Some(url)))
            }
        };
        let (Some(to), Some(((subject, text), unsubscribe_url))) = (to, rendered) else {
            return Ok(None);
        };
        Ok(Some(OutgoingMail {
            id: record.id,
            to,
            subject,
            text,
            attempts: record.attempts,
            queued_at: record.created_at,
            unsubscribe_url,
        }))
    }
}

fn parse_payload<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, CoreError> {
    serde_json::from_slice(payload).map_err(|e| CoreError::Internal(Box::new(e)))
}

/// Seals `payload` under the user's key as a mail of `kind`, due now.
pub(crate) fn seal_mail(dek: &Dek, user: UserId, kind: MailKind, payload: &[u8], now: Timestamp) -> Result<OutboxRecord, CoreError> {
    let id = Uuid::now_v7();
    Ok(OutboxRecord {
        id,
        user_id: user,
        kind: kind.as_str().into(),
        payload: Sealed::from_bytes(dek.seal(payload, &mail_aad(id))?),
        created_at: now,
        attempts: 0,
        next_attempt_at: now,
    })
}

fn security_mail(
    dek: &Dek,
    user: UserId,
    kind: SecurityEventKind,
    context: &ClientContext,
    to: &EmailAddress,
    now: Timestamp,
) -> Result<OutboxRecord, CoreError> {
    // A lock is set off by someone else's failed logins: their self-chosen device label has no
    // place in a mail Parley signs off.
    let device = if kind == SecurityEventKind::AccountLocked { "not shown" } else { context.device.as_str() };
    let facts = SecurityMailJson {
        to: Some(to.expose().to_owned()),
        event: kind.as_str().into(),
        at: now.as_millis(),
        network: context.network.as_str().into(),
        device: device.into(),
    };
    let json = serde_json::to_vec(&facts).map_err(|e| CoreError::Internal(Box::new(e)))?;
    seal_mail(dek, user, MailKind::Security, &json, now)
}

fn event_aad(id: Uuid) -> Aad {
    Aad::field("security_events", &id, "context")
}

fn mail_aad(id: Uuid) -> Aad {
    Aad::field("outbox", &id, "payload")
}

/// The subject and text of an account-activity mail: what happened, when, from where, and what
/// to do if it was not the owner. Never a secret, a code or message content.
fn render_security_mail(handle: &Handle, kind: SecurityEventKind, facts: &SecurityMailJson) -> (String, String) {
    let (subject, what) = match kind {
        SecurityEventKind::AccountCreated => ("Welcome to Parley", "Your Parley account was created."),
        SecurityEventKind::AccountLocked => (
            "Repeated failed logins to your Parley account",
            "Several logins to your account failed in a row, so password logins are paused for a while. \
             You can still log in from a device you have used before.",
        ),
        SecurityEventKind::NewDeviceLogin => ("New login to your Parley account", "Your account was logged in to from a new device."),
        SecurityEventKind::PasswordChanged => {
            ("Your Parley password was changed", "Your password was changed, and your other sessions were logged out.")
        }
        SecurityEventKind::MfaEnabled => {
            ("Two-factor authentication is on", "Two-factor authentication (an authenticator app) was turned on.")
        }
        SecurityEventKind::MfaDisabled => {
            ("Two-factor authentication is off", "Two-factor authentication (an authenticator app) was turned off.")
        }
        SecurityEventKind::RecoveryCodeUsed => ("A recovery code was used", "One of your one-time recovery codes was used."),
        SecurityEventKind::RecoveryCodesReplaced => {
            ("New recovery codes were made", "A new set of recovery codes was made; the old codes no longer work.")
        }
        SecurityEventKind::PasskeyAdded => ("A passkey was added", "A passkey was added to your account."),
        SecurityEventKind::PasskeyRemoved => ("A passkey was removed", "A passkey was removed from your account."),
        SecurityEventKind::EmailChanged => (
            "Your email address was changed",
            "The email address of your account was changed. From now on, mail about your account goes to the new address.",
        ),
        SecurityEventKind::FactorsReset => (
            "Your sign-in methods were reset",
            "Parley's support removed your authenticator app, recovery codes and passkeys, and logged out every session. \
             Log in with your password and set them up again.",
        ),
        SecurityEventKind::LoginSucceeded
        | SecurityEventKind::LoginFailed
        | SecurityEventKind::LoggedOut
        | SecurityEventKind::SessionRevoked => ("Account activity", "There was activity on your account."),
    };
    let when = crate::format_time(Timestamp::from_millis(facts.at));
    let text = format!(
        "Hello @{handle},\n\n{what}\n\nWhen: {when}\nNetwork: {network}\nDevice: {device}\n\n\
         If this was you, there is nothing to do. If it was not, change your password now and review \
         your sessions and security events in Parley's account settings.\n\n-- Parley\n",
        handle = handle.as_str(),
        network = facts.network,
        device = facts.device,
    );
    (subject.to_owned(), text)
}

/// The mail telling a user the privacy policy changed: where to read it, and that optional mail
/// is paused until they accept it.
fn render_policy_mail(handle: &Handle, version: u32, public_url: &str) -> (String, String) {
    let text = format!(
        "Hello @{handle},\n\nParley's privacy policy has changed: version {version} is now in force. \
         You can read it at {public_url}/privacy\n\n\
         Until you accept it in Parley, we send you none of the optional mail you agreed to \
         (news, offers). Your conversations are not affected.\n\n-- Parley\n",
        handle = handle.as_str(),
    );
    ("Parley's privacy policy has changed".to_owned(), text)
}

/// A broadcast's text, with why the user gets it and the link that stops it.
fn render_broadcast_text(handle: &Handle, purpose: ConsentPurpose, text: &str, unsubscribe_url: &str) -> String {
    format!(
        "Hello @{handle},\n\n{text}\n\n-- Parley\n\nYou get this mail because you agreed to: {why}\n\
         To stop it, open {unsubscribe_url}\n",
        handle = handle.as_str(),
        text = text.trim_end(),
        why = purpose.description(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mailed_kind_has_its_own_subject() {
        let facts = SecurityMailJson { to: None, event: String::new(), at: 0, network: "203.0.113.0/24".into(), device: "Firefox".into() };
        let handle = Handle::from_trusted("alice".into());
        let subjects: std::collections::HashSet<String> = SecurityEventKind::ALL
            .into_iter()
            .filter(|kind| kind.is_mailed())
            .map(|kind| render_security_mail(&handle, kind, &facts).0)
            .collect();
        assert_eq!(subjects.len(), SecurityEventKind::ALL.iter().filter(|kind| kind.is_mailed()).count());
        let (_, text) = render_security_mail(&handle, SecurityEventKind::NewDeviceLogin, &facts);
        assert!(text.contains("@alice") && text.contains("203.0.113.0/24") && text.contains("Firefox") && text.contains("1970-01-01"));
    }
}
