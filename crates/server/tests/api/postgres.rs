//! The chat scenario on PostgreSQL, through the real server: sign-up, login, a conversation,
//! real-time delivery, an idempotent retry, the outsider's 404.

use parley_api::ProblemCode;
use parley_api::messages::{ListMessagesQuery, SendMessageRequest};
use parley_api::stream::ServerFrame;
use parley_testkit::TestApp;
use parley_testkit::postgres::ScratchSchema;

use crate::helpers::{assert_problem, open_conversation};

#[tokio::test]
async fn a_chat_works_end_to_end_on_postgres() {
    let Some(data) = ScratchSchema::create("chat").await else { return };
    let Some(keys) = ScratchSchema::create_for_keys("chat_keys").await else { return };
    let app = TestApp::spawn_with(|config| {
        config.database_url = data.url().to_owned();
        config.database_schema = data.name.clone();
        config.key_store_url = keys.url().to_owned();
        config.key_store_schema = keys.name.clone();
    })
    .await;
    let (buyer, seller, outsider) = (app.user("buyer").await, app.user("seller").await, app.user("outsider").await);
    let conversation = open_conversation(&buyer, &seller, "sofa-3").await;
    let mut seller_stream = seller.client.open_stream().await.unwrap();
    assert!(matches!(seller_stream.next_frame().await.unwrap(), ServerFrame::Ready { .. }));

    let request = SendMessageRequest { client_msg_id: "pg-1".into(), body: "Still for sale?".into() };
    let (status, sent) = buyer.client.send_message(conversation.id, &request).await.unwrap();
    assert_eq!(status, 201);
    let (status, retried) = buyer.client.send_message(conversation.id, &request).await.unwrap();
    assert_eq!((status, retried.id), (200, sent.id));
    match tokio::time::timeout(std::time::Duration::from_secs(10), seller_stream.next_frame()).await.unwrap().unwrap() {
        ServerFrame::Message { message } => assert_eq!((message.id, message.body.as_deref().unwrap()), (sent.id, "Still for sale?")),
        other => panic!("{other:?}"),
    }
    let page = seller.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_problem(outsider.client.list_messages(conversation.id, &ListMessagesQuery::default()).await, 404, ProblemCode::NotFound);
    assert_eq!(buyer.client.me().await.unwrap().email, Some(buyer.email.clone()));
    // PostgreSQL text cannot hold NUL: such a login must fail like any wrong login, not 500.
    assert_problem(app.client.create_session("nul\u{0}byte", "whatever password").await, 401, ProblemCode::InvalidCredentials);
    app.stop().await;
    data.drop_schema().await;
    keys.drop_schema().await;
}
