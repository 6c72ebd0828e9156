//! Passkeys through the real server, answered by a software authenticator (1Password's
//! passkey-rs: a CTAP2 authenticator with resident keys behind a WebAuthn client that builds
//! and signs the client data exactly as a browser does). Nothing is mocked: the JSON the server
//! sends is what the client consumes, and its answer is what the server verifies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parley_api::ProblemCode;
use parley_api::accounts::{CreateSessionRequest, SessionOptions};
use parley_api::client::LoginAnswer;
use parley_api::security::{
    PasskeyLoginRequest, PasskeyStepUp, RegisterPasskeyRequest, SecondFactorAnswer, SecondFactorRequest, StepUpRequest,
};
use parley_testkit::{PASSWORD, TestApp, TestUser};
use passkey_authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod};
use passkey_client::DefaultClientData;
use passkey_crypto::rust_crypto::RustCryptoBackend;
use passkey_types::ctap2::{Aaguid, Ctap2Error};
use passkey_types::{Passkey as StoredPasskey, webauthn as pkw};

use crate::helpers::assert_problem;

/// The person at the authenticator: always present; verified (PIN, biometrics) or not, which a
/// test may change between ceremonies.
struct Person {
    verifies: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl UserValidationMethod for Person {
    type PasskeyItem = StoredPasskey;

    async fn check_user<'a>(&self, _hint: UiHint<'a, StoredPasskey>, presence: bool, verification: bool) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck { presence, verification: verification && self.verifies.load(Ordering::SeqCst) })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(self.verifies.load(Ordering::SeqCst))
    }
}

/// A device holding one discoverable passkey.
macro_rules! device {
    ($verifies:expr) => {
        device!(shared Arc::new(AtomicBool::new($verifies)))
    };
    (shared $verifies:expr) => {
        passkey_client::Client::new(Authenticator::new(
            Aaguid::new_empty(),
            None::<StoredPasskey>,
            Person { verifies: $verifies },
            RustCryptoBackend,
        ))
        .allows_insecure_localhost(true)
    };
}

