//! Account-takeover defences seen from both sides: strangers' failures cannot lock the owner out
//! (a known device passes the lock through every step, and the owner may change the password
//! while it holds), a stolen device token or session buys little, revocation withdraws
//! half-finished logins, and account mail goes where the owner read it when it happened.

use std::time::Duration;

use parley_api::ProblemCode;
use parley_api::client::LoginAnswer;
use parley_api::security::SecondFactorAnswer;
use parley_testkit::{PASSWORD, TestApp, TestUser};

use crate::helpers::{assert_problem, raw_client};
use crate::security::{answer, challenge, enrol_totp, login, now_seconds, totp};

/// Five wrong passwords from a stranger: the account is locked.
async fn lock(app: &TestApp, user: &TestUser) {
    for _ in 0..5 {
        let wrong = app.client.create_session_with(&login(user, "wrong password!", Some("attacker"))).await;
        assert_problem(wrong, 401, ProblemCode::InvalidCredentials);
    }
}

fn with_device(user: &TestUser, password: &str) -> parley_api::accounts::CreateSessionRequest {
    let mut request = login(user, password, None);
    request.session.device_token = Some(user.device_token.clone());
    request
}

#[tokio::test]
async fn a_known_device_passes_the_lock_through_the_second_step_too() {
    let app = TestApp::spawn().await;
    let user = app.user("twostep").await;
    let (key, _) = enrol_totp(&app, &user).await;
    // (The enrolment spent this step's code; the login below answers with the next one.)
    app.clock.advance(Duration::from_secs(30));
    lock(&app, &user).await;
    assert_problem(app.client.log_in(&login(&user, PASSWORD, None)).await, 401, ProblemCode::InvalidCredentials);
    let LoginAnswer::SecondFactorRequired(challenge) = app.client.log_in(&with_device(&user, PASSWORD)).await.unwrap() else {
        panic!("a second factor is required");
    };
    let mut request = answer(&challenge, totp(key.code_at(now_seconds(&app)).unwrap()));
    // Without the device token, the second step is refused while the lock holds...
    assert_problem(app.client.complete_second_factor(&request).await, 429, ProblemCode::RateLimited);
    // ...and with it, the owner is in.
    request.session.device_token = Some(user.device_token.clone());
    let session = app.client.complete_second_factor(&request).await.unwrap();
    assert_eq!(app.client.authenticated(session.token.as_deref().unwrap()).me().await.unwrap().id, user.id);
}

#[tokio::test]
async fn a_stolen_device_token_buys_a_handful_of_guesses_not_an_endless_supply() {
    let app = TestApp::spawn().await;
    let user = app.user("stolen").await;
    lock(&app, &user).await;
    for _ in 0..5 {
        assert_problem(app.client.create_session_with(&with_device(&user, "guess again!!")).await, 401, ProblemCode::InvalidCredentials);
    }
    // The token's passes are spent: even the right password with it meets the lock now.
    assert_problem(app.client.create_session_with(&with_device(&user, PASSWORD)).await, 401, ProblemCode::InvalidCredentials);
    assert_eq!(failed_logins(&user).await, 10, "five by the stranger, five through the token");
}

#[tokio::test]
async fn racing_guesses_with_a_device_token_stay_within_its_passes() {
    let app = TestApp::spawn().await;
    let user = app.user("racing").await;
    lock(&app, &user).await;
    let guesses: Vec<_> = (0..8)
        .map(|_| {
            let client = app.client.clone();
            let request = with_device(&user, "guess again!!");
            tokio::spawn(async move { client.create_session_with(&request).await })
        })
        .collect();
    for guess in guesses {
        let code = guess.await.unwrap().unwrap_err().problem().map(|p| p.code);
        assert!(matches!(code, Some(ProblemCode::InvalidCredentials | ProblemCode::RateLimited)), "{code:?}");
    }
    // Only guesses that got past the lock were checked (and counted): five at most.
    assert!(failed_logins(&user).await <= 10);
}

/// How many failed logins the user's security events show.
async fn failed_logins(user: &TestUser) -> usize {
    user.client.security_events().await.unwrap().events.iter().filter(|e| e.kind == "login_failed").count()
}

