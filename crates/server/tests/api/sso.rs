//! Marketplace single sign-on through the real server, with tokens signed here as a
//! marketplace backend would: HS256 with a shared secret, EdDSA with a PEM public key, RS256
//! with a JWKS file. Each forgery gets its own problem code (SECURITY-TESTS.md S11).

use std::time::Duration;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use parley_api::ProblemCode;
use parley_api::accounts::SessionOptions;
use parley_api::security::SsoLoginRequest;
use parley_core::Clock as _;
use parley_server::config::{SsoAlgorithm, SsoConfig};
use parley_testkit::TestApp;
use serde_json::{Value, json};

use crate::helpers::assert_problem;

const SECRET: &str = "a shared secret of at least thirty-two bytes";
const ISSUER: &str = "https://shop.example";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/fixtures");

fn integration(name: &str, algorithm: SsoAlgorithm) -> SsoConfig {
    SsoConfig {
        name: name.into(),
        issuer: ISSUER.into(),
        audience: "parley".into(),
        algorithm,
        shared_secret: parley_server::config::ConfigSecret::default(),
        public_key_file: std::path::PathBuf::new(),
        jwks_file: std::path::PathBuf::new(),
        jwks_url: String::new(),
        jwks_ca_file: std::path::PathBuf::new(),
    }
}

/// A server with an HS256 integration `shop`, an RS256 one `bigshop` (JWKS) and an EdDSA one
/// `edshop` (PEM), whose key is returned.
async fn spawn_app() -> (TestApp, Ed25519KeyPair) {
    let ed = Ed25519KeyPair::generate().unwrap();
    let spki = [&[0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00][..], ed.public_key().as_ref()].concat();
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(spki));
    let dir = tempfile::tempdir().unwrap();
    let pem_path = dir.path().join("ed.pem");
    std::fs::write(&pem_path, pem).unwrap();
    let app = TestApp::spawn_with(|config| {
        config.sso = vec![
            SsoConfig { shared_secret: SECRET.into(), ..integration("shop", SsoAlgorithm::Hs256) },
            SsoConfig { jwks_file: format!("{FIXTURES}/sso-jwks.json").into(), ..integration("bigshop", SsoAlgorithm::Rs256) },
            SsoConfig { public_key_file: pem_path.clone(), ..integration("edshop", SsoAlgorithm::Eddsa) },
        ];
    })
    .await;
    (app, ed)
}

fn now(app: &TestApp) -> i64 {
    app.clock.now().as_millis() / 1000
}

fn claims(app: &TestApp, sub: &str) -> Value {
    let now = now(app);
    json!({"iss": ISSUER, "aud": "parley", "sub": sub, "iat": now, "exp": now + 120, "jti": uuid::Uuid::new_v4().to_string(), "handle": "vintage_cameras"})
}

fn hs256(claims: &Value, secret: &str) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

fn rs256(claims: &Value, kid: &str) -> String {
    let pem = std::fs::read(format!("{FIXTURES}/sso-rsa-private.pem")).unwrap();
    let header = Header { kid: Some(kid.into()), ..Header::new(Algorithm::RS256) };
    encode(&header, claims, &EncodingKey::from_rsa_pem(&pem).unwrap()).unwrap()
}

fn request(provider: &str, token: String) -> SsoLoginRequest {
    SsoLoginRequest { provider: provider.into(), token, session: SessionOptions::default() }
}

#[tokio::test]
async fn a_marketplace_user_gets_one_pseudonymous_account() {
    let (app, _) = spawn_app().await;
    let first = app.client.sso_login(&request("shop", hs256(&claims(&app, "market-42"), SECRET))).await.unwrap();
    let client = app.client.authenticated(first.token.as_deref().unwrap());
    let me = client.me().await.unwrap();
    assert_eq!(me.handle, "vintage_cameras");
    assert_eq!(me.email, None, "a pseudonymous account has no email");
    let again = app.client.sso_login(&request("shop", hs256(&claims(&app, "market-42"), SECRET))).await.unwrap();
    assert_eq!(app.client.authenticated(again.token.as_deref().unwrap()).me().await.unwrap().id, me.id);
    // Another marketplace user proposing the same handle gets a variant of it.
    let other = app.client.sso_login(&request("shop", hs256(&claims(&app, "market-43"), SECRET))).await.unwrap();
    let other_me = app.client.authenticated(other.token.as_deref().unwrap()).me().await.unwrap();
    assert_ne!(other_me.id, me.id);
    assert!(other_me.handle.starts_with("vintage_cameras-"), "{}", other_me.handle);
    // The same subject at another integration is another person.
    let ed_user = app.client.sso_login(&request("bigshop", rs256(&claims(&app, "market-42"), "shop-2026"))).await.unwrap();
    assert_ne!(app.client.authenticated(ed_user.token.as_deref().unwrap()).me().await.unwrap().id, me.id);
    // Such an account has no password to log in with, so no TOTP to add to one.
    assert_problem(app.client.create_session(&me.handle, "any password at all").await, 401, ProblemCode::InvalidCredentials);
    assert_problem(client.start_totp().await, 409, ProblemCode::MfaNotAvailable);
    // Nor a passkey: it would be a way in around the marketplace's login.
    assert_problem(client.start_passkey_registration().await, 409, ProblemCode::MfaNotAvailable);
}

