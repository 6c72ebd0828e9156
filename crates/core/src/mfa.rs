//! Second factors: TOTP enrolment (secret and `otpauth://` URI, confirmed by a first code,
//! which also issues ten one-time recovery codes), turning it off and replacing the codes (each
//! behind the step-up of `step_up.rs`), and the second step of a password login: a short-lived challenge answered with a TOTP code, a
//! recovery code or a passkey. A code is accepted once (the store keeps the last accepted
//! step); a challenge takes at most [`MAX_CHALLENGE_ATTEMPTS`] answers, counted before each is
//! checked, and a user has one live challenge at a time.

use std::time::Duration;

use parley_crypto::{Aad, BearerToken, TotpKey, recovery};
use parley_domain::{ClientContext, KeyScope, Sealed, Secret, SecurityEventKind, Timestamp, TokenHash, UserId};
use parley_store::{ChallengeKind, ChallengeRecord, UserRecord};

use crate::Parley;
use crate::auth::{IssuedSession, LockState, LoginAttempt, Session};
use crate::error::CoreError;
use crate::step_up::StepUpProof;

/// Challenge tokens start with this.
const CHALLENGE_PREFIX: &str = "prly_c";
/// How long a login challenge may be answered.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);
/// Answers a challenge takes before it is withdrawn (and the password is asked again).
pub const MAX_CHALLENGE_ATTEMPTS: u32 = 5;
/// The issuer name authenticator apps show.
const TOTP_ISSUER: &str = "Parley";

/// A TOTP enrolment waiting for its first code.
#[derive(Debug)]
pub struct TotpEnrolment {
    /// The secret in base32, for typing into an app.
    pub secret: Secret<String>,
    /// The `otpauth://` URI, for a QR code.
    pub uri: Secret<String>,
}

/// Which second factors an account has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaStatus {
    /// TOTP is on.
    pub totp: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: u32,
    /// Registered passkeys.
    pub passkeys: u32,
}

/// A way to answer a login challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactorMethod {
    /// A code from an authenticator app.
    Totp,
    /// A one-time recovery code.
    RecoveryCode,
    /// A passkey assertion.
    Passkey,
}

/// The second step a password login must take.
#[derive(Debug)]
pub struct SecondFactorChallenge {
    /// The challenge token (single use).
    pub token: Secret<String>,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
    /// The methods the account can answer with.
    pub methods: Vec<SecondFactorMethod>,
    /// WebAuthn request options, when the account has passkeys.
    pub passkey_options: Option<serde_json::Value>,
}

/// An answer to a login challenge.
#[derive(Debug)]
pub enum SecondFactorAnswer {
    /// A TOTP code.
    Totp(Secret<String>),
    /// A recovery code.
    RecoveryCode(Secret<String>),
    /// A WebAuthn assertion (the browser's `PublicKeyCredential` as JSON).
    Passkey(serde_json::Value),
}

impl Parley {
    /// Which second factors the caller has.
    pub async fn mfa_status(&self, session: &Session) -> Result<MfaStatus, CoreError> {
        let user = session.user_id();
        let totp = self.store.totp_of(user).await?.is_some_and(|t| t.confirmed_at.is_some());
        Ok(MfaStatus {
            totp,
            recovery_codes_left: self.store.recovery_codes_left(user).await?,
            passkeys: u32::try_from(self.store.passkeys_of(user).await?.len()).unwrap_or(u32::MAX),
        })
    }

    /// Starts TOTP enrolment: a fresh secret, not yet a factor until a code confirms it.
    pub async fn start_totp(&self, session: &Session) -> Result<TotpEnrolment, CoreError> {
        self.require_fresh(session)?;
        let user = self.store.user_by_id(session.user_id()).await?.ok_or(CoreError::Unauthenticated)?;
        // An account without a password logs in through its marketplace, which no TOTP code
        // would be asked at: a factor that is never checked must not look like protection.
        if user.password_hash.is_none() {
            return Err(CoreError::MfaNotAvailable);
        }
        let now = self.clock.now();
        let key = TotpKey::generate()?;
        let dek = self.keys.dek_for(&KeyScope::UserProfile(user.id), now).await?;
        let sealed = Sealed::from_bytes(dek.seal(key.as_bytes(), &totp_aad(user.id))?);
        if !self.store.put_totp(user.id, &sealed, now).await? {
            return Err(CoreError::MfaAlreadyEnabled);
        }
        let uri = key.provisioning_uri(TOTP_ISSUER, user.handle.as_str())?;
        Ok(TotpEnrolment { secret: Secret::new(key.to_base32()), uri: Secret::new(uri) })
    }

