//! Account security on the wire: the second step of a login, the session list, password change,
//! security events and two-factor enrolment.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Redacted;
use crate::accounts::SessionOptions;

/// `202` from `POST /v1/sessions`: the password was right and the account has a second factor.
/// Answer with `POST /v1/sessions/second-factor` before `expires_at`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SecondFactorRequired {
    /// Always `second_factor_required`.
    pub status: String,
    /// The single-use challenge token.
    pub challenge: String,
    /// When the challenge stops being accepted (five minutes).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The ways this account can answer: `totp`, `recovery_code`, `passkey`.
    pub methods: Vec<String>,
    /// For `passkey`: the WebAuthn `PublicKeyCredentialRequestOptions` to pass to
    /// `navigator.credentials.get()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub passkey_options: Option<serde_json::Value>,
}

impl fmt::Debug for SecondFactorRequired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecondFactorRequired").field("challenge", &Redacted).field("methods", &self.methods).finish_non_exhaustive()
    }
}

/// `POST /v1/sessions/second-factor`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorRequest {
    /// The challenge from the `202` answer.
    #[schema(max_length = 100)]
    pub challenge: String,
    /// The answer.
    pub answer: SecondFactorAnswer,
    /// How the new session is labelled and carried.
    #[serde(default)]
    pub session: SessionOptions,
}

impl fmt::Debug for SecondFactorRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecondFactorRequest").field("challenge", &Redacted).field("answer", &Redacted).finish_non_exhaustive()
    }
}

/// One way to answer a login challenge.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum SecondFactorAnswer {
    /// The six-digit code an authenticator app shows now.
    Totp {
        /// The code.
        #[schema(max_length = 16)]
        code: String,
    },
    /// One of the one-time recovery codes (dashes and case do not matter).
    RecoveryCode {
        /// The code.
        #[schema(max_length = 64)]
        code: String,
    },
    /// A passkey assertion: the `PublicKeyCredential` from `navigator.credentials.get()`.
    Passkey {
        /// The credential, as JSON.
        #[schema(value_type = Object)]
        credential: serde_json::Value,
    },
}

/// One of your sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SessionInfo {
    /// Its id (revoke it with `DELETE /v1/sessions/{id}`).
    pub id: Uuid,
    /// Whether it is the session making this request.
    pub current: bool,
    /// `bearer` or `cookie`.
    pub kind: String,
    /// The device label.
    pub device: String,
    /// Where it was opened from, coarsely: an IPv4 /24 or an IPv6 /48.
    pub network: String,
    /// When it was opened.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last used (to the minute).
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    /// When it ends at the latest.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// `GET /v1/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SessionList {
    /// Newest first.
    pub sessions: Vec<SessionInfo>,
}

/// `DELETE /v1/sessions`: how many other sessions were ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevokedSessions {
    /// The number of sessions ended.
    pub revoked: u64,
}

/// `GET /v1/sessions/current/csrf`: the CSRF token of a cookie session (for a web client that
/// reloaded and lost it).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CsrfToken {
    /// Send as `X-CSRF-Token` on every unsafe request.
    pub csrf_token: String,
}

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfToken").field("csrf_token", &Redacted).finish()
    }
}

/// `PUT /v1/me/password`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The password now.
    #[schema(format = Password, max_length = 1024)]
    pub current_password: String,
    /// The new password: same rules as at sign-up.
    #[schema(format = Password, min_length = 8, max_length = 128)]
    pub new_password: String,
}

impl fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangePasswordRequest").finish_non_exhaustive()
    }
}

/// A security event on your account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecurityEvent {
    /// Its id.
    pub id: Uuid,
    /// What happened: `account_created`, `login_succeeded`, `login_failed`, `account_locked`,
    /// `new_device_login`, `logged_out`, `session_revoked`, `password_changed`, `mfa_enabled`,
    /// `mfa_disabled`, `recovery_code_used`, `recovery_codes_replaced`, `passkey_added`, `passkey_removed`, `email_changed`, `factors_reset`.
    pub kind: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// From which network (an IPv4 /24 or an IPv6 /48).
    pub network: String,
    /// From which device.
    pub device: String,
}

/// `GET /v1/me/security-events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecurityEventList {
    /// Newest first; kept for 30 days by default.
    pub events: Vec<SecurityEvent>,
}

/// `GET /v1/me/mfa`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MfaStatusResponse {
    /// Whether TOTP (an authenticator app) is on.
    pub totp: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: u32,
    /// Registered passkeys.
    pub passkeys: u32,
}

/// `POST /v1/me/mfa/totp`: a new TOTP secret, waiting for a first code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TotpEnrolmentResponse {
    /// The secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://` URI, for a QR code.
    pub otpauth_uri: String,
}

impl fmt::Debug for TotpEnrolmentResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpEnrolmentResponse").finish_non_exhaustive()
    }
}

