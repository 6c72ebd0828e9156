//! Sending and reading messages. Bodies are sealed under the (conversation, author) data key
//! before they reach the store, and opened only for a [`Participant`].

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use parley_crypto::Dek;
use parley_domain::page::{MessageWindow, PageLimit};
use parley_domain::pii::{self, PiiKind};
use parley_domain::{ClientMsgId, ConversationId, Handle, KeyScope, Message, MessageBody, MessageId, Sealed, UserId};
use parley_store::{Conflict, Inserted, MessageRecord, NewMessage, StoreError};
use uuid::Uuid;

use crate::conversations::Participant;
use crate::error::CoreError;
use crate::events::Event;
use crate::keyring::KeyRing;
use crate::{Parley, PiiPolicy};

/// A message to send. Content: its `Debug` shows the body's length only.
pub struct SendMessage {
    /// The sender's idempotency key.
    pub client_msg_id: ClientMsgId,
    /// The text (validated here, against the configured length limit).
    pub body: String,
}

impl std::fmt::Debug for SendMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SendMessage {{ client_msg_id: {:?}, body: {} bytes }}", self.client_msg_id, self.body.len())
    }
}

/// A message as one participant sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageView {
    /// The message, body decrypted.
    pub message: Message,
    /// The author's handle.
    pub author_handle: Handle,
    /// Whether the viewer wrote it.
    pub mine: bool,
    /// For the sender of a new message: the personal data found in it (masked, unless the
    /// deployment only warns), so the client can suggest the end-to-end encrypted channel.
    pub pii: Vec<PiiKind>,
}

/// The outcome of a send: a new message, or the one already sent under the same client id.
pub type Sent = Inserted<MessageView>;

/// A page of messages, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct MessagePage {
    /// The messages.
    pub items: Vec<MessageView>,
    /// Whether more messages lie beyond the page, in the direction of the window.
    pub has_more: bool,
}

/// How many times a send or an edit seals again after a key rotation got in between.
const MAX_SEAL_ATTEMPTS: u32 = 3;

impl Parley {
    /// Sends a message. A retry with the same client message id and body returns the original
    /// message and writes nothing; the same id with another body is refused.
    pub async fn send_message(&self, participant: &Participant, request: SendMessage) -> Result<Sent, CoreError> {
        let body = MessageBody::parse(&request.body, self.settings.message_max_chars)?;
        let (body, pii) = self.screen_pii(body);
        let author = participant.session().user_id();
        let conversation = participant.conversation_id();
        if let Some(existing) = self.store.message_by_client_msg_id(conversation, author, &request.client_msg_id).await? {
            return self.replayed(participant, existing, &body).await;
        }
        let now = self.clock.now();
        Self::check_rate(&self.send_limiter, author, now)?;
        let id = MessageId::from_uuid(Uuid::now_v7());
        let mut attempts = 0;
        // A deletion for everyone by this author may move their key to a new generation while
        // this send seals: the store refuses the stale seal, and the send seals again.
        let appended = loop {
            attempts += 1;
            let key_generation = self.store.message_key_generation(conversation, author).await?;
            let scope = KeyScope::MessageAuthor { conversation, author, generation: key_generation };
            let dek = self.keys.dek_for(&scope, now).await?;
            let message = NewMessage {
                id,
                conversation_id: conversation,
                author,
                client_msg_id: request.client_msg_id.clone(),
                body: Sealed::from_bytes(dek.seal(body.expose().as_bytes(), &KeyRing::body_aad(&id))?),
                created_at: now,
                key_generation,
            };
            match self.store.append_message(&message).await {
                Ok(appended) => break appended,
                // The key moved on: the generation this send read is over (the rotation commits
                // before it destroys that key), so a key this send made for it again goes.
                Err(StoreError::Conflict(Conflict::KeyRotated)) if attempts < MAX_SEAL_ATTEMPTS => self.keys.destroy(&scope).await?,
                // A conversation destroyed (or being destroyed) meanwhile is simply gone; an
                // author erased meanwhile is no one. The key this send may have made goes too:
                // nothing of theirs may outlive the destruction.
                Err(StoreError::NotFound(what)) => {
                    self.keys.destroy(&scope).await?;
                    return Err(if what == "author" { CoreError::Unauthenticated } else { CoreError::ConversationNotFound });
                }
                Err(other) => return Err(other.into()),
            }
        };
        match appended {
            Inserted::New(record) => {
                let parties = participant.record().conversation.parties();
                self.events.publish(Event::MessageAppended { recipients: parties, conversation, seq: record.seq });
                Ok(Inserted::New(MessageView { pii, ..view(participant, record, Some(body)) }))
            }
            Inserted::Existing(record) => self.replayed(participant, record, &body).await,
        }
    }

