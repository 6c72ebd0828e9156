//! Messages: a body, its author, and its place (`Seq`) in the conversation.

use std::fmt;

use crate::ids::{ConversationId, MessageId, UserId};
use crate::time::Timestamp;
use crate::validation::{ValidationError, check_identifier};

/// A message's position in its conversation: 1, 2, 3, ... with no gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seq(i64);

impl Seq {
    /// The position before the first message.
    pub const ZERO: Seq = Seq(0);

    /// Wraps a stored or client-supplied sequence number; negative values are rejected.
    pub fn new(value: i64) -> Result<Self, ValidationError> {
        if value < 0 {
            return Err(ValidationError::new("seq", "negative"));
        }
        Ok(Self(value))
    }

    /// The number.
    pub const fn value(self) -> i64 {
        self.0
    }
}

/// The sender's own id for a message, so a retried send is recognised and not duplicated:
/// 1 to 64 ASCII letters, digits, `-` or `_` (a UUID fits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientMsgId(String);

impl ClientMsgId {
    /// Longest allowed client message id.
    pub const MAX_LEN: usize = 64;

    /// Validates a client message id.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        check_identifier("client_msg_id", input, Self::MAX_LEN, &['-', '_'])?;
        Ok(Self(input.to_owned()))
    }

    /// Rebuilds an id read back from storage.
    pub fn from_trusted(id: String) -> Self {
        Self(id)
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The text of a message. Content: its `Debug` shows the length only.
#[derive(Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    /// Validates a body: not blank, at most `max_chars` characters, and no control characters
    /// other than tab and line breaks (they hide text from the reader).
    pub fn parse(input: &str, max_chars: usize) -> Result<Self, ValidationError> {
        let reject = |reason| Err(ValidationError::new("body", reason));
        if input.trim().is_empty() {
            return reject("empty");
        }
        if input.chars().count() > max_chars {
            return reject("too_long");
        }
        if input.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return reject("control_characters");
        }
        Ok(Self(input.to_owned()))
    }

    /// Rebuilds a body decrypted from storage.
    pub fn from_trusted(body: String) -> Self {
        Self(body)
    }

    /// The text. Every caller is deliberately handling message content.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MessageBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageBody({} bytes)", self.0.len())
    }
}

/// A message with its plaintext body, as a participant sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its id.
    pub id: MessageId,
    /// The conversation it belongs to.
    pub conversation_id: ConversationId,
    /// Its place in the conversation.
    pub seq: Seq,
    /// Who wrote it.
    pub author: UserId,
    /// The author's idempotency key.
    pub client_msg_id: ClientMsgId,
    /// What it says; `None` once it is deleted or can no longer be read (its key destroyed
    /// by an erasure or a retention run): the message stays as a numbered placeholder.
    pub body: Option<MessageBody>,
    /// When the server accepted it.
    pub created_at: Timestamp,
    /// When its author last edited it.
    pub edited_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_validated() {
        assert!(MessageBody::parse("Is it still available?", 4000).is_ok());
        assert!(MessageBody::parse("line one\nline two\ttabbed\r\n", 4000).is_ok());
        assert!(MessageBody::parse("日本語のメッセージ 🙂", 4000).is_ok());
        assert_eq!(MessageBody::parse("   \n ", 4000).unwrap_err().reason, "empty");
        assert_eq!(MessageBody::parse("hidden\u{0}null", 4000).unwrap_err().reason, "control_characters");
        assert_eq!(MessageBody::parse("bell\u{7}", 4000).unwrap_err().reason, "control_characters");
        assert!(MessageBody::parse(&"é".repeat(4000), 4000).is_ok(), "the limit counts characters, not bytes");
        assert_eq!(MessageBody::parse(&"é".repeat(4001), 4000).unwrap_err().reason, "too_long");
    }

    #[test]
    fn body_debug_shows_only_the_length() {
        let body = MessageBody::parse("meet me at 12 Baker Street", 4000).unwrap();
        assert_eq!(format!("{body:?}"), "MessageBody(26 bytes)");
    }

    #[test]
    fn client_msg_ids_are_validated() {
        assert!(ClientMsgId::parse("0b7a6c9e-4d55-4c1c-9f0e-0d6f3b1b2a77").is_ok());
        assert_eq!(ClientMsgId::parse("").unwrap_err().reason, "empty");
        assert_eq!(ClientMsgId::parse("a;b").unwrap_err().reason, "invalid_characters");
        assert_eq!(ClientMsgId::parse(&"a".repeat(65)).unwrap_err().reason, "too_long");
    }

    #[test]
    fn seq_cannot_be_negative() {
        assert!(Seq::new(-1).is_err());
        assert_eq!(Seq::new(7).unwrap().value(), 7);
    }
}
