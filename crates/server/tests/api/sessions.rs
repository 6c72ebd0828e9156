use std::time::Duration;

use parley_api::ProblemCode;
use parley_api::client::ClientError;
use parley_testkit::{PASSWORD, TestApp};

use crate::helpers::{assert_problem, raw_client};

#[tokio::test]
async fn login_by_handle_or_email_issues_fresh_tokens() {
    let app = TestApp::spawn().await;
    let user = app.user("login").await;
    let by_handle = app.client.create_session(&user.handle.to_uppercase(), PASSWORD).await.unwrap();
    let by_email = app.client.create_session(&user.email.to_uppercase(), PASSWORD).await.unwrap();
    assert!(by_handle.token.as_deref().unwrap().starts_with("prly_s_"));
    assert_ne!(by_handle.token, by_email.token);
    assert_ne!(by_handle.token.as_deref(), Some(user.token.as_str()));
    assert_eq!(app.client.authenticated(by_email.token.as_deref().unwrap()).me().await.unwrap().id, user.id);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = TestApp::spawn().await;
    let user = app.user("victim").await;
    let wrong = app.client.create_session(&user.handle, "not the password at all").await;
    let unknown = app.client.create_session("nobody_here", "not the password at all").await;
    let malformed = app.client.create_session("", "x").await;
    let strip = |result: Result<_, ClientError>| match result {
        Err(ClientError::Problem(problem)) => (problem.status, problem.code, problem.title, problem.detail),
        other => panic!("{other:?}"),
    };
    let wrong = strip(wrong);
    assert_eq!(wrong.0, 401);
    assert_eq!(wrong.1, ProblemCode::InvalidCredentials);
    assert_eq!(wrong, strip(unknown));
    assert_eq!(wrong, strip(malformed));
}

#[tokio::test]
async fn password_check_is_byte_exact() {
    let app = TestApp::spawn().await;
    let user = app.user("exact").await;
    for near_miss in [PASSWORD.to_uppercase(), format!("{PASSWORD} "), format!(" {PASSWORD}"), PASSWORD[..PASSWORD.len() - 1].to_owned()] {
        assert_problem(app.client.create_session(&user.handle, &near_miss).await, 401, ProblemCode::InvalidCredentials);
    }
}

#[tokio::test]
async fn logout_destroys_the_session_everywhere_at_once() {
    let app = TestApp::spawn().await;
    let user = app.user("leaver").await;
    let other_session = app.client.create_session(&user.handle, PASSWORD).await.unwrap();
    user.client.delete_current_session().await.unwrap();
    assert_problem(user.client.me().await, 401, ProblemCode::Unauthenticated);
    assert_problem(user.client.delete_current_session().await, 401, ProblemCode::Unauthenticated);
    // Other devices stay logged in.
    app.client.authenticated(other_session.token.as_deref().unwrap()).me().await.unwrap();
}

#[tokio::test]
async fn sessions_expire_when_idle() {
    let app = TestApp::spawn().await;
    let user = app.user("idler").await;
    app.clock.advance(Duration::from_secs(29 * 60));
    user.client.me().await.unwrap();
    app.clock.advance(Duration::from_secs(29 * 60));
    user.client.me().await.expect("activity keeps the session alive");
    app.clock.advance(Duration::from_secs(31 * 60));
    assert_problem(user.client.me().await, 401, ProblemCode::Unauthenticated);
}

#[tokio::test]
async fn sessions_expire_after_twelve_hours_however_busy() {
    let app = TestApp::spawn().await;
    let user = app.user("busy").await;
    for _ in 0..(12 * 60 / 20) - 1 {
        app.clock.advance(Duration::from_secs(20 * 60));
        user.client.me().await.unwrap();
    }
    app.clock.advance(Duration::from_secs(20 * 60 + 1));
    assert_problem(user.client.me().await, 401, ProblemCode::Unauthenticated);
}

#[tokio::test]
async fn tokens_are_not_accepted_in_the_url() {
    let app = TestApp::spawn().await;
    let user = app.user("urltoken").await;
    let http = raw_client(&app.ca_pem);
    for query in ["token", "access_token", "authorization"] {
        let response = http.get(format!("{}/v1/me?{query}={}", app.url, user.token)).send().await.unwrap();
        assert_eq!(response.status(), 401, "?{query}=");
    }
}
