use std::time::Duration;

use parley_api::ProblemCode;
use parley_api::client::{ClientError, Stream, StreamAuth, StreamEvent};
use parley_api::stream::{ClientFrame, ServerFrame};
use parley_testkit::{PASSWORD, TestApp, TestUser};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{assert_problem, open_conversation, send};

const WAIT: Duration = Duration::from_secs(10);

async fn connect(user: &TestUser) -> Stream {
    let mut stream = user.client.open_stream().await.expect("stream opens");
    match tokio::time::timeout(WAIT, stream.next_frame()).await.expect("ready in time").unwrap() {
        ServerFrame::Ready { user_id, .. } => assert_eq!(user_id, user.id),
        other => panic!("expected ready, got {other:?}"),
    }
    stream
}

async fn next_frame(stream: &mut Stream) -> ServerFrame {
    tokio::time::timeout(WAIT, stream.next_frame()).await.expect("a frame in time").unwrap()
}

async fn next_close(stream: &mut Stream) -> Option<u16> {
    loop {
        match tokio::time::timeout(WAIT, stream.next_event()).await.expect("closed in time") {
            Ok(StreamEvent::Closed(code)) => return code,
            Ok(StreamEvent::Frame(_)) => {}
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn every_session_of_both_parties_receives_the_message() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let buyer_phone = app.client.authenticated(&app.client.create_session(&buyer.handle, PASSWORD).await.unwrap().token.unwrap());
    let conversation = open_conversation(&buyer, &seller, "l1").await;
    let mut buyer_laptop = connect(&buyer).await;
    let mut buyer_phone = buyer_phone.open_stream().await.unwrap();
    assert!(matches!(next_frame(&mut buyer_phone).await, ServerFrame::Ready { .. }));
    let mut seller_stream = connect(&seller).await;

    let sent = send(&buyer, conversation.id, "real-time hello").await;
    for (stream, mine) in [(&mut buyer_laptop, true), (&mut buyer_phone, true), (&mut seller_stream, false)] {
        match next_frame(stream).await {
            ServerFrame::Message { message } => {
                assert_eq!(
                    (message.id, message.seq, message.body.as_deref().unwrap(), message.mine),
                    (sent.id, 1, "real-time hello", mine)
                );
            }
            other => panic!("expected the message, got {other:?}"),
        }
    }
    let reply = send(&seller, conversation.id, "and back").await;
    assert!(matches!(next_frame(&mut buyer_laptop).await, ServerFrame::Message { message } if message.id == reply.id && message.seq == 2));
}

#[tokio::test]
async fn an_outsider_hears_nothing() {
    let app = TestApp::spawn().await;
    let (buyer, seller, outsider) = (app.user("buyer").await, app.user("seller").await, app.user("outsider").await);
    let conversation = open_conversation(&buyer, &seller, "l1").await;
    let mut spy = connect(&outsider).await;
    let mut seller_stream = connect(&seller).await;
    for n in 0..5 {
        send(&buyer, conversation.id, &format!("private {n}")).await;
        assert!(matches!(next_frame(&mut seller_stream).await, ServerFrame::Message { .. }));
    }
    spy.send(&ClientFrame::Ping).await.unwrap();
    assert_eq!(next_frame(&mut spy).await, ServerFrame::Pong, "the outsider's next frame is the pong, not a message");
}

#[tokio::test]
async fn the_stream_refuses_missing_bad_or_url_tokens() {
    let app = TestApp::spawn().await;
    let user = app.user("streamer").await;
    assert_problem(app.client.open_stream_with(StreamAuth::None, &[]).await.map(|_| ()), 401, ProblemCode::Unauthenticated);
    assert_problem(app.client.authenticated("prly_s_forged").open_stream().await.map(|_| ()), 401, ProblemCode::Unauthenticated);
    let in_url = app.client.open_stream_with(StreamAuth::Ticket(&format!("x&token={}", user.token)), &[]).await;
    assert!(in_url.is_err(), "a token smuggled into the query must not open the stream");
    let logged_out = app.client.authenticated(&user.token);
    user.client.delete_current_session().await.unwrap();
    assert_problem(logged_out.open_stream().await.map(|_| ()), 401, ProblemCode::Unauthenticated);
}

#[tokio::test]
async fn tickets_work_once_and_expire() {
    let app = TestApp::spawn().await;
    let user = app.user("browser").await;
    let ticket = user.client.create_stream_ticket().await.unwrap();
    assert!(ticket.ticket.starts_with("prly_t_"));
    let mut stream = app.client.open_stream_with(StreamAuth::Ticket(&ticket.ticket), &[]).await.unwrap();
    assert!(matches!(next_frame(&mut stream).await, ServerFrame::Ready { user_id, .. } if user_id == user.id));
    let reused = app.client.open_stream_with(StreamAuth::Ticket(&ticket.ticket), &[]).await;
    assert_problem(reused.map(|_| ()), 401, ProblemCode::Unauthenticated);
    let stale = user.client.create_stream_ticket().await.unwrap();
    app.clock.advance(Duration::from_secs(31));
    assert_problem(
        app.client.open_stream_with(StreamAuth::Ticket(&stale.ticket), &[]).await.map(|_| ()),
        401,
        ProblemCode::Unauthenticated,
    );
    assert_problem(app.client.create_stream_ticket().await, 401, ProblemCode::Unauthenticated);
}

#[tokio::test]
async fn foreign_origins_cannot_open_the_stream() {
    let app = TestApp::spawn_with(|config| config.http.allowed_origins = vec!["https://market.example".into()]).await;
    let user = app.user("origin").await;
    let evil = user.client.open_stream_with(StreamAuth::Header, &[("origin", "https://evil.example")]).await;
    assert_problem(evil.map(|_| ()), 403, ProblemCode::ForbiddenOrigin);
    let own_origin = app.url.clone();
    user.client.open_stream_with(StreamAuth::Header, &[("origin", &own_origin)]).await.unwrap();
    user.client.open_stream_with(StreamAuth::Header, &[("origin", "https://market.example")]).await.unwrap();
}

#[tokio::test]
async fn logout_closes_the_sessions_sockets() {
    let app = TestApp::spawn().await;
    let user = app.user("leaving").await;
    let mut stream = connect(&user).await;
    user.client.delete_current_session().await.unwrap();
    assert_eq!(next_close(&mut stream).await, Some(4401));
}

#[tokio::test]
async fn revoking_sessions_or_changing_the_password_closes_their_sockets_at_once() {
    let app = TestApp::spawn().await;
    let user = app.user("revoker").await;
    let open_on_another_session = || async {
        let other = app.client.create_session(&user.handle, PASSWORD).await.unwrap();
        let mut stream = app.client.authenticated(other.token.as_deref().unwrap()).open_stream().await.unwrap();
        assert!(matches!(next_frame(&mut stream).await, ServerFrame::Ready { .. }));
        (other.session_id, stream)
    };
    let (phone, mut phone_stream) = open_on_another_session().await;
    user.client.revoke_session(phone).await.unwrap();
    assert_eq!(next_close(&mut phone_stream).await, Some(4401));
    let (_, mut tablet_stream) = open_on_another_session().await;
    user.client.revoke_other_sessions().await.unwrap();
    assert_eq!(next_close(&mut tablet_stream).await, Some(4401));
    let (_, mut laptop_stream) = open_on_another_session().await;
    let mut own_stream = connect(&user).await;
    user.client.change_password(PASSWORD, "a brand new passphrase").await.unwrap();
    assert_eq!(next_close(&mut laptop_stream).await, Some(4401));
    // The session that changed the password lives on, and so does its socket.
    let conversation = open_conversation(&user, &app.user("peer").await, "listing-1").await;
    send(&user, conversation.id, "still here").await;
    assert!(matches!(next_frame(&mut own_stream).await, ServerFrame::Message { .. }));
}

#[tokio::test]
async fn oversized_and_binary_frames_close_the_socket_with_the_right_code() {
    let app = TestApp::spawn().await;
    let user = app.user("flooder").await;
    let mut stream = connect(&user).await;
    stream.send_raw(Message::Text("x".repeat(70 * 1024).into())).await.unwrap();
    assert_eq!(next_close(&mut stream).await, Some(1009));

    let mut stream = connect(&user).await;
    stream.send_raw(Message::Binary(vec![1, 2, 3].into())).await.unwrap();
    assert_eq!(next_close(&mut stream).await, Some(1008));

    let mut stream = connect(&user).await;
    stream.send_raw(Message::Text("{not json".into())).await.unwrap();
    assert_eq!(next_frame(&mut stream).await, ServerFrame::Error { code: "malformed_request".into() });
    stream.send(&ClientFrame::Ping).await.unwrap();
    assert_eq!(next_frame(&mut stream).await, ServerFrame::Pong, "the socket survives a bad frame");
}

#[tokio::test]
async fn too_many_sockets_per_user_are_refused() {
    let app = TestApp::spawn_with(|config| config.stream.max_connections_per_user = 2).await;
    let user = app.user("hoarder").await;
    let first = connect(&user).await;
    let _second = connect(&user).await;
    assert_problem(user.client.open_stream().await.map(|_| ()), 429, ProblemCode::RateLimited);
    first.close().await.unwrap();
    // The slot comes back once the server has seen the close.
    let mut reopened = Err(ClientError::WebSocket("not yet".into()));
    for _ in 0..50 {
        reopened = user.client.open_stream().await;
        if reopened.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened.is_ok(), "{:?}", reopened.err());
}

#[tokio::test]
async fn shutdown_closes_sockets_with_going_away() {
    let app = TestApp::spawn().await;
    let user = app.user("lastone").await;
    let mut stream = connect(&user).await;
    app.shutdown_token().cancel();
    assert_eq!(next_close(&mut stream).await, Some(1001));
    app.stop().await;
}

#[tokio::test]
async fn a_reconnecting_client_catches_up_by_sequence() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "l1").await;
    let mut stream = connect(&seller).await;
    send(&buyer, conversation.id, "one").await;
    let ServerFrame::Message { message } = next_frame(&mut stream).await else { panic!("message") };
    let last_seen = message.seq;
    stream.close().await.unwrap();
    for body in ["two", "three"] {
        send(&buyer, conversation.id, body).await;
    }
    let missed = seller
        .client
        .list_messages(conversation.id, &parley_api::messages::ListMessagesQuery { after: Some(last_seen), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(missed.items.iter().map(|m| (m.seq, m.body.as_deref().unwrap())).collect::<Vec<_>>(), [(2, "two"), (3, "three")]);
}

#[tokio::test]
async fn tickets_are_rate_limited_per_user() {
    let app = TestApp::spawn().await;
    let user = app.user("ticketer").await;
    for _ in 0..10 {
        user.client.create_stream_ticket().await.unwrap();
    }
    assert_problem(user.client.create_stream_ticket().await, 429, ProblemCode::RateLimited);
}

#[tokio::test]
async fn a_new_connection_gets_only_what_is_sent_after_it_opened() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "l1").await;
    for body in ["old one", "old two", "old three"] {
        send(&buyer, conversation.id, body).await;
    }
    app.clock.advance(Duration::from_secs(1));
    let mut stream = connect(&seller).await;
    for body in ["new one", "new two"] {
        send(&buyer, conversation.id, body).await;
    }
    let mut received = Vec::new();
    while received.len() < 2 {
        if let ServerFrame::Message { message } = next_frame(&mut stream).await {
            received.push((message.seq, message.body.unwrap()));
        }
    }
    assert_eq!(received, [(4, "new one".to_owned()), (5, "new two".to_owned())]);
    stream.send(&ClientFrame::Ping).await.unwrap();
    assert_eq!(next_frame(&mut stream).await, ServerFrame::Pong, "nothing else was delivered");
}

