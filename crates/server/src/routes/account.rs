//! Accounts: sign-up, the caller's profile, password change, security events and two-factor
//! enrolment.

use axum::extract::State;
use axum::http::StatusCode;
use parley_api::accounts::{AccountResponse, ChangeEmailRequest, CreateAccountRequest, EraseAccountRequest, MeResponse};
use parley_api::security::{
    ChangePasswordRequest, ConfirmTotpRequest, MfaStatusResponse, RecoveryCodesResponse, SecurityEventList, StepUpRequest,
    TotpEnrolmentResponse,
};
use parley_core::{MAX_EVENTS_LISTED, NewAccount};
use parley_domain::Secret;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{AuthErrors, BodyErrors, RateErrors, ServerErrors};
use super::passkeys::Proof;
use crate::error::ApiError;
use crate::extract::{AuthSession, Caller, Created, Json, Query};
use crate::state::AppState;
use crate::wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_account))
        .routes(routes!(get_me, erase_me))
        .routes(routes!(change_password))
        .routes(routes!(change_email))
        .routes(routes!(list_security_events))
        .routes(routes!(get_mfa_status))
        .routes(routes!(start_totp))
        .routes(routes!(confirm_totp))
        .routes(routes!(disable_totp))
        .routes(routes!(replace_recovery_codes))
}

/// `POST /v1/accounts`: sign up.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = CreateAccountRequest,
    responses(
        (status = 201, description = "Account created", body = AccountResponse),
        (status = 409, description = "Handle or email taken (`handle_taken`, `email_taken`), or the policy version accepted is not the current one (`policy_outdated`)", body = parley_api::Problem, content_type = "application/problem+json"),
        BodyErrors, RateErrors, ServerErrors,
    ))]
async fn create_account(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<CreateAccountRequest>,
) -> Result<Created<AccountResponse>, ApiError> {
    state.check_auth_rate(caller.ip)?;
    let request = NewAccount {
        handle: request.handle,
        email: request.email,
        password: Secret::new(request.password),
        accepted_policy_version: request.accepted_policy_version,
    };
    let account = state.core.sign_up(request, &caller.context).await?;
    Ok(Created(wire::account(&account)))
}

/// `GET /v1/me`: your own profile, email included.
#[utoipa::path(get, path = "/v1/me", tag = "accounts", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = MeResponse), AuthErrors, ServerErrors))]
async fn get_me(State(state): State<AppState>, AuthSession(session): AuthSession) -> Result<Json<MeResponse>, ApiError> {
    let profile = state.core.profile(&session).await?;
    Ok(Json(wire::me(&profile)))
}

/// `PUT /v1/me/password`: change your password; every other session is logged out.
#[utoipa::path(put, path = "/v1/me/password", tag = "accounts", security(("bearer" = []), ("session_cookie" = [])), request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; your other sessions are logged out"),
        (status = 401, description = "No valid session, or the current password is wrong (`invalid_credentials`)", body = parley_api::Problem, content_type = "application/problem+json"),
        BodyErrors, RateErrors, ServerErrors,
    ))]
