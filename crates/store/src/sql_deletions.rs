//! Deleting messages and conversations (part of the shared SQL, see `sql_shared.rs`).

use async_trait::async_trait;
use parley_domain::{ConversationId, MessageBody, MessageId, Sealed, Timestamp, UserId};
use uuid::Uuid;

use super::{DataStore, Tx, message_from_row, parse_id};
use crate::error::{Conflict, StoreError};
use crate::records::{KeyRotation, MessageRecord};
use crate::traits::DeletionStore;

/// Takes the lock of the message's conversation, as sends and key rotations do.
async fn lock_conversation_of(tx: &mut Tx<'_>, message: MessageId) -> Result<(), StoreError> {
    sqlx::query("UPDATE conversations SET last_seq = last_seq WHERE id = (SELECT conversation_id FROM messages WHERE id = $1)")
        .bind(message.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The retention test of a conversation row: idle past the shorter of its own retention and
/// the default (`$1` now, `$2` default days, `$3` a day in milliseconds).
macro_rules! expired_at {
    () => {
        "last_activity_at + (CASE WHEN retention_days IS NOT NULL AND retention_days < $2 THEN retention_days ELSE $2 END) * $3 <= $1"
    };
}

/// Empties a message's body and drops its earlier texts: deleted for everyone. Deleting twice
/// keeps the first time.
async fn empty_message(tx: &mut Tx<'_>, id: MessageId, at: Timestamp) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM message_edits WHERE message_id = $1").bind(id.to_string()).execute(&mut **tx).await?;
    sqlx::query("UPDATE messages SET body_sealed = $2, deleted_at = COALESCE(deleted_at, $3) WHERE id = $1")
        .bind(id.to_string())
        .bind(Vec::<u8>::new())
        .bind(at.as_millis())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The generation of the author's message key: from a pool, or in the caller's transaction
/// (which then holds the conversation's lock).
pub(super) async fn current_generation<'e>(
    executor: impl sqlx::Executor<'e, Database = super::Db>,
    conversation: &str,
    author: &str,
) -> Result<u32, StoreError> {
    let generation: Option<i64> =
        sqlx::query_scalar("SELECT generation FROM message_key_generations WHERE conversation_id = $1 AND author_id = $2")
            .bind(conversation)
            .bind(author)
            .fetch_optional(executor)
            .await?;
    u32::try_from(generation.unwrap_or(0)).map_err(|_| StoreError::Corrupt("message_key_generations.generation"))
}

/// Refuses when the author is erased (the caller's transaction, dropped, rolls back): read under the conversation's lock,
/// which erasure takes before it marks the account, so a write either precedes the erasure or
/// sees it.
pub(super) async fn require_live_author(tx: &mut Tx<'_>, author: &str) -> Result<(), StoreError> {
    let live: Option<String> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = $1 AND erased_at IS NULL").bind(author).fetch_optional(&mut **tx).await?;
    if live.is_none() {
        return Err(StoreError::NotFound("author"));
    }
    Ok(())
}

#[async_trait]
impl DeletionStore for DataStore {
    async fn message_key_generation(&self, conversation: ConversationId, author: UserId) -> Result<u32, StoreError> {
        current_generation(&self.read, &conversation.to_string(), &author.to_string()).await
    }

    async fn author_texts(
        &self,
        conversation: ConversationId,
        author: UserId,
    ) -> Result<(Vec<(MessageId, Sealed<MessageBody>)>, Vec<(Uuid, MessageId, Sealed<MessageBody>)>), StoreError> {
        let bodies: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT id, body_sealed FROM messages WHERE conversation_id = $1 AND author_id = $2 AND deleted_at IS NULL ORDER BY seq",
        )
        .bind(conversation.to_string())
        .bind(author.to_string())
        .fetch_all(&self.read)
        .await?;
        let edits: Vec<(String, String, Vec<u8>)> = sqlx::query_as(
            "SELECT e.id, e.message_id, e.body_sealed FROM message_edits e JOIN messages m ON m.id = e.message_id \
             WHERE m.conversation_id = $1 AND m.author_id = $2 ORDER BY e.id",
        )
        .bind(conversation.to_string())
        .bind(author.to_string())
        .fetch_all(&self.read)
        .await?;
        let message = |id: &str| parse_id(id, "messages.id", MessageId::from_uuid);
        Ok((
            bodies.into_iter().map(|(id, body)| Ok((message(&id)?, Sealed::from_bytes(body)))).collect::<Result<_, StoreError>>()?,
            edits
                .into_iter()
                .map(|(id, of, body)| Ok((parse_id(&id, "message_edits.id", |id| id)?, message(&of)?, Sealed::from_bytes(body))))
                .collect::<Result<_, StoreError>>()?,
        ))
    }

    async fn rotate_message_key(&self, rotation: &KeyRotation) -> Result<bool, StoreError> {
        let (conversation, author) = (rotation.conversation.to_string(), rotation.author.to_string());
        let mut tx = self.write.begin().await?;
        // As a send: nothing more goes into a conversation being destroyed, or from an erased
        // author (their keys are being destroyed, the next generation's included).
        let open = sqlx::query("UPDATE conversations SET last_seq = last_seq WHERE id = $1 AND closing_at IS NULL")
            .bind(&conversation)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if open == 0 {
            tx.rollback().await?;
            return Err(StoreError::NotFound("conversation"));
        }
        require_live_author(&mut tx, &author).await?;
        if current_generation(&mut *tx, &conversation, &author).await? != rotation.from {
            tx.rollback().await?;
            return Ok(false);
        }
        // The texts must be exactly those the caller re-sealed: a send or an edit since then
        // would otherwise stay under the key about to be destroyed.
        let live: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM messages WHERE conversation_id = $1 AND author_id = $2 AND deleted_at IS NULL AND id <> $3 ORDER BY id",
        )
        .bind(&conversation)
        .bind(&author)
        .bind(rotation.deleted.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let edits: Vec<String> = sqlx::query_scalar(
            "SELECT e.id FROM message_edits e JOIN messages m ON m.id = e.message_id \
             WHERE m.conversation_id = $1 AND m.author_id = $2 AND m.id <> $3 ORDER BY e.id",
        )
        .bind(&conversation)
        .bind(&author)
        .bind(rotation.deleted.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut resealed: Vec<String> = rotation.bodies.iter().map(|(id, _)| id.to_string()).collect();
        let mut resealed_edits: Vec<String> = rotation.edits.iter().map(|(id, _)| id.to_string()).collect();
        resealed.sort();
        resealed_edits.sort();
        if live != resealed || edits != resealed_edits {
            tx.rollback().await?;
            return Ok(false);
        }
        empty_message(&mut tx, rotation.deleted, rotation.at).await?;
        for (id, body) in &rotation.bodies {
            sqlx::query("UPDATE messages SET body_sealed = $2 WHERE id = $1 AND deleted_at IS NULL")
                .bind(id.to_string())
                .bind(body.as_bytes())
                .execute(&mut *tx)
                .await?;
        }
        for (id, body) in &rotation.edits {
            sqlx::query("UPDATE message_edits SET body_sealed = $2 WHERE id = $1")
                .bind(id.to_string())
                .bind(body.as_bytes())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO message_key_generations (conversation_id, author_id, generation) VALUES ($1, $2, $3) \
             ON CONFLICT (conversation_id, author_id) DO UPDATE SET generation = excluded.generation",
        )
        .bind(&conversation)
        .bind(&author)
        .bind(i64::from(rotation.from) + 1)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn message_in(&self, conversation: ConversationId, id: MessageId) -> Result<Option<MessageRecord>, StoreError> {
        let row = sqlx::query(concat!(select_message!(), "WHERE conversation_id = $1 AND id = $2"))
            .bind(conversation.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    async fn delete_message_for_everyone(&self, id: MessageId, at: Timestamp) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        lock_conversation_of(&mut tx, id).await?;
        empty_message(&mut tx, id, at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn edit_message(
        &self,
        id: MessageId,
        body: &Sealed<MessageBody>,
        previous: (Uuid, Sealed<MessageBody>),
        generation: u32,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        // The conversation's lock, as a key rotation takes it: the generation read next holds
        // until this commits.
        lock_conversation_of(&mut tx, id).await?;
        let owner: Option<(String, String)> = sqlx::query_as("SELECT conversation_id, author_id FROM messages WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let Some((conversation, author)) = owner else {
            tx.rollback().await?;
            return Ok(false);
        };
        if current_generation(&mut *tx, &conversation, &author).await? != generation {
            tx.rollback().await?;
            return Err(StoreError::Conflict(Conflict::KeyRotated));
        }
        let updated = sqlx::query("UPDATE messages SET body_sealed = $2, edited_at = $3 WHERE id = $1 AND deleted_at IS NULL")
            .bind(id.to_string())
            .bind(body.as_bytes())
            .bind(at.as_millis())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !updated {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("INSERT INTO message_edits (id, message_id, body_sealed, replaced_at) VALUES ($1, $2, $3, $4)")
            .bind(previous.0.to_string())
            .bind(id.to_string())
            .bind(previous.1.as_bytes())
            .bind(at.as_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn hide_message(&self, user: UserId, id: MessageId) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO hidden_messages (user_id, message_id) VALUES ($1, $2) ON CONFLICT (user_id, message_id) DO NOTHING")
            .bind(user.to_string())
            .bind(id.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn hidden_messages(&self, user: UserId, conversation: ConversationId) -> Result<Vec<MessageId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT h.message_id FROM hidden_messages h JOIN messages m ON m.id = h.message_id WHERE h.user_id = $1 AND m.conversation_id = $2",
        )
        .bind(user.to_string())
        .bind(conversation.to_string())
        .fetch_all(&self.read)
        .await?;
        ids.iter().map(|id| parse_id(id, "hidden_messages.message_id", MessageId::from_uuid)).collect()
    }

    async fn delete_conversation_for(&self, user: UserId, conversation: ConversationId, at: Timestamp) -> Result<u32, StoreError> {
        let mut tx = self.write.begin().await?;
        // Lock the conversation (its row on PostgreSQL, the database on SQLite), so two parties
        // deleting at once see each other's deletion.
        sqlx::query("UPDATE conversations SET last_seq = last_seq WHERE id = $1").bind(conversation.to_string()).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO conversation_deletions (user_id, conversation_id, deleted_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, conversation_id) DO UPDATE SET deleted_at = excluded.deleted_at",
        )
        .bind(user.to_string())
        .bind(conversation.to_string())
        .bind(at.as_millis())
        .execute(&mut *tx)
        .await?;
        // Only deletions that cover everything said so far count.
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM conversation_deletions d JOIN conversations c ON c.id = d.conversation_id \
             WHERE d.conversation_id = $1 AND d.deleted_at >= c.last_activity_at",
        )
        .bind(conversation.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if count >= 2 {
            sqlx::query("UPDATE conversations SET closing_at = $2 WHERE id = $1 AND closing_at IS NULL")
                .bind(conversation.to_string())
                .bind(at.as_millis())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        u32::try_from(count).map_err(|_| StoreError::Corrupt("conversation_deletions"))
    }

    async fn revive_conversation_for(&self, user: UserId, conversation: ConversationId) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO hidden_messages (user_id, message_id) \
             SELECT d.user_id, m.id FROM messages m JOIN conversation_deletions d ON d.conversation_id = m.conversation_id \
             WHERE d.user_id = $1 AND m.conversation_id = $2 AND m.created_at <= d.deleted_at \
             ON CONFLICT (user_id, message_id) DO NOTHING",
        )
        .bind(user.to_string())
        .bind(conversation.to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM conversation_deletions WHERE user_id = $1 AND conversation_id = $2")
            .bind(user.to_string())
            .bind(conversation.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn conversation_deletions(&self, user: UserId) -> Result<Vec<(ConversationId, Timestamp)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT conversation_id, deleted_at FROM conversation_deletions WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.into_iter()
            .map(|(id, at)| {
                let id = parse_id(&id, "conversation_deletions", ConversationId::from_uuid)?;
                Ok((id, Timestamp::from_millis(at)))
            })
            .collect()
    }

    async fn destroy_conversation(&self, conversation: ConversationId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM conversations WHERE id = $1").bind(conversation.to_string()).execute(&self.write).await?;
        Ok(())
    }

    async fn shorten_conversation_retention(&self, conversation: ConversationId, days: u32) -> Result<Option<u32>, StoreError> {
        let effective: Option<Option<i64>> = sqlx::query_scalar(
            "UPDATE conversations SET retention_days = CASE WHEN retention_days IS NULL OR retention_days > $2 THEN $2 ELSE retention_days END \
             WHERE id = $1 RETURNING retention_days",
        )
        .bind(conversation.to_string())
        .bind(i64::from(days))
        .fetch_optional(&self.write)
        .await?;
        effective.flatten().map(|d| u32::try_from(d).map_err(|_| StoreError::Corrupt("conversations.retention_days"))).transpose()
    }

    async fn conversation_retention(&self, conversation: ConversationId) -> Result<Option<u32>, StoreError> {
        let days: Option<Option<i64>> = sqlx::query_scalar("SELECT retention_days FROM conversations WHERE id = $1")
            .bind(conversation.to_string())
            .fetch_optional(&self.read)
            .await?;
        days.flatten().map(|d| u32::try_from(d).map_err(|_| StoreError::Corrupt("conversations.retention_days"))).transpose()
    }

    async fn close_expired_conversations(
        &self,
        now: Timestamp,
        default_days: u32,
        limit: u32,
    ) -> Result<Vec<(ConversationId, [UserId; 2])>, StoreError> {
        const DAY_MS: i64 = 24 * 60 * 60 * 1000;
        let expired: Vec<String> = sqlx::query_scalar(concat!(
            "SELECT id FROM conversations WHERE closing_at IS NULL AND ",
            expired_at!(),
            " ORDER BY id LIMIT $4"
        ))
        .bind(now.as_millis())
        .bind(i64::from(default_days))
        .bind(DAY_MS)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        // One row per statement (so no run holds many row locks at once), with the expiry test
        // again on the row itself: PostgreSQL re-checks it against a send that committed while
        // the statement waited for the row.
        for id in &expired {
            sqlx::query(concat!("UPDATE conversations SET closing_at = $1 WHERE id = $4 AND closing_at IS NULL AND ", expired_at!()))
                .bind(now.as_millis())
                .bind(i64::from(default_days))
                .bind(DAY_MS)
                .bind(id)
                .execute(&self.write)
                .await?;
        }
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT id, buyer_id, seller_id FROM conversations WHERE closing_at IS NOT NULL ORDER BY closing_at LIMIT $1")
                .bind(i64::from(limit))
                .fetch_all(&self.write)
                .await?;
        let user = |text: &str| parse_id(text, "conversations.id", UserId::from_uuid);
        rows.iter().map(|(c, b, s)| Ok((parse_id(c, "conversations.id", ConversationId::from_uuid)?, [user(b)?, user(s)?]))).collect()
    }
}
