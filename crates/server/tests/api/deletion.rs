//! Deleting messages and conversations through the real server.

use std::time::Duration;

use parley_api::ProblemCode;
use parley_api::conversations::ListConversationsQuery;
use parley_api::messages::{ListMessagesQuery, MessagePage};
use parley_testkit::TestApp;

use crate::helpers::{assert_problem, open_conversation, send};

fn bodies(page: &MessagePage) -> Vec<Option<&str>> {
    page.items.iter().map(|m| m.body.as_deref()).collect()
}

#[tokio::test]
async fn a_message_is_deleted_for_everyone_by_its_author_in_time_or_for_oneself() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "lamp").await;
    let oops = send(&buyer, conversation.id, "sent to the wrong person").await;
    let kept = send(&seller, conversation.id, "hello").await;
    let all = ListMessagesQuery::default();

    assert_problem(seller.client.delete_message(conversation.id, oops.id, "everyone").await, 403, ProblemCode::NotYourMessage);
    buyer.client.delete_message(conversation.id, oops.id, "everyone").await.unwrap();
    buyer.client.delete_message(conversation.id, oops.id, "everyone").await.unwrap();
    for viewer in [&buyer, &seller] {
        assert_eq!(bodies(&viewer.client.list_messages(conversation.id, &all).await.unwrap()), [None, Some("hello")]);
    }

    // Past the window it can only be deleted for oneself.
    let late = send(&buyer, conversation.id, "second thoughts").await;
    app.clock.advance(Duration::from_secs(24 * 60 * 60 + 1));
    let refreshed = app.client.create_session(&buyer.handle, parley_testkit::PASSWORD).await.unwrap();
    let buyer_client = app.client.authenticated(refreshed.token.as_deref().unwrap());
    assert_problem(buyer_client.delete_message(conversation.id, late.id, "everyone").await, 403, ProblemCode::DeleteWindowPassed);
    buyer_client.delete_message(conversation.id, kept.id, "me").await.unwrap();
    assert_eq!(bodies(&buyer_client.list_messages(conversation.id, &all).await.unwrap()), [None, Some("second thoughts")]);
    let fresh_seller = app.client.create_session(&seller.handle, parley_testkit::PASSWORD).await.unwrap();
    let seller_client = app.client.authenticated(fresh_seller.token.as_deref().unwrap());
    assert_eq!(seller_client.list_messages(conversation.id, &all).await.unwrap().items.len(), 3, "the other party still sees it");

    // Strangers and unknown ids learn nothing.
    let stranger = app.user("stranger").await;
    assert_problem(stranger.client.delete_message(conversation.id, late.id, "me").await, 404, ProblemCode::NotFound);
    assert_problem(buyer_client.delete_message(conversation.id, uuid::Uuid::new_v4(), "me").await, 404, ProblemCode::NotFound);
}

#[tokio::test]
async fn a_conversation_deleted_by_both_parties_is_destroyed() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "desk").await;
    send(&buyer, conversation.id, "old history").await;
    app.clock.advance(Duration::from_secs(1));
    let all = ListMessagesQuery::default();
    let listed = |user: &parley_testkit::TestUser| {
        let client = user.client.clone();
        async move { client.list_conversations(&ListConversationsQuery::default()).await.unwrap().items.len() }
    };

    buyer.client.delete_conversation(conversation.id).await.unwrap();
    assert_eq!(listed(&buyer).await, 0, "gone from the deleter's list");
    assert_problem(buyer.client.list_messages(conversation.id, &all).await, 404, ProblemCode::NotFound);
    assert_eq!(listed(&seller).await, 1, "the other party keeps it");
    // A new message brings it back for the deleter, without the history they deleted.
    app.clock.advance(Duration::from_secs(1));
    send(&seller, conversation.id, "still interested?").await;
    assert_eq!(listed(&buyer).await, 1);
    assert_eq!(bodies(&buyer.client.list_messages(conversation.id, &all).await.unwrap()), [Some("still interested?")]);

    seller.client.delete_conversation(conversation.id).await.unwrap();
    // The buyer's deletion predates the seller's message: the buyer still has it to delete.
    assert_eq!(listed(&buyer).await, 1);
    app.clock.advance(Duration::from_secs(1));
    buyer.client.delete_conversation(conversation.id).await.unwrap();
    for user in [&buyer, &seller] {
        assert_problem(user.client.list_messages(conversation.id, &all).await, 404, ProblemCode::NotFound);
        assert_eq!(listed(user).await, 0);
    }
    // Sending to a destroyed conversation finds nothing; deleting again is harmless to ask.
    let late = parley_api::messages::SendMessageRequest { client_msg_id: "late".into(), body: "hello?".into() };
    assert_problem(buyer.client.send_message(conversation.id, &late).await, 404, ProblemCode::NotFound);
    assert_problem(buyer.client.delete_conversation(conversation.id).await, 404, ProblemCode::NotFound);
}