#[tokio::test]
async fn edits_and_deletions_reach_both_parties_live() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "chair-1").await;
    let mut seller_stream = connect(&seller).await;
    let mut buyer_stream = connect(&buyer).await;
    let sent = send(&buyer, conversation.id, "I offer 40").await;
    for stream in [&mut seller_stream, &mut buyer_stream] {
        assert!(matches!(next_frame(stream).await, ServerFrame::Message { message } if message.id == sent.id));
    }

    buyer.client.edit_message(conversation.id, sent.id, "I offer 45").await.unwrap();
    for stream in [&mut seller_stream, &mut buyer_stream] {
        match next_frame(stream).await {
            ServerFrame::MessageUpdated { message } => {
                assert_eq!((message.id, message.seq, message.body.as_deref()), (sent.id, 1, Some("I offer 45")));
                assert!(message.edited_at.is_some());
            }
            other => panic!("expected the edit, got {other:?}"),
        }
    }
    buyer.client.delete_message(conversation.id, sent.id, "everyone").await.unwrap();
    match next_frame(&mut seller_stream).await {
        ServerFrame::MessageUpdated { message } => assert_eq!((message.id, message.body), (sent.id, None)),
        other => panic!("expected the deletion, got {other:?}"),
    }
    // Deleting for oneself tells no one.
    let other = send(&seller, conversation.id, "ok").await;
    assert!(matches!(next_frame(&mut seller_stream).await, ServerFrame::Message { message } if message.id == other.id));
    seller.client.delete_message(conversation.id, other.id, "me").await.unwrap();
    seller_stream.send(&ClientFrame::Ping).await.unwrap();
    assert_eq!(next_frame(&mut seller_stream).await, ServerFrame::Pong);
}