async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    AuthSession(session): AuthSession,
    Json(request): Json<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state.check_auth_rate(caller.ip)?;
    let (current, new) = (Secret::new(request.current_password), Secret::new(request.new_password));
    state.core.change_password(&session, current, new, &caller.context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The page size of `GET /v1/me/security-events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    /// How many events (1 to 200, default 50), newest first.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// `GET /v1/me/security-events`: logins, failures, lockouts, new devices and credential
/// changes on your account, with time, network and device.
#[utoipa::path(get, path = "/v1/me/security-events", tag = "accounts", security(("bearer" = []), ("session_cookie" = [])), params(EventsQuery),
    responses(
        (status = 200, body = SecurityEventList),
        (status = 400, description = "Bad query parameter", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, ServerErrors,
    ))]
async fn list_security_events(
    State(state): State<AppState>,
    AuthSession(session): AuthSession,
    Query(query): Query<EventsQuery>,
) -> Result<Json<SecurityEventList>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_EVENTS_LISTED).contains(&limit) {
        return Err(ApiError::detailed(parley_api::ProblemCode::MalformedRequest, "limit must be between 1 and 200"));
    }
    let events = state.core.security_events(&session, limit).await?;
    Ok(Json(SecurityEventList { events: events.iter().map(wire::security_event).collect() }))
}

/// `GET /v1/me/mfa`: which second factors you have.
#[utoipa::path(get, path = "/v1/me/mfa", tag = "accounts", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = MfaStatusResponse), AuthErrors, ServerErrors))]
async fn get_mfa_status(State(state): State<AppState>, AuthSession(session): AuthSession) -> Result<Json<MfaStatusResponse>, ApiError> {
    let status = state.core.mfa_status(&session).await?;
    Ok(Json(MfaStatusResponse { totp: status.totp, recovery_codes_left: status.recovery_codes_left, passkeys: status.passkeys }))
}

/// `POST /v1/me/mfa/totp`: start TOTP enrolment. Add the secret to an authenticator app, then
/// confirm with a code.
#[utoipa::path(post, path = "/v1/me/mfa/totp", tag = "accounts", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, body = TotpEnrolmentResponse),
        (status = 403, description = "The session's login is older than ten minutes (`reauthentication_required`): log in again", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "TOTP is already on (`mfa_already_enabled`), or the account logs in through its marketplace (`mfa_not_available`)", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, ServerErrors,
    ))]
async fn start_totp(State(state): State<AppState>, AuthSession(session): AuthSession) -> Result<Created<TotpEnrolmentResponse>, ApiError> {
    let enrolment = state.core.start_totp(&session).await?;
    Ok(Created(TotpEnrolmentResponse { secret: enrolment.secret.into_inner(), otpauth_uri: enrolment.uri.into_inner() }))
}

/// `POST /v1/me/mfa/totp/confirm`: turn TOTP on with a first code; answers the ten one-time
/// recovery codes, shown only now.
#[utoipa::path(post, path = "/v1/me/mfa/totp/confirm", tag = "accounts", security(("bearer" = []), ("session_cookie" = [])), request_body = ConfirmTotpRequest,
    responses(
        (status = 200, body = RecoveryCodesResponse),
        (status = 401, description = "No valid session, or (for a first factor) the password is missing or wrong (`invalid_credentials`)", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The code is wrong or already used, or the account has passkeys and none vouched through `step_up` (`invalid_code`), or the session's login is older than ten minutes (`reauthentication_required`)", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes; retry after `Retry-After` seconds", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No enrolment is waiting (`mfa_not_enabled`)", body = parley_api::Problem, content_type = "application/problem+json"),
        BodyErrors, ServerErrors,
    ))]
async fn confirm_totp(
    State(state): State<AppState>,
    caller: Caller,
    AuthSession(session): AuthSession,
    Json(request): Json<ConfirmTotpRequest>,
) -> Result<Json<RecoveryCodesResponse>, ApiError> {
    let proof = Proof::from(request.proof);
    let codes = state.core.confirm_totp(&session, &Secret::new(request.code), proof.as_core(), &caller.context).await?;
    Ok(shown_once(codes))
}

/// `POST /v1/me/mfa/recovery-codes`: replace your recovery codes with ten new ones (shown only
/// now); takes a fresh code from the app or one of the old recovery codes.
#[utoipa::path(post, path = "/v1/me/mfa/recovery-codes", tag = "accounts", security(("bearer" = []), ("session_cookie" = [])), request_body = StepUpRequest,
    responses(
        (status = 200, body = RecoveryCodesResponse),
        (status = 403, description = "The code (or passkey) did not prove your second factor (`invalid_code`), or the session's login is older than ten minutes (`reauthentication_required`)", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "TOTP is not on (`mfa_not_enabled`)", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes; retry after `Retry-After` seconds", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, BodyErrors, ServerErrors,
    ))]
async fn replace_recovery_codes(
    State(state): State<AppState>,
    caller: Caller,
    AuthSession(session): AuthSession,
    Json(request): Json<StepUpRequest>,
) -> Result<Json<RecoveryCodesResponse>, ApiError> {
    let proof = Proof::from(request);
    let codes = state.core.replace_recovery_codes(&session, proof.as_core(), &caller.context).await?;
    Ok(shown_once(codes))
}

/// `POST /v1/me/mfa/totp/disable`: turn TOTP off; takes a fresh code from the app, or a
/// recovery code if the app is lost.
#[utoipa::path(post, path = "/v1/me/mfa/totp/disable", tag = "accounts", security(("bearer" = []), ("session_cookie" = [])), request_body = StepUpRequest,
    responses(
        (status = 204, description = "TOTP is off; the recovery codes are void"),
        (status = 429, description = "Too many wrong codes; retry after `Retry-After` seconds", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The code (or passkey) did not prove your second factor (`invalid_code`), or the session's login is older than ten minutes (`reauthentication_required`)", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "TOTP is not on (`mfa_not_enabled`)", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, BodyErrors, ServerErrors,
    ))]
async fn disable_totp(
    State(state): State<AppState>,
    caller: Caller,
    AuthSession(session): AuthSession,
    Json(request): Json<StepUpRequest>,
) -> Result<StatusCode, ApiError> {
    state.core.disable_totp(&session, Proof::from(request).as_core(), &caller.context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/me`: erase your account for good. Your data keys are destroyed first, so
/// nothing you wrote can be read again from any copy of the database; your sessions end; your
/// messages stay in your conversations as "message deleted" placeholders, under a handle that
/// says "deleted user".
#[utoipa::path(delete, path = "/v1/me", tag = "accounts", security(("bearer" = []), ("session_cookie" = [])), request_body = EraseAccountRequest,
    responses(
        (status = 204, description = "Erased"),
        (status = 401, description = "No valid session, or the password is wrong or missing (`invalid_credentials`)", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "An account without a password needs a login from the last ten minutes (`reauthentication_required`)", body = parley_api::Problem, content_type = "application/problem+json"),
        BodyErrors, RateErrors, ServerErrors,
    ))]
