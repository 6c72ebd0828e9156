//! The store's SQL, written once and compiled once per backend: `sqlite.rs` and `postgres.rs`
//! each include this file as a module, with their own `Db`, `DataStore` and `KeyStoreImpl`.
//! Every statement is therefore valid on both SQLite and PostgreSQL: `$n` placeholders,
//! `ON CONFLICT`, `RETURNING`, no backend-specific functions.

use async_trait::async_trait;
use parley_domain::page::{ConversationCursor, MessageWindow, PageLimit};
use parley_domain::{
    BlindIndex, ClientMsgId, Conversation, ConversationId, EmailAddress, Handle, HandleKey, KeyScope, ListingId, MessageId, PasswordHash,
    Sealed, SecurityEventKind, Seq, SessionId, SessionKind, Timestamp, TokenHash, UserId, WrappedKey,
};
use sqlx::Row as _;
use uuid::Uuid;

use super::{DataStore, Db, KeyStoreImpl};
use crate::error::{StoreError, is_unique_violation_on};
use crate::records::{
    Appended, ConversationRecord, Inserted, MessageRecord, NewMessage, NewUser, SecurityNotice, SessionRecord, StreamTicket, UserRecord,
};
use crate::traits::{ConversationStore, KeyStore, MessageStore, SessionStore, UserStore};

use notices::insert_notice;

type Row = <Db as sqlx::Database>::Row;

// Column lists as macros, so that `concat!` builds each statement as one `&'static str`.
macro_rules! select_user {
    () => {
        "SELECT id, handle, email_sealed, password_hash, created_at, failed_logins, locked_until FROM users "
    };
}
macro_rules! select_session {
    () => {
        "SELECT id, user_id, token_hash, created_at, last_seen_at, expires_at, kind, device_sealed FROM sessions "
    };
}
macro_rules! select_message {
    () => {
        "SELECT id, conversation_id, seq, author_id, client_msg_id, body_sealed, created_at, edited_at, \
         COALESCE((SELECT g.generation FROM message_key_generations g \
         WHERE g.conversation_id = messages.conversation_id AND g.author_id = messages.author_id), 0) AS key_generation \
         FROM messages "
    };
}
macro_rules! select_conversation {
    () => {
        "SELECT c.id, c.buyer_id, c.seller_id, c.listing_id, c.created_at, c.last_activity_at, c.last_seq, \
         b.handle AS buyer_handle, s.handle AS seller_handle \
         FROM conversations c JOIN users b ON b.id = c.buyer_id JOIN users s ON s.id = c.seller_id "
    };
}

// The submodules come after the column-list macros, which they use.
#[path = "sql_audit.rs"]
mod audit;
#[path = "sql_consent.rs"]
mod consent;
#[path = "sql_credentials.rs"]
mod credentials;
#[path = "sql_deletions.rs"]
mod deletions;
#[path = "sql_notices.rs"]
mod notices;
#[path = "sql_preferences.rs"]
mod preferences;