/// `POST /v1/me/mfa/totp/confirm`: the first code from the authenticator app.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotpRequest {
    /// The six-digit code the app shows now.
    #[schema(max_length = 16)]
    pub code: String,
    /// Proof of who you are: your password for a first factor, or a passkey's `step_up` when
    /// the account has passkeys.
    #[serde(default)]
    pub proof: StepUpRequest,
}

impl fmt::Debug for ConfirmTotpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfirmTotpRequest").finish_non_exhaustive()
    }
}

/// `POST /v1/me/mfa/totp/confirm`: two-factor authentication is on; keep these codes safe.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecoveryCodesResponse {
    /// Ten one-time codes, each usable once instead of an app code. Shown only now.
    pub recovery_codes: Vec<String>,
}

impl fmt::Debug for RecoveryCodesResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryCodesResponse").finish_non_exhaustive()
    }
}

/// `POST /v1/me/passkeys/registration` and `POST /v1/sessions/passkey/options`: a WebAuthn
/// ceremony started. Pass `options` to `navigator.credentials.create()` or `.get()` (after
/// `PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`), then
/// send the result with `challenge` before `expires_at`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PasskeyCeremonyResponse {
    /// The single-use ceremony token.
    pub challenge: String,
    /// When it stops being accepted (five minutes).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The WebAuthn options (`{"publicKey": {...}}`), binary fields in base64url.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

impl fmt::Debug for PasskeyCeremonyResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasskeyCeremonyResponse").field("challenge", &Redacted).finish_non_exhaustive()
    }
}

/// A passkey's proof of the second factor: the answer to a ceremony from
/// `POST /v1/me/step-up`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyStepUp {
    /// The ceremony token from `POST /v1/me/step-up`.
    #[schema(max_length = 100)]
    pub challenge: String,
    /// The `PublicKeyCredential` from `navigator.credentials.get()`, as JSON.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

impl fmt::Debug for PasskeyStepUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasskeyStepUp").finish_non_exhaustive()
    }
}

/// Proof of who you are, which every change to your factors takes: your second factor (a code,
/// TOTP or recovery, when TOTP is on; or a passkey's assertion) or, on an account without one,
/// your password.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepUpRequest {
    /// A fresh code from your authenticator app, or one of your recovery codes (used up by this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64)]
    pub code: Option<String>,
    /// Or: one of your passkeys' answer to a step-up ceremony.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_up: Option<PasskeyStepUp>,
    /// On an account without a second factor: your password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Password, max_length = 1024)]
    pub password: Option<String>,
}

impl fmt::Debug for StepUpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepUpRequest").finish_non_exhaustive()
    }
}

/// `POST /v1/me/passkeys`: finish registering a passkey.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterPasskeyRequest {
    /// The token from `POST /v1/me/passkeys/registration`.
    #[schema(max_length = 100)]
    pub challenge: String,
    /// The `PublicKeyCredential` from `navigator.credentials.create()`, as JSON.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    /// Your name for it ("Work laptop"), up to 64 characters; control characters are dropped,
    /// and a label with nothing left becomes "Passkey".
    #[schema(max_length = 64)]
    pub label: String,
    /// Proof of who you are: your second factor or, for a first one, your password.
    #[serde(default)]
    pub proof: StepUpRequest,
}

impl fmt::Debug for RegisterPasskeyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisterPasskeyRequest").field("label", &self.label).finish_non_exhaustive()
    }
}

/// One of your passkeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PasskeyInfo {
    /// Its id (remove it with `DELETE /v1/me/passkeys/{id}`).
    pub id: Uuid,
    /// Your name for it.
    pub label: String,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last logged in.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// `GET /v1/me/passkeys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PasskeyList {
    /// Oldest first.
    pub passkeys: Vec<PasskeyInfo>,
}

/// `POST /v1/sessions/passkey`: log in with a passkey alone.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyLoginRequest {
    /// The token from `POST /v1/sessions/passkey/options`.
    #[schema(max_length = 100)]
    pub challenge: String,
    /// The `PublicKeyCredential` from `navigator.credentials.get()`, as JSON.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    /// How the new session is labelled and carried.
    #[serde(default)]
    pub session: SessionOptions,
}

impl fmt::Debug for PasskeyLoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasskeyLoginRequest").finish_non_exhaustive()
    }
}

/// `POST /v1/sessions/sso`: log in with a token your marketplace's backend signed.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoLoginRequest {
    /// The integration's name, as configured (`shop`).
    #[schema(max_length = 32)]
    pub provider: String,
    /// The JWT: `iss`, `aud`, `sub` (the marketplace's user id), `exp` (at most ten minutes
    /// ahead), `jti` (used once), optionally `nbf` and `handle` (proposed for a new account).
    #[schema(max_length = 8192)]
    pub token: String,
    /// How the new session is labelled and carried.
    #[serde(default)]
    pub session: SessionOptions,
}

impl fmt::Debug for SsoLoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsoLoginRequest").field("provider", &self.provider).finish_non_exhaustive()
    }
}
