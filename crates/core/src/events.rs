//! Real-time events the core announces after a commit. They carry ids only, never content:
//! a subscriber that wants the message reads it through the core, as the recipient.

use parley_domain::{ConversationId, Seq, SessionId, UserId};

/// Something a connected client should hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message was committed in a conversation; both parties should fetch up to `seq`.
    MessageAppended {
        /// The parties to notify.
        recipients: [UserId; 2],
        /// The conversation.
        conversation: ConversationId,
        /// The new message's position.
        seq: Seq,
    },
    /// A message was edited or deleted for everyone; both parties should fetch it again.
    MessageChanged {
        /// The parties to notify.
        recipients: [UserId; 2],
        /// The conversation.
        conversation: ConversationId,
        /// The changed message's position.
        seq: Seq,
    },
    /// A session ended (logout): its live connections must close.
    SessionEnded {
        /// Whose session.
        user: UserId,
        /// Which session.
        session: SessionId,
    },
}

/// Delivers events to live connections (in-process, or across nodes).
pub trait EventPublisher: Send + Sync {
    /// Publishes an event. Must not block; delivery is best-effort, since clients catch up
    /// from the database by sequence number.
    fn publish(&self, event: Event);
}
