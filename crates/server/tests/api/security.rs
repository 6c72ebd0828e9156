//! Strong authentication through the real server: TOTP enrolment and login, recovery codes,
//! challenge limits, the session list and revocation, password change, cookie sessions with
//! CSRF, login back-off and lockout, security events and the account-activity mail they send.

use std::time::Duration;

use parley_api::ProblemCode;
use parley_api::accounts::{CreateSessionRequest, SessionOptions};
use parley_api::client::{Client, LoginAnswer};
use parley_api::security::{SecondFactorAnswer, SecondFactorRequest, SecondFactorRequired};
use parley_crypto::TotpKey;
use parley_testkit::{PASSWORD, TestApp, TestUser};

use crate::helpers::{assert_problem, raw_client};

pub(crate) fn login(user: &TestUser, password: &str, device: Option<&str>) -> CreateSessionRequest {
    CreateSessionRequest {
        login: user.handle.clone(),
        password: password.to_owned(),
        session: SessionOptions { device_label: device.map(str::to_owned), ..SessionOptions::default() },
    }
}

pub(crate) fn now_seconds(app: &TestApp) -> u64 {
    use parley_core::Clock as _;
    u64::try_from(app.clock.now().as_millis() / 1000).unwrap()
}

/// Enrols TOTP for `user` and returns the key and the recovery codes.
pub(crate) async fn enrol_totp(app: &TestApp, user: &TestUser) -> (TotpKey, Vec<String>) {
    let enrolment = user.client.start_totp().await.unwrap();
    assert!(enrolment.otpauth_uri.starts_with("otpauth://totp/Parley:"));
    let key = TotpKey::from_base32(&enrolment.secret).unwrap();
    let codes = user.client.confirm_totp(&key.code_at(now_seconds(app)).unwrap(), Some(PASSWORD)).await.unwrap().recovery_codes;
    (key, codes)
}

pub(crate) async fn challenge(app: &TestApp, user: &TestUser) -> SecondFactorRequired {
    match app.client.log_in(&login(user, PASSWORD, None)).await.unwrap() {
        LoginAnswer::SecondFactorRequired(challenge) => challenge,
        LoginAnswer::LoggedIn(_) => panic!("a second factor should be required"),
    }
}

pub(crate) fn answer(challenge: &SecondFactorRequired, answer: SecondFactorAnswer) -> SecondFactorRequest {
    SecondFactorRequest { challenge: challenge.challenge.clone(), answer, session: SessionOptions::default() }
}

pub(crate) fn totp(code: String) -> SecondFactorAnswer {
    SecondFactorAnswer::Totp { code }
}

#[tokio::test]
async fn totp_enrolment_then_every_password_login_needs_a_fresh_code() {
    let app = TestApp::spawn().await;
    let user = app.user("totp").await;
    assert_problem(user.client.confirm_totp("123456", Some(PASSWORD)).await, 409, ProblemCode::MfaNotEnabled);
    let enrolment = user.client.start_totp().await.unwrap();
    let key = TotpKey::from_base32(&enrolment.secret).unwrap();
    assert_problem(user.client.confirm_totp("000000", Some(PASSWORD)).await, 403, ProblemCode::InvalidCode);
    let codes = user.client.confirm_totp(&key.code_at(now_seconds(&app)).unwrap(), Some(PASSWORD)).await.unwrap().recovery_codes;
    assert_eq!(codes.len(), 10);
    assert_problem(user.client.start_totp().await, 409, ProblemCode::MfaAlreadyEnabled);
    let status = user.client.mfa_status().await.unwrap();
    assert!(status.totp);
    assert_eq!(status.recovery_codes_left, 10);
    app.wait_for_mail(&user.email, "Two-factor authentication is on").await;

    let first = challenge(&app, &user).await;
    assert_eq!(first.methods, ["totp", "recovery_code"]);
    // The code that confirmed the enrolment is spent: the same step is refused.
    let same_step = key.code_at(now_seconds(&app)).unwrap();
    assert_problem(app.client.complete_second_factor(&answer(&first, totp(same_step))).await, 403, ProblemCode::InvalidCode);
    app.clock.advance(Duration::from_secs(30));
    let code = key.code_at(now_seconds(&app)).unwrap();
    let session = app.client.complete_second_factor(&answer(&first, totp(code.clone()))).await.unwrap();
    app.client.authenticated(session.token.as_deref().unwrap()).me().await.unwrap();
    // The challenge is single-use, and so is the code, even on a new challenge.
    assert_problem(app.client.complete_second_factor(&answer(&first, totp(code.clone()))).await, 401, ProblemCode::ChallengeInvalid);
    let second = challenge(&app, &user).await;
    assert_problem(app.client.complete_second_factor(&answer(&second, totp(code))).await, 403, ProblemCode::InvalidCode);
    // Two steps of drift are too many.
    let stale = key.code_at(now_seconds(&app) - 60).unwrap();
    assert_problem(app.client.complete_second_factor(&answer(&second, totp(stale))).await, 403, ProblemCode::InvalidCode);
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let app = TestApp::spawn().await;
    let user = app.user("recovery").await;
    let (_, codes) = enrol_totp(&app, &user).await;
    let first = challenge(&app, &user).await;
    let code = codes[3].to_uppercase().replace('-', " ");
    app.client.complete_second_factor(&answer(&first, SecondFactorAnswer::RecoveryCode { code: code.clone() })).await.unwrap();
    let second = challenge(&app, &user).await;
    let reused = app.client.complete_second_factor(&answer(&second, SecondFactorAnswer::RecoveryCode { code })).await;
    assert_problem(reused, 403, ProblemCode::InvalidCode);
    assert_eq!(user.client.mfa_status().await.unwrap().recovery_codes_left, 9);
    app.wait_for_mail(&user.email, "A recovery code was used").await;
}

