//! The privacy policy and consent. The policy is a versioned document; a user accepts a version
//! at sign-up (or later, for single sign-on accounts), and every new version must be accepted
//! again. Optional purposes (each broadcast kind) are separate, revocable consents kept as a
//! ledger with their proof: when, under which policy version, through which channel. A purpose
//! is pursued for a user only while their latest consent to it is a grant **and** they accepted
//! the current policy: publishing a new version pauses every optional purpose until then.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parley_crypto::digest::sha256_hex;
use parley_domain::{ConsentPurpose, ConsentSource, Timestamp, UserId, ValidationError};
use parley_store::{AcceptanceRecord, ConsentRecord, OutboxRecord, PolicyRecord};
use serde::{Deserialize, Serialize};

use crate::Parley;
use crate::audit::Actor;
use crate::auth::Session;
use crate::error::CoreError;
use crate::notices::{MailKind, seal_mail};

/// The longest privacy policy text, in bytes.
pub const MAX_POLICY_BYTES: usize = 256 * 1024;
/// The longest broadcast text, in bytes.
pub const MAX_BROADCAST_BYTES: usize = 64 * 1024;
/// How many users one page of a mailing run reads and queues at once.
const MAILING_PAGE: u32 = 200;

/// A published version of the privacy policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyView {
    /// Its version.
    pub version: u32,
    /// When it was published.
    pub published_at: Timestamp,
    /// Its text (Markdown).
    pub body: String,
    /// The SHA-256 of the text, hex.
    pub sha256: String,
}

impl From<PolicyRecord> for PolicyView {
    fn from(record: PolicyRecord) -> Self {
        Self { version: record.version, published_at: record.published_at, body: record.body, sha256: record.sha256 }
    }
}

/// Where a user stands on one optional purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurposeState {
    /// The purpose.
    pub purpose: ConsentPurpose,
    /// Whether their latest word on it was a grant.
    pub granted: bool,
    /// Whether it is pursued now: granted, and the current policy accepted.
    pub active: bool,
    /// Their latest word on it, the proof (none if they never gave one: it is off).
    pub latest: Option<ConsentRecord>,
}

/// A user's acceptances of the policy and their consents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentState {
    /// The current policy version.
    pub current_version: u32,
    /// Whether the user must accept the current version (optional purposes are paused until
    /// they do).
    pub acceptance_required: bool,
    /// Every version they accepted, oldest first.
    pub acceptances: Vec<AcceptanceRecord>,
    /// Each purpose's state.
    pub purposes: Vec<PurposeState>,
    /// The whole consent ledger, oldest first.
    pub ledger: Vec<ConsentRecord>,
}

/// What a policy mail says (sealed in the outbox).
#[derive(Serialize, Deserialize)]
pub(crate) struct PolicyMailJson {
    pub(crate) version: u32,
}

/// What a broadcast mail says (sealed in the outbox).
#[derive(Serialize, Deserialize)]
pub(crate) struct BroadcastMailJson {
    pub(crate) purpose: String,
    pub(crate) subject: String,
    pub(crate) text: String,
}

impl Parley {
    /// Publishes `default_body` as version 1 when no policy was ever published (first start).
    pub async fn ensure_privacy_policy(&self, default_body: &str) -> Result<PolicyView, CoreError> {
        if let Some(current) = self.store.current_policy().await? {
            return Ok(current.into());
        }
        let body = check_policy_text(default_body)?;
        Ok(self.store.publish_policy(body, &sha256_hex(body.as_bytes()), self.clock.now()).await?.into())
    }

    /// The current policy, or the given version.
    pub async fn privacy_policy(&self, version: Option<u32>) -> Result<PolicyView, CoreError> {
        let record = match version {
            Some(version) => self.store.policy(version).await?,
            None => self.store.current_policy().await?,
        };
        Ok(record.ok_or(CoreError::PolicyNotFound)?.into())
    }

    /// The current policy version (the store always has one once the server has started). Read
    /// on every profile, consent check and broadcast mail: the number only, not the text.
    pub(crate) async fn current_policy_version(&self) -> Result<u32, CoreError> {
        self.store.current_policy_version().await?.ok_or(CoreError::PolicyNotFound)
    }

