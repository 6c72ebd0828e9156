//! Passkeys (WebAuthn, through `webauthn-rs`): registration, listing and removal; a passkey as
//! the second step of a password login; and passwordless login with a discoverable passkey,
//! which needs no handle (so it cannot be used to probe which accounts exist).
//!
//! Ceremony state lives in the store's short-lived challenges (it holds only public data: the
//! random challenge and the allowed credentials), so any node can finish a ceremony another
//! started, and taking the challenge makes every ceremony single-use: webauthn-rs itself would
//! accept the same assertion twice against the same state. User verification is required.

use parley_crypto::{Aad, BearerToken};
use parley_domain::{ClientContext, KeyScope, Sealed, Secret, SecurityEventKind, Timestamp, UserId, ValidationError};
use parley_store::{ChallengeKind, ChallengeRecord, PasskeyRecord, UserRecord};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url,
    Webauthn, WebauthnBuilder,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use crate::Parley;
use crate::auth::{IssuedSession, LoginAttempt, Session};
use crate::error::CoreError;
use crate::mfa::CHALLENGE_TTL;
use crate::step_up::StepUpProof;

/// Ceremony tokens start with this.
const CEREMONY_PREFIX: &str = "prly_w";
/// The longest passkey label, in characters.
const MAX_LABEL_CHARS: usize = 64;

/// Where passkeys are valid: the relying party id (a domain) and the web origins allowed.
#[derive(Debug, Clone)]
pub struct PasskeySettings {
    /// The relying party id, e.g. `chat.example.com` (`localhost` in development).
    pub rp_id: String,
    /// The origins browsers use, e.g. `https://chat.example.com`. For `localhost`, any port.
    pub origins: Vec<String>,
}

impl Default for PasskeySettings {
    fn default() -> Self {
        Self { rp_id: "localhost".into(), origins: vec!["https://localhost".into()] }
    }
}

/// What the browser answers to a registration ceremony, and the owner's proof of a second
/// factor when the account has TOTP.
#[derive(Debug, Clone, Copy)]
pub struct PasskeyRegistrationAnswer<'a> {
    /// The ceremony token.
    pub token: &'a str,
    /// The browser's `PublicKeyCredential` as JSON.
    pub credential: &'a serde_json::Value,
    /// The owner's name for the passkey.
    pub label: &'a str,
    /// The proof of the account's second factor, if it has one.
    pub proof: StepUpProof<'a>,
}

/// Builds the relying party from its settings.
pub(crate) fn relying_party(settings: &PasskeySettings) -> Result<Webauthn, CoreError> {
    let bad = |e: &dyn std::fmt::Display| CoreError::Internal(format!("passkey settings: {e}").into());
    let mut origins = settings.origins.iter().map(|o| Url::parse(o).map_err(|e| bad(&e)));
    let first = origins.next().ok_or_else(|| bad(&"at least one origin"))??;
    let mut builder = WebauthnBuilder::new(&settings.rp_id, &first).map_err(|e| bad(&e))?.rp_name("Parley");
    for origin in origins {
        builder = builder.append_allowed_origin(&origin?);
    }
    if settings.rp_id == "localhost" {
        builder = builder.allow_any_port(true);
    }
    builder.build().map_err(|e| bad(&e))
}

/// A ceremony started: the token to finish it with, and the options for the browser.
#[derive(Debug)]
pub struct PasskeyCeremony {
    /// The single-use token.
    pub token: Secret<String>,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
    /// `PublicKeyCredentialCreationOptions` or `...RequestOptions`, as JSON.
    pub options: serde_json::Value,
}

/// A registered passkey, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyView {
    /// Its id.
    pub id: Uuid,
    /// The owner's label for it.
    pub label: String,
    /// When it was registered.
    pub created_at: Timestamp,
    /// When it last logged in.
    pub last_used_at: Option<Timestamp>,
}

/// What is sealed in a passkey row: the owner's label and the credential (public key, counter).
#[derive(Serialize, Deserialize)]
struct SealedPasskey {
    label: String,
    passkey: Passkey,
}

