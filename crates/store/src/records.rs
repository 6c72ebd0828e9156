//! What goes into and comes out of the store: rows in domain types, with protected fields
//! sealed.

use parley_domain::{
    BlindIndex, ClientMsgId, Conversation, ConversationId, EmailAddress, Handle, MessageBody, MessageId, PasswordHash, Sealed, Seq,
    SessionId, Timestamp, TokenHash, UserId,
};

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Its id.
    pub id: UserId,
    /// The public handle.
    pub handle: Handle,
    /// The email address, sealed under the user's profile key.
    pub email: Sealed<EmailAddress>,
    /// The blind index of the email address, for login by email.
    pub email_index: BlindIndex,
    /// The Argon2id hash of the password.
    pub password_hash: PasswordHash,
    /// When the account was created.
    pub created_at: Timestamp,
}

/// A stored account.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// Its id.
    pub id: UserId,
    /// The public handle.
    pub handle: Handle,
    /// The sealed email address.
    pub email: Sealed<EmailAddress>,
    /// The password hash.
    pub password_hash: PasswordHash,
    /// When the account was created.
    pub created_at: Timestamp,
}

/// A login session. The token itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// Its id.
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// The hash of the bearer token.
    pub token_hash: TokenHash,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it was last used (updated at most once a minute).
    pub last_seen_at: Timestamp,
    /// When it ends regardless of activity.
    pub expires_at: Timestamp,
}

/// A single-use ticket that lets a browser open the WebSocket without putting its session
/// token in the URL.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamTicket {
    /// The hash of the ticket.
    pub hash: TokenHash,
    /// The session it stands for.
    pub session_id: SessionId,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// A conversation with the handles of both parties.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationRecord {
    /// The conversation.
    pub conversation: Conversation,
    /// The buyer's handle.
    pub buyer_handle: Handle,
    /// The seller's handle.
    pub seller_handle: Handle,
}

/// Whether an insert made a new row or found the one that was already there.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted<T> {
    /// A new row.
    New(T),
    /// The row that already existed.
    Existing(T),
}

impl<T> Inserted<T> {
    /// The row, new or not.
    pub fn into_inner(self) -> T {
        match self {
            Inserted::New(row) | Inserted::Existing(row) => row,
        }
    }
}

/// A message to append; the store assigns its sequence number.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Its id (chosen by the core, because the body's associated data names it).
    pub id: MessageId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The author.
    pub author: UserId,
    /// The author's idempotency key.
    pub client_msg_id: ClientMsgId,
    /// The body, sealed under the (conversation, author) key.
    pub body: Sealed<MessageBody>,
    /// When it was accepted.
    pub created_at: Timestamp,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    /// Its id.
    pub id: MessageId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Its place in the conversation.
    pub seq: Seq,
    /// The author.
    pub author: UserId,
    /// The author's idempotency key.
    pub client_msg_id: ClientMsgId,
    /// The sealed body.
    pub body: Sealed<MessageBody>,
    /// When it was accepted.
    pub created_at: Timestamp,
}

/// The outcome of an append: a new message, or the one already sent with the same
/// client message id.
pub type Appended = Inserted<MessageRecord>;
