//! The router: every resource module contributes its routes with their OpenAPI description
//! (`utoipa-axum`), so a route cannot exist without being documented; then the middleware
//! stack wraps them all. Order of layers, outermost first: sensitive-header marking, request
//! id, tracing, request-id echo, security headers, problem bodies, timeout, panic catcher,
//! whole-body read, body limits.

mod account;
mod consent;
mod conversations;
mod health;
mod messages;
mod openapi;
mod passkeys;
mod privacy;
mod sessions;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse as _;
use parley_api::ProblemCode;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::middleware::{problem_body, read_whole_body, request_span, security_headers};
use crate::state::AppState;

pub use openapi::ApiDoc;

/// HTTP limits applied by the middleware stack.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Largest request body.
    pub body_limit_bytes: usize,
    /// Longest time to answer a request.
    pub request_timeout: Duration,
    /// The configured message length limit, stated in the OpenAPI document.
    pub message_max_chars: usize,
}

/// Every documented route, before state and middleware.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(openapi::router())
        .merge(account::router())
        .merge(sessions::router())
        .merge(passkeys::router())
        .merge(privacy::router())
        .merge(consent::router())
        .merge(conversations::router())
        .merge(messages::router())
        .merge(stream::router())
}

/// The OpenAPI document of [`api`], stating the deployment's own message length limit.
pub fn openapi_json(message_max_chars: usize) -> String {
    render_openapi(&api().into_openapi(), message_max_chars)
}

fn render_openapi(spec: &utoipa::openapi::OpenApi, message_max_chars: usize) -> String {
    let mut document = serde_json::to_value(spec).unwrap_or_default();
    if let Some(body) = document.pointer_mut("/components/schemas/SendMessageRequest/properties/body") {
        body["maxLength"] = message_max_chars.into();
        // An edit takes a body under the same rules: one schema, stated once.
        let rules = body.clone();
        if let Some(edit) = document.pointer_mut("/components/schemas/EditMessageRequest/properties/body") {
            *edit = rules;
        }
    }
    serde_json::to_string_pretty(&document).unwrap_or_default()
}

/// The complete application: routes, state and middleware.
pub fn app(mut state: AppState, limits: HttpLimits) -> Router {
    let (router, spec) = api().split_for_parts();
    state.openapi = Arc::new(render_openapi(&spec, limits.message_max_chars));
    let mut router = router.fallback(|| async { ApiError::code(ProblemCode::NotFound) }).with_state(state);
    router = router.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::from_fn(problem_body))
            .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
            .layer(CatchPanicLayer::custom(|_panic| {
                ApiError::Internal(Arc::new(std::io::Error::other("a request handler panicked"))).into_response()
            }))
            .layer(axum::middleware::from_fn_with_state(limits.body_limit_bytes, read_whole_body))
            .layer(RequestBodyLimitLayer::new(limits.body_limit_bytes))
            .layer(DefaultBodyLimit::max(limits.body_limit_bytes)),
    );
    for header_layer in security_headers() {
        router = router.layer(header_layer);
    }
    router.layer(
        ServiceBuilder::new()
            .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
            // Request ids are ours: a client-sent one would let clients forge log correlation.
            .map_request(|mut request: axum::extract::Request| {
                request.headers_mut().remove(crate::middleware::REQUEST_ID);
                request
            })
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http().make_span_with(request_span).on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::x_request_id()),
    )
}
