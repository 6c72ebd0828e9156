//! Store errors, in the store's own terms. Database error text never leaves this crate except
//! as the boxed source of [`StoreError::Database`], which the server logs and never returns.

use std::error::Error as StdError;

/// A uniqueness rule that a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// Another account has this handle (case-insensitively).
    HandleTaken,
    /// Another account has this email address.
    EmailTaken,
    /// This passkey credential is registered already.
    CredentialTaken,
    /// The author's message key moved to a new generation meanwhile: seal again and retry.
    KeyRotated,
}

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write broke a uniqueness rule.
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    /// The database could not be reached or did not answer in time; retrying may work.
    #[error("database unavailable")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// The database failed the request.
    #[error("database error")]
    Database(#[source] Box<dyn StdError + Send + Sync>),
    /// The row the operation needs is gone (deleted concurrently).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A stored value could not be read back (a row that no write of ours could produce).
    #[error("corrupt stored value in {0}")]
    Corrupt(&'static str),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => StoreError::Unavailable(Box::new(error)),
            sqlx::Error::Database(ref db) if db.is_unique_violation() => match conflict_of(db.as_ref()) {
                Some(conflict) => StoreError::Conflict(conflict),
                None => StoreError::Database(Box::new(error)),
            },
            other => StoreError::Database(Box::new(other)),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Database(Box::new(error))
    }
}

/// The one place where a unique violation becomes a domain conflict. PostgreSQL names the
/// constraint; SQLite names the columns in its message.
fn conflict_of(error: &dyn sqlx::error::DatabaseError) -> Option<Conflict> {
    let target = error.constraint().map_or_else(|| error.message().to_owned(), str::to_owned);
    if target.contains("handle_key") {
        Some(Conflict::HandleTaken)
    } else if target.contains("email_index") {
        Some(Conflict::EmailTaken)
    } else if target.contains("credential_id") {
        Some(Conflict::CredentialTaken)
    } else {
        None
    }
}

/// Whether a database error is a unique violation on the given constraint or column.
pub(crate) fn is_unique_violation_on(error: &sqlx::Error, name: &str) -> bool {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            db.constraint().is_some_and(|c| c.contains(name)) || db.message().contains(name)
        }
        _ => false,
    }
}
