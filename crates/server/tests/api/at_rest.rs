//! The test of record for encryption at rest: after a chat, the raw database files (SQLite
//! main file and WAL; a PostgreSQL dump) hold no message text, no email address and no key.

use std::path::Path;

use base64::Engine as _;
use parley_api::accounts::{CreateSessionRequest, SessionOptions};
use parley_testkit::TestApp;
use parley_testkit::postgres::ScratchSchema;
use uuid::Uuid;

use crate::helpers::{open_conversation, send};

/// What a chat leaves behind: the secrets that must not appear, and a handle that must
/// (proving the search would find plain text if it were there).
struct Chat {
    secrets: Vec<(String, Vec<u8>)>,
    handle: String,
}

async fn chat(app: &TestApp) -> Chat {
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "camera-9").await;
    let canary = format!("PARLEYCANARY{}", Uuid::new_v4().simple());
    let word = "quixotically";
    let first = format!("Hi! My address is 221B Baker Street, {word} {canary}");
    let second = "Card 4111 1111 1111 1111, phone +44 20 7946 0958";
    send(&buyer, conversation.id, &first).await;
    send(&seller, conversation.id, second).await;
    // Account-security data is personal too: a device label, the network, a TOTP secret.
    let device = format!("DEVICECANARY{}", Uuid::new_v4().simple());
    let options = SessionOptions { device_label: Some(device.clone()), ..SessionOptions::default() };
    let login = CreateSessionRequest { login: buyer.handle.clone(), password: parley_testkit::PASSWORD.into(), session: options };
    app.client.create_session_with(&login).await.unwrap();
    let totp_secret = seller.client.start_totp().await.unwrap().secret;
    let totp_bytes = parley_crypto::TotpKey::from_base32(&totp_secret).unwrap().as_bytes().to_vec();
    let mut secrets = vec![
        ("first body".to_owned(), first.into_bytes()),
        ("second body".to_owned(), second.as_bytes().to_vec()),
        ("canary".to_owned(), canary.as_bytes().to_vec()),
        ("canary as UTF-16".to_owned(), canary.encode_utf16().flat_map(u16::to_le_bytes).collect()),
        ("canary as base64".to_owned(), base64::engine::general_purpose::STANDARD.encode(&canary).into_bytes()),
        ("distinctive word".to_owned(), word.as_bytes().to_vec()),
        ("buyer email".to_owned(), buyer.email.into_bytes()),
        ("seller email".to_owned(), seller.email.into_bytes()),
        ("buyer token".to_owned(), buyer.token.into_bytes()),
        ("password".to_owned(), parley_testkit::PASSWORD.as_bytes().to_vec()),
        ("device label".to_owned(), device.into_bytes()),
        ("network".to_owned(), b"127.0.0.0/24".to_vec()),
        ("TOTP secret".to_owned(), totp_secret.into_bytes()),
        ("TOTP secret bytes".to_owned(), totp_bytes),
    ];
    let master_key_text = std::fs::read_to_string(app.data_dir().join("master.key")).unwrap();
    let master_key = base64::engine::general_purpose::STANDARD.decode(master_key_text.trim()).unwrap();
    secrets.push(("master key".to_owned(), master_key));
    secrets.push(("master key text".to_owned(), master_key_text.trim().as_bytes().to_vec()));
    Chat { secrets, handle: buyer.handle }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|window| window == needle)
}

fn assert_clean(label: &str, bytes: &[u8], chat: &Chat) {
    for (name, secret) in &chat.secrets {
        assert!(!contains(bytes, secret), "{label} contains the {name} in clear");
    }
}

fn database_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for name in ["parley.db", "parley.db-wal", "keys.db", "keys.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.join(name)) {
            files.push((name.to_owned(), bytes));
        }
    }
    files
}

