//! The storage traits the core programs against, one per aggregate.

use std::collections::BTreeMap;

use async_trait::async_trait;
use parley_domain::page::{ConversationCursor, MessageWindow, PageLimit};
use parley_domain::{
    BlindIndex, ClientMsgId, Conversation, ConversationId, HandleKey, KeyScope, SessionId, Timestamp, TokenHash, UserId, WrappedKey,
};

use crate::error::StoreError;
use crate::records::{Appended, ConversationRecord, Inserted, MessageRecord, NewMessage, NewUser, SessionRecord, StreamTicket, UserRecord};

/// Accounts.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts an account; a taken handle or email is a [`crate::Conflict`].
    async fn insert_user(&self, user: &NewUser) -> Result<(), StoreError>;
    /// The account with this id.
    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError>;
    /// The account with this handle.
    async fn user_by_handle(&self, handle: &HandleKey) -> Result<Option<UserRecord>, StoreError>;
    /// The account whose email has this blind index.
    async fn user_by_email(&self, index: &BlindIndex) -> Result<Option<UserRecord>, StoreError>;
}

/// Login sessions and WebSocket tickets.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The session whose token has this hash.
    async fn session_by_token(&self, hash: &TokenHash) -> Result<Option<SessionRecord>, StoreError>;
    /// The session with this id.
    async fn session_by_id(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError>;
    /// Records use of a session.
    async fn touch_session(&self, id: SessionId, at: Timestamp) -> Result<(), StoreError>;
    /// Deletes a session (and its tickets); says whether it existed.
    async fn delete_session(&self, id: SessionId) -> Result<bool, StoreError>;
    /// Deletes sessions that ended (absolute expiry passed, or unused since `idle_before`) and
    /// stream tickets past their expiry; returns how many sessions went.
    async fn purge_expired_sessions(&self, now: Timestamp, idle_before: Timestamp) -> Result<u64, StoreError>;
    /// Stores a stream ticket.
    async fn insert_stream_ticket(&self, ticket: &StreamTicket) -> Result<(), StoreError>;
    /// Removes and returns the ticket with this hash: a ticket can be taken once.
    async fn take_stream_ticket(&self, hash: &TokenHash) -> Result<Option<StreamTicket>, StoreError>;
}

/// Conversations.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Inserts a conversation, or returns the existing one between the same buyer and seller
    /// about the same listing.
    async fn insert_conversation(&self, conversation: &Conversation) -> Result<Inserted<ConversationRecord>, StoreError>;
    /// The conversation with this id.
    async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRecord>, StoreError>;
    /// A page of the user's conversations, most recent activity first, after `cursor`.
    async fn conversations_of(
        &self,
        user: UserId,
        cursor: Option<ConversationCursor>,
        limit: PageLimit,
    ) -> Result<Vec<ConversationRecord>, StoreError>;
}

/// Messages.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Appends a message with the next sequence number and bumps the conversation's activity,
    /// durably, in one transaction. If the author already sent a message with the same
    /// client message id in this conversation, nothing is written and that message is returned.
    async fn append_message(&self, message: &NewMessage) -> Result<Appended, StoreError>;
    /// The author's message with this client message id, if any.
    async fn message_by_client_msg_id(
        &self,
        conversation: ConversationId,
        author: UserId,
        client_msg_id: &ClientMsgId,
    ) -> Result<Option<MessageRecord>, StoreError>;
    /// Up to `limit` messages in `window`, oldest first.
    async fn messages(
        &self,
        conversation: ConversationId,
        window: MessageWindow,
        limit: PageLimit,
    ) -> Result<Vec<MessageRecord>, StoreError>;
}

/// Health and settings of the database itself.
#[async_trait]
pub trait StoreDiagnostics: Send + Sync {
    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;
    /// The durability-relevant settings as each pool's connection reports them, e.g.
    /// `write.synchronous = 2` (SQLite) or `synchronous_commit = on` (PostgreSQL).
    async fn durability_settings(&self) -> Result<BTreeMap<String, String>, StoreError>;
}

/// Everything the core needs from the data store.
pub trait Store: UserStore + SessionStore + ConversationStore + MessageStore + StoreDiagnostics {}

impl<T: UserStore + SessionStore + ConversationStore + MessageStore + StoreDiagnostics> Store for T {}

/// Wrapped data keys, kept apart from the data store.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The wrapped key filed under `scope`.
    async fn wrapped_key(&self, scope: &KeyScope) -> Result<Option<WrappedKey>, StoreError>;
    /// Files `key` under `scope` unless a key is already there; returns whichever key is
    /// filed afterwards, so two racing writers agree on one key.
    async fn insert_key_if_absent(&self, scope: &KeyScope, key: &WrappedKey, at: Timestamp) -> Result<WrappedKey, StoreError>;
    /// Destroys the key under `scope`; says whether there was one.
    async fn destroy_key(&self, scope: &KeyScope) -> Result<bool, StoreError>;
}
