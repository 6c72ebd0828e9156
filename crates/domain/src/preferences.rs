//! A user's privacy preferences: who may start a conversation with them, their "do not sell or
//! share" choice, which account mail they want; and the rule that decides first contact.

use crate::conversation::Role;

/// Who may start a new conversation with a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContactPolicy {
    /// Anyone.
    #[default]
    Anyone,
    /// Only buyers asking about one of the user's listings (the user is the seller).
    AboutMyListings,
    /// Nobody new; existing conversations go on.
    NobodyNew,
}

impl ContactPolicy {
    /// Every policy.
    pub const ALL: [ContactPolicy; 3] = [Self::Anyone, Self::AboutMyListings, Self::NobodyNew];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anyone => "anyone",
            Self::AboutMyListings => "about_my_listings",
            Self::NobodyNew => "nobody_new",
        }
    }

    /// The policy with this name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// Whether a new conversation in which the user would have `their_role`, about a listing or
    /// not, may be opened with them.
    pub fn allows(self, their_role: Role, about_a_listing: bool) -> bool {
        match self {
            Self::Anyone => true,
            Self::AboutMyListings => their_role == Role::Seller && about_a_listing,
            Self::NobodyNew => false,
        }
    }
}

/// A user's privacy preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    /// Who may start a conversation with them.
    pub contact_policy: ContactPolicy,
    /// "Do not sell or share my personal information" (CCPA): integrations must not receive
    /// their data beyond what running the conversation needs.
    pub do_not_sell: bool,
    /// Whether they want mail when their account is logged into from a new device.
    pub new_device_mail: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Self { contact_policy: ContactPolicy::Anyone, do_not_sell: false, new_device_mail: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_policies_decide_first_contact() {
        assert!(ContactPolicy::Anyone.allows(Role::Buyer, false));
        assert!(ContactPolicy::AboutMyListings.allows(Role::Seller, true));
        assert!(!ContactPolicy::AboutMyListings.allows(Role::Seller, false));
        assert!(!ContactPolicy::AboutMyListings.allows(Role::Buyer, true));
        assert!(!ContactPolicy::NobodyNew.allows(Role::Seller, true));
        for policy in ContactPolicy::ALL {
            assert_eq!(ContactPolicy::parse(policy.as_str()), Some(policy));
        }
    }
}
