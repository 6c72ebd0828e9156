//! Personal data typed into plaintext messages is masked before storage (by default) and the
//! sender is told what was found.

use parley_api::messages::{ListMessagesQuery, SendMessageRequest};
use parley_server::config::PiiPolicyConfig;
use parley_testkit::TestApp;
use uuid::Uuid;

use crate::helpers::open_conversation;

const RAW: &str = "Call me on +44 20 7946 0958 or john at gmail dot com, card 4111 1111 1111 1111";

#[tokio::test]
async fn personal_data_is_masked_before_storage_and_the_sender_is_told() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "phone-case").await;
    let request = SendMessageRequest { client_msg_id: Uuid::new_v4().to_string(), body: RAW.to_owned() };
    let (status, sent) = buyer.client.send_message(conversation.id, &request).await.unwrap();
    assert_eq!(status, 201);
    let masked = "Call me on [phone number hidden] or [email hidden], card [card number hidden]";
    assert_eq!(sent.body.as_deref(), Some(masked));
    assert_eq!(sent.pii, ["phone", "email", "card"]);
    let seen = seller.client.list_messages(conversation.id, &ListMessagesQuery::default()).await.unwrap();
    assert_eq!(seen.items[0].body.as_deref(), Some(masked));
    assert!(seen.items[0].pii.is_empty(), "only the sender is told");
    // A retry of the same send is recognised: masking is deterministic.
    let (status, again) = buyer.client.send_message(conversation.id, &request).await.unwrap();
    assert_eq!((status, again.id), (200, sent.id));
    // A message without personal data is stored as written.
    let plain = SendMessageRequest { client_msg_id: Uuid::new_v4().to_string(), body: "Is it still $1,299?".to_owned() };
    let (_, plain) = buyer.client.send_message(conversation.id, &plain).await.unwrap();
    assert_eq!((plain.body.as_deref(), plain.pii.len()), (Some("Is it still $1,299?"), 0));
}

#[tokio::test]
async fn a_warn_only_deployment_keeps_the_text_and_still_tells_the_sender() {
    let app = TestApp::spawn_with(|config| config.privacy.pii = PiiPolicyConfig::WarnOnly).await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "phone-case").await;
    let request = SendMessageRequest { client_msg_id: Uuid::new_v4().to_string(), body: RAW.to_owned() };
    let (_, sent) = buyer.client.send_message(conversation.id, &request).await.unwrap();
    assert_eq!((sent.body.as_deref(), sent.pii.len()), (Some(RAW), 3));
}
