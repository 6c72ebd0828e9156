//! What goes into and comes out of the store: rows in domain types, with protected fields
//! sealed.

use parley_domain::{
    BlindIndex, ClientContext, ClientMsgId, ConsentPurpose, ConsentSource, Conversation, ConversationId, EmailAddress, Handle, MessageBody,
    MessageId, PasswordHash, Sealed, SecurityEventKind, Seq, SessionId, SessionKind, Timestamp, TokenHash, UserId,
};
use uuid::Uuid;

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Its id.
    pub id: UserId,
    /// The public handle.
    pub handle: Handle,
    /// The email address (sealed under the user's profile key) and its blind index, for
    /// login by email. Accounts made by single sign-on have none.
    pub email: Option<(Sealed<EmailAddress>, BlindIndex)>,
    /// The Argon2id hash of the password; single sign-on accounts have none.
    pub password_hash: Option<PasswordHash>,
    /// When the account was created.
    pub created_at: Timestamp,
    /// The privacy policy version accepted at sign-up (single sign-on accounts accept later).
    pub accepted_policy: Option<u32>,
}

/// What an audit entry says: who did what to whom, when, with what result. Pseudonymous ids
/// and counts only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who: `system`, `operator` or `user:<id>`.
    pub actor: String,
    /// What, e.g. `retention.run`.
    pub action: String,
    /// To whom or what (an id), or empty.
    pub subject: String,
    /// The details, as JSON.
    pub details: String,
}

/// A stored audit entry: its number in the chain and its chained hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Its number: 1, 2, ... without gaps.
    pub seq: u64,
    /// The entry.
    pub entry: AuditEntry,
    /// The chained MAC over the previous hash and this entry.
    pub hash: [u8; 32],
}

/// A deletion for everyone that moves the author's other messages in the conversation to the
/// next generation of their key (see `DeletionStore::rotate_message_key`).
#[derive(Debug, Clone)]
pub struct KeyRotation {
    /// The conversation.
    pub conversation: ConversationId,
    /// The author.
    pub author: UserId,
    /// The generation the bodies were read under; the new one is the next.
    pub from: u32,
    /// The message deleted for everyone.
    pub deleted: MessageId,
    /// When.
    pub at: Timestamp,
    /// Every other readable body of the author, sealed under the next generation.
    pub bodies: Vec<(MessageId, Sealed<MessageBody>)>,
    /// Every earlier text of those messages, sealed under the next generation.
    pub edits: Vec<(Uuid, Sealed<MessageBody>)>,
}

/// One published version of the privacy policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    /// Its version: 1, 2, ... in order of publication.
    pub version: u32,
    /// When it was published.
    pub published_at: Timestamp,
    /// Its text (Markdown).
    pub body: String,
    /// The SHA-256 of the text, hex: names exactly what was accepted.
    pub sha256: String,
}

/// A user's acceptance of one policy version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptanceRecord {
    /// The version accepted.
    pub version: u32,
    /// When.
    pub accepted_at: Timestamp,
    /// Through which channel.
    pub source: ConsentSource,
}

/// One entry of a user's consent ledger: a grant or a withdrawal. The store keeps entries in
/// the order it recorded them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentRecord {
    /// Whose.
    pub user_id: UserId,
    /// For what.
    pub purpose: ConsentPurpose,
    /// Granted or withdrawn.
    pub granted: bool,
    /// When.
    pub at: Timestamp,
    /// The policy version in force at the time.
    pub policy_version: u32,
    /// Through which channel.
    pub source: ConsentSource,
}

/// A stored account.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// Its id.
    pub id: UserId,
    /// The public handle.
    pub handle: Handle,
    /// The sealed email address, if the account has one.
    pub email: Option<Sealed<EmailAddress>>,
    /// The password hash, if the account has a password.
    pub password_hash: Option<PasswordHash>,
    /// When the account was created.
    pub created_at: Timestamp,
    /// Consecutive failed logins since the last success.
    pub failed_logins: u32,
    /// Until when password logins are refused, after repeated failures.
    pub locked_until: Option<Timestamp>,
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
    /// How its token travels.
    pub kind: SessionKind,
    /// Where it was opened from, sealed under the user's profile key.
    pub device: Option<Sealed<ClientContext>>,
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
    /// The generation of the author's key that sealed the body; the append is refused if the
    /// key moved on meanwhile.
    pub key_generation: u32,
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
    /// When its author last edited it.
    pub edited_at: Option<Timestamp>,
    /// The generation of the author's key that seals its body (and its earlier texts).
    pub key_generation: u32,
}

