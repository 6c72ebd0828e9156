//! The in-process real-time bus: one bounded broadcast channel per connected user. It carries
//! signals ("conversation X has a message at seq N", "the message at seq N changed", "session S
//! ended"), never content; each
//! connection reads the messages through the core as its own user. A connection that falls
//! behind the channel's capacity is a slow consumer and is closed (it catches up by sequence
//! number when it reconnects).

use std::collections::HashMap;
use std::sync::Mutex;

use parley_core::{Event, EventPublisher};
use parley_domain::{ConversationId, Seq, SessionId, UserId};
use tokio::sync::broadcast;

/// A signal for one user's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserEvent {
    /// A message was committed in one of their conversations.
    MessageAppended {
        /// The conversation.
        conversation: ConversationId,
        /// The message's position.
        seq: Seq,
    },
    /// A message in one of their conversations was edited or deleted for everyone.
    MessageChanged {
        /// The conversation.
        conversation: ConversationId,
        /// The message's position.
        seq: Seq,
    },
    /// One of their sessions ended.
    SessionEnded {
        /// The session.
        session: SessionId,
    },
}

/// Per-user broadcast channels.
pub struct InProcessBus {
    capacity: usize,
    channels: Mutex<HashMap<UserId, broadcast::Sender<UserEvent>>>,
}

impl InProcessBus {
    /// A bus whose channels each hold `capacity` undelivered events.
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), channels: Mutex::new(HashMap::new()) }
    }

    /// Subscribes to `user`'s events.
    pub fn subscribe(&self, user: UserId) -> broadcast::Receiver<UserEvent> {
        let mut channels = self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        channels.entry(user).or_insert_with(|| broadcast::channel(self.capacity).0).subscribe()
    }

    fn send(&self, user: UserId, event: UserEvent) {
        let mut channels = self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sender) = channels.get(&user) {
            // An error only means nobody listens any more: forget the channel.
            if sender.send(event).is_err() {
                channels.remove(&user);
            }
        }
    }

    /// Forgets the channels nobody listens to any more.
    pub fn prune(&self) {
        let mut channels = self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        channels.retain(|_, sender| sender.receiver_count() > 0);
    }

    /// How many users have a channel (for tests and metrics).
    pub fn channel_count(&self) -> usize {
        self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

impl EventPublisher for InProcessBus {
    fn publish(&self, event: Event) {
        match event {
            Event::MessageAppended { recipients, conversation, seq } => {
                for user in recipients {
                    self.send(user, UserEvent::MessageAppended { conversation, seq });
                }
            }
            Event::MessageChanged { recipients, conversation, seq } => {
                for user in recipients {
                    self.send(user, UserEvent::MessageChanged { conversation, seq });
                }
            }
            Event::SessionEnded { user, session } => self.send(user, UserEvent::SessionEnded { session }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn events_reach_only_their_users_and_idle_channels_are_dropped() {
        let bus = InProcessBus::new(8);
        let [alice, bob, carol] = [1, 2, 3].map(|n| UserId::from_uuid(Uuid::from_u128(n)));
        let conversation = ConversationId::from_uuid(Uuid::from_u128(9));
        let mut alice_rx = bus.subscribe(alice);
        let mut carol_rx = bus.subscribe(carol);
        bus.publish(Event::MessageAppended { recipients: [alice, bob], conversation, seq: Seq::new(1).unwrap() });
        assert_eq!(alice_rx.try_recv().unwrap(), UserEvent::MessageAppended { conversation, seq: Seq::new(1).unwrap() });
        assert!(carol_rx.try_recv().is_err());
        drop(alice_rx);
        bus.publish(Event::MessageAppended { recipients: [alice, bob], conversation, seq: Seq::new(2).unwrap() });
        assert_eq!(bus.channel_count(), 1, "alice's channel went with her last receiver");
        drop(carol_rx);
        bus.prune();
        assert_eq!(bus.channel_count(), 0, "carol's channel is pruned though nothing was sent to her");
    }

    #[test]
    fn a_slow_receiver_lags_instead_of_growing_the_queue() {
        let bus = InProcessBus::new(2);
        let user = UserId::from_uuid(Uuid::from_u128(1));
        let conversation = ConversationId::from_uuid(Uuid::from_u128(9));
        let mut rx = bus.subscribe(user);
        for seq in 1..=5 {
            bus.publish(Event::MessageAppended { recipients: [user, user], conversation, seq: Seq::new(seq).unwrap() });
        }
        assert!(matches!(rx.try_recv(), Err(broadcast::error::TryRecvError::Lagged(_))));
    }
}
