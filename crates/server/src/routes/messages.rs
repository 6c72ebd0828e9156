//! Messages of one conversation: send, read.

use axum::extract::State;
use axum::response::Response;
use parley_api::messages::{ListMessagesQuery, MessagePage, MessageResponse, SendMessageRequest};
use parley_core::SendMessage;
use parley_domain::ClientMsgId;
use parley_domain::page::{MessageWindow, PageLimit};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{AuthErrors, BodyErrors, ConversationErrors, RateErrors, ServerErrors};
use crate::error::ApiError;
use crate::extract::{Json, ParticipantOf, Query, created_or_existing};
use crate::state::AppState;
use crate::wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(send_message, list_messages)).routes(routes!(delete_message, edit_message))
}

/// Whom a message is deleted for.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DeleteQuery {
    /// `me` (default: hide it from yourself) or `everyone` (its author, within the deployment's
    /// window, a day by default: the text is gone for both, a placeholder stays).
    #[serde(rename = "for")]
    #[param(rename = "for", pattern = "^(me|everyone)$")]
    scope: Option<String>,
}

/// `DELETE /v1/conversations/{id}/messages/{message_id}`: delete a message for yourself, or
/// for everyone.
#[utoipa::path(delete, path = "/v1/conversations/{id}/messages/{message_id}", tag = "messages", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = uuid::Uuid, Path, description = "The conversation"), ("message_id" = uuid::Uuid, Path, description = "The message"), DeleteQuery),
    responses(
        (status = 204, description = "Deleted (also when it already was)"),
        (status = 400, description = "Bad query parameter", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not your message (`not_your_message`), or too late to delete it for everyone (`delete_window_passed`)", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, ConversationErrors, ServerErrors,
    ))]
async fn delete_message(
    State(state): State<AppState>,
    ParticipantOf(participant): ParticipantOf,
    axum::extract::Path(path): axum::extract::Path<(String, String)>,
    Query(query): Query<DeleteQuery>,
) -> Result<axum::http::StatusCode, ApiError> {
    let scope = match query.scope.as_deref() {
        None | Some("me") => parley_core::DeleteFor::Me,
        Some("everyone") => parley_core::DeleteFor::Everyone,
        Some(_) => return Err(ApiError::detailed(parley_api::ProblemCode::MalformedRequest, "`for` is `me` or `everyone`")),
    };
    let message =
        path.1.parse().map_err(|_| ApiError::detailed(parley_api::ProblemCode::NotFound, "no such message in this conversation"))?;
    state.core.delete_message(&participant, message, scope).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `POST /v1/conversations/{id}/messages`: send a message (201). Sending again with the same
/// `client_msg_id` and body returns the original message (200) and stores nothing new.
#[utoipa::path(post, path = "/v1/conversations/{id}/messages", tag = "messages", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = uuid::Uuid, Path, description = "The conversation")), request_body = SendMessageRequest,
    responses(
        (status = 201, description = "Sent", body = MessageResponse),
        (status = 200, description = "Already sent with this client_msg_id", body = MessageResponse),
        (status = 409, description = "client_msg_id reused for another body (`client_msg_id_reused`)", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, ConversationErrors, BodyErrors, RateErrors, ServerErrors,
    ))]
async fn send_message(
    State(state): State<AppState>,
    ParticipantOf(participant): ParticipantOf,
    Json(request): Json<SendMessageRequest>,
) -> Result<Response, ApiError> {
    let request = SendMessage { client_msg_id: ClientMsgId::parse(&request.client_msg_id)?, body: request.body };
    Ok(created_or_existing(state.core.send_message(&participant, request).await?, wire::message))
}

/// `GET /v1/conversations/{id}/messages`: messages, oldest first. No bound: the newest page;
/// `before`: older ones; `after`: newer ones (catch-up after a reconnect).
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "messages", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = uuid::Uuid, Path, description = "The conversation"), ListMessagesQuery),
    responses((status = 200, body = MessagePage), (status = 400, description = "Bad query", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad bounds or limit", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, ConversationErrors, ServerErrors))]
async fn list_messages(
    State(state): State<AppState>,
    ParticipantOf(participant): ParticipantOf,
    Query(query): Query<ListMessagesQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    let window = MessageWindow::from_bounds(query.before, query.after)?;
    let limit = PageLimit::parse(query.limit)?;
    let page = state.core.list_messages(&participant, window, limit).await?;
    Ok(Json(MessagePage { items: page.items.iter().map(wire::message).collect(), has_more: page.has_more }))
}

/// `PATCH /v1/conversations/{id}/messages/{message_id}`: correct your message, within 15
/// minutes of sending. The earlier text is kept as long as the message is.
#[utoipa::path(patch, path = "/v1/conversations/{id}/messages/{message_id}", tag = "messages", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = uuid::Uuid, Path, description = "The conversation"), ("message_id" = uuid::Uuid, Path, description = "The message")),
    request_body = parley_api::messages::EditMessageRequest,
    responses(
        (status = 200, description = "Edited", body = MessageResponse),
        (status = 403, description = "Not your message (`not_your_message`), or too late to edit it (`edit_window_passed`)", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, ConversationErrors, BodyErrors, ServerErrors,
    ))]
async fn edit_message(
    State(state): State<AppState>,
    ParticipantOf(participant): ParticipantOf,
    axum::extract::Path(path): axum::extract::Path<(String, String)>,
    Json(request): Json<parley_api::messages::EditMessageRequest>,
) -> Result<Json<MessageResponse>, ApiError> {
    let message =
        path.1.parse().map_err(|_| ApiError::detailed(parley_api::ProblemCode::NotFound, "no such message in this conversation"))?;
    let view = state.core.edit_message(&participant, message, &request.body).await?;
    Ok(Json(wire::message(&view)))
}
