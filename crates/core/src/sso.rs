//! Marketplace single sign-on: the marketplace's backend signs a short-lived JWT naming its own
//! user; Parley checks it (one configured algorithm per integration, the integration's keys,
//! issuer, audience, lifetime on Parley's clock, single-use token id) and maps the marketplace
//! user to a pseudonymous Parley account: found by a keyed index of (integration, subject),
//! created on first use with the handle the marketplace proposes (or a variant when it is
//! taken), with neither email nor password. Every refusal has its own reason.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use parley_crypto::BearerToken;
use parley_domain::{Handle, SecurityEventKind, Timestamp, UserId};
use parley_store::NewUser;
use serde::Deserialize;
use uuid::Uuid;

use crate::Parley;
use crate::auth::{IssuedSession, LoginAttempt};
use crate::error::CoreError;

/// The longest a token may still have to live when it arrives: these are hand-over tokens.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Clock difference tolerated between the marketplace and Parley.
pub const LEEWAY: Duration = Duration::from_secs(60);
/// Tries at a free handle when the proposed one is taken.
const HANDLE_ATTEMPTS: usize = 5;

/// Why a single sign-on token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SsoRefusal {
    /// No integration has that name.
    #[error("unknown single sign-on integration")]
    UnknownProvider,
    /// Not a JWT, or a required claim is missing or of the wrong type.
    #[error("malformed token")]
    Malformed,
    /// The header names an algorithm other than the integration's (including `none`).
    #[error("algorithm refused")]
    AlgorithmRefused,
    /// The header names a key id the integration does not have.
    #[error("unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The issuer is not the integration's.
    #[error("wrong issuer")]
    WrongIssuer,
    /// The audience is not Parley's.
    #[error("wrong audience")]
    WrongAudience,
    /// The token has expired (or lives longer than a hand-over token may).
    #[error("expired")]
    Expired,
    /// The token is not valid yet.
    #[error("not yet valid")]
    NotYetValid,
    /// The token id was used before.
    #[error("replayed")]
    Replayed,
}

/// One marketplace integration.
#[derive(Clone)]
pub struct SsoProvider {
    /// Its name, as clients give it (`shop`).
    pub name: String,
    /// The `iss` its tokens carry.
    pub issuer: String,
    /// The `aud` its tokens must carry (Parley's name for itself).
    pub audience: String,
    /// The one algorithm its tokens may use.
    pub algorithm: Algorithm,
    /// Its verification keys.
    pub keys: SsoKeys,
}

impl fmt::Debug for SsoProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("SsoProvider");
        debug.field("name", &self.name).field("issuer", &self.issuer).field("audience", &self.audience).field("algorithm", &self.algorithm);
        debug.finish_non_exhaustive()
    }
}

/// Verification keys: one key, a JWKS by key id, or a JWKS the server keeps fetching.
#[derive(Clone)]
pub enum SsoKeys {
    /// The only key (a shared secret, or a public key).
    Single(DecodingKey),
    /// Keys by `kid`.
    ByKeyId(HashMap<String, DecodingKey>),
    /// Keys by `kid` from the marketplace's JWKS URL, replaced as the server fetches it again.
    Remote(Arc<RemoteKeys>),
}

impl SsoKeys {
    /// Keys by id from a JWKS document; every key needs a `kid`.
    pub fn from_jwks(json: &str) -> Result<Self, String> {
        parse_jwks(json).map(SsoKeys::ByKeyId)
    }
}

fn parse_jwks(json: &str) -> Result<HashMap<String, DecodingKey>, String> {
    let set: JwkSet = serde_json::from_str(json).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let kid = jwk.common.key_id.clone().ok_or("every key in the JWKS needs a kid")?;
        keys.insert(kid, DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable key: {e}"))?);
    }
    if keys.is_empty() {
        return Err("the JWKS has no keys".into());
    }
    Ok(keys)
}

/// A marketplace's key set fetched from its JWKS URL. The core reads it; the server fetches
/// it, at start, periodically, and when a token names a key id it does not hold (the
/// marketplace rotated its keys), which the core signals through [`RemoteKeys::wanted`].
#[derive(Default)]
pub struct RemoteKeys {
    keys: RwLock<HashMap<String, DecodingKey>>,
    wanted: tokio::sync::Notify,
}

impl RemoteKeys {
    /// Replaces the keys with those of a freshly fetched JWKS document; a document that does
    /// not parse changes nothing. Returns how many keys it held.
    pub fn replace(&self, json: &str) -> Result<usize, String> {
        let keys = parse_jwks(json)?;
        let count = keys.len();
        *self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = keys;
        Ok(count)
    }

    /// Whether no fetch succeeded yet.
    pub fn is_empty(&self) -> bool {
        self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty()
    }

