//! A typed client for the Parley API, over HTTPS (reqwest) and WSS (tokio-tungstenite), both on
//! rustls. The tests, the bench and the CLI share it. It trusts exactly the CA it is given
//! (or the platform's roots when none is), and never puts a session token in a URL.

use std::sync::Arc;

use futures_util::{SinkExt as _, StreamExt as _};
use reqwest::Method;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use uuid::Uuid;

use crate::accounts::{
    AccountResponse, CreateAccountRequest, CreateSessionRequest, MeResponse, SessionOptions, SessionResponse, StreamTicketResponse,
};
use crate::conversations::{ConversationPage, ConversationResponse, CreateConversationRequest, ListConversationsQuery};
use crate::messages::{ListMessagesQuery, MessagePage, MessageResponse, SendMessageRequest};
use crate::problem::Problem;
use crate::security::{
    ChangePasswordRequest, ConfirmTotpRequest, MfaStatusResponse, PasskeyCeremonyResponse, PasskeyInfo, PasskeyList, PasskeyLoginRequest,
    PasskeyStepUp, RecoveryCodesResponse, RegisterPasskeyRequest, RevokedSessions, SecondFactorRequest, SecondFactorRequired,
    SecurityEventList, SessionList, SsoLoginRequest, StepUpRequest, TotpEnrolmentResponse,
};
use crate::stream::{ClientFrame, ServerFrame};

/// What a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a problem body.
    #[error("{} {:?}", .0.status, .0.code)]
    Problem(Box<Problem>),
    /// The request could not be made or its answer read.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// The server answered something that is not the documented shape.
    #[error("unexpected response {status}: {body}")]
    Unexpected {
        /// The status.
        status: u16,
        /// The body.
        body: String,
    },
    /// The WebSocket failed.
    #[error("websocket: {0}")]
    WebSocket(String),
    /// The client was set up wrongly (bad URL or certificate).
    #[error("client setup: {0}")]
    Setup(String),
}

impl ClientError {
    /// The problem body, if the server sent one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Problem(problem) => Some(problem.as_ref()),
            _ => None,
        }
    }
}

/// A status code with the decoded body.
pub type WithStatus<T> = (u16, T);

/// The answer to a password login.
#[derive(Debug)]
pub enum LoginAnswer {
    /// Logged in.
    LoggedIn(SessionResponse),
    /// A second factor is required.
    SecondFactorRequired(SecondFactorRequired),
}

/// A client of one Parley server, optionally logged in.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    tls: Arc<rustls::ClientConfig>,
    token: Option<String>,
}

