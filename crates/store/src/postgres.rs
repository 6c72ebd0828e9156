//! The PostgreSQL backend, for deployments of several nodes. Commits are durable before they
//! are acknowledged (the server default `synchronous_commit=on` is left alone). The SQL itself
//! is shared with SQLite.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::error::StoreError;
use crate::traits::StoreDiagnostics;

type Db = sqlx::Postgres;

// The shared SQL is compiled once per backend on purpose: each copy sees its own `Db`.
#[allow(clippy::duplicate_mod, reason = "one SQL source, instantiated for each backend")]
#[path = "sql_shared.rs"]
mod shared;

/// The data store on PostgreSQL.
pub(crate) struct PgStore {
    read: sqlx::Pool<Db>,
    write: sqlx::Pool<Db>,
}

/// The key store on PostgreSQL (a database of its own).
pub(crate) struct PgKeyStore {
    read: sqlx::Pool<Db>,
    write: sqlx::Pool<Db>,
}

type DataStore = PgStore;
type KeyStoreImpl = PgKeyStore;

const MAX_CONNECTIONS: u32 = 10;

async fn open_pool(url: &str, schema: Option<&str>) -> Result<sqlx::Pool<Db>, StoreError> {
    let mut options: PgConnectOptions = url.parse()?;
    if let Some(schema) = schema {
        create_schema(&options, schema).await?;
        options = options.options([("search_path", schema)]);
    }
    let pool = PgPoolOptions::new().max_connections(MAX_CONNECTIONS).acquire_timeout(Duration::from_secs(5)).connect_with(options).await?;
    Ok(pool)
}

/// Creates `schema` if it does not exist. The name is checked to be a plain identifier, since
/// DDL cannot take it as a bind parameter.
async fn create_schema(options: &PgConnectOptions, schema: &str) -> Result<(), StoreError> {
    let plain = !schema.is_empty()
        && schema.len() <= 63
        && schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit());
    if !plain {
        return Err(StoreError::Database("schema name must be a plain lower-case identifier".into()));
    }
    let mut connection = sqlx::PgConnection::connect_with(options).await?;
    let ddl = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(ddl)).execute(&mut connection).await?;
    connection.close().await?;
    Ok(())
}

impl PgStore {
    pub(crate) async fn open(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let pool = open_pool(url, schema).await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { read: pool.clone(), write: pool })
    }
}

impl PgKeyStore {
    pub(crate) async fn open(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let pool = open_pool(url, schema).await?;
        sqlx::migrate!("./migrations/postgres-keys").run(&pool).await?;
        Ok(Self { read: pool.clone(), write: pool })
    }
}

#[async_trait]
impl StoreDiagnostics for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn durability_settings(&self) -> Result<BTreeMap<String, String>, StoreError> {
        let mut settings = BTreeMap::new();
        for setting in ["synchronous_commit", "fsync"] {
            let value: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {setting}"))).fetch_one(&self.write).await?;
            settings.insert(setting.to_owned(), value);
        }
        Ok(settings)
    }
}
