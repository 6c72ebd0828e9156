//! Sessions: login (password, then a second factor when the account has one), logout, the
//! session list and revocation, and the CSRF token of a cookie session.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use parley_api::accounts::{CreateSessionRequest, SessionResponse};
use parley_api::security::{
    CsrfToken, RevokedSessions, SecondFactorAnswer, SecondFactorRequest, SecondFactorRequired, SessionList, SsoLoginRequest,
};
use parley_core::{IssuedSession, LoginOutcome, SecondFactorChallenge};
use parley_domain::{Secret, SessionId, SessionKind};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{AuthErrors, BodyErrors, RateErrors, ServerErrors};
use crate::error::ApiError;
use crate::extract::{AuthSession, Caller, Created, Json, SESSION_COOKIE};
use crate::state::AppState;
use crate::wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_session, list_sessions, revoke_other_sessions))
        .routes(routes!(complete_second_factor))
        .routes(routes!(delete_current_session))
        .routes(routes!(revoke_session))
        .routes(routes!(get_csrf_token))
        .routes(routes!(create_sso_session))
}

/// `POST /v1/sessions/sso`: log in with a short-lived token signed by your marketplace's
/// backend; the first login creates your pseudonymous account.
#[utoipa::path(post, path = "/v1/sessions/sso", tag = "sessions", request_body = SsoLoginRequest,
    responses(
        (status = 201, description = "Logged in", body = SessionResponse),
        (status = 401, description = "The token was refused: `sso_malformed`, `sso_algorithm_refused`, `sso_unknown_key`, `sso_bad_signature`, `sso_wrong_issuer`, `sso_wrong_audience`, `sso_expired`, `sso_not_yet_valid` or `sso_replayed`", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No integration has that name (`sso_unknown_provider`)", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No free handle could be found for a new account (`handle_taken`)", body = parley_api::Problem, content_type = "application/problem+json"),
        BodyErrors, RateErrors, ServerErrors,
    ))]
async fn create_sso_session(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<SsoLoginRequest>,
) -> Result<Response, ApiError> {
    state.check_auth_rate(caller.ip)?;
    let attempt = caller.login_attempt(&request.session);
    let issued = state.core.log_in_with_sso(&request.provider, &request.token, &attempt).await?;
    Ok(session_created(issued))
}

/// `POST /v1/sessions`: log in with a handle or email address and a password.
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", request_body = CreateSessionRequest,
    responses(
        (status = 201, description = "Logged in. With `session.cookie`, the token is set as the `__Host-parley_session` cookie instead of returned.", body = SessionResponse),
        (status = 202, description = "The password was right; the account needs a second factor: answer the challenge", body = SecondFactorRequired),
        (status = 401, description = "Login failed (`invalid_credentials`): wrong login or password, or the account is paused after repeated failures; the answer does not say which", body = parley_api::Problem, content_type = "application/problem+json"),
        BodyErrors, RateErrors, ServerErrors,
    ))]
async fn create_session(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<CreateSessionRequest>,
) -> Result<Response, ApiError> {
    state.check_auth_rate(caller.ip)?;
    let attempt = caller.login_attempt(&request.session);
    match state.core.log_in(&request.login, Secret::new(request.password), &attempt).await? {
        LoginOutcome::LoggedIn(issued) => Ok(session_created(issued)),
        LoginOutcome::SecondFactorRequired(challenge) => {
            Ok((StatusCode::ACCEPTED, Json(second_factor_required(challenge))).into_response())
        }
    }
}

/// `POST /v1/sessions/second-factor`: finish a login with a TOTP code, a recovery code or a
/// passkey.
#[utoipa::path(post, path = "/v1/sessions/second-factor", tag = "sessions", request_body = SecondFactorRequest,
    responses(
        (status = 201, description = "Logged in", body = SessionResponse),
        (status = 401, description = "The challenge is unknown, expired, used up or already answered (`challenge_invalid`): log in again", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The code or passkey did not prove the factor (`invalid_code`); the fifth answer withdraws the challenge", body = parley_api::Problem, content_type = "application/problem+json"),
        BodyErrors, RateErrors, ServerErrors,
    ))]
async fn complete_second_factor(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<SecondFactorRequest>,
) -> Result<Response, ApiError> {
    state.check_auth_rate(caller.ip)?;
    let attempt = caller.login_attempt(&request.session);
    let answer = match request.answer {
        SecondFactorAnswer::Totp { code } => parley_core::SecondFactorAnswer::Totp(Secret::new(code)),
        SecondFactorAnswer::RecoveryCode { code } => parley_core::SecondFactorAnswer::RecoveryCode(Secret::new(code)),
        SecondFactorAnswer::Passkey { credential } => parley_core::SecondFactorAnswer::Passkey(credential),
    };
    let issued = state.core.complete_second_factor(&request.challenge, answer, &attempt).await?;
    Ok(session_created(issued))
}

