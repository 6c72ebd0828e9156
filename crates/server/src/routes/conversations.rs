//! Conversations: open one, list mine.

use axum::extract::State;
use axum::response::Response;
use parley_api::conversations::{
    ConversationPage, ConversationResponse, CreateConversationRequest, ListConversationsQuery, RetentionBody, SetRetentionRequest,
};
use parley_core::OpenConversation;
use parley_domain::ListingId;
use parley_domain::page::{ConversationCursor, PageLimit};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{AuthErrors, BodyErrors, ConversationErrors, RateErrors, ServerErrors};
use crate::error::ApiError;
use crate::extract::{AuthSession, Json, ParticipantOf, Query, created_or_existing};
use crate::state::AppState;
use crate::wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_conversation, list_conversations))
        .routes(routes!(delete_conversation))
        .routes(routes!(get_retention, set_retention))
}

/// `POST /v1/conversations`: open a conversation with another user (201), or get the one you
/// already have with them about the same listing in the same roles (200).
#[utoipa::path(post, path = "/v1/conversations", tag = "conversations", security(("bearer" = []), ("session_cookie" = [])), request_body = CreateConversationRequest,
    responses(
        (status = 201, description = "Opened", body = ConversationResponse),
        (status = 200, description = "Already open", body = ConversationResponse),
        (status = 403, description = "The other party does not accept new conversations like this one (`contact_not_allowed`)", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No user has that handle", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, BodyErrors, RateErrors, ServerErrors,
    ))]
async fn create_conversation(
    State(state): State<AppState>,
    AuthSession(session): AuthSession,
    Json(request): Json<CreateConversationRequest>,
) -> Result<Response, ApiError> {
    let listing = request.listing_id.as_deref().map(ListingId::parse).transpose()?;
    let request = OpenConversation { with: request.with, listing, my_role: wire::role_from(request.my_role) };
    Ok(created_or_existing(state.core.open_conversation(&session, request).await?, wire::conversation))
}

/// `GET /v1/conversations`: your conversations, most recent activity first.
#[utoipa::path(get, path = "/v1/conversations", tag = "conversations", security(("bearer" = []), ("session_cookie" = [])), params(ListConversationsQuery),
    responses((status = 200, body = ConversationPage), (status = 400, description = "Bad query", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad cursor or limit", body = parley_api::Problem, content_type = "application/problem+json"), AuthErrors, ServerErrors))]
async fn list_conversations(
    State(state): State<AppState>,
    AuthSession(session): AuthSession,
    Query(query): Query<ListConversationsQuery>,
) -> Result<Json<ConversationPage>, ApiError> {
    let cursor = query.cursor.as_deref().filter(|c| !c.is_empty()).map(ConversationCursor::decode).transpose()?;
    let limit = PageLimit::parse(query.limit)?;
    let (views, next) = state.core.list_conversations(&session, cursor, limit).await?;
    Ok(Json(ConversationPage { items: views.iter().map(wire::conversation).collect(), next_cursor: next.map(|c| c.encode()) }))
}

/// `DELETE /v1/conversations/{id}`: delete the conversation for yourself (its history so far
/// disappears from your view; new messages show it again). Once both parties have deleted it,
/// it is destroyed for good: its keys first, then its messages.
#[utoipa::path(delete, path = "/v1/conversations/{id}", tag = "conversations", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = uuid::Uuid, Path, description = "The conversation")),
    responses((status = 204, description = "Deleted for you"), AuthErrors, ConversationErrors, ServerErrors))]
async fn delete_conversation(
    State(state): State<AppState>,
    ParticipantOf(participant): ParticipantOf,
) -> Result<axum::http::StatusCode, ApiError> {
    state.core.delete_conversation(&participant).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `GET /v1/conversations/{id}/retention`: when the conversation will be destroyed.
#[utoipa::path(get, path = "/v1/conversations/{id}/retention", tag = "conversations", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = uuid::Uuid, Path, description = "The conversation")),
    responses((status = 200, body = RetentionBody), AuthErrors, ConversationErrors, ServerErrors))]
async fn get_retention(State(state): State<AppState>, ParticipantOf(participant): ParticipantOf) -> Result<Json<RetentionBody>, ApiError> {
    let (days, default) = state.core.retention(&participant).await?;
    Ok(Json(RetentionBody { days_after_last_activity: days, default_days: default }))
}

/// `PUT /v1/conversations/{id}/retention`: ask for the conversation to be destroyed sooner.
#[utoipa::path(put, path = "/v1/conversations/{id}/retention", tag = "conversations", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = uuid::Uuid, Path, description = "The conversation")), request_body = SetRetentionRequest,
    responses(
        (status = 200, body = RetentionBody),
        (status = 409, description = "A shorter retention is already set (`retention_only_shorter`)", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, ConversationErrors, BodyErrors, ServerErrors,
    ))]
async fn set_retention(
    State(state): State<AppState>,
    ParticipantOf(participant): ParticipantOf,
    Json(request): Json<SetRetentionRequest>,
) -> Result<Json<RetentionBody>, ApiError> {
    state.core.set_retention(&participant, request.days_after_last_activity).await?;
    let (days, default) = state.core.retention(&participant).await?;
    Ok(Json(RetentionBody { days_after_last_activity: days, default_days: default }))
}
