//! Pagination: page sizes, the window of messages a client asks for, and the opaque cursor
//! for the conversation list (ordered by last activity, newest first).

use crate::ids::ConversationId;
use crate::message::Seq;
use crate::time::Timestamp;
use crate::validation::ValidationError;

/// How many items one page may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u32);

impl PageLimit {
    /// Used when the client does not say.
    pub const DEFAULT: PageLimit = PageLimit(50);
    /// The most a client may ask for.
    pub const MAX: u32 = 100;

    /// Validates a requested page size (1 to 100; absent means 50).
    pub fn parse(requested: Option<u32>) -> Result<Self, ValidationError> {
        match requested {
            None => Ok(Self::DEFAULT),
            Some(0) => Err(ValidationError::new("limit", "too_small")),
            Some(n) if n > Self::MAX => Err(ValidationError::new("limit", "too_large")),
            Some(n) => Ok(Self(n)),
        }
    }

    /// The size.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// One more than the page size: fetching that many tells whether another page follows.
    #[must_use]
    pub const fn with_lookahead(self) -> Self {
        Self(self.0 + 1)
    }

    /// Whether `fetched` items (fetched with lookahead) mean another page follows.
    pub fn has_more(self, fetched: usize) -> bool {
        fetched > self.0 as usize
    }
}

/// Which messages of a conversation a client wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageWindow {
    /// The newest messages.
    Latest,
    /// The newest messages older than this position (scrolling back).
    Before(Seq),
    /// The oldest messages newer than this position (catching up after a reconnect).
    After(Seq),
    /// The oldest messages strictly between two positions (filling a known gap).
    Between {
        /// Only messages after this position.
        after: Seq,
        /// Only messages before this position.
        before: Seq,
    },
}

impl MessageWindow {
    /// Builds a window from the optional `before` and `after` query parameters.
    pub fn from_bounds(before: Option<i64>, after: Option<i64>) -> Result<Self, ValidationError> {
        match (before, after) {
            (None, None) => Ok(Self::Latest),
            (Some(before), None) => Seq::new(before).map(Self::Before).map_err(|_| ValidationError::new("before", "negative")),
            (None, Some(after)) => Seq::new(after).map(Self::After).map_err(|_| ValidationError::new("after", "negative")),
            (Some(before), Some(after)) => Ok(Self::Between {
                after: Seq::new(after).map_err(|_| ValidationError::new("after", "negative"))?,
                before: Seq::new(before).map_err(|_| ValidationError::new("before", "negative"))?,
            }),
        }
    }
}

/// Where the next page of the conversation list starts: after this (activity, id) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationCursor {
    /// Last activity of the last conversation on the previous page.
    pub last_activity_at: Timestamp,
    /// Its id, to break ties.
    pub id: ConversationId,
}

impl ConversationCursor {
    /// The opaque text form handed to clients.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.last_activity_at.as_millis(), self.id)
    }

    /// Parses a cursor a client sent back: `<milliseconds>.<uuid>`.
    pub fn decode(text: &str) -> Result<Self, ValidationError> {
        let invalid = || ValidationError::new("cursor", "invalid");
        let (millis, id) = text.split_once('.').ok_or_else(invalid)?;
        // Exactly the form `encode` writes: no other spelling of a number or a UUID is accepted.
        let digits = millis.strip_prefix('-').unwrap_or(millis);
        let canonical_id = id.len() == 36
            && id.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { matches!(c, '0'..='9' | 'a'..='f') });
        if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) || !canonical_id {
            return Err(invalid());
        }
        Ok(Self {
            last_activity_at: Timestamp::from_millis(millis.parse().map_err(|_| invalid())?),
            id: id.parse().map_err(|_| invalid())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    #[test]
    fn page_limit_bounds() {
        assert_eq!(PageLimit::parse(None).unwrap().get(), 50);
        assert_eq!(PageLimit::parse(Some(100)).unwrap().get(), 100);
        assert_eq!(PageLimit::parse(Some(0)).unwrap_err().reason, "too_small");
        assert_eq!(PageLimit::parse(Some(101)).unwrap_err().reason, "too_large");
    }

    #[test]
    fn windows_follow_the_bounds_given() {
        let seq = |n| Seq::new(n).unwrap();
        assert_eq!(MessageWindow::from_bounds(None, None).unwrap(), MessageWindow::Latest);
        assert_eq!(MessageWindow::from_bounds(Some(5), None).unwrap(), MessageWindow::Before(seq(5)));
        assert_eq!(MessageWindow::from_bounds(None, Some(2)).unwrap(), MessageWindow::After(seq(2)));
        assert_eq!(MessageWindow::from_bounds(Some(9), Some(2)).unwrap(), MessageWindow::Between { after: seq(2), before: seq(9) });
        assert!(MessageWindow::from_bounds(None, Some(-3)).is_err());
        assert!(MessageWindow::from_bounds(Some(-1), Some(3)).is_err());
    }

    #[test]
    fn garbage_cursors_are_rejected() {
        let bad_cursors = [
            "",
            "abc",
            "12.",
            ".uuid",
            "12.not-a-uuid",
            "x.00000000-0000-0000-0000-000000000000",
            "+12.00000000-0000-0000-0000-000000000000",
            "12.00000000-0000-0000-0000-00000000000A",
            "12.00000000000000000000000000000000",
            "1234567890123456789.00000000-0000-0000-0000-000000000000",
        ];
        for bad in bad_cursors {
            assert!(ConversationCursor::decode(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn cursors_round_trip(millis in -999_999_999_999_999_999_i64..=999_999_999_999_999_999, id in any::<u128>()) {
            let cursor = ConversationCursor {
                last_activity_at: Timestamp::from_millis(millis),
                id: ConversationId::from_uuid(Uuid::from_u128(id)),
            };
            prop_assert_eq!(ConversationCursor::decode(&cursor.encode()).unwrap(), cursor);
        }

        #[test]
        fn decoding_arbitrary_text_never_panics(text in ".{0,80}") {
            let _ = ConversationCursor::decode(&text);
        }
    }
}