#[tokio::test]
async fn retention_destroys_exactly_the_expired_conversations() {
    let app = TestApp::spawn_with(|config| config.security.message_retention_days = 30).await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let old = open_conversation(&buyer, &seller, "old").await;
    send(&buyer, old.id, "from long ago").await;
    let short = open_conversation(&buyer, &seller, "short").await;
    send(&buyer, short.id, "please forget this soon").await;
    let refused = seller.client.set_retention(short.id, 3).await.unwrap();
    assert_eq!((refused.days_after_last_activity, refused.default_days), (Some(3), 30));
    assert_problem(buyer.client.set_retention(short.id, 10).await, 409, ProblemCode::RetentionOnlyShorter);
    buyer.client.set_retention(short.id, 2).await.unwrap();

    app.clock.advance(Duration::from_secs(2 * 24 * 60 * 60 + 1));
    let (buyer_now, seller_now) = (relog(&app, &buyer).await, relog(&app, &seller).await);
    let open = parley_api::conversations::CreateConversationRequest {
        with: seller.handle.clone(),
        listing_id: Some("fresh".into()),
        my_role: parley_api::conversations::Role::Buyer,
    };
    let fresh = buyer_now.create_conversation(&open).await.unwrap().1;
    say(&buyer_now, fresh.id, "still relevant").await;
    let report = app.core.run_retention(parley_core::Actor::System).await.unwrap();
    assert_eq!(report.conversations_destroyed, 1, "only the one that asked for two days");

    app.clock.advance(Duration::from_secs(28 * 24 * 60 * 60));
    drop(seller_now);
    let seller_now = relog(&app, &seller).await;
    say(&seller_now, fresh.id, "activity keeps it").await;
    let report = app.core.run_retention(parley_core::Actor::System).await.unwrap();
    assert_eq!(report.conversations_destroyed, 1, "the old one, idle for thirty days");
    assert_eq!(app.core.run_retention(parley_core::Actor::System).await.unwrap().conversations_destroyed, 0, "nothing more");

    let client = relog(&app, &buyer).await;
    for gone in [old.id, short.id] {
        assert_problem(client.list_messages(gone, &ListMessagesQuery::default()).await, 404, ProblemCode::NotFound);
    }
    assert_eq!(
        bodies(&client.list_messages(fresh.id, &ListMessagesQuery::default()).await.unwrap()),
        [Some("still relevant"), Some("activity keeps it")]
    );
}

/// A fresh session for `user` (tests that move the clock by days outlive sessions).
async fn relog(app: &TestApp, user: &parley_testkit::TestUser) -> parley_api::client::Client {
    let session = app.client.create_session(&user.handle, parley_testkit::PASSWORD).await.unwrap();
    app.client.authenticated(session.token.as_deref().unwrap())
}

async fn say(client: &parley_api::client::Client, conversation: uuid::Uuid, body: &str) {
    let request = parley_api::messages::SendMessageRequest { client_msg_id: uuid::Uuid::new_v4().to_string(), body: body.into() };
    client.send_message(conversation, &request).await.unwrap();
}

#[tokio::test]
async fn opening_a_deleted_conversation_again_brings_it_back_without_its_old_history() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "chair").await;
    send(&buyer, conversation.id, "first try").await;
    app.clock.advance(Duration::from_secs(1));
    buyer.client.delete_conversation(conversation.id).await.unwrap();
    app.clock.advance(Duration::from_secs(1));
    let again = open_conversation(&buyer, &seller, "chair").await;
    assert_eq!(again.id, conversation.id);
    send(&buyer, conversation.id, "second try").await;
    let mine = buyer.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(bodies(&mine), [Some("second try")]);
    let theirs = seller.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(bodies(&theirs), [Some("first try"), Some("second try")]);
}

#[tokio::test]
async fn an_author_corrects_a_message_in_time_and_its_history_dies_with_it() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "sofa").await;
    let typo = send(&buyer, conversation.id, "I can pick it up on Satruday").await;
    assert_problem(seller.client.edit_message(conversation.id, typo.id, "hijacked").await, 403, ProblemCode::NotYourMessage);
    assert_problem(buyer.client.edit_message(conversation.id, typo.id, "   ").await, 422, ProblemCode::ValidationFailed);
    let edited = buyer.client.edit_message(conversation.id, typo.id, "I can pick it up on Saturday, call +44 20 7946 0958").await.unwrap();
    assert_eq!(edited.body.as_deref(), Some("I can pick it up on Saturday, call [phone number hidden]"));
    assert_eq!((edited.seq, edited.pii.as_slice()), (typo.seq, ["phone".to_owned()].as_slice()));
    assert!(edited.edited_at.is_some());
    let seen = seller.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(bodies(&seen), [Some("I can pick it up on Saturday, call [phone number hidden]")]);
    assert!(seen.items[0].edited_at.is_some());
    app.clock.advance(Duration::from_secs(15 * 60 + 1));
    assert_problem(buyer.client.edit_message(conversation.id, typo.id, "too late").await, 403, ProblemCode::EditWindowPassed);

    // The earlier text is stored sealed, and goes when the message is deleted for everyone.
    let edits = |app: &TestApp| {
        let path = app.data_dir().join("parley.db");
        async move {
            use sqlx::Connection as _;
            let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", path.display())).await.unwrap();
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM message_edits").fetch_one(&mut db).await.unwrap();
            count
        }
    };
    assert_eq!(edits(&app).await, 1);
    buyer.client.delete_message(conversation.id, typo.id, "everyone").await.unwrap();
    assert_eq!(edits(&app).await, 0);
}

