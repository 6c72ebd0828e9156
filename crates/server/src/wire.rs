//! Conversions between the core's values and the wire types of `parley-api`.

use parley_api::accounts::{AccountResponse, MeResponse};
use parley_api::conversations::{self as wire_conversations, ConversationResponse, Party};
use parley_api::messages::MessageResponse;
use parley_core::{Account, ConversationView, MessageView, Profile};
use parley_domain::{Role, Timestamp};
use time::OffsetDateTime;

/// A timestamp as RFC 3339 time.
pub fn time(at: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.as_millis()) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A role on the wire.
pub fn role(role: Role) -> wire_conversations::Role {
    match role {
        Role::Buyer => wire_conversations::Role::Buyer,
        Role::Seller => wire_conversations::Role::Seller,
    }
}

/// A role from the wire.
pub fn role_from(role: wire_conversations::Role) -> Role {
    match role {
        wire_conversations::Role::Buyer => Role::Buyer,
        wire_conversations::Role::Seller => Role::Seller,
    }
}

/// A created account.
pub fn account(account: &Account) -> AccountResponse {
    AccountResponse { id: account.id.as_uuid(), handle: account.handle.as_str().to_owned(), created_at: time(account.created_at) }
}

/// The caller's profile.
pub fn me(profile: &Profile) -> MeResponse {
    MeResponse {
        id: profile.account.id.as_uuid(),
        handle: profile.account.handle.as_str().to_owned(),
        email: profile.email.as_ref().map(|e| e.expose().to_owned()),
        created_at: time(profile.account.created_at),
        policy_acceptance_required: profile.policy_acceptance_required,
    }
}

/// A conversation as one party sees it.
pub fn conversation(view: &ConversationView) -> ConversationResponse {
    let conversation = &view.conversation;
    ConversationResponse {
        id: conversation.id.as_uuid(),
        listing_id: conversation.listing.as_ref().map(|listing| listing.as_str().to_owned()),
        my_role: role(view.my_role),
        other_party: Party { handle: view.other_party.as_str().to_owned() },
        created_at: time(conversation.created_at),
        last_activity_at: time(conversation.last_activity_at),
        last_seq: conversation.last_seq.value(),
    }
}

/// A message as one party sees it.
pub fn message(view: &MessageView) -> MessageResponse {
    let message = &view.message;
    MessageResponse {
        id: message.id.as_uuid(),
        conversation_id: message.conversation_id.as_uuid(),
        seq: message.seq.value(),
        author: Party { handle: view.author_handle.as_str().to_owned() },
        mine: view.mine,
        client_msg_id: message.client_msg_id.as_str().to_owned(),
        body: message.body.as_ref().map(|body| body.expose().to_owned()),
        pii: view.pii.iter().map(|kind| kind.as_str().to_owned()).collect(),
        edited_at: message.edited_at.map(time),
        created_at: time(message.created_at),
    }
}

/// One of the caller's sessions.
pub fn session_info(view: &parley_core::SessionView) -> parley_api::security::SessionInfo {
    parley_api::security::SessionInfo {
        id: view.id.as_uuid(),
        current: view.current,
        kind: view.kind.as_str().to_owned(),
        device: view.device.as_str().to_owned(),
        network: view.network.as_str().to_owned(),
        created_at: time(view.created_at),
        last_seen_at: time(view.last_seen_at),
        expires_at: time(view.expires_at),
    }
}

/// A security event.
pub fn security_event(view: &parley_core::SecurityEventView) -> parley_api::security::SecurityEvent {
    parley_api::security::SecurityEvent {
        id: view.id,
        kind: view.kind.as_str().to_owned(),
        at: time(view.at),
        network: view.network.as_str().to_owned(),
        device: view.device.as_str().to_owned(),
    }
}

/// The wire name of a second-factor method.
pub fn second_factor_method(method: parley_core::SecondFactorMethod) -> &'static str {
    match method {
        parley_core::SecondFactorMethod::Totp => "totp",
        parley_core::SecondFactorMethod::RecoveryCode => "recovery_code",
        parley_core::SecondFactorMethod::Passkey => "passkey",
    }
}
