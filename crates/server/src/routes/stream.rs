//! Real-time delivery: `GET /v1/stream` (the WebSocket) and `POST /v1/stream/tickets`.
//!
//! The session token never travels in the URL: non-browser clients send it in the
//! `Authorization` header of the upgrade request; browsers, which cannot, first get a
//! single-use ticket (valid 30 seconds) over the authenticated API and pass that instead.
//! Browser upgrades must come from an allowed origin (the server's own by default).

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use parley_api::ProblemCode;
use parley_api::accounts::StreamTicketResponse;
use parley_domain::SessionKind;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{AuthErrors, RateErrors, ServerErrors};
use crate::error::ApiError;
use crate::extract::{AuthSession, Created, Query, bearer_token};
use crate::live::{self, LiveContext};
use crate::state::AppState;
use crate::wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(open_stream)).routes(routes!(create_stream_ticket))
}

/// Query of `GET /v1/stream`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    /// A ticket from `POST /v1/stream/tickets`, for clients that cannot set headers.
    ticket: Option<String>,
}

/// `GET /v1/stream`: upgrade to a WebSocket that pushes every new message of your
/// conversations to all your connected sessions (`ServerFrame` JSON text frames).
#[utoipa::path(get, path = "/v1/stream", tag = "stream", security(("bearer" = [])), params(StreamQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade request", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Origin not allowed (`forbidden_origin`)", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, RateErrors, ServerErrors,
    ))]
async fn open_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<StreamQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    check_origin(&headers, &state.stream.allowed_origins)?;
    let session = match (bearer_token(&headers), query.ticket) {
        (Some(token), None) => {
            let session = state.core.authenticate(token).await?;
            // A cookie session's token belongs in the browser's cookie jar, here as on every route.
            if session.kind() != SessionKind::Bearer {
                return Err(ApiError::code(ProblemCode::Unauthenticated));
            }
            session
        }
        (None, Some(ticket)) => state.core.redeem_stream_ticket(&ticket).await?,
        _ => return Err(ApiError::code(ProblemCode::Unauthenticated)),
    };
    let upgrade = upgrade.map_err(|_| ApiError::detailed(ProblemCode::MalformedRequest, "expected a WebSocket upgrade request"))?;
    let slot = state
        .stream_connections
        .try_acquire(session.user_id(), state.stream.max_connections_per_user)
        .ok_or_else(|| ApiError::detailed(ProblemCode::RateLimited, "too many open streams for this user"))?;
    let context = LiveContext {
        core: state.core.clone(),
        events: state.bus.subscribe(session.user_id()),
        connected_at: state.clock.now(),
        ping_interval: state.stream.ping_interval,
        shutdown: state.shutdown.clone(),
    };
    let tasks = state.stream_tasks.clone();
    let limit = state.stream.max_message_bytes;
    Ok(upgrade.max_message_size(limit).max_frame_size(limit).max_write_buffer_size(4 * limit).on_upgrade(move |socket| {
        tasks.track_future(async move {
            let _slot = slot;
            live::run(socket, context, session).await;
        })
    }))
}

/// `POST /v1/stream/tickets`: a single-use ticket (valid 30 seconds) for opening the stream
/// from a browser, which cannot send an `Authorization` header on a WebSocket.
#[utoipa::path(post, path = "/v1/stream/tickets", tag = "stream", security(("bearer" = [])),
    responses((status = 201, body = StreamTicketResponse), AuthErrors, RateErrors, ServerErrors))]
async fn create_stream_ticket(
    State(state): State<AppState>,
    AuthSession(session): AuthSession,
) -> Result<Created<StreamTicketResponse>, ApiError> {
    let grant = state.core.issue_stream_ticket(&session).await?;
    Ok(Created(StreamTicketResponse { ticket: grant.ticket.into_inner(), expires_at: wire::time(grant.expires_at) }))
}

/// Browsers always send `Origin` on a WebSocket upgrade; it must be the server's own origin
/// or an allowed one. Clients without `Origin` are not browsers and are not at risk of
/// cross-site WebSocket hijacking.
fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    let own = headers.get(header::HOST).and_then(|host| host.to_str().ok()).map(|host| format!("https://{host}"));
    if own.as_deref() == Some(origin) || allowed.iter().any(|a| a == origin) {
        return Ok(());
    }
    Err(ApiError::code(ProblemCode::ForbiddenOrigin))
}
