use parley_api::ProblemCode;
use parley_api::conversations::{CreateConversationRequest, ListConversationsQuery, Role};
use parley_api::messages::{ListMessagesQuery, SendMessageRequest};
use parley_testkit::TestApp;
use uuid::Uuid;

use crate::helpers::{assert_problem, open_conversation, raw_client, send};

#[tokio::test]
async fn opening_twice_returns_the_same_conversation_seen_from_both_sides() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let request = CreateConversationRequest { with: seller.handle.to_uppercase(), listing_id: Some("lst-42".into()), my_role: Role::Buyer };
    let (status, opened) = buyer.client.create_conversation(&request).await.unwrap();
    assert_eq!(status, 201);
    assert_eq!(opened.my_role, Role::Buyer);
    assert_eq!(opened.other_party.handle, seller.handle);
    assert_eq!(opened.listing_id.as_deref(), Some("lst-42"));
    assert_eq!(opened.last_seq, 0);
    let (status, again) = buyer.client.create_conversation(&request).await.unwrap();
    assert_eq!((status, again.id), (200, opened.id));

    let from_seller = seller.client.list_conversations(&ListConversationsQuery::default()).await.unwrap();
    assert_eq!(from_seller.items.len(), 1);
    assert_eq!(from_seller.items[0].id, opened.id);
    assert_eq!(from_seller.items[0].my_role, Role::Seller);
    assert_eq!(from_seller.items[0].other_party.handle, buyer.handle);
}

#[tokio::test]
async fn bad_partners_and_listings_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.user("opener").await;
    let open = |with: &str, listing: Option<&str>| CreateConversationRequest {
        with: with.into(),
        listing_id: listing.map(Into::into),
        my_role: Role::Buyer,
    };
    assert_problem(user.client.create_conversation(&open("ghost_user", None)).await, 404, ProblemCode::NotFound);
    assert_problem(user.client.create_conversation(&open("x", None)).await, 404, ProblemCode::NotFound);
    assert_problem(user.client.create_conversation(&open(&user.handle, None)).await, 422, ProblemCode::CannotMessageSelf);
    let other = app.user("other").await;
    assert_problem(user.client.create_conversation(&open(&other.handle, Some("1' OR '1'='1"))).await, 422, ProblemCode::ValidationFailed);
    assert_problem(user.client.create_conversation(&open(&other.handle, Some(""))).await, 422, ProblemCode::ValidationFailed);
    assert_problem(app.client.create_conversation(&open(&other.handle, None)).await, 401, ProblemCode::Unauthenticated);
}

#[tokio::test]
async fn the_list_is_newest_activity_first_and_pages_cleanly() {
    let app = TestApp::spawn().await;
    let me = app.user("lister").await;
    let mut opened = Vec::new();
    for n in 0..5 {
        let partner = app.user(&format!("partner{n}")).await;
        app.clock.advance(std::time::Duration::from_secs(1));
        opened.push(open_conversation(&me, &partner, &format!("l{n}")).await);
    }
    app.clock.advance(std::time::Duration::from_secs(1));
    send(&me, opened[1].id, "bumps the second conversation to the top").await;
    let expected: Vec<Uuid> = [1, 4, 3, 2, 0].iter().map(|&i| opened[i].id).collect();

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = me.client.list_conversations(&ListConversationsQuery { cursor: cursor.clone(), limit: Some(2) }).await.unwrap();
        seen.extend(page.items.iter().map(|c| c.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    let first = me.client.list_conversations(&ListConversationsQuery::default()).await.unwrap();
    assert_eq!(first.items[0].last_seq, 1);
    assert!(first.next_cursor.is_none());
}

#[tokio::test]
async fn bad_list_parameters_are_problems() {
    let app = TestApp::spawn().await;
    let me = app.user("params").await;
    for (cursor, limit) in [(Some("garbage"), None), (None, Some(0)), (None, Some(101))] {
        let query = ListConversationsQuery { cursor: cursor.map(Into::into), limit };
        assert_problem(me.client.list_conversations(&query).await, 422, ProblemCode::ValidationFailed);
    }
    let response = raw_client(&app.ca_pem)
        .get(format!("{}/v1/conversations?limit=99999999999999999999", app.url))
        .bearer_auth(&me.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_third_user_gets_404_for_everything_about_the_conversation() {
    let app = TestApp::spawn().await;
    let (buyer, seller, outsider) = (app.user("buyer").await, app.user("seller").await, app.user("outsider").await);
    let conversation = open_conversation(&buyer, &seller, "private").await;
    send(&buyer, conversation.id, "for the seller only").await;

    assert!(outsider.client.list_conversations(&ListConversationsQuery::default()).await.unwrap().items.is_empty());
    assert_problem(outsider.client.list_messages(conversation.id, &ListMessagesQuery::default()).await, 404, ProblemCode::NotFound);
    let request = SendMessageRequest { client_msg_id: "intruder-1".into(), body: "hello?".into() };
    assert_problem(outsider.client.send_message(conversation.id, &request).await, 404, ProblemCode::NotFound);
    // The same answer as for a conversation that does not exist, or an id that is not one.
    let missing = outsider.client.list_messages(Uuid::new_v4(), &ListMessagesQuery::default()).await;
    assert_problem(missing, 404, ProblemCode::NotFound);
    let http = raw_client(&app.ca_pem);
    for path in ["/v1/conversations/not-a-uuid/messages", "/v1/conversations/'%20OR%201=1--/messages"] {
        let response = http.get(format!("{}{path}", app.url)).bearer_auth(&outsider.token).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    // Without a session it is 401 before anything else.
    assert_problem(app.client.list_messages(conversation.id, &ListMessagesQuery::default()).await, 401, ProblemCode::Unauthenticated);
}

#[tokio::test]
async fn opening_many_conversations_is_rate_limited() {
    let app = TestApp::spawn_with(|config| {
        config.limits.new_conversations_burst = 2;
        config.limits.new_conversations_per_hour = 20;
    })
    .await;
    let spammer = app.user("spammer").await;
    let mut targets = Vec::new();
    for n in 0..3 {
        targets.push(app.user(&format!("target{n}")).await);
    }
    open_conversation(&spammer, &targets[0], "l").await;
    for _ in 0..5 {
        // Re-opening an existing conversation is free: only first contact counts.
        open_conversation(&spammer, &targets[0], "l").await;
    }
    open_conversation(&spammer, &targets[1], "l").await;
    let request = CreateConversationRequest { with: targets[2].handle.clone(), listing_id: None, my_role: Role::Buyer };
    assert_problem(spammer.client.create_conversation(&request).await, 429, ProblemCode::RateLimited);
    // Others are not affected, and the budget refills (one every three minutes).
    open_conversation(&targets[2], &targets[0], "l").await;
    app.clock.advance(std::time::Duration::from_secs(180));
    spammer.client.create_conversation(&request).await.unwrap();
}
