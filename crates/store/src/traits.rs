//! The storage traits the core programs against, one per aggregate.

use std::collections::BTreeMap;

use async_trait::async_trait;
use parley_domain::page::{ConversationCursor, MessageWindow, PageLimit};
use parley_domain::{
    BlindIndex, ClientMsgId, ConsentPurpose, Conversation, ConversationId, EmailAddress, Handle, HandleKey, KeyScope, ListingId,
    MessageBody, MessageId, PasswordHash, Preferences, Sealed, SessionId, Timestamp, TokenHash, UserId, WrappedKey,
};
use uuid::Uuid;

use crate::error::StoreError;
use crate::records::{
    AcceptanceRecord, Appended, AuditEntry, AuditRecord, ChallengeKind, ChallengeRecord, ConsentRecord, ConversationRecord, ExportRecord,
    Inserted, KeyRotation, MessageRecord, NewMessage, NewUser, OutboxRecord, PasskeyRecord, PolicyRecord, SecurityEventRecord,
    SecurityNotice, SessionRecord, StreamTicket, TotpRecord, UserRecord,
};

/// Accounts.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts an account with its creation notice; a taken handle or email is a
    /// [`crate::Conflict`].
    async fn insert_user(&self, user: &NewUser, notice: &SecurityNotice) -> Result<(), StoreError>;
    /// The account with this id.
    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError>;
    /// The account with this handle.
    async fn user_by_handle(&self, handle: &HandleKey) -> Result<Option<UserRecord>, StoreError>;
    /// The account whose email has this blind index.
    async fn user_by_email(&self, index: &BlindIndex) -> Result<Option<UserRecord>, StoreError>;
    /// Counts one more consecutive failed login and records its event; returns the count. A
    /// count whose last lock ended before `forgiven_before` starts again from this failure.
    async fn count_login_failure(&self, user: UserId, forgiven_before: Timestamp, notice: &SecurityNotice) -> Result<u32, StoreError>;
    /// Refuses password logins until `until`; with a notice when this is news to the owner.
    async fn lock_account(&self, user: UserId, until: Timestamp, notice: Option<&SecurityNotice>) -> Result<(), StoreError>;
    /// Clears the failure count and any lock after a successful login.
    async fn reset_login_failures(&self, user: UserId) -> Result<(), StoreError>;
    /// Replaces the password hash and ends every session of the user except `keep`, in one
    /// transaction with its notice; returns the sessions ended.
    async fn change_password(
        &self,
        user: UserId,
        hash: &PasswordHash,
        keep: SessionId,
        notice: &SecurityNotice,
    ) -> Result<Vec<SessionId>, StoreError>;
    /// The ids of every conversation the user is a party to (for destroying their keys).
    async fn conversation_ids_of(&self, user: UserId) -> Result<Vec<ConversationId>, StoreError>;
    /// Erases an account in one transaction: ends its sessions (returned), deletes its events,
    /// mail, devices, credentials and identities, empties the bodies of its messages (left as
    /// placeholders) and turns the row into a tombstone with `tombstone` as its handle.
    async fn erase_user(&self, user: UserId, tombstone: &Handle, at: Timestamp) -> Result<Vec<SessionId>, StoreError>;
    /// Replaces the user's email address (sealed, with its blind index), with its notice; a
    /// taken address is a [`crate::Conflict`].
    async fn change_email(
        &self,
        user: UserId,
        email: &Sealed<EmailAddress>,
        index: &BlindIndex,
        notice: &SecurityNotice,
    ) -> Result<(), StoreError>;
    /// Remembers that the user logged in from a device; says whether it was new. A new device's
    /// notice (`if_new`) is written in the same transaction, so a device is never known without
    /// its owner having been told.
    async fn remember_device(
        &self,
        user: UserId,
        fingerprint: &BlindIndex,
        at: Timestamp,
        if_new: Option<&SecurityNotice>,
    ) -> Result<bool, StoreError>;
    /// Whether the user has logged in from this device since `seen_since`.
    async fn is_known_device(&self, user: UserId, fingerprint: &BlindIndex, seen_since: Timestamp) -> Result<bool, StoreError>;
    /// Reserves one attempt past an account lock for this device (seen since `seen_since`), if
    /// fewer than `budget` have been reserved since its last successful login: true if
    /// reserved. Reserving before checking, in one statement, keeps racing guesses within the
    /// budget; a successful login ([`UserStore::remember_device`]) gives the budget back.
    async fn reserve_device_pass(
        &self,
        user: UserId,
        fingerprint: &BlindIndex,
        seen_since: Timestamp,
        budget: u32,
    ) -> Result<bool, StoreError>;
}