#[tokio::test]
async fn a_known_device_that_succeeds_keeps_its_pass() {
    let app = TestApp::spawn().await;
    let user = app.user("typo").await;
    lock(&app, &user).await;
    for _ in 0..4 {
        assert_problem(app.client.create_session_with(&with_device(&user, "a typo of mine")).await, 401, ProblemCode::InvalidCredentials);
    }
    app.client.create_session_with(&with_device(&user, PASSWORD)).await.unwrap();
    // (Past the back-off of the test's one network, which is not what this test is about.)
    app.clock.advance(Duration::from_secs(16 * 60));
    lock(&app, &user).await;
    for _ in 0..4 {
        assert_problem(app.client.create_session_with(&with_device(&user, "a typo of mine")).await, 401, ProblemCode::InvalidCredentials);
    }
    app.client.create_session_with(&with_device(&user, PASSWORD)).await.unwrap();
}

#[tokio::test]
async fn the_owner_changes_the_password_while_strangers_hold_the_account_locked() {
    let app = TestApp::spawn().await;
    let user = app.user("owner").await;
    lock(&app, &user).await;
    user.client.change_password(PASSWORD, "a brand new passphrase").await.unwrap();
    let kinds: Vec<String> = user.client.security_events().await.unwrap().events.into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"password_changed".to_owned()) && kinds.contains(&"account_locked".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn a_password_change_withdraws_a_login_waiting_for_its_second_step() {
    let app = TestApp::spawn().await;
    let user = app.user("phished").await;
    let (key, _) = enrol_totp(&app, &user).await;
    // Someone with the password (and, soon, a phished code) has started a login.
    let pending = challenge(&app, &user).await;
    user.client.change_password(PASSWORD, "a brand new passphrase").await.unwrap();
    app.clock.advance(Duration::from_secs(30));
    let code = key.code_at(now_seconds(&app)).unwrap();
    assert_problem(app.client.complete_second_factor(&answer(&pending, totp(code))).await, 401, ProblemCode::ChallengeInvalid);
    // Logging out every other session withdraws it as well.
    let relogin = |password: &'static str| {
        let request = login(&user, password, None);
        let client = app.client.clone();
        async move { client.log_in(&request).await }
    };
    let LoginAnswer::SecondFactorRequired(pending) = relogin("a brand new passphrase").await.unwrap() else { panic!("second step") };
    user.client.revoke_other_sessions().await.unwrap();
    app.clock.advance(Duration::from_secs(30));
    let code = key.code_at(now_seconds(&app)).unwrap();
    assert_problem(app.client.complete_second_factor(&answer(&pending, totp(code))).await, 401, ProblemCode::ChallengeInvalid);
}

#[tokio::test]
async fn recovery_codes_are_replaced_and_turn_totp_off_for_whoever_lost_the_phone() {
    let app = TestApp::spawn().await;
    let user = app.user("lostphone").await;
    let (key, old_codes) = enrol_totp(&app, &user).await;
    assert_problem(user.client.replace_recovery_codes("000000").await, 403, ProblemCode::InvalidCode);
    let new_codes = user.client.replace_recovery_codes(&old_codes[0]).await.unwrap().recovery_codes;
    assert_eq!(new_codes.len(), 10);
    assert_eq!(user.client.mfa_status().await.unwrap().recovery_codes_left, 10);
    app.wait_for_mail(&user.email, "New recovery codes were made").await;
    // The old set is void, every code of it.
    let pending = challenge(&app, &user).await;
    let old = SecondFactorAnswer::RecoveryCode { code: old_codes[1].clone() };
    assert_problem(app.client.complete_second_factor(&answer(&pending, old)).await, 403, ProblemCode::InvalidCode);
    // With the phone lost, a recovery code turns TOTP off; the app's codes no longer matter.
    user.client.disable_totp(&new_codes[0]).await.unwrap();
    assert!(!user.client.mfa_status().await.unwrap().totp);
    assert!(matches!(app.client.log_in(&login(&user, PASSWORD, None)).await.unwrap(), LoginAnswer::LoggedIn(_)));
    app.clock.advance(Duration::from_secs(30));
    let code = key.code_at(now_seconds(&app)).unwrap();
    assert_problem(user.client.replace_recovery_codes(&code).await, 409, ProblemCode::MfaNotEnabled);
    assert_problem(user.client.disable_totp(&code).await, 409, ProblemCode::MfaNotEnabled);
    let kinds: Vec<String> = user.client.security_events().await.unwrap().events.into_iter().map(|e| e.kind).collect();
    for kind in ["mfa_enabled", "recovery_codes_replaced", "recovery_code_used", "mfa_disabled"] {
        assert!(kinds.contains(&kind.to_owned()), "{kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn one_recovery_code_proves_one_change_however_fast_they_race() {
    let app = TestApp::spawn().await;
    let user = app.user("racecode").await;
    let (_, codes) = enrol_totp(&app, &user).await;
    let attempts: Vec<_> = (0..6)
        .map(|_| {
            let client = user.client.clone();
            let code = codes[2].clone();
            tokio::spawn(async move { client.replace_recovery_codes(&code).await })
        })
        .collect();
    let mut accepted = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(error) => assert!(matches!(error.problem().map(|p| p.code), Some(ProblemCode::InvalidCode | ProblemCode::RateLimited))),
        }
    }
    assert_eq!(accepted, 1);
}