async fn erase_me(
    State(state): State<AppState>,
    AuthSession(session): AuthSession,
    Json(request): Json<EraseAccountRequest>,
) -> Result<StatusCode, ApiError> {
    state.core.erase_account(&session, request.password.map(Secret::new)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v1/me/email`: correct your email address; the confirmation goes to the new one.
#[utoipa::path(put, path = "/v1/me/email", tag = "accounts", security(("bearer" = []), ("session_cookie" = [])), request_body = ChangeEmailRequest,
    responses(
        (status = 200, body = MeResponse),
        (status = 401, description = "No valid session, or the password is wrong or missing (`invalid_credentials`)", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "An account without a password needs a login from the last ten minutes (`reauthentication_required`)", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another account has that address (`email_taken`)", body = parley_api::Problem, content_type = "application/problem+json"),
        BodyErrors, RateErrors, ServerErrors,
    ))]
async fn change_email(
    State(state): State<AppState>,
    caller: Caller,
    AuthSession(session): AuthSession,
    Json(request): Json<ChangeEmailRequest>,
) -> Result<Json<MeResponse>, ApiError> {
    state.core.change_email(&session, &request.email, request.password.map(Secret::new), &caller.context).await?;
    Ok(Json(wire::me(&state.core.profile(&session).await?)))
}

/// Recovery codes as answered the one time they are shown.
fn shown_once(codes: Vec<Secret<String>>) -> Json<RecoveryCodesResponse> {
    Json(RecoveryCodesResponse { recovery_codes: codes.into_iter().map(Secret::into_inner).collect() })
}