#[tokio::test]
async fn a_page_is_never_empty_while_visible_messages_lie_beyond_it() {
    let app = TestApp::spawn_with(|config| config.limits.send_burst = 1000).await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "long").await;
    for n in 0..60 {
        send(&seller, conversation.id, &format!("old {n}")).await;
    }
    app.clock.advance(Duration::from_secs(1));
    buyer.client.delete_conversation(conversation.id).await.unwrap();
    app.clock.advance(Duration::from_secs(1));
    send(&seller, conversation.id, "new").await;
    let after = ListMessagesQuery { after: Some(0), ..ListMessagesQuery::default() };
    let page = buyer.client.list_messages(conversation.id, &after).await.unwrap();
    assert_eq!((bodies(&page), page.has_more), (vec![Some("new")], false));
    app.clock.advance(Duration::from_secs(1));
    let mut stream = buyer.client.open_stream().await.unwrap();
    stream.next_frame().await.unwrap();
    send(&seller, conversation.id, "live").await;
    match stream.next_frame().await.unwrap() {
        parley_api::stream::ServerFrame::Message { message } => assert_eq!(message.body.as_deref(), Some("live")),
        other => panic!("expected the live message, got {other:?}"),
    }
}

#[tokio::test]
async fn only_deletions_covering_everything_said_destroy_a_conversation() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "vase").await;
    send(&buyer, conversation.id, "first").await;
    app.clock.advance(Duration::from_secs(1));
    buyer.client.delete_conversation(conversation.id).await.unwrap();
    app.clock.advance(Duration::from_secs(1));
    send(&seller, conversation.id, "are you there?").await;
    app.clock.advance(Duration::from_secs(1));
    seller.client.delete_conversation(conversation.id).await.unwrap();
    // The buyer's old deletion does not cover the seller's new message: nothing is destroyed.
    let page = buyer.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(bodies(&page), [Some("are you there?")]);
    // Deleting again covers it: now both deletions do, and the conversation is destroyed.
    app.clock.advance(Duration::from_secs(1));
    buyer.client.delete_conversation(conversation.id).await.unwrap();
    assert_problem(seller.client.list_messages(conversation.id, &ListMessagesQuery::default()).await, 404, ProblemCode::NotFound);
}

#[tokio::test]
async fn an_erased_partys_conversations_are_destroyed_once_the_other_deletes_them() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "clock").await;
    send(&buyer, conversation.id, "hi").await;
    buyer.client.erase_account(Some(parley_testkit::PASSWORD)).await.unwrap();
    app.clock.advance(Duration::from_secs(1));
    seller.client.delete_conversation(conversation.id).await.unwrap();
    assert_eq!(seller.client.list_conversations(&ListConversationsQuery::default()).await.unwrap().items.len(), 0);
    assert_problem(seller.client.list_messages(conversation.id, &ListMessagesQuery::default()).await, 404, ProblemCode::NotFound);
}

/// Sends racing a deletion for everyone (which re-seals the author's texts under a new key)
/// are all kept and readable: a send sealed under the old key is refused by the store and seals
/// again, never left under a destroyed key.
#[tokio::test]
async fn sends_racing_a_deletion_for_everyone_stay_readable() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "bike-9").await;
    let first = send(&buyer, conversation.id, "first").await;
    let sends = (0..12).map(|n| {
        let client = buyer.client.clone();
        tokio::spawn(async move {
            let request = parley_api::messages::SendMessageRequest { client_msg_id: format!("race-{n}"), body: format!("racing {n}") };
            client.send_message(conversation.id, &request).await
        })
    });
    let sends: Vec<_> = sends.collect();
    buyer.client.delete_message(conversation.id, first.id, "everyone").await.unwrap();
    let mut acknowledged = 0;
    for sent in sends {
        // A send may be told to retry (503) if it lost every race; what was acknowledged counts.
        if sent.await.unwrap().is_ok() {
            acknowledged += 1;
        }
    }
    let page = seller.client.list_messages(conversation.id, &ListMessagesQuery { limit: Some(50), ..Default::default() }).await.unwrap();
    let readable = page.items.iter().filter(|m| m.body.as_deref().is_some_and(|b| b.starts_with("racing"))).count();
    assert_eq!(readable, acknowledged, "every acknowledged send is readable");
    assert!(acknowledged >= 1);
    assert_eq!(page.items[0].body, None, "the deleted one is gone");
}
