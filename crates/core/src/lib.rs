//! Parley's use cases: sign up, log in and out, open conversations, send and read messages.
//!
//! The core owns the rules that need state: who may read what (capabilities: a [`Session`]
//! comes only from a valid token, a [`Participant`] only from a session that is a party to the
//! conversation), sealing every protected field before it reaches the store, idempotent sends,
//! and send-rate limits. It must know nothing of HTTP, JSON or axum, and never log content.
#![warn(missing_docs)]

mod accounts;
mod audit;
mod auth;
mod clock;
mod consent;
mod conversations;
mod deletions;
mod error;
mod events;
mod export;
mod keyring;
mod limiter;
mod messages;
mod mfa;
mod notices;
mod passkeys;
mod preferences;
mod retention;
mod sessions;
mod sso;
mod step_up;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use parley_crypto::{Kek, PasswordHasher, PasswordParams};
use parley_domain::rate::RatePolicy;
use parley_domain::{Backoff, SessionId, Timestamp, UserId};
use parley_store::{KeyStore, Store};

pub use accounts::{Account, NewAccount, Profile};
pub use audit::{Actor, AuditVerdict};
pub use auth::{IssuedSession, LoginAttempt, LoginOutcome, Session, StreamTicketGrant};
pub use clock::{Clock, SystemClock};
pub use consent::{ConsentState, MAX_BROADCAST_BYTES, MAX_POLICY_BYTES, PolicyView, PurposeState};
pub use conversations::{ConversationView, OpenConversation, Participant};
pub use deletions::DeleteFor;
pub use error::CoreError;
pub use events::{Event, EventPublisher};
pub use export::{EXPORT_FORMAT, EXPORT_TTL, ExportLink};
pub use keyring::KeyRing;
pub use limiter::{FailureBackoff, KeyedLimiter};
pub use messages::{MessagePage, MessageView, SendMessage, Sent};
pub use mfa::{
    CHALLENGE_TTL, MAX_CHALLENGE_ATTEMPTS, MfaStatus, SecondFactorAnswer, SecondFactorChallenge, SecondFactorMethod, TotpEnrolment,
};
pub use notices::{MAIL_LEASE, MAX_EVENTS_LISTED, OutgoingMail, SecurityEventView};
pub use passkeys::{PasskeyCeremony, PasskeyRegistrationAnswer, PasskeySettings, PasskeyView};
pub use preferences::BlockedUser;
pub use retention::{MAX_RETENTION_DAYS, RetentionReport};
pub use sessions::SessionView;
pub use sso::{RemoteKeys, SsoKeys, SsoProvider, SsoRefusal};
pub use step_up::{PasskeyProof, StepUpProof};

/// How recent a login must be for the session to change credentials (passkeys, TOTP): a
/// stolen long-lived session cannot plant a lasting way back in.
pub const FRESH_LOGIN: Duration = Duration::from_secs(10 * 60);

/// How long a password check may wait for a hashing slot before it is refused as overload.
pub const HASHING_QUEUE_WAIT: Duration = Duration::from_secs(5);

/// Tunable rules of the core, validated by the server's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A session ends after this long without use.
    pub session_idle_timeout: Duration,
    /// A session ends this long after login, used or not.
    pub session_absolute_timeout: Duration,
    /// How long a WebSocket ticket stays valid.
    pub stream_ticket_ttl: Duration,
    /// The longest message body, in characters.
    pub message_max_chars: usize,
    /// How fast one user may send messages.
    pub send_rate: RatePolicy,
    /// How fast one user may open conversations (spam: first contact with many users).
    pub open_rate: RatePolicy,
    /// How fast one user may ask for WebSocket tickets.
    pub ticket_rate: RatePolicy,
    /// Password hashes computed at once (each takes 19 MiB and a core for ~50 ms); more wait,
    /// and past a few seconds are refused as overload.
    pub password_hashing_slots: usize,
    /// Argon2id cost.
    pub password_params: PasswordParams,
    /// How long security events are kept.
    pub security_event_retention: Duration,
    /// Where passkeys are valid.
    pub passkeys: PasskeySettings,
    /// Marketplace single sign-on integrations.
    pub sso: Vec<SsoProvider>,
    /// Personal data in plaintext messages.
    pub pii: PiiSettings,
    /// How long after sending its author may delete a message for everyone.
    pub delete_for_everyone_window: Duration,
    /// Conversations idle for this many days are destroyed (a party may ask for less).
    pub message_retention_days: u32,
    /// How long after sending its author may edit a message.
    pub edit_window: Duration,
    /// The server's public base URL (`https://host[:port]`), for links in mail.
    pub public_url: String,
}

/// What happens to personal data (phone numbers, emails, cards, IBANs, addresses) typed into a
/// plaintext message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiSettings {
    /// Mask, warn only, or nothing.
    pub policy: PiiPolicy,
    /// The countries whose national phone formats are recognised (numbers with `+` or `00`
    /// are recognised everywhere).
    pub phone_regions: Vec<parley_domain::pii::Country>,
}

/// The policy for personal data in plaintext messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiiPolicy {
    /// Replace it before storage; the raw value is never kept. The sender is told.
    Mask,
    /// Keep it, and tell the sender.
    WarnOnly,
    /// Do not look.
    Off,
}

