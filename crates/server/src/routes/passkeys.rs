//! Passkeys: register, list and remove your own; log in with one alone (passwordless). A
//! passkey as the second step of a password login goes through `/v1/sessions/second-factor`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use parley_api::ProblemCode;
use parley_api::security::{
    PasskeyCeremonyResponse, PasskeyInfo, PasskeyList, PasskeyLoginRequest, PasskeyStepUp, RegisterPasskeyRequest, StepUpRequest,
};
use parley_core::{PasskeyCeremony, PasskeyProof, PasskeyRegistrationAnswer, PasskeyView, StepUpProof};
use parley_domain::Secret;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{AuthErrors, BodyErrors, RateErrors, ServerErrors};
use super::sessions::session_created;
use crate::error::ApiError;
use crate::extract::{AuthSession, Caller, Created, Json};
use crate::state::AppState;
use crate::wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_registration))
        .routes(routes!(finish_registration, list_passkeys))
        .routes(routes!(remove_passkey))
        .routes(routes!(start_step_up))
        .routes(routes!(start_login))
        .routes(routes!(finish_login))
}

/// `POST /v1/me/passkeys/registration`: start registering a passkey (a discoverable credential
/// with user verification).
#[utoipa::path(post, path = "/v1/me/passkeys/registration", tag = "passkeys", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, body = PasskeyCeremonyResponse),
        (status = 403, description = "The session's login is older than ten minutes (`reauthentication_required`): log in again", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "An account made by single sign-on logs in through its marketplace (`mfa_not_available`)", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, ServerErrors,
    ))]
async fn start_registration(
    State(state): State<AppState>,
    AuthSession(session): AuthSession,
) -> Result<Created<PasskeyCeremonyResponse>, ApiError> {
    Ok(Created(ceremony(state.core.start_passkey_registration(&session).await?)))
}

/// `POST /v1/me/passkeys`: finish registering a passkey.
#[utoipa::path(post, path = "/v1/me/passkeys", tag = "passkeys", security(("bearer" = []), ("session_cookie" = [])), request_body = RegisterPasskeyRequest,
    responses(
        (status = 201, body = PasskeyInfo),
        (status = 401, description = "No valid session, or the ceremony is unknown, expired or not yours (`challenge_invalid`), or (for a first factor) the password is missing or wrong (`invalid_credentials`)", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The credential did not verify: malformed, for another site, or without user verification (`passkey_rejected`); or the account has a second factor (TOTP, passkeys) and `proof` does not prove it (`invalid_code`); or the session's login is older than ten minutes (`reauthentication_required`)", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "That passkey is registered already (`passkey_already_registered`)", body = parley_api::Problem, content_type = "application/problem+json"),
        BodyErrors, RateErrors, ServerErrors,
    ))]
async fn finish_registration(
    State(state): State<AppState>,
    caller: Caller,
    AuthSession(session): AuthSession,
    Json(request): Json<RegisterPasskeyRequest>,
) -> Result<Created<PasskeyInfo>, ApiError> {
    let proof = Proof::from(request.proof);
    let answer = PasskeyRegistrationAnswer {
        token: &request.challenge,
        credential: &request.credential,
        label: &request.label,
        proof: proof.as_core(),
    };
    let view = state.core.finish_passkey_registration(&session, answer, &caller.context).await?;
    Ok(Created(passkey_info(&view)))
}

/// `GET /v1/me/passkeys`: your passkeys.
#[utoipa::path(get, path = "/v1/me/passkeys", tag = "passkeys", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = PasskeyList), AuthErrors, ServerErrors))]
async fn list_passkeys(State(state): State<AppState>, AuthSession(session): AuthSession) -> Result<Json<PasskeyList>, ApiError> {
    let passkeys = state.core.passkeys(&session).await?;
    Ok(Json(PasskeyList { passkeys: passkeys.iter().map(passkey_info).collect() }))
}

/// `DELETE /v1/me/passkeys/{id}`: remove one of your passkeys; takes a proof of your second
/// factor (the passkey itself, through `POST /v1/me/step-up`, may give it).
#[utoipa::path(delete, path = "/v1/me/passkeys/{id}", tag = "passkeys", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = uuid::Uuid, Path, description = "The passkey's id")), request_body = StepUpRequest,
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "No proof of your second factor, or a wrong or used one (`invalid_code`), or the session's login is older than ten minutes (`reauthentication_required`)", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have no passkey with that id", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, BodyErrors, RateErrors, ServerErrors,
    ))]