impl Parley {
    /// Starts registering a passkey for the caller. The authenticator is asked for a
    /// discoverable credential with user verification, so the passkey can later log in alone.
    pub async fn start_passkey_registration(&self, session: &Session) -> Result<PasskeyCeremony, CoreError> {
        self.require_fresh(session)?;
        let user = self.store.user_by_id(session.user_id()).await?.ok_or(CoreError::Unauthenticated)?;
        // An account made by single sign-on logs in through its marketplace, which decides who
        // may; a passkey would be a way in around it (and one its owner could not take back).
        if user.password_hash.is_none() {
            return Err(CoreError::MfaNotAvailable);
        }
        let existing = self.open_passkeys(user.id).await?;
        let exclude = existing.iter().map(|(_, sealed)| sealed.passkey.cred_id().clone()).collect();
        let (mut options, state) = self
            .webauthn
            .start_passkey_registration(user.id.as_uuid(), user.handle.as_str(), user.handle.as_str(), Some(exclude))
            .map_err(internal)?;
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        self.start_ceremony(ChallengeKind::PasskeyRegistration, Some(user.id), &state, &options).await
    }

    /// Finishes a registration with the browser's credential; answers the new passkey. A passkey
    /// logs in alone, so on an account with a second factor it is a new way past it: it takes a
    /// proof of that factor (see [`crate::step_up`]). A stolen session alone adds no factor.
    pub async fn finish_passkey_registration(
        &self,
        session: &Session,
        registration: PasskeyRegistrationAnswer<'_>,
        context: &ClientContext,
    ) -> Result<PasskeyView, CoreError> {
        let PasskeyRegistrationAnswer { token, credential, label, proof } = registration;
        let label = passkey_label(label)?;
        let challenge = self.take_ceremony(token, ChallengeKind::PasskeyRegistration).await?;
        if challenge.user_id != Some(session.user_id()) {
            return Err(CoreError::ChallengeInvalid);
        }
        let state: PasskeyRegistration = state_of(&challenge)?;
        let credential: RegisterPublicKeyCredential = serde_json::from_value(credential.clone()).map_err(|_| CoreError::PasskeyRejected)?;
        let passkey = self.webauthn.finish_passkey_registration(&credential, &state).map_err(|_| CoreError::PasskeyRejected)?;
        // Only a registration that would succeed spends the proof.
        let user = self.require_step_up(session, proof, context).await?;
        let now = self.clock.now();
        let id = Uuid::now_v7();
        let record = PasskeyRecord {
            id,
            user_id: user.id,
            credential_id: passkey.cred_id().as_slice().to_vec(),
            sealed: self.seal_passkey(user.id, id, &SealedPasskey { label: label.clone(), passkey }).await?,
            created_at: now,
            last_used_at: None,
        };
        let notice = self.notice(user.id, user.email.as_ref(), SecurityEventKind::PasskeyAdded, context).await?;
        self.store.insert_passkey(&record, &notice).await?;
        Ok(PasskeyView { id, label, created_at: now, last_used_at: None })
    }

    /// The caller's passkeys, oldest first.
    pub async fn passkeys(&self, session: &Session) -> Result<Vec<PasskeyView>, CoreError> {
        self.passkeys_of(session.user_id()).await
    }

    /// A user's passkeys, oldest first.
    pub(crate) async fn passkeys_of(&self, user: UserId) -> Result<Vec<PasskeyView>, CoreError> {
        Ok(self
            .open_passkeys(user)
            .await?
            .into_iter()
            .map(|(record, sealed)| PasskeyView {
                id: record.id,
                label: sealed.label,
                created_at: record.created_at,
                last_used_at: record.last_used_at,
            })
            .collect())
    }

    /// Removes one of the caller's passkeys; takes a proof of the second factor (the passkey
    /// itself may give it), so a stolen session cannot clear the way for a passkey of its own.
    pub async fn remove_passkey(
        &self,
        session: &Session,
        id: Uuid,
        proof: StepUpProof<'_>,
        context: &ClientContext,
    ) -> Result<(), CoreError> {
        // Someone else's passkey (or none) is "not found" before any proof is taken.
        if !self.store.passkeys_of(session.user_id()).await?.iter().any(|passkey| passkey.id == id) {
            return Err(CoreError::PasskeyNotFound);
        }
        let user = self.require_step_up(session, proof, context).await?;
        let notice = self.notice(user.id, user.email.as_ref(), SecurityEventKind::PasskeyRemoved, context).await?;
        if self.store.remove_passkey(user.id, id, &notice).await? { Ok(()) } else { Err(CoreError::PasskeyNotFound) }
    }

