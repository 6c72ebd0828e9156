//! Account values: the public handle (a pseudonym), the private email address and the rules
//! a new password must pass.
//!
//! Handles are the only identity other users ever see. They are ASCII so that look-alike
//! characters cannot impersonate another user, and unique case-insensitively through
//! [`HandleKey`]. Email addresses are personal data: they are validated and normalised here,
//! and encrypted before they reach storage.

use std::fmt;

use crate::secret::Secret;
use crate::validation::ValidationError;

/// Handles that would let a user pose as staff or as the system.
const RESERVED_HANDLES: &[&str] = &[
    "admin",
    "administrator",
    "deleted",
    "deleted-user",
    "help",
    "moderator",
    "mod",
    "parley",
    "root",
    "security",
    "staff",
    "support",
    "system",
];

/// The most common passwords of eight characters or more, lower-cased, one per line. Taken from
/// the password frequency list shipped in the `zxcvbn` crate 3.1.1 (MIT licence), top 30,000.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// A user's public pseudonym, as they typed it (case kept for display).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Handle(String);

/// The case-folded form of a handle: two handles with the same key are the same handle.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HandleKey(String);

impl Handle {
    /// Handles of erased accounts start with this; nobody may choose one.
    pub const TOMBSTONE_PREFIX: &'static str = "deleted-user-";

    /// The handle of an erased account, from random text: says what happened and nothing about
    /// who it was.
    pub fn tombstone(random: &str) -> Self {
        Self(format!("{}{random}", Self::TOMBSTONE_PREFIX))
    }

    /// Shortest allowed handle, in characters.
    pub const MIN_LEN: usize = 3;
    /// Longest allowed handle, in characters.
    pub const MAX_LEN: usize = 32;

    /// Validates a handle: 3 to 32 ASCII letters, digits, `_`, `.` or `-`, starting and ending
    /// with a letter or digit, not reserved. Taken exactly as given: white space is an invalid
    /// character, as the API's schema says.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let reject = |reason| Err(ValidationError::new("handle", reason));
        let handle = input;
        if handle.len() < Self::MIN_LEN {
            return reject("too_short");
        }
        if handle.len() > Self::MAX_LEN {
            return reject("too_long");
        }
        if !handle.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
            return reject("invalid_characters");
        }
        let bytes = handle.as_bytes();
        if !bytes[0].is_ascii_alphanumeric() || !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
            return reject("must_start_and_end_alphanumeric");
        }
        let lowered = handle.to_ascii_lowercase();
        if RESERVED_HANDLES.contains(&lowered.as_str()) || lowered.starts_with(Self::TOMBSTONE_PREFIX) {
            return reject("reserved");
        }
        Ok(Self(handle.to_owned()))
    }

    /// Rebuilds a handle read back from storage, where it was validated on the way in.
    pub fn from_trusted(handle: String) -> Self {
        Self(handle)
    }

    /// The handle as the user typed it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which the handle is unique.
    pub fn key(&self) -> HandleKey {
        HandleKey(self.0.to_ascii_lowercase())
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Handles are public pseudonyms, so they may appear in logs.
        write!(f, "Handle({})", self.0)
    }
}

impl HandleKey {
    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A normalised email address. Personal data: its `Debug` is redacted and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Longest address SMTP allows (RFC 5321 path limit minus the angle brackets).
    pub const MAX_LEN: usize = 254;

    /// Validates and normalises (lower-cases) an email address.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let reject = |reason| Err(ValidationError::new("email", reason));
        let address = input.to_lowercase();
        if address.len() > Self::MAX_LEN {
            return reject("too_long");
        }
        let Some((local, domain)) = address.rsplit_once('@') else {
            return reject("invalid_format");
        };
        if local.is_empty() || local.len() > 64 || !local.chars().all(is_local_part_char) {
            return reject("invalid_format");
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return reject("invalid_format");
        }
        if !is_valid_domain(domain) {
            return reject("invalid_domain");
        }
        Ok(Self(address))
    }

    /// Rebuilds an address decrypted from storage, where it was validated on the way in.
    pub fn from_trusted(address: String) -> Self {
        Self(address)
    }

    /// The normalised address. Every caller is deliberately handling personal data.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The part before the `@`, used to keep it out of passwords.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or(&self.0, |(local, _)| local)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress([redacted])")
    }
}

fn is_local_part_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
}

fn is_valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || domain.len() > 253 {
        return false;
    }
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let tld = labels[labels.len() - 1];
    labels.iter().all(label_ok) && tld.chars().count() >= 2 && !tld.chars().all(|c| c.is_ascii_digit())
}

/// A password chosen at sign-up, checked against the rules (never stored: it is hashed).
pub struct NewPassword(Secret<String>);

impl NewPassword {
    /// Shortest allowed password, in characters (NIST SP 800-63B, ASVS 6.2.1).
    pub const MIN_CHARS: usize = 8;
    /// Longest allowed password, in characters (ASVS 6.2.9 asks for at least 64).
    pub const MAX_CHARS: usize = 128;

    /// Checks length, the common-password list and context words (the handle, the email's
    /// local part, the product name). There are no composition rules, by NIST's advice.
    /// The password is taken byte-exact: no trimming, no case folding.
    pub fn parse(password: &str, handle: &Handle, email: Option<&EmailAddress>) -> Result<Self, ValidationError> {
        let reject = |reason| Err(ValidationError::new("password", reason));
        let chars = password.chars().count();
        if chars < Self::MIN_CHARS {
            return reject("too_short");
        }
        if chars > Self::MAX_CHARS {
            return reject("too_long");
        }
        let lowered = password.to_lowercase();
        if is_common_password(&lowered) {
            return reject("too_common");
        }
        let context = [handle.key().0, email.map(|e| e.local_part().to_owned()).unwrap_or_default(), "parley".to_owned()];
        if context.iter().any(|word| word.chars().count() >= 4 && lowered.contains(word.as_str())) {
            return reject("contains_personal_or_product_name");
        }
        Ok(Self(Secret::new(password.to_owned())))
    }