impl Default for PiiSettings {
    fn default() -> Self {
        use parley_domain::pii::Country;
        Self { policy: PiiPolicy::Mask, phone_regions: vec![Country::US, Country::GB] }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            session_idle_timeout: Duration::from_secs(30 * 60),
            session_absolute_timeout: Duration::from_secs(12 * 60 * 60),
            stream_ticket_ttl: Duration::from_secs(30),
            message_max_chars: 4000,
            send_rate: RatePolicy::per_minute(20, 60),
            open_rate: RatePolicy::per_hour(20, 20),
            ticket_rate: RatePolicy::per_minute(10, 10),
            password_hashing_slots: std::thread::available_parallelism().map_or(2, |n| n.get() * 2),
            password_params: PasswordParams::OWASP_MINIMUM,
            security_event_retention: Duration::from_secs(30 * 24 * 60 * 60),
            passkeys: PasskeySettings::default(),
            sso: Vec::new(),
            pii: PiiSettings::default(),
            delete_for_everyone_window: Duration::from_secs(24 * 60 * 60),
            message_retention_days: 365,
            edit_window: Duration::from_secs(15 * 60),
            public_url: "https://localhost:8443".to_owned(),
        }
    }
}

/// What the core is built from.
pub struct Dependencies {
    /// The data store.
    pub store: Arc<dyn Store>,
    /// The key store (a separate database).
    pub key_store: Arc<dyn KeyStore>,
    /// The key-encryption key.
    pub kek: Kek,
    /// The source of time.
    pub clock: Arc<dyn Clock>,
    /// Where real-time events go.
    pub events: Arc<dyn EventPublisher>,
}

/// The application: every use case is a method taking a capability.
pub struct Parley {
    store: Arc<dyn Store>,
    keys: KeyRing,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventPublisher>,
    hasher: PasswordHasher,
    hashing_slots: Arc<Semaphore>,
    send_limiter: KeyedLimiter<UserId>,
    open_limiter: KeyedLimiter<UserId>,
    ticket_limiter: KeyedLimiter<UserId>,
    login_backoff: FailureBackoff<std::net::IpAddr>,
    code_backoff: FailureBackoff<UserId>,
    export_limiter: KeyedLimiter<UserId>,
    webauthn: webauthn_rs::Webauthn,
    settings: Settings,
}

impl Parley {
    /// Builds the core: opens the key ring (creating the blind-index key on first start).
    pub async fn new(deps: Dependencies, settings: Settings) -> Result<Self, CoreError> {
        let keys = KeyRing::open(deps.kek, deps.key_store, deps.clock.now()).await?;
        let hasher = PasswordHasher::new(settings.password_params)?;
        let webauthn = passkeys::relying_party(&settings.passkeys)?;
        Ok(Self {
            store: deps.store,
            keys,
            clock: deps.clock,
            events: deps.events,
            hasher,
            hashing_slots: Arc::new(Semaphore::new(settings.password_hashing_slots.max(1))),
            send_limiter: KeyedLimiter::new(settings.send_rate),
            open_limiter: KeyedLimiter::new(settings.open_rate),
            ticket_limiter: KeyedLimiter::new(settings.ticket_rate),
            login_backoff: FailureBackoff::new(Backoff::LOGIN_PER_NETWORK),
            code_backoff: FailureBackoff::new(Backoff::LOGIN),
            export_limiter: KeyedLimiter::new(RatePolicy::per_hour(3, 3)),
            webauthn,
            settings,
        })
    }

    /// Whether the database answers.
    pub async fn health(&self) -> Result<(), CoreError> {
        Ok(self.store.ping().await?)
    }

    /// Forgets rate-limit state that has fully recovered (called periodically).
    pub fn prune_limiters(&self) {
        let now = self.clock.now();
        for limiter in [&self.send_limiter, &self.open_limiter, &self.ticket_limiter, &self.export_limiter] {
            limiter.prune(now);
        }
        self.login_backoff.prune(now);
        self.code_backoff.prune(now);
    }

    /// Runs a password hash off the async threads, at most `password_hashing_slots` at once.
    /// Waiting longer than [`HASHING_QUEUE_WAIT`] is answered as overload, so a flood of logins
    /// costs bounded memory and CPU instead of taking the process down.
    async fn hash_work<T: Send + 'static>(&self, work: impl FnOnce(&PasswordHasher) -> T + Send + 'static) -> Result<T, CoreError> {
        let permit = tokio::time::timeout(HASHING_QUEUE_WAIT, Arc::clone(&self.hashing_slots).acquire_owned())
            .await
            .map_err(|_| CoreError::Overloaded { retry_after: HASHING_QUEUE_WAIT })?
            .map_err(|e| CoreError::Internal(Box::new(e)))?;
        let hasher = self.hasher.clone();
        // The permit travels with the blocking work: if the request is dropped (client reset,
        // timeout), the hash still runs to its end, and its slot stays taken until then.
        Ok(tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&hasher)
        })
        .await?)
    }

    fn check_rate(limiter: &KeyedLimiter<UserId>, user: UserId, now: parley_domain::Timestamp) -> Result<(), CoreError> {
        limiter.check(user, now).map_err(|retry_after| CoreError::RateLimited { retry_after })
    }

    fn session_ended(&self, user: UserId, session: SessionId) {
        self.events.publish(Event::SessionEnded { user, session });
    }
}

/// An instant as RFC 3339 UTC text (for mail and logs meant for people).
pub fn format_time(at: Timestamp) -> String {
    let nanos = i128::from(at.as_millis()) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| format!("{} ms after the Unix epoch", at.as_millis()))
}
