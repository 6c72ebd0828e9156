//! Our extractors. Every rejection comes out as an [`ApiError`], so bad JSON, a wrong
//! content type, an oversized body or a missing token all get a problem body.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use parley_api::ProblemCode;
use parley_core::{LoginAttempt, Participant, Session};
use parley_domain::{ClientContext, ConversationId, DeviceLabel, Network, Secret, SessionKind};
use parley_store::Inserted;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::{AppState, client_key};

/// JSON in (checked content type, size-limited, UTF-8, shape) and out (with a charset).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::detailed(ProblemCode::UnsupportedMediaType, "send Content-Type: application/json"));
        }
        let bytes =
            Bytes::from_request(request, state).await.map_err(|rejection| ApiError::code(ApiError::code_of_status(rejection.status())))?;
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|error| ApiError::detailed(ProblemCode::MalformedRequest, describe_json_error(&error)))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => ([(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"))], body).into_response(),
            Err(error) => ApiError::Internal(std::sync::Arc::new(error)).into_response(),
        }
    }
}

/// A 201 Created with a JSON body.
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(self.0)).into_response()
    }
}

/// The answer to a create that may find its resource already there: 201 with a new one, 200
/// with the existing one (an idempotent retry, a conversation already open).
pub fn created_or_existing<T, D: Serialize>(inserted: Inserted<T>, to_wire: impl FnOnce(&T) -> D) -> Response {
    match inserted {
        Inserted::New(value) => Created(to_wire(&value)).into_response(),
        Inserted::Existing(value) => Json(to_wire(&value)).into_response(),
    }
}

/// Query parameters, with rejections as problem bodies.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| ApiError::detailed(ProblemCode::MalformedRequest, rejection.body_text()))
    }
}

/// The session cookie of the web client. `__Host-` makes browsers insist on `Secure`,
/// `Path=/` and no `Domain`, so no subdomain can set or read it.
pub const SESSION_COOKIE: &str = "__Host-parley_session";
/// The header a cookie session's unsafe requests carry their CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller's session: from `Authorization: Bearer <token>` (a bearer session), or from the
/// session cookie (a cookie session, whose unsafe requests must also carry `X-CSRF-Token`).
/// A token presented the other way than it was issued for is refused.
pub struct AuthSession(pub Session);

impl FromRequestParts<AppState> for AuthSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthenticated = || ApiError::code(ProblemCode::Unauthenticated);
        if let Some(token) = bearer_token(&parts.headers) {
            let session = state.core.authenticate(token).await?;
            return if session.kind() == SessionKind::Bearer { Ok(AuthSession(session)) } else { Err(unauthenticated()) };
        }
        let token = cookie_value(&parts.headers, SESSION_COOKIE).ok_or_else(unauthenticated)?;
        let session = state.core.authenticate(token).await?;
        if session.kind() != SessionKind::Cookie {
            return Err(unauthenticated());
        }
        if !parts.method.is_safe() {
            let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
            if !state.core.check_csrf(&session, presented) {
                return Err(ApiError::detailed(ProblemCode::CsrfFailed, "send the session's csrf_token as X-CSRF-Token"));
            }
        }
        Ok(AuthSession(session))
    }
}

/// Who is calling from where: the address limits apply to, and the device label and coarse
/// network the account's owner is shown.
pub struct Caller {
    /// The client's address, reduced to the unit of per-client limits.
    pub ip: IpAddr,
    /// Device (from `User-Agent`) and network.
    pub context: ClientContext,
}

impl Caller {
    /// The login attempt this caller makes, with the client's own device label if it gave one.
    pub fn login_attempt(&self, options: &parley_api::accounts::SessionOptions) -> LoginAttempt {
        let mut context = self.context.clone();
        if let Some(label) = &options.device_label {
            context.device = DeviceLabel::from_client(label);
        }
        LoginAttempt {
            ip: self.ip,
            context,
            kind: if options.cookie { SessionKind::Cookie } else { SessionKind::Bearer },
            device_token: options.device_token.clone().map(Secret::new),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let device =
            parts.headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map_or_else(DeviceLabel::unknown, DeviceLabel::from_client);
        let ip = ip.to_canonical();
        Ok(Caller { ip: client_key(ip), context: ClientContext { ip, network: Network::of(ip), device } })
    }
}

/// The value of the cookie `name`, if the request carries it.
pub fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value)
}

/// The caller as a party to the conversation named by the `{id}` path segment. Strangers,
/// unknown ids and ids that are not UUIDs all get the same 404.
pub struct ParticipantOf(pub Participant);

impl FromRequestParts<AppState> for ParticipantOf {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let AuthSession(session) = AuthSession::from_request_parts(parts, state).await?;
        let axum::extract::Path(params) =
            axum::extract::Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::code(ProblemCode::NotFound))?;
        let id: ConversationId = params.get("id").and_then(|raw| raw.parse().ok()).ok_or_else(|| ApiError::code(ProblemCode::NotFound))?;
        Ok(ParticipantOf(state.core.participant(&session, id).await?))
    }
}

/// The peer's IP address (no proxy headers are trusted).
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        Ok(ClientIp(ip))
    }
}

/// The token of an `Authorization: Bearer` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Says what is wrong with a body without echoing any of its values (which may be secrets).
fn describe_json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let message = error.to_string();
    match error.classify() {
        Category::Data if message.starts_with("missing field") || message.starts_with("unknown field") => {
            message.split(", expected").next().unwrap_or("unexpected field").split(" at line").next().unwrap_or("").to_owned()
        }
        Category::Data => format!("a field has the wrong type (line {}, column {})", error.line(), error.column()),
        Category::Syntax => format!("invalid JSON or UTF-8 at line {}, column {}", error.line(), error.column()),
        Category::Eof => "the JSON ends too early".to_owned(),
        Category::Io => "the body could not be read".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_parsed_strictly() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer  abc "));
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn json_errors_never_echo_values() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code, reason = "only deserialised")]
        struct Body {
            password: String,
            limit: u32,
        }
        let wrong_type = serde_json::from_str::<Body>(r#"{"password": "hunter2-canary", "limit": "hunter2-canary"}"#).unwrap_err();
        assert!(!describe_json_error(&wrong_type).contains("canary"));
        let unknown = serde_json::from_str::<Body>(r#"{"password": "x", "limit": 1, "role": "admin"}"#).unwrap_err();
        assert_eq!(describe_json_error(&unknown), "unknown field `role`");
        let missing = serde_json::from_str::<Body>(r#"{"limit": 1}"#).unwrap_err();
        assert_eq!(describe_json_error(&missing), "missing field `password`");
    }
}
