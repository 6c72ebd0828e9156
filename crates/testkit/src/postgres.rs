//! Scratch PostgreSQL schemas: each test gets its own, dropped afterwards. The server is found
//! at `PARLEY_TEST_DATABASE_URL` (default: the local one, database `test`). When it cannot be
//! reached the PostgreSQL tests are skipped with a note, except under `CI=true`, where that
//! is a failure: CI must run them.

use parley_store::StoreLocation;
use sqlx::Connection as _;

/// The server the PostgreSQL tests use.
pub fn url() -> String {
    std::env::var("PARLEY_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The database holding the tests' key stores: a database of its own, since the data
/// database must never hold keys.
const KEY_DATABASE: &str = "parley_test_keys";

/// A schema of its own for one test.
pub struct ScratchSchema {
    /// Its name.
    pub name: String,
    url: String,
}

impl ScratchSchema {
    /// A fresh schema name on a reachable server, or `None` (skip) when the server is down and
    /// this is not CI.
    pub async fn create(label: &str) -> Option<Self> {
        let url = url();
        match sqlx::PgConnection::connect(&url).await {
            Ok(connection) => {
                connection.close().await.ok();
            }
            Err(error) => {
                assert!(std::env::var("CI").as_deref() != Ok("true"), "PostgreSQL at {url} is unreachable and CI=true: {error}");
                eprintln!("skipping PostgreSQL test {label}: {error}");
                return None;
            }
        }
        let name = format!("t_{label}_{}", uuid::Uuid::new_v4().simple());
        Some(Self { name, url })
    }

    /// A fresh schema in the separate key database (created on first use).
    pub async fn create_for_keys(label: &str) -> Option<Self> {
        let data = Self::create(label).await?;
        let (base, query) = data.url.split_once('?').map_or((data.url.as_str(), None), |(base, query)| (base, Some(query)));
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        let url = match query {
            Some(query) => format!("{server}/{KEY_DATABASE}?{query}"),
            None => format!("{server}/{KEY_DATABASE}"),
        };
        let mut admin = sqlx::PgConnection::connect(&data.url).await.expect("the test server answered a moment ago");
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(KEY_DATABASE)
            .fetch_optional(&mut admin)
            .await
            .expect("pg_database is readable");
        if exists.is_none() {
            let created = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {KEY_DATABASE}"))).execute(&mut admin).await;
            // Tests race to create it: losing the race is fine. The loser sees 42P04 (duplicate
            // database) or, when both insert into the catalogue at once, 23505 (unique violation).
            if let Err(error) = created {
                let code = error.as_database_error().and_then(sqlx::error::DatabaseError::code);
                let duplicate = code.is_some_and(|code| code == "42P04" || code == "23505");
                assert!(duplicate, "cannot create the test key database: {error}");
            }
        }
        admin.close().await.ok();
        Some(Self { name: data.name, url })
    }

    /// The store location of this schema (the store creates it on first connect).
    pub fn location(&self) -> StoreLocation {
        StoreLocation::Postgres { url: self.url.clone(), schema: Some(self.name.clone()) }
    }

    /// The server URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the schema and everything in it.
    pub async fn drop_schema(self) {
        if let Ok(mut connection) = sqlx::PgConnection::connect(&self.url).await {
            let ddl = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
            sqlx::raw_sql(sqlx::AssertSqlSafe(ddl)).execute(&mut connection).await.ok();
            connection.close().await.ok();
        }
    }
}