#[async_trait]
impl UserStore for DataStore {
    async fn insert_user(&self, user: &NewUser, notice: &SecurityNotice) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        insert_user_row(&mut tx, user).await?;
        if let Some(version) = user.accepted_policy {
            consent::insert_acceptance(&mut tx, user.id, version, user.created_at).await?;
        }
        insert_notice(&mut tx, notice).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(concat!(select_user!(), "WHERE id = $1")).bind(id.to_string()).fetch_optional(&self.read).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_handle(&self, handle: &HandleKey) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(concat!(select_user!(), "WHERE handle_key = $1")).bind(handle.as_str()).fetch_optional(&self.read).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_email(&self, index: &BlindIndex) -> Result<Option<UserRecord>, StoreError> {
        let row =
            sqlx::query(concat!(select_user!(), "WHERE email_index = $1")).bind(index.0.as_slice()).fetch_optional(&self.read).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn count_login_failure(&self, user: UserId, forgiven_before: Timestamp, notice: &SecurityNotice) -> Result<u32, StoreError> {
        let mut tx = self.write.begin().await?;
        let count: i64 = sqlx::query_scalar(
            "UPDATE users SET failed_logins = CASE WHEN locked_until < $2 THEN 1 ELSE failed_logins + 1 END, \
             locked_until = CASE WHEN locked_until < $2 THEN NULL ELSE locked_until END \
             WHERE id = $1 RETURNING failed_logins",
        )
        .bind(user.to_string())
        .bind(forgiven_before.as_millis())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
        insert_notice(&mut tx, notice).await?;
        tx.commit().await?;
        u32::try_from(count).map_err(|_| StoreError::Corrupt("users.failed_logins"))
    }

    async fn lock_account(&self, user: UserId, until: Timestamp, notice: Option<&SecurityNotice>) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE users SET locked_until = $2 WHERE id = $1")
            .bind(user.to_string())
            .bind(until.as_millis())
            .execute(&mut *tx)
            .await?;
        if let Some(notice) = notice {
            insert_notice(&mut tx, notice).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn reset_login_failures(&self, user: UserId) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1 AND (failed_logins > 0 OR locked_until IS NOT NULL)",
        )
        .bind(user.to_string())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn change_password(
        &self,
        user: UserId,
        hash: &PasswordHash,
        keep: SessionId,
        notice: &SecurityNotice,
    ) -> Result<Vec<SessionId>, StoreError> {
        let mut tx = self.write.begin().await?;
        let updated = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user.to_string())
            .bind(hash.0.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound("user"));
        }
        let ended = delete_sessions_except(&mut tx, user, keep).await?;
        insert_notice(&mut tx, notice).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn conversation_ids_of(&self, user: UserId) -> Result<Vec<ConversationId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM conversations WHERE buyer_id = $1 OR seller_id = $1")
            .bind(user.to_string())
            .fetch_all(&self.read)
            .await?;
        ids.iter().map(|id| parse_id(id, "conversations.id", ConversationId::from_uuid)).collect()
    }

    async fn erase_user(&self, user: UserId, tombstone: &Handle, at: Timestamp) -> Result<Vec<SessionId>, StoreError> {
        let id = user.to_string();
        let mut tx = self.write.begin().await?;
        // Take the lock of each of the user's conversations first, as a send does: sends in
        // flight commit before this goes on (their messages are emptied below), later ones
        // wait and then find the account erased. One at a time, in id order, so two erasures
        // sharing conversations cannot deadlock.
        let conversations: Vec<String> =
            sqlx::query_scalar("SELECT id FROM conversations WHERE buyer_id = $1 OR seller_id = $1 ORDER BY id")
                .bind(&id)
                .fetch_all(&mut *tx)
                .await?;
        for conversation in &conversations {
            sqlx::query("UPDATE conversations SET last_seq = last_seq WHERE id = $1").bind(conversation).execute(&mut *tx).await?;
        }
        // The account is marked erased before its sessions go: a login racing this waits on the
        // user's row (see `insert_session`) and then finds it erased, or commits first and has
        // its session deleted below.
        sqlx::query(
            "UPDATE users SET handle = $2, handle_key = $3, email_sealed = NULL, email_index = NULL, password_hash = NULL, \
             failed_logins = 0, locked_until = NULL, erased_at = $4 WHERE id = $1",
        )
        .bind(&id)
        .bind(tombstone.as_str())
        .bind(tombstone.key().as_str())
        .bind(at.as_millis())
        .execute(&mut *tx)
        .await?;
        let ended: Vec<String> =
            sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 RETURNING id").bind(&id).fetch_all(&mut *tx).await?;
        for statement in [
            "DELETE FROM security_events WHERE user_id = $1",
            "DELETE FROM outbox WHERE user_id = $1",
            "DELETE FROM known_devices WHERE user_id = $1",
            "DELETE FROM totp_credentials WHERE user_id = $1",
            "DELETE FROM recovery_codes WHERE user_id = $1",
            "DELETE FROM passkeys WHERE user_id = $1",
            "DELETE FROM auth_challenges WHERE user_id = $1",
            "DELETE FROM external_identities WHERE user_id = $1",
            "DELETE FROM preferences WHERE user_id = $1",
            "DELETE FROM hidden_messages WHERE user_id = $1",
            "DELETE FROM conversation_deletions WHERE user_id = $1",
            "DELETE FROM exports WHERE user_id = $1",
            "DELETE FROM policy_acceptances WHERE user_id = $1",
            "DELETE FROM consents WHERE user_id = $1",
            "DELETE FROM blocks WHERE blocker_id = $1 OR blocked_id = $1",
        ] {
            sqlx::query(statement).bind(&id).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM message_edits WHERE message_id IN (SELECT id FROM messages WHERE author_id = $1)")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        // An erased party has deleted all their conversations, for good: once the other party
        // deletes one too, it is destroyed.
        sqlx::query(
            "INSERT INTO conversation_deletions (user_id, conversation_id, deleted_at) \
             SELECT $1, id, $2 FROM conversations WHERE buyer_id = $1 OR seller_id = $1",
        )
        .bind(&id)
        .bind(i64::MAX / 2)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE messages SET body_sealed = $2, deleted_at = $3 WHERE author_id = $1 AND deleted_at IS NULL")
            .bind(&id)
            .bind(Vec::<u8>::new())
            .bind(at.as_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        ended.iter().map(|id| parse_id(id, "sessions.id", SessionId::from_uuid)).collect()
    }

    async fn change_email(
        &self,
        user: UserId,
        email: &Sealed<EmailAddress>,
        index: &BlindIndex,
        notice: &SecurityNotice,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE users SET email_sealed = $2, email_index = $3 WHERE id = $1")
            .bind(user.to_string())
            .bind(email.as_bytes())
            .bind(index.0.as_slice())
            .execute(&mut *tx)
            .await?;
        insert_notice(&mut tx, notice).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remember_device(
        &self,
        user: UserId,
        fingerprint: &BlindIndex,
        at: Timestamp,
        if_new: Option<&SecurityNotice>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO known_devices (user_id, fingerprint, last_seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, fingerprint) DO NOTHING",
        )
        .bind(user.to_string())
        .bind(fingerprint.0.as_slice())
        .bind(at.as_millis())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !inserted {
            sqlx::query("UPDATE known_devices SET last_seen_at = $3, failures = 0 WHERE user_id = $1 AND fingerprint = $2")
                .bind(user.to_string())
                .bind(fingerprint.0.as_slice())
                .bind(at.as_millis())
                .execute(&mut *tx)
                .await?;
        } else if let Some(notice) = if_new {
            insert_notice(&mut tx, notice).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn is_known_device(&self, user: UserId, fingerprint: &BlindIndex, seen_since: Timestamp) -> Result<bool, StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT last_seen_at FROM known_devices WHERE user_id = $1 AND fingerprint = $2 AND last_seen_at >= $3")
                .bind(user.to_string())
                .bind(fingerprint.0.as_slice())
                .bind(seen_since.as_millis())
                .fetch_optional(&self.read)
                .await?;
        Ok(found.is_some())
    }

    async fn reserve_device_pass(
        &self,
        user: UserId,
        fingerprint: &BlindIndex,
        seen_since: Timestamp,
        budget: u32,
    ) -> Result<bool, StoreError> {
        let reserved = sqlx::query(
            "UPDATE known_devices SET failures = failures + 1 \
             WHERE user_id = $1 AND fingerprint = $2 AND last_seen_at >= $3 AND failures < $4",
        )
        .bind(user.to_string())
        .bind(fingerprint.0.as_slice())
        .bind(seen_since.as_millis())
        .bind(i64::from(budget))
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(reserved == 1)
    }
}

#[async_trait]
impl SessionStore for DataStore {
    async fn insert_session(&self, session: &SessionRecord) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        // Locks the user's row (a no-op write) as an erasure does before it deletes sessions:
        // either the erasure commits first and this finds the account erased, or this commits
        // first and the erasure's delete sees the new session.
        let live = sqlx::query("UPDATE users SET erased_at = erased_at WHERE id = $1 AND erased_at IS NULL")
            .bind(session.user_id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !live {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO sessions (id, user_id, token_hash, created_at, last_seen_at, expires_at, kind, device_sealed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(session.id.to_string())
        .bind(session.user_id.to_string())
        .bind(session.token_hash.0.as_slice())
        .bind(session.created_at.as_millis())
        .bind(session.last_seen_at.as_millis())
        .bind(session.expires_at.as_millis())
        .bind(session.kind.as_str())
        .bind(session.device.as_ref().map(Sealed::as_bytes))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn session_by_token(&self, hash: &TokenHash) -> Result<Option<SessionRecord>, StoreError> {
        let row =
            sqlx::query(concat!(select_session!(), "WHERE token_hash = $1")).bind(hash.0.as_slice()).fetch_optional(&self.read).await?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn session_by_id(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(concat!(select_session!(), "WHERE id = $1")).bind(id.to_string()).fetch_optional(&self.read).await?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn touch_session(&self, id: SessionId, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2")
            .bind(id.to_string())
            .bind(at.as_millis())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id: SessionId) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id.to_string()).execute(&self.write).await?;
        Ok(result.rows_affected() > 0)
    }

    async fn sessions_of(&self, user: UserId) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = sqlx::query(concat!(select_session!(), "WHERE user_id = $1 ORDER BY created_at DESC, id DESC"))
            .bind(user.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(session_from_row).collect()
    }

    async fn revoke_session(&self, user: UserId, id: SessionId, notice: &SecurityNotice) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        let deleted = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if deleted {
            insert_notice(&mut tx, notice).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    async fn revoke_other_sessions(&self, user: UserId, keep: SessionId, notice: &SecurityNotice) -> Result<Vec<SessionId>, StoreError> {
        let mut tx = self.write.begin().await?;
        let ended = delete_sessions_except(&mut tx, user, keep).await?;
        if !ended.is_empty() {
            insert_notice(&mut tx, notice).await?;
        }
        tx.commit().await?;
        Ok(ended)
    }

    async fn purge_expired_sessions(&self, now: Timestamp, idle_before: Timestamp) -> Result<u64, StoreError> {
        let mut tx = self.write.begin().await?;
        for statement in [
            "DELETE FROM stream_tickets WHERE expires_at <= $1",
            "DELETE FROM auth_challenges WHERE expires_at <= $1",
            "DELETE FROM sso_token_ids WHERE expires_at <= $1",
            "DELETE FROM exports WHERE expires_at <= $1",
        ] {
            sqlx::query(statement).bind(now.as_millis()).execute(&mut *tx).await?;
        }
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
            .bind(now.as_millis())
            .bind(idle_before.as_millis())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(sessions)
    }

    async fn insert_stream_ticket(&self, ticket: &StreamTicket) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO stream_tickets (ticket_hash, session_id, expires_at) VALUES ($1, $2, $3)")
            .bind(ticket.hash.0.as_slice())
            .bind(ticket.session_id.to_string())
            .bind(ticket.expires_at.as_millis())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn take_stream_ticket(&self, hash: &TokenHash) -> Result<Option<StreamTicket>, StoreError> {
        let row = sqlx::query("DELETE FROM stream_tickets WHERE ticket_hash = $1 RETURNING session_id, expires_at")
            .bind(hash.0.as_slice())
            .fetch_optional(&self.write)
            .await?;
        row.map(|row| {
            Ok(StreamTicket {
                hash: hash.clone(),
                session_id: id_column(&row, "session_id", SessionId::from_uuid)?,
                expires_at: time_column(&row, "expires_at")?,
            })
        })
        .transpose()
    }
}

#[async_trait]
impl ConversationStore for DataStore {
    async fn insert_conversation(&self, conversation: &Conversation) -> Result<Inserted<ConversationRecord>, StoreError> {
        let listing = conversation.listing.as_ref().map_or("", ListingId::as_str);
        let mut tx = self.write.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO conversations (id, buyer_id, seller_id, listing_id, created_at, last_activity_at, last_seq) \
             VALUES ($1, $2, $3, $4, $5, $6, 0) ON CONFLICT (buyer_id, seller_id, listing_id) DO NOTHING",
        )
        .bind(conversation.id.to_string())
        .bind(conversation.buyer.to_string())
        .bind(conversation.seller.to_string())
        .bind(listing)
        .bind(conversation.created_at.as_millis())
        .bind(conversation.last_activity_at.as_millis())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let row = sqlx::query(concat!(select_conversation!(), "WHERE c.buyer_id = $1 AND c.seller_id = $2 AND c.listing_id = $3"))
            .bind(conversation.buyer.to_string())
            .bind(conversation.seller.to_string())
            .bind(listing)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("conversation"))?;
        tx.commit().await?;
        let record = conversation_from_row(&row)?;
        Ok(if inserted { Inserted::New(record) } else { Inserted::Existing(record) })
    }

    async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRecord>, StoreError> {
        let row = sqlx::query(concat!(select_conversation!(), "WHERE c.id = $1")).bind(id.to_string()).fetch_optional(&self.read).await?;
        row.as_ref().map(conversation_from_row).transpose()
    }

    async fn conversations_of(
        &self,
        user: UserId,
        cursor: Option<ConversationCursor>,
        limit: PageLimit,
    ) -> Result<Vec<ConversationRecord>, StoreError> {
        let (before_activity, before_id) = cursor.map_or((i64::MAX, String::new()), |c| (c.last_activity_at.as_millis(), c.id.to_string()));
        let rows = sqlx::query(concat!(
            select_conversation!(),
            "WHERE (c.buyer_id = $1 OR c.seller_id = $1) \
             AND (c.last_activity_at < $2 OR (c.last_activity_at = $2 AND c.id < $3)) \
             ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $4"
        ))
        .bind(user.to_string())
        .bind(before_activity)
        .bind(before_id)
        .bind(i64::from(limit.get()))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(conversation_from_row).collect()
    }
}

#[async_trait]
impl MessageStore for DataStore {
    async fn append_message(&self, message: &NewMessage) -> Result<Appended, StoreError> {
        // A retry usually finds its message without taking the write lock.
        if let Some(existing) = self.message_by_client_msg_id(message.conversation_id, message.author, &message.client_msg_id).await? {
            return Ok(Inserted::Existing(existing));
        }
        let mut tx = self.write.begin().await?;
        // Bumping the counter first takes the conversation's row lock (PostgreSQL) or the
        // database write lock (SQLite), so concurrent sends get consecutive numbers and a
        // concurrent retry is seen by the check below. A conversation marked closing takes no
        // more messages: it is being destroyed.
        let seq: Option<i64> = sqlx::query_scalar(
            "UPDATE conversations SET last_seq = last_seq + 1, \
             last_activity_at = CASE WHEN last_activity_at > $2 THEN last_activity_at ELSE $2 END \
             WHERE id = $1 AND closing_at IS NULL RETURNING last_seq",
        )
        .bind(message.conversation_id.to_string())
        .bind(message.created_at.as_millis())
        .fetch_optional(&mut *tx)
        .await?;
        let seq = seq.ok_or(StoreError::NotFound("conversation"))?;
        // Erasure takes this conversation's lock before it marks the author erased and empties
        // their messages: a send either committed before (and is emptied with the rest) or
        // sees the mark here and is refused.
        deletions::require_live_author(&mut tx, &message.author.to_string()).await?;
        // Sealed under a key generation a deletion has since moved past: the core seals again.
        let generation = deletions::current_generation(&mut *tx, &message.conversation_id.to_string(), &message.author.to_string()).await?;
        if generation != message.key_generation {
            tx.rollback().await?;
            return Err(StoreError::Conflict(crate::error::Conflict::KeyRotated));
        }
        if let Some(existing) = find_by_client_msg_id(&mut *tx, message.conversation_id, message.author, &message.client_msg_id).await? {
            tx.rollback().await?;
            return Ok(Inserted::Existing(existing));
        }
        let inserted = sqlx::query(
            "INSERT INTO messages (id, conversation_id, seq, author_id, client_msg_id, body_sealed, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(message.id.to_string())
        .bind(message.conversation_id.to_string())
        .bind(seq)
        .bind(message.author.to_string())
        .bind(message.client_msg_id.as_str())
        .bind(message.body.as_bytes())
        .bind(message.created_at.as_millis())
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => tx.commit().await?,
            Err(error) if is_unique_violation_on(&error, "client_msg_id") => {
                tx.rollback().await?;
                let existing = self
                    .message_by_client_msg_id(message.conversation_id, message.author, &message.client_msg_id)
                    .await?
                    .ok_or(StoreError::NotFound("message"))?;
                return Ok(Inserted::Existing(existing));
            }
            Err(error) => return Err(error.into()),
        }
        Ok(Inserted::New(MessageRecord {
            id: message.id,
            conversation_id: message.conversation_id,
            seq: Seq::new(seq).map_err(|_| StoreError::Corrupt("conversations.last_seq"))?,
            author: message.author,
            client_msg_id: message.client_msg_id.clone(),
            body: message.body.clone(),
            created_at: message.created_at,
            edited_at: None,
            key_generation: message.key_generation,
        }))
    }

    async fn message_by_client_msg_id(
        &self,
        conversation: ConversationId,
        author: UserId,
        client_msg_id: &ClientMsgId,
    ) -> Result<Option<MessageRecord>, StoreError> {
        find_by_client_msg_id(&self.read, conversation, author, client_msg_id).await
    }

    async fn messages(
        &self,
        conversation: ConversationId,
        window: MessageWindow,
        limit: PageLimit,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let limit = i64::from(limit.get());
        let conversation = conversation.to_string();
        let query = match window {
            MessageWindow::Latest => sqlx::query(concat!(select_message!(), "WHERE conversation_id = $1 ORDER BY seq DESC LIMIT $2"))
                .bind(conversation)
                .bind(limit),
            MessageWindow::Before(seq) => {
                sqlx::query(concat!(select_message!(), "WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"))
                    .bind(conversation)
                    .bind(seq.value())
                    .bind(limit)
            }
            MessageWindow::After(seq) => {
                sqlx::query(concat!(select_message!(), "WHERE conversation_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3"))
                    .bind(conversation)
                    .bind(seq.value())
                    .bind(limit)
            }
            MessageWindow::Between { after, before } => {
                sqlx::query(concat!(select_message!(), "WHERE conversation_id = $1 AND seq > $2 AND seq < $3 ORDER BY seq ASC LIMIT $4"))
                    .bind(conversation)
                    .bind(after.value())
                    .bind(before.value())
                    .bind(limit)
            }
        };
        let rows = query.fetch_all(&self.read).await?;
        let mut messages = rows.iter().map(message_from_row).collect::<Result<Vec<_>, _>>()?;
        if matches!(window, MessageWindow::Latest | MessageWindow::Before(_)) {
            messages.reverse();
        }
        Ok(messages)
    }
}

#[async_trait]
impl KeyStore for KeyStoreImpl {
    async fn wrapped_key(&self, scope: &KeyScope) -> Result<Option<WrappedKey>, StoreError> {
        let row =
            sqlx::query("SELECT kek_id, wrapped FROM data_keys WHERE scope = $1").bind(scope.name()).fetch_optional(&self.read).await?;
        row.as_ref().map(wrapped_key_from_row).transpose()
    }

    async fn insert_key_if_absent(&self, scope: &KeyScope, key: &WrappedKey, at: Timestamp) -> Result<WrappedKey, StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO data_keys (scope, kek_id, wrapped, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (scope) DO NOTHING")
            .bind(scope.name())
            .bind(key.kek_id.as_str())
            .bind(key.bytes.as_slice())
            .bind(at.as_millis())
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT kek_id, wrapped FROM data_keys WHERE scope = $1").bind(scope.name()).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        wrapped_key_from_row(&row)
    }

    async fn destroy_key(&self, scope: &KeyScope) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM data_keys WHERE scope = $1").bind(scope.name()).execute(&self.write).await?;
        Ok(result.rows_affected() > 0)
    }

    async fn audit_checkpoint(&self) -> Result<Option<(u64, [u8; 32])>, StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM audit_checkpoint WHERE id = 1").fetch_optional(&self.read).await?;
        row.map(|row| {
            let seq = u64::try_from(row.try_get::<i64, _>("seq")?).map_err(|_| StoreError::Corrupt("audit_checkpoint.seq"))?;
            Ok((seq, hash_column(&row, "hash")?))
        })
        .transpose()
    }

    async fn advance_audit_checkpoint(&self, seq: u64, hash: &[u8; 32]) -> Result<(), StoreError> {
        let seq = i64::try_from(seq).map_err(|_| StoreError::Corrupt("audit_checkpoint.seq"))?;
        sqlx::query(
            "INSERT INTO audit_checkpoint (id, seq, hash) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash WHERE audit_checkpoint.seq < excluded.seq",
        )
        .bind(seq)
        .bind(hash.as_slice())
        .execute(&self.write)
        .await?;
        Ok(())
    }
}

type Tx<'t> = sqlx::Transaction<'t, Db>;

async fn insert_user_row(tx: &mut Tx<'_>, user: &NewUser) -> Result<(), StoreError> {
    let (email, email_index) = user.email.as_ref().map(|(sealed, index)| (sealed.as_bytes(), index.0.as_slice())).unzip();
    sqlx::query(
        "INSERT INTO users (id, handle, handle_key, email_sealed, email_index, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(user.id.to_string())
    .bind(user.handle.as_str())
    .bind(user.handle.key().as_str())
    .bind(email)
    .bind(email_index)
    .bind(user.password_hash.as_ref().map(|hash| hash.0.as_str()))
    .bind(user.created_at.as_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends every session of the user but `keep`, and withdraws the user's pending login challenges:
/// a password login half-way through its second step must not outlive the revocation either.
async fn delete_sessions_except(tx: &mut Tx<'_>, user: UserId, keep: SessionId) -> Result<Vec<SessionId>, StoreError> {
    sqlx::query("DELETE FROM auth_challenges WHERE user_id = $1 AND kind = 'mfa_login'").bind(user.to_string()).execute(&mut **tx).await?;
    let ids: Vec<String> = sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id")
        .bind(user.to_string())
        .bind(keep.to_string())
        .fetch_all(&mut **tx)
        .await?;
    ids.iter().map(|id| parse_id(id, "sessions.id", SessionId::from_uuid)).collect()
}

async fn find_by_client_msg_id<'e, E>(
    executor: E,
    conversation: ConversationId,
    author: UserId,
    client_msg_id: &ClientMsgId,
) -> Result<Option<MessageRecord>, StoreError>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let row = sqlx::query(concat!(select_message!(), "WHERE conversation_id = $1 AND author_id = $2 AND client_msg_id = $3"))
        .bind(conversation.to_string())
        .bind(author.to_string())
        .bind(client_msg_id.as_str())
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(message_from_row).transpose()
}

fn user_from_row(row: &Row) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: id_column(row, "id", UserId::from_uuid)?,
        handle: Handle::from_trusted(row.try_get("handle")?),
        email: row.try_get::<Option<Vec<u8>>, _>("email_sealed")?.map(Sealed::from_bytes),
        password_hash: row.try_get::<Option<String>, _>("password_hash")?.map(PasswordHash),
        created_at: time_column(row, "created_at")?,
        failed_logins: count_column(row, "failed_logins")?,
        locked_until: row.try_get::<Option<i64>, _>("locked_until")?.map(Timestamp::from_millis),
    })
}