    /// Confirms TOTP with a first code; returns the ten recovery codes (shown once). On an
    /// account with passkeys, a new factor needs one of them to vouch for it (`proof`).
    pub async fn confirm_totp(
        &self,
        session: &Session,
        code: &Secret<String>,
        proof: StepUpProof<'_>,
        context: &ClientContext,
    ) -> Result<Vec<Secret<String>>, CoreError> {
        let user = self.store.user_by_id(session.user_id()).await?.ok_or(CoreError::Unauthenticated)?;
        self.check_code_budget(user.id)?;
        let record = self.store.totp_of(user.id).await?.filter(|t| t.confirmed_at.is_none()).ok_or(CoreError::MfaNotEnabled)?;
        let Some(step) = self.totp_step(user.id, &record.secret, code).await? else {
            return Err(self.wrong_code(user.id));
        };
        self.require_step_up(session, proof, context).await?;
        let (shown, hashes) = self.fresh_recovery_codes(user.id)?;
        let notice = self.notice(user.id, user.email.as_ref(), SecurityEventKind::MfaEnabled, context).await?;
        if !self.store.confirm_totp(user.id, &record.secret, step, self.clock.now(), &hashes, &notice).await? {
            return Err(self.wrong_code(user.id));
        }
        Ok(shown)
    }

    /// Turns TOTP off; takes a proof of the second factor: a fresh code from the app, a recovery
    /// code (the way back in for someone who lost the phone) or a passkey.
    pub async fn disable_totp(&self, session: &Session, proof: StepUpProof<'_>, context: &ClientContext) -> Result<(), CoreError> {
        if !self.totp_enabled(session.user_id()).await? {
            return Err(CoreError::MfaNotEnabled);
        }
        let user = self.require_step_up(session, proof, context).await?;
        let notice = self.notice(user.id, user.email.as_ref(), SecurityEventKind::MfaDisabled, context).await?;
        self.store.remove_totp(user.id, &notice).await?;
        Ok(())
    }

    /// Replaces the recovery codes (all of them, used or not) with ten new ones; takes a proof
    /// of the second factor (a fresh code from the app, one of the old recovery codes, a passkey).
    pub async fn replace_recovery_codes(
        &self,
        session: &Session,
        proof: StepUpProof<'_>,
        context: &ClientContext,
    ) -> Result<Vec<Secret<String>>, CoreError> {
        if !self.totp_enabled(session.user_id()).await? {
            return Err(CoreError::MfaNotEnabled);
        }
        let user = self.require_step_up(session, proof, context).await?;
        let (shown, hashes) = self.fresh_recovery_codes(user.id)?;
        let notice = self.notice(user.id, user.email.as_ref(), SecurityEventKind::RecoveryCodesReplaced, context).await?;
        if !self.store.replace_recovery_codes(user.id, &hashes, &notice).await? {
            return Err(CoreError::MfaNotEnabled);
        }
        Ok(shown)
    }

    /// Whether the user's TOTP is on.
    pub(crate) async fn totp_enabled(&self, user: UserId) -> Result<bool, CoreError> {
        Ok(self.store.totp_of(user).await?.is_some_and(|t| t.confirmed_at.is_some()))
    }

    /// The challenge a password login must answer, if the account has a second factor.
    pub(crate) async fn second_factor_challenge(&self, user: &UserRecord) -> Result<Option<SecondFactorChallenge>, CoreError> {
        let mut methods = Vec::new();
        if self.totp_enabled(user.id).await? {
            methods.extend([SecondFactorMethod::Totp, SecondFactorMethod::RecoveryCode]);
        }
        let passkey = self.start_passkey_second_factor(user.id).await?;
        if passkey.is_some() {
            methods.push(SecondFactorMethod::Passkey);
        }
        if methods.is_empty() {
            return Ok(None);
        }
        let now = self.clock.now();
        let token = BearerToken::generate(CHALLENGE_PREFIX)?;
        let (state, passkey_options) = passkey.unzip();
        let record = ChallengeRecord {
            hash: token.hash,
            kind: ChallengeKind::MfaLogin,
            user_id: Some(user.id),
            state,
            failures: 0,
            expires_at: now.plus(CHALLENGE_TTL),
        };
        self.store.insert_challenge(&record).await?;
        Ok(Some(SecondFactorChallenge { token: token.secret, expires_at: record.expires_at, methods, passkey_options }))
    }

