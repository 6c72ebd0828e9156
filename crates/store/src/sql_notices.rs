//! Security events and the mail outbox (part of the shared SQL, see `sql_shared.rs`). Events
//! and mail are written by [`insert_notice`] inside the transaction of the change they report,
//! so a committed change always has its event and its mail, and a rolled-back one has neither.

use async_trait::async_trait;
use parley_domain::{Sealed, Timestamp, UserId};
use sqlx::Row as _;
use uuid::Uuid;

use super::{DataStore, Row, Tx, count_column, event_kind_column, id_column, time_column};
use crate::error::StoreError;
use crate::records::{OutboxRecord, SecurityEventRecord, SecurityNotice};
use crate::traits::NoticeStore;

/// Writes a notice (its event, and its mail if any) in the caller's transaction.
pub(super) async fn insert_notice(tx: &mut Tx<'_>, notice: &SecurityNotice) -> Result<(), StoreError> {
    let event = &notice.event;
    sqlx::query("INSERT INTO security_events (id, user_id, kind, at, context_sealed) VALUES ($1, $2, $3, $4, $5)")
        .bind(event.id.to_string())
        .bind(event.user_id.to_string())
        .bind(event.kind.as_str())
        .bind(event.at.as_millis())
        .bind(event.context.as_bytes())
        .execute(&mut **tx)
        .await?;
    if let Some(mail) = &notice.mail {
        insert_mail(tx, mail).await?;
    }
    Ok(())
}

/// Queues a mail in the caller's transaction.
pub(super) async fn insert_mail(tx: &mut Tx<'_>, mail: &OutboxRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO outbox (id, user_id, kind, payload_sealed, created_at, attempts, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(mail.id.to_string())
    .bind(mail.user_id.to_string())
    .bind(mail.kind.as_str())
    .bind(mail.payload.as_bytes())
    .bind(mail.created_at.as_millis())
    .bind(i64::from(mail.attempts))
    .bind(mail.next_attempt_at.as_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl NoticeStore for DataStore {
    async fn record_notice(&self, notice: &SecurityNotice) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        insert_notice(&mut tx, notice).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn security_events_of(&self, user: UserId, limit: u32) -> Result<Vec<SecurityEventRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, kind, at, context_sealed FROM security_events WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(user.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn purge_security_events(&self, before: Timestamp) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM security_events WHERE at < $1").bind(before.as_millis()).execute(&self.write).await?;
        Ok(result.rows_affected())
    }

    async fn claim_due_mail(&self, now: Timestamp, lease_until: Timestamp, limit: u32) -> Result<Vec<OutboxRecord>, StoreError> {
        // The outer condition is evaluated again on rows another worker updated meanwhile
        // (PostgreSQL re-checks it after waiting for their lock), so no mail is taken twice.
        let rows = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $2, attempts = attempts + 1 \
             WHERE next_attempt_at <= $1 AND id IN \
             (SELECT id FROM outbox WHERE next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $3) \
             RETURNING id, user_id, kind, payload_sealed, created_at, attempts, next_attempt_at",
        )
        .bind(now.as_millis())
        .bind(lease_until.as_millis())
        .bind(i64::from(limit))
        .fetch_all(&self.write)
        .await?;
        rows.iter().map(mail_from_row).collect()
    }

    async fn remove_mail(&self, id: Uuid, attempts: u32) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM outbox WHERE id = $1 AND attempts = $2")
            .bind(id.to_string())
            .bind(i64::from(attempts))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn retry_mail_at(&self, id: Uuid, attempts: u32, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET next_attempt_at = $3 WHERE id = $1 AND attempts = $2")
            .bind(id.to_string())
            .bind(i64::from(attempts))
            .bind(at.as_millis())
            .execute(&self.write)
            .await?;
        Ok(())
    }
}

fn event_from_row(row: &Row) -> Result<SecurityEventRecord, StoreError> {
    Ok(SecurityEventRecord {
        id: id_column(row, "id", std::convert::identity)?,
        user_id: id_column(row, "user_id", UserId::from_uuid)?,
        kind: event_kind_column(row, "kind")?,
        at: time_column(row, "at")?,
        context: Sealed::from_bytes(row.try_get("context_sealed")?),
    })
}

fn mail_from_row(row: &Row) -> Result<OutboxRecord, StoreError> {
    Ok(OutboxRecord {
        id: id_column(row, "id", std::convert::identity)?,
        user_id: id_column(row, "user_id", UserId::from_uuid)?,
        kind: row.try_get("kind")?,
        payload: Sealed::from_bytes(row.try_get("payload_sealed")?),
        created_at: time_column(row, "created_at")?,
        attempts: count_column(row, "attempts")?,
        next_attempt_at: time_column(row, "next_attempt_at")?,
    })
}