impl Client {
    /// A client for `base_url` (`https://host:port`), trusting `root_ca_pem` if given.
    pub fn new(base_url: &str, root_ca_pem: Option<&str>) -> Result<Self, ClientError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        let mut builder = reqwest::Client::builder().https_only(true).use_rustls_tls();
        if let Some(pem) = root_ca_pem {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| ClientError::Setup(e.to_string()))?;
                roots.add(cert).map_err(|e| ClientError::Setup(e.to_string()))?;
            }
            let certificate = reqwest::Certificate::from_pem(pem.as_bytes()).map_err(|e| ClientError::Setup(e.to_string()))?;
            builder = builder.tls_certs_only([certificate]);
        }
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Setup(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let http = builder.build()?;
        Ok(Self { http, base: base_url.trim_end_matches('/').to_owned(), tls: Arc::new(tls), token: None })
    }

    /// The same client, sending `token` as its bearer token.
    #[must_use]
    pub fn authenticated(&self, token: &str) -> Self {
        Self { token: Some(token.to_owned()), ..self.clone() }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The underlying HTTP client, for requests the typed methods cannot make (tests of bad
    /// input).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The bearer token in use.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Result<crate::Health, ClientError> {
        self.call(Method::GET, "/healthz", None::<&()>).await.map(|(_, body)| body)
    }

    /// `POST /v1/accounts`.
    pub async fn create_account(&self, request: &CreateAccountRequest) -> Result<AccountResponse, ClientError> {
        self.call(Method::POST, "/v1/accounts", Some(request)).await.map(|(_, body)| body)
    }

    /// `POST /v1/sessions` for an account without a second factor: a bearer session.
    pub async fn create_session(&self, login: &str, password: &str) -> Result<SessionResponse, ClientError> {
        let request = CreateSessionRequest { login: login.to_owned(), password: password.to_owned(), session: SessionOptions::default() };
        self.create_session_with(&request).await
    }

    /// `POST /v1/sessions` with options, for an account without a second factor.
    pub async fn create_session_with(&self, request: &CreateSessionRequest) -> Result<SessionResponse, ClientError> {
        match self.log_in(request).await? {
            LoginAnswer::LoggedIn(session) => Ok(session),
            LoginAnswer::SecondFactorRequired(_) => Err(ClientError::Unexpected { status: 202, body: "second factor required".into() }),
        }
    }

    /// `POST /v1/sessions`: logged in (201), or a second factor is required (202).
    pub async fn log_in(&self, request: &CreateSessionRequest) -> Result<LoginAnswer, ClientError> {
        let (status, body): WithStatus<serde_json::Value> = self.call(Method::POST, "/v1/sessions", Some(request)).await?;
        let unexpected = |body: &serde_json::Value| ClientError::Unexpected { status, body: body.to_string() };
        if status == 202 {
            serde_json::from_value(body.clone()).map(LoginAnswer::SecondFactorRequired).map_err(|_| unexpected(&body))
        } else {
            serde_json::from_value(body.clone()).map(LoginAnswer::LoggedIn).map_err(|_| unexpected(&body))
        }
    }

    /// `POST /v1/sessions/second-factor`.
    pub async fn complete_second_factor(&self, request: &SecondFactorRequest) -> Result<SessionResponse, ClientError> {
        self.call(Method::POST, "/v1/sessions/second-factor", Some(request)).await.map(|(_, body)| body)
    }

    /// `GET /v1/sessions`.
    pub async fn list_sessions(&self) -> Result<SessionList, ClientError> {
        self.call(Method::GET, "/v1/sessions", None::<&()>).await.map(|(_, body)| body)
    }

    /// `DELETE /v1/sessions`: every other session.
    pub async fn revoke_other_sessions(&self) -> Result<RevokedSessions, ClientError> {
        self.call(Method::DELETE, "/v1/sessions", None::<&()>).await.map(|(_, body)| body)
    }

    /// `DELETE /v1/sessions/{id}`.
    pub async fn revoke_session(&self, id: Uuid) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &format!("/v1/sessions/{id}")).await
    }

    /// `DELETE /v1/me`.
    pub async fn erase_account(&self, password: Option<&str>) -> Result<(), ClientError> {
        let request = crate::accounts::EraseAccountRequest { password: password.map(str::to_owned) };
        self.call_status(Method::DELETE, "/v1/me", Some(&request)).await.map(|_| ())
    }

    /// `GET /v1/me/preferences`.
    pub async fn preferences(&self) -> Result<crate::privacy::PreferencesBody, ClientError> {
        self.call(Method::GET, "/v1/me/preferences", None::<&()>).await.map(|(_, body)| body)
    }

    /// `PUT /v1/me/preferences`.
    pub async fn set_preferences(
        &self,
        preferences: &crate::privacy::PreferencesBody,
    ) -> Result<crate::privacy::PreferencesBody, ClientError> {
        self.call(Method::PUT, "/v1/me/preferences", Some(preferences)).await.map(|(_, body)| body)
    }

    /// `POST /v1/me/blocks`.
    pub async fn block(&self, handle: &str) -> Result<(), ClientError> {
        let request = crate::privacy::BlockRequest { handle: handle.to_owned() };
        self.call_status(Method::POST, "/v1/me/blocks", Some(&request)).await.map(|_| ())
    }

    /// `DELETE /v1/me/blocks/{handle}`.
    pub async fn unblock(&self, handle: &str) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &format!("/v1/me/blocks/{handle}")).await
    }

    /// `POST /v1/me/exports`.
    pub async fn request_export(&self) -> Result<crate::privacy::ExportCreated, ClientError> {
        self.call(Method::POST, "/v1/me/exports", None::<&()>).await.map(|(_, body)| body)
    }

    /// `GET` a download path from `request_export`.
    pub async fn download_export(&self, download: &str) -> Result<crate::privacy::ExportArchive, ClientError> {
        self.call(Method::GET, download, None::<&()>).await.map(|(_, body)| body)
    }

    /// `GET /v1/privacy-policy`.
    pub async fn privacy_policy(&self) -> Result<crate::consent::PrivacyPolicyResponse, ClientError> {
        self.call(Method::GET, "/v1/privacy-policy", None::<&()>).await.map(|(_, body)| body)
    }

    /// `GET /v1/me/consents`.
    pub async fn consents(&self) -> Result<crate::consent::ConsentsResponse, ClientError> {
        self.call(Method::GET, "/v1/me/consents", None::<&()>).await.map(|(_, body)| body)
    }

    /// `PUT /v1/me/policy-acceptance`.
    pub async fn accept_policy(&self, version: u32) -> Result<crate::consent::ConsentsResponse, ClientError> {
        let request = crate::consent::AcceptPolicyRequest { version };
        self.call(Method::PUT, "/v1/me/policy-acceptance", Some(&request)).await.map(|(_, body)| body)
    }

    /// `PUT /v1/me/consents/{purpose}`.
    pub async fn set_consent(&self, purpose: &str, granted: bool) -> Result<crate::consent::ConsentsResponse, ClientError> {
        let request = crate::consent::SetConsentRequest { granted };
        self.call(Method::PUT, &format!("/v1/me/consents/{purpose}"), Some(&request)).await.map(|(_, body)| body)
    }

    /// `GET /v1/me/blocks`.
    pub async fn blocks(&self) -> Result<crate::privacy::BlockList, ClientError> {
        self.call(Method::GET, "/v1/me/blocks", None::<&()>).await.map(|(_, body)| body)
    }

    /// `PUT /v1/me/email`.
    pub async fn change_email(&self, email: &str, password: Option<&str>) -> Result<MeResponse, ClientError> {
        let request = crate::accounts::ChangeEmailRequest { email: email.to_owned(), password: password.map(str::to_owned) };
        self.call(Method::PUT, "/v1/me/email", Some(&request)).await.map(|(_, body)| body)
    }

    /// `PUT /v1/me/password`.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<(), ClientError> {
        let request = ChangePasswordRequest { current_password: current.to_owned(), new_password: new.to_owned() };
        self.call_status(Method::PUT, "/v1/me/password", Some(&request)).await.map(|_| ())
    }

    /// `GET /v1/me/security-events`.
    pub async fn security_events(&self) -> Result<SecurityEventList, ClientError> {
        self.call(Method::GET, "/v1/me/security-events", None::<&()>).await.map(|(_, body)| body)
    }

    /// `POST /v1/me/passkeys/registration`.
    pub async fn start_passkey_registration(&self) -> Result<PasskeyCeremonyResponse, ClientError> {
        self.call(Method::POST, "/v1/me/passkeys/registration", None::<&()>).await.map(|(_, body)| body)
    }

    /// `POST /v1/me/passkeys`.
    pub async fn register_passkey(&self, request: &RegisterPasskeyRequest) -> Result<PasskeyInfo, ClientError> {
        self.call(Method::POST, "/v1/me/passkeys", Some(request)).await.map(|(_, body)| body)
    }

    /// `GET /v1/me/passkeys`.
    pub async fn list_passkeys(&self) -> Result<PasskeyList, ClientError> {
        self.call(Method::GET, "/v1/me/passkeys", None::<&()>).await.map(|(_, body)| body)
    }

    /// `DELETE /v1/me/passkeys/{id}`.
    pub async fn remove_passkey(&self, id: Uuid, proof: &StepUpRequest) -> Result<(), ClientError> {
        self.call_status(Method::DELETE, &format!("/v1/me/passkeys/{id}"), Some(proof)).await.map(|_| ())
    }

    /// `POST /v1/me/step-up`.
    pub async fn start_step_up(&self) -> Result<PasskeyCeremonyResponse, ClientError> {
        self.call(Method::POST, "/v1/me/step-up", None::<&()>).await.map(|(_, body)| body)
    }

    /// `POST /v1/me/mfa/totp/confirm`, with a passkey vouching for the new factor.
    pub async fn confirm_totp_vouched(&self, code: &str, step_up: PasskeyStepUp) -> Result<RecoveryCodesResponse, ClientError> {
        let request =
            ConfirmTotpRequest { code: code.to_owned(), proof: StepUpRequest { step_up: Some(step_up), ..StepUpRequest::default() } };
        self.call(Method::POST, "/v1/me/mfa/totp/confirm", Some(&request)).await.map(|(_, body)| body)
    }

    /// `POST /v1/sessions/passkey/options`.
    pub async fn start_passkey_login(&self) -> Result<PasskeyCeremonyResponse, ClientError> {
        self.call(Method::POST, "/v1/sessions/passkey/options", None::<&()>).await.map(|(_, body)| body)
    }

    /// `POST /v1/sessions/passkey`.
    pub async fn finish_passkey_login(&self, request: &PasskeyLoginRequest) -> Result<SessionResponse, ClientError> {
        self.call(Method::POST, "/v1/sessions/passkey", Some(request)).await.map(|(_, body)| body)
    }

    /// `POST /v1/sessions/sso`.
    pub async fn sso_login(&self, request: &SsoLoginRequest) -> Result<SessionResponse, ClientError> {
        self.call(Method::POST, "/v1/sessions/sso", Some(request)).await.map(|(_, body)| body)
    }

    /// `GET /v1/me/mfa`.
    pub async fn mfa_status(&self) -> Result<MfaStatusResponse, ClientError> {
        self.call(Method::GET, "/v1/me/mfa", None::<&()>).await.map(|(_, body)| body)
    }

    /// `POST /v1/me/mfa/totp`.
    pub async fn start_totp(&self) -> Result<TotpEnrolmentResponse, ClientError> {
        self.call(Method::POST, "/v1/me/mfa/totp", None::<&()>).await.map(|(_, body)| body)
    }

    /// `POST /v1/me/mfa/totp/confirm` (the password proves a first factor's enrolment).
    pub async fn confirm_totp(&self, code: &str, password: Option<&str>) -> Result<RecoveryCodesResponse, ClientError> {
        let request = ConfirmTotpRequest {
            code: code.to_owned(),
            proof: StepUpRequest { password: password.map(str::to_owned), ..StepUpRequest::default() },
        };
        self.call(Method::POST, "/v1/me/mfa/totp/confirm", Some(&request)).await.map(|(_, body)| body)
    }

    /// `POST /v1/me/mfa/recovery-codes`.
    pub async fn replace_recovery_codes(&self, code: &str) -> Result<RecoveryCodesResponse, ClientError> {
        let request = StepUpRequest { code: Some(code.into()), ..StepUpRequest::default() };
        self.call(Method::POST, "/v1/me/mfa/recovery-codes", Some(&request)).await.map(|(_, body)| body)
    }

    /// `POST /v1/me/mfa/totp/disable`.
    pub async fn disable_totp(&self, code: &str) -> Result<(), ClientError> {
        let request = StepUpRequest { code: Some(code.to_owned()), ..StepUpRequest::default() };
        self.call_status(Method::POST, "/v1/me/mfa/totp/disable", Some(&request)).await.map(|_| ())
    }

    /// `DELETE /v1/sessions/current`.
    pub async fn delete_current_session(&self) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, "/v1/sessions/current").await
    }

    /// `GET /v1/me`.
    pub async fn me(&self) -> Result<MeResponse, ClientError> {
        self.call(Method::GET, "/v1/me", None::<&()>).await.map(|(_, body)| body)
    }

    /// `POST /v1/conversations` (201 when opened, 200 when it existed).
    pub async fn create_conversation(&self, request: &CreateConversationRequest) -> Result<WithStatus<ConversationResponse>, ClientError> {
        self.call(Method::POST, "/v1/conversations", Some(request)).await
    }

    /// `GET /v1/conversations`.
    pub async fn list_conversations(&self, query: &ListConversationsQuery) -> Result<ConversationPage, ClientError> {
        self.call_with_query(Method::GET, "/v1/conversations", query).await
    }

    /// `POST /v1/conversations/{id}/messages` (201 when new, 200 for a retry).
    pub async fn send_message(&self, conversation: Uuid, request: &SendMessageRequest) -> Result<WithStatus<MessageResponse>, ClientError> {
        self.call(Method::POST, &format!("/v1/conversations/{conversation}/messages"), Some(request)).await
    }

    /// `GET /v1/conversations/{id}/messages`.
    pub async fn list_messages(&self, conversation: Uuid, query: &ListMessagesQuery) -> Result<MessagePage, ClientError> {
        self.call_with_query(Method::GET, &format!("/v1/conversations/{conversation}/messages"), query).await
    }

    /// `DELETE /v1/conversations/{id}/messages/{message_id}?for=...` (`me` or `everyone`).
    pub async fn delete_message(&self, conversation: Uuid, message: Uuid, scope: &str) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &format!("/v1/conversations/{conversation}/messages/{message}?for={scope}")).await
    }

    /// `PUT /v1/conversations/{id}/retention`.
    pub async fn set_retention(&self, conversation: Uuid, days: u32) -> Result<crate::conversations::RetentionBody, ClientError> {
        let request = crate::conversations::SetRetentionRequest { days_after_last_activity: days };
        self.call(Method::PUT, &format!("/v1/conversations/{conversation}/retention"), Some(&request)).await.map(|(_, body)| body)
    }

    /// `PATCH /v1/conversations/{id}/messages/{message_id}`.
    pub async fn edit_message(&self, conversation: Uuid, message: Uuid, body: &str) -> Result<MessageResponse, ClientError> {
        let request = crate::messages::EditMessageRequest { body: body.to_owned() };
        self.call(Method::PATCH, &format!("/v1/conversations/{conversation}/messages/{message}"), Some(&request))
            .await
            .map(|(_, body)| body)
    }

    /// `DELETE /v1/conversations/{id}`.
    pub async fn delete_conversation(&self, conversation: Uuid) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &format!("/v1/conversations/{conversation}")).await
    }

    /// `POST /v1/stream/tickets`.
    pub async fn create_stream_ticket(&self) -> Result<StreamTicketResponse, ClientError> {
        self.call(Method::POST, "/v1/stream/tickets", None::<&()>).await.map(|(_, body)| body)
    }

    /// Opens `/v1/stream` with this client's token in the `Authorization` header.
    pub async fn open_stream(&self) -> Result<Stream, ClientError> {
        self.open_stream_with(StreamAuth::Header, &[]).await
    }

    /// Opens `/v1/stream` with the given credentials and extra headers (e.g. `Origin`).
    pub async fn open_stream_with(&self, auth: StreamAuth<'_>, headers: &[(&str, &str)]) -> Result<Stream, ClientError> {
        let authority = self.base.strip_prefix("https://").ok_or_else(|| ClientError::Setup("base URL must be https".into()))?;
        let mut url = format!("wss://{authority}/v1/stream");
        if let StreamAuth::Ticket(ticket) = auth {
            url.push_str("?ticket=");
            url.push_str(ticket);
        }
        let mut request = url.into_client_request().map_err(|e| ClientError::Setup(e.to_string()))?;
        if let (StreamAuth::Header, Some(token)) = (auth, &self.token) {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| ClientError::Setup(e.to_string()))?;
            request.headers_mut().insert("authorization", value);
        }
        for (name, value) in headers {
            let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| ClientError::Setup(e.to_string()))?;
            request.headers_mut().insert(name, HeaderValue::from_str(value).map_err(|e| ClientError::Setup(e.to_string()))?);
        }
        let tcp = TcpStream::connect(authority).await.map_err(|e| ClientError::WebSocket(e.to_string()))?;
        let host = authority.rsplit_once(':').map_or(authority, |(host, _)| host).trim_matches(|c| c == '[' || c == ']');
        let name = ServerName::try_from(host.to_owned()).map_err(|e| ClientError::Setup(e.to_string()))?;
        let tls = TlsConnector::from(Arc::clone(&self.tls)).connect(name, tcp).await.map_err(|e| ClientError::WebSocket(e.to_string()))?;
        match tokio_tungstenite::client_async(request, tls).await {
            Ok((socket, _)) => Ok(Stream { socket }),
            Err(tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default().into_owned();
                Err(problem_or_unexpected(status, body))
            }
            Err(error) => Err(ClientError::WebSocket(error.to_string())),
        }
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<WithStatus<T>, ClientError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        decode(self.authorize(request).send().await?).await
    }

    /// A call whose success has no body: returns the status.
    async fn call_status<B: Serialize>(&self, method: Method, path: &str, body: Option<&B>) -> Result<u16, ClientError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.authorize(request).send().await?;
        if response.status().is_success() {
            return Ok(response.status().as_u16());
        }
        Err(problem_of(response).await)
    }

    async fn call_with_query<Q: Serialize, T: DeserializeOwned>(&self, method: Method, path: &str, query: &Q) -> Result<T, ClientError> {
        let request = self.http.request(method, format!("{}{path}", self.base)).query(query);
        decode(self.authorize(request).send().await?).await.map(|(_, body)| body)
    }

    async fn call_empty(&self, method: Method, path: &str) -> Result<(), ClientError> {
        let response = self.authorize(self.http.request(method, format!("{}{path}", self.base))).send().await?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(problem_of(response).await)
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}