/// Security events and the mail outbox.
#[async_trait]
pub trait NoticeStore: Send + Sync {
    /// Records a security event (and its mail, in the same transaction).
    async fn record_notice(&self, notice: &SecurityNotice) -> Result<(), StoreError>;
    /// The user's most recent events, newest first.
    async fn security_events_of(&self, user: UserId, limit: u32) -> Result<Vec<SecurityEventRecord>, StoreError>;
    /// Deletes events older than `before`; returns how many went.
    async fn purge_security_events(&self, before: Timestamp) -> Result<u64, StoreError>;
    /// Takes up to `limit` mails due at `now` for delivery: each is pushed to `lease_until`
    /// and its attempt counted, so another worker does not take it meanwhile.
    async fn claim_due_mail(&self, now: Timestamp, lease_until: Timestamp, limit: u32) -> Result<Vec<OutboxRecord>, StoreError>;
    /// Removes a delivered (or undeliverable) mail, if it is still the claim that counted
    /// `attempts`: a worker whose lease ran out does not touch another's claim.
    async fn remove_mail(&self, id: Uuid, attempts: u32) -> Result<(), StoreError>;
    /// Schedules the next attempt of a mail whose delivery failed, under the same condition.
    async fn retry_mail_at(&self, id: Uuid, attempts: u32, at: Timestamp) -> Result<(), StoreError>;
}

/// Second factors, passkeys, challenges and single sign-on identities.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Stores a new, unconfirmed TOTP secret (replacing an unconfirmed one); false when the
    /// user already has a confirmed one.
    async fn put_totp(&self, user: UserId, secret: &Sealed<Vec<u8>>, at: Timestamp) -> Result<bool, StoreError>;
    /// The user's TOTP credential.
    async fn totp_of(&self, user: UserId) -> Result<Option<TotpRecord>, StoreError>;
    /// Accepts a code of time step `step` once: false if that step (or a later one) was used.
    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError>;
    /// Confirms the TOTP credential with the step of a valid code and installs fresh recovery
    /// codes, with the notice, in one transaction; false if it was not pending, the step was
    /// used, or the pending secret is no longer the one the code was checked against.
    async fn confirm_totp(
        &self,
        user: UserId,
        secret: &Sealed<Vec<u8>>,
        step: i64,
        at: Timestamp,
        recovery_codes: &[TokenHash],
        notice: &SecurityNotice,
    ) -> Result<bool, StoreError>;
    /// Removes TOTP and the recovery codes, with the notice.
    async fn remove_totp(&self, user: UserId, notice: &SecurityNotice) -> Result<(), StoreError>;
    /// Account recovery: removes every second factor (TOTP, recovery codes, passkeys), pending
    /// challenges, known devices and sessions, with the notice, in one transaction; returns the
    /// sessions ended.
    async fn reset_factors(&self, user: UserId, notice: &SecurityNotice) -> Result<Vec<SessionId>, StoreError>;
    /// Replaces the recovery codes of a user whose TOTP is on, with the notice; false (and
    /// nothing changed) if TOTP is not on.
    async fn replace_recovery_codes(&self, user: UserId, recovery_codes: &[TokenHash], notice: &SecurityNotice)
    -> Result<bool, StoreError>;
    /// Uses up a recovery code: true if it existed (and is now gone).
    async fn use_recovery_code(&self, user: UserId, hash: &TokenHash) -> Result<bool, StoreError>;
    /// How many recovery codes the user has left.
    async fn recovery_codes_left(&self, user: UserId) -> Result<u32, StoreError>;

    /// Stores a challenge. A challenge naming a user replaces that user's earlier ones of the
    /// same kind, so a user has one live login challenge (and one registration) at a time.
    async fn insert_challenge(&self, challenge: &ChallengeRecord) -> Result<(), StoreError>;
    /// Counts one answer to the challenge before it is checked, and returns the challenge, if
    /// it is still live at `now` and has had fewer than `max_attempts` answers: racing answers
    /// cannot exceed the budget.
    async fn reserve_challenge_attempt(
        &self,
        hash: &TokenHash,
        kind: ChallengeKind,
        max_attempts: u32,
        now: Timestamp,
    ) -> Result<Option<ChallengeRecord>, StoreError>;
    /// Removes and returns the challenge: a challenge is answered once.
    async fn take_challenge(&self, hash: &TokenHash, kind: ChallengeKind) -> Result<Option<ChallengeRecord>, StoreError>;

    /// Stores a passkey, with its notice.
    async fn insert_passkey(&self, passkey: &PasskeyRecord, notice: &SecurityNotice) -> Result<(), StoreError>;
    /// The user's passkeys, oldest first.
    async fn passkeys_of(&self, user: UserId) -> Result<Vec<PasskeyRecord>, StoreError>;
    /// The passkey with this WebAuthn credential id.
    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<PasskeyRecord>, StoreError>;
    /// Saves a passkey's updated credential (signature counter) and its last use.
    async fn update_passkey(&self, id: Uuid, sealed: &Sealed<Vec<u8>>, used_at: Timestamp) -> Result<(), StoreError>;
    /// Removes one of the user's passkeys, with its notice; false if there was none.
    async fn remove_passkey(&self, user: UserId, id: Uuid, notice: &SecurityNotice) -> Result<bool, StoreError>;

    /// The account linked to a single sign-on identity.
    async fn external_identity(&self, provider: &str, subject: &BlindIndex) -> Result<Option<UserId>, StoreError>;
    /// Creates an account for a single sign-on identity, linked to it, with its notice.
    async fn insert_external_user(
        &self,
        user: &NewUser,
        provider: &str,
        subject: &BlindIndex,
        notice: &SecurityNotice,
    ) -> Result<(), StoreError>;
    /// Records a single sign-on token id as used until `expires_at`: false if it already was
    /// (a replay).
    async fn use_token_id(&self, provider: &str, token_id: &TokenHash, expires_at: Timestamp) -> Result<bool, StoreError>;
}