    /// The key with this id, if the last fetch had it.
    fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(kid).cloned()
    }

    /// Resolves when a token named a key id the set lacks: time to fetch again.
    pub async fn wanted(&self) {
        self.wanted.notified().await;
    }
}

/// The claims Parley reads.
#[derive(Deserialize)]
struct Claims {
    sub: String,
    jti: String,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    /// The handle the marketplace proposes for a new account.
    #[serde(default)]
    handle: Option<String>,
}

impl Parley {
    /// Logs in the marketplace user a token names, creating their pseudonymous account on
    /// first use.
    pub async fn log_in_with_sso(&self, provider: &str, token: &str, attempt: &LoginAttempt) -> Result<IssuedSession, CoreError> {
        let now = self.clock.now();
        self.check_login_backoff(attempt)?;
        let provider = self.settings.sso.iter().find(|p| p.name == provider).ok_or(CoreError::Sso(SsoRefusal::UnknownProvider))?;
        let claims = match verify(provider, token, now) {
            Ok(claims) => claims,
            Err(refusal) => {
                self.login_backoff.record_failure(attempt.ip, now);
                tracing::info!(provider = %provider.name, reason = %refusal, "single sign-on token refused");
                return Err(CoreError::Sso(refusal));
            }
        };
        let jti = BearerToken::hash(&claims.jti);
        // Kept a second past the last instant the token is accepted, so a purge cannot reopen it.
        let forget_at = Timestamp::from_millis(claims.exp.saturating_mul(1000)).plus(LEEWAY + Duration::from_secs(1));
        if !self.store.use_token_id(&provider.name, &jti, forget_at).await? {
            return Err(CoreError::Sso(SsoRefusal::Replayed));
        }
        let subject = self.keys.external_subject(&provider.name, &claims.sub);
        let user = match self.store.external_identity(&provider.name, &subject).await? {
            Some(id) => id,
            None => self.create_external_user(provider, &subject, claims.handle.as_deref(), attempt).await?,
        };
        let user = self.store.user_by_id(user).await?.ok_or(CoreError::Unauthenticated)?;
        self.open_session(&user, attempt).await
    }

    async fn create_external_user(
        &self,
        provider: &SsoProvider,
        subject: &parley_domain::BlindIndex,
        proposed: Option<&str>,
        attempt: &LoginAttempt,
    ) -> Result<UserId, CoreError> {
        let now = self.clock.now();
        for candidate in handle_candidates(proposed, HANDLE_ATTEMPTS) {
            let Ok(handle) = Handle::parse(&candidate) else { continue };
            let id = UserId::from_uuid(Uuid::now_v7());
            let user = NewUser { id, handle, email: None, password_hash: None, created_at: now, accepted_policy: None };
            let notice = self.notice(id, None, SecurityEventKind::AccountCreated, &attempt.context).await?;
            match self.store.insert_external_user(&user, &provider.name, subject, &notice).await {
                Ok(()) => {
                    tracing::info!(user_id = %id, provider = %provider.name, "account created by single sign-on");
                    return Ok(id);
                }
                Err(error) => {
                    // Lost a race for the same identity: the other request created it.
                    if let Some(existing) = self.store.external_identity(&provider.name, subject).await? {
                        return Ok(existing);
                    }
                    if !matches!(CoreError::from(error), CoreError::HandleTaken) {
                        return Err(CoreError::Internal("could not create the single sign-on account".into()));
                    }
                }
            }
        }
        Err(CoreError::HandleTaken)
    }
}

