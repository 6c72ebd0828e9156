//! Small helpers shared by the API tests.

use std::path::Path;

use parley_api::ProblemCode;
use parley_api::client::ClientError;
use parley_api::conversations::{ConversationResponse, CreateConversationRequest, Role};
use parley_api::messages::{MessageResponse, SendMessageRequest};
use parley_testkit::TestUser;
use sqlx::Connection as _;
use uuid::Uuid;

/// Asserts that a call failed with this status and code.
#[track_caller]
pub fn assert_problem<T: std::fmt::Debug>(result: Result<T, ClientError>, status: u16, code: ProblemCode) {
    match result {
        Err(ClientError::Problem(problem)) => {
            assert_eq!((problem.status, problem.code), (status, code), "{problem:?}");
            assert!(problem.request_id.is_some(), "every problem carries the request id");
        }
        other => panic!("expected {status} {code:?}, got {other:?}"),
    }
}

/// `buyer` opens a conversation with `seller` about `listing`.
pub async fn open_conversation(buyer: &TestUser, seller: &TestUser, listing: &str) -> ConversationResponse {
    let request = CreateConversationRequest { with: seller.handle.clone(), listing_id: Some(listing.to_owned()), my_role: Role::Buyer };
    buyer.client.create_conversation(&request).await.expect("open conversation").1
}

/// `author` sends `body` with a fresh client message id.
pub async fn send(author: &TestUser, conversation: Uuid, body: &str) -> MessageResponse {
    let request = SendMessageRequest { client_msg_id: Uuid::new_v4().to_string(), body: body.to_owned() };
    author.client.send_message(conversation, &request).await.expect("send").1
}

/// A reqwest client that trusts the test CA, for raw requests.
pub fn raw_client(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder().tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()]).build().unwrap()
}

/// A consistent copy of a live SQLite database (what an online backup would take).
pub async fn snapshot(live: &Path, copy: &Path) {
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", live.display())).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{}'", copy.display()))).execute(&mut db).await.unwrap();
    db.close().await.unwrap();
}