#[tokio::test]
async fn a_challenge_is_withdrawn_after_five_wrong_answers() {
    let app = TestApp::spawn().await;
    let user = app.user("guess").await;
    let (key, _) = enrol_totp(&app, &user).await;
    let challenge = challenge(&app, &user).await;
    for guess in ["000000", "111111", "222222", "333333", "444444"] {
        assert_problem(app.client.complete_second_factor(&answer(&challenge, totp(guess.into()))).await, 403, ProblemCode::InvalidCode);
    }
    app.clock.advance(Duration::from_secs(30));
    let right = key.code_at(now_seconds(&app)).unwrap();
    assert_problem(app.client.complete_second_factor(&answer(&challenge, totp(right))).await, 401, ProblemCode::ChallengeInvalid);
}

#[tokio::test]
async fn a_challenge_expires_after_five_minutes() {
    let app = TestApp::spawn().await;
    let user = app.user("slow").await;
    let (key, _) = enrol_totp(&app, &user).await;
    let challenge = challenge(&app, &user).await;
    app.clock.advance(Duration::from_secs(5 * 60 + 1));
    let code = key.code_at(now_seconds(&app)).unwrap();
    assert_problem(app.client.complete_second_factor(&answer(&challenge, totp(code))).await, 401, ProblemCode::ChallengeInvalid);
}

#[tokio::test]
async fn turning_totp_off_needs_a_fresh_code() {
    let app = TestApp::spawn().await;
    let user = app.user("off").await;
    let (key, _) = enrol_totp(&app, &user).await;
    let spent = key.code_at(now_seconds(&app)).unwrap();
    assert_problem(user.client.disable_totp(&spent).await, 403, ProblemCode::InvalidCode);
    app.clock.advance(Duration::from_secs(30));
    user.client.disable_totp(&key.code_at(now_seconds(&app)).unwrap()).await.unwrap();
    assert!(!user.client.mfa_status().await.unwrap().totp);
    assert!(matches!(app.client.log_in(&login(&user, PASSWORD, None)).await.unwrap(), LoginAnswer::LoggedIn(_)));
    app.wait_for_mail(&user.email, "Two-factor authentication is off").await;
}

