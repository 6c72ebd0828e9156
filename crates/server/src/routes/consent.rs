//! The privacy policy (JSON and the `/privacy` page), the caller's acceptances and consents,
//! and the unsubscribe links of broadcast mail (a page that asks, and a one-click `POST`, RFC
//! 8058, that does it without a login).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use parley_api::consent::{
    AcceptPolicyRequest, ConsentEntry, ConsentsResponse, PolicyAcceptance, PrivacyPolicyResponse, PurposeConsent, SetConsentRequest,
};
use parley_core::{ConsentState, PolicyView};
use parley_domain::ConsentPurpose;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{AuthErrors, BodyErrors, ServerErrors};
use crate::error::ApiError;
use crate::extract::{AuthSession, Json};
use crate::html;
use crate::state::AppState;
use crate::wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(current_policy))
        .routes(routes!(policy_version))
        .routes(routes!(policy_page))
        .routes(routes!(get_consents))
        .routes(routes!(accept_policy))
        .routes(routes!(set_consent))
        .routes(routes!(unsubscribe_page, unsubscribe))
}

/// `GET /v1/privacy-policy`: the privacy policy in force.
#[utoipa::path(get, path = "/v1/privacy-policy", tag = "privacy", responses((status = 200, body = PrivacyPolicyResponse), ServerErrors))]
async fn current_policy(State(state): State<AppState>) -> Result<Json<PrivacyPolicyResponse>, ApiError> {
    Ok(Json(policy(state.core.privacy_policy(None).await?)))
}

/// `GET /v1/privacy-policy/{version}`: an earlier (or the current) version.
#[utoipa::path(get, path = "/v1/privacy-policy/{version}", tag = "privacy", params(("version" = u32, Path, minimum = 1)),
    responses(
        (status = 200, body = PrivacyPolicyResponse),
        (status = 404, description = "No such version", body = parley_api::Problem, content_type = "application/problem+json"),
        ServerErrors,
    ))]
async fn policy_version(State(state): State<AppState>, Path(version): Path<String>) -> Result<Json<PrivacyPolicyResponse>, ApiError> {
    let version = version.parse().map_err(|_| parley_core::CoreError::PolicyNotFound)?;
    Ok(Json(policy(state.core.privacy_policy(Some(version)).await?)))
}

/// `GET /privacy`: the privacy policy in force, as a web page.
#[utoipa::path(get, path = "/privacy", tag = "privacy",
    responses((status = 200, description = "The policy as HTML", body = String, content_type = "text/html"), ServerErrors))]
async fn policy_page(State(state): State<AppState>) -> Result<Response, ApiError> {
    let policy = state.core.privacy_policy(None).await?;
    let footer = format!("Version {}, published {}.", policy.version, parley_core::format_time(policy.published_at));
    Ok(page("Privacy policy", &format!("{}<footer><p>{}</p></footer>", html::markdown(&policy.body), html::escape(&footer))))
}

/// `GET /v1/me/consents`: your acceptances of the privacy policy and your consents, with proof.
#[utoipa::path(get, path = "/v1/me/consents", tag = "privacy", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = ConsentsResponse), AuthErrors, ServerErrors))]
async fn get_consents(State(state): State<AppState>, AuthSession(session): AuthSession) -> Result<Json<ConsentsResponse>, ApiError> {
    Ok(Json(consents(&state.core.consents(&session).await?)))
}

/// `PUT /v1/me/policy-acceptance`: accept the current privacy policy.
#[utoipa::path(put, path = "/v1/me/policy-acceptance", tag = "privacy", security(("bearer" = []), ("session_cookie" = [])),
    request_body = AcceptPolicyRequest,
    responses(
        (status = 200, description = "Accepted (also when already accepted)", body = ConsentsResponse),
        (status = 409, description = "Not the current version (`policy_outdated`): show the new one", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, BodyErrors, ServerErrors,
    ))]
async fn accept_policy(
    State(state): State<AppState>,
    AuthSession(session): AuthSession,
    Json(request): Json<AcceptPolicyRequest>,
) -> Result<Json<ConsentsResponse>, ApiError> {
    Ok(Json(consents(&state.core.accept_privacy_policy(&session, request.version).await?)))
}

