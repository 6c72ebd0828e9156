//! The core's errors, in domain terms. The server maps each variant to a status and a stable
//! problem code in one exhaustive match.

use std::time::Duration;

use parley_crypto::CryptoError;
use parley_domain::ValidationError;
use parley_store::{Conflict, StoreError};

/// What a use case can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// An input value broke a rule.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    /// The export link is unknown, used, expired or not the caller's.
    #[error("export not found")]
    ExportNotFound,
    /// The message does not exist in this conversation.
    #[error("message not found")]
    MessageNotFound,
    /// Only a message's author may delete it for everyone.
    #[error("not your message")]
    NotYourMessage,
    /// The window for editing a message has passed.
    #[error("edit window passed")]
    EditWindowPassed,
    /// The window for deleting a message for everyone has passed (delete it for yourself).
    #[error("delete window passed")]
    DeleteWindowPassed,
    /// The privacy policy version named is not the current one (it changed meanwhile).
    #[error("privacy policy version outdated")]
    PolicyOutdated,
    /// The user must accept the current privacy policy before agreeing to optional purposes.
    #[error("privacy policy acceptance required")]
    PolicyAcceptanceRequired,
    /// No such privacy policy version.
    #[error("privacy policy version not found")]
    PolicyNotFound,
    /// The unsubscribe link is malformed, forged, or its account is gone.
    #[error("unsubscribe link invalid")]
    UnsubscribeLinkInvalid,
    /// A retention longer than the one already asked for was asked for.
    #[error("retention can only be shortened")]
    RetentionOnlyShorter,
    /// A user tried to block themselves.
    #[error("cannot block yourself")]
    CannotBlockSelf,
    /// The other party does not accept new conversations like this one (their contact policy).
    #[error("contact not allowed")]
    ContactNotAllowed,
    /// The handle belongs to another account.
    #[error("handle taken")]
    HandleTaken,
    /// The email address belongs to another account.
    #[error("email taken")]
    EmailTaken,
    /// Login failed. Deliberately says nothing about which part was wrong.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// No valid session: missing, expired, revoked or unknown token.
    #[error("not authenticated")]
    Unauthenticated,
    /// The session to revoke does not exist or is not the caller's.
    #[error("session not found")]
    SessionNotFound,
    /// TOTP is already on (turn it off first to enrol a new one).
    #[error("two-factor authentication already enabled")]
    MfaAlreadyEnabled,
    /// TOTP is not on (or no enrolment is waiting for confirmation).
    #[error("two-factor authentication not enabled")]
    MfaNotEnabled,
    /// A single sign-on token was refused.
    #[error("single sign-on refused: {0}")]
    Sso(#[from] crate::sso::SsoRefusal),
    /// A passkey credential did not verify (malformed, wrong site, no user verification).
    #[error("passkey rejected")]
    PasskeyRejected,
    /// The passkey credential is registered already.
    #[error("passkey already registered")]
    PasskeyTaken,
    /// The change needs a recent login: log in again, then retry.
    #[error("reauthentication required")]
    ReauthenticationRequired,
    /// The passkey to remove does not exist or is not the caller's.
    #[error("passkey not found")]
    PasskeyNotFound,
    /// TOTP needs a password login to protect (single sign-on accounts have none).
    #[error("two-factor authentication not available")]
    MfaNotAvailable,
    /// A one-time code (TOTP or recovery) was wrong, expired or already used.
    #[error("invalid code")]
    InvalidCode,
    /// A login challenge is unknown, expired, exhausted or already answered.
    #[error("challenge invalid")]
    ChallengeInvalid,
    /// No user has that handle.
    #[error("user not found")]
    UserNotFound,
    /// The conversation does not exist, or the caller is not a party to it (indistinguishable).
    #[error("conversation not found")]
    ConversationNotFound,
    /// A user tried to open a conversation with themselves.
    #[error("cannot open a conversation with yourself")]
    CannotMessageSelf,
    /// A client message id was reused for a different body.
    #[error("client message id reused with a different body")]
    ClientMsgIdReused,
    /// Too many actions too fast.
    #[error("rate limited")]
    RateLimited {
        /// How long until the next action is allowed.
        retry_after: Duration,
    },
    /// Too much work is queued (password hashing); retrying later will work.
    #[error("overloaded")]
    Overloaded {
        /// A reasonable wait before retrying.
        retry_after: Duration,
    },
    /// The database is unreachable; retrying later may work.
    #[error("storage unavailable")]
    Unavailable(#[source] StoreError),
    /// Anything else: a bug, corruption or an operational fault. Logged, never shown.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for CoreError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(Conflict::HandleTaken) => CoreError::HandleTaken,
            StoreError::Conflict(Conflict::EmailTaken) => CoreError::EmailTaken,
            StoreError::Conflict(Conflict::CredentialTaken) => CoreError::PasskeyTaken,
            // Retried by the use case; still racing after that, the client may retry soon.
            StoreError::Conflict(Conflict::KeyRotated) => CoreError::Overloaded { retry_after: std::time::Duration::from_secs(1) },
            StoreError::Unavailable(_) => CoreError::Unavailable(error),
            StoreError::Database(_) | StoreError::NotFound(_) | StoreError::Corrupt(_) => CoreError::Internal(Box::new(error)),
        }
    }
}

impl From<CryptoError> for CoreError {
    fn from(error: CryptoError) -> Self {
        CoreError::Internal(Box::new(error))
    }
}

impl From<tokio::task::JoinError> for CoreError {
    fn from(error: tokio::task::JoinError) -> Self {
        CoreError::Internal(Box::new(error))
    }
}