    /// Starts a passwordless login: request options that let the browser offer any passkey
    /// registered here.
    pub async fn start_passkey_login(&self) -> Result<PasskeyCeremony, CoreError> {
        let (options, state) = self.webauthn.start_discoverable_authentication().map_err(internal)?;
        let mut options = serde_json::to_value(&options).map_err(internal)?;
        // `mediation: conditional` is for autofill; a "log in with a passkey" button wants the
        // browser's modal prompt, so the choice is left to the client.
        if let Some(object) = options.as_object_mut() {
            object.remove("mediation");
        }
        self.start_ceremony(ChallengeKind::PasskeyLogin, None, &state, &options).await
    }

    /// Finishes a passwordless login. Any failure answers as a failed login.
    pub async fn finish_passkey_login(
        &self,
        token: &str,
        credential: &serde_json::Value,
        attempt: &LoginAttempt,
    ) -> Result<IssuedSession, CoreError> {
        let now = self.clock.now();
        self.check_login_backoff(attempt)?;
        let challenge = self.take_ceremony(token, ChallengeKind::PasskeyLogin).await?;
        if let Some(user) = self.verify_discoverable(&challenge, credential).await? {
            return self.open_session(&user, attempt).await;
        }
        self.login_backoff.record_failure(attempt.ip, now);
        Err(CoreError::InvalidCredentials)
    }

    /// For a password login's second step: request options over the user's passkeys, and the
    /// ceremony state to keep with the challenge. `None` when the user has no passkey.
    pub(crate) async fn start_passkey_second_factor(&self, user: UserId) -> Result<Option<(String, serde_json::Value)>, CoreError> {
        let passkeys = self.credentials_of(user).await?;
        if passkeys.is_empty() {
            return Ok(None);
        }
        let (options, state) = self.webauthn.start_passkey_authentication(&passkeys).map_err(internal)?;
        Ok(Some((serde_json::to_string(&state).map_err(internal)?, serde_json::to_value(&options).map_err(internal)?)))
    }

    /// Checks a passkey assertion against a login challenge's state.
    pub(crate) async fn finish_passkey_second_factor(
        &self,
        user: &UserRecord,
        challenge: &ChallengeRecord,
        credential: &serde_json::Value,
    ) -> Result<bool, CoreError> {
        let Ok(state) = state_of::<PasskeyAuthentication>(challenge) else {
            return Ok(false);
        };
        self.verify_passkey_assertion(user, &state, credential).await
    }

    /// Whether an assertion from one of `user`'s passkeys answers `state`; saves the passkey's
    /// new signature counter when it moved.
    pub(crate) async fn verify_passkey_assertion(
        &self,
        user: &UserRecord,
        state: &PasskeyAuthentication,
        credential: &serde_json::Value,
    ) -> Result<bool, CoreError> {
        let Ok(assertion) = serde_json::from_value::<PublicKeyCredential>(credential.clone()) else {
            return Ok(false);
        };
        let Ok(result) = self.webauthn.finish_passkey_authentication(&assertion, state) else {
            return Ok(false);
        };
        let Some(record) = self.store.passkey_by_credential(result.cred_id().as_slice()).await?.filter(|r| r.user_id == user.id) else {
            return Ok(false);
        };
        let mut sealed = self.open_passkey(&record).await?;
        sealed.passkey.update_credential(&result);
        self.store.update_passkey(record.id, &self.seal_passkey(user.id, record.id, &sealed).await?, self.clock.now()).await?;
        Ok(true)
    }

    /// The account a discoverable assertion proves, if it verifies.
    async fn verify_discoverable(
        &self,
        challenge: &ChallengeRecord,
        credential: &serde_json::Value,
    ) -> Result<Option<UserRecord>, CoreError> {
        let state: DiscoverableAuthentication = state_of(challenge)?;
        let Ok(assertion) = serde_json::from_value::<PublicKeyCredential>(credential.clone()) else {
            return Ok(None);
        };
        let Ok((user_handle, credential_id)) = self.webauthn.identify_discoverable_authentication(&assertion) else {
            return Ok(None);
        };
        let Some(record) = self.store.passkey_by_credential(credential_id).await? else {
            return Ok(None);
        };
        if record.user_id.as_uuid() != user_handle {
            return Ok(None);
        }
        let mut sealed = self.open_passkey(&record).await?;
        let Ok(result) = self.webauthn.finish_discoverable_authentication_v2(&assertion, state, &sealed.passkey) else {
            return Ok(None);
        };
        sealed.passkey.update_credential(&result);
        self.store.update_passkey(record.id, &self.seal_passkey(record.user_id, record.id, &sealed).await?, self.clock.now()).await?;
        // An account made by single sign-on logs in through its marketplace only.
        Ok(self.store.user_by_id(record.user_id).await?.filter(|user| user.password_hash.is_some()))
    }