/// How to authenticate the WebSocket upgrade.
#[derive(Debug, Clone, Copy)]
pub enum StreamAuth<'a> {
    /// The client's token, in the `Authorization` header.
    Header,
    /// A ticket from `POST /v1/stream/tickets`, in the query.
    Ticket(&'a str),
    /// Nothing (to test refusal).
    None,
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<WithStatus<T>, ClientError> {
    let status = response.status();
    if !status.is_success() {
        return Err(problem_of(response).await);
    }
    let body = response.text().await?;
    serde_json::from_str(&body).map(|value| (status.as_u16(), value)).map_err(|_| ClientError::Unexpected { status: status.as_u16(), body })
}

async fn problem_of(response: reqwest::Response) -> ClientError {
    let status = response.status();
    match response.text().await {
        Ok(body) => problem_or_unexpected(status.as_u16(), body),
        Err(error) => ClientError::Transport(error),
    }
}

/// The problem body an error response carries, or the raw body if it is not one.
fn problem_or_unexpected(status: u16, body: String) -> ClientError {
    serde_json::from_str::<Problem>(&body)
        .map_or(ClientError::Unexpected { status, body }, |problem| ClientError::Problem(Box::new(problem)))
}

/// An open `/v1/stream` WebSocket.
pub struct Stream {
    socket: WebSocketStream<TlsStream<TcpStream>>,
}

/// What came off the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A frame.
    Frame(ServerFrame),
    /// The server closed the socket, with this code (if any).
    Closed(Option<u16>),
}

