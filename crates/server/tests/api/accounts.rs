use parley_api::ProblemCode;
use parley_api::accounts::CreateAccountRequest;
use parley_testkit::{PASSWORD, TestApp};

use crate::helpers::{assert_problem, raw_client};

fn request(handle: &str, email: &str, password: &str) -> CreateAccountRequest {
    CreateAccountRequest { handle: handle.to_owned(), email: email.to_owned(), password: password.to_owned(), accepted_policy_version: 1 }
}

#[tokio::test]
async fn sign_up_then_see_your_own_profile() {
    let app = TestApp::spawn().await;
    let padded = app.client.create_account(&request(" Vintage_Cams", "Jane.Doe@Example.org", PASSWORD)).await;
    assert_problem(padded, 422, ProblemCode::ValidationFailed);
    let account = app.client.create_account(&request("Vintage_Cams", "Jane.Doe@Example.org", PASSWORD)).await.unwrap();
    assert_eq!(account.handle, "Vintage_Cams");
    let session = app.client.create_session("vintage_cams", PASSWORD).await.unwrap();
    let me = app.client.authenticated(session.token.as_deref().unwrap()).me().await.unwrap();
    assert_eq!(me.id, account.id);
    assert_eq!(me.handle, "Vintage_Cams");
    assert_eq!(me.email.as_deref(), Some("jane.doe@example.org"));
}

#[tokio::test]
async fn handles_and_emails_are_unique_ignoring_case() {
    let app = TestApp::spawn().await;
    app.client.create_account(&request("seller_one", "one@example.org", PASSWORD)).await.unwrap();
    assert_problem(app.client.create_account(&request("SELLER_ONE", "two@example.org", PASSWORD)).await, 409, ProblemCode::HandleTaken);
    assert_problem(app.client.create_account(&request("seller_two", "ONE@example.org", PASSWORD)).await, 409, ProblemCode::EmailTaken);
}

#[tokio::test]
async fn invalid_fields_are_named_and_never_echoed() {
    let app = TestApp::spawn().await;
    let cases = [
        (request("ab", "a@example.org", PASSWORD), "handle", "too_short"),
        (request("bob'; DROP TABLE users;--", "a@example.org", PASSWORD), "handle", "invalid_characters"),
        (request("admin", "a@example.org", PASSWORD), "handle", "reserved"),
        (request("valid_handle", "not-an-email", PASSWORD), "email", "invalid_format"),
        (request("valid_handle", "a@example.org", "Zq9!kpw"), "password", "too_short"),
        (request("valid_handle", "a@example.org", "password123"), "password", "too_common"),
        (request("valid_handle", "a@example.org", "my valid_handle!"), "password", "contains_personal_or_product_name"),
        (request("valid_handle", "a@example.org", &"x".repeat(129)), "password", "too_long"),
    ];
    for (body, field, reason) in cases {
        match app.client.create_account(&body).await {
            Err(parley_api::client::ClientError::Problem(problem)) => {
                assert_eq!((problem.status, problem.code), (422, ProblemCode::ValidationFailed));
                assert_eq!((problem.field.as_deref(), problem.reason.as_deref()), (Some(field), Some(reason)));
                let text = serde_json::to_string(&problem).unwrap();
                assert!(!text.contains(&body.password) && !text.contains(&body.email), "the problem echoes input: {text}");
            }
            other => panic!("{field}/{reason}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn extra_fields_cannot_grant_anything() {
    let app = TestApp::spawn().await;
    let body = serde_json::json!({"handle": "sneaky", "email": "s@example.org", "password": PASSWORD, "role": "admin"});
    let response = raw_client(&app.ca_pem).post(format!("{}/v1/accounts", app.url)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "malformed_request");
    assert_eq!(problem["detail"], "unknown field `role`");
}

#[tokio::test]
async fn unusual_but_valid_emails_round_trip_exactly() {
    let app = TestApp::spawn().await;
    app.client.create_account(&request("obrien", "o'brien+chat@example.org", PASSWORD)).await.unwrap();
    let session = app.client.create_session("O'Brien+Chat@Example.org", PASSWORD).await.unwrap();
    assert_eq!(
        app.client.authenticated(session.token.as_deref().unwrap()).me().await.unwrap().email.as_deref(),
        Some("o'brien+chat@example.org")
    );
}

#[tokio::test]
async fn profile_needs_a_session() {
    let app = TestApp::spawn().await;
    assert_problem(app.client.me().await, 401, ProblemCode::Unauthenticated);
    assert_problem(app.client.authenticated("prly_s_forged").me().await, 401, ProblemCode::Unauthenticated);
    let response = raw_client(&app.ca_pem).get(format!("{}/v1/me", app.url)).send().await.unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn sign_ups_from_one_address_are_rate_limited() {
    let app = TestApp::spawn_with(|config| {
        config.http.auth_attempts_burst = 3;
        config.http.auth_attempts_per_minute = 3;
    })
    .await;
    for n in 0..3 {
        app.client.create_account(&request(&format!("burst{n}"), &format!("b{n}@example.org"), PASSWORD)).await.unwrap();
    }
    let limited = app.client.create_account(&request("burst3", "b3@example.org", PASSWORD)).await;
    assert_problem(limited, 429, ProblemCode::RateLimited);
    let response = raw_client(&app.ca_pem)
        .post(format!("{}/v1/sessions", app.url))
        .json(&serde_json::json!({"login": "burst0", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    app.clock.advance(std::time::Duration::from_secs(60));
    app.client.create_session("burst0", PASSWORD).await.unwrap();
}

#[tokio::test]
async fn users_correct_their_email_address_with_their_password() {
    let app = TestApp::spawn().await;
    let user = app.user("mover").await;
    let other = app.user("neighbour").await;
    assert_problem(user.client.change_email("new@mail.example.org", None).await, 401, ProblemCode::InvalidCredentials);
    assert_problem(user.client.change_email(&other.email, Some(PASSWORD)).await, 409, ProblemCode::EmailTaken);
    assert_problem(user.client.change_email("not an address", Some(PASSWORD)).await, 422, ProblemCode::ValidationFailed);
    let me = user.client.change_email("new@mail.example.org", Some(PASSWORD)).await.unwrap();
    assert_eq!(me.email.as_deref(), Some("new@mail.example.org"));
    // The owner hears of it where they read their mail until now.
    app.wait_for_mail(&user.email, "Your email address was changed").await;
    app.client.create_session("new@mail.example.org", PASSWORD).await.unwrap();
    assert_problem(app.client.create_session(&user.email, PASSWORD).await, 401, ProblemCode::InvalidCredentials);
}
