//! Where the stores live and how to open them. The backend is chosen here, at runtime, from
//! the configured location; everything above sees only the traits.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::StoreError;
use crate::traits::{KeyStore, Store};
use crate::{postgres, sqlite};

/// A database location.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite file (created if missing).
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
    /// A PostgreSQL database.
    Postgres {
        /// The connection URL (may carry a password: never log it).
        url: String,
        /// A schema to create if needed and work in, instead of the default `public`.
        schema: Option<String>,
    },
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite { path } => write!(f, "Sqlite({})", path.display()),
            StoreLocation::Postgres { schema, .. } => write!(f, "Postgres(schema {schema:?})"),
        }
    }
}

/// How hard SQLite works to keep a commit across a power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: a commit is on disk before it is acknowledged (the default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: a power loss may roll back the last commits (never a process
    /// crash). Only when the operator asks for it.
    Fast,
}

/// Opens the data store at `location`, applying its migrations.
pub async fn connect_store(location: &StoreLocation, durability: Durability) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match location {
        StoreLocation::Sqlite { path } => Arc::new(sqlite::SqliteStore::open(path, durability).await?),
        StoreLocation::Postgres { url, schema } => Arc::new(postgres::PgStore::open(url, schema.as_deref()).await?),
    })
}

/// Opens the key store at `location`, applying its migrations. It must not be the data
/// store's database: a dump of the data must carry no keys.
pub async fn connect_key_store(location: &StoreLocation) -> Result<Arc<dyn KeyStore>, StoreError> {
    Ok(match location {
        StoreLocation::Sqlite { path } => Arc::new(sqlite::SqliteKeyStore::open(path).await?),
        StoreLocation::Postgres { url, schema } => Arc::new(postgres::PgKeyStore::open(url, schema.as_deref()).await?),
    })
}