impl Stream {
    /// The next frame or the close, skipping WebSocket pings and pongs.
    pub async fn next_event(&mut self) -> Result<StreamEvent, ClientError> {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(text.as_str()).map(StreamEvent::Frame).map_err(|e| ClientError::WebSocket(e.to_string()));
                }
                Some(Ok(Message::Close(frame))) => return Ok(StreamEvent::Closed(frame.map(|f| u16::from(f.code)))),
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(ClientError::WebSocket(error.to_string())),
                None => return Ok(StreamEvent::Closed(None)),
            }
        }
    }

    /// The next frame; a close is an error.
    pub async fn next_frame(&mut self) -> Result<ServerFrame, ClientError> {
        match self.next_event().await? {
            StreamEvent::Frame(frame) => Ok(frame),
            StreamEvent::Closed(code) => Err(ClientError::WebSocket(format!("closed with {code:?}"))),
        }
    }

    /// Sends a frame.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        let text = serde_json::to_string(frame).map_err(|e| ClientError::WebSocket(e.to_string()))?;
        self.send_raw(Message::Text(text.into())).await
    }

    /// Sends any WebSocket message (tests of bad frames).
    pub async fn send_raw(&mut self, message: Message) -> Result<(), ClientError> {
        self.socket.send(message).await.map_err(|e| ClientError::WebSocket(e.to_string()))
    }

    /// Closes the socket normally.
    pub async fn close(mut self) -> Result<(), ClientError> {
        let frame = CloseFrame { code: tungstenite::protocol::frame::coding::CloseCode::Normal, reason: "bye".into() };
        self.socket.close(Some(frame)).await.map_err(|e| ClientError::WebSocket(e.to_string()))
    }
}
