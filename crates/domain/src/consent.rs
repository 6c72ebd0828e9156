//! Consent: the optional purposes a user may agree to, and where an agreement came from.
//! Every purpose is off until the user turns it on, and stays off while the user has not
//! accepted the current privacy policy.

/// An optional processing purpose: something Parley does with a user's data only with their
/// consent. Each broadcast kind is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConsentPurpose {
    /// Mail about new Parley features and changes to the marketplace.
    ProductNews,
    /// Mail with offers and promotions from the marketplace.
    Offers,
}

impl ConsentPurpose {
    /// Every purpose.
    pub const ALL: [ConsentPurpose; 2] = [Self::ProductNews, Self::Offers];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProductNews => "product_news",
            Self::Offers => "offers",
        }
    }

    /// The purpose with this name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// What the purpose is, in a sentence a user reads before agreeing.
    pub fn description(self) -> &'static str {
        match self {
            Self::ProductNews => "Occasional mail about new Parley features and changes to the marketplace.",
            Self::Offers => "Mail with offers and promotions from the marketplace.",
        }
    }
}

impl std::fmt::Display for ConsentPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Through which channel a user accepted the policy or changed a consent: part of its proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentSource {
    /// The sign-up form.
    SignUp,
    /// The user's settings (the API, with their session).
    Settings,
    /// The unsubscribe link of a broadcast mail.
    UnsubscribeLink,
}

impl ConsentSource {
    /// Every source.
    pub const ALL: [ConsentSource; 3] = [Self::SignUp, Self::Settings, Self::UnsubscribeLink];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "sign_up",
            Self::Settings => "settings",
            Self::UnsubscribeLink => "unsubscribe_link",
        }
    }

    /// The source with this name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for purpose in ConsentPurpose::ALL {
            assert_eq!(ConsentPurpose::parse(purpose.as_str()), Some(purpose));
        }
        for source in ConsentSource::ALL {
            assert_eq!(ConsentSource::parse(source.as_str()), Some(source));
        }
        assert_eq!(ConsentPurpose::parse("OFFERS"), None);
    }
}