/// The origin the web client would be served from: passkeys need a domain, so `localhost`.
fn origin(app: &TestApp) -> url::Url {
    let port = app.url.rsplit(':').next().unwrap();
    url::Url::parse(&format!("https://localhost:{port}")).unwrap()
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

fn from_json<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> T {
    serde_json::from_value(value.clone()).unwrap()
}

/// Registers the device's passkey for `user` (with a second-factor code, if given) and returns
/// the server's answer.
macro_rules! register {
    ($app:expr, $user:expr, $device:expr, $origin:expr) => {
        register!($app, $user, $device, $origin, None)
    };
    ($app:expr, $user:expr, $device:expr, $origin:expr, $code:expr) => {{
        let ceremony = $user.client.start_passkey_registration().await.unwrap();
        let created = $device.register($origin, from_json::<pkw::CredentialCreationOptions>(&ceremony.options), DefaultClientData).await;
        let credential = json(&created.unwrap());
        let request = RegisterPasskeyRequest {
            challenge: ceremony.challenge,
            credential,
            label: "Laptop".into(),
            proof: StepUpRequest { code: $code, password: Some(PASSWORD.into()), ..StepUpRequest::default() },
        };
        $user.client.register_passkey(&request).await
    }};
}

/// The device's proof of the second factor: its answer to a step-up ceremony of `user`.
macro_rules! step_up {
    ($user:expr, $device:expr, $origin:expr) => {{
        let ceremony = $user.client.start_step_up().await.unwrap();
        PasskeyStepUp { challenge: ceremony.challenge, credential: assert_with!($device, $origin, &ceremony.options) }
    }};
}

/// Signs the server's request options with the device.
macro_rules! assert_with {
    ($device:expr, $origin:expr, $options:expr) => {
        json(&$device.authenticate($origin, from_json::<pkw::CredentialRequestOptions>($options), DefaultClientData).await.unwrap())
    };
}

fn login_request(challenge: String, credential: serde_json::Value) -> PasskeyLoginRequest {
    PasskeyLoginRequest { challenge, credential, session: SessionOptions::default() }
}

async fn me_id(app: &TestApp, token: Option<String>) -> uuid::Uuid {
    app.client.authenticated(&token.unwrap()).me().await.unwrap().id
}

#[tokio::test]
async fn a_passkey_registers_then_logs_in_alone_once_per_ceremony() {
    let app = TestApp::spawn().await;
    let user: TestUser = app.user("passkey").await;
    let origin = origin(&app);
    let mut device = device!(true);
    let registered = register!(app, user, device, &origin).unwrap();
    assert_eq!(registered.label, "Laptop");
    assert_eq!(user.client.list_passkeys().await.unwrap().passkeys, vec![registered.clone()]);
    assert_eq!(user.client.mfa_status().await.unwrap().passkeys, 1);
    app.wait_for_mail(&user.email, "A passkey was added").await;

    let ceremony = app.client.start_passkey_login().await.unwrap();
    assert!(ceremony.options["publicKey"]["challenge"].as_str().unwrap().len() >= 22, "a challenge of at least 16 bytes");
    let assertion = assert_with!(device, &origin, &ceremony.options);
    let session = app.client.finish_passkey_login(&login_request(ceremony.challenge.clone(), assertion.clone())).await.unwrap();
    assert_eq!(me_id(&app, session.token).await, user.id);
    let listed = user.client.list_passkeys().await.unwrap().passkeys;
    assert!(listed[0].last_used_at.is_some());

    // The same assertion again: the ceremony is spent, and a fresh one has another challenge.
    let replay = app.client.finish_passkey_login(&login_request(ceremony.challenge, assertion.clone())).await;
    assert_problem(replay, 401, ProblemCode::ChallengeInvalid);
    let fresh = app.client.start_passkey_login().await.unwrap();
    assert_problem(app.client.finish_passkey_login(&login_request(fresh.challenge, assertion)).await, 401, ProblemCode::InvalidCredentials);
}

#[tokio::test]
async fn a_passkey_answers_the_second_step_of_a_password_login() {
    let app = TestApp::spawn().await;
    let user = app.user("second").await;
    let origin = origin(&app);
    let mut device = device!(true);
    register!(app, user, device, &origin).unwrap();
    let request = CreateSessionRequest { login: user.handle.clone(), password: PASSWORD.into(), session: SessionOptions::default() };
    let LoginAnswer::SecondFactorRequired(challenge) = app.client.log_in(&request).await.unwrap() else {
        panic!("a passkey is a second factor");
    };
    assert_eq!(challenge.methods, ["passkey"]);
    let assertion = assert_with!(device, &origin, challenge.passkey_options.as_ref().unwrap());
    let answer = |credential| SecondFactorRequest {
        challenge: challenge.challenge.clone(),
        answer: SecondFactorAnswer::Passkey { credential },
        session: SessionOptions::default(),
    };
    assert_problem(app.client.complete_second_factor(&answer(serde_json::json!({"id": "forged"}))).await, 403, ProblemCode::InvalidCode);
    let session = app.client.complete_second_factor(&answer(assertion.clone())).await.unwrap();
    assert_eq!(me_id(&app, session.token).await, user.id);
    assert_problem(app.client.complete_second_factor(&answer(assertion)).await, 401, ProblemCode::ChallengeInvalid);
}

#[tokio::test]
async fn with_totp_on_adding_a_passkey_takes_a_fresh_code_not_just_a_session() {
    let app = TestApp::spawn().await;
    let user = app.user("stepup").await;
    let (key, recovery_codes) = crate::security::enrol_totp(&app, &user).await;
    let origin = origin(&app);
    // A stolen session alone cannot add a factor that logs in past TOTP.
    assert_problem(register!(app, user, device!(true), &origin), 403, ProblemCode::InvalidCode);
    let spent = key.code_at(crate::security::now_seconds(&app)).unwrap();
    assert_problem(register!(app, user, device!(true), &origin, Some(spent)), 403, ProblemCode::InvalidCode);
    assert!(user.client.list_passkeys().await.unwrap().passkeys.is_empty());
    // A recovery code proves it (and is used up); so does the next code from the app.
    let mut device = device!(true);
    register!(app, user, device, &origin, Some(recovery_codes[0].clone())).unwrap();
    assert_eq!(user.client.mfa_status().await.unwrap().recovery_codes_left, 9);
    app.clock.advance(Duration::from_secs(30));
    let fresh = key.code_at(crate::security::now_seconds(&app)).unwrap();
    register!(app, user, device!(true), &origin, Some(fresh)).unwrap();
    assert_eq!(user.client.list_passkeys().await.unwrap().passkeys.len(), 2);
    // The passkey so added logs in alone, as it should.
    let ceremony = app.client.start_passkey_login().await.unwrap();
    let assertion = assert_with!(device, &origin, &ceremony.options);
    let session = app.client.finish_passkey_login(&login_request(ceremony.challenge, assertion)).await.unwrap();
    assert_eq!(me_id(&app, session.token).await, user.id);
}

#[tokio::test]
async fn on_a_passkey_account_a_stolen_session_adds_no_factor_and_removes_none() {
    let app = TestApp::spawn().await;
    let user = app.user("vouched").await;
    let other = app.user("neighbour").await;
    let origin = origin(&app);
    let mut first = device!(true);
    let old = register!(app, user, first, &origin).unwrap();
    // A session alone adds no passkey, turns on no TOTP of its own, removes no passkey.
    assert_problem(register!(app, user, device!(true), &origin), 403, ProblemCode::InvalidCode);
    let enrolment = user.client.start_totp().await.unwrap();
    let key = parley_crypto::TotpKey::from_base32(&enrolment.secret).unwrap();
    let code = key.code_at(crate::security::now_seconds(&app)).unwrap();
    assert_problem(user.client.confirm_totp(&code, Some(PASSWORD)).await, 403, ProblemCode::InvalidCode);
    assert_problem(user.client.remove_passkey(old.id, &StepUpRequest::default()).await, 403, ProblemCode::InvalidCode);
    // The password is no proof on an account with a second factor.
    let password_only = StepUpRequest { password: Some(PASSWORD.into()), ..StepUpRequest::default() };
    assert_problem(user.client.remove_passkey(old.id, &password_only).await, 403, ProblemCode::InvalidCode);
    // Nor does another account's passkey vouch, even answering a real ceremony of its own.
    let mut theirs = device!(true);
    register!(app, other, theirs, &origin).unwrap();
    let foreign = step_up!(other, theirs, &origin);
    let vouched_by = |step_up| StepUpRequest { code: None, step_up: Some(step_up), password: None };
    assert_problem(user.client.remove_passkey(old.id, &vouched_by(foreign)).await, 403, ProblemCode::InvalidCode);
    // (Five wrong proofs in a row back off for fifteen seconds, a sixth for thirty.)
    app.clock.advance(Duration::from_secs(16));

    // One of the account's own passkeys vouches, once per ceremony.
    let mut second = device!(true);
    let ceremony = user.client.start_passkey_registration().await.unwrap();
    let created = second.register(&origin, from_json::<pkw::CredentialCreationOptions>(&ceremony.options), DefaultClientData).await;
    let vouch = step_up!(user, first, &origin);
    let request = RegisterPasskeyRequest {
        challenge: ceremony.challenge,
        credential: json(&created.unwrap()),
        label: "Phone".into(),
        proof: StepUpRequest { step_up: Some(vouch.clone()), ..StepUpRequest::default() },
    };
    assert_eq!(user.client.register_passkey(&request).await.unwrap().label, "Phone");
    assert_problem(user.client.remove_passkey(old.id, &vouched_by(vouch)).await, 403, ProblemCode::InvalidCode);
    app.clock.advance(Duration::from_secs(31));
    let code = key.code_at(crate::security::now_seconds(&app)).unwrap();
    user.client.confirm_totp_vouched(&code, step_up!(user, second, &origin)).await.unwrap();
    user.client.remove_passkey(old.id, &vouched_by(step_up!(user, first, &origin))).await.unwrap();
    assert_eq!(user.client.list_passkeys().await.unwrap().passkeys.len(), 1);
    assert!(user.client.mfa_status().await.unwrap().totp);
}

#[tokio::test]
async fn a_passkey_assertion_without_user_verification_logs_nobody_in() {
    let app = TestApp::spawn().await;
    let user = app.user("unverified").await;
    let origin = origin(&app);
    let verifies = Arc::new(AtomicBool::new(true));
    let mut device = device!(shared verifies.clone());
    register!(app, user, device, &origin).unwrap();
    // Someone holds the device but cannot unlock it; their client drops the demand for
    // verification, and the authenticator signs without it.
    verifies.store(false, Ordering::SeqCst);
    let unverified = |mut options: serde_json::Value| {
        options["publicKey"]["userVerification"] = "discouraged".into();
        options
    };
    let ceremony = app.client.start_passkey_login().await.unwrap();
    let assertion = assert_with!(device, &origin, &unverified(ceremony.options));
    assert_problem(
        app.client.finish_passkey_login(&login_request(ceremony.challenge, assertion)).await,
        401,
        ProblemCode::InvalidCredentials,
    );
    let request = CreateSessionRequest { login: user.handle.clone(), password: PASSWORD.into(), session: SessionOptions::default() };
    let LoginAnswer::SecondFactorRequired(challenge) = app.client.log_in(&request).await.unwrap() else {
        panic!("a passkey is a second factor");
    };
    let assertion = assert_with!(device, &origin, &unverified(challenge.passkey_options.clone().unwrap()));
    let answer = SecondFactorRequest {
        challenge: challenge.challenge.clone(),
        answer: SecondFactorAnswer::Passkey { credential: assertion },
        session: SessionOptions::default(),
    };
    assert_problem(app.client.complete_second_factor(&answer).await, 403, ProblemCode::InvalidCode);
    // The owner, verified, logs in with the same device: it was the verification that was missing.
    verifies.store(true, Ordering::SeqCst);
    let ceremony = app.client.start_passkey_login().await.unwrap();
    let assertion = assert_with!(device, &origin, &ceremony.options);
    app.client.finish_passkey_login(&login_request(ceremony.challenge, assertion)).await.unwrap();
}

#[tokio::test]
async fn a_first_factor_takes_the_password_so_a_stolen_session_cannot_lock_the_owner_out() {
    let app = TestApp::spawn().await;
    let user = app.user("firstfactor").await;
    let origin = origin(&app);
    let ceremony = user.client.start_passkey_registration().await.unwrap();
    let created = device!(true).register(&origin, from_json::<pkw::CredentialCreationOptions>(&ceremony.options), DefaultClientData).await;
    let mut request = RegisterPasskeyRequest {
        challenge: ceremony.challenge,
        credential: json(&created.unwrap()),
        label: "Intruder".into(),
        proof: StepUpRequest::default(),
    };
    assert_problem(user.client.register_passkey(&request).await, 401, ProblemCode::InvalidCredentials);
    let ceremony = user.client.start_passkey_registration().await.unwrap();
    let created = device!(true).register(&origin, from_json::<pkw::CredentialCreationOptions>(&ceremony.options), DefaultClientData).await;
    request.challenge = ceremony.challenge;
    request.credential = json(&created.unwrap());
    request.proof.password = Some("a guess at the password".into());
    assert_problem(user.client.register_passkey(&request).await, 401, ProblemCode::InvalidCredentials);
    let enrolment = user.client.start_totp().await.unwrap();
    let key = parley_crypto::TotpKey::from_base32(&enrolment.secret).unwrap();
    let code = key.code_at(crate::security::now_seconds(&app)).unwrap();
    assert_problem(user.client.confirm_totp(&code, None).await, 401, ProblemCode::InvalidCredentials);
    assert!(user.client.list_passkeys().await.unwrap().passkeys.is_empty());
    assert!(!user.client.mfa_status().await.unwrap().totp);
    // The owner, who knows it, enrols.
    user.client.confirm_totp(&code, Some(PASSWORD)).await.unwrap();
}

#[tokio::test]
async fn passkeys_without_user_verification_or_for_another_site_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.user("strict").await;
    // A client that drops the server's demand for user verification gets a credential
    // without it; the server notices.
    let ceremony = user.client.start_passkey_registration().await.unwrap();
    let mut options = ceremony.options.clone();
    options["publicKey"]["authenticatorSelection"]["userVerification"] = "discouraged".into();
    let mut unverified = device!(false);
    let created =
        unverified.register(&origin(&app), from_json::<pkw::CredentialCreationOptions>(&options), DefaultClientData).await.unwrap();
    let request = RegisterPasskeyRequest {
        challenge: ceremony.challenge,
        credential: json(&created),
        label: "No PIN".into(),
        proof: StepUpRequest::default(),
    };
    assert_problem(user.client.register_passkey(&request).await, 403, ProblemCode::PasskeyRejected);

    // A credential made for another site (its own rp id and origin) does not register here.
    let ceremony = user.client.start_passkey_registration().await.unwrap();
    let mut options = ceremony.options.clone();
    options["publicKey"]["rp"]["id"] = "evil.example".into();
    let mut phished = device!(true);
    let evil = url::Url::parse("https://evil.example").unwrap();
    let created = phished.register(&evil, from_json::<pkw::CredentialCreationOptions>(&options), DefaultClientData).await.unwrap();
    let request = RegisterPasskeyRequest {
        challenge: ceremony.challenge,
        credential: json(&created),
        label: "Evil".into(),
        proof: StepUpRequest::default(),
    };
    assert_problem(user.client.register_passkey(&request).await, 403, ProblemCode::PasskeyRejected);
    assert!(user.client.list_passkeys().await.unwrap().passkeys.is_empty());
}

