//! Parley's use cases: sign up, log in and out, open conversations, send and read messages.
//!
//! The core owns the rules that need state: who may read what (capabilities: a [`Session`]
//! comes only from a valid token, a [`Participant`] only from a session that is a party to the
//! conversation), sealing every protected field before it reaches the store, idempotent sends,
//! and send-rate limits. It must know nothing of HTTP, JSON or axum, and never log content.
#![warn(missing_docs)]

mod accounts;
mod auth;
mod clock;
mod conversations;
mod error;
mod events;
mod keyring;
mod limiter;
mod messages;

use std::sync::Arc;
use std::time::Duration;

use parley_crypto::{Kek, PasswordHasher, PasswordParams};
use parley_domain::rate::RatePolicy;
use parley_domain::{SessionId, UserId};
use parley_store::{KeyStore, Store};

pub use accounts::{Account, NewAccount, Profile};
pub use auth::{IssuedSession, Session, StreamTicketGrant};
pub use clock::{Clock, SystemClock};
pub use conversations::{ConversationView, OpenConversation, Participant};
pub use error::CoreError;
pub use events::{Event, EventPublisher};
pub use keyring::KeyRing;
pub use limiter::KeyedLimiter;
pub use messages::{MessagePage, MessageView, SendMessage, Sent};

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
    /// Argon2id cost.
    pub password_params: PasswordParams,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            session_idle_timeout: Duration::from_secs(30 * 60),
            session_absolute_timeout: Duration::from_secs(12 * 60 * 60),
            stream_ticket_ttl: Duration::from_secs(30),
            message_max_chars: 4000,
            send_rate: RatePolicy { burst: 20, per_minute: 60 },
            password_params: PasswordParams::OWASP_MINIMUM,
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
    send_limiter: KeyedLimiter<UserId>,
    settings: Settings,
}

impl Parley {
    /// Builds the core: opens the key ring (creating the blind-index key on first start).
    pub async fn new(deps: Dependencies, settings: Settings) -> Result<Self, CoreError> {
        let keys = KeyRing::open(deps.kek, deps.key_store, deps.clock.now()).await?;
        let hasher = PasswordHasher::new(settings.password_params)?;
        Ok(Self {
            store: deps.store,
            keys,
            clock: deps.clock,
            events: deps.events,
            hasher,
            send_limiter: KeyedLimiter::new(settings.send_rate),
            settings,
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether the database answers.
    pub async fn health(&self) -> Result<(), CoreError> {
        Ok(self.store.ping().await?)
    }

    /// Forgets rate-limit state that has fully recovered (called periodically).
    pub fn prune_limiters(&self) {
        self.send_limiter.prune(self.clock.now());
    }

    fn session_ended(&self, user: UserId, session: SessionId) {
        self.events.publish(Event::SessionEnded { user, session });
    }
}