#[tokio::test]
async fn sqlite_files_hold_no_plaintext_while_running_or_after_shutdown() {
    let app = TestApp::spawn().await;
    let chat = chat(&app).await;
    let running = database_files(&app.data_dir());
    assert!(running.iter().any(|(name, _)| name == "parley.db-wal"), "the WAL is part of the check");
    assert!(running.iter().any(|(_, bytes)| contains(bytes, chat.handle.as_bytes())), "control: handles are stored in clear");
    for (name, bytes) in &running {
        assert_clean(name, bytes, &chat);
    }
    let data_dir = app.data_dir();
    let kept = app.stop().await;
    for (name, bytes) in database_files(&data_dir) {
        assert_clean(&format!("{name} after shutdown"), &bytes, &chat);
    }
    drop(kept);
}

#[tokio::test]
async fn a_postgres_dump_holds_no_plaintext() {
    let Some(data) = ScratchSchema::create("at_rest").await else { return };
    let Some(keys) = ScratchSchema::create_for_keys("at_rest_keys").await else { return };
    let (data_schema, url) = (data.name.clone(), data.url().to_owned());
    let app = TestApp::spawn_with(|config| {
        config.database_url = url.clone();
        config.database_schema = data_schema.clone();
        config.key_store_url = keys.url().to_owned();
        config.key_store_schema = keys.name.clone();
    })
    .await;
    let chat = chat(&app).await;
    let dump = std::process::Command::new("pg_dump").args(["--schema", &data_schema, "--dbname", &url]).output().expect("pg_dump runs");
    assert!(dump.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&dump.stderr));
    assert!(contains(&dump.stdout, chat.handle.as_bytes()), "control: the dump holds the handles");
    assert!(contains(&dump.stdout, b"messages"), "control: the dump holds the messages table");
    assert!(!contains(&dump.stdout, b"data_keys"), "the data dump must carry no keys");
    let whole = std::process::Command::new("pg_dump").args(["--schema-only", "--dbname", &url]).output().expect("pg_dump runs");
    assert!(!contains(&whole.stdout, keys.name.as_bytes()), "the key schema lives in another database");
    assert_clean("the PostgreSQL dump", &dump.stdout, &chat);
    app.stop().await;
    data.drop_schema().await;
    keys.drop_schema().await;
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_row_or_altered_never_opens() {
    use sqlx::Connection as _;
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "swap").await;
    let secret = send(&buyer, conversation.id, "the secret in message one").await;
    let victim = send(&buyer, conversation.id, "message two").await;

    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", app.data_dir().join("parley.db").display())).await.unwrap();
    let original = sealed_body(&mut db, victim.id).await;
    let secret_sealed = sealed_body(&mut db, secret.id).await;
    set_sealed_body(&mut db, victim.id, &secret_sealed).await;
    // The moved ciphertext does not open under its new row's associated data: that message
    // reads as a placeholder, never as the other message's text, and the rest of the page reads.
    let bodies = |page: parley_api::messages::MessagePage| page.items.into_iter().map(|m| m.body).collect::<Vec<_>>();
    let all = parley_api::messages::ListMessagesQuery::default();
    let swapped = bodies(seller.client.list_messages(conversation.id, &all).await.unwrap());
    assert_eq!(swapped, [Some("the secret in message one".to_owned()), None]);

    set_sealed_body(&mut db, victim.id, &original).await;
    let restored = bodies(seller.client.list_messages(conversation.id, &all).await.unwrap());
    assert_eq!(restored[1].as_deref(), Some("message two"), "control: with the right ciphertext back, it reads again");
    let mut tampered = sealed_body(&mut db, secret.id).await;
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    set_sealed_body(&mut db, secret.id, &tampered).await;
    let altered = bodies(seller.client.list_messages(conversation.id, &all).await.unwrap());
    assert_eq!(altered, [None, Some("message two".to_owned())], "an altered ciphertext never opens");
}

async fn sealed_body(db: &mut sqlx::SqliteConnection, message: Uuid) -> Vec<u8> {
    sqlx::query_scalar("SELECT body_sealed FROM messages WHERE id = $1").bind(message.to_string()).fetch_one(db).await.unwrap()
}

async fn set_sealed_body(db: &mut sqlx::SqliteConnection, message: Uuid, sealed: &[u8]) {
    sqlx::query("UPDATE messages SET body_sealed = $1 WHERE id = $2").bind(sealed).bind(message.to_string()).execute(db).await.unwrap();
}
