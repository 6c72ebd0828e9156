use std::time::Duration;

use parley_api::ProblemCode;
use parley_api::conversations::ListConversationsQuery;
use parley_api::messages::{ListMessagesQuery, SendMessageRequest};
use parley_testkit::TestApp;

use crate::helpers::{assert_problem, open_conversation, send};

fn message(client_msg_id: &str, body: &str) -> SendMessageRequest {
    SendMessageRequest { client_msg_id: client_msg_id.to_owned(), body: body.to_owned() }
}

#[tokio::test]
async fn two_users_chat_in_order() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "bike-7").await;
    let first = send(&buyer, conversation.id, "Is the bike still available?").await;
    let second = send(&seller, conversation.id, "Yes! Pick-up only.").await;
    let third = send(&buyer, conversation.id, "Great, tomorrow at 6?").await;
    assert_eq!((first.seq, second.seq, third.seq), (1, 2, 3));
    assert!(first.mine);
    assert_eq!(first.author.handle, buyer.handle);

    let seen_by_seller = seller.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    let bodies: Vec<&str> = seen_by_seller.items.iter().map(|m| m.body.as_deref().unwrap()).collect();
    assert_eq!(bodies, ["Is the bike still available?", "Yes! Pick-up only.", "Great, tomorrow at 6?"]);
    assert_eq!(seen_by_seller.items.iter().map(|m| m.mine).collect::<Vec<_>>(), [false, true, false]);
    assert!(!seen_by_seller.has_more);
}

#[tokio::test]
async fn a_retried_send_makes_no_duplicate() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "l1").await;
    let (status, original) = buyer.client.send_message(conversation.id, &message("retry-me", "only once please")).await.unwrap();
    assert_eq!(status, 201);
    let (status, retried) = buyer.client.send_message(conversation.id, &message("retry-me", "only once please")).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!((retried.id, retried.seq, retried.created_at), (original.id, original.seq, original.created_at));
    assert_problem(
        buyer.client.send_message(conversation.id, &message("retry-me", "a different body")).await,
        409,
        ProblemCode::ClientMsgIdReused,
    );
    // The other party may use the same client id: ids are per author.
    let (status, _) = seller.client.send_message(conversation.id, &message("retry-me", "mine")).await.unwrap();
    assert_eq!(status, 201);
    let all = buyer.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(all.items.len(), 2);
}

#[tokio::test]
async fn concurrent_retries_and_sends_stay_unique_and_gap_free() {
    let app = TestApp::spawn_with(|config| config.limits.send_burst = 1000).await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "l1").await;
    let mut tasks = Vec::new();
    for n in 0..15 {
        for _ in 0..3 {
            let client = if n % 2 == 0 { buyer.client.clone() } else { seller.client.clone() };
            let request = message(&format!("c{n}"), &format!("message {n}"));
            tasks.push(tokio::spawn(async move { client.send_message(conversation.id, &request).await.unwrap().1 }));
        }
    }
    let mut sent = Vec::new();
    for task in tasks {
        sent.push(task.await.unwrap());
    }
    for triple in sent.chunks(3) {
        assert!(triple.iter().all(|m| m.id == triple[0].id), "three tries of one message share one id");
    }
    let page = buyer.client.list_messages(conversation.id, &ListMessagesQuery { limit: Some(100), ..Default::default() }).await.unwrap();
    assert_eq!(page.items.iter().map(|m| m.seq).collect::<Vec<_>>(), (1..=15).collect::<Vec<_>>());
}

#[tokio::test]
async fn bodies_are_checked() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "l1").await;
    let exact = "é".repeat(4000);
    assert_eq!(send(&buyer, conversation.id, &exact).await.body.as_deref(), Some(exact.as_str()));
    let cases = [
        ("too-long", "é".repeat(4001), "too_long"),
        ("blank", "  \n ".to_owned(), "empty"),
        ("nul", "a\u{0}b".to_owned(), "control_characters"),
    ];
    for (id, body, reason) in cases {
        match buyer.client.send_message(conversation.id, &message(id, &body)).await {
            Err(parley_api::client::ClientError::Problem(problem)) => assert_eq!(problem.reason.as_deref(), Some(reason), "{id}"),
            other => panic!("{id}: {other:?}"),
        }
    }
    assert_problem(buyer.client.send_message(conversation.id, &message("bad id!", "x")).await, 422, ProblemCode::ValidationFailed);
}

