//! Login, logout, token authentication and WebSocket tickets. A [`Session`] is the capability
//! every authenticated use case takes; only [`Parley::authenticate`] and
//! [`Parley::redeem_stream_ticket`] can make one.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parley_crypto::BearerToken;
use parley_domain::{Backoff, ClientContext, KeyScope, Login, Secret, SecurityEventKind, SessionId, SessionKind, Timestamp, UserId};
use parley_store::{SessionRecord, StreamTicket, UserRecord};
use uuid::Uuid;

use crate::Parley;
use crate::error::CoreError;
use crate::mfa::SecondFactorChallenge;

/// Session tokens start with this, so a leaked one is recognisable.
const SESSION_TOKEN_PREFIX: &str = "prly_s";
/// Device tokens start with this.
const DEVICE_TOKEN_PREFIX: &str = "prly_d";
/// Stream tickets start with this.
const STREAM_TICKET_PREFIX: &str = "prly_t";
/// A device token passes an account lock only if its device logged in within this long.
const KNOWN_DEVICE_MEMORY: Duration = Duration::from_secs(180 * 24 * 60 * 60);
/// Attempts a device token may carry past an account lock between two successful logins: a
/// stolen token buys a handful of guesses, not an unlimited supply.
const DEVICE_PASSES: u32 = 5;
/// Last-seen times are written at most this often, to spare the database a write per request
/// (or a quarter of the idle timeout, if that is shorter, so an active user is never dropped).
const TOUCH_GRANULARITY: Duration = Duration::from_secs(60);

/// Proof that the caller holds a valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    user: UserId,
    id: SessionId,
    expires_at: Timestamp,
    kind: SessionKind,
    authenticated_at: Timestamp,
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

    /// How its token travels.
    pub fn kind(&self) -> SessionKind {
        self.kind
    }
}

/// A session just opened by a login.
#[derive(Debug)]
pub struct IssuedSession {
    /// The session token: shown to the client once (in the body, or in a cookie).
    pub token: Secret<String>,
    /// The session.
    pub session: Session,
    /// For a cookie session, the token its unsafe requests must echo in a header.
    pub csrf_token: Option<String>,
    /// The device token to present at later logins from this device.
    pub device_token: Secret<String>,
}

/// Who is logging in, from where, and how they want their session carried.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    /// The client's address (already reduced to the unit limits apply to).
    pub ip: IpAddr,
    /// The device and coarse network, shown to the owner.
    pub context: ClientContext,
    /// Bearer or cookie.
    pub kind: SessionKind,
    /// The device token an earlier login on this device returned, if the client kept it.
    pub device_token: Option<Secret<String>>,
}