/// `PUT /v1/me/consents/{purpose}`: grant or withdraw your consent to an optional purpose.
#[utoipa::path(put, path = "/v1/me/consents/{purpose}", tag = "privacy", security(("bearer" = []), ("session_cookie" = [])),
    params(("purpose" = String, Path, pattern = "^(product_news|offers)$")), request_body = SetConsentRequest,
    responses(
        (status = 200, body = ConsentsResponse),
        (status = 404, description = "No such purpose", body = parley_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Accept the current privacy policy first (`policy_acceptance_required`)", body = parley_api::Problem, content_type = "application/problem+json"),
        AuthErrors, BodyErrors, ServerErrors,
    ))]
async fn set_consent(
    State(state): State<AppState>,
    AuthSession(session): AuthSession,
    Path(purpose): Path<String>,
    Json(request): Json<SetConsentRequest>,
) -> Result<Json<ConsentsResponse>, ApiError> {
    let purpose =
        ConsentPurpose::parse(&purpose).ok_or_else(|| ApiError::detailed(parley_api::ProblemCode::NotFound, "no such purpose"))?;
    Ok(Json(consents(&state.core.set_consent(&session, purpose, request.granted).await?)))
}

/// `GET /unsubscribe/{token}`: the page a broadcast's unsubscribe link opens. It only asks:
/// link scanners open links, so nothing changes until the button is pressed.
#[utoipa::path(get, path = "/unsubscribe/{token}", tag = "privacy", params(("token" = String, Path)),
    responses(
        (status = 200, description = "A page with the button", body = String, content_type = "text/html"),
        (status = 404, description = "Unknown or invalid link", body = parley_api::Problem, content_type = "application/problem+json"),
        ServerErrors,
    ))]
async fn unsubscribe_page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let (_, purpose) = state.core.check_unsubscribe_token(&token).ok_or(parley_core::CoreError::UnsubscribeLinkInvalid)?;
    let body = format!(
        "<p>Stop this mail: <strong>{}</strong></p><form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>",
        html::escape(purpose.description())
    );
    Ok(page("Unsubscribe", &body))
}

/// `POST /unsubscribe/{token}`: withdraws the consent the link names. Mail clients call it for
/// one-click unsubscribe (RFC 8058); the page's button does too. Any body is ignored.
#[utoipa::path(post, path = "/unsubscribe/{token}", tag = "privacy", params(("token" = String, Path)),
    responses(
        (status = 200, description = "Unsubscribed (also when already)", body = String, content_type = "text/html"),
        (status = 404, description = "Unknown or invalid link", body = parley_api::Problem, content_type = "application/problem+json"),
        ServerErrors,
    ))]
async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let purpose = state.core.unsubscribe(&token).await?;
    let body = format!("<p>Done: you will get no more of this mail ({}).</p>", html::escape(purpose.description()));
    Ok(page("Unsubscribed", &body))
}

/// A small HTML page. Its policy allows no script and no outside resource; the only form it
/// may send goes back to this server.
fn page(title: &str, body: &str) -> Response {
    let document = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head><body><main><h1>{title}</h1>{body}</main></body></html>",
        title = html::escape(title)
    );
    let mut response = Html(document).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    );
    response
}

fn policy(view: PolicyView) -> PrivacyPolicyResponse {
    PrivacyPolicyResponse { version: view.version, published_at: wire::time(view.published_at), sha256: view.sha256, body: view.body }
}

fn consents(state: &ConsentState) -> ConsentsResponse {
    ConsentsResponse {
        current_policy_version: state.current_version,
        acceptance_required: state.acceptance_required,
        acceptances: state
            .acceptances
            .iter()
            .map(|a| PolicyAcceptance { version: a.version, accepted_at: wire::time(a.accepted_at), source: a.source.as_str().to_owned() })
            .collect(),
        purposes: state
            .purposes
            .iter()
            .map(|p| PurposeConsent {
                purpose: p.purpose.as_str().to_owned(),
                description: p.purpose.description().to_owned(),
                granted: p.granted,
                active: p.active,
            })
            .collect(),
        ledger: state
            .ledger
            .iter()
            .map(|c| ConsentEntry {
                purpose: c.purpose.as_str().to_owned(),
                granted: c.granted,
                at: wire::time(c.at),
                policy_version: c.policy_version,
                source: c.source.as_str().to_owned(),
            })
            .collect(),
    }
}
