//! Parley's wire contract: the JSON request and response bodies of `/v1`, the WebSocket
//! frames of `/v1/stream`, the RFC 9457 problem body with its stable codes, and (feature
//! `client`) a typed client that the tests, the bench and the CLI share.
//!
//! These types describe the wire and nothing else: they carry no rules (the domain validates)
//! and no status codes (the server maps errors). Secrets in them (passwords, tokens) have a
//! redacted `Debug`.

pub mod accounts;
pub mod consent;
pub mod conversations;
pub mod messages;
pub mod privacy;
pub mod problem;
pub mod security;
pub mod stream;

#[cfg(feature = "client")]
pub mod client;

pub use problem::{Problem, ProblemCode};

/// The body of `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` when the server can reach its database.
    pub status: String,
}

/// A JSON integer as JSON Schema means it: `169` and `169.0` alike (a number with no fraction).
pub(crate) fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let number = <serde_json::Number as serde::Deserialize>::deserialize(deserializer)?;
    let whole = number.as_u64().or_else(|| {
        number.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX)).map(|f| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "checked: a whole number within u32")]
            let whole = f as u64;
            whole
        })
    });
    whole.and_then(|n| u32::try_from(n).ok()).ok_or_else(|| serde::de::Error::custom("expected a whole number"))
}

/// Writes `[redacted]` for a secret field inside a hand-written `Debug`.
pub(crate) struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}
