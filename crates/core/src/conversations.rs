//! Opening and listing conversations, and the [`Participant`] capability: proof that the
//! caller is one of the two parties of a conversation.

use parley_domain::page::{ConversationCursor, PageLimit};
use parley_domain::{Conversation, ConversationId, Handle, ListingId, Role, Seq};
use parley_store::{ConversationRecord, Inserted};
use uuid::Uuid;

use crate::Parley;
use crate::auth::Session;
use crate::error::CoreError;

/// A request to talk to another user.
#[derive(Debug)]
pub struct OpenConversation {
    /// The other party's handle.
    pub with: String,
    /// The listing it is about.
    pub listing: Option<ListingId>,
    /// The caller's role.
    pub my_role: Role,
}

/// A conversation as one party sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationView {
    /// The conversation.
    pub conversation: Conversation,
    /// The viewer's role in it.
    pub my_role: Role,
    /// The other party's handle.
    pub other_party: Handle,
}

/// Proof that a session's user is a party to a conversation.
#[derive(Debug, Clone)]
pub struct Participant {
    session: Session,
    role: Role,
    record: ConversationRecord,
}

impl Participant {
    /// The session acting.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The conversation's id.
    pub fn conversation_id(&self) -> ConversationId {
        self.record.conversation.id
    }

    /// The participant's role.
    pub fn role(&self) -> Role {
        self.role
    }

    pub(crate) fn record(&self) -> &ConversationRecord {
        &self.record
    }

    /// The conversation as this participant sees it.
    pub fn view(&self) -> ConversationView {
        view_of(&self.record, self.role)
    }
}

impl Parley {
    /// Opens a conversation with another user, or returns the one the two already have about
    /// the same listing in the same roles.
    pub async fn open_conversation(&self, session: &Session, request: OpenConversation) -> Result<Inserted<ConversationView>, CoreError> {
        let handle = Handle::parse(&request.with).map_err(|_| CoreError::UserNotFound)?;
        let other = self.store.user_by_handle(&handle.key()).await?.ok_or(CoreError::UserNotFound)?;
        if other.id == session.user_id() {
            return Err(CoreError::CannotMessageSelf);
        }
        let now = self.clock.now();
        Self::check_rate(&self.open_limiter, session.user_id(), now)?;
        let (buyer, seller) = match request.my_role {
            Role::Buyer => (session.user_id(), other.id),
            Role::Seller => (other.id, session.user_id()),
        };
        if let Some(existing) = self.store.find_conversation(buyer, seller, request.listing.as_ref()).await? {
            self.open_limiter.refund(&session.user_id());
            // Opening a conversation one deleted brings it back, without what one deleted.
            if self.deleted_conversations(session.user_id()).await?.contains_key(&existing.conversation.id) {
                self.store.revive_conversation_for(session.user_id(), existing.conversation.id).await?;
            }
            return Ok(Inserted::Existing(view_of(&existing, request.my_role)));
        }
        // First contact follows the other party's policy. A block is not checked here: the
        // conversation opens, and the blocker never sees it, so the blocked user learns nothing.
        let their_role = match request.my_role {
            Role::Buyer => Role::Seller,
            Role::Seller => Role::Buyer,
        };
        let policy = self.store.preferences_of(other.id).await?.unwrap_or_default().contact_policy;
        if !policy.allows(their_role, request.listing.is_some()) {
            self.open_limiter.refund(&session.user_id());
            return Err(CoreError::ContactNotAllowed);
        }
        let conversation = Conversation {
            id: ConversationId::from_uuid(Uuid::now_v7()),
            buyer,
            seller,
            listing: request.listing,
            created_at: now,
            last_activity_at: now,
            last_seq: Seq::ZERO,
        };
        Ok(match self.store.insert_conversation(&conversation).await? {
            Inserted::New(record) => {
                tracing::info!(conversation_id = %record.conversation.id, "conversation opened");
                Inserted::New(view_of(&record, request.my_role))
            }
            Inserted::Existing(record) => {
                // Re-opening a conversation costs nothing: only first contact is limited.
                self.open_limiter.refund(&session.user_id());
                Inserted::Existing(view_of(&record, request.my_role))
            }
        })
    }

    /// A page of the caller's conversations, most recent activity first.
    pub async fn list_conversations(
        &self,
        session: &Session,
        cursor: Option<ConversationCursor>,
        limit: PageLimit,
    ) -> Result<(Vec<ConversationView>, Option<ConversationCursor>), CoreError> {
        let mut records = self.store.conversations_of(session.user_id(), cursor, limit.with_lookahead()).await?;
        let more = limit.has_more(records.len());
        records.truncate(limit.get() as usize);
        let next = records
            .last()
            .filter(|_| more)
            .map(|last| ConversationCursor { last_activity_at: last.conversation.last_activity_at, id: last.conversation.id });
        // Conversations a blocked user opened after the block are not shown to the blocker, nor
        // those the viewer deleted with nothing new since.
        let blocked = self.blocked_since(session.user_id()).await?;
        let deleted = self.deleted_conversations(session.user_id()).await?;
        let views = records
            .iter()
            .filter(|record| deleted.get(&record.conversation.id).is_none_or(|at| record.conversation.last_activity_at > *at))
            .filter(|record| {
                let other = record.conversation.parties().into_iter().find(|p| *p != session.user_id());
                other.and_then(|o| blocked.get(&o)).is_none_or(|since| record.conversation.created_at < *since)
            })
            .filter_map(|record| record.conversation.role_of(session.user_id()).map(|role| view_of(record, role)))
            .collect();
        Ok((views, next))
    }

    /// Checks that the session's user is a party to the conversation. A stranger gets
    /// the same answer as for a conversation that does not exist.
    pub async fn participant(&self, session: &Session, conversation: ConversationId) -> Result<Participant, CoreError> {
        let record = self.store.conversation(conversation).await?.ok_or(CoreError::ConversationNotFound)?;
        let role = record.conversation.role_of(session.user_id()).ok_or(CoreError::ConversationNotFound)?;
        // A conversation the caller deleted is gone for them until something new arrives.
        let deleted_at = self.deleted_conversations(session.user_id()).await?.get(&conversation).copied();
        if deleted_at.is_some_and(|at| record.conversation.last_activity_at <= at) {
            return Err(CoreError::ConversationNotFound);
        }
        Ok(Participant { session: session.clone(), role, record })
    }
}

fn view_of(record: &ConversationRecord, my_role: Role) -> ConversationView {
    let other_party = match my_role {
        Role::Buyer => record.seller_handle.clone(),
        Role::Seller => record.buyer_handle.clone(),
    };
    ConversationView { conversation: record.conversation.clone(), my_role, other_party }
}
