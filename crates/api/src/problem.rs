//! RFC 9457 problem details: every error response has this body, with a stable `code` that
//! clients switch on (the `title` and `detail` are for humans and may change).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A stable, machine-readable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// The body is not valid JSON, not UTF-8, or not of the expected shape.
    MalformedRequest,
    /// A field broke a rule; `field` and `reason` say which.
    ValidationFailed,
    /// The body is larger than the limit.
    PayloadTooLarge,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// No valid session (missing, expired, revoked or unknown token).
    Unauthenticated,
    /// Login failed.
    InvalidCredentials,
    /// No such resource, or not yours to see.
    NotFound,
    /// The HTTP method is not allowed on this resource.
    MethodNotAllowed,
    /// The handle is already in use.
    HandleTaken,
    /// The email address is already in use.
    EmailTaken,
    /// You tried to open a conversation with yourself.
    CannotMessageSelf,
    /// The client message id was already used for a different message.
    ClientMsgIdReused,
    /// A one-time code (authenticator app or recovery code) was wrong, expired or already used.
    InvalidCode,
    /// The login challenge is unknown, expired, used up or already answered: log in again.
    ChallengeInvalid,
    /// Changing a credential needs a login from the last ten minutes: log in again.
    ReauthenticationRequired,
    /// The passkey did not verify: malformed, made for another site, or without user
    /// verification.
    PasskeyRejected,
    /// That passkey is registered already.
    PasskeyAlreadyRegistered,
    /// The other party does not accept new conversations like this one.
    ContactNotAllowed,
    /// You tried to block yourself.
    CannotBlockSelf,
    /// Only a message's author may delete it for everyone.
    NotYourMessage,
    /// A shorter retention is already set for this conversation.
    RetentionOnlyShorter,
    /// The privacy policy changed since the version the request names: fetch it and show it again.
    PolicyOutdated,
    /// Accept the current privacy policy first.
    PolicyAcceptanceRequired,
    /// Too late to delete this message for everyone; delete it for yourself.
    DeleteWindowPassed,
    /// Too late to edit this message.
    EditWindowPassed,
    /// Two-factor authentication is already on.
    MfaAlreadyEnabled,
    /// Two-factor authentication is not on (or no enrolment is waiting).
    MfaNotEnabled,
    /// This account logs in through its marketplace: there is no password login for TOTP to
    /// protect.
    MfaNotAvailable,
    /// A cookie-authenticated request that changes something lacked the right `X-CSRF-Token`.
    CsrfFailed,
    /// No single sign-on integration has that name.
    SsoUnknownProvider,
    /// The single sign-on token is not a JWT, or lacks a required claim (`sub`, `jti`, ...).
    SsoMalformed,
    /// The token's algorithm is not the integration's (`none` never is).
    SsoAlgorithmRefused,
    /// The token names a key id the integration does not have.
    SsoUnknownKey,
    /// The token's signature does not verify.
    SsoBadSignature,
    /// The token's issuer is not the integration's.
    SsoWrongIssuer,
    /// The token's audience is not Parley.
    SsoWrongAudience,
    /// The token has expired, or lives longer than ten minutes.
    SsoExpired,
    /// The token is not valid yet (`nbf`).
    SsoNotYetValid,
    /// The token's id (`jti`) was used before.
    SsoReplayed,
    /// Too many requests; `retry_after_secs` says when to try again.
    RateLimited,
    /// The WebSocket upgrade came from an origin that is not allowed.
    ForbiddenOrigin,
    /// The request took too long.
    RequestTimeout,
    /// The service is temporarily unable to answer; retry later.
    ServiceUnavailable,
    /// Something went wrong on the server; the `request_id` identifies it in the logs.
    Internal,
}