    /// Completes a login with the answer to its challenge. Each answer is counted before it is
    /// checked; a wrong one counts against the account like a wrong password, and an account
    /// locked by such failures takes no answer until the lock ends, unless it comes from a
    /// known device with a pass left (as at the password step).
    pub async fn complete_second_factor(
        &self,
        challenge: &str,
        answer: SecondFactorAnswer,
        attempt: &LoginAttempt,
    ) -> Result<IssuedSession, CoreError> {
        let now = self.clock.now();
        self.check_login_backoff(attempt)?;
        let hash = BearerToken::hash(challenge);
        let record = self.store.reserve_challenge_attempt(&hash, ChallengeKind::MfaLogin, MAX_CHALLENGE_ATTEMPTS, now).await?;
        let (Some(record), Some(user_id)) = (record.as_ref(), record.as_ref().and_then(|c| c.user_id)) else {
            return Err(CoreError::ChallengeInvalid);
        };
        let user = self.store.user_by_id(user_id).await?.ok_or(CoreError::ChallengeInvalid)?;
        // A known device passes the lock here as at the password step, so that strangers'
        // failures cannot keep the owner of a two-factor account out.
        let lock = self.lock_state(&user, attempt, now).await?;
        if let LockState::Locked { until } = lock {
            return Err(CoreError::RateLimited { retry_after: until.since(now) });
        }
        let accepted = match answer {
            SecondFactorAnswer::Totp(code) => self.use_totp_code(user.id, &code).await?,
            SecondFactorAnswer::RecoveryCode(code) => self.use_recovery_code(&user, &code, &attempt.context).await?,
            SecondFactorAnswer::Passkey(credential) => self.finish_passkey_second_factor(&user, record, &credential).await?,
        };
        if !accepted {
            if record.failures >= MAX_CHALLENGE_ATTEMPTS {
                self.store.take_challenge(&hash, ChallengeKind::MfaLogin).await?;
            }
            self.login_backoff.record_failure(attempt.ip, now);
            self.count_failure(&user, &lock, &attempt.context).await?;
            return Err(CoreError::InvalidCode);
        }
        // Taking the challenge is what makes it single-use: a racing second answer finds it gone.
        self.store.take_challenge(&hash, ChallengeKind::MfaLogin).await?.ok_or(CoreError::ChallengeInvalid)?;
        self.open_session(&user, attempt).await
    }

    /// Checks a TOTP code against the confirmed secret and uses its step up.
    pub(crate) async fn use_totp_code(&self, user: UserId, code: &Secret<String>) -> Result<bool, CoreError> {
        let Some(record) = self.store.totp_of(user).await?.filter(|t| t.confirmed_at.is_some()) else {
            return Ok(false);
        };
        match self.totp_step(user, &record.secret, code).await? {
            Some(step) => Ok(self.store.use_totp_step(user, step).await?),
            None => Ok(false),
        }
    }

    /// The time step a code is valid for now, under the sealed secret.
    async fn totp_step(&self, user: UserId, secret: &Sealed<Vec<u8>>, code: &Secret<String>) -> Result<Option<i64>, CoreError> {
        let dek = self.keys.existing_dek(&KeyScope::UserProfile(user)).await?.ok_or(CoreError::Unauthenticated)?;
        let key = TotpKey::from_bytes(dek.open(secret.as_bytes(), &totp_aad(user))?);
        let unix_seconds = u64::try_from(self.clock.now().as_millis() / 1000).unwrap_or(0);
        Ok(key.verify(code.expose(), unix_seconds)?.and_then(|step| i64::try_from(step).ok()))
    }

    /// Ten new recovery codes: to show once, and their keyed digests to store.
    fn fresh_recovery_codes(&self, user: UserId) -> Result<(Vec<Secret<String>>, Vec<TokenHash>), CoreError> {
        let shown = recovery::generate()?;
        let digests = shown.iter().map(|code| self.keys.recovery_code_digest(user, code.expose())).collect();
        Ok((shown, digests))
    }

    /// Uses up a recovery code (in either stored form; each statement is a single conditional
    /// delete, so a code is used once however requests race).
    pub(crate) async fn use_recovery_code(
        &self,
        user: &UserRecord,
        code: &Secret<String>,
        context: &ClientContext,
    ) -> Result<bool, CoreError> {
        let keyed = self.keys.recovery_code_digest(user.id, code.expose());
        let spent = self.store.use_recovery_code(user.id, &keyed).await?
            || self.store.use_recovery_code(user.id, &recovery::legacy_hash(&user.id.to_string(), code.expose())).await?;
        if !spent {
            return Ok(false);
        }
        let notice = self.notice(user.id, user.email.as_ref(), SecurityEventKind::RecoveryCodeUsed, context).await?;
        self.store.record_notice(&notice).await?;
        Ok(true)
    }
}

impl Parley {
    /// Whether the user may try another code now (wrong codes back off per user).
    pub(crate) fn check_code_budget(&self, user: UserId) -> Result<(), CoreError> {
        self.code_backoff.check(&user, self.clock.now()).map_err(|retry_after| CoreError::RateLimited { retry_after })
    }

    /// Counts a wrong current password (given through a session) against the user.
    pub(crate) fn wrong_password(&self, user: UserId) -> CoreError {
        self.code_backoff.record_failure(user, self.clock.now());
        CoreError::InvalidCredentials
    }

    /// Counts a wrong code against the user and answers the refusal.
    pub(crate) fn wrong_code(&self, user: UserId) -> CoreError {
        self.code_backoff.record_failure(user, self.clock.now());
        CoreError::InvalidCode
    }
}

fn totp_aad(user: UserId) -> Aad {
    Aad::field("totp_credentials", &user, "secret")
}