#[tokio::test]
async fn users_list_and_revoke_their_own_sessions() {
    let app = TestApp::spawn().await;
    let user = app.user("sessions").await;
    let other = app.user("other").await;
    let phone = app.client.create_session_with(&login(&user, PASSWORD, Some("Phone\n(Android)"))).await.unwrap();
    let phone_client = app.client.authenticated(phone.token.as_deref().unwrap());
    let listed = user.client.list_sessions().await.unwrap().sessions;
    assert_eq!(listed.len(), 2);
    let phone_info = listed.iter().find(|s| s.id == phone.session_id).unwrap();
    assert_eq!((phone_info.device.as_str(), phone_info.network.as_str(), phone_info.current), ("Phone(Android)", "127.0.0.0/24", false));
    assert!(listed.iter().any(|s| s.current && s.kind == "bearer"));

    // Another user's session id is "not found", and stays alive.
    let others = other.client.list_sessions().await.unwrap().sessions;
    assert_problem(user.client.revoke_session(others[0].id).await, 404, ProblemCode::NotFound);
    other.client.me().await.unwrap();

    user.client.revoke_session(phone.session_id).await.unwrap();
    assert_problem(phone_client.me().await, 401, ProblemCode::Unauthenticated);
    let laptop = app.client.create_session_with(&login(&user, PASSWORD, Some("Laptop"))).await.unwrap();
    assert_eq!(user.client.revoke_other_sessions().await.unwrap().revoked, 1);
    assert_problem(app.client.authenticated(laptop.token.as_deref().unwrap()).me().await, 401, ProblemCode::Unauthenticated);
    user.client.me().await.unwrap();
    let kinds: Vec<String> = user.client.security_events().await.unwrap().events.into_iter().map(|e| e.kind).collect();
    assert!(kinds.iter().filter(|k| *k == "session_revoked").count() >= 2, "{kinds:?}");
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let user = app.user("rotate").await;
    let other = app.client.create_session(&user.handle, PASSWORD).await.unwrap();
    assert_problem(user.client.change_password("not my password", "a brand new passphrase").await, 401, ProblemCode::InvalidCredentials);
    assert_problem(user.client.change_password(PASSWORD, "short").await, 422, ProblemCode::ValidationFailed);
    user.client.change_password(PASSWORD, "a brand new passphrase").await.unwrap();
    user.client.me().await.unwrap();
    assert_problem(app.client.authenticated(other.token.as_deref().unwrap()).me().await, 401, ProblemCode::Unauthenticated);
    assert_problem(app.client.create_session(&user.handle, PASSWORD).await, 401, ProblemCode::InvalidCredentials);
    app.client.create_session(&user.handle, "a brand new passphrase").await.unwrap();
    let mail = app.wait_for_mail(&user.email, "Your Parley password was changed").await;
    assert!(!mail.contains("a brand new passphrase") && !mail.contains(PASSWORD), "mail never carries a secret");
}