#[tokio::test]
async fn ceremonies_expire_and_belong_to_whoever_started_them() {
    let app = TestApp::spawn().await;
    let user = app.user("owner").await;
    let other = app.user("intruder").await;
    let origin = origin(&app);
    let mut device = device!(true);
    let ceremony = user.client.start_passkey_registration().await.unwrap();
    let created =
        device.register(&origin, from_json::<pkw::CredentialCreationOptions>(&ceremony.options), DefaultClientData).await.unwrap();
    let request = RegisterPasskeyRequest {
        challenge: ceremony.challenge,
        credential: json(&created),
        label: "Stolen".into(),
        proof: StepUpRequest::default(),
    };
    assert_problem(other.client.register_passkey(&request).await, 401, ProblemCode::ChallengeInvalid);

    let mut device = device!(true);
    register!(app, user, device, &origin).unwrap();
    let login = app.client.start_passkey_login().await.unwrap();
    let assertion = assert_with!(device, &origin, &login.options);
    app.clock.advance(Duration::from_secs(5 * 60 + 1));
    assert_problem(app.client.finish_passkey_login(&login_request(login.challenge, assertion)).await, 401, ProblemCode::ChallengeInvalid);
}

#[tokio::test]
async fn users_remove_only_their_own_passkeys() {
    let app = TestApp::spawn().await;
    let user = app.user("remover").await;
    let other = app.user("bystander").await;
    let mut device = device!(true);
    let passkey = register!(app, user, device, &origin(&app)).unwrap();
    let no_proof = StepUpRequest::default();
    assert_problem(other.client.remove_passkey(passkey.id, &no_proof).await, 404, ProblemCode::NotFound);
    let proof = StepUpRequest { code: None, step_up: Some(step_up!(user, device, &origin(&app))), password: None };
    user.client.remove_passkey(passkey.id, &proof).await.unwrap();
    assert_problem(user.client.remove_passkey(passkey.id, &no_proof).await, 404, ProblemCode::NotFound);
    assert!(user.client.list_passkeys().await.unwrap().passkeys.is_empty());
    app.wait_for_mail(&user.email, "A passkey was removed").await;
    // With its passkey gone, the account logs in with its password alone again.
    app.client.create_session(&user.handle, PASSWORD).await.unwrap();
}