/// `GET /v1/sessions`: your sessions, with device, coarse network and times.
#[utoipa::path(get, path = "/v1/sessions", tag = "sessions", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = SessionList), AuthErrors, ServerErrors))]
async fn list_sessions(State(state): State<AppState>, AuthSession(session): AuthSession) -> Result<Json<SessionList>, ApiError> {
    let sessions = state.core.list_sessions(&session).await?;
    Ok(Json(SessionList { sessions: sessions.iter().map(wire::session_info).collect() }))
}

/// `DELETE /v1/sessions`: log out every session but this one.
#[utoipa::path(delete, path = "/v1/sessions", tag = "sessions", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = RevokedSessions), AuthErrors, ServerErrors))]
async fn revoke_other_sessions(
    State(state): State<AppState>,
    caller: Caller,
    AuthSession(session): AuthSession,
) -> Result<Json<RevokedSessions>, ApiError> {
    let revoked = state.core.revoke_other_sessions(&session, &caller.context).await?;
    Ok(Json(RevokedSessions { revoked: u64::try_from(revoked).unwrap_or(u64::MAX) }))
}

/// `DELETE /v1/sessions/current`: log out; the token stops working at once (and a session
/// cookie is cleared).
#[utoipa::path(delete, path = "/v1/sessions/current", tag = "sessions", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 204, description = "Logged out"), AuthErrors, ServerErrors))]
async fn delete_current_session(
    State(state): State<AppState>,
    caller: Caller,
    AuthSession(session): AuthSession,
) -> Result<Response, ApiError> {
    state.core.log_out(&session, &caller.context).await?;
    let clear = format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, header_value(&clear)?)]).into_response())
}

/// `DELETE /v1/sessions/{id}`: log out one of your other sessions (a lost phone).
#[utoipa::path(delete, path = "/v1/sessions/{id}", tag = "sessions", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = uuid::Uuid, Path, description = "The session's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "You have no session with that id", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, ServerErrors,
    ))]
async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    AuthSession(session): AuthSession,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: SessionId =
        id.parse().map_err(|_| ApiError::detailed(parley_api::ProblemCode::NotFound, "you have no session with that id"))?;
    state.core.revoke_session(&session, id, &caller.context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/sessions/current/csrf`: the CSRF token of this cookie session, for a web client
/// that reloaded and lost it.
#[utoipa::path(get, path = "/v1/sessions/current/csrf", tag = "sessions", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = CsrfToken), AuthErrors, ServerErrors))]
async fn get_csrf_token(State(state): State<AppState>, AuthSession(session): AuthSession) -> Json<CsrfToken> {
    Json(CsrfToken { csrf_token: state.core.csrf_token(&session) })
}

/// The 201 of a login: the token in the body (bearer) or in a cookie (cookie sessions).
pub(super) fn session_created(issued: IssuedSession) -> Response {
    let cookie = issued.session.kind() == SessionKind::Cookie;
    let token = issued.token.into_inner();
    let body = SessionResponse {
        token: (!cookie).then(|| token.clone()),
        csrf_token: issued.csrf_token,
        device_token: Some(issued.device_token.into_inner()),
        session_id: issued.session.session_id().as_uuid(),
        expires_at: wire::time(issued.session.expires_at()),
    };
    let mut response = Created(body).into_response();
    if cookie {
        // No Max-Age: the browser drops it when closed; the server ends it at its expiry anyway.
        match header_value(&format!("{SESSION_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict")) {
            Ok(value) => {
                response.headers_mut().insert(SET_COOKIE, value);
            }
            Err(error) => return error.into_response(),
        }
    }
    response
}

fn second_factor_required(challenge: SecondFactorChallenge) -> SecondFactorRequired {
    SecondFactorRequired {
        status: "second_factor_required".into(),
        challenge: challenge.token.into_inner(),
        expires_at: wire::time(challenge.expires_at),
        methods: challenge.methods.iter().map(|m| wire::second_factor_method(*m).to_owned()).collect(),
        passkey_options: challenge.passkey_options,
    }
}

fn header_value(text: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(text).map_err(|error| ApiError::Internal(std::sync::Arc::new(error)))
}