    pub(crate) async fn start_ceremony(
        &self,
        kind: ChallengeKind,
        user: Option<UserId>,
        state: &impl Serialize,
        options: &impl Serialize,
    ) -> Result<PasskeyCeremony, CoreError> {
        let token = BearerToken::generate(CEREMONY_PREFIX)?;
        let expires_at = self.clock.now().plus(CHALLENGE_TTL);
        let record = ChallengeRecord {
            hash: token.hash,
            kind,
            user_id: user,
            state: Some(serde_json::to_string(state).map_err(internal)?),
            failures: 0,
            expires_at,
        };
        self.store.insert_challenge(&record).await?;
        Ok(PasskeyCeremony { token: token.secret, expires_at, options: serde_json::to_value(options).map_err(internal)? })
    }

    /// Takes a ceremony's challenge (single use), refusing it when unknown or expired.
    pub(crate) async fn take_ceremony(&self, token: &str, kind: ChallengeKind) -> Result<ChallengeRecord, CoreError> {
        let challenge = self.store.take_challenge(&BearerToken::hash(token), kind).await?;
        challenge.filter(|c| c.expires_at > self.clock.now()).ok_or(CoreError::ChallengeInvalid)
    }

    /// The user's passkey credentials (to ask for an assertion from any of them).
    pub(crate) async fn credentials_of(&self, user: UserId) -> Result<Vec<Passkey>, CoreError> {
        Ok(self.open_passkeys(user).await?.into_iter().map(|(_, sealed)| sealed.passkey).collect())
    }

    async fn open_passkeys(&self, user: UserId) -> Result<Vec<(PasskeyRecord, SealedPasskey)>, CoreError> {
        let mut opened = Vec::new();
        for record in self.store.passkeys_of(user).await? {
            let sealed = self.open_passkey(&record).await?;
            opened.push((record, sealed));
        }
        Ok(opened)
    }

    async fn open_passkey(&self, record: &PasskeyRecord) -> Result<SealedPasskey, CoreError> {
        let dek = self.keys.existing_dek(&KeyScope::UserProfile(record.user_id)).await?.ok_or(CoreError::Unauthenticated)?;
        let json = dek.open(record.sealed.as_bytes(), &passkey_aad(record.id))?;
        serde_json::from_slice(&json).map_err(internal)
    }

    async fn seal_passkey(&self, user: UserId, id: Uuid, passkey: &SealedPasskey) -> Result<Sealed<Vec<u8>>, CoreError> {
        let dek = self.keys.dek_for(&KeyScope::UserProfile(user), self.clock.now()).await?;
        let json = serde_json::to_vec(passkey).map_err(internal)?;
        Ok(Sealed::from_bytes(dek.seal(&json, &passkey_aad(id))?))
    }
}

pub(crate) fn state_of<T: serde::de::DeserializeOwned>(challenge: &ChallengeRecord) -> Result<T, CoreError> {
    let state = challenge.state.as_deref().ok_or(CoreError::ChallengeInvalid)?;
    serde_json::from_str(state).map_err(|_| CoreError::ChallengeInvalid)
}

/// The owner's label, without control characters; a label with nothing left is "Passkey".
fn passkey_label(label: &str) -> Result<String, ValidationError> {
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(ValidationError::new("label", "too_long"));
    }
    let cleaned: String = label.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    Ok(if cleaned.is_empty() { "Passkey".to_owned() } else { cleaned.to_owned() })
}

fn passkey_aad(id: Uuid) -> Aad {
    Aad::field("passkeys", &id, "credential")
}

pub(crate) fn internal(error: impl std::error::Error + Send + Sync + 'static) -> CoreError {
    CoreError::Internal(Box::new(error))
}