fn session_from_row(row: &Row) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: id_column(row, "id", SessionId::from_uuid)?,
        user_id: id_column(row, "user_id", UserId::from_uuid)?,
        token_hash: TokenHash(hash_column(row, "token_hash")?),
        created_at: time_column(row, "created_at")?,
        last_seen_at: time_column(row, "last_seen_at")?,
        expires_at: time_column(row, "expires_at")?,
        kind: SessionKind::parse(row.try_get("kind")?).ok_or(StoreError::Corrupt("sessions.kind"))?,
        device: row.try_get::<Option<Vec<u8>>, _>("device_sealed")?.map(Sealed::from_bytes),
    })
}

fn conversation_from_row(row: &Row) -> Result<ConversationRecord, StoreError> {
    let listing: String = row.try_get("listing_id")?;
    Ok(ConversationRecord {
        conversation: Conversation {
            id: id_column(row, "id", ConversationId::from_uuid)?,
            buyer: id_column(row, "buyer_id", UserId::from_uuid)?,
            seller: id_column(row, "seller_id", UserId::from_uuid)?,
            listing: (!listing.is_empty()).then(|| ListingId::from_trusted(listing)),
            created_at: time_column(row, "created_at")?,
            last_activity_at: time_column(row, "last_activity_at")?,
            last_seq: Seq::new(row.try_get("last_seq")?).map_err(|_| StoreError::Corrupt("conversations.last_seq"))?,
        },
        buyer_handle: Handle::from_trusted(row.try_get("buyer_handle")?),
        seller_handle: Handle::from_trusted(row.try_get("seller_handle")?),
    })
}