impl ProblemCode {
    /// The code's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::MalformedRequest => "malformed_request",
            ProblemCode::ValidationFailed => "validation_failed",
            ProblemCode::PayloadTooLarge => "payload_too_large",
            ProblemCode::UnsupportedMediaType => "unsupported_media_type",
            ProblemCode::Unauthenticated => "unauthenticated",
            ProblemCode::InvalidCredentials => "invalid_credentials",
            ProblemCode::NotFound => "not_found",
            ProblemCode::MethodNotAllowed => "method_not_allowed",
            ProblemCode::HandleTaken => "handle_taken",
            ProblemCode::EmailTaken => "email_taken",
            ProblemCode::CannotMessageSelf => "cannot_message_self",
            ProblemCode::ClientMsgIdReused => "client_msg_id_reused",
            ProblemCode::InvalidCode => "invalid_code",
            ProblemCode::ChallengeInvalid => "challenge_invalid",
            ProblemCode::ReauthenticationRequired => "reauthentication_required",
            ProblemCode::PasskeyRejected => "passkey_rejected",
            ProblemCode::PasskeyAlreadyRegistered => "passkey_already_registered",
            ProblemCode::ContactNotAllowed => "contact_not_allowed",
            ProblemCode::CannotBlockSelf => "cannot_block_self",
            ProblemCode::NotYourMessage => "not_your_message",
            ProblemCode::RetentionOnlyShorter => "retention_only_shorter",
            ProblemCode::PolicyOutdated => "policy_outdated",
            ProblemCode::PolicyAcceptanceRequired => "policy_acceptance_required",
            ProblemCode::DeleteWindowPassed => "delete_window_passed",
            ProblemCode::EditWindowPassed => "edit_window_passed",
            ProblemCode::MfaAlreadyEnabled => "mfa_already_enabled",
            ProblemCode::MfaNotEnabled => "mfa_not_enabled",
            ProblemCode::MfaNotAvailable => "mfa_not_available",
            ProblemCode::CsrfFailed => "csrf_failed",
            ProblemCode::SsoUnknownProvider => "sso_unknown_provider",
            ProblemCode::SsoMalformed => "sso_malformed",
            ProblemCode::SsoAlgorithmRefused => "sso_algorithm_refused",
            ProblemCode::SsoUnknownKey => "sso_unknown_key",
            ProblemCode::SsoBadSignature => "sso_bad_signature",
            ProblemCode::SsoWrongIssuer => "sso_wrong_issuer",
            ProblemCode::SsoWrongAudience => "sso_wrong_audience",
            ProblemCode::SsoExpired => "sso_expired",
            ProblemCode::SsoNotYetValid => "sso_not_yet_valid",
            ProblemCode::SsoReplayed => "sso_replayed",
            ProblemCode::RateLimited => "rate_limited",
            ProblemCode::ForbiddenOrigin => "forbidden_origin",
            ProblemCode::RequestTimeout => "request_timeout",
            ProblemCode::ServiceUnavailable => "service_unavailable",
            ProblemCode::Internal => "internal",
        }
    }

    /// A short human summary of the code.
    pub fn title(self) -> &'static str {
        match self {
            ProblemCode::MalformedRequest => "The request body could not be read",
            ProblemCode::ValidationFailed => "A field is invalid",
            ProblemCode::PayloadTooLarge => "The request body is too large",
            ProblemCode::UnsupportedMediaType => "The request body must be JSON",
            ProblemCode::Unauthenticated => "Authentication required",
            ProblemCode::InvalidCredentials => "Login failed: wrong login or password, or too many recent failures",
            ProblemCode::NotFound => "Not found",
            ProblemCode::MethodNotAllowed => "Method not allowed",
            ProblemCode::HandleTaken => "That handle is taken",
            ProblemCode::EmailTaken => "That email address is already registered",
            ProblemCode::CannotMessageSelf => "You cannot open a conversation with yourself",
            ProblemCode::ClientMsgIdReused => "That client message id was used for another message",
            ProblemCode::InvalidCode => "The code is wrong, expired or already used",
            ProblemCode::ChallengeInvalid => "The login challenge is no longer valid; log in again",
            ProblemCode::ReauthenticationRequired => "Log in again to change your credentials",
            ProblemCode::PasskeyRejected => "The passkey could not be verified",
            ProblemCode::PasskeyAlreadyRegistered => "That passkey is registered already",
            ProblemCode::ContactNotAllowed => "This user does not accept new conversations like this one",
            ProblemCode::CannotBlockSelf => "You cannot block yourself",
            ProblemCode::NotYourMessage => "Only its author can delete a message for everyone",
            ProblemCode::RetentionOnlyShorter => "A shorter retention is already set",
            ProblemCode::PolicyOutdated => "The privacy policy has a newer version",
            ProblemCode::PolicyAcceptanceRequired => "Accept the current privacy policy first",
            ProblemCode::DeleteWindowPassed => "Too late to delete this message for everyone",
            ProblemCode::EditWindowPassed => "Too late to edit this message",
            ProblemCode::MfaAlreadyEnabled => "Two-factor authentication is already on",
            ProblemCode::MfaNotEnabled => "Two-factor authentication is not on",
            ProblemCode::MfaNotAvailable => "This account logs in through its marketplace",
            ProblemCode::CsrfFailed => "Missing or wrong CSRF token",
            ProblemCode::SsoUnknownProvider => "Unknown single sign-on integration",
            ProblemCode::SsoMalformed => "Malformed single sign-on token",
            ProblemCode::SsoAlgorithmRefused => "Single sign-on token algorithm refused",
            ProblemCode::SsoUnknownKey => "Single sign-on token signed with an unknown key",
            ProblemCode::SsoBadSignature => "Single sign-on token signature does not verify",
            ProblemCode::SsoWrongIssuer => "Single sign-on token from the wrong issuer",
            ProblemCode::SsoWrongAudience => "Single sign-on token for another audience",
            ProblemCode::SsoExpired => "Single sign-on token expired",
            ProblemCode::SsoNotYetValid => "Single sign-on token not valid yet",
            ProblemCode::SsoReplayed => "Single sign-on token already used",
            ProblemCode::RateLimited => "Too many requests",
            ProblemCode::ForbiddenOrigin => "Origin not allowed",
            ProblemCode::RequestTimeout => "The request took too long",
            ProblemCode::ServiceUnavailable => "Service temporarily unavailable",
            ProblemCode::Internal => "Internal error",
        }
    }
}

/// The body of every error response (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:parley:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short human summary.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// The stable machine-readable code.
    pub code: ProblemCode,
    /// A human explanation of this occurrence, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request's id, to quote when reporting a problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For `validation_failed`: the field that was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `validation_failed`: the rule it broke, e.g. `too_short`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `rate_limited`: seconds to wait before retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl Problem {
    /// A problem with the code's title and the given status.
    pub fn new(code: ProblemCode, status: u16) -> Self {
        Self {
            problem_type: format!("urn:parley:problem:{}", code.as_str()),
            title: code.title().to_owned(),
            status,
            code,
            detail: None,
            request_id: None,
            field: None,
            reason: None,
            retry_after_secs: None,
        }
    }
}