    /// The password, for hashing.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

fn is_common_password(lowered: &str) -> bool {
    COMMON_PASSWORDS.lines().any(|common| common == lowered)
}

/// What a user typed to identify themselves at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// A handle (no `@`).
    Handle(HandleKey),
    /// An email address.
    Email(EmailAddress),
}

impl Login {
    /// Parses a login: anything with an `@` is an email address, the rest a handle; surrounding
    /// white space (from autocomplete) is ignored, unlike at sign-up. Invalid
    /// input is reported as a plain validation error; callers answer it like a wrong password
    /// so the response says nothing about which accounts exist.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        if input.contains('@') {
            EmailAddress::parse(input.trim()).map(Login::Email)
        } else {
            let trimmed = input.trim();
            let handle_like = !trimmed.is_empty()
                && trimmed.len() <= Handle::MAX_LEN
                && trimmed.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !handle_like {
                return Err(ValidationError::new("login", "invalid_format"));
            }
            Ok(Login::Handle(HandleKey(trimmed.to_ascii_lowercase())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_follow_the_rules() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("alice", Ok("alice")),
            ("Bob_99", Ok("Bob_99")),
            (" Bob_99", Err("invalid_characters")),
            ("a.b-c", Ok("a.b-c")),
            ("ab", Err("too_short")),
            (&"x".repeat(33), Err("too_long")),
            ("bad handle", Err("invalid_characters")),
            ("ｊｏｈｎ", Err("invalid_characters")),
            ("bob'; DROP TABLE users;--", Err("invalid_characters")),
            ("_alice", Err("must_start_and_end_alphanumeric")),
            ("alice-", Err("must_start_and_end_alphanumeric")),
            ("Admin", Err("reserved")),
            ("Deleted-User-1234", Err("reserved")),
        ];
        for (input, expected) in cases {
            let got = Handle::parse(input).map(|h| h.as_str().to_owned()).map_err(|e| e.reason);
            assert_eq!(got, expected.map(str::to_owned), "input {input:?}");
        }
    }

    #[test]
    fn handle_keys_ignore_case() {
        let upper = Handle::parse("Alice").unwrap();
        let lower = Handle::parse("alice").unwrap();
        assert_eq!(upper.key(), lower.key());
        assert_eq!(upper.as_str(), "Alice");
    }

    #[test]
    fn emails_are_validated_and_normalised() {
        let ok = EmailAddress::parse("Jane.Doe+chat@Example.COM").unwrap();
        assert_eq!(ok.expose(), "jane.doe+chat@example.com");
        for bad in [
            "",
            "plain",
            "@example.com",
            "jane@",
            "jane@localhost",
            "jane@@example.com",
            "jane doe@example.com",
            "jane@exa mple.com",
            "jane@-example.com",
            "jane..d@example.com",
            "jane@example.123",
            " jane@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(250))).unwrap_err().reason, "too_long");
    }

    #[test]
    fn email_debug_is_redacted() {
        let email = EmailAddress::parse("secret-person@example.com").unwrap();
        assert!(!format!("{email:?}").contains("secret-person"));
    }

    #[test]
    fn passwords_follow_nist_rules() {
        let handle = Handle::parse("marketfan").unwrap();
        let email = EmailAddress::parse("jane.smith@example.com").unwrap();
        let check = |p: &str| NewPassword::parse(p, &handle, Some(&email)).map(|_| ()).map_err(|e| e.reason);
        assert_eq!(check("short7!"), Err("too_short"));
        assert_eq!(check("eight ch"), Ok(()));
        assert_eq!(check(&"x".repeat(128)), Ok(()));
        assert_eq!(check(&"x".repeat(129)), Err("too_long"));
        assert_eq!(check("password1"), Err("too_common"));
        assert_eq!(check("PASSWORD1"), Err("too_common"));
        assert_eq!(check("iloveyou123"), Err("too_common"));
        assert_eq!(check("my marketfan pw"), Err("contains_personal_or_product_name"));
        assert_eq!(check("jane.smith!2024"), Err("contains_personal_or_product_name"));
        assert_eq!(check("Parley rocks 2026"), Err("contains_personal_or_product_name"));
        assert_eq!(check("correct horse battery staple"), Ok(()));
        assert_eq!(check("пароль-очень-длинный"), Ok(()));
        assert_eq!(check("        "), Ok(()), "spaces are allowed: no composition rules");
    }

    #[test]
    fn common_password_list_is_loaded() {
        assert!(COMMON_PASSWORDS.lines().count() > 10_000);
        assert!(is_common_password("12345678"));
    }

    #[test]
    fn login_distinguishes_email_from_handle() {
        assert_eq!(Login::parse("Alice").unwrap(), Login::Handle(Handle::parse("alice").unwrap().key()));
        assert!(matches!(Login::parse("a@example.com").unwrap(), Login::Email(_)));
        assert_eq!(Login::parse(" a@example.com\n").unwrap(), Login::parse("a@example.com").unwrap(), "autocomplete spaces");
        assert!(Login::parse("").is_err());
        assert!(Login::parse("a\u{0}b").is_err(), "nothing a handle cannot hold reaches a query");
        assert!(Login::parse("robert'); --").is_err());
    }
}
