//! Second factors, passkeys, short-lived challenges and single sign-on identities (part of the
//! shared SQL, see `sql_shared.rs`). Every "use once" rule is a single conditional statement
//! (`UPDATE ... WHERE last_step < $n`, `DELETE ... RETURNING`), so two racing requests, on one
//! node or several, cannot both succeed.

use async_trait::async_trait;
use parley_domain::{BlindIndex, Sealed, SessionId, Timestamp, TokenHash, UserId};
use sqlx::Row as _;
use uuid::Uuid;

use super::notices::insert_notice;
use super::{DataStore, Row, Tx, count_column, hash_column, id_column, insert_user_row, parse_id, time_column};
use crate::error::StoreError;
use crate::records::{ChallengeKind, ChallengeRecord, NewUser, PasskeyRecord, SecurityNotice, TotpRecord};
use crate::traits::CredentialStore;

#[async_trait]
impl CredentialStore for DataStore {
    async fn put_totp(&self, user: UserId, secret: &Sealed<Vec<u8>>, at: Timestamp) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO totp_credentials (user_id, secret_sealed, confirmed_at, last_step, created_at) VALUES ($1, $2, NULL, -1, $3) \
             ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, created_at = excluded.created_at, \
             last_step = -1 WHERE totp_credentials.confirmed_at IS NULL",
        )
        .bind(user.to_string())
        .bind(secret.as_bytes())
        .bind(at.as_millis())
        .execute(&self.write)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn totp_of(&self, user: UserId) -> Result<Option<TotpRecord>, StoreError> {
        let row = sqlx::query("SELECT secret_sealed, confirmed_at, last_step FROM totp_credentials WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.map(|row| {
            Ok(TotpRecord {
                secret: Sealed::from_bytes(row.try_get("secret_sealed")?),
                confirmed_at: row.try_get::<Option<i64>, _>("confirmed_at")?.map(Timestamp::from_millis),
                last_step: row.try_get("last_step")?,
            })
        })
        .transpose()
    }

    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        let result =
            sqlx::query("UPDATE totp_credentials SET last_step = $2 WHERE user_id = $1 AND confirmed_at IS NOT NULL AND last_step < $2")
                .bind(user.to_string())
                .bind(step)
                .execute(&self.write)
                .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn confirm_totp(
        &self,
        user: UserId,
        secret: &Sealed<Vec<u8>>,
        step: i64,
        at: Timestamp,
        recovery_codes: &[TokenHash],
        notice: &SecurityNotice,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        let confirmed = sqlx::query(
            "UPDATE totp_credentials SET confirmed_at = $3, last_step = $2 \
             WHERE user_id = $1 AND confirmed_at IS NULL AND last_step < $2 AND secret_sealed = $4",
        )
        .bind(user.to_string())
        .bind(step)
        .bind(at.as_millis())
        .bind(secret.as_bytes())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !confirmed {
            tx.rollback().await?;
            return Ok(false);
        }
        install_recovery_codes(&mut tx, user, recovery_codes).await?;
        insert_notice(&mut tx, notice).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        recovery_codes: &[TokenHash],
        notice: &SecurityNotice,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        // The TOTP row is locked (by a no-op write) so that a concurrent disable either runs
        // first, and nothing is installed, or after, and removes these codes too.
        let enabled = sqlx::query("UPDATE totp_credentials SET last_step = last_step WHERE user_id = $1 AND confirmed_at IS NOT NULL")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !enabled {
            tx.rollback().await?;
            return Ok(false);
        }
        install_recovery_codes(&mut tx, user, recovery_codes).await?;
        insert_notice(&mut tx, notice).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn remove_totp(&self, user: UserId, notice: &SecurityNotice) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM totp_credentials WHERE user_id = $1").bind(user.to_string()).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user.to_string()).execute(&mut *tx).await?;
        insert_notice(&mut tx, notice).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reset_factors(&self, user: UserId, notice: &SecurityNotice) -> Result<Vec<SessionId>, StoreError> {
        let mut tx = self.write.begin().await?;
        for statement in [
            "DELETE FROM totp_credentials WHERE user_id = $1",
            "DELETE FROM recovery_codes WHERE user_id = $1",
            "DELETE FROM passkeys WHERE user_id = $1",
            "DELETE FROM auth_challenges WHERE user_id = $1",
            "DELETE FROM known_devices WHERE user_id = $1",
        ] {
            sqlx::query(statement).bind(user.to_string()).execute(&mut *tx).await?;
        }
        let ended: Vec<String> =
            sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 RETURNING id").bind(user.to_string()).fetch_all(&mut *tx).await?;
        insert_notice(&mut tx, notice).await?;
        tx.commit().await?;
        ended.iter().map(|id| parse_id(id, "sessions.id", SessionId::from_uuid)).collect()
    }

    async fn use_recovery_code(&self, user: UserId, hash: &TokenHash) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2")
            .bind(user.to_string())
            .bind(hash.0.as_slice())
            .execute(&self.write)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn recovery_codes_left(&self, user: UserId) -> Result<u32, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_one(&self.read)
            .await?;
        u32::try_from(count).map_err(|_| StoreError::Corrupt("recovery_codes"))
    }

    async fn insert_challenge(&self, challenge: &ChallengeRecord) -> Result<(), StoreError> {
        // One statement, so that two racing logins of a user leave one live challenge.
        sqlx::query(
            "INSERT INTO auth_challenges (challenge_hash, kind, user_id, state, failures, expires_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (user_id, kind) WHERE user_id IS NOT NULL DO UPDATE SET challenge_hash = excluded.challenge_hash, \
             state = excluded.state, failures = excluded.failures, expires_at = excluded.expires_at",
        )
        .bind(challenge.hash.0.as_slice())
        .bind(challenge.kind.as_str())
        .bind(challenge.user_id.map(|id| id.to_string()))
        .bind(challenge.state.as_deref())
        .bind(i64::from(challenge.failures))
        .bind(challenge.expires_at.as_millis())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn reserve_challenge_attempt(
        &self,
        hash: &TokenHash,
        kind: ChallengeKind,
        max_attempts: u32,
        now: Timestamp,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        let row = sqlx::query(
            "UPDATE auth_challenges SET failures = failures + 1 \
             WHERE challenge_hash = $1 AND kind = $2 AND failures < $3 AND expires_at > $4 \
             RETURNING challenge_hash, user_id, state, failures, expires_at",
        )
        .bind(hash.0.as_slice())
        .bind(kind.as_str())
        .bind(i64::from(max_attempts))
        .bind(now.as_millis())
        .fetch_optional(&self.write)
        .await?;
        row.map(|row| challenge_from_row(&row, kind)).transpose()
    }

    async fn take_challenge(&self, hash: &TokenHash, kind: ChallengeKind) -> Result<Option<ChallengeRecord>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM auth_challenges WHERE challenge_hash = $1 AND kind = $2 \
             RETURNING challenge_hash, user_id, state, failures, expires_at",
        )
        .bind(hash.0.as_slice())
        .bind(kind.as_str())
        .fetch_optional(&self.write)
        .await?;
        row.map(|row| challenge_from_row(&row, kind)).transpose()
    }

    async fn insert_passkey(&self, passkey: &PasskeyRecord, notice: &SecurityNotice) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO passkeys (id, user_id, credential_id, passkey_sealed, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(passkey.id.to_string())
        .bind(passkey.user_id.to_string())
        .bind(passkey.credential_id.as_slice())
        .bind(passkey.sealed.as_bytes())
        .bind(passkey.created_at.as_millis())
        .bind(passkey.last_used_at.map(Timestamp::as_millis))
        .execute(&mut *tx)
        .await?;
        insert_notice(&mut tx, notice).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn passkeys_of(&self, user: UserId) -> Result<Vec<PasskeyRecord>, StoreError> {
        let rows = sqlx::query(concat!(select_passkey!(), "WHERE user_id = $1 ORDER BY created_at, id"))
            .bind(user.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(passkey_from_row).collect()
    }

    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<PasskeyRecord>, StoreError> {
        let row =
            sqlx::query(concat!(select_passkey!(), "WHERE credential_id = $1")).bind(credential_id).fetch_optional(&self.read).await?;
        row.as_ref().map(passkey_from_row).transpose()
    }

    async fn update_passkey(&self, id: Uuid, sealed: &Sealed<Vec<u8>>, used_at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE passkeys SET passkey_sealed = $2, last_used_at = $3 WHERE id = $1")
            .bind(id.to_string())
            .bind(sealed.as_bytes())
            .bind(used_at.as_millis())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn remove_passkey(&self, user: UserId, id: Uuid, notice: &SecurityNotice) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        let removed = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if removed {
            insert_notice(&mut tx, notice).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn external_identity(&self, provider: &str, subject: &BlindIndex) -> Result<Option<UserId>, StoreError> {
        let id: Option<String> = sqlx::query_scalar("SELECT user_id FROM external_identities WHERE provider = $1 AND subject_index = $2")
            .bind(provider)
            .bind(subject.0.as_slice())
            .fetch_optional(&self.read)
            .await?;
        id.map(|id| parse_id(&id, "external_identities.user_id", UserId::from_uuid)).transpose()
    }

    async fn insert_external_user(
        &self,
        user: &NewUser,
        provider: &str,
        subject: &BlindIndex,
        notice: &SecurityNotice,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        insert_user_row(&mut tx, user).await?;
        sqlx::query("INSERT INTO external_identities (provider, subject_index, user_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(provider)
            .bind(subject.0.as_slice())
            .bind(user.id.to_string())
            .bind(user.created_at.as_millis())
            .execute(&mut *tx)
            .await?;
        insert_notice(&mut tx, notice).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn use_token_id(&self, provider: &str, token_id: &TokenHash, expires_at: Timestamp) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO sso_token_ids (provider, jti_hash, expires_at) VALUES ($1, $2, $3) ON CONFLICT (provider, jti_hash) DO NOTHING",
        )
        .bind(provider)
        .bind(token_id.0.as_slice())
        .bind(expires_at.as_millis())
        .execute(&self.write)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}

macro_rules! select_passkey {
    () => {
        "SELECT id, user_id, credential_id, passkey_sealed, created_at, last_used_at FROM passkeys "
    };
}
use select_passkey;

fn challenge_from_row(row: &Row, kind: ChallengeKind) -> Result<ChallengeRecord, StoreError> {
    let user_id: Option<String> = row.try_get("user_id")?;
    Ok(ChallengeRecord {
        hash: TokenHash(hash_column(row, "challenge_hash")?),
        kind,
        user_id: user_id.map(|id| parse_id(&id, "auth_challenges.user_id", UserId::from_uuid)).transpose()?,
        state: row.try_get("state")?,
        failures: count_column(row, "failures")?,
        expires_at: time_column(row, "expires_at")?,
    })
}

fn passkey_from_row(row: &Row) -> Result<PasskeyRecord, StoreError> {
    Ok(PasskeyRecord {
        id: id_column(row, "id", std::convert::identity)?,
        user_id: id_column(row, "user_id", UserId::from_uuid)?,
        credential_id: row.try_get("credential_id")?,
        sealed: Sealed::from_bytes(row.try_get("passkey_sealed")?),
        created_at: time_column(row, "created_at")?,
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(Timestamp::from_millis),
    })
}

/// Replaces the user's recovery codes with these.
async fn install_recovery_codes(tx: &mut Tx<'_>, user: UserId, codes: &[TokenHash]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user.to_string()).execute(&mut **tx).await?;
    for code in codes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user.to_string())
            .bind(code.0.as_slice())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
