//! Deleting: one message for everyone (its author, within a window: the body is emptied and a
//! numbered placeholder stays) or for oneself (hidden from that party only); a conversation
//! for oneself (everything up to that moment hidden), destroyed, keys first, once both parties
//! have deleted everything said in it. Deleting a message again changes nothing; deleting a
//! conversation again (after new messages) covers the new messages too.

use std::collections::HashMap;

use parley_domain::{ConversationId, KeyScope, MessageId, Timestamp, UserId};

use crate::Parley;
use crate::conversations::Participant;
use crate::error::CoreError;
use crate::events::Event;

/// Whom a message is deleted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteFor {
    /// Both parties (the author only, within the window).
    Everyone,
    /// The caller only.
    Me,
}

impl Parley {
    /// Deletes one message of the conversation.
    pub async fn delete_message(&self, participant: &Participant, id: MessageId, scope: DeleteFor) -> Result<(), CoreError> {
        let me = participant.session().user_id();
        let record = self.store.message_in(participant.conversation_id(), id).await?.ok_or(CoreError::MessageNotFound)?;
        match scope {
            DeleteFor::Me => self.store.hide_message(me, id).await?,
            DeleteFor::Everyone => {
                if record.author != me {
                    return Err(CoreError::NotYourMessage);
                }
                let now = self.clock.now();
                if now.since(record.created_at) > self.settings.delete_for_everyone_window {
                    return Err(CoreError::DeleteWindowPassed);
                }
                self.store.delete_message_for_everyone(id, now).await?;
                let recipients = participant.record().conversation.parties();
                self.events.publish(Event::MessageChanged { recipients, conversation: participant.conversation_id(), seq: record.seq });
            }
        }
        Ok(())
    }

    /// Deletes the conversation for the caller; when both parties have, destroys it: first the
    /// keys of both authors, then the rows.
    pub async fn delete_conversation(&self, participant: &Participant) -> Result<(), CoreError> {
        let conversation = participant.conversation_id();
        let deleted_by = self.store.delete_conversation_for(participant.session().user_id(), conversation, self.clock.now()).await?;
        if deleted_by >= 2 {
            self.destroy_conversation(conversation, participant.record().conversation.parties()).await?;
            metrics::counter!("parley_conversations_destroyed_total").increment(1);
        }
        Ok(())
    }

    /// Destroys a conversation for good: keys first, so no copy of its messages can be read,
    /// then the rows, then the keys once more, in case a send racing the destruction made one
    /// again (its message went with the rows; the key must not outlive it).
    pub(crate) async fn destroy_conversation(&self, conversation: ConversationId, parties: [UserId; 2]) -> Result<(), CoreError> {
        self.destroy_message_keys(conversation, parties).await?;
        self.store.destroy_conversation(conversation).await?;
        self.destroy_message_keys(conversation, parties).await?;
        tracing::info!(conversation_id = %conversation, "conversation destroyed");
        Ok(())
    }

    async fn destroy_message_keys(&self, conversation: ConversationId, authors: [UserId; 2]) -> Result<(), CoreError> {
        for author in authors {
            self.keys.destroy(&KeyScope::MessageAuthor { conversation, author }).await?;
        }
        Ok(())
    }

    /// When the viewer deleted each conversation they deleted.
    pub(crate) async fn deleted_conversations(&self, viewer: UserId) -> Result<HashMap<ConversationId, Timestamp>, CoreError> {
        Ok(self.store.conversation_deletions(viewer).await?.into_iter().collect())
    }
}
