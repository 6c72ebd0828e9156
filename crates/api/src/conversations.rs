//! Conversations on the wire.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A party's role in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Wants the listed item.
    Buyer,
    /// Listed it.
    Seller,
}

/// Another user, as you may see them: by handle only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Party {
    /// Their public handle.
    pub handle: String,
}

/// `POST /v1/conversations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversationRequest {
    /// The other party's handle.
    #[schema(example = "vintage_cameras", min_length = 3, max_length = 32, pattern = r"^[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]$")]
    pub with: String,
    /// The marketplace's id of the listing it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "listing-4711", min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]+$")]
    pub listing_id: Option<String>,
    /// Your role.
    pub my_role: Role,
}

/// A conversation as you see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationResponse {
    /// Its id.
    pub id: Uuid,
    /// The listing it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_id: Option<String>,
    /// Your role.
    pub my_role: Role,
    /// The other party.
    pub other_party: Party,
    /// When it was opened.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its last message was sent.
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity_at: OffsetDateTime,
    /// The sequence number of its newest message (0 when empty).
    pub last_seq: i64,
}

/// A page of conversations, most recent activity first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationPage {
    /// The conversations.
    pub items: Vec<ConversationResponse>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Query of `GET /v1/conversations`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListConversationsQuery {
    /// The `next_cursor` of the previous page (empty means the first page).
    #[param(pattern = r"^(-?[0-9]{1,18}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$")]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// A conversation's retention (`GET` and the answer to `PUT /v1/conversations/{id}/retention`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RetentionBody {
    /// Days after its last activity the conversation is destroyed, as one of you asked;
    /// `null`: the deployment's default applies.
    pub days_after_last_activity: Option<u32>,
    /// The deployment's default.
    pub default_days: u32,
}

/// `PUT /v1/conversations/{id}/retention`: either party may shorten the retention; nobody may
/// lengthen what one of you asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRetentionRequest {
    /// Destroy the conversation this many days after its last activity (1 to 3650).
    #[schema(minimum = 1, maximum = 3650)]
    #[serde(deserialize_with = "crate::whole_number")]
    pub days_after_last_activity: u32,
}
