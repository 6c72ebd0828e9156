//! Cross-cutting HTTP behaviour: problem bodies for every error response, security headers,
//! and a request span that records ids and the matched route, never the raw URI (URIs can
//! carry tickets) nor any header value.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{self, HeaderName};
use axum::http::{HeaderValue, Response as HttpResponse};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parley_api::Problem;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::{ApiError, PendingProblem};

/// The request id header (set by tower-http's request-id layer, echoed in problem bodies).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Reads the whole request body, up to `limit` bytes, before any handler runs. A handler that
/// refuses a request early (401 before its JSON body is parsed, say) would otherwise leave body
/// bytes unread; hyper then closes the connection while the client may still be writing, and
/// the client sees a reset instead of the answer.
///
/// Only HTTP/1 needs it: HTTP/2 refuses a stream's leftover body by resetting that stream alone.
pub async fn read_whole_body(State(limit): State<usize>, request: Request, next: Next) -> Response {
    if request.version() >= axum::http::Version::HTTP_2 {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await,
        // Too large (or a client that broke off, which will not read the answer anyway).
        Err(_) => ApiError::code(parley_api::ProblemCode::PayloadTooLarge).into_response(),
    }
}

/// Renders the problem body of every error response: ours (from [`ApiError`]) and those made
/// by the router or tower layers (404, 405, 408, 413...), which come without one.
pub async fn problem_body(request: Request, next: Next) -> Response {
    let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut response = next.run(request).await;
    let pending = response.extensions_mut().remove::<PendingProblem>();
    let status = response.status();
    let problem = match pending {
        Some(PendingProblem { problem, cause }) => {
            if let Some(cause) = cause {
                tracing::error!(error = %error_chain(cause.as_ref()), status = status.as_u16(), "request failed");
            }
            problem
        }
        None if (status.is_client_error() || status.is_server_error()) && !is_problem(&response) => {
            Problem::new(ApiError::code_of_status(status), status.as_u16())
        }
        None => return response,
    };
    render(response, &Problem { request_id, ..problem })
}

fn render(response: Response, problem: &Problem) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json; charset=utf-8"));
    parts.headers.remove(header::CONTENT_LENGTH);
    match serde_json::to_vec(problem) {
        Ok(body) => HttpResponse::from_parts(parts, axum::body::Body::from(body)),
        Err(_) => parts.status.into_response(),
    }
}

fn is_problem(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/problem+json"))
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The headers every response carries (ASVS 3.4, Mozilla HTTP observatory).
pub fn security_headers() -> Vec<SetResponseHeaderLayer<HeaderValue>> {
    let fixed = [
        (header::STRICT_TRANSPORT_SECURITY, "max-age=63072000; includeSubDomains"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (HeaderName::from_static("cross-origin-resource-policy"), "same-origin"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    ];
    // A page may state a policy of its own (the policy and unsubscribe pages allow a form back
    // to this server); every other response gets the strictest one.
    fixed
        .into_iter()
        .map(|(name, value)| {
            let value = HeaderValue::from_static(value);
            if name == header::CONTENT_SECURITY_POLICY {
                SetResponseHeaderLayer::if_not_present(name, value)
            } else {
                SetResponseHeaderLayer::overriding(name, value)
            }
        })
        .collect()
}

/// The span of one request: ids and the route pattern only.
pub fn request_span(request: &Request) -> tracing::Span {
    let route = request.extensions().get::<MatchedPath>().map_or("(unmatched)", MatchedPath::as_str);
    let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
    tracing::info_span!("request", method = %request.method(), route, request_id, status = tracing::field::Empty)
}