#[tokio::test]
async fn cookie_sessions_need_their_csrf_token_for_every_change() {
    let app = TestApp::spawn().await;
    let user = app.user("web").await;
    let http = raw_client(&app.ca_pem);
    let body = serde_json::json!({"login": user.handle, "password": PASSWORD, "session": {"cookie": true}});
    let response = http.post(format!("{}/v1/sessions", app.url)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["__Host-parley_session=prly_s_", "Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let created: serde_json::Value = response.json().await.unwrap();
    assert!(created.get("token").is_none(), "the token stays in the cookie");
    let csrf = created["csrf_token"].as_str().unwrap().to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let token = cookie.split_once('=').unwrap().1.to_owned();

    let get = |path: &str| http.get(format!("{}{path}", app.url)).header("cookie", &cookie);
    assert_eq!(get("/v1/me").send().await.unwrap().status(), 200, "reads need no CSRF token");
    let fetched: serde_json::Value = get("/v1/sessions/current/csrf").send().await.unwrap().json().await.unwrap();
    assert_eq!(fetched["csrf_token"], csrf.as_str());
    let post = || http.post(format!("{}/v1/stream/tickets", app.url)).header("cookie", &cookie);
    let refused = post().send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.json::<serde_json::Value>().await.unwrap()["code"], "csrf_failed");
    assert_eq!(post().header("x-csrf-token", "AAAA").send().await.unwrap().status(), 403);
    let other_session = app.client.create_session(&user.handle, PASSWORD).await.unwrap();
    assert_eq!(post().header("x-csrf-token", &other_session.session_id.to_string()).send().await.unwrap().status(), 403);
    assert_eq!(post().header("x-csrf-token", &csrf).send().await.unwrap().status(), 201);
    // A cookie session's token is not a bearer token, and a bearer token is not a cookie.
    assert_problem(app.client.authenticated(&token).me().await, 401, ProblemCode::Unauthenticated);
    let bearer_as_cookie = format!("__Host-parley_session={}", other_session.token.unwrap());
    assert_eq!(http.get(format!("{}/v1/me", app.url)).header("cookie", bearer_as_cookie).send().await.unwrap().status(), 401);

    let logout = http.delete(format!("{}/v1/sessions/current", app.url)).header("cookie", &cookie).header("x-csrf-token", &csrf);
    let logout = logout.send().await.unwrap();
    assert_eq!(logout.status(), 204);
    assert!(logout.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(get("/v1/me").send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_but_not_its_owner_on_a_known_device() {
    let app = TestApp::spawn().await;
    let user = app.user("locked").await;
    for _ in 0..5 {
        let wrong = app.client.create_session_with(&login(&user, "wrong password!", Some("attacker"))).await;
        assert_problem(wrong, 401, ProblemCode::InvalidCredentials);
    }
    // Locked: even the right password fails without a device token, with the same answer,
    // whatever the caller claims to be (the owner's label and network prove nothing).
    let right_from_attacker = app.client.create_session_with(&login(&user, PASSWORD, Some("attacker"))).await;
    assert_problem(right_from_attacker, 401, ProblemCode::InvalidCredentials);
    assert_problem(app.client.create_session(&user.handle, PASSWORD).await, 401, ProblemCode::InvalidCredentials);
    let mut forged = login(&user, PASSWORD, None);
    forged.session.device_token = Some("prly_d_forged".into());
    assert_problem(app.client.create_session_with(&forged).await, 401, ProblemCode::InvalidCredentials);
    // The owner, on a device an earlier login of theirs received a token on, is not locked out.
    let mut owner = login(&user, PASSWORD, None);
    owner.session.device_token = Some(user.device_token.clone());
    let session = app.client.create_session_with(&owner).await.unwrap();
    assert_eq!(session.device_token.as_deref(), Some(user.device_token.as_str()), "a known device keeps its token");
    let mail = app.wait_for_mail(&user.email, "Repeated failed logins").await;
    assert!(!mail.contains("attacker") && mail.contains("127.0.0.0/24"), "the lock mail names the network, not the attacker's own label");
    let events: Vec<String> = user.client.security_events().await.unwrap().events.into_iter().map(|e| e.kind).collect();
    assert_eq!(events.iter().filter(|k| *k == "login_failed").count(), 5, "a locked account's attempts are not counted: {events:?}");
    assert_eq!(events.iter().filter(|k| *k == "account_locked").count(), 1);
}

#[tokio::test]
async fn another_users_device_token_is_no_key_to_a_locked_account() {
    let app = TestApp::spawn().await;
    let user = app.user("target").await;
    let other = app.user("neighbour").await;
    for _ in 0..5 {
        assert_problem(app.client.create_session_with(&login(&user, "wrong password!", None)).await, 401, ProblemCode::InvalidCredentials);
    }
    let mut borrowed = login(&user, PASSWORD, None);
    borrowed.session.device_token = Some(other.device_token.clone());
    assert_problem(app.client.create_session_with(&borrowed).await, 401, ProblemCode::InvalidCredentials);
}

#[tokio::test]
async fn an_account_lock_expires_and_then_doubles() {
    let app = TestApp::spawn().await;
    let user = app.user("expiry").await;
    let attempt = |password: &'static str| {
        let request = login(&user, password, Some("attacker"));
        let client = app.client.clone();
        async move { client.create_session_with(&request).await }
    };
    for _ in 0..5 {
        assert_problem(attempt("wrong password!").await, 401, ProblemCode::InvalidCredentials);
    }
    app.clock.advance(Duration::from_secs(14));
    assert_problem(attempt(PASSWORD).await, 401, ProblemCode::InvalidCredentials);
    app.clock.advance(Duration::from_secs(2));
    assert_problem(attempt("wrong password!").await, 401, ProblemCode::InvalidCredentials);
    // The sixth failure locks for 30 seconds.
    app.clock.advance(Duration::from_secs(20));
    assert_problem(attempt(PASSWORD).await, 401, ProblemCode::InvalidCredentials);
    app.clock.advance(Duration::from_secs(11));
    attempt(PASSWORD).await.unwrap();
}

#[tokio::test]
async fn failures_from_one_network_back_off_whatever_the_account() {
    let app = TestApp::spawn().await;
    // Ten failures are free; the eleventh starts a five-second wait.
    for n in 0..11 {
        let wrong = app.client.create_session(&format!("nobody{n}"), "whatever password").await;
        assert_problem(wrong, 401, ProblemCode::InvalidCredentials);
    }
    let throttled = app.client.create_session("nobody", "whatever password").await;
    assert_problem(throttled, 429, ProblemCode::RateLimited);
    app.clock.advance(Duration::from_secs(5));
    assert_problem(app.client.create_session("nobody", "whatever password").await, 401, ProblemCode::InvalidCredentials);
}

#[tokio::test]
async fn a_login_from_a_new_device_is_recorded_and_mailed_once() {
    let app = TestApp::spawn().await;
    let user = app.user("devices").await;
    app.wait_for_mail(&user.email, "Welcome to Parley").await;
    app.client.create_session_with(&login(&user, PASSWORD, Some("Brand new tablet"))).await.unwrap();
    let mail = app.wait_for_mail(&user.email, "New login to your Parley account").await;
    assert!(mail.contains("Brand new tablet") && mail.contains("127.0.0.0/24"));
    app.client.create_session_with(&login(&user, PASSWORD, Some("Brand new tablet"))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let new_device_mails = app.mail_files().iter().filter(|m| m.contains(&user.email) && m.contains("New login")).count();
    assert_eq!(new_device_mails, 1);
    let events = user.client.security_events().await.unwrap().events;
    assert_eq!(events.iter().filter(|e| e.kind == "new_device_login").count(), 1);
    assert!(events.iter().all(|e| e.network == "127.0.0.0/24"));
    assert_eq!(events.last().unwrap().kind, "account_created");
}

#[tokio::test]
async fn security_events_are_kept_for_the_retention_period() {
    let app = TestApp::spawn_with(|config| config.security.event_retention_days = 1).await;
    let user = app.user("retention").await;
    assert!(!user.client.security_events().await.unwrap().events.is_empty());
    app.clock.advance(Duration::from_secs(24 * 60 * 60 + 1));
    let fresh = app.client.create_session(&user.handle, PASSWORD).await.unwrap();
    let fresh_client: Client = app.client.authenticated(fresh.token.as_deref().unwrap());
    assert_eq!(app.core.purge_security_events().await.unwrap(), 2, "the sign-up and the first login");
    let kinds: Vec<String> = fresh_client.security_events().await.unwrap().events.into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["login_succeeded"]);
}

#[tokio::test]
async fn credential_changes_need_a_recent_login() {
    let app = TestApp::spawn().await;
    let user = app.user("stale").await;
    app.clock.advance(Duration::from_secs(11 * 60));
    assert_problem(user.client.start_totp().await, 403, ProblemCode::ReauthenticationRequired);
    assert_problem(user.client.start_passkey_registration().await, 403, ProblemCode::ReauthenticationRequired);
    // Logging in again makes a fresh session that may.
    let fresh = app.client.create_session(&user.handle, PASSWORD).await.unwrap();
    app.client.authenticated(fresh.token.as_deref().unwrap()).start_totp().await.unwrap();
}

#[tokio::test]
async fn wrong_codes_back_off_per_user() {
    let app = TestApp::spawn().await;
    let user = app.user("guesser").await;
    user.client.start_totp().await.unwrap();
    for guess in ["000000", "111111", "222222", "333333", "444444"] {
        assert_problem(user.client.confirm_totp(guess, Some(PASSWORD)).await, 403, ProblemCode::InvalidCode);
    }
    assert_problem(user.client.confirm_totp("555555", Some(PASSWORD)).await, 429, ProblemCode::RateLimited);
    // The current password cannot be guessed through a session either.
    assert_problem(user.client.change_password("not it", "a brand new passphrase").await, 429, ProblemCode::RateLimited);
}

#[tokio::test]
async fn racing_answers_cannot_exceed_a_challenges_budget() {
    let app = TestApp::spawn().await;
    let user = app.user("racer").await;
    enrol_totp(&app, &user).await;
    let challenge = challenge(&app, &user).await;
    let guesses: Vec<_> = (0..8)
        .map(|n| {
            let client = app.client.clone();
            let request = answer(&challenge, totp(format!("{n:06}")));
            tokio::spawn(async move { client.complete_second_factor(&request).await })
        })
        .collect();
    let mut checked = 0;
    for guess in guesses {
        match guess.await.unwrap().unwrap_err().problem().map(|p| p.code) {
            Some(ProblemCode::InvalidCode) => checked += 1,
            Some(ProblemCode::ChallengeInvalid | ProblemCode::RateLimited) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(checked <= 5, "{checked} answers were checked");
}
