//! Accounts: sign-up and the caller's profile.

use axum::extract::State;
use parley_api::accounts::{AccountResponse, CreateAccountRequest, MeResponse};
use parley_core::NewAccount;
use parley_domain::Secret;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{AuthErrors, BodyErrors, RateErrors, ServerErrors};
use crate::error::ApiError;
use crate::extract::{AuthSession, ClientIp, Created, Json};
use crate::state::AppState;
use crate::wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_account)).routes(routes!(get_me))
}

/// `POST /v1/accounts`: sign up.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = CreateAccountRequest,
    responses(
        (status = 201, description = "Account created", body = AccountResponse),
        (status = 409, description = "Handle or email taken (`handle_taken`, `email_taken`)", body = parley_api::Problem, content_type = "application/problem+json"),
        BodyErrors, RateErrors, ServerErrors,
    ))]
async fn create_account(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(request): Json<CreateAccountRequest>,
) -> Result<Created<AccountResponse>, ApiError> {
    state.check_auth_rate(ip)?;
    let request = NewAccount { handle: request.handle, email: request.email, password: Secret::new(request.password) };
    let account = state.core.sign_up(request).await?;
    Ok(Created(wire::account(&account)))
}

/// `GET /v1/me`: your own profile, email included.
#[utoipa::path(get, path = "/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), AuthErrors, ServerErrors))]
async fn get_me(State(state): State<AppState>, AuthSession(session): AuthSession) -> Result<Json<MeResponse>, ApiError> {
    let profile = state.core.profile(&session).await?;
    Ok(Json(wire::me(&profile)))
}
