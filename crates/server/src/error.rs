//! The one error type of the HTTP layer. Every rejection, from core errors to bad JSON, becomes
//! an `ApiError`; its response carries the problem in an extension, and the `problem_body`
//! middleware renders it as `application/problem+json` with the request id (and logs internal
//! errors once, with their cause chain). The mapping from core errors is one exhaustive match.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parley_api::{Problem, ProblemCode};
use parley_core::{CoreError, SsoRefusal};
use parley_domain::ValidationError;

/// An error answered to the client.
#[derive(Debug)]
pub enum ApiError {
    /// A stable problem code with an optional human detail.
    Problem {
        /// The code.
        code: ProblemCode,
        /// A human explanation.
        detail: Option<String>,
    },
    /// A field broke a rule.
    Validation(ValidationError),
    /// Too many requests.
    RateLimited {
        /// When to retry.
        retry_after: Duration,
    },
    /// Too much work queued; retry shortly.
    Overloaded {
        /// When to retry.
        retry_after: Duration,
    },
    /// The database is unreachable.
    Unavailable(Arc<dyn std::error::Error + Send + Sync>),
    /// A fault on our side: logged with its cause, answered with a generic body.
    Internal(Arc<dyn std::error::Error + Send + Sync>),
}

/// What the `problem_body` middleware finds in a response's extensions.
#[derive(Debug, Clone)]
pub struct PendingProblem {
    /// The body to render (the request id is filled in by the middleware).
    pub problem: Problem,
    /// The cause of an internal error, to log once.
    pub cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    /// A problem without detail.
    pub fn code(code: ProblemCode) -> Self {
        ApiError::Problem { code, detail: None }
    }

    /// A problem with a human detail.
    pub fn detailed(code: ProblemCode, detail: impl Into<String>) -> Self {
        ApiError::Problem { code, detail: Some(detail.into()) }
    }