/// Checks a token against an integration at `now` (Parley's clock, not the system's).
fn verify(provider: &SsoProvider, token: &str, now: Timestamp) -> Result<Claims, SsoRefusal> {
    // `none` (any case) is refused before anything else looks at the token.
    let header = raw_header(token)?;
    let alg = header.get("alg").and_then(serde_json::Value::as_str).ok_or(SsoRefusal::Malformed)?;
    if alg.eq_ignore_ascii_case("none") || alg != algorithm_name(provider.algorithm) {
        return Err(SsoRefusal::AlgorithmRefused);
    }
    let kid = || header.get("kid").and_then(serde_json::Value::as_str).ok_or(SsoRefusal::UnknownKey);
    let key = match &provider.keys {
        SsoKeys::Single(key) => key.clone(),
        SsoKeys::ByKeyId(keys) => keys.get(kid()?).ok_or(SsoRefusal::UnknownKey)?.clone(),
        SsoKeys::Remote(remote) => remote.key(kid()?).ok_or_else(|| {
            // Perhaps a key the marketplace rotated in since the last fetch: fetch again.
            remote.wanted.notify_one();
            SsoRefusal::UnknownKey
        })?,
    };
    let mut validation = Validation::new(provider.algorithm);
    validation.set_issuer(&[&provider.issuer]);
    validation.set_audience(&[&provider.audience]);
    validation.set_required_spec_claims(&["iss", "aud", "sub", "exp"]);
    // Times are checked below on Parley's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|error| refusal_of(error.kind()))?.claims;
    let now_secs = now.as_millis() / 1000;
    let leeway = i64::try_from(LEEWAY.as_secs()).unwrap_or(60);
    if claims.exp.saturating_add(leeway) < now_secs {
        return Err(SsoRefusal::Expired);
    }
    if claims.exp.saturating_sub(now_secs) > i64::try_from(MAX_TOKEN_LIFETIME.as_secs()).unwrap_or(600) {
        return Err(SsoRefusal::Expired);
    }
    if claims.nbf.is_some_and(|nbf| nbf.saturating_sub(leeway) > now_secs) {
        return Err(SsoRefusal::NotYetValid);
    }
    if claims.sub.is_empty() || claims.sub.len() > 255 || claims.jti.is_empty() || claims.jti.len() > 255 {
        return Err(SsoRefusal::Malformed);
    }
    Ok(claims)
}

fn raw_header(token: &str) -> Result<serde_json::Map<String, serde_json::Value>, SsoRefusal> {
    let encoded = token.split('.').next().ok_or(SsoRefusal::Malformed)?;
    let bytes = URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')).map_err(|_| SsoRefusal::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| SsoRefusal::Malformed)
}

/// The header name of the algorithms an integration may be configured with (no other
/// algorithm's tokens are ever accepted).
fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::RS256 => "RS256",
        Algorithm::EdDSA => "EdDSA",
        _ => "(unsupported)",
    }
}

fn refusal_of(kind: &ErrorKind) -> SsoRefusal {
    match kind {
        ErrorKind::InvalidSignature => SsoRefusal::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::UnsupportedAlgorithm => {
            SsoRefusal::AlgorithmRefused
        }
        ErrorKind::InvalidIssuer => SsoRefusal::WrongIssuer,
        ErrorKind::InvalidAudience => SsoRefusal::WrongAudience,
        ErrorKind::ExpiredSignature => SsoRefusal::Expired,
        ErrorKind::ImmatureSignature => SsoRefusal::NotYetValid,
        _ => SsoRefusal::Malformed,
    }
}

/// Handles to try for a new account: the proposed one (cleaned), then variants with a random
/// suffix; with no usable proposal (too short, or reserved: "admin", "deleted-user-…"),
/// `member-xxxxxx`.
fn handle_candidates(proposed: Option<&str>, attempts: usize) -> Vec<String> {
    let cleaned: String = proposed
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .take(24)
        .collect::<String>()
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned();
    let base = if Handle::parse(&cleaned).is_ok() { cleaned } else { "member".to_owned() };
    let mut candidates = vec![base.clone()];
    for _ in 1..attempts {
        let suffix = &Uuid::new_v4().simple().to_string()[..6];
        candidates.push(format!("{base}-{suffix}"));
    }
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposed_handles_are_cleaned_and_varied() {
        let candidates = handle_candidates(Some("  Vintage Cameras!! "), 3);
        assert_eq!(candidates[0], "VintageCameras");
        assert!(candidates[1].starts_with("VintageCameras-") && candidates[1] != candidates[2]);
        assert!(handle_candidates(None, 1)[0].starts_with("member"));
        assert!(handle_candidates(Some("<>"), 2)[1].starts_with("member-"));
        for reserved in ["Admin", "deleted-user-7", "support"] {
            assert!(handle_candidates(Some(reserved), 2).iter().all(|c| c.starts_with("member")), "{reserved}");
        }
    }

    #[test]
    fn headers_naming_none_are_refused_before_verification() {
        let provider = SsoProvider {
            name: "shop".into(),
            issuer: "https://shop.example".into(),
            audience: "parley".into(),
            algorithm: Algorithm::HS256,
            keys: SsoKeys::Single(DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef")),
        };
        for alg in ["none", "NONE", "nOnE"] {
            let header = URL_SAFE_NO_PAD.encode(format!("{{\"alg\":\"{alg}\",\"typ\":\"JWT\"}}"));
            let token = format!("{header}.{}.", URL_SAFE_NO_PAD.encode(b"{\"sub\":\"x\"}"));
            assert_eq!(verify(&provider, &token, Timestamp::from_millis(0)).err(), Some(SsoRefusal::AlgorithmRefused));
        }
        assert_eq!(verify(&provider, "not a token", Timestamp::from_millis(0)).err(), Some(SsoRefusal::Malformed));
    }
}
