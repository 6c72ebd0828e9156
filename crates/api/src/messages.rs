//! Messages on the wire.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::conversations::Party;

/// `POST /v1/conversations/{id}/messages`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    /// Your id for this message (1 to 64 letters, digits, `-`, `_`; a UUID fits). Sending again
    /// with the same id returns the original message instead of a duplicate.
    #[schema(example = "6f1c0a52-93c4-4e0b-9a43-2f3c1b7d9e10", min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]+$")]
    pub client_msg_id: String,
    /// The text: at most 4,000 characters (the deployment may set another limit), not blank,
    /// no control characters but tab and line breaks.
    #[schema(
        example = "Is the camera still available?",
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub body: String,
}

impl fmt::Debug for SendMessageRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SendMessageRequest {{ client_msg_id: {:?}, body: {} bytes }}", self.client_msg_id, self.body.len())
    }
}

/// A message.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessageResponse {
    /// Its id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// Its position in the conversation: 1, 2, 3, ... without gaps.
    pub seq: i64,
    /// Who wrote it.
    pub author: Party,
    /// Whether you wrote it.
    pub mine: bool,
    /// The author's idempotency key.
    pub client_msg_id: String,
    /// The text; `null` when the message was deleted or can no longer be read (its author
    /// erased their account): show "message deleted".
    pub body: Option<String>,
    /// When the server accepted it.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its author last edited it (the earlier text is kept as long as the message).
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<OffsetDateTime>,
    /// Only in the answer to a send: the personal data found in the text (`phone`, `email`,
    /// `card`, `iban`, `address`), masked before storage unless the deployment only warns.
    /// Suggest the end-to-end encrypted channel for such details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pii: Vec<String>,
}

impl fmt::Debug for MessageResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageResponse")
            .field("id", &self.id)
            .field("conversation_id", &self.conversation_id)
            .field("seq", &self.seq)
            .field("body_bytes", &self.body.as_ref().map(String::len))
            .finish_non_exhaustive()
    }
}

/// A page of messages, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessagePage {
    /// The messages.
    pub items: Vec<MessageResponse>,
    /// Whether more messages lie beyond this page: older ones when reading with `before` (or
    /// no bound), newer ones when reading with `after`.
    pub has_more: bool,
}

/// Query of `GET /v1/conversations/{id}/messages`. Without bounds: the newest messages; with
/// both: the messages strictly between them, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListMessagesQuery {
    /// Only messages older than this sequence number (scroll back).
    #[param(minimum = 0)]
    pub before: Option<i64>,
    /// Only messages newer than this sequence number (catch up after a reconnect).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// `PATCH /v1/conversations/{id}/messages/{message_id}`: correct your message.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessageRequest {
    /// The new text, under the same rules as a new message's (the document states them).
    pub body: String,
}

impl fmt::Debug for EditMessageRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EditMessageRequest {{ body: {} bytes }}", self.body.len())
    }
}
