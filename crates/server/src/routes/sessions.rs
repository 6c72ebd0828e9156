//! Sessions: login and logout.

use axum::extract::State;
use axum::http::StatusCode;
use parley_api::accounts::{CreateSessionRequest, SessionResponse};
use parley_domain::Secret;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{AuthErrors, BodyErrors, RateErrors, ServerErrors};
use crate::error::ApiError;
use crate::extract::{AuthSession, ClientIp, Created, Json};
use crate::state::AppState;
use crate::wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_session)).routes(routes!(delete_current_session))
}

/// `POST /v1/sessions`: log in with a handle or email address and a password.
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", request_body = CreateSessionRequest,
    responses(
        (status = 201, description = "Logged in", body = SessionResponse),
        (status = 401, description = "Wrong login or password (`invalid_credentials`)", body = parley_api::Problem, content_type = "application/problem+json"),
        BodyErrors, RateErrors, ServerErrors,
    ))]
async fn create_session(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(request): Json<CreateSessionRequest>,
) -> Result<Created<SessionResponse>, ApiError> {
    state.check_auth_rate(ip)?;
    let issued = state.core.log_in(&request.login, Secret::new(request.password)).await?;
    Ok(Created(SessionResponse {
        token: issued.token.into_inner(),
        session_id: issued.session.session_id().as_uuid(),
        expires_at: wire::time(issued.session.expires_at()),
    }))
}

/// `DELETE /v1/sessions/current`: log out; the token stops working at once.
#[utoipa::path(delete, path = "/v1/sessions/current", tag = "sessions", security(("bearer" = [])),
    responses((status = 204, description = "Logged out"), AuthErrors, ServerErrors))]
async fn delete_current_session(State(state): State<AppState>, AuthSession(session): AuthSession) -> Result<StatusCode, ApiError> {
    state.core.log_out(&session).await?;
    Ok(StatusCode::NO_CONTENT)
}
