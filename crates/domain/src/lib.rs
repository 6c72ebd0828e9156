//! Parley's vocabulary: identifiers, handles, conversations, messages and the pure rules
//! over them (validation, pagination windows, rate buckets, key scopes).
//!
//! This crate owns the meaning of every value that enters the system. It must never do I/O,
//! read a clock, draw randomness or derive `Serialize`: time and randomness come in as
//! arguments, and wire formats live in `parley-api`.
#![warn(missing_docs)]

pub mod account;
pub mod consent;
pub mod conversation;
pub mod ids;
pub mod keys;
pub mod message;
pub mod page;
pub mod pii;
pub mod preferences;
pub mod rate;
pub mod secret;
pub mod security;
pub mod time;
pub mod validation;

pub use account::{EmailAddress, Handle, HandleKey, Login, NewPassword};
pub use consent::{ConsentPurpose, ConsentSource};
pub use conversation::{Conversation, ListingId, Role};
pub use ids::{ConversationId, MessageId, SessionId, UserId};
pub use keys::{BlindIndex, KeyScope, PasswordHash, Sealed, TokenHash, WrappedKey};
pub use message::{ClientMsgId, Message, MessageBody, Seq};
pub use preferences::{ContactPolicy, Preferences};
pub use secret::Secret;
pub use security::{Backoff, ClientContext, DeviceLabel, Network, SecurityEventKind, SessionKind};
pub use time::Timestamp;
pub use validation::ValidationError;
