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

/// `POST /v1/me/exports`: your archive is built; download it once, with your session, before
/// `expires_at`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExportCreated {
    /// Where to `GET` it: `/v1/me/exports/{token}`. It works once.
    pub download: String,
    /// When the link stops working (24 hours).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for ExportCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportCreated").finish_non_exhaustive()
    }
}

/// The archive of everything Parley holds about you (format `parley-export/1`). Times are RFC
/// 3339 UTC; other users appear by handle only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportArchive {
    /// `parley-export/1`.
    pub format: String,
    /// When it was built.
    pub generated_at: String,
    /// Your account.
    pub account: ExportAccount,
    /// Your privacy preferences.
    pub preferences: PreferencesBody,
    /// Whom you blocked.
    pub blocked: Vec<ExportBlock>,
    /// Your sessions.
    pub sessions: Vec<ExportSession>,
    /// Your security events (the most recent 200).
    pub security_events: Vec<ExportSecurityEvent>,
    /// Your second factors.
    pub two_factor: ExportTwoFactor,
    /// Your passkeys.
    pub passkeys: Vec<ExportPasskey>,
    /// Your acceptances of the privacy policy and your consents, with their proof.
    pub consents: crate::consent::ConsentsResponse,
    /// Your conversations, with every message.
    pub conversations: Vec<ExportConversation>,
}

/// Your account in an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportAccount {
    /// Its id.
    pub id: String,
    /// Your handle.
    pub handle: String,
    /// Your email address (none for a single sign-on account).
    pub email: Option<String>,
    /// When it was created.
    pub created_at: String,
    /// Whether it has a password.
    pub has_password: bool,
}

/// A block in an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportBlock {
    /// Their handle.
    pub handle: String,
    /// Since when.
    pub since: String,
}

/// A session in an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportSession {
    /// Its id.
    pub id: String,
    /// `bearer` or `cookie`.
    pub kind: String,
    /// The device label.
    pub device: String,
    /// The coarse network.
    pub network: String,
    /// When it was opened.
    pub created_at: String,
    /// When it was last used.
    pub last_seen_at: String,
    /// When it ends.
    pub expires_at: String,
}

/// A security event in an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportSecurityEvent {
    /// What happened.
    pub kind: String,
    /// When.
    pub at: String,
    /// From which address.
    pub ip: Option<String>,
    /// From which network.
    pub network: String,
    /// From which device.
    pub device: String,
}

/// Second factors in an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportTwoFactor {
    /// Whether TOTP is on.
    pub totp: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: u32,
}

/// A passkey in an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportPasskey {
    /// Your label for it.
    pub label: String,
    /// When it was registered.
    pub created_at: String,
    /// When it last logged in.
    pub last_used_at: Option<String>,
}

/// A conversation in an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportConversation {
    /// Its id.
    pub id: String,
    /// The listing it is about.
    pub listing_id: Option<String>,
    /// `buyer` or `seller`.
    pub my_role: String,
    /// The other party's handle.
    pub other_party: String,
    /// When it was opened.
    pub created_at: String,
    /// Every message, oldest first.
    pub messages: Vec<ExportMessage>,
}

/// A message in an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportMessage {
    /// Its place in the conversation.
    pub seq: i64,
    /// Whether you wrote it.
    pub mine: bool,
    /// `me`, or the other party's handle.
    pub author: String,
    /// The text (`null` once deleted).
    pub body: Option<String>,
    /// When it was sent.
    pub created_at: String,
}
