//! Step-up: proving who one is again, on a fresh login, before the factors themselves change.
//! A session alone, which may have been stolen, turns on no TOTP, makes no recovery codes, adds
//! no passkey and removes none. On an account that has a second factor (TOTP or passkeys), the
//! proof is that factor: a TOTP code or a recovery code, or an assertion from one of the
//! account's passkeys answering a step-up ceremony ([`Parley::start_step_up`]). On an account
//! without one, it is the password (or, for an account without a password, the fresh login
//! itself): a stolen session cannot enrol a first factor and so lock the owner out.

use parley_domain::{ClientContext, Secret};
use parley_store::{ChallengeKind, UserRecord};
use webauthn_rs::prelude::PasskeyAuthentication;

use crate::Parley;
use crate::auth::Session;
use crate::error::CoreError;
use crate::passkeys::{PasskeyCeremony, internal, state_of};

/// What a caller offers as proof before a change to their factors.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepUpProof<'a> {
    /// A TOTP code (not one used before) or a recovery code (used up by this).
    pub code: Option<&'a Secret<String>>,
    /// An assertion from one of the account's passkeys.
    pub passkey: Option<PasskeyProof<'a>>,
    /// The password, for an account without a second factor yet.
    pub password: Option<&'a Secret<String>>,
}

/// A passkey assertion answering a step-up ceremony.
#[derive(Debug, Clone, Copy)]
pub struct PasskeyProof<'a> {
    /// The ceremony token from [`Parley::start_step_up`].
    pub ceremony: &'a str,
    /// The browser's `PublicKeyCredential` from `navigator.credentials.get()`, as JSON.
    pub credential: &'a serde_json::Value,
}

impl Parley {
    /// Starts a step-up ceremony: request options over the caller's passkeys, one of which then
    /// proves the second factor for one change.
    pub async fn start_step_up(&self, session: &Session) -> Result<PasskeyCeremony, CoreError> {
        self.require_fresh(session)?;
        let passkeys = self.credentials_of(session.user_id()).await?;
        if passkeys.is_empty() {
            return Err(CoreError::MfaNotEnabled);
        }
        let (options, state) = self.webauthn.start_passkey_authentication(&passkeys).map_err(internal)?;
        self.start_ceremony(ChallengeKind::StepUp, Some(session.user_id()), &state, &options).await
    }

    /// The caller, once they proved their second factor or, for an account without one, their
    /// password; wrong proofs back off per user. The login must be fresh either way.
    pub(crate) async fn require_step_up(
        &self,
        session: &Session,
        proof: StepUpProof<'_>,
        context: &ClientContext,
    ) -> Result<UserRecord, CoreError> {
        self.require_fresh(session)?;
        let user = self.store.user_by_id(session.user_id()).await?.ok_or(CoreError::Unauthenticated)?;
        let totp = self.totp_enabled(user.id).await?;
        if !totp && self.store.passkeys_of(user.id).await?.is_empty() {
            // An account without a password (single sign-on) enrols no factor at all.
            if user.password_hash.is_none() {
                return Err(CoreError::MfaNotAvailable);
            }
            self.confirm_identity(&user, session, proof.password.cloned()).await?;
            return Ok(user);
        }
        self.check_code_budget(user.id)?;
        let proved = match (proof.passkey, proof.code) {
            (Some(passkey), _) => self.prove_with_passkey(&user, passkey).await?,
            (None, Some(code)) if totp => self.prove_with_code(&user, code, context).await?,
            _ => false,
        };
        if !proved {
            return Err(self.wrong_code(user.id));
        }
        Ok(user)
    }

    /// Whether the code is a fresh TOTP code or one of the recovery codes (then used up).
    async fn prove_with_code(&self, user: &UserRecord, code: &Secret<String>, context: &ClientContext) -> Result<bool, CoreError> {
        // Digits alone (however spaced) are an app's code; anything else, a recovery code.
        let compact: String = code.expose().chars().filter(|c| !c.is_whitespace()).collect();
        if compact.chars().all(|c| c.is_ascii_digit()) {
            self.use_totp_code(user.id, &Secret::new(compact)).await
        } else {
            self.use_recovery_code(user, code, context).await
        }
    }

    /// Whether the assertion answers the user's own step-up ceremony (which it uses up).
    async fn prove_with_passkey(&self, user: &UserRecord, proof: PasskeyProof<'_>) -> Result<bool, CoreError> {
        let ceremony = match self.take_ceremony(proof.ceremony, ChallengeKind::StepUp).await {
            Ok(ceremony) => ceremony,
            Err(CoreError::ChallengeInvalid) => return Ok(false),
            Err(error) => return Err(error),
        };
        if ceremony.user_id != Some(user.id) {
            return Ok(false);
        }
        let Ok(state) = state_of::<PasskeyAuthentication>(&ceremony) else {
            return Ok(false);
        };
        self.verify_passkey_assertion(user, &state, proof.credential).await
    }
}