async fn remove_passkey(
    State(state): State<AppState>,
    caller: Caller,
    AuthSession(session): AuthSession,
    axum::extract::Path(id): axum::extract::Path<String>,
    Json(request): Json<StepUpRequest>,
) -> Result<StatusCode, ApiError> {
    let id = id.parse().map_err(|_| ApiError::detailed(ProblemCode::NotFound, "you have no passkey with that id"))?;
    let proof = Proof::from(request);
    state.core.remove_passkey(&session, id, proof.as_core(), &caller.context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/me/step-up`: start proving your second factor with one of your passkeys, before
/// a change to your factors; answer with `navigator.credentials.get()` and send the result as
/// `step_up` with the change.
#[utoipa::path(post, path = "/v1/me/step-up", tag = "passkeys", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, body = PasskeyCeremonyResponse),
        (status = 403, description = "The session's login is older than ten minutes (`reauthentication_required`): log in again", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "You have no passkey (`mfa_not_enabled`)", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, ServerErrors,
    ))]
async fn start_step_up(
    State(state): State<AppState>,
    AuthSession(session): AuthSession,
) -> Result<Created<PasskeyCeremonyResponse>, ApiError> {
    Ok(Created(ceremony(state.core.start_step_up(&session).await?)))
}

/// The proof a request carries before a change to the caller's factors, its secrets wrapped.
pub(super) struct Proof {
    code: Option<Secret<String>>,
    password: Option<Secret<String>>,
    step_up: Option<PasskeyStepUp>,
}

impl From<StepUpRequest> for Proof {
    fn from(request: StepUpRequest) -> Self {
        Self { code: request.code.map(Secret::new), password: request.password.map(Secret::new), step_up: request.step_up }
    }
}

impl Proof {
    pub(super) fn as_core(&self) -> StepUpProof<'_> {
        StepUpProof {
            code: self.code.as_ref(),
            passkey: self.step_up.as_ref().map(|step_up| PasskeyProof { ceremony: &step_up.challenge, credential: &step_up.credential }),
            password: self.password.as_ref(),
        }
    }
}

/// `POST /v1/sessions/passkey/options`: start a passwordless login; any passkey registered
/// here may answer.
#[utoipa::path(post, path = "/v1/sessions/passkey/options", tag = "passkeys",
    responses((status = 201, body = PasskeyCeremonyResponse), RateErrors, ServerErrors))]
async fn start_login(State(state): State<AppState>, caller: Caller) -> Result<Created<PasskeyCeremonyResponse>, ApiError> {
    state.check_auth_rate(caller.ip)?;
    Ok(Created(ceremony(state.core.start_passkey_login().await?)))
}

/// `POST /v1/sessions/passkey`: finish a passwordless login.
#[utoipa::path(post, path = "/v1/sessions/passkey", tag = "passkeys", request_body = PasskeyLoginRequest,
    responses(
        (status = 201, description = "Logged in", body = parley_api::accounts::SessionResponse),
        (status = 401, description = "The ceremony is unknown, expired or used (`challenge_invalid`), or the passkey did not verify (`invalid_credentials`)", body = parley_api::Problem, content_type = "application/problem+json"),
        BodyErrors, RateErrors, ServerErrors,
    ))]
async fn finish_login(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<PasskeyLoginRequest>,
) -> Result<Response, ApiError> {
    state.check_auth_rate(caller.ip)?;
    let attempt = caller.login_attempt(&request.session);
    let issued = state.core.finish_passkey_login(&request.challenge, &request.credential, &attempt).await?;
    Ok(session_created(issued))
}

fn ceremony(ceremony: PasskeyCeremony) -> PasskeyCeremonyResponse {
    PasskeyCeremonyResponse {
        challenge: ceremony.token.into_inner(),
        expires_at: wire::time(ceremony.expires_at),
        options: ceremony.options,
    }
}

fn passkey_info(view: &PasskeyView) -> PasskeyInfo {
    PasskeyInfo {
        id: view.id,
        label: view.label.clone(),
        created_at: wire::time(view.created_at),
        last_used_at: view.last_used_at.map(wire::time),
    }
}
