//! The store conformance suite: every test is written once against the store traits and run
//! on SQLite (a fresh file per test) and on PostgreSQL (a fresh schema per test).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    clippy::print_stdout,
    reason = "test code: a failed step should stop the test loudly"
)]

mod audit;
mod consent;
mod conversations;
mod credentials;
mod keys;
mod messages;
mod notices;
mod sessions;
mod upgrade;
mod users;

use std::future::Future;
use std::sync::Arc;

use parley_domain::{
    BlindIndex, Conversation, ConversationId, EmailAddress, Handle, ListingId, PasswordHash, Sealed, SecurityEventKind, Seq, Timestamp,
    UserId,
};
use parley_store::{
    Durability, KeyStore, NewUser, OutboxRecord, SecurityEventRecord, SecurityNotice, Store, StoreLocation, connect_key_store,
    connect_store,
};
use parley_testkit::postgres::ScratchSchema;
use uuid::Uuid;

/// A store and a key store to test, on one backend.
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub keys: Arc<dyn KeyStore>,
}

/// Runs `test` on SQLite, then on PostgreSQL (skipped outside CI when it is unreachable).
pub async fn on_both_backends<F, Fut>(label: &str, test: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let store = connect_store(&StoreLocation::Sqlite { path: dir.path().join("parley.db") }, Durability::Full).await.unwrap();
    let keys = connect_key_store(&StoreLocation::Sqlite { path: dir.path().join("keys.db") }).await.unwrap();
    test(Backend { store, keys }).await;

    let Some(data) = ScratchSchema::create(label).await else { return };
    let Some(key_schema) = ScratchSchema::create_for_keys(&format!("{label}_keys")).await else { return };
    let store = connect_store(&data.location(), Durability::Full).await.unwrap();
    let keys = connect_key_store(&key_schema.location()).await.unwrap();
    test(Backend { store, keys }).await;
    data.drop_schema().await;
    key_schema.drop_schema().await;
}

pub fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000 + millis)
}

pub fn new_user(handle: &str) -> NewUser {
    let id = UserId::from_uuid(Uuid::now_v7());
    NewUser {
        id,
        handle: Handle::parse(handle).unwrap(),
        email: Some((Sealed::from_bytes(format!("sealed-{handle}").into_bytes()), index_of(handle))),
        password_hash: Some(PasswordHash("$argon2id$test".to_owned())),
        created_at: at(0),
        accepted_policy: None,
    }
}

/// A notice of `kind` about `user` at `millis`, with a queued mail when `mailed`.
pub fn notice(user: UserId, kind: SecurityEventKind, millis: i64, mailed: bool) -> SecurityNotice {
    let event = SecurityEventRecord { id: Uuid::now_v7(), user_id: user, kind, at: at(millis), context: Sealed::from_bytes(vec![7; 40]) };
    let mail = mailed.then(|| OutboxRecord {
        id: Uuid::now_v7(),
        user_id: user,
        kind: "security_event".into(),
        payload: Sealed::from_bytes(vec![9; 40]),
        created_at: at(millis),
        attempts: 0,
        next_attempt_at: at(millis),
    });
    SecurityNotice { event, mail }
}

pub fn index_of(text: &str) -> BlindIndex {
    let mut bytes = [0u8; 32];
    for (slot, byte) in bytes.iter_mut().zip(text.bytes().cycle()) {
        *slot = byte;
    }
    BlindIndex(bytes)
}

pub async fn user(backend: &Backend, handle: &str) -> UserId {
    let user = new_user(handle);
    backend.store.insert_user(&user, &notice(user.id, SecurityEventKind::AccountCreated, 0, false)).await.unwrap();
    user.id
}

pub fn conversation(buyer: UserId, seller: UserId, listing: Option<&str>, created: i64) -> Conversation {
    Conversation {
        id: ConversationId::from_uuid(Uuid::now_v7()),
        buyer,
        seller,
        listing: listing.map(|l| ListingId::parse(l).unwrap()),
        created_at: at(created),
        last_activity_at: at(created),
        last_seq: Seq::ZERO,
    }
}

pub fn email(text: &str) -> EmailAddress {
    EmailAddress::parse(text).unwrap()
}

#[tokio::test]
async fn durability_settings_are_what_we_claim() {
    on_both_backends("durability", |backend| async move {
        backend.store.ping().await.unwrap();
        let settings = backend.store.durability_settings().await.unwrap();
        if settings.contains_key("synchronous_commit") {
            assert_eq!(settings["synchronous_commit"], "on");
            assert_eq!(settings["fsync"], "on");
        } else {
            for pool in ["read", "write"] {
                assert_eq!(settings[&format!("{pool}.journal_mode")], "wal");
                assert_eq!(settings[&format!("{pool}.synchronous")], "2", "FULL");
                assert_eq!(settings[&format!("{pool}.secure_delete")], "1");
                assert_eq!(settings[&format!("{pool}.foreign_keys")], "1");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn fast_durability_is_only_used_when_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let store = connect_store(&StoreLocation::Sqlite { path: dir.path().join("fast.db") }, Durability::Fast).await.unwrap();
    assert_eq!(store.durability_settings().await.unwrap()["write.synchronous"], "1", "NORMAL");
}
