//! Deleting: one message for everyone (its author, within a window: the body is emptied and a
//! numbered placeholder stays, and the author's key in the conversation moves to a new
//! generation so no backup can show the text again) or for oneself (hidden from that party only); a conversation
//! for oneself (everything up to that moment hidden), destroyed, keys first, once both parties
//! have deleted everything said in it. Deleting a message again changes nothing; deleting a
//! conversation again (after new messages) covers the new messages too.

use std::collections::HashMap;

use parley_crypto::{Aad, Dek};
use parley_domain::{ConversationId, KeyScope, MessageBody, MessageId, Sealed, Timestamp, UserId};
use parley_store::{KeyRotation, StoreError};

use crate::Parley;
use crate::conversations::Participant;
use crate::error::CoreError;
use crate::events::Event;
use crate::keyring::KeyRing;

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
                // Deleted already (or emptied by an erasure): deleting again changes nothing,
                // and must not cost another key rotation.
                if record.body.as_bytes().is_empty() {
                    return Ok(());
                }
                self.delete_for_everyone(participant.conversation_id(), me, id, now).await?;
                let recipients = participant.record().conversation.parties();
                self.events.publish(Event::MessageChanged { recipients, conversation: participant.conversation_id(), seq: record.seq });
            }
        }
        Ok(())
    }

    /// Deletes the author's message `id` for everyone, so that no backup can show it again:
    /// the author's other texts in the conversation are re-sealed under the next generation of
    /// their key, in one transaction with the deletion, and then the old key is destroyed.
    /// A send or an edit racing it makes the store refuse; it reads again and retries.
    async fn delete_for_everyone(
        &self,
        conversation: ConversationId,
        author: UserId,
        id: MessageId,
        now: Timestamp,
    ) -> Result<(), CoreError> {
        for _ in 0..MAX_ROTATION_ATTEMPTS {
            let from = self.store.message_key_generation(conversation, author).await?;
            let Some(old) = self.keys.existing_dek(&KeyScope::MessageAuthor { conversation, author, generation: from }).await? else {
                if self.store.message_key_generation(conversation, author).await? != from {
                    // Another deletion rotated the key meanwhile: start again from its generation.
                    continue;
                }
                // Nothing of the author's is readable any more: emptying the body is all.
                return Ok(self.store.delete_message_for_everyone(id, now).await?);
            };
            let next = KeyScope::MessageAuthor { conversation, author, generation: from + 1 };
            let new = self.keys.dek_for(&next, now).await?;
            let (bodies, edits) = self.store.author_texts(conversation, author).await?;
            let rotation = KeyRotation {
                conversation,
                author,
                from,
                deleted: id,
                at: now,
                bodies: reseal(bodies.into_iter().filter(|(message, _)| *message != id), &old, &new, KeyRing::body_aad)?,
                edits: reseal(
                    edits.into_iter().filter(|(_, of, _)| *of != id).map(|(edit, _, body)| (edit, body)),
                    &old,
                    &new,
                    KeyRing::edit_aad,
                )?,
            };
            match self.store.rotate_message_key(&rotation).await {
                Ok(true) => {
                    // The generation before goes too, in case a crash once left it behind.
                    for generation in from.saturating_sub(1)..=from {
                        self.keys.destroy(&KeyScope::MessageAuthor { conversation, author, generation }).await?;
                    }
                    return Ok(());
                }
                Ok(false) => {}
                // The conversation is being destroyed, or the author erased: the key made for the
                // next generation must not outlive them (no rotation can use it any more).
                Err(StoreError::NotFound(what)) => {
                    self.keys.destroy(&next).await?;
                    return Err(if what == "author" { CoreError::Unauthenticated } else { CoreError::ConversationNotFound });
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(CoreError::Overloaded { retry_after: std::time::Duration::from_secs(1) })
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
    /// The conversation is marked closing by then, so no send or key rotation commits into it
    /// any more: the generations read first are the last ones, and the second pass reuses them
    /// (the rows that record them are gone by then).
    pub(crate) async fn destroy_conversation(&self, conversation: ConversationId, parties: [UserId; 2]) -> Result<(), CoreError> {
        let mut generations = [0; 2];
        for (author, generation) in parties.into_iter().zip(&mut generations) {
            *generation = self.destroy_author_keys(conversation, author).await?;
        }
        self.store.destroy_conversation(conversation).await?;
        for (author, generation) in parties.into_iter().zip(generations) {
            self.destroy_key_generations(conversation, author, generation).await?;
        }
        tracing::info!(conversation_id = %conversation, "conversation destroyed");
        Ok(())
    }

    /// Destroys every generation of the author's message key in the conversation (earlier
    /// ones are normally gone already; a crash may have left one). Returns the newest.
    pub(crate) async fn destroy_author_keys(&self, conversation: ConversationId, author: UserId) -> Result<u32, CoreError> {
        let current = self.store.message_key_generation(conversation, author).await?;
        self.destroy_key_generations(conversation, author, current).await?;
        Ok(current)
    }

    async fn destroy_key_generations(&self, conversation: ConversationId, author: UserId, newest: u32) -> Result<(), CoreError> {
        for generation in 0..=newest {
            self.keys.destroy(&KeyScope::MessageAuthor { conversation, author, generation }).await?;
        }
        Ok(())
    }

    /// When the viewer deleted each conversation they deleted.
    pub(crate) async fn deleted_conversations(&self, viewer: UserId) -> Result<HashMap<ConversationId, Timestamp>, CoreError> {
        Ok(self.store.conversation_deletions(viewer).await?.into_iter().collect())
    }
}

/// How many times a deletion for everyone reads and re-seals again after a send or an edit got
/// in between.
const MAX_ROTATION_ATTEMPTS: u32 = 5;

/// Texts sealed under `old`, sealed again under `new` (same associated data). A text that does
/// not open under `old` (tampered) cannot be carried over: it is left empty.
fn reseal<Id: Copy + std::fmt::Display>(
    texts: impl Iterator<Item = (Id, Sealed<MessageBody>)>,
    old: &Dek,
    new: &Dek,
    aad: fn(&Id) -> Aad,
) -> Result<Vec<(Id, Sealed<MessageBody>)>, CoreError> {
    texts
        .map(|(id, sealed)| {
            let resealed = match old.open(sealed.as_bytes(), &aad(&id)) {
                Ok(plain) => new.seal(&plain, &aad(&id))?,
                Err(_) => Vec::new(),
            };
            Ok((id, Sealed::from_bytes(resealed)))
        })
        .collect()
}