#[tokio::test]
async fn a_cookie_sessions_token_does_not_open_the_stream_as_a_bearer() {
    let app = TestApp::spawn().await;
    let user = app.user("cookiestream").await;
    let http = raw_client(&app.ca_pem);
    let body = serde_json::json!({"login": user.handle, "password": PASSWORD, "session": {"cookie": true}});
    let response = http.post(format!("{}/v1/sessions", app.url)).json(&body).send().await.unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let token = cookie.split_once('=').unwrap().1.to_owned();
    assert_problem(app.client.authenticated(&token).open_stream().await.map(|_| ()), 401, ProblemCode::Unauthenticated);
}

#[tokio::test]
async fn account_mail_goes_where_the_owner_read_mail_when_it_happened() {
    let app = TestApp::spawn().await;
    let user = app.user("moving").await;
    let old_address = user.email.clone();
    // A login from a new device and an address change, in quick succession (as an intruder
    // with the password would do them): both mails go to the address on file before.
    app.client.create_session_with(&login(&user, PASSWORD, Some("Intruder's laptop"))).await.unwrap();
    user.client.change_email("intruder@mail.example.net", Some(PASSWORD)).await.unwrap();
    app.wait_for_mail(&old_address, "New login to your Parley account").await;
    let moved = app.wait_for_mail(&old_address, "Your email address was changed").await;
    assert!(!moved.contains("intruder@mail.example.net"), "the mail does not name the new address");
    // Later mail goes to the new address.
    user.client.change_password(PASSWORD, "a brand new passphrase").await.unwrap();
    app.wait_for_mail("intruder@mail.example.net", "Your Parley password was changed").await;
    let misdirected =
        app.mail_files().into_iter().filter(|m| m.contains("intruder@mail.example.net") && !m.contains("password was changed"));
    assert_eq!(misdirected.count(), 0);
}