    /// Messages of the conversation in `window`, oldest first.
    pub async fn list_messages(
        &self,
        participant: &Participant,
        window: MessageWindow,
        limit: PageLimit,
    ) -> Result<MessagePage, CoreError> {
        let viewer = participant.session().user_id();
        let conversation = participant.conversation_id();
        // What a blocked user sent after the block is never shown to the blocker, and what the
        // viewer deleted for themselves stays out of their view.
        let blocked = self.blocked_since(viewer).await?;
        let hidden: std::collections::HashSet<MessageId> = self.store.hidden_messages(viewer, conversation).await?.into_iter().collect();
        let deleted_at = self.deleted_conversations(viewer).await?.get(&conversation).copied();
        let visible = |record: &MessageRecord| {
            !(deleted_at.is_some_and(|at| record.created_at <= at)
                || hidden.contains(&record.id)
                || blocked.get(&record.author).is_some_and(|since| record.created_at >= *since))
        };
        // An author's key is gone after their erasure (or a retention run): their messages stay
        // as placeholders without a body.
        let mut keys: HashMap<(UserId, u32), Option<Dek>> = HashMap::new();
        let mut window = window;
        let mut reread = false;
        loop {
            let (records, has_more) = self.message_page(conversation, window, limit).await?;
            let (Some(first), Some(last)) = (records.first().map(|r| r.seq), records.last().map(|r| r.seq)) else {
                return Ok(MessagePage { items: Vec::new(), has_more });
            };
            let mut items = Vec::with_capacity(records.len());
            let mut key_gone = false;
            for record in records.into_iter().filter(|r| visible(r)) {
                let dek = match keys.entry((record.author, record.key_generation)) {
                    Entry::Occupied(entry) => entry.into_mut(),
                    Entry::Vacant(entry) => entry.insert(self.message_key(participant, record.author, record.key_generation).await?),
                };
                let body = dek.as_ref().and_then(|dek| readable_body(dek, &record));
                key_gone |= body.is_none() && !record.body.as_bytes().is_empty();
                items.push(view(participant, record, body));
            }
            // A text that does not open: a deletion may have re-sealed it under a new key between
            // reading the page and its key. Reading once more sees the new one.
            if key_gone && !reread {
                reread = true;
                keys.clear();
                continue;
            }
            if !items.is_empty() || !has_more {
                return Ok(MessagePage { items, has_more });
            }
            // Everything on this page is hidden from the viewer: read on in the same direction,
            // so a page is never empty while more lies beyond it.
            window = match window {
                MessageWindow::After(_) => MessageWindow::After(last),
                MessageWindow::Between { before, .. } => MessageWindow::Between { after: last, before },
                MessageWindow::Latest | MessageWindow::Before(_) => MessageWindow::Before(first),
            };
        }
    }

    /// One page of stored messages in `window`, oldest first, and whether more lie beyond.
    async fn message_page(
        &self,
        conversation: ConversationId,
        window: MessageWindow,
        limit: PageLimit,
    ) -> Result<(Vec<MessageRecord>, bool), CoreError> {
        let mut records = self.store.messages(conversation, window, limit.with_lookahead()).await?;
        let has_more = limit.has_more(records.len());
        if has_more {
            // The extra record lies beyond the page: the oldest when reading backwards.
            match window {
                MessageWindow::After(_) | MessageWindow::Between { .. } => records.truncate(limit.get() as usize),
                MessageWindow::Latest | MessageWindow::Before(_) => {
                    records.remove(0);
                }
            }
        }
        Ok((records, has_more))
    }

    async fn replayed(&self, participant: &Participant, record: MessageRecord, body: &MessageBody) -> Result<Sent, CoreError> {
        let mut record = record;
        let mut stored = self.stored_body(participant, &record).await?;
        if stored.is_none() && !record.body.as_bytes().is_empty() {
            // Re-sealed by a deletion between reading the record and its key: read it again.
            let again = self.store.message_by_client_msg_id(record.conversation_id, record.author, &record.client_msg_id).await?;
            record = again.ok_or(CoreError::MessageNotFound)?;
            stored = self.stored_body(participant, &record).await?;
        }
        if stored.as_ref() != Some(body) {
            return Err(CoreError::ClientMsgIdReused);
        }
        Ok(Inserted::Existing(view(participant, record, stored)))
    }

    /// The record's body, if its key exists and it opens.
    async fn stored_body(&self, participant: &Participant, record: &MessageRecord) -> Result<Option<MessageBody>, CoreError> {
        let dek = self.message_key(participant, record.author, record.key_generation).await?;
        Ok(dek.as_ref().and_then(|dek| readable_body(dek, record)))
    }

