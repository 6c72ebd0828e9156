//! Privacy preferences, blocks and data exports (part of the shared SQL, see `sql_shared.rs`).

use async_trait::async_trait;
use parley_domain::{ContactPolicy, Handle, ListingId, Preferences, Sealed, Timestamp, TokenHash, UserId};
use sqlx::Row as _;

use super::{DataStore, conversation_from_row, id_column, time_column};
use crate::error::StoreError;
use crate::records::{ConversationRecord, ExportRecord};
use crate::traits::PreferenceStore;

#[async_trait]
impl PreferenceStore for DataStore {
    async fn preferences_of(&self, user: UserId) -> Result<Option<Preferences>, StoreError> {
        let row = sqlx::query("SELECT contact_policy, do_not_sell, new_device_mail FROM preferences WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.map(|row| {
            let policy: String = row.try_get("contact_policy")?;
            Ok(Preferences {
                contact_policy: ContactPolicy::parse(&policy).ok_or(StoreError::Corrupt("preferences.contact_policy"))?,
                do_not_sell: row.try_get::<i64, _>("do_not_sell")? != 0,
                new_device_mail: row.try_get::<i64, _>("new_device_mail")? != 0,
            })
        })
        .transpose()
    }

    async fn put_preferences(&self, user: UserId, preferences: &Preferences, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO preferences (user_id, contact_policy, do_not_sell, new_device_mail, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id) DO UPDATE SET contact_policy = excluded.contact_policy, do_not_sell = excluded.do_not_sell, \
             new_device_mail = excluded.new_device_mail, updated_at = excluded.updated_at",
        )
        .bind(user.to_string())
        .bind(preferences.contact_policy.as_str())
        .bind(i64::from(preferences.do_not_sell))
        .bind(i64::from(preferences.new_device_mail))
        .bind(at.as_millis())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn block(&self, user: UserId, target: UserId, at: Timestamp) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
        )
        .bind(user.to_string())
        .bind(target.to_string())
        .bind(at.as_millis())
        .execute(&self.write)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn unblock(&self, user: UserId, target: UserId) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
            .bind(user.to_string())
            .bind(target.to_string())
            .execute(&self.write)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn blocks_of(&self, blocker: UserId) -> Result<Vec<(UserId, Handle, Timestamp)>, StoreError> {
        let rows = sqlx::query(
            "SELECT b.blocked_id, u.handle, b.created_at FROM blocks b JOIN users u ON u.id = b.blocked_id \
             WHERE b.blocker_id = $1 ORDER BY b.created_at DESC, b.blocked_id",
        )
        .bind(blocker.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    id_column(row, "blocked_id", UserId::from_uuid)?,
                    Handle::from_trusted(row.try_get("handle")?),
                    time_column(row, "created_at")?,
                ))
            })
            .collect()
    }

    async fn insert_export(&self, export: &ExportRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO exports (token_hash, id, user_id, archive_sealed, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(export.token_hash.0.as_slice())
        .bind(export.id.to_string())
        .bind(export.user_id.to_string())
        .bind(export.archive.as_bytes())
        .bind(export.created_at.as_millis())
        .bind(export.expires_at.as_millis())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn take_export(&self, user: UserId, token_hash: &TokenHash) -> Result<Option<ExportRecord>, StoreError> {
        let row =
            sqlx::query("DELETE FROM exports WHERE token_hash = $1 AND user_id = $2 RETURNING id, archive_sealed, created_at, expires_at")
                .bind(token_hash.0.as_slice())
                .bind(user.to_string())
                .fetch_optional(&self.write)
                .await?;
        row.map(|row| {
            Ok(ExportRecord {
                token_hash: token_hash.clone(),
                id: id_column(&row, "id", std::convert::identity)?,
                user_id: user,
                archive: Sealed::from_bytes(row.try_get("archive_sealed")?),
                created_at: time_column(&row, "created_at")?,
                expires_at: time_column(&row, "expires_at")?,
            })
        })
        .transpose()
    }

    async fn find_conversation(
        &self,
        buyer: UserId,
        seller: UserId,
        listing: Option<&ListingId>,
    ) -> Result<Option<ConversationRecord>, StoreError> {
        let row = sqlx::query(concat!(select_conversation!(), "WHERE c.buyer_id = $1 AND c.seller_id = $2 AND c.listing_id = $3"))
            .bind(buyer.to_string())
            .bind(seller.to_string())
            .bind(listing.map_or("", ListingId::as_str))
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(conversation_from_row).transpose()
    }
}
