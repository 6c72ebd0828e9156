//! `GET /healthz`.

use axum::extract::State;
use parley_api::Health;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::ServerErrors;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz))
}

/// `GET /healthz`: this node is up and its database answers (503 otherwise).
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = Health), ServerErrors))]
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.core.health().await?;
    Ok(Json(Health { status: "ok".to_owned() }))
}
