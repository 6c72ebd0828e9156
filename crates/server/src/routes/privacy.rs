//! Privacy preferences, blocks and data exports.

use axum::extract::State;
use axum::http::StatusCode;
use parley_api::ProblemCode;
use parley_api::privacy::{BlockList, BlockRequest, BlockedUserResponse, ExportArchive, ExportCreated, PreferencesBody};
use parley_domain::{ContactPolicy, Preferences};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{AuthErrors, BodyErrors, RateErrors, ServerErrors};
use crate::error::ApiError;
use crate::extract::{AuthSession, Created, Json};
use crate::state::AppState;
use crate::wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_preferences, put_preferences))
        .routes(routes!(list_blocks, block))
        .routes(routes!(unblock))
        .routes(routes!(create_export))
        .routes(routes!(download_export))
}

/// `GET /v1/me/preferences`: your privacy preferences.
#[utoipa::path(get, path = "/v1/me/preferences", tag = "privacy", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = PreferencesBody), AuthErrors, ServerErrors))]
async fn get_preferences(State(state): State<AppState>, AuthSession(session): AuthSession) -> Result<Json<PreferencesBody>, ApiError> {
    let preferences = state.core.preferences(&session).await?;
    Ok(Json(PreferencesBody {
        contact_policy: preferences.contact_policy.as_str().to_owned(),
        do_not_sell: preferences.do_not_sell,
        new_device_mail: preferences.new_device_mail,
    }))
}

/// `PUT /v1/me/preferences`: set your privacy preferences.
#[utoipa::path(put, path = "/v1/me/preferences", tag = "privacy", security(("bearer" = []), ("session_cookie" = [])), request_body = PreferencesBody,
    responses((status = 200, body = PreferencesBody), AuthErrors, BodyErrors, ServerErrors))]
async fn put_preferences(
    State(state): State<AppState>,
    AuthSession(session): AuthSession,
    Json(request): Json<PreferencesBody>,
) -> Result<Json<PreferencesBody>, ApiError> {
    let contact_policy = ContactPolicy::parse(&request.contact_policy)
        .ok_or_else(|| ApiError::Validation(parley_domain::ValidationError::new("contact_policy", "unknown")))?;
    let preferences = Preferences { contact_policy, do_not_sell: request.do_not_sell, new_device_mail: request.new_device_mail };
    state.core.set_preferences(&session, preferences).await?;
    Ok(Json(request))
}

/// `GET /v1/me/blocks`: whom you blocked.
#[utoipa::path(get, path = "/v1/me/blocks", tag = "privacy", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = BlockList), AuthErrors, ServerErrors))]
async fn list_blocks(State(state): State<AppState>, AuthSession(session): AuthSession) -> Result<Json<BlockList>, ApiError> {
    let blocked = state.core.blocked_users(&session).await?;
    Ok(Json(BlockList {
        blocked: blocked.iter().map(|b| BlockedUserResponse { handle: b.handle.as_str().to_owned(), since: wire::time(b.since) }).collect(),
    }))
}

/// `POST /v1/me/blocks`: block a user. They are not told.
#[utoipa::path(post, path = "/v1/me/blocks", tag = "privacy", security(("bearer" = []), ("session_cookie" = [])), request_body = BlockRequest,
    responses(
        (status = 201, description = "Blocked (also when already blocked)", body = BlockRequest),
        (status = 404, description = "No user has that handle", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "That is your own handle (`cannot_block_self`)", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, BodyErrors, ServerErrors,
    ))]
async fn block(
    State(state): State<AppState>,
    AuthSession(session): AuthSession,
    Json(request): Json<BlockRequest>,
) -> Result<Created<BlockRequest>, ApiError> {
    state.core.block_user(&session, &request.handle).await?;
    Ok(Created(request))
}

/// `DELETE /v1/me/blocks/{handle}`: lift a block.
#[utoipa::path(delete, path = "/v1/me/blocks/{handle}", tag = "privacy", security(("bearer" = []), ("session_cookie" = [])),
    params(("handle" = String, Path, description = "The blocked user's handle")),
    responses(
        (status = 204, description = "Not blocked (any more)"),
        (status = 404, description = "No user has that handle", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, ServerErrors,
    ))]
async fn unblock(
    State(state): State<AppState>,
    AuthSession(session): AuthSession,
    axum::extract::Path(handle): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    state.core.unblock_user(&session, &handle).await.map_err(|error| match error {
        parley_core::CoreError::UserNotFound => ApiError::detailed(ProblemCode::NotFound, "no user has that handle"),
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/me/exports`: build an archive of everything Parley holds about you (at most three
/// an hour); download it once within a day.
#[utoipa::path(post, path = "/v1/me/exports", tag = "privacy", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 201, body = ExportCreated), AuthErrors, RateErrors, ServerErrors))]
async fn create_export(State(state): State<AppState>, AuthSession(session): AuthSession) -> Result<Created<ExportCreated>, ApiError> {
    let link = state.core.request_export(&session).await?;
    Ok(Created(ExportCreated { download: format!("/v1/me/exports/{}", link.token.expose()), expires_at: wire::time(link.expires_at) }))
}

/// `GET /v1/me/exports/{token}`: download your archive (once; the link also needs your
/// session).
#[utoipa::path(get, path = "/v1/me/exports/{token}", tag = "privacy", security(("bearer" = []), ("session_cookie" = [])),
    params(("token" = String, Path, description = "The token from the download link")),
    responses(
        (status = 200, description = "The archive, as an attachment", body = ExportArchive),
        (status = 404, description = "Unknown, used, expired, or not yours", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, ServerErrors,
    ))]
async fn download_export(
    State(state): State<AppState>,
    AuthSession(session): AuthSession,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
    use axum::response::IntoResponse as _;
    let archive = state.core.download_export(&session, &token).await?;
    let headers = [(CONTENT_TYPE, "application/json; charset=utf-8"), (CONTENT_DISPOSITION, "attachment; filename=\"parley-export.json\"")];
    Ok((headers, archive).into_response())
}
