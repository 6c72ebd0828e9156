//! The audit log (part of the shared SQL, see `sql_shared.rs`).

use async_trait::async_trait;
use sqlx::Row as _;

use super::{DataStore, Row, hash_column, time_column};
use crate::error::StoreError;
use crate::records::{AuditEntry, AuditRecord};
use crate::traits::{AuditChain, AuditStore};

#[async_trait]
impl AuditStore for DataStore {
    async fn append_audit(&self, entry: &AuditEntry, chain: &AuditChain<'_>) -> Result<AuditRecord, StoreError> {
        let mut tx = self.write.begin().await?;
        // Lock the head (its row on PostgreSQL, the database on SQLite): one append at a time.
        sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1").execute(&mut *tx).await?;
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&mut *tx).await?;
        let previous = hash_column(&head, "hash")?;
        let seq = seq_column(&head)? + 1;
        let hash = chain(seq, &previous, entry);
        let stored_seq = i64::try_from(seq).map_err(|_| StoreError::Corrupt("audit_head.seq"))?;
        sqlx::query("INSERT INTO audit_log (seq, at, actor, action, subject, details, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(stored_seq)
            .bind(entry.at.as_millis())
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(&entry.subject)
            .bind(&entry.details)
            .bind(hash.as_slice())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(stored_seq)
            .bind(hash.as_slice())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(AuditRecord { seq, entry: entry.clone(), hash })
    }

    async fn audit_entries(&self, after: u64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query("SELECT seq, at, actor, action, subject, details, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditRecord {
                    seq: seq_column(row)?,
                    entry: AuditEntry {
                        at: time_column(row, "at")?,
                        actor: row.try_get("actor")?,
                        action: row.try_get("action")?,
                        subject: row.try_get("subject")?,
                        details: row.try_get("details")?,
                    },
                    hash: hash_column(row, "hash")?,
                })
            })
            .collect()
    }

    async fn audit_head(&self) -> Result<(u64, [u8; 32]), StoreError> {
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&self.read).await?;
        Ok((seq_column(&head)?, hash_column(&head, "hash")?))
    }
}

fn seq_column(row: &Row) -> Result<u64, StoreError> {
    u64::try_from(row.try_get::<i64, _>("seq")?).map_err(|_| StoreError::Corrupt("audit.seq"))
}
