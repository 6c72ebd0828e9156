//! `GET /v1/openapi.json` and the document's shared parts: metadata, the bearer security
//! scheme, and the error responses most operations share.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use parley_api::Problem;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The document's metadata and shared components.
#[derive(OpenApi)]
#[openapi(
    info(title = "Parley API", description = "Private buyer-seller messaging for marketplaces. Errors are RFC 9457 problem bodies with a stable `code`."),
    modifiers(&BearerAuth),
    components(schemas(Problem, parley_api::ProblemCode, parley_api::stream::ServerFrame, parley_api::stream::ClientFrame)),
    tags(
        (name = "accounts", description = "Sign-up and your profile"),
        (name = "sessions", description = "Login (password, second factor), logout, your sessions"),
        (name = "passkeys", description = "Passkeys (WebAuthn): register yours, log in with one"),
        (name = "privacy", description = "Your privacy preferences and blocks"),
        (name = "conversations", description = "Buyer-seller conversations"),
        (name = "messages", description = "Messages in a conversation"),
        (name = "stream", description = "Real-time delivery over WebSocket"),
        (name = "meta", description = "Health and this document"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::extract::SESSION_COOKIE,
                "The web client's session cookie; unsafe requests must also send the session's CSRF token as `X-CSRF-Token`",
            ))),
        );
    }
}

/// Problems any operation can answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code, reason = "only describes responses in the OpenAPI document")]
pub enum ServerErrors {
    /// The request took too long.
    #[response(status = 408, content_type = "application/problem+json")]
    Timeout(Problem),
    /// A fault on our side; quote the request id.
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
    /// The database is unavailable; retry after `Retry-After` seconds.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

/// Problems of operations that take a JSON body.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code, reason = "only describes responses in the OpenAPI document")]
pub enum BodyErrors {
    /// Not JSON, not UTF-8, or not the expected shape.
    #[response(status = 400, content_type = "application/problem+json")]
    Malformed(Problem),
    /// The body is over the size limit.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// The body is not `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    NotJson(Problem),
    /// A field broke a rule (`field` and `reason` say which).
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
}

/// Problems of operations that need a session.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code, reason = "only describes responses in the OpenAPI document")]
pub enum AuthErrors {
    /// No valid session.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthenticated(Problem),
}

/// Problems of rate-limited operations.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code, reason = "only describes responses in the OpenAPI document")]
pub enum RateErrors {
    /// Too many requests; retry after `Retry-After` seconds.
    #[response(status = 429, content_type = "application/problem+json")]
    RateLimited(Problem),
}

/// Problems of operations on one conversation.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code, reason = "only describes responses in the OpenAPI document")]
pub enum ConversationErrors {
    /// No such conversation, or you are not a party to it.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_openapi))
}

/// `GET /v1/openapi.json`: this API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object), ServerErrors))]
async fn get_openapi(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], state.openapi.as_str().to_owned())
}
