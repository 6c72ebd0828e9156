//! The privacy policy and consents on the wire.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// `GET /v1/privacy-policy`: one version of the privacy policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PrivacyPolicyResponse {
    /// The version: 1, 2, ... in order of publication. Accepting names it.
    pub version: u32,
    /// When it was published.
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    /// The SHA-256 of `body`, hex: exactly which text a version is.
    pub sha256: String,
    /// The text, in Markdown.
    pub body: String,
}

/// `PUT /v1/me/policy-acceptance`: accept the current privacy policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptPolicyRequest {
    /// The version shown to the user; it must be the current one (else 409 `policy_outdated`).
    #[serde(deserialize_with = "crate::whole_number")]
    #[schema(minimum = 1, maximum = 4_294_967_295_u32)]
    pub version: u32,
}

/// `PUT /v1/me/consents/{purpose}`: grant or withdraw a consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetConsentRequest {
    /// Grant (`true`, which needs the current policy accepted first) or withdraw (`false`).
    pub granted: bool,
}

/// `GET /v1/me/consents`: your acceptances of the privacy policy and your consents to optional
/// purposes, each with its proof. Also the `consents` part of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentsResponse {
    /// The current policy version.
    pub current_policy_version: u32,
    /// Whether you must accept the current version: optional purposes are paused until you do.
    pub acceptance_required: bool,
    /// Every version you accepted, oldest first.
    pub acceptances: Vec<PolicyAcceptance>,
    /// Each optional purpose and whether it is on.
    pub purposes: Vec<PurposeConsent>,
    /// Every grant and withdrawal, oldest first.
    pub ledger: Vec<ConsentEntry>,
}

/// One acceptance of a policy version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyAcceptance {
    /// The version accepted.
    pub version: u32,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub accepted_at: OffsetDateTime,
    /// Through which channel: `sign_up`, `settings` or `unsubscribe_link`.
    #[schema(pattern = "^(sign_up|settings|unsubscribe_link)$")]
    pub source: String,
}

/// An optional purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurposeConsent {
    /// `product_news` or `offers`.
    #[schema(pattern = "^(product_news|offers)$")]
    pub purpose: String,
    /// What it is.
    pub description: String,
    /// Whether you consented (your latest word on it).
    pub granted: bool,
    /// Whether it is pursued now: consented, and the current policy accepted.
    pub active: bool,
}

/// One grant or withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentEntry {
    /// The purpose.
    #[schema(pattern = "^(product_news|offers)$")]
    pub purpose: String,
    /// Granted or withdrawn.
    pub granted: bool,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The policy version in force then.
    pub policy_version: u32,
    /// Through which channel: `sign_up`, `settings` or `unsubscribe_link`.
    #[schema(pattern = "^(sign_up|settings|unsubscribe_link)$")]
    pub source: String,
}

/// `POST /unsubscribe/{token}`: what an unsubscribe link did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnsubscribedResponse {
    /// The purpose now withdrawn.
    #[schema(pattern = "^(product_news|offers)$")]
    pub purpose: String,
}