#[tokio::test]
async fn eddsa_and_rs256_tokens_are_accepted_with_their_keys() {
    let (app, ed) = spawn_app().await;
    let der = ed_pkcs8(&ed);
    let token = encode(&Header::new(Algorithm::EdDSA), &claims(&app, "ed-1"), &EncodingKey::from_ed_der(&der)).unwrap();
    app.client.sso_login(&request("edshop", token)).await.unwrap();
    app.client.sso_login(&request("bigshop", rs256(&claims(&app, "rsa-1"), "shop-2026"))).await.unwrap();
}

/// The PKCS#8 form of a generated Ed25519 key, for signing.
fn ed_pkcs8(key: &Ed25519KeyPair) -> Vec<u8> {
    key.to_pkcs8v1().unwrap().as_ref().to_vec()
}

#[tokio::test]
async fn every_forgery_is_refused_with_its_own_code() {
    let (app, _) = spawn_app().await;
    let good = claims(&app, "victim");
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = good.clone();
        change(&mut claims);
        claims
    };
    let t = now(&app);
    let cases: Vec<(&str, String, u16, ProblemCode)> = vec![
        ("shop", hs256(&good, "another secret that is long enough!!"), 401, ProblemCode::SsoBadSignature),
        ("shop", hs256(&with(&|c| c["iss"] = "https://evil.example".into()), SECRET), 401, ProblemCode::SsoWrongIssuer),
        ("shop", hs256(&with(&|c| c["aud"] = "someone-else".into()), SECRET), 401, ProblemCode::SsoWrongAudience),
        ("shop", hs256(&with(&|c| c["exp"] = (t - 61).into()), SECRET), 401, ProblemCode::SsoExpired),
        ("shop", hs256(&with(&|c| c["exp"] = (t + 3600).into()), SECRET), 401, ProblemCode::SsoExpired),
        ("shop", hs256(&with(&|c| c["nbf"] = (t + 120).into()), SECRET), 401, ProblemCode::SsoNotYetValid),
        ("shop", hs256(&with(&|c| drop(c.as_object_mut().unwrap().remove("jti"))), SECRET), 401, ProblemCode::SsoMalformed),
        ("shop", hs256(&with(&|c| drop(c.as_object_mut().unwrap().remove("sub"))), SECRET), 401, ProblemCode::SsoMalformed),
        ("shop", unsigned(&good), 401, ProblemCode::SsoAlgorithmRefused),
        ("shop", rs256(&good, "shop-2026"), 401, ProblemCode::SsoAlgorithmRefused),
        ("shop", tampered(&hs256(&good, SECRET)), 401, ProblemCode::SsoBadSignature),
        ("shop", "not.a.jwt".into(), 401, ProblemCode::SsoMalformed),
        // Key confusion: HS256 "signed" with the integration's RSA public key.
        (
            "bigshop",
            hs256(&good, &std::fs::read_to_string(format!("{FIXTURES}/sso-rsa-public.pem")).unwrap()),
            401,
            ProblemCode::SsoAlgorithmRefused,
        ),
        ("bigshop", rs256(&good, "unknown-kid"), 401, ProblemCode::SsoUnknownKey),
        ("bigshop", header_pointing_elsewhere(&good), 401, ProblemCode::SsoBadSignature),
        ("nowhere", hs256(&good, SECRET), 404, ProblemCode::SsoUnknownProvider),
    ];
    // Ten refusals from one network are free, then it must wait: the cases are split over two
    // servers (whose clocks start at the same instant, so the tokens stay valid).
    let second = spawn_app().await.0;
    for (n, (provider, token, status, code)) in cases.into_iter().enumerate() {
        let server = if n < 8 { &app } else { &second };
        assert_problem(server.client.sso_login(&request(provider, token)).await, status, code);
    }
    // Nothing above created an account or a session.
    let ok = app.client.sso_login(&request("shop", hs256(&claims(&app, "victim"), SECRET))).await.unwrap();
    let me = app.client.authenticated(ok.token.as_deref().unwrap()).me().await.unwrap();
    assert_eq!(me.handle, "vintage_cameras");
}

#[tokio::test]
async fn a_token_id_is_used_once_and_lifetimes_follow_the_servers_clock() {
    let (app, _) = spawn_app().await;
    let token = hs256(&claims(&app, "market-7"), SECRET);
    app.client.sso_login(&request("shop", token.clone())).await.unwrap();
    assert_problem(app.client.sso_login(&request("shop", token)).await, 401, ProblemCode::SsoReplayed);
    let late = hs256(&claims(&app, "market-7"), SECRET);
    app.clock.advance(Duration::from_secs(120 + 61));
    assert_problem(app.client.sso_login(&request("shop", late)).await, 401, ProblemCode::SsoExpired);
}

