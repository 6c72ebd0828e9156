//! Login, logout, token authentication and WebSocket tickets. A [`Session`] is the capability
//! every authenticated use case takes; only [`Parley::authenticate`] and
//! [`Parley::redeem_stream_ticket`] can make one.

use std::time::Duration;

use parley_crypto::BearerToken;
use parley_domain::{Login, Secret, SessionId, Timestamp, UserId};
use parley_store::{SessionRecord, StreamTicket};
use uuid::Uuid;

use crate::Parley;
use crate::error::CoreError;

/// Session tokens start with this, so a leaked one is recognisable.
const SESSION_TOKEN_PREFIX: &str = "prly_s";
/// Stream tickets start with this.
const STREAM_TICKET_PREFIX: &str = "prly_t";
/// Last-seen times are written at most this often, to spare the database a write per request
/// (or a quarter of the idle timeout, if that is shorter, so an active user is never dropped).
const TOUCH_GRANULARITY: Duration = Duration::from_secs(60);

/// Proof that the caller holds a valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    user: UserId,
    id: SessionId,
    expires_at: Timestamp,
}

impl Session {
    /// The user.
    pub fn user_id(&self) -> UserId {
        self.user
    }

    /// The session.
    pub fn session_id(&self) -> SessionId {
        self.id
    }

    /// When it ends at the latest.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
}

/// A session just opened by a login.
#[derive(Debug)]
pub struct IssuedSession {
    /// The bearer token: shown to the client once.
    pub token: Secret<String>,
    /// The session.
    pub session: Session,
}

/// A WebSocket ticket just issued.
#[derive(Debug)]
pub struct StreamTicketGrant {
    /// The single-use ticket.
    pub ticket: Secret<String>,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

impl Parley {
    /// Checks a login and opens a session. Unknown logins cost the same Argon2 work as known
    /// ones and fail the same way, so neither the answer nor its timing reveals an account.
    pub async fn log_in(&self, login: &str, password: Secret<String>) -> Result<IssuedSession, CoreError> {
        let user = match Login::parse(login) {
            Ok(Login::Handle(key)) => self.store.user_by_handle(&key).await?,
            Ok(Login::Email(email)) => self.store.user_by_email(&self.keys.email_index(&email)).await?,
            Err(_) => None,
        };
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let verified = self
            .hash_work(move |hasher| {
                if let Some(hash) = stored {
                    hasher.verify(password.expose(), &hash)
                } else {
                    hasher.verify_dummy(password.expose());
                    false
                }
            })
            .await?;
        let user = match user {
            Some(user) if verified => user,
            _ => return Err(CoreError::InvalidCredentials),
        };
        let now = self.clock.now();
        let token = BearerToken::generate(SESSION_TOKEN_PREFIX)?;
        let record = SessionRecord {
            id: SessionId::from_uuid(Uuid::now_v7()),
            user_id: user.id,
            token_hash: token.hash,
            created_at: now,
            last_seen_at: now,
            expires_at: now.plus(self.settings.session_absolute_timeout),
        };
        self.store.insert_session(&record).await?;
        tracing::info!(user_id = %user.id, session_id = %record.id, "session opened");
        Ok(IssuedSession { token: token.secret, session: session_of(&record) })
    }

    /// The session a bearer token stands for, if it is valid now. Expired sessions are
    /// deleted on sight.
    pub async fn authenticate(&self, token: &str) -> Result<Session, CoreError> {
        let record = self.store.session_by_token(&BearerToken::hash(token)).await?.ok_or(CoreError::Unauthenticated)?;
        self.check_session(&record).await?;
        self.record_activity(&record).await?;
        Ok(session_of(&record))
    }

    /// Ends the session for good: its token stops working everywhere at once, and live
    /// connections of the session are closed.
    pub async fn log_out(&self, session: &Session) -> Result<(), CoreError> {
        self.store.delete_session(session.id).await?;
        tracing::info!(user_id = %session.user, session_id = %session.id, "session closed");
        self.session_ended(session.user, session.id);
        Ok(())
    }

    /// Issues a single-use, short-lived ticket for opening the WebSocket, so that browsers
    /// need not put the session token in a URL.
    pub async fn issue_stream_ticket(&self, session: &Session) -> Result<StreamTicketGrant, CoreError> {
        let now = self.clock.now();
        Self::check_rate(&self.ticket_limiter, session.user, now)?;
        let ticket = BearerToken::generate(STREAM_TICKET_PREFIX)?;
        let expires_at = now.plus(self.settings.stream_ticket_ttl);
        let record = StreamTicket { hash: ticket.hash, session_id: session.id, expires_at };
        self.store.insert_stream_ticket(&record).await?;
        Ok(StreamTicketGrant { ticket: ticket.secret, expires_at })
    }

    /// Redeems a stream ticket (once) for the session it was issued to.
    pub async fn redeem_stream_ticket(&self, ticket: &str) -> Result<Session, CoreError> {
        let taken = self.store.take_stream_ticket(&BearerToken::hash(ticket)).await?.ok_or(CoreError::Unauthenticated)?;
        if taken.expires_at <= self.clock.now() {
            return Err(CoreError::Unauthenticated);
        }
        let record = self.store.session_by_id(taken.session_id).await?.ok_or(CoreError::Unauthenticated)?;
        self.check_session(&record).await?;
        self.record_activity(&record).await?;
        Ok(session_of(&record))
    }

    /// Re-checks a session that a long-lived connection holds: still there, not expired. An
    /// open socket is not activity: it does not postpone the idle timeout.
    pub async fn revalidate(&self, session: &Session) -> Result<(), CoreError> {
        let record = self.store.session_by_id(session.id).await?.ok_or(CoreError::Unauthenticated)?;
        self.check_session(&record).await
    }

    /// Deletes every session that has ended and every expired stream ticket, so that ended
    /// sessions do not linger in the database. Run periodically.
    pub async fn purge_expired_sessions(&self) -> Result<u64, CoreError> {
        let now = self.clock.now();
        let purged = self.store.purge_expired_sessions(now, now.minus(self.settings.session_idle_timeout)).await?;
        if purged > 0 {
            tracing::info!(purged, "expired sessions deleted");
        }
        Ok(purged)
    }

    /// Ends a session that has expired (deleting it and closing its sockets).
    async fn check_session(&self, record: &SessionRecord) -> Result<(), CoreError> {
        let now = self.clock.now();
        let idle_deadline = record.last_seen_at.plus(self.settings.session_idle_timeout);
        if now >= record.expires_at || now >= idle_deadline {
            self.store.delete_session(record.id).await?;
            self.session_ended(record.user_id, record.id);
            return Err(CoreError::Unauthenticated);
        }
        Ok(())
    }

    /// Records that the session was used, at most once per granule.
    async fn record_activity(&self, record: &SessionRecord) -> Result<(), CoreError> {
        let now = self.clock.now();
        let granularity = TOUCH_GRANULARITY.min(self.settings.session_idle_timeout / 4);
        if now.since(record.last_seen_at) >= granularity {
            self.store.touch_session(record.id, now).await?;
        }
        Ok(())
    }
}

fn session_of(record: &SessionRecord) -> Session {
    Session { user: record.user_id, id: record.id, expires_at: record.expires_at }
}
