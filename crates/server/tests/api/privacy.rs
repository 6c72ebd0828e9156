//! Privacy preferences and blocks through the real server.

use parley_api::ProblemCode;
use parley_api::accounts::{CreateSessionRequest, SessionOptions};
use parley_api::conversations::{CreateConversationRequest, ListConversationsQuery, Role};
use parley_api::messages::ListMessagesQuery;
use parley_api::privacy::PreferencesBody;
use parley_testkit::{PASSWORD, TestApp, TestUser};

use crate::helpers::{assert_problem, open_conversation, send};

fn preferences(contact_policy: &str, new_device_mail: bool) -> PreferencesBody {
    PreferencesBody { contact_policy: contact_policy.into(), do_not_sell: true, new_device_mail }
}

fn opening(with: &TestUser, listing: Option<&str>, my_role: Role) -> CreateConversationRequest {
    CreateConversationRequest { with: with.handle.clone(), listing_id: listing.map(str::to_owned), my_role }
}

#[tokio::test]
async fn contact_policies_decide_who_may_start_a_conversation() {
    let app = TestApp::spawn().await;
    let (seller, buyer, stranger) = (app.user("seller").await, app.user("buyer").await, app.user("stranger").await);
    let defaults = seller.client.preferences().await.unwrap();
    assert_eq!((defaults.contact_policy.as_str(), defaults.do_not_sell, defaults.new_device_mail), ("anyone", false, true));

    seller.client.set_preferences(&preferences("about_my_listings", true)).await.unwrap();
    assert_eq!(seller.client.preferences().await.unwrap(), preferences("about_my_listings", true));
    buyer.client.create_conversation(&opening(&seller, Some("bike-1"), Role::Buyer)).await.unwrap();
    let no_listing = stranger.client.create_conversation(&opening(&seller, None, Role::Buyer)).await;
    assert_problem(no_listing, 403, ProblemCode::ContactNotAllowed);
    let as_buyer = stranger.client.create_conversation(&opening(&seller, Some("bike-1"), Role::Seller)).await;
    assert_problem(as_buyer, 403, ProblemCode::ContactNotAllowed);

    seller.client.set_preferences(&preferences("nobody_new", true)).await.unwrap();
    assert_problem(
        stranger.client.create_conversation(&opening(&seller, Some("bike-2"), Role::Buyer)).await,
        403,
        ProblemCode::ContactNotAllowed,
    );
    // Existing conversations go on.
    let (status, _) = buyer.client.create_conversation(&opening(&seller, Some("bike-1"), Role::Buyer)).await.unwrap();
    assert_eq!(status, 200);
    let bad = PreferencesBody { contact_policy: "everyone".into(), do_not_sell: false, new_device_mail: true };
    assert_problem(seller.client.set_preferences(&bad).await, 422, ProblemCode::ValidationFailed);
}

#[tokio::test]
async fn a_blocked_user_cannot_reach_the_blocker_and_learns_nothing() {
    let app = TestApp::spawn().await;
    let (alice, mallory) = (app.user("alice").await, app.user("mallory").await);
    let conversation = open_conversation(&mallory, &alice, "phone-1").await;
    send(&mallory, conversation.id, "before the block").await;
    app.clock.advance(std::time::Duration::from_secs(1));
    assert_problem(alice.client.block(&alice.handle).await, 409, ProblemCode::CannotBlockSelf);
    assert_problem(alice.client.block("nobody_has_this").await, 404, ProblemCode::NotFound);
    alice.client.block(&mallory.handle).await.unwrap();
    alice.client.block(&mallory.handle).await.unwrap();
    let blocked: Vec<String> = alice.client.blocks().await.unwrap().blocked.into_iter().map(|b| b.handle).collect();
    assert_eq!(blocked, vec![mallory.handle.clone()]);

    // Mallory's sends and new conversations succeed as before...
    let after = send(&mallory, conversation.id, "after the block").await;
    let (status, hidden) = mallory.client.create_conversation(&opening(&alice, Some("phone-2"), Role::Buyer)).await.unwrap();
    assert_eq!(status, 201);
    send(&mallory, hidden.id, "new thread").await;
    // ...but Alice never sees them.
    let seen = alice.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(seen.items.iter().map(|m| m.body.as_deref().unwrap()).collect::<Vec<_>>(), ["before the block"]);
    let listed = alice.client.list_conversations(&ListConversationsQuery::default()).await.unwrap();
    assert_eq!(listed.items.iter().map(|c| c.id).collect::<Vec<_>>(), [conversation.id]);
    // Mallory's own view is unchanged.
    let own = mallory.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(own.items.last().unwrap().id, after.id);

    alice.client.unblock(&mallory.handle).await.unwrap();
    let seen = alice.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(seen.items.len(), 2, "lifting the block shows what was held back");
    assert_eq!(alice.client.list_conversations(&ListConversationsQuery::default()).await.unwrap().items.len(), 2);
}

#[tokio::test]
async fn new_device_mail_can_be_turned_off() {
    let app = TestApp::spawn().await;
    let user = app.user("quiet").await;
    user.client.set_preferences(&preferences("anyone", false)).await.unwrap();
    let login = CreateSessionRequest {
        login: user.handle.clone(),
        password: PASSWORD.into(),
        session: SessionOptions { device_label: Some("Another laptop".into()), ..SessionOptions::default() },
    };
    app.client.create_session_with(&login).await.unwrap();
    app.wait_for_mail(&user.email, "Welcome to Parley").await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(!app.mail_files().iter().any(|m| m.contains(&user.email) && m.contains("New login")), "no new-device mail");
    let events = user.client.security_events().await.unwrap().events;
    assert!(events.iter().any(|e| e.kind == "new_device_login"), "the event is still recorded");
}