    /// The status code of a problem code. The one table of statuses.
    pub fn status_of(code: ProblemCode) -> StatusCode {
        match code {
            ProblemCode::MalformedRequest => StatusCode::BAD_REQUEST,
            ProblemCode::ValidationFailed | ProblemCode::CannotMessageSelf => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemCode::Unauthenticated
            | ProblemCode::InvalidCredentials
            | ProblemCode::ChallengeInvalid
            | ProblemCode::SsoMalformed
            | ProblemCode::SsoAlgorithmRefused
            | ProblemCode::SsoUnknownKey
            | ProblemCode::SsoBadSignature
            | ProblemCode::SsoWrongIssuer
            | ProblemCode::SsoWrongAudience
            | ProblemCode::SsoExpired
            | ProblemCode::SsoNotYetValid
            | ProblemCode::SsoReplayed => StatusCode::UNAUTHORIZED,
            // A code or passkey that does not prove the factor is a refusal, not bad input.
            ProblemCode::ForbiddenOrigin
            | ProblemCode::CsrfFailed
            | ProblemCode::InvalidCode
            | ProblemCode::PasskeyRejected
            | ProblemCode::ReauthenticationRequired
            | ProblemCode::ContactNotAllowed
            | ProblemCode::NotYourMessage
            | ProblemCode::DeleteWindowPassed
            | ProblemCode::EditWindowPassed => StatusCode::FORBIDDEN,
            ProblemCode::NotFound | ProblemCode::SsoUnknownProvider => StatusCode::NOT_FOUND,
            ProblemCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemCode::HandleTaken
            | ProblemCode::EmailTaken
            | ProblemCode::ClientMsgIdReused
            | ProblemCode::PasskeyAlreadyRegistered
            | ProblemCode::CannotBlockSelf
            | ProblemCode::RetentionOnlyShorter
            | ProblemCode::PolicyOutdated
            | ProblemCode::PolicyAcceptanceRequired
            | ProblemCode::MfaAlreadyEnabled
            | ProblemCode::MfaNotEnabled
            | ProblemCode::MfaNotAvailable => StatusCode::CONFLICT,
            ProblemCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ProblemCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ProblemCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProblemCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem code a bare error status maps to (for responses made outside our handlers,
    /// e.g. a 405 from the router or a 408 from the timeout layer).
    pub fn code_of_status(status: StatusCode) -> ProblemCode {
        match status {
            StatusCode::NOT_FOUND => ProblemCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ProblemCode::MethodNotAllowed,
            StatusCode::REQUEST_TIMEOUT => ProblemCode::RequestTimeout,
            StatusCode::PAYLOAD_TOO_LARGE => ProblemCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ProblemCode::UnsupportedMediaType,
            StatusCode::UNAUTHORIZED => ProblemCode::Unauthenticated,
            StatusCode::TOO_MANY_REQUESTS => ProblemCode::RateLimited,
            StatusCode::SERVICE_UNAVAILABLE => ProblemCode::ServiceUnavailable,
            status if status.is_server_error() => ProblemCode::Internal,
            _ => ProblemCode::MalformedRequest,
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(error: CoreError) -> Self {
        match error {
            CoreError::Invalid(validation) => ApiError::Validation(validation),
            CoreError::HandleTaken => ApiError::code(ProblemCode::HandleTaken),
            CoreError::EmailTaken => ApiError::code(ProblemCode::EmailTaken),
            CoreError::InvalidCredentials => ApiError::code(ProblemCode::InvalidCredentials),
            CoreError::Unauthenticated => ApiError::code(ProblemCode::Unauthenticated),
            CoreError::UserNotFound => ApiError::detailed(ProblemCode::NotFound, "no user has that handle"),
            CoreError::SessionNotFound => ApiError::detailed(ProblemCode::NotFound, "you have no session with that id"),
            CoreError::Sso(refusal) => ApiError::code(sso_code(refusal)),
            CoreError::RetentionOnlyShorter => ApiError::code(ProblemCode::RetentionOnlyShorter),
            CoreError::PolicyOutdated => ApiError::code(ProblemCode::PolicyOutdated),
            CoreError::PolicyAcceptanceRequired => ApiError::code(ProblemCode::PolicyAcceptanceRequired),
            CoreError::PolicyNotFound => ApiError::detailed(ProblemCode::NotFound, "no such privacy policy version"),
            CoreError::UnsubscribeLinkInvalid => ApiError::detailed(ProblemCode::NotFound, "unknown or invalid unsubscribe link"),
            CoreError::MessageNotFound => ApiError::detailed(ProblemCode::NotFound, "no such message in this conversation"),
            CoreError::NotYourMessage => ApiError::code(ProblemCode::NotYourMessage),
            CoreError::EditWindowPassed => ApiError::code(ProblemCode::EditWindowPassed),
            CoreError::DeleteWindowPassed => ApiError::code(ProblemCode::DeleteWindowPassed),
            CoreError::ExportNotFound => ApiError::detailed(ProblemCode::NotFound, "no such export: unknown, used, expired or not yours"),
            CoreError::CannotBlockSelf => ApiError::code(ProblemCode::CannotBlockSelf),
            CoreError::ContactNotAllowed => ApiError::code(ProblemCode::ContactNotAllowed),
            CoreError::ReauthenticationRequired => ApiError::code(ProblemCode::ReauthenticationRequired),
            CoreError::PasskeyRejected => ApiError::code(ProblemCode::PasskeyRejected),
            CoreError::PasskeyTaken => ApiError::code(ProblemCode::PasskeyAlreadyRegistered),
            CoreError::PasskeyNotFound => ApiError::detailed(ProblemCode::NotFound, "you have no passkey with that id"),
            CoreError::MfaAlreadyEnabled => ApiError::code(ProblemCode::MfaAlreadyEnabled),
            CoreError::MfaNotEnabled => ApiError::code(ProblemCode::MfaNotEnabled),
            CoreError::MfaNotAvailable => ApiError::code(ProblemCode::MfaNotAvailable),
            CoreError::InvalidCode => ApiError::code(ProblemCode::InvalidCode),
            CoreError::ChallengeInvalid => ApiError::code(ProblemCode::ChallengeInvalid),
            CoreError::ConversationNotFound => ApiError::code(ProblemCode::NotFound),
            CoreError::CannotMessageSelf => ApiError::code(ProblemCode::CannotMessageSelf),
            CoreError::ClientMsgIdReused => ApiError::code(ProblemCode::ClientMsgIdReused),
            CoreError::RateLimited { retry_after } => ApiError::RateLimited { retry_after },
            CoreError::Overloaded { retry_after } => ApiError::Overloaded { retry_after },
            error @ CoreError::Unavailable(_) => ApiError::Unavailable(Arc::new(error)),
            error @ CoreError::Internal(_) => ApiError::Internal(Arc::new(error)),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        ApiError::Validation(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, mut problem, cause, retry_after) = match self {
            ApiError::Problem { code, detail } => (code, Problem { detail, ..blank(code) }, None, None),
            ApiError::Validation(error) => {
                let problem = Problem {
                    detail: Some(format!("{} is invalid: {}", error.field, error.reason)),
                    field: Some(error.field.to_owned()),
                    reason: Some(error.reason.to_owned()),
                    ..blank(ProblemCode::ValidationFailed)
                };
                (ProblemCode::ValidationFailed, problem, None, None)
            }
            ApiError::RateLimited { retry_after } => {
                let secs = whole_seconds(retry_after);
                (ProblemCode::RateLimited, Problem { retry_after_secs: Some(secs), ..blank(ProblemCode::RateLimited) }, None, Some(secs))
            }
            ApiError::Overloaded { retry_after } => {
                let secs = whole_seconds(retry_after);
                let problem = Problem { retry_after_secs: Some(secs), ..blank(ProblemCode::ServiceUnavailable) };
                (ProblemCode::ServiceUnavailable, problem, None, Some(secs))
            }
            ApiError::Unavailable(cause) => (ProblemCode::ServiceUnavailable, blank(ProblemCode::ServiceUnavailable), Some(cause), Some(5)),
            ApiError::Internal(cause) => (ProblemCode::Internal, blank(ProblemCode::Internal), Some(cause), None),
        };
        problem.status = Self::status_of(code).as_u16();
        let mut response = Self::status_of(code).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if code == ProblemCode::Unauthenticated {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response.extensions_mut().insert(PendingProblem { problem, cause });
        response
    }
}

fn sso_code(refusal: SsoRefusal) -> ProblemCode {
    match refusal {
        SsoRefusal::UnknownProvider => ProblemCode::SsoUnknownProvider,
        SsoRefusal::Malformed => ProblemCode::SsoMalformed,
        SsoRefusal::AlgorithmRefused => ProblemCode::SsoAlgorithmRefused,
        SsoRefusal::UnknownKey => ProblemCode::SsoUnknownKey,
        SsoRefusal::BadSignature => ProblemCode::SsoBadSignature,
        SsoRefusal::WrongIssuer => ProblemCode::SsoWrongIssuer,
        SsoRefusal::WrongAudience => ProblemCode::SsoWrongAudience,
        SsoRefusal::Expired => ProblemCode::SsoExpired,
        SsoRefusal::NotYetValid => ProblemCode::SsoNotYetValid,
        SsoRefusal::Replayed => ProblemCode::SsoReplayed,
    }
}

/// A wait rounded up to whole seconds, at least one (the unit of `Retry-After`).
fn whole_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs_f64().ceil().max(1.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a positive whole number of seconds")]
    let secs = secs as u64;
    secs
}

fn blank(code: ProblemCode) -> Problem {
    Problem::new(code, ApiError::status_of(code).as_u16())
}
