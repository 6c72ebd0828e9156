//! Conversations: exactly two parties, a buyer and a seller, usually about one listing.

use crate::ids::{ConversationId, UserId};
use crate::message::Seq;
use crate::time::Timestamp;
use crate::validation::{ValidationError, check_identifier};

/// The part a user plays in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The party who wants the listed item.
    Buyer,
    /// The party who listed it.
    Seller,
}

/// A marketplace's own identifier for a listing: 1 to 128 ASCII letters, digits, `.`, `_`,
/// `:` or `-`. Parley does not interpret it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListingId(String);

impl ListingId {
    /// Longest allowed listing id.
    pub const MAX_LEN: usize = 128;

    /// Validates a listing id.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        check_identifier("listing_id", input, Self::MAX_LEN, &['.', '_', ':', '-'])?;
        Ok(Self(input.to_owned()))
    }

    /// Rebuilds a listing id read back from storage.
    pub fn from_trusted(id: String) -> Self {
        Self(id)
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A conversation as stored: who the parties are and how far it has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// Its id.
    pub id: ConversationId,
    /// The buying party.
    pub buyer: UserId,
    /// The selling party.
    pub seller: UserId,
    /// The listing it is about, if any.
    pub listing: Option<ListingId>,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When its last message was sent (or when it was opened).
    pub last_activity_at: Timestamp,
    /// The sequence number of its newest message (zero when empty).
    pub last_seq: Seq,
}

impl Conversation {
    /// The role `user` plays here, or `None` when they are not a party.
    pub fn role_of(&self, user: UserId) -> Option<Role> {
        if user == self.buyer {
            Some(Role::Buyer)
        } else if user == self.seller {
            Some(Role::Seller)
        } else {
            None
        }
    }

    /// Both parties, buyer first.
    pub fn parties(&self) -> [UserId; 2] {
        [self.buyer, self.seller]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn conversation(buyer: UserId, seller: UserId) -> Conversation {
        Conversation {
            id: ConversationId::from_uuid(Uuid::from_u128(1)),
            buyer,
            seller,
            listing: None,
            created_at: Timestamp::from_millis(0),
            last_activity_at: Timestamp::from_millis(0),
            last_seq: Seq::ZERO,
        }
    }

    #[test]
    fn only_the_two_parties_have_a_role() {
        let [buyer, seller, outsider] = [1, 2, 3].map(|n| UserId::from_uuid(Uuid::from_u128(n)));
        let conv = conversation(buyer, seller);
        assert_eq!(conv.role_of(buyer), Some(Role::Buyer));
        assert_eq!(conv.role_of(seller), Some(Role::Seller));
        assert_eq!(conv.role_of(outsider), None);
    }

    #[test]
    fn listing_ids_are_validated() {
        assert!(ListingId::parse("lst_123:abc-9.x").is_ok());
        assert_eq!(ListingId::parse("").unwrap_err().reason, "empty");
        assert_eq!(ListingId::parse("a b").unwrap_err().reason, "invalid_characters");
        assert_eq!(ListingId::parse("1' OR '1'='1").unwrap_err().reason, "invalid_characters");
        assert_eq!(ListingId::parse(&"x".repeat(129)).unwrap_err().reason, "too_long");
    }
}