/// A token whose header says `alg: none`, with no signature.
fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    format!("{header}.{}.", URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap()))
}

/// The payload changed after signing (the victim's `sub` swapped in).
fn tampered(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = "admin".into();
    format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap()), parts[2])
}

/// An RS256 token signed by an attacker's key whose header points at it (`jku`, `jwk`), with a
/// known `kid`: Parley never fetches keys a token names, so the signature fails.
fn header_pointing_elsewhere(claims: &Value) -> String {
    let attacker = Ed25519KeyPair::generate().unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.jku = Some("https://evil.example/jwks.json".into());
    let forged = encode(&header, claims, &EncodingKey::from_ed_der(&ed_pkcs8(&attacker))).unwrap();
    // Relabel it RS256 with the integration's kid, keeping the attacker's signature.
    let parts: Vec<&str> = forged.split('.').collect();
    let relabelled = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"shop-2026","jku":"https://evil.example/jwks.json"}"#);
    format!("{relabelled}.{}.{}", parts[1], parts[2])
}

/// The marketplace's side of a JWKS URL: its key set at an HTTPS address (under a CA of its
/// own), which it can rotate.
struct Marketplace {
    url: String,
    ca_file: std::path::PathBuf,
    jwks: std::sync::Arc<std::sync::Mutex<String>>,
    shutdown: tokio_util::sync::CancellationToken,
    _dir: tempfile::TempDir,
}

impl Marketplace {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = parley_server::config::Config { data_dir: dir.path().join("market"), ..Default::default() };
        let material = parley_server::bootstrap::tls_material(&config).unwrap();
        let ca_file = dir.path().join("market-ca.pem");
        std::fs::write(&ca_file, material.ca_pem.as_deref().unwrap()).unwrap();
        let jwks = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let served = std::sync::Arc::clone(&jwks);
        let app = axum::Router::new().route("/jwks.json", axum::routing::get(move || async move { served.lock().unwrap().clone() }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://127.0.0.1:{}/jwks.json", listener.local_addr().unwrap().port());
        let limits = parley_server::listener::ConnectionLimits {
            max_connections: 16,
            max_connections_per_ip: 16,
            tls_handshake_timeout: Duration::from_secs(5),
            header_read_timeout: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(1),
        };
        let shutdown = tokio_util::sync::CancellationToken::new();
        let tls = parley_server::tls::server_config(&material).unwrap();
        tokio::spawn(parley_server::listener::serve(listener, tls, app, limits, shutdown.clone()));
        Self { url, ca_file, jwks, shutdown, _dir: dir }
    }

    /// Publishes a key set of these Ed25519 keys, by id.
    fn publish(&self, keys: &[(&str, &Ed25519KeyPair)]) {
        let keys: Vec<Value> = keys
            .iter()
            .map(|(kid, key)| json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": URL_SAFE_NO_PAD.encode(key.public_key().as_ref())}))
            .collect();
        *self.jwks.lock().unwrap() = json!({ "keys": keys }).to_string();
    }
}

fn eddsa(claims: &Value, kid: &str, key: &Ed25519KeyPair) -> String {
    let header = Header { kid: Some(kid.into()), ..Header::new(Algorithm::EdDSA) };
    encode(&header, claims, &EncodingKey::from_ed_der(&ed_pkcs8(key))).unwrap()
}

#[tokio::test]
async fn keys_fetched_from_a_jwks_url_follow_the_marketplaces_rotation() {
    let market = Marketplace::start().await;
    let (old, new) = (Ed25519KeyPair::generate().unwrap(), Ed25519KeyPair::generate().unwrap());
    market.publish(&[("2026-a", &old)]);
    let app = TestApp::spawn_with(|config| {
        config.sso = vec![SsoConfig {
            jwks_url: market.url.clone(),
            jwks_ca_file: market.ca_file.clone(),
            ..integration("remote", SsoAlgorithm::Eddsa)
        }];
    })
    .await;
    app.client.sso_login(&request("remote", eddsa(&claims(&app, "buyer-1"), "2026-a", &old))).await.unwrap();

    // The marketplace rotates its key. The first token with the new key id finds Parley
    // without it and makes it fetch the set again; the next ones are accepted.
    market.publish(&[("2026-b", &new)]);
    let mut accepted = false;
    for _ in 0..50 {
        match app.client.sso_login(&request("remote", eddsa(&claims(&app, "buyer-1"), "2026-b", &new))).await {
            Ok(_) => {
                accepted = true;
                break;
            }
            Err(error) => {
                assert_problem::<()>(Err(error), 401, ProblemCode::SsoUnknownKey);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert!(accepted, "the rotated key was fetched");
    let retired = app.client.sso_login(&request("remote", eddsa(&claims(&app, "buyer-1"), "2026-a", &old))).await;
    assert_problem(retired, 401, ProblemCode::SsoUnknownKey);
    market.shutdown.cancel();
}
