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

#[tokio::test]
async fn an_export_holds_everything_about_its_user_and_nothing_of_others_but_handles() {
    let app = TestApp::spawn().await;
    let (user, other, blocked) = (app.user("exporter").await, app.user("counterpart").await, app.user("pest").await);
    let conversation = open_conversation(&user, &other, "camera-3").await;
    send(&user, conversation.id, "Is the lens included?").await;
    send(&other, conversation.id, "Yes, and the cap").await;
    user.client.set_preferences(&preferences("about_my_listings", true)).await.unwrap();
    user.client.block(&blocked.handle).await.unwrap();
    user.client.start_totp().await.unwrap();

    let created = user.client.request_export().await.unwrap();
    assert!(created.download.starts_with("/v1/me/exports/prly_e_") && created.download.len() > 50, "an unguessable link");
    assert_problem(other.client.download_export(&created.download).await, 404, ProblemCode::NotFound);
    let archive = user.client.download_export(&created.download).await.unwrap();
    assert_problem(user.client.download_export(&created.download).await, 404, ProblemCode::NotFound);

    assert_eq!(archive.format, "parley-export/1");
    assert_eq!((archive.account.handle.as_str(), archive.account.email.as_deref()), (user.handle.as_str(), Some(user.email.as_str())));
    assert_eq!(archive.preferences, preferences("about_my_listings", true));
    assert_eq!(archive.blocked[0].handle, blocked.handle);
    assert!(!archive.sessions.is_empty() && archive.security_events.iter().any(|e| e.kind == "account_created"));
    assert!(!archive.two_factor.totp, "an enrolment not yet confirmed is not a factor");
    let exported = &archive.conversations[0];
    assert_eq!((exported.other_party.as_str(), exported.my_role.as_str()), (other.handle.as_str(), "buyer"));
    let bodies: Vec<_> = exported.messages.iter().map(|m| (m.author.as_str(), m.body.as_deref().unwrap())).collect();
    assert_eq!(bodies, [("me", "Is the lens included?"), (other.handle.as_str(), "Yes, and the cap")]);
    let text = serde_json::to_string(&archive).unwrap();
    for foreign in [other.email.as_str(), blocked.email.as_str(), other.token.as_str()] {
        assert!(!text.contains(foreign), "another user's data leaked into the export");
    }
}

#[tokio::test]
async fn exports_are_rate_limited_and_their_links_expire() {
    let app = TestApp::spawn().await;
    let user = app.user("hoarder").await;
    let first = user.client.request_export().await.unwrap();
    user.client.request_export().await.unwrap();
    user.client.request_export().await.unwrap();
    assert_problem(user.client.request_export().await, 429, ProblemCode::RateLimited);
    app.clock.advance(std::time::Duration::from_secs(24 * 60 * 60 + 1));
    let fresh = app.client.create_session(&user.handle, PASSWORD).await.unwrap();
    let client = app.client.authenticated(fresh.token.as_deref().unwrap());
    assert_problem(client.download_export(&first.download).await, 404, ProblemCode::NotFound);
}
