//! The SQLite backend: WAL journal, `synchronous=FULL` (unless the operator chose `fast`),
//! `secure_delete=ON` so deleted rows are overwritten, foreign keys on. One writer connection
//! serialises writes (SQLite allows one writer anyway, and this avoids busy errors); a small
//! pool serves reads concurrently under WAL. The SQL itself is shared with PostgreSQL.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::StoreError;
use crate::location::Durability;
use crate::traits::StoreDiagnostics;

type Db = sqlx::Sqlite;

// The shared SQL is compiled once per backend on purpose: each copy sees its own `Db`.
#[allow(clippy::duplicate_mod, reason = "one SQL source, instantiated for each backend")]
#[path = "sql_shared.rs"]
mod shared;

/// The data store on SQLite.
pub(crate) struct SqliteStore {
    read: sqlx::Pool<Db>,
    write: sqlx::Pool<Db>,
}

/// The key store on SQLite (its own file, `keys.db` by default).
pub(crate) struct SqliteKeyStore {
    read: sqlx::Pool<Db>,
    write: sqlx::Pool<Db>,
}

type DataStore = SqliteStore;
type KeyStoreImpl = SqliteKeyStore;

const READERS: u32 = 4;

fn options(path: &Path, durability: Durability) -> SqliteConnectOptions {
    let synchronous = match durability {
        Durability::Full => SqliteSynchronous::Full,
        Durability::Fast => SqliteSynchronous::Normal,
    };
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        .pragma("secure_delete", "ON")
}

async fn open_pools(path: &Path, durability: Durability) -> Result<(sqlx::Pool<Db>, sqlx::Pool<Db>), StoreError> {
    let options = options(path, durability);
    let write = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
    let read = SqlitePoolOptions::new().max_connections(READERS).connect_with(options).await?;
    Ok((read, write))
}

impl SqliteStore {
    pub(crate) async fn open(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        let (read, write) = open_pools(path, durability).await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        Ok(Self { read, write })
    }
}

impl SqliteKeyStore {
    pub(crate) async fn open(path: &Path) -> Result<Self, StoreError> {
        // Keys are few and small; they get the same durability as acknowledged messages.
        let (read, write) = open_pools(path, Durability::Full).await?;
        sqlx::migrate!("./migrations/sqlite-keys").run(&write).await?;
        Ok(Self { read, write })
    }
}

#[async_trait]
impl StoreDiagnostics for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn durability_settings(&self) -> Result<BTreeMap<String, String>, StoreError> {
        let mut settings = BTreeMap::new();
        for (pool_name, pool) in [("read", &self.read), ("write", &self.write)] {
            for pragma in ["journal_mode", "synchronous", "secure_delete", "foreign_keys"] {
                // The pragma's table-valued form lets one query read text and numbers alike.
                let query = format!("SELECT CAST({pragma} AS TEXT) FROM pragma_{pragma}");
                let value: String = sqlx::query_scalar(sqlx::AssertSqlSafe(query)).fetch_one(pool).await?;
                settings.insert(format!("{pool_name}.{pragma}"), value);
            }
        }
        Ok(settings)
    }
}
