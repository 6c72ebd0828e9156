//! The frames of the `/v1/stream` WebSocket, JSON text frames tagged by `type`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::messages::MessageResponse;

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Sent once the connection is authenticated and subscribed.
    Ready {
        /// The connected user.
        user_id: Uuid,
        /// When the session ends at the latest; the socket closes then.
        #[serde(with = "time::serde::rfc3339")]
        session_expires_at: OffsetDateTime,
    },
    /// A new message in one of your conversations (yours or the other party's).
    Message {
        /// The message.
        message: MessageResponse,
    },
    /// A message you may already have was edited, or deleted for everyone (its `body` is then
    /// null): replace the one with the same `id`.
    MessageUpdated {
        /// The message as it is now.
        message: MessageResponse,
    },
    /// Answer to a client `ping`.
    Pong,
    /// A frame the server could not accept; the connection stays open.
    Error {
        /// A stable code, as in problem bodies.
        code: String,
    },
}

/// A frame from the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Application-level keep-alive; the server answers `pong`.
    Ping,
}
