//! Privacy preferences and blocks on the wire.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// `GET` and `PUT /v1/me/preferences`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// Who may start a conversation with you: `anyone`, `about_my_listings` (only buyers asking
    /// about one of your listings) or `nobody_new` (existing conversations go on).
    #[schema(pattern = "^(anyone|about_my_listings|nobody_new)$")]
    pub contact_policy: String,
    /// "Do not sell or share my personal information": integrations receive nothing about you
    /// beyond what running your conversations needs.
    pub do_not_sell: bool,
    /// Whether to email you when your account is logged into from a new device.
    pub new_device_mail: bool,
}

/// `POST /v1/me/blocks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockRequest {
    /// The handle to block. They are not told: their new messages and conversations are simply
    /// never shown to you.
    #[schema(max_length = 64)]
    pub handle: String,
}

/// Someone you blocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockedUserResponse {
    /// Their handle.
    pub handle: String,
    /// Since when.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

/// `GET /v1/me/blocks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockList {
    /// Most recent first.
    pub blocked: Vec<BlockedUserResponse>,
}
