//! `GET /healthz`.

use parley_api::Health;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::ServerErrors;
use crate::extract::Json;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz))
}

/// `GET /healthz`: liveness of this node.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = Health), ServerErrors))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}