/// What a password login leads to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in.
    LoggedIn(IssuedSession),
    /// The password was right and the account has a second factor: answer the challenge.
    SecondFactorRequired(SecondFactorChallenge),
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
    /// Checks a password login. Unknown logins cost the same Argon2 work as known ones and fail
    /// the same way, and so does a login to a locked account, so neither the answer nor its
    /// Argon2 work reveals an account or its lock. Failures back off per client network
    /// (answered as a rate limit) and per account (a lock the owner is mailed about once; a
    /// device the owner used before passes it a few times between successful logins, so an
    /// attacker cannot lock the owner out, nor guess on with a stolen device token).
    pub async fn log_in(&self, login: &str, password: Secret<String>, attempt: &LoginAttempt) -> Result<LoginOutcome, CoreError> {
        let now = self.clock.now();
        self.check_login_backoff(attempt)?;
        let user = match Login::parse(login) {
            Ok(Login::Handle(key)) => self.store.user_by_handle(&key).await?,
            Ok(Login::Email(email)) => self.store.user_by_email(&self.keys.email_index(&email)).await?,
            Err(_) => None,
        };
        let lock = match &user {
            Some(user) => self.lock_state(user, attempt, now).await?,
            None => LockState::Open,
        };
        let locked = matches!(lock, LockState::Locked { .. });
        let stored = user.as_ref().filter(|_| !locked).and_then(|u| u.password_hash.clone());
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
            other => {
                self.login_backoff.record_failure(attempt.ip, now);
                if let Some(user) = other {
                    self.count_failure(&user, &lock, &attempt.context).await?;
                }
                return Err(CoreError::InvalidCredentials);
            }
        };
        if let Some(challenge) = self.second_factor_challenge(&user).await? {
            return Ok(LoginOutcome::SecondFactorRequired(challenge));
        }
        Ok(LoginOutcome::LoggedIn(self.open_session(&user, attempt).await?))
    }

    /// Refuses a login attempt while its network is backing off after failures.
    pub(crate) fn check_login_backoff(&self, attempt: &LoginAttempt) -> Result<(), CoreError> {
        self.login_backoff.check(&attempt.ip, self.clock.now()).map_err(|retry_after| CoreError::RateLimited { retry_after })
    }

    /// Opens a session for a user who has proved who they are: records the device (a new one
    /// is a mailed event), clears the failure count and records the login.
    pub(crate) async fn open_session(&self, user: &UserRecord, attempt: &LoginAttempt) -> Result<IssuedSession, CoreError> {
        let now = self.clock.now();
        let token = BearerToken::generate(SESSION_TOKEN_PREFIX)?;
        let id = SessionId::from_uuid(Uuid::now_v7());
        let dek = self.keys.dek_for(&KeyScope::UserProfile(user.id), now).await?;
        let device = crate::sessions::seal_context(&dek, id, &attempt.context)?;
        let record = SessionRecord {
            id,
            user_id: user.id,
            token_hash: token.hash,
            created_at: now,
            last_seen_at: now,
            expires_at: now.plus(self.settings.session_absolute_timeout),
            kind: attempt.kind,
            device: Some(device),
        };
        // A login racing the account's erasure opens nothing.
        if !self.store.insert_session(&record).await? {
            return Err(CoreError::Unauthenticated);
        }
        self.store.reset_login_failures(user.id).await?;
        let device_token = self.device_token_for(user.id, attempt.device_token.as_ref()).await?;
        let mail_to = user.email.as_ref();
        let fingerprint = self.keys.device_fingerprint(user.id, &attempt.context);
        let new_device = if self.store.is_known_device(user.id, &fingerprint, Timestamp::from_millis(0)).await? {
            None
        } else {
            let wants_mail = self.store.preferences_of(user.id).await?.unwrap_or_default().new_device_mail;
            Some(self.notice(user.id, mail_to.filter(|_| wants_mail), SecurityEventKind::NewDeviceLogin, &attempt.context).await?)
        };
        self.store.remember_device(user.id, &fingerprint, now, new_device.as_ref()).await?;
        let notice = self.notice(user.id, mail_to, SecurityEventKind::LoginSucceeded, &attempt.context).await?;
        self.store.record_notice(&notice).await?;
        tracing::info!(user_id = %user.id, session_id = %record.id, "session opened");
        let session = session_of(&record);
        let csrf_token = (attempt.kind == SessionKind::Cookie).then(|| self.csrf_token(&session));
        Ok(IssuedSession { token: token.secret, session, csrf_token, device_token })
    }

    /// The device token to hand back: the presented one if it is this user's, else a new one,
    /// remembered (as a keyed fingerprint) as a known device of the user.
    async fn device_token_for(&self, user: UserId, presented: Option<&Secret<String>>) -> Result<Secret<String>, CoreError> {
        let now = self.clock.now();
        if let Some(token) = presented {
            let fingerprint = self.keys.device_token_fingerprint(user, token.expose());
            if self.store.is_known_device(user, &fingerprint, now.minus(KNOWN_DEVICE_MEMORY)).await? {
                self.store.remember_device(user, &fingerprint, now, None).await?;
                return Ok(Secret::new(token.expose().clone()));
            }
        }
        let token = BearerToken::generate(DEVICE_TOKEN_PREFIX)?;
        self.store.remember_device(user, &self.keys.device_token_fingerprint(user, token.secret.expose()), now, None).await?;
        Ok(token.secret)
    }

    /// Refuses a credential change on a session whose login is older than [`crate::FRESH_LOGIN`].
    pub(crate) fn require_fresh(&self, session: &Session) -> Result<(), CoreError> {
        if self.clock.now().since(session.authenticated_at) > crate::FRESH_LOGIN {
            return Err(CoreError::ReauthenticationRequired);
        }
        Ok(())
    }

    /// The CSRF token of a cookie session: a keyed digest of its id, so the web client can ask
    /// for it again after a reload without the server storing it.
    pub fn csrf_token(&self, session: &Session) -> String {
        URL_SAFE_NO_PAD.encode(self.keys.csrf_digest(session.id).0)
    }

    /// Whether `presented` is the CSRF token of the session (compared in constant time).
    pub fn check_csrf(&self, session: &Session, presented: &str) -> bool {
        URL_SAFE_NO_PAD.decode(presented).is_ok_and(|bytes| self.keys.verify_csrf(session.id, &bytes))
    }

    /// How the account's lock applies to this attempt: not locked, locked, or locked but passed
    /// by the token of a device an earlier login of this user received (and used recently).
    pub(crate) async fn lock_state(&self, user: &UserRecord, attempt: &LoginAttempt, now: Timestamp) -> Result<LockState, CoreError> {
        let Some(until) = user.locked_until.filter(|until| *until > now) else {
            return Ok(LockState::Open);
        };
        let Some(token) = &attempt.device_token else {
            return Ok(LockState::Locked { until });
        };
        let fingerprint = self.keys.device_token_fingerprint(user.id, token.expose());
        // The attempt is counted against the device before it is checked (and given back by
        // a successful login), so racing guesses cannot exceed the device's budget.
        if self.store.reserve_device_pass(user.id, &fingerprint, now.minus(KNOWN_DEVICE_MEMORY), DEVICE_PASSES).await? {
            Ok(LockState::PassedByDevice)
        } else {
            Ok(LockState::Locked { until })
        }
    }

    /// Counts a failed login (a wrong password or second factor) against the account, which
    /// locks when the back-off says so. An attempt refused by the lock was never checked, so it
    /// counts for nothing.
    pub(crate) async fn count_failure(&self, user: &UserRecord, lock: &LockState, context: &ClientContext) -> Result<(), CoreError> {
        if matches!(lock, LockState::Locked { .. }) {
            return Ok(());
        }
        let mail_to = user.email.as_ref();
        let notice = self.notice(user.id, mail_to, SecurityEventKind::LoginFailed, context).await?;
        let rule = Backoff::LOGIN;
        // Once a lock has been over for as long as the longest lock, the failures before it are
        // forgiven (as the per-network back-off forgets a quiet network).
        let forgiven_before = self.clock.now().minus(rule.ceiling);
        let failures = self.store.count_login_failure(user.id, forgiven_before, &notice).await?;
        if let Some(until) = rule.locked_until(failures, self.clock.now()) {
            let notice = if rule.is_first_lock(failures) {
                Some(self.notice(user.id, mail_to, SecurityEventKind::AccountLocked, context).await?)
            } else {
                None
            };
            self.store.lock_account(user.id, until, notice.as_ref()).await?;
        }
        Ok(())
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
    pub async fn log_out(&self, session: &Session, context: &ClientContext) -> Result<(), CoreError> {
        let notice = self.notice(session.user, None, SecurityEventKind::LoggedOut, context).await?;
        self.store.revoke_session(session.user, session.id, &notice).await?;
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

/// How an account lock applies to one login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LockState {
    /// The account is not locked.
    Open,
    /// The account is locked: the attempt is refused without being checked.
    Locked { until: Timestamp },
    /// The account is locked, but the attempt carries the token of a device its owner used (and
    /// the device had a pass left, now used): it goes on.
    PassedByDevice,
}

fn session_of(record: &SessionRecord) -> Session {
    Session { user: record.user_id, id: record.id, expires_at: record.expires_at, kind: record.kind, authenticated_at: record.created_at }
}
