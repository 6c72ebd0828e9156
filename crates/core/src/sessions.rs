//! A user's view of their own sessions: list them (device, network, times), revoke one or all
//! the others, and change the password (which ends every other session).

use parley_crypto::{Aad, Dek};
use parley_domain::{
    ClientContext, DeviceLabel, KeyScope, Network, NewPassword, Sealed, Secret, SecurityEventKind, SessionId, SessionKind, Timestamp,
    UserId,
};
use serde::{Deserialize, Serialize};

use crate::Parley;
use crate::auth::Session;
use crate::error::CoreError;

/// One of the user's sessions, as they see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// Its id.
    pub id: SessionId,
    /// Whether it is the one asking.
    pub current: bool,
    /// Bearer or cookie.
    pub kind: SessionKind,
    /// The device it was opened on.
    pub device: DeviceLabel,
    /// The coarse network it was opened from.
    pub network: Network,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it was last used (to the minute).
    pub last_seen_at: Timestamp,
    /// When it ends at the latest.
    pub expires_at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct DeviceJson {
    network: String,
    device: String,
}

/// Seals where a session was opened from, bound to the session's row.
pub(crate) fn seal_context(dek: &Dek, session: SessionId, context: &ClientContext) -> Result<Sealed<ClientContext>, CoreError> {
    let json = serde_json::to_vec(&DeviceJson { network: context.network.as_str().into(), device: context.device.as_str().into() })
        .map_err(|e| CoreError::Internal(Box::new(e)))?;
    Ok(Sealed::from_bytes(dek.seal(&json, &device_aad(session))?))
}

fn device_aad(session: SessionId) -> Aad {
    Aad::field("sessions", &session, "device")
}

impl Parley {
    /// The caller's sessions, newest first.
    pub async fn list_sessions(&self, session: &Session) -> Result<Vec<SessionView>, CoreError> {
        self.sessions_of(session.user_id(), Some(session.session_id())).await
    }

    /// A user's sessions, `current` marked.
    pub(crate) async fn sessions_of(&self, user: UserId, current: Option<SessionId>) -> Result<Vec<SessionView>, CoreError> {
        let records = self.store.sessions_of(user).await?;
        let dek = self.keys.existing_dek(&KeyScope::UserProfile(user)).await?;
        records
            .into_iter()
            .map(|record| {
                let (network, device) = match (&record.device, &dek) {
                    (Some(sealed), Some(dek)) => {
                        let json = dek.open(sealed.as_bytes(), &device_aad(record.id))?;
                        let parsed: DeviceJson = serde_json::from_slice(&json).map_err(|e| CoreError::Internal(Box::new(e)))?;
                        (Network::from_trusted(parsed.network), DeviceLabel::from_trusted(parsed.device))
                    }
                    _ => (Network::from_trusted("unknown".into()), DeviceLabel::unknown()),
                };
                Ok(SessionView {
                    id: record.id,
                    current: Some(record.id) == current,
                    kind: record.kind,
                    device,
                    network,
                    created_at: record.created_at,
                    last_seen_at: record.last_seen_at,
                    expires_at: record.expires_at,
                })
            })
            .collect()
    }

    /// Revokes one of the caller's sessions (its token stops working, its sockets close). A
    /// session of another user is "not found", like one that does not exist.
    pub async fn revoke_session(&self, session: &Session, target: SessionId, context: &ClientContext) -> Result<(), CoreError> {
        let notice = self.notice(session.user_id(), None, SecurityEventKind::SessionRevoked, context).await?;
        if !self.store.revoke_session(session.user_id(), target, &notice).await? {
            return Err(CoreError::SessionNotFound);
        }
        self.session_ended(session.user_id(), target);
        Ok(())
    }

    /// Revokes every session of the caller except the current one; returns how many ended.
    pub async fn revoke_other_sessions(&self, session: &Session, context: &ClientContext) -> Result<usize, CoreError> {
        let notice = self.notice(session.user_id(), None, SecurityEventKind::SessionRevoked, context).await?;
        let ended = self.store.revoke_other_sessions(session.user_id(), session.session_id(), &notice).await?;
        for id in &ended {
            self.session_ended(session.user_id(), *id);
        }
        Ok(ended.len())
    }

    /// Changes the password after checking the current one; every other session ends.
    pub async fn change_password(
        &self,
        session: &Session,
        current: Secret<String>,
        new: Secret<String>,
        context: &ClientContext,
    ) -> Result<(), CoreError> {
        let user = self.store.user_by_id(session.user_id()).await?.ok_or(CoreError::Unauthenticated)?;
        self.check_code_budget(user.id)?;
        let profile = self.profile(session).await?;
        let new = NewPassword::parse(new.expose(), &user.handle, profile.email.as_ref())?;
        // The account lock is not applied here: it stops strangers guessing at the login, and must
        // not stop the owner, logged in, from changing a password others are guessing. Nor do
        // wrong answers here count towards it (a stolen session must not keep the owner out):
        // they back off per user instead.
        let stored = user.password_hash.clone();
        let verified = self
            .hash_work(move |hasher| {
                if let Some(hash) = stored {
                    hasher.verify(current.expose(), &hash)
                } else {
                    hasher.verify_dummy(current.expose());
                    false
                }
            })
            .await?;
        if !verified {
            self.code_backoff.record_failure(user.id, self.clock.now());
            return Err(CoreError::InvalidCredentials);
        }
        let hash = self.hash_work(move |hasher| hasher.hash(new.expose())).await??;
        let notice = self.notice(user.id, user.email.as_ref(), SecurityEventKind::PasswordChanged, context).await?;
        let ended = self.store.change_password(user.id, &hash, session.session_id(), &notice).await?;
        for id in ended {
            self.session_ended(user.id, id);
        }
        Ok(())
    }
}