#[tokio::test]
async fn hostile_text_round_trips_exactly() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "l1").await;
    let bodies = [
        "'; DROP TABLE messages; --",
        "\" OR 1=1 --",
        "<script>alert(1)</script>",
        "$1 $2 ?1 :name @p",
        "emoji 👍🏽 RTL \u{202e}txet and zero\u{200b}width",
        "line\nbreak\ttab",
    ];
    for body in bodies {
        send(&buyer, conversation.id, body).await;
    }
    let page = seller.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(page.items.iter().map(|m| m.body.as_deref().unwrap()).collect::<Vec<_>>(), bodies);
}

#[tokio::test]
async fn history_pages_backwards_and_catches_up_forwards() {
    let app = TestApp::spawn_with(|config| config.limits.send_burst = 100).await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "l1").await;
    for n in 1..=12 {
        send(&buyer, conversation.id, &format!("m{n}")).await;
    }
    let seqs = |page: &parley_api::messages::MessagePage| page.items.iter().map(|m| m.seq).collect::<Vec<_>>();
    let latest = seller.client.list_messages(conversation.id, &ListMessagesQuery { limit: Some(5), ..Default::default() }).await.unwrap();
    assert_eq!((seqs(&latest), latest.has_more), (vec![8, 9, 10, 11, 12], true));
    let older =
        seller.client.list_messages(conversation.id, &ListMessagesQuery { before: Some(8), limit: Some(5), after: None }).await.unwrap();
    assert_eq!((seqs(&older), older.has_more), (vec![3, 4, 5, 6, 7], true));
    let oldest =
        seller.client.list_messages(conversation.id, &ListMessagesQuery { before: Some(3), limit: Some(5), after: None }).await.unwrap();
    assert_eq!((seqs(&oldest), oldest.has_more), (vec![1, 2], false));
    let newer =
        seller.client.list_messages(conversation.id, &ListMessagesQuery { after: Some(9), limit: Some(2), before: None }).await.unwrap();
    assert_eq!((seqs(&newer), newer.has_more), (vec![10, 11], true));
    let gap =
        seller.client.list_messages(conversation.id, &ListMessagesQuery { before: Some(7), after: Some(2), limit: Some(3) }).await.unwrap();
    assert_eq!((seqs(&gap), gap.has_more), (vec![3, 4, 5], true));
    let negative = seller.client.list_messages(conversation.id, &ListMessagesQuery { before: Some(-1), ..Default::default() }).await;
    assert_problem(negative, 422, ProblemCode::ValidationFailed);
}

#[tokio::test]
async fn sending_too_fast_is_rate_limited_per_user() {
    let app = TestApp::spawn_with(|config| {
        config.limits.send_burst = 3;
        config.limits.sends_per_minute = 60;
    })
    .await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "l1").await;
    for n in 0..3 {
        buyer.client.send_message(conversation.id, &message(&format!("quick{n}"), "hi")).await.unwrap();
    }
    let limited = buyer.client.send_message(conversation.id, &message("one-too-many", "slow down")).await;
    match limited {
        Err(parley_api::client::ClientError::Problem(problem)) => {
            assert_eq!((problem.status, problem.code), (429, ProblemCode::RateLimited));
            assert_eq!(problem.retry_after_secs, Some(1));
        }
        other => panic!("{other:?}"),
    }
    // A retry of an accepted message is not a new send and is not limited.
    let (status, _) = buyer.client.send_message(conversation.id, &message("quick0", "hi")).await.unwrap();
    assert_eq!(status, 200);
    send(&seller, conversation.id, "the other party is not affected").await;
    app.clock.advance(Duration::from_secs(1));
    buyer.client.send_message(conversation.id, &message("one-too-many", "slow down")).await.unwrap();
}

#[tokio::test]
async fn emails_never_reach_the_other_party() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "l1").await;
    send(&buyer, conversation.id, "hello").await;
    let list = seller.client.list_conversations(&ListConversationsQuery::default()).await.unwrap();
    let messages = seller.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    let seen = format!("{}{}", serde_json::to_string(&list).unwrap(), serde_json::to_string(&messages).unwrap());
    assert!(!seen.contains(&buyer.email));
    assert!(!seen.contains(&buyer.id.to_string()), "not even the internal user id");
    assert!(seen.contains(&buyer.handle));
}