/// The outcome of an append: a new message, or the one already sent with the same
/// client message id.
pub type Appended = Inserted<MessageRecord>;

/// A security event about one account.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEventRecord {
    /// Its id.
    pub id: Uuid,
    /// Whose account.
    pub user_id: UserId,
    /// What happened.
    pub kind: SecurityEventKind,
    /// When.
    pub at: Timestamp,
    /// From where, sealed under the user's profile key.
    pub context: Sealed<ClientContext>,
}

/// The JSON facts a mail is rendered from (kind-specific), before or after sealing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailPayload {}

/// A mail waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRecord {
    /// Its id.
    pub id: Uuid,
    /// The recipient; the address is read from their profile at delivery.
    pub user_id: UserId,
    /// Which template renders it.
    pub kind: String,
    /// The facts it reports, sealed under the recipient's profile key.
    pub payload: Sealed<MailPayload>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: Timestamp,
}

/// A security event and, when its owner is to be told by email, the mail: the store writes
/// both in the same transaction as the change they report.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityNotice {
    /// The event.
    pub event: SecurityEventRecord,
    /// The mail about it.
    pub mail: Option<OutboxRecord>,
}

/// The TOTP credential of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct TotpRecord {
    /// The shared secret, sealed under the user's profile key.
    pub secret: Sealed<Vec<u8>>,
    /// When the user proved they hold it; until then it is not a second factor.
    pub confirmed_at: Option<Timestamp>,
    /// The last time step accepted; a code of this step or earlier is refused.
    pub last_step: i64,
}

/// What a short-lived challenge is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    /// The second step of a password login.
    MfaLogin,
    /// A passkey registration ceremony.
    PasskeyRegistration,
    /// A passwordless passkey login ceremony.
    PasskeyLogin,
    /// A passkey assertion proving a second factor again before the factors change.
    StepUp,
}

impl ChallengeKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MfaLogin => "mfa_login",
            Self::PasskeyRegistration => "passkey_registration",
            Self::PasskeyLogin => "passkey_login",
            Self::StepUp => "step_up",
        }
    }
}

/// A short-lived, single-use challenge, found by the hash of its token.
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeRecord {
    /// The hash of the challenge token.
    pub hash: TokenHash,
    /// What it is for.
    pub kind: ChallengeKind,
    /// The account it belongs to (none for a passwordless login not yet resolved).
    pub user_id: Option<UserId>,
    /// Ceremony state (WebAuthn), public data only.
    pub state: Option<String>,
    /// Wrong answers so far.
    pub failures: u32,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// A registered passkey.
#[derive(Debug, Clone, PartialEq)]
pub struct PasskeyRecord {
    /// Its id.
    pub id: Uuid,
    /// Whose it is.
    pub user_id: UserId,
    /// The WebAuthn credential id.
    pub credential_id: Vec<u8>,
    /// The credential and its label, sealed under the user's profile key.
    pub sealed: Sealed<Vec<u8>>,
    /// When it was registered.
    pub created_at: Timestamp,
    /// When it was last used to log in.
    pub last_used_at: Option<Timestamp>,
}

/// A data export waiting to be downloaded.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRecord {
    /// The hash of the download token.
    pub token_hash: TokenHash,
    /// Its id (bound into the archive's associated data).
    pub id: Uuid,
    /// Whose data it is.
    pub user_id: UserId,
    /// The archive (JSON), sealed under the user's profile key.
    pub archive: Sealed<Vec<u8>>,
    /// When it was built.
    pub created_at: Timestamp,
    /// When the link stops working.
    pub expires_at: Timestamp,
}