/// Login sessions and WebSocket tickets.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session, unless its user has been erased (then false): a login racing an
    /// erasure opens nothing.
    async fn insert_session(&self, session: &SessionRecord) -> Result<bool, StoreError>;
    /// The session whose token has this hash.
    async fn session_by_token(&self, hash: &TokenHash) -> Result<Option<SessionRecord>, StoreError>;
    /// The session with this id.
    async fn session_by_id(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError>;
    /// Records use of a session.
    async fn touch_session(&self, id: SessionId, at: Timestamp) -> Result<(), StoreError>;
    /// Deletes a session (and its tickets); says whether it existed.
    async fn delete_session(&self, id: SessionId) -> Result<bool, StoreError>;
    /// The user's sessions, most recently created first.
    async fn sessions_of(&self, user: UserId) -> Result<Vec<SessionRecord>, StoreError>;
    /// Deletes one of the user's sessions, with its notice; false if the user has no such
    /// session.
    async fn revoke_session(&self, user: UserId, id: SessionId, notice: &SecurityNotice) -> Result<bool, StoreError>;
    /// Deletes every session of the user but `keep`, with one notice; returns those ended.
    async fn revoke_other_sessions(&self, user: UserId, keep: SessionId, notice: &SecurityNotice) -> Result<Vec<SessionId>, StoreError>;
    /// Deletes sessions that ended (absolute expiry passed, or unused since `idle_before`),
    /// stream tickets and challenges past their expiry, and expired single sign-on token ids;
    /// returns how many sessions went.
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

/// Privacy preferences and blocks.
#[async_trait]
pub trait PreferenceStore: Send + Sync {
    /// The user's preferences, if they ever set any.
    async fn preferences_of(&self, user: UserId) -> Result<Option<Preferences>, StoreError>;
    /// Saves the user's preferences.
    async fn put_preferences(&self, user: UserId, preferences: &Preferences, at: Timestamp) -> Result<(), StoreError>;
    /// `user` blocks `target` from `at`; false if already blocked.
    async fn block(&self, user: UserId, target: UserId, at: Timestamp) -> Result<bool, StoreError>;
    /// Lifts `user`'s block of `target`; false if there was none.
    async fn unblock(&self, user: UserId, target: UserId) -> Result<bool, StoreError>;
    /// Whom the user blocked, with their handles and since when, most recent first.
    async fn blocks_of(&self, blocker: UserId) -> Result<Vec<(UserId, Handle, Timestamp)>, StoreError>;
    /// Stores a built export.
    async fn insert_export(&self, export: &ExportRecord) -> Result<(), StoreError>;
    /// Removes and returns the user's export with this token hash: a link works once.
    async fn take_export(&self, user: UserId, token_hash: &TokenHash) -> Result<Option<ExportRecord>, StoreError>;
    /// The conversation between these parties about this listing, if they have one.
    async fn find_conversation(
        &self,
        buyer: UserId,
        seller: UserId,
        listing: Option<&ListingId>,
    ) -> Result<Option<ConversationRecord>, StoreError>;
}

/// How an audit entry's hash is made from its number, the previous hash and the entry (the
/// store links entries; the caller holds the key).
pub type AuditChain<'a> = dyn Fn(u64, &[u8; 32], &AuditEntry) -> [u8; 32] + Send + Sync + 'a;

/// The append-only, hash-chained audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends `entry` as the next one, its hash made by `chain` from the newest entry's hash.
    async fn append_audit(&self, entry: &AuditEntry, chain: &AuditChain<'_>) -> Result<AuditRecord, StoreError>;
    /// Up to `limit` entries after number `after`, in order.
    async fn audit_entries(&self, after: u64, limit: u32) -> Result<Vec<AuditRecord>, StoreError>;
    /// The newest entry's number and hash (0 and zeros when the log is empty).
    async fn audit_head(&self) -> Result<(u64, [u8; 32]), StoreError>;
}

/// The privacy policy's versions, users' acceptances of them, and consents to optional purposes.
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// The newest policy version, if any was published.
    async fn current_policy(&self) -> Result<Option<PolicyRecord>, StoreError>;
    /// The newest policy's version number alone (without its text), if any was published.
    async fn current_policy_version(&self) -> Result<Option<u32>, StoreError>;
    /// One policy version.
    async fn policy(&self, version: u32) -> Result<Option<PolicyRecord>, StoreError>;
    /// Publishes `body` as the next version (one more than the newest) and returns it.
    async fn publish_policy(&self, body: &str, sha256: &str, at: Timestamp) -> Result<PolicyRecord, StoreError>;
    /// Records that `user` accepted `version`; accepting again keeps the first acceptance.
    async fn accept_policy(&self, user: UserId, acceptance: &AcceptanceRecord) -> Result<(), StoreError>;
    /// Every version the user accepted, oldest first.
    async fn acceptances_of(&self, user: UserId) -> Result<Vec<AcceptanceRecord>, StoreError>;
    /// Appends a grant or withdrawal to the user's consent ledger.
    async fn record_consent(&self, consent: &ConsentRecord) -> Result<(), StoreError>;
    /// The user's whole consent ledger, oldest first.
    async fn consents_of(&self, user: UserId) -> Result<Vec<ConsentRecord>, StoreError>;
    /// Up to `limit` users, in id order after `after`, whose latest consent to `purpose` is a
    /// grant and who accepted policy `version`: those `purpose` may be pursued for now.
    async fn consenting_users(
        &self,
        purpose: ConsentPurpose,
        version: u32,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<UserId>, StoreError>;
    /// Up to `limit` live users with an email address, in id order after `after`.
    async fn mailable_users(&self, after: Option<UserId>, limit: u32) -> Result<Vec<UserId>, StoreError>;
    /// Queues mail in the outbox, all or none.
    async fn enqueue_mail(&self, mail: &[OutboxRecord]) -> Result<(), StoreError>;
}

/// Deleting messages and conversations.
#[async_trait]
pub trait DeletionStore: Send + Sync {
    /// The message with this id in this conversation.
    async fn message_in(&self, conversation: ConversationId, id: MessageId) -> Result<Option<MessageRecord>, StoreError>;
    /// Empties a message's body for everyone (it stays as a numbered placeholder); deleting
    /// twice keeps the first time.
    async fn delete_message_for_everyone(&self, id: MessageId, at: Timestamp) -> Result<(), StoreError>;
    /// Replaces a message's body, keeping the previous one as an edit (both sealed by the
    /// caller under key `generation`), in one transaction; false if the message was deleted
    /// meanwhile, `Conflict::KeyRotated` if the author's key moved on.
    async fn edit_message(
        &self,
        id: MessageId,
        body: &Sealed<MessageBody>,
        previous: (Uuid, Sealed<MessageBody>),
        generation: u32,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// The generation of the author's message key in the conversation (0 until a deletion for
    /// everyone).
    async fn message_key_generation(&self, conversation: ConversationId, author: UserId) -> Result<u32, StoreError>;
    /// The author's non-empty bodies in the conversation, and the earlier texts of their
    /// messages (edit id, message id, text): what a key rotation re-seals.
    async fn author_texts(
        &self,
        conversation: ConversationId,
        author: UserId,
    ) -> Result<(Vec<(MessageId, Sealed<MessageBody>)>, Vec<(Uuid, MessageId, Sealed<MessageBody>)>), StoreError>;
    /// Deletes `rotation.deleted` for everyone and replaces the author's other bodies and earlier
    /// texts with their re-sealed versions under generation `from + 1`, in one transaction under
    /// the conversation's lock. False (nothing written) if the generation is no longer `from`
    /// or the author's texts changed meanwhile (a send, an edit): read again and retry.
    async fn rotate_message_key(&self, rotation: &KeyRotation) -> Result<bool, StoreError>;
    /// Hides a message from one user.
    async fn hide_message(&self, user: UserId, id: MessageId) -> Result<(), StoreError>;
    /// The messages of the conversation hidden from the user.
    async fn hidden_messages(&self, user: UserId, conversation: ConversationId) -> Result<Vec<MessageId>, StoreError>;
    /// Records that the user deleted the conversation at `at` (a later deletion replaces an
    /// earlier one); returns how many of its parties have deleted everything said in it. When
    /// that is both, the conversation is marked closing in the same transaction: it accepts
    /// no more messages, and is the caller's to destroy.
    async fn delete_conversation_for(&self, user: UserId, conversation: ConversationId, at: Timestamp) -> Result<u32, StoreError>;
    /// Undoes the user's deletion of a conversation (they opened it again): what they had
    /// deleted stays hidden from them, message by message.
    async fn revive_conversation_for(&self, user: UserId, conversation: ConversationId) -> Result<(), StoreError>;
    /// When the user deleted each conversation they deleted.
    async fn conversation_deletions(&self, user: UserId) -> Result<Vec<(ConversationId, Timestamp)>, StoreError>;
    /// Destroys a conversation and everything in it.
    async fn destroy_conversation(&self, conversation: ConversationId) -> Result<(), StoreError>;
    /// Shortens a conversation's own retention to `days` after its last activity, unless a
    /// shorter one is set (one statement, so racing requests cannot lengthen it); returns the
    /// retention in force afterwards.
    async fn shorten_conversation_retention(&self, conversation: ConversationId, days: u32) -> Result<Option<u32>, StoreError>;
    /// A conversation's own retention, in days.
    async fn conversation_retention(&self, conversation: ConversationId) -> Result<Option<u32>, StoreError>;
    /// Marks closing every conversation whose retention ran out at `now` (idle for longer than
    /// the shorter of their own retention and `default_days`), checked again as each is
    /// marked, so a message sent meanwhile saves its conversation. Returns up to `limit`
    /// closing conversations (these, and any a crash left closing), with their parties.
    async fn close_expired_conversations(
        &self,
        now: Timestamp,
        default_days: u32,
        limit: u32,
    ) -> Result<Vec<(ConversationId, [UserId; 2])>, StoreError>;
}

/// Everything the core needs from the data store.
pub trait Store:
    UserStore
    + AuditStore
    + ConsentStore
    + SessionStore
    + NoticeStore
    + CredentialStore
    + PreferenceStore
    + DeletionStore
    + ConversationStore
    + MessageStore
    + StoreDiagnostics
{
}

impl<T> Store for T where
    T: UserStore
        + AuditStore
        + ConsentStore
        + SessionStore
        + NoticeStore
        + CredentialStore
        + PreferenceStore
        + DeletionStore
        + ConversationStore
        + MessageStore
        + StoreDiagnostics
{
}

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
    /// The audit log's checkpoint (entry number and hash), if one was set.
    async fn audit_checkpoint(&self) -> Result<Option<(u64, [u8; 32])>, StoreError>;
    /// Moves the audit checkpoint to entry `seq`; never backwards.
    async fn advance_audit_checkpoint(&self, seq: u64, hash: &[u8; 32]) -> Result<(), StoreError>;
}