#[tokio::test]
async fn recovery_codes_are_stored_keyed_and_codes_stored_the_old_way_still_work_once() {
    use sqlx::Connection as _;
    let app = TestApp::spawn().await;
    let user = app.user("keyed").await;
    let (_, codes) = enrol_totp(&app, &user).await;
    let url = format!("sqlite://{}", app.data_dir().join("parley.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes WHERE user_id = $1")
        .bind(user.id.to_string())
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    for code in &codes {
        let unkeyed = parley_crypto::recovery::legacy_hash(&user.id.to_string(), code);
        assert!(!stored.contains(&unkeyed.0.to_vec()), "a copy of the database alone cannot test a guess");
    }
    // A code issued before codes were keyed, stored in the old form.
    let old_code = "abcd-efgh-jkmn";
    let legacy = parley_crypto::recovery::legacy_hash(&user.id.to_string(), old_code);
    sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
        .bind(user.id.to_string())
        .bind(legacy.0.as_slice())
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    let old = || SecondFactorAnswer::RecoveryCode { code: old_code.to_uppercase() };
    let first = challenge(&app, &user).await;
    app.client.complete_second_factor(&answer(&first, old())).await.unwrap();
    let second = challenge(&app, &user).await;
    assert_problem(app.client.complete_second_factor(&answer(&second, old())).await, 403, ProblemCode::InvalidCode);
    app.client.complete_second_factor(&answer(&second, SecondFactorAnswer::RecoveryCode { code: codes[5].clone() })).await.unwrap();
}

#[tokio::test]
async fn a_cookie_session_from_the_second_step_guards_every_change_with_its_csrf_token() {
    let app = TestApp::spawn().await;
    let user = app.user("webmfa").await;
    let (key, _) = enrol_totp(&app, &user).await;
    app.clock.advance(Duration::from_secs(30));
    let http = raw_client(&app.ca_pem);
    let body = serde_json::json!({"login": user.handle, "password": PASSWORD, "session": {"cookie": true}});
    let started: serde_json::Value = http.post(format!("{}/v1/sessions", app.url)).json(&body).send().await.unwrap().json().await.unwrap();
    let second = serde_json::json!({
        "challenge": started["challenge"],
        "answer": {"method": "totp", "code": key.code_at(now_seconds(&app)).unwrap()},
        "session": {"cookie": true},
    });
    let response = http.post(format!("{}/v1/sessions/second-factor", app.url)).json(&second).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-parley_session="), "the second step sets the cookie too");
    let created: serde_json::Value = response.json().await.unwrap();
    assert!(created.get("token").is_none());
    let csrf = created["csrf_token"].as_str().unwrap().to_owned();

    // Every change, whatever its route, is refused without the token and never carried out.
    let changes = [
        (
            reqwest::Method::PUT,
            "/v1/me/password",
            serde_json::json!({"current_password": PASSWORD, "new_password": "taken over by a form"}),
        ),
        (reqwest::Method::PUT, "/v1/me/email", serde_json::json!({"email": "attacker@mail.example.net", "password": PASSWORD})),
        (reqwest::Method::POST, "/v1/me/mfa/totp/disable", serde_json::json!({"code": "000000"})),
        (reqwest::Method::POST, "/v1/me/mfa/recovery-codes", serde_json::json!({"code": "000000"})),
        (reqwest::Method::POST, "/v1/me/passkeys/registration", serde_json::json!({})),
        (reqwest::Method::DELETE, "/v1/sessions", serde_json::json!({})),
        (reqwest::Method::DELETE, "/v1/me", serde_json::json!({"password": PASSWORD})),
    ];
    for (method, path, body) in &changes {
        let refused = http.request(method.clone(), format!("{}{path}", app.url)).header("cookie", &cookie).json(body).send().await.unwrap();
        assert_eq!(refused.status(), 403, "{method} {path}");
        assert_eq!(refused.json::<serde_json::Value>().await.unwrap()["code"], "csrf_failed", "{method} {path}");
    }
    let me: serde_json::Value =
        http.get(format!("{}/v1/me", app.url)).header("cookie", &cookie).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["email"], user.email.as_str(), "nothing was changed");
    assert!(user.client.mfa_status().await.unwrap().totp);
    // With the token, the same session may.
    let (method, path, body) = &changes[5];
    let allowed = http.request(method.clone(), format!("{}{path}", app.url)).header("cookie", &cookie).header("x-csrf-token", &csrf);
    assert_eq!(allowed.json(body).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn an_operator_resets_the_factors_of_an_owner_who_lost_them_or_had_them_planted() {
    let app = TestApp::spawn().await;
    let user = app.user("recovered").await;
    let (key, _) = enrol_totp(&app, &user).await;
    // Someone with the password and the app (or the owner, before losing the phone) is in.
    app.clock.advance(Duration::from_secs(30));
    let pending = challenge(&app, &user).await;
    let intruder = app.client.complete_second_factor(&answer(&pending, totp(key.code_at(now_seconds(&app)).unwrap()))).await.unwrap();
    assert_eq!(app.core.reset_factors_by_handle(&user.handle).await.unwrap(), 2);
    assert_problem(user.client.me().await, 401, ProblemCode::Unauthenticated);
    assert_problem(app.client.authenticated(intruder.token.as_deref().unwrap()).me().await, 401, ProblemCode::Unauthenticated);
    // The owner logs in with the password alone, and is told what happened.
    let LoginAnswer::LoggedIn(session) = app.client.log_in(&login(&user, PASSWORD, None)).await.unwrap() else {
        panic!("no second factor is left");
    };
    let owner = app.client.authenticated(session.token.as_deref().unwrap());
    assert!(!owner.mfa_status().await.unwrap().totp);
    let kinds: Vec<String> = owner.security_events().await.unwrap().events.into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"factors_reset".to_owned()), "{kinds:?}");
    app.wait_for_mail(&user.email, "Your sign-in methods were reset").await;
    let entries = app.core.audit_entries(0, 10).await.unwrap();
    assert!(entries.iter().any(|record| record.entry.action == "account.factors_reset" && record.entry.subject == user.id.to_string()));
    assert!(matches!(app.core.reset_factors_by_handle("nobody-at-all").await, Err(parley_core::CoreError::UserNotFound)));
}