    /// Replaces the text of one of the caller's messages, within the edit window; the previous
    /// text is kept (sealed) as long as the message is.
    pub async fn edit_message(&self, participant: &Participant, id: MessageId, text: &str) -> Result<MessageView, CoreError> {
        let me = participant.session().user_id();
        let conversation = participant.conversation_id();
        let (body, pii) = self.screen_pii(MessageBody::parse(text, self.settings.message_max_chars)?);
        let now = self.clock.now();
        let mut attempts = 0;
        let record = loop {
            attempts += 1;
            let record = self.store.message_in(conversation, id).await?.ok_or(CoreError::MessageNotFound)?;
            if record.author != me {
                return Err(CoreError::NotYourMessage);
            }
            if now.since(record.created_at) > self.settings.edit_window {
                return Err(CoreError::EditWindowPassed);
            }
            // A key (or a body) from before a rotation that committed meanwhile: read again.
            let Some((dek, previous)) = self
                .message_key(participant, me, record.key_generation)
                .await?
                .and_then(|dek| readable_body(&dek, &record).map(|b| (dek, b)))
            else {
                if attempts < MAX_SEAL_ATTEMPTS {
                    continue;
                }
                return Err(CoreError::MessageNotFound);
            };
            let edit_id = Uuid::now_v7();
            let previous = Sealed::from_bytes(dek.seal(previous.expose().as_bytes(), &KeyRing::edit_aad(&edit_id))?);
            let sealed = Sealed::from_bytes(dek.seal(body.expose().as_bytes(), &KeyRing::body_aad(&id))?);
            // As for a send: a key rotation in between means sealing again, under the new key.
            match self.store.edit_message(id, &sealed, (edit_id, previous), record.key_generation, now).await {
                Ok(true) => break record,
                Ok(false) => return Err(CoreError::MessageNotFound),
                Err(StoreError::Conflict(Conflict::KeyRotated)) if attempts < MAX_SEAL_ATTEMPTS => {}
                Err(other) => return Err(other.into()),
            }
        };
        let edited = MessageRecord { edited_at: Some(now), ..record };
        self.events.publish(Event::MessageChanged {
            recipients: participant.record().conversation.parties(),
            conversation,
            seq: edited.seq,
        });
        Ok(MessageView { pii, ..view(participant, edited, Some(body)) })
    }

    /// Finds personal data in a body and, by policy, masks it before anything stores it.
    fn screen_pii(&self, body: MessageBody) -> (MessageBody, Vec<PiiKind>) {
        if self.settings.pii.policy == PiiPolicy::Off {
            return (body, Vec::new());
        }
        let masked = pii::mask(body.expose(), &self.settings.pii.phone_regions);
        if masked.found.is_empty() {
            return (body, Vec::new());
        }
        tracing::info!(kinds = ?masked.found, "personal data found in a message");
        match self.settings.pii.policy {
            // Masking may lengthen a body a little past the limit; that bound is about input.
            PiiPolicy::Mask => (MessageBody::from_trusted(masked.text), masked.found),
            PiiPolicy::WarnOnly | PiiPolicy::Off => (body, masked.found),
        }
    }

    /// The author's message key of `generation` in the conversation, if it still exists.
    async fn message_key(&self, participant: &Participant, author: UserId, generation: u32) -> Result<Option<Dek>, CoreError> {
        let scope = KeyScope::MessageAuthor { conversation: participant.conversation_id(), author, generation };
        self.keys.existing_dek(&scope).await
    }
}

fn view(participant: &Participant, record: MessageRecord, body: Option<MessageBody>) -> MessageView {
    let viewer = participant.session().user_id();
    let conversation = &participant.record().conversation;
    let author_handle = match conversation.role_of(record.author) {
        Some(parley_domain::Role::Buyer) => participant.record().buyer_handle.clone(),
        _ => participant.record().seller_handle.clone(),
    };
    MessageView {
        pii: Vec::new(),
        mine: record.author == viewer,
        author_handle,
        message: Message {
            id: record.id,
            conversation_id: record.conversation_id,
            seq: record.seq,
            author: record.author,
            client_msg_id: record.client_msg_id,
            body,
            created_at: record.created_at,
            edited_at: record.edited_at,
        },
    }
}

/// The body, if it can be read: an emptied (deleted) body has none, and a ciphertext that does
/// not authenticate (tampering, a row moved) is shown as a placeholder, never as text, and
/// logged.
pub(crate) fn readable_body(dek: &Dek, record: &MessageRecord) -> Option<MessageBody> {
    if record.body.as_bytes().is_empty() {
        return None;
    }
    if let Ok(Ok(text)) = dek.open(record.body.as_bytes(), &KeyRing::body_aad(&record.id)).map(String::from_utf8) {
        return Some(MessageBody::from_trusted(text));
    }
    tracing::error!(message_id = %record.id, "a stored message failed its integrity check");
    None
}
