//! Upgrading a database made by an earlier release: its rows must survive every later
//! migration, with their foreign keys intact (SQLite rebuilds `users` in 0002).

use std::path::Path;

use sqlx::Connection as _;

use super::*;

/// Applies only the first `count` SQLite migrations to a fresh database file.
async fn migrate_up_to(db: &Path, count: usize) -> sqlx::SqliteConnection {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut files: Vec<_> = std::fs::read_dir(&source).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files.iter().take(count) {
        std::fs::copy(file, dir.path().join(file.file_name().unwrap())).unwrap();
    }
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("PRAGMA foreign_keys = ON").execute(&mut connection).await.unwrap();
    sqlx::migrate::Migrator::new(dir.path()).await.unwrap().run(&mut connection).await.unwrap();
    connection
}

#[tokio::test]
async fn a_foundation_database_keeps_its_rows_through_the_strong_auth_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    let mut old = migrate_up_to(&db, 1).await;
    let (alice, bob, conversation) = (Uuid::now_v7().to_string(), Uuid::now_v7().to_string(), Uuid::now_v7().to_string());
    for (id, handle) in [(&alice, "alice"), (&bob, "bob")] {
        sqlx::query("INSERT INTO users VALUES ($1, $2, $2, x'01', $3, '$argon2id$x', 1)")
            .bind(id)
            .bind(handle)
            .bind(handle.as_bytes())
            .execute(&mut old)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO sessions VALUES ($1, $2, randomblob(32), 1, 1, 99999999999999)")
        .bind(Uuid::now_v7().to_string())
        .bind(&alice)
        .execute(&mut old)
        .await
        .unwrap();
    sqlx::query("INSERT INTO conversations VALUES ($1, $2, $3, 'l1', 1, 1, 1)")
        .bind(&conversation)
        .bind(&alice)
        .bind(&bob)
        .execute(&mut old)
        .await
        .unwrap();
    sqlx::query("INSERT INTO messages VALUES ($1, $2, 1, $3, 'c1', x'02', 1)")
        .bind(Uuid::now_v7().to_string())
        .bind(&conversation)
        .bind(&alice)
        .execute(&mut old)
        .await
        .unwrap();
    old.close().await.unwrap();

    let store = connect_store(&StoreLocation::Sqlite { path: db.clone() }, Durability::Full).await.unwrap();
    let alice_id = UserId::from_uuid(alice.parse().unwrap());
    let upgraded = store.user_by_id(alice_id).await.unwrap().unwrap();
    assert_eq!(upgraded.handle.as_str(), "alice");
    assert_eq!(upgraded.password_hash.unwrap().0, "$argon2id$x");
    assert_eq!(upgraded.failed_logins, 0);
    assert_eq!(store.sessions_of(alice_id).await.unwrap().len(), 1, "sessions survive, and still point at their user");
    let record = store.conversation(ConversationId::from_uuid(conversation.parse().unwrap())).await.unwrap().unwrap();
    assert_eq!(record.buyer_handle.as_str(), "alice");
    drop(store);

    let mut check = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check").fetch_all(&mut check).await.unwrap();
    assert!(broken.is_empty(), "foreign keys broken: {broken:?}");
    // Deleting the user still cascades to its sessions: the references follow the rebuilt table.
    sqlx::query("PRAGMA foreign_keys = ON").execute(&mut check).await.unwrap();
    sqlx::query("DELETE FROM messages").execute(&mut check).await.unwrap();
    sqlx::query("DELETE FROM conversations").execute(&mut check).await.unwrap();
    sqlx::query("DELETE FROM users WHERE id = $1").bind(&alice).execute(&mut check).await.unwrap();
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions").fetch_one(&mut check).await.unwrap();
    assert_eq!(sessions, 0);
}

#[tokio::test]
async fn the_auth_hardening_removes_passkeys_of_single_sign_on_accounts_and_pending_challenges() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    let mut old = migrate_up_to(&db, 12).await;
    let (member, shopper) = (Uuid::now_v7().to_string(), Uuid::now_v7().to_string());
    for (id, handle, password) in [(&member, "member", Some("$argon2id$x")), (&shopper, "shopper", None)] {
        sqlx::query("INSERT INTO users (id, handle, handle_key, password_hash, created_at) VALUES ($1, $2, $2, $3, 1)")
            .bind(id)
            .bind(handle)
            .bind(password)
            .execute(&mut old)
            .await
            .unwrap();
        sqlx::query("INSERT INTO passkeys VALUES ($1, $2, randomblob(16), x'03', 1, NULL)")
            .bind(Uuid::now_v7().to_string())
            .bind(id)
            .execute(&mut old)
            .await
            .unwrap();
        sqlx::query("INSERT INTO auth_challenges (challenge_hash, kind, user_id, failures, expires_at) VALUES (randomblob(32), 'mfa_login', $1, 0, 9)")
            .bind(id)
            .execute(&mut old)
            .await
            .unwrap();
    }
    old.close().await.unwrap();

    let store = connect_store(&StoreLocation::Sqlite { path: db.clone() }, Durability::Full).await.unwrap();
    let passkeys_of = |id: &String| store.passkeys_of(UserId::from_uuid(id.parse().unwrap()));
    assert_eq!(passkeys_of(&member).await.unwrap().len(), 1, "an account with a password keeps its passkey");
    assert!(passkeys_of(&shopper).await.unwrap().is_empty(), "a single sign-on account's passkey goes");
    drop(store);
    let mut check = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_challenges").fetch_one(&mut check).await.unwrap();
    assert_eq!(left, 0, "pending challenges are withdrawn once");
}
