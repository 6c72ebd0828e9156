//! Parley's storage: the store traits the core programs against, their SQLite (default,
//! embedded) and PostgreSQL implementations with embedded migrations, and the key store.
//!
//! The store owns durability and constraints: it turns unique violations into meaning
//! ([`Conflict`]) in exactly one place and assigns gap-free message sequence numbers.
//! It must never see plaintext of a protected field (it takes `Sealed<T>` and blind indexes),
//! never hold a key it could use (wrapped keys only), and never expose sqlx types.
#![warn(missing_docs)]

mod error;
mod location;
mod postgres;
mod records;
mod sqlite;
mod traits;

pub use error::{Conflict, StoreError};
pub use location::{Durability, StoreLocation, connect_key_store, connect_store};
pub use records::{
    AcceptanceRecord, Appended, AuditEntry, AuditRecord, ChallengeKind, ChallengeRecord, ConsentRecord, ConversationRecord, ExportRecord,
    Inserted, KeyRotation, MailPayload, MessageRecord, NewMessage, NewUser, OutboxRecord, PasskeyRecord, PolicyRecord, SecurityEventRecord,
    SecurityNotice, SessionRecord, StreamTicket, TotpRecord, UserRecord,
};
pub use traits::{
    AuditChain, AuditStore, ConsentStore, ConversationStore, CredentialStore, DeletionStore, KeyStore, MessageStore, NoticeStore,
    PreferenceStore, SessionStore, Store, StoreDiagnostics, UserStore,
};
