//! Erasure through the real server: the account, its sessions and its credentials go; its
//! messages become placeholders for the other party; and, because the keys are destroyed
//! first, a copy of the database taken before the erasure cannot be read after it.

use parley_api::ProblemCode;
use parley_api::messages::{ListMessagesQuery, MessagePage};
use parley_testkit::{PASSWORD, TestApp};
use sqlx::Connection as _;

use crate::helpers::{assert_problem, open_conversation, send, snapshot};

fn bodies(page: &MessagePage) -> Vec<Option<&str>> {
    page.items.iter().map(|m| m.body.as_deref()).collect()
}

#[tokio::test]
async fn an_erased_account_is_gone_through_every_api_and_its_messages_become_placeholders() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("leaving").await, app.user("staying").await);
    let conversation = open_conversation(&buyer, &seller, "lens-1").await;
    send(&buyer, conversation.id, "My number is 07700 900123, call me").await;
    send(&seller, conversation.id, "Will do").await;
    let phone = app.client.create_session(&buyer.handle, PASSWORD).await.unwrap();

    assert_problem(buyer.client.erase_account(None).await, 401, ProblemCode::InvalidCredentials);
    assert_problem(buyer.client.erase_account(Some("not my password")).await, 401, ProblemCode::InvalidCredentials);
    buyer.client.erase_account(Some(PASSWORD)).await.unwrap();

    // Every session ends at once, and the account cannot be logged into by handle or email.
    assert_problem(buyer.client.me().await, 401, ProblemCode::Unauthenticated);
    assert_problem(app.client.authenticated(phone.token.as_deref().unwrap()).me().await, 401, ProblemCode::Unauthenticated);
    assert_problem(buyer.client.erase_account(Some(PASSWORD)).await, 401, ProblemCode::Unauthenticated);
    assert_problem(app.client.create_session(&buyer.handle, PASSWORD).await, 401, ProblemCode::InvalidCredentials);
    assert_problem(app.client.create_session(&buyer.email, PASSWORD).await, 401, ProblemCode::InvalidCredentials);

    // The other party keeps the conversation: the erased user is a "deleted user" whose
    // messages are placeholders; their own messages are intact.
    let listed = seller.client.list_conversations(&parley_api::conversations::ListConversationsQuery::default()).await.unwrap();
    let other = &listed.items[0].other_party.handle;
    assert!(other.starts_with("deleted-user-") && !other.contains(&buyer.handle), "{other}");
    let page = seller.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(bodies(&page), [None, Some("Will do")]);
    assert_eq!(page.items.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2], "the numbering keeps no gap");

    // The handle is free again, and nobody can take a tombstone's.
    let reborn = parley_api::accounts::CreateAccountRequest {
        handle: buyer.handle.clone(),
        email: buyer.email.clone(),
        password: PASSWORD.into(),
        accepted_policy_version: 1,
    };
    app.client.create_account(&reborn).await.unwrap();
    let grave = parley_api::accounts::CreateAccountRequest {
        handle: other.clone(),
        email: "x@mail.example.org".into(),
        password: PASSWORD.into(),
        accepted_policy_version: 1,
    };
    assert_problem(app.client.create_account(&grave).await, 422, ProblemCode::ValidationFailed);
}

#[tokio::test]
async fn a_backup_taken_before_an_erasure_cannot_be_read_after_it() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("erased").await, app.user("witness").await);
    let conversation = open_conversation(&buyer, &seller, "bike-7").await;
    send(&buyer, conversation.id, "The frame number is WTU123456").await;
    send(&seller, conversation.id, "Thanks").await;
    let backup = tempfile::tempdir().unwrap();
    snapshot(&app.data_dir().join("parley.db"), &backup.path().join("parley.db")).await;
    let readable = seller.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(bodies(&readable)[0], Some("The frame number is WTU123456"), "control: readable before");

    buyer.client.erase_account(Some(PASSWORD)).await.unwrap();

    let (restored_app, _restored) = restore(app, &backup.path().join("parley.db")).await;
    // The seller's session is in the backup: it still works, and reads the conversation.
    let witness = restored_app.client.authenticated(&seller.token);
    let page = witness.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(bodies(&page), [None, Some("Thanks")], "the erased user's message is unreadable even from the backup");
}

#[tokio::test]
async fn a_backup_taken_before_a_deletion_for_everyone_cannot_show_the_deleted_text() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "watch-1").await;
    let kept = send(&buyer, conversation.id, "Is it still available?").await;
    let regretted = send(&buyer, conversation.id, "I could go up to 300").await;
    send(&seller, conversation.id, "Yes").await;
    buyer.client.edit_message(conversation.id, kept.id, "Is the watch still available?").await.unwrap();
    let backup = tempfile::tempdir().unwrap();
    snapshot(&app.data_dir().join("parley.db"), &backup.path().join("parley.db")).await;

    buyer.client.delete_message(conversation.id, regretted.id, "everyone").await.unwrap();
    // Deleting it again changes nothing, and costs no second rotation.
    buyer.client.delete_message(conversation.id, regretted.id, "everyone").await.unwrap();
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", app.data_dir().join("parley.db").display())).await.unwrap();
    let generations: Vec<i64> = sqlx::query_scalar("SELECT generation FROM message_key_generations").fetch_all(&mut db).await.unwrap();
    assert_eq!(generations, [1]);
    let page = seller.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(bodies(&page), [Some("Is the watch still available?"), None, Some("Yes")], "the rest reads on, re-sealed");
    // Sending and editing go on under the author's new key.
    let later = send(&buyer, conversation.id, "When can I pick it up?").await;
    buyer.client.edit_message(conversation.id, later.id, "When could I pick it up?").await.unwrap();
    let archive = buyer.client.download_export(&buyer.client.request_export().await.unwrap().download).await.unwrap();
    let exported: Vec<Option<String>> = archive.conversations[0].messages.iter().map(|m| m.body.clone()).collect();
    assert_eq!(exported[0].as_deref(), Some("Is the watch still available?"));
    assert_eq!(exported[3].as_deref(), Some("When could I pick it up?"));

    let (restored_app, _restored) = restore(app, &backup.path().join("parley.db")).await;
    let witness = restored_app.client.authenticated(&seller.token);
    let page = witness.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(bodies(&page), [None, None, Some("Yes")], "the key the backup's texts were sealed under is gone");
}

/// Stops `app` and starts a server on `backup` (an old copy of its database) next to today's
/// key store and master key: what an operator restoring a backup gets. The directory lives as
/// long as the returned guard.
async fn restore(app: TestApp, backup: &std::path::Path) -> (TestApp, tempfile::TempDir) {
    let restored = tempfile::tempdir().unwrap();
    let restored_dir = restored.path().join("data");
    std::fs::create_dir(&restored_dir).unwrap();
    std::fs::copy(backup, restored_dir.join("parley.db")).unwrap();
    snapshot(&app.data_dir().join("keys.db"), &restored_dir.join("keys.db")).await;
    std::fs::copy(app.data_dir().join("master.key"), restored_dir.join("master.key")).unwrap();
    app.stop().await;
    (TestApp::spawn_with(|config| config.data_dir.clone_from(&restored_dir)).await, restored)
}