fn message_from_row(row: &Row) -> Result<MessageRecord, StoreError> {
    Ok(MessageRecord {
        id: id_column(row, "id", MessageId::from_uuid)?,
        conversation_id: id_column(row, "conversation_id", ConversationId::from_uuid)?,
        seq: Seq::new(row.try_get("seq")?).map_err(|_| StoreError::Corrupt("messages.seq"))?,
        author: id_column(row, "author_id", UserId::from_uuid)?,
        client_msg_id: ClientMsgId::from_trusted(row.try_get("client_msg_id")?),
        body: Sealed::from_bytes(row.try_get("body_sealed")?),
        created_at: time_column(row, "created_at")?,
        edited_at: row.try_get::<Option<i64>, _>("edited_at")?.map(Timestamp::from_millis),
        key_generation: u32::try_from(row.try_get::<i64, _>("key_generation")?).map_err(|_| StoreError::Corrupt("key_generation"))?,
    })
}

fn wrapped_key_from_row(row: &Row) -> Result<WrappedKey, StoreError> {
    Ok(WrappedKey { kek_id: row.try_get("kek_id")?, bytes: row.try_get("wrapped")? })
}

fn id_column<T>(row: &Row, column: &'static str, wrap: fn(Uuid) -> T) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    parse_id(&text, column, wrap)
}

/// A stored id read back as its type; anything but a UUID is corruption of `column`.
fn parse_id<T>(text: &str, column: &'static str, wrap: fn(Uuid) -> T) -> Result<T, StoreError> {
    Uuid::parse_str(text).map(wrap).map_err(|_| StoreError::Corrupt(column))
}

fn time_column(row: &Row, column: &'static str) -> Result<Timestamp, StoreError> {
    Ok(Timestamp::from_millis(row.try_get(column)?))
}

fn hash_column(row: &Row, column: &'static str) -> Result<[u8; 32], StoreError> {
    let bytes: Vec<u8> = row.try_get(column)?;
    bytes.try_into().map_err(|_| StoreError::Corrupt(column))
}

fn count_column(row: &Row, column: &'static str) -> Result<u32, StoreError> {
    u32::try_from(row.try_get::<i64, _>(column)?).map_err(|_| StoreError::Corrupt(column))
}

fn event_kind_column(row: &Row, column: &'static str) -> Result<SecurityEventKind, StoreError> {
    SecurityEventKind::parse(row.try_get(column)?).ok_or(StoreError::Corrupt(column))
}
