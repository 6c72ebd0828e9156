//! What careless and hostile clients send: every one gets a 4xx problem body, never a 500.

use parley_testkit::{PASSWORD, TestApp};

use crate::helpers::{open_conversation, raw_client};

async fn expect_problem(response: reqwest::Response, status: u16, code: &str) {
    assert_eq!(response.status().as_u16(), status, "{}", response.url());
    assert_eq!(response.headers()["content-type"], "application/problem+json; charset=utf-8");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(body["request_id"].is_string());
}

#[tokio::test]
async fn malformed_bodies_get_their_4xx() {
    let app = TestApp::spawn().await;
    let http = raw_client(&app.ca_pem);
    let url = format!("{}/v1/accounts", app.url);
    let json = |body: Vec<u8>| http.post(&url).header("content-type", "application/json").body(body);

    expect_problem(json(b"{\"handle\": ".to_vec()).send().await.unwrap(), 400, "malformed_request").await;
    expect_problem(json(b"not json at all".to_vec()).send().await.unwrap(), 400, "malformed_request").await;
    let mut bad_utf8 = b"{\"handle\": \"abc".to_vec();
    bad_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    bad_utf8.extend_from_slice(b"\", \"email\": \"a@example.org\", \"password\": \"xxxxxxxxxxxx\"}");
    expect_problem(json(bad_utf8).send().await.unwrap(), 400, "malformed_request").await;
    expect_problem(json(b"[[[[[[[[[[".repeat(20_00)).send().await.unwrap(), 400, "malformed_request").await;
    expect_problem(json(b"{\"handle\": 5, \"email\": [], \"password\": {}}".to_vec()).send().await.unwrap(), 400, "malformed_request")
        .await;
    expect_problem(
        json(b"{\"handle\":\"a\",\"handle\":\"b\",\"email\":\"a@example.org\",\"password\":\"x\"}".to_vec()).send().await.unwrap(),
        400,
        "malformed_request",
    )
    .await;
    expect_problem(http.post(&url).header("content-type", "text/plain").body("{}").send().await.unwrap(), 415, "unsupported_media_type")
        .await;
    expect_problem(http.post(&url).body("{}").send().await.unwrap(), 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_whether_declared_or_streamed() {
    let app = TestApp::spawn().await;
    let http = raw_client(&app.ca_pem);
    let url = format!("{}/v1/accounts", app.url);
    let huge = format!("{{\"handle\": \"{}\"}}", "a".repeat(200 * 1024));
    let declared = http.post(&url).header("content-type", "application/json").body(huge.clone()).send().await.unwrap();
    expect_problem(declared, 413, "payload_too_large").await;
    let chunks =
        futures_util::stream::iter(huge.into_bytes().chunks(8 * 1024).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>());
    let streamed =
        http.post(&url).header("content-type", "application/json").body(reqwest::Body::wrap_stream(chunks)).send().await.unwrap();
    expect_problem(streamed, 413, "payload_too_large").await;
}

/// A request refused before its body is parsed (no credentials) must still get its answer on a
/// kept-alive connection, however large the body: the server reads the body first, so it never
/// closes the connection while the client is still writing (which the client sees as a reset).
#[tokio::test]
async fn early_refusals_of_large_bodies_are_answered_not_reset() {
    let app = TestApp::spawn().await;
    let http = raw_client(&app.ca_pem);
    let url = format!("{}/v1/conversations/00000000-0000-0000-0000-000000000000/messages", app.url);
    let body = format!("{{\"client_msg_id\": \"a\", \"body\": \"{}\"}}", "\u{1F600}".repeat(15_000));
    for _ in 0..40 {
        let response = http.post(&url).header("content-type", "application/json").body(body.clone()).send().await.unwrap();
        expect_problem(response, 401, "unauthenticated").await;
    }
}

#[tokio::test]
async fn hostile_requests_never_cause_a_server_error() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "l1").await;
    let http = raw_client(&app.ca_pem);
    let base = &app.url;
    let id = conversation.id;
    let requests = vec![
        http.get(format!("{base}/v1/conversations/{id}/messages?limit=-1")),
        http.get(format!("{base}/v1/conversations/{id}/messages?before=abc")),
        http.get(format!("{base}/v1/conversations/{id}/messages?before=9223372036854775807")),
        http.get(format!("{base}/v1/conversations/{id}/messages?after=1&after=2")),
        http.get(format!("{base}/v1/conversations?cursor=%00%ff")),
        http.get(format!("{base}/v1/conversations?cursor=9223372036854775807.00000000-0000-0000-0000-000000000000")),
        http.post(format!("{base}/v1/conversations"))
            .header("content-type", "application/json")
            .body("{\"with\": \"x\", \"my_role\": \"admin\"}"),
        http.post(format!("{base}/v1/conversations/{id}/messages"))
            .header("content-type", "application/json")
            .body("{\"client_msg_id\": \"a\", \"body\": 12}"),
        http.post(format!("{base}/v1/conversations/{id}/messages"))
            .header("content-type", "application/json")
            .body("{\"client_msg_id\": \"a\", \"body\": \"x\", \"seq\": 99}"),
        http.post(format!("{base}/v1/conversations/{id}/messages"))
            .header("content-type", "application/json")
            .body("{\"client_msg_id\": \"a\", \"body\": \"\\ud800\"}"),
        http.get(format!("{base}/v1/conversations/{id}%27%20OR%201%3D1--/messages")),
        http.get(format!("{base}/v1/conversations/{}/messages", "9".repeat(5000))),
        http.delete(format!("{base}/v1/conversations/{id}/messages")),
        http.put(format!("{base}/v1/me")),
    ];
    for request in requests {
        let response = request.bearer_auth(&buyer.token).send().await.unwrap();
        let status = response.status();
        let url = response.url().clone();
        assert!(!status.is_server_error(), "{url} -> {status}");
        if status.is_client_error() {
            let body: serde_json::Value = response.json().await.unwrap();
            assert!(body["code"].is_string(), "{url}: {body}");
        }
    }
    // And the server is still well.
    assert_eq!(app.client.health().await.unwrap().status, "ok");
    app.client.create_session(&buyer.handle, PASSWORD).await.unwrap();
}