    /// Publishes a new version and tells every user with an address by mail; in the app, every
    /// user's consent state now says acceptance is required. Returns the version and how many
    /// mails were queued. Publishing the current text again is refused.
    pub async fn publish_privacy_policy(&self, body: &str) -> Result<(PolicyView, u64), CoreError> {
        let body = check_policy_text(body)?;
        let sha256 = sha256_hex(body.as_bytes());
        if self.store.current_policy().await?.is_some_and(|current| current.sha256 == sha256) {
            return Err(ValidationError::new("policy", "unchanged").into());
        }
        let policy = self.store.publish_policy(body, &sha256, self.clock.now()).await?;
        tracing::info!(version = policy.version, "privacy policy published");
        let payload = serde_json::to_vec(&PolicyMailJson { version: policy.version }).map_err(|e| CoreError::Internal(Box::new(e)))?;
        let queued =
            self.mail_each(async |after| self.store.mailable_users(after, MAILING_PAGE).await, MailKind::PolicyUpdate, &payload).await?;
        let details = serde_json::json!({"version": policy.version, "sha256": policy.sha256, "users_notified": queued});
        self.audit(Actor::Operator, "policy.published", &policy.version.to_string(), &details).await?;
        Ok((policy.into(), queued))
    }

    /// Records that the caller accepted `version`, which must be the current one (a client that
    /// showed an older text must show the new one first).
    pub async fn accept_privacy_policy(&self, session: &Session, version: u32) -> Result<ConsentState, CoreError> {
        self.accept_current_policy(session.user_id(), version, ConsentSource::Settings).await?;
        self.consent_state_of(session.user_id()).await
    }

    async fn accept_current_policy(&self, user: UserId, version: u32, source: ConsentSource) -> Result<(), CoreError> {
        self.check_policy_is_current(version).await?;
        let acceptance = AcceptanceRecord { version, accepted_at: self.clock.now(), source };
        self.store.accept_policy(user, &acceptance).await?;
        Ok(())
    }

    /// Refuses an acceptance of any version but the current one.
    pub(crate) async fn check_policy_is_current(&self, version: u32) -> Result<(), CoreError> {
        if version == self.current_policy_version().await? { Ok(()) } else { Err(CoreError::PolicyOutdated) }
    }

    /// The caller's acceptances and consents.
    pub async fn consents(&self, session: &Session) -> Result<ConsentState, CoreError> {
        self.consent_state_of(session.user_id()).await
    }

    /// Whether the user has yet to accept the current policy.
    pub(crate) async fn policy_acceptance_required(&self, user: UserId) -> Result<bool, CoreError> {
        let current = self.current_policy_version().await?;
        Ok(!accepted_version(&self.store.acceptances_of(user).await?, current))
    }

    pub(crate) async fn consent_state_of(&self, user: UserId) -> Result<ConsentState, CoreError> {
        let current_version = self.current_policy_version().await?;
        let acceptances = self.store.acceptances_of(user).await?;
        let ledger = self.store.consents_of(user).await?;
        let accepted = accepted_version(&acceptances, current_version);
        let purposes = ConsentPurpose::ALL
            .into_iter()
            .map(|purpose| {
                let latest = ledger.iter().rev().find(|c| c.purpose == purpose).copied();
                let granted = latest.is_some_and(|c| c.granted);
                PurposeState { purpose, granted, active: granted && accepted, latest }
            })
            .collect();
        Ok(ConsentState { current_version, acceptance_required: !accepted, acceptances, purposes, ledger })
    }

    /// Whether `purpose` may be pursued for the user now.
    pub(crate) async fn purpose_active(&self, user: UserId, purpose: ConsentPurpose) -> Result<bool, CoreError> {
        Ok(self.consent_state_of(user).await?.purposes.iter().any(|p| p.purpose == purpose && p.active))
    }

    /// Grants or withdraws the caller's consent to `purpose`. Withdrawing always works;
    /// granting needs the current policy accepted first.
    pub async fn set_consent(&self, session: &Session, purpose: ConsentPurpose, granted: bool) -> Result<ConsentState, CoreError> {
        let user = session.user_id();
        let state = self.consent_state_of(user).await?;
        if granted && state.acceptance_required {
            return Err(CoreError::PolicyAcceptanceRequired);
        }
        if state.purposes.iter().any(|p| p.purpose == purpose && p.granted == granted && p.latest.is_some()) {
            return Ok(state);
        }
        self.record_consent(user, purpose, granted, state.current_version, ConsentSource::Settings).await?;
        self.consent_state_of(user).await
    }

    async fn record_consent(
        &self,
        user: UserId,
        purpose: ConsentPurpose,
        granted: bool,
        policy_version: u32,
        source: ConsentSource,
    ) -> Result<(), CoreError> {
        let record = ConsentRecord { user_id: user, purpose, granted, at: self.clock.now(), policy_version, source };
        self.store.record_consent(&record).await?;
        tracing::info!(user_id = %user, %purpose, granted, source = source.as_str(), "consent recorded");
        Ok(())
    }

    /// The token of a user's unsubscribe link for `purpose`: their id, the purpose and a tag
    /// only Parley can make, so the link works without a login and for nothing else.
    pub(crate) fn unsubscribe_token(&self, user: UserId, purpose: ConsentPurpose) -> String {
        format!("{user}.{purpose}.{}", URL_SAFE_NO_PAD.encode(self.keys.unsubscribe_tag(user, purpose.as_str()).0))
    }

