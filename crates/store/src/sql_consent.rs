//! The privacy policy's versions, acceptances and the consent ledger (part of the shared SQL,
//! see `sql_shared.rs`).

use async_trait::async_trait;
use parley_domain::{ConsentPurpose, ConsentSource, Timestamp, UserId};
use sqlx::Row as _;

use super::notices::insert_mail;
use super::{DataStore, Row, id_column, time_column};
use crate::error::StoreError;
use crate::records::{AcceptanceRecord, ConsentRecord, OutboxRecord, PolicyRecord};
use crate::traits::ConsentStore;

macro_rules! select_policy {
    () => {
        "SELECT version, published_at, body, sha256 FROM policy_versions "
    };
}

#[async_trait]
impl ConsentStore for DataStore {
    async fn current_policy(&self) -> Result<Option<PolicyRecord>, StoreError> {
        let row = sqlx::query(concat!(select_policy!(), "ORDER BY version DESC LIMIT 1")).fetch_optional(&self.read).await?;
        row.as_ref().map(policy_from_row).transpose()
    }

    async fn current_policy_version(&self) -> Result<Option<u32>, StoreError> {
        let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM policy_versions").fetch_one(&self.read).await?;
        newest.map(|version| u32::try_from(version).map_err(|_| StoreError::Corrupt("policy_versions.version"))).transpose()
    }

    async fn policy(&self, version: u32) -> Result<Option<PolicyRecord>, StoreError> {
        let row = sqlx::query(concat!(select_policy!(), "WHERE version = $1")).bind(i64::from(version)).fetch_optional(&self.read).await?;
        row.as_ref().map(policy_from_row).transpose()
    }

    async fn publish_policy(&self, body: &str, sha256: &str, at: Timestamp) -> Result<PolicyRecord, StoreError> {
        let mut tx = self.write.begin().await?;
        let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM policy_versions").fetch_one(&mut *tx).await?;
        let version = newest.unwrap_or(0) + 1;
        sqlx::query("INSERT INTO policy_versions (version, published_at, body, sha256) VALUES ($1, $2, $3, $4)")
            .bind(version)
            .bind(at.as_millis())
            .bind(body)
            .bind(sha256)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let version = u32::try_from(version).map_err(|_| StoreError::Corrupt("policy_versions.version"))?;
        Ok(PolicyRecord { version, published_at: at, body: body.to_owned(), sha256: sha256.to_owned() })
    }

    async fn accept_policy(&self, user: UserId, acceptance: &AcceptanceRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO policy_acceptances (user_id, version, accepted_at, source) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, version) DO NOTHING",
        )
        .bind(user.to_string())
        .bind(i64::from(acceptance.version))
        .bind(acceptance.accepted_at.as_millis())
        .bind(acceptance.source.as_str())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn acceptances_of(&self, user: UserId) -> Result<Vec<AcceptanceRecord>, StoreError> {
        let rows = sqlx::query("SELECT version, accepted_at, source FROM policy_acceptances WHERE user_id = $1 ORDER BY version")
            .bind(user.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(AcceptanceRecord {
                    version: version_column(row, "version")?,
                    accepted_at: time_column(row, "accepted_at")?,
                    source: source_column(row)?,
                })
            })
            .collect()
    }

    async fn record_consent(&self, consent: &ConsentRecord) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO consents (user_id, purpose, granted, at, policy_version, source) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(consent.user_id.to_string())
            .bind(consent.purpose.as_str())
            .bind(i64::from(consent.granted))
            .bind(consent.at.as_millis())
            .bind(i64::from(consent.policy_version))
            .bind(consent.source.as_str())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn consents_of(&self, user: UserId) -> Result<Vec<ConsentRecord>, StoreError> {
        let rows = sqlx::query("SELECT user_id, purpose, granted, at, policy_version, source FROM consents WHERE user_id = $1 ORDER BY id")
            .bind(user.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(consent_from_row).collect()
    }

    async fn consenting_users(
        &self,
        purpose: ConsentPurpose,
        version: u32,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<UserId>, StoreError> {
        // The latest ledger entry per user is the one in force (the database numbers entries).
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT c.user_id FROM consents c \
             JOIN policy_acceptances a ON a.user_id = c.user_id AND a.version = $2 \
             WHERE c.purpose = $1 AND c.user_id > $3 AND c.granted = 1 \
             AND c.id = (SELECT MAX(l.id) FROM consents l WHERE l.user_id = c.user_id AND l.purpose = $1) \
             ORDER BY c.user_id LIMIT $4",
        )
        .bind(purpose.as_str())
        .bind(i64::from(version))
        .bind(after.map(|id| id.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        ids.iter().map(|id| super::parse_id(id, "consents.user_id", UserId::from_uuid)).collect()
    }

    async fn mailable_users(&self, after: Option<UserId>, limit: u32) -> Result<Vec<UserId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM users WHERE email_sealed IS NOT NULL AND erased_at IS NULL AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after.map(|id| id.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        ids.iter().map(|id| super::parse_id(id, "users.id", UserId::from_uuid)).collect()
    }

    async fn enqueue_mail(&self, mail: &[OutboxRecord]) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        for one in mail {
            insert_mail(&mut tx, one).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Records the acceptance made at sign-up, in the sign-up's transaction.
pub(super) async fn insert_acceptance(tx: &mut super::Tx<'_>, user: UserId, version: u32, at: Timestamp) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO policy_acceptances (user_id, version, accepted_at, source) VALUES ($1, $2, $3, $4)")
        .bind(user.to_string())
        .bind(i64::from(version))
        .bind(at.as_millis())
        .bind(ConsentSource::SignUp.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn policy_from_row(row: &Row) -> Result<PolicyRecord, StoreError> {
    Ok(PolicyRecord {
        version: version_column(row, "version")?,
        published_at: time_column(row, "published_at")?,
        body: row.try_get("body")?,
        sha256: row.try_get("sha256")?,
    })
}

fn consent_from_row(row: &Row) -> Result<ConsentRecord, StoreError> {
    let purpose: String = row.try_get("purpose")?;
    Ok(ConsentRecord {
        user_id: id_column(row, "user_id", UserId::from_uuid)?,
        purpose: ConsentPurpose::parse(&purpose).ok_or(StoreError::Corrupt("consents.purpose"))?,
        granted: row.try_get::<i64, _>("granted")? != 0,
        at: time_column(row, "at")?,
        policy_version: version_column(row, "policy_version")?,
        source: source_column(row)?,
    })
}

fn version_column(row: &Row, column: &'static str) -> Result<u32, StoreError> {
    u32::try_from(row.try_get::<i64, _>(column)?).map_err(|_| StoreError::Corrupt(column))
}

fn source_column(row: &Row) -> Result<ConsentSource, StoreError> {
    let source: String = row.try_get("source")?;
    ConsentSource::parse(&source).ok_or(StoreError::Corrupt("source"))
}
