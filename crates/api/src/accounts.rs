//! Accounts and sessions on the wire.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Redacted;

/// `POST /v1/accounts`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountRequest {
    /// The public handle: 3 to 32 ASCII letters, digits, `_`, `.` or `-`, starting and ending
    /// with a letter or digit; unique ignoring case. Names that could pass for staff or the
    /// system (`admin`, `support`, `parley`, ...) are reserved: 422 `reserved`.
    #[schema(example = "vintage_cameras", min_length = 3, max_length = 32, pattern = r"^[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]$")]
    pub handle: String,
    /// The email address. Never shown to other users. Its domain must have at least two labels
    /// and an alphabetic top-level domain (no `localhost`, no IP literals).
    #[schema(example = "jane@example.com", format = Email, max_length = 254)]
    pub email: String,
    /// 8 to 128 characters, not a common password, not containing your handle.
    #[schema(example = "a long and private passphrase", format = Password, min_length = 8, max_length = 128)]
    pub password: String,
    /// The privacy policy version the user was shown (`GET /v1/privacy-policy`) and accepted;
    /// signing up records the acceptance. An older version is refused: 409 `policy_outdated`.
    #[serde(deserialize_with = "crate::whole_number")]
    #[schema(minimum = 1, maximum = 4_294_967_295_u32)]
    pub accepted_policy_version: u32,
}

impl fmt::Debug for CreateAccountRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateAccountRequest")
            .field("handle", &self.handle)
            .field("email", &Redacted)
            .field("password", &Redacted)
            .field("accepted_policy_version", &self.accepted_policy_version)
            .finish()
    }
}

/// An account as its owner just created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountResponse {
    /// The account id.
    pub id: Uuid,
    /// The handle.
    pub handle: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /v1/me`: the caller's own profile, personal fields included.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MeResponse {
    /// The account id.
    pub id: Uuid,
    /// The handle.
    pub handle: String,
    /// The email address (absent for an account made by marketplace single sign-on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// When the account was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The privacy policy changed (or was never accepted): show it and ask the user to accept
    /// it (`PUT /v1/me/policy-acceptance`). Optional mail is paused until they do.
    pub policy_acceptance_required: bool,
}

impl fmt::Debug for MeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeResponse").field("id", &self.id).field("handle", &self.handle).field("email", &Redacted).finish_non_exhaustive()
    }
}

/// `POST /v1/sessions`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// A handle or an email address.
    pub login: String,
    /// The password.
    #[schema(format = Password)]
    pub password: String,
    /// How the new session is labelled and carried.
    #[serde(default)]
    pub session: SessionOptions,
}

/// How a new session is labelled and carried. Shared by every way of logging in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionOptions {
    /// A label for this device, shown in your session list and security events (default: the
    /// `User-Agent`). Control characters are dropped; longer labels are cut to 64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub device_label: Option<String>,
    /// `true` for the web client: the token is set as an HttpOnly, Secure, SameSite=Strict
    /// cookie instead of being returned, and every unsafe request must then carry the
    /// returned `csrf_token` in an `X-CSRF-Token` header.
    #[serde(default)]
    pub cookie: bool,
    /// The `device_token` an earlier login on this device returned. A device that presents
    /// one is known: logins from it are exempt from the account lock that repeated failures
    /// set, so an attacker's guessing cannot lock the owner out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 100)]
    pub device_token: Option<String>,
}

impl fmt::Debug for CreateSessionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateSessionRequest").field("login", &Redacted).field("password", &Redacted).finish_non_exhaustive()
    }
}

/// A new session. A bearer token is shown once; send it as `Authorization: Bearer <token>`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SessionResponse {
    /// The bearer token (absent for a cookie session, whose token is in the cookie).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// For a cookie session: the value to send as `X-CSRF-Token` on unsafe requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    /// Keep it on this device and send it with later logins (`session.device_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// The session's id.
    pub session_id: Uuid,
    /// When the session ends at the latest (it also ends after 30 minutes unused).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for SessionResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionResponse").field("token", &Redacted).field("session_id", &self.session_id).finish_non_exhaustive()
    }
}

/// `POST /v1/stream/tickets`: a single-use ticket for opening the WebSocket from a browser.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StreamTicketResponse {
    /// Pass as `?ticket=` to `GET /v1/stream` within its lifetime; it works once.
    pub ticket: String,
    /// When it stops being accepted (30 seconds after issue).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for StreamTicketResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamTicketResponse").field("ticket", &Redacted).finish_non_exhaustive()
    }
}

/// `DELETE /v1/me`: erase your account.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseAccountRequest {
    /// Your password (required when the account has one; an account made by marketplace
    /// single sign-on needs a login from the last ten minutes instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Password, max_length = 1024)]
    pub password: Option<String>,
}

impl fmt::Debug for EraseAccountRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EraseAccountRequest").finish_non_exhaustive()
    }
}

/// `PUT /v1/me/email`: correct your email address.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailRequest {
    /// The new address (the same rules as at sign-up).
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Your password (an account made by single sign-on needs a recent login instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Password, max_length = 1024)]
    pub password: Option<String>,
}

impl fmt::Debug for ChangeEmailRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeEmailRequest").finish_non_exhaustive()
    }
}