    /// Withdraws the consent an unsubscribe link names (through the link: its proof says so).
    /// Using a link twice is harmless.
    pub async fn unsubscribe(&self, token: &str) -> Result<ConsentPurpose, CoreError> {
        let (user, purpose) = self.check_unsubscribe_token(token).ok_or(CoreError::UnsubscribeLinkInvalid)?;
        if self.store.user_by_id(user).await?.is_none() {
            return Err(CoreError::UnsubscribeLinkInvalid);
        }
        let state = self.consent_state_of(user).await?;
        if state.purposes.iter().any(|p| p.purpose == purpose && p.granted) {
            self.record_consent(user, purpose, false, state.current_version, ConsentSource::UnsubscribeLink).await?;
        }
        Ok(purpose)
    }

    /// The purpose a well-formed, genuine unsubscribe token names, and whose it is.
    pub fn check_unsubscribe_token(&self, token: &str) -> Option<(UserId, ConsentPurpose)> {
        let mut parts = token.splitn(3, '.');
        let user: UserId = parts.next()?.parse().ok()?;
        let purpose = ConsentPurpose::parse(parts.next()?)?;
        let tag = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        self.keys.verify_unsubscribe_tag(user, purpose.as_str(), &tag).then_some((user, purpose))
    }

    /// Sends a broadcast of kind `purpose` to every user for whom that purpose is active (they
    /// consented, and accepted the current policy), each mail with its own unsubscribe link.
    /// Returns how many mails were queued.
    pub async fn broadcast(&self, purpose: ConsentPurpose, subject: &str, text: &str) -> Result<u64, CoreError> {
        let subject = subject.trim();
        if subject.is_empty() || subject.len() > 200 || subject.chars().any(char::is_control) {
            return Err(ValidationError::new("subject", "invalid").into());
        }
        if text.trim().is_empty() || text.len() > MAX_BROADCAST_BYTES {
            return Err(ValidationError::new("text", "invalid_length").into());
        }
        let version = self.current_policy_version().await?;
        let payload =
            serde_json::to_vec(&BroadcastMailJson { purpose: purpose.as_str().into(), subject: subject.into(), text: text.into() })
                .map_err(|e| CoreError::Internal(Box::new(e)))?;
        let recipients = async |after| self.store.consenting_users(purpose, version, after, MAILING_PAGE).await;
        let queued = self.mail_each(recipients, MailKind::Broadcast, &payload).await?;
        tracing::info!(%purpose, queued, "broadcast queued");
        let details = serde_json::json!({"purpose": purpose.as_str(), "policy_version": version, "mails_queued": queued});
        self.audit(Actor::Operator, "broadcast.sent", "", &details).await?;
        Ok(queued)
    }

    /// Queues a mail of `kind` to every user `page` lists, page after page (each page names
    /// the users after the last one of the one before). Returns how many were queued.
    async fn mail_each(
        &self,
        page: impl AsyncFn(Option<UserId>) -> Result<Vec<UserId>, parley_store::StoreError>,
        kind: MailKind,
        payload: &[u8],
    ) -> Result<u64, CoreError> {
        let (mut queued, mut after) = (0, None);
        loop {
            let users = page(after).await?;
            let Some(&last) = users.last() else { return Ok(queued) };
            queued += self.queue_mail_to(&users, kind, payload).await?;
            after = Some(last);
        }
    }

    /// Queues one mail of `kind` per user, its payload sealed under each user's own key (users
    /// whose key is gone are skipped: they were erased meanwhile).
    async fn queue_mail_to(&self, users: &[UserId], kind: MailKind, payload: &[u8]) -> Result<u64, CoreError> {
        let now = self.clock.now();
        let mut mail: Vec<OutboxRecord> = Vec::with_capacity(users.len());
        for &user in users {
            let Some(dek) = self.keys.existing_dek(&parley_domain::KeyScope::UserProfile(user)).await? else { continue };
            mail.push(seal_mail(&dek, user, kind, payload, now)?);
        }
        self.store.enqueue_mail(&mail).await?;
        Ok(mail.len() as u64)
    }
}

/// Whether `version` is among the user's acceptances.
fn accepted_version(acceptances: &[AcceptanceRecord], version: u32) -> bool {
    acceptances.iter().any(|a| a.version == version)
}

/// The policy text, if it is fit to publish.
fn check_policy_text(body: &str) -> Result<&str, CoreError> {
    if body.trim().is_empty() {
        return Err(ValidationError::new("policy", "empty").into());
    }
    if body.len() > MAX_POLICY_BYTES {
        return Err(ValidationError::new("policy", "too_long").into());
    }
    Ok(body)
}
