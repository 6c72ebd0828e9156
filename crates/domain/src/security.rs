//! The vocabulary of account security: what happened to an account (security events), where a
//! request came from (device label and coarse network), how sessions are carried, and the
//! back-off rule for failed logins.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::time::Timestamp;

/// Something that happened to an account, recorded for its owner to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityEventKind {
    /// The account was created.
    AccountCreated,
    /// A login succeeded.
    LoginSucceeded,
    /// A login with a wrong password, code or passkey failed.
    LoginFailed,
    /// Repeated failures locked the account for a while.
    AccountLocked,
    /// A login succeeded from a device and network not seen before.
    NewDeviceLogin,
    /// A session was closed by logout.
    LoggedOut,
    /// A session was revoked from another one.
    SessionRevoked,
    /// The password was changed.
    PasswordChanged,
    /// TOTP two-factor authentication was turned on.
    MfaEnabled,
    /// TOTP two-factor authentication was turned off.
    MfaDisabled,
    /// A one-time recovery code was used.
    RecoveryCodeUsed,
    /// A new set of recovery codes replaced the old one.
    RecoveryCodesReplaced,
    /// A passkey was registered.
    PasskeyAdded,
    /// A passkey was removed.
    PasskeyRemoved,
    /// The email address was changed.
    EmailChanged,
    /// An operator removed every second factor and ended every session (account recovery).
    FactorsReset,
}

impl SecurityEventKind {
    /// Every kind, in a stable order.
    pub const ALL: [SecurityEventKind; 16] = [
        Self::AccountCreated,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::AccountLocked,
        Self::NewDeviceLogin,
        Self::LoggedOut,
        Self::SessionRevoked,
        Self::PasswordChanged,
        Self::MfaEnabled,
        Self::MfaDisabled,
        Self::RecoveryCodeUsed,
        Self::RecoveryCodesReplaced,
        Self::PasskeyAdded,
        Self::PasskeyRemoved,
        Self::EmailChanged,
        Self::FactorsReset,
    ];

    /// The stable name stored and shown on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountCreated => "account_created",
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::AccountLocked => "account_locked",
            Self::NewDeviceLogin => "new_device_login",
            Self::LoggedOut => "logged_out",
            Self::SessionRevoked => "session_revoked",
            Self::PasswordChanged => "password_changed",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaDisabled => "mfa_disabled",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::RecoveryCodesReplaced => "recovery_codes_replaced",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::EmailChanged => "email_changed",
            Self::FactorsReset => "factors_reset",
        }
    }

    /// The kind with this stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// Whether the owner is told by email: account creation, every credential change, a new
    /// device and a lockout. Routine logins and logouts are only listed.
    pub fn is_mailed(self) -> bool {
        matches!(
            self,
            Self::AccountCreated
                | Self::AccountLocked
                | Self::NewDeviceLogin
                | Self::PasswordChanged
                | Self::MfaEnabled
                | Self::MfaDisabled
                | Self::RecoveryCodeUsed
                | Self::RecoveryCodesReplaced
                | Self::PasskeyAdded
                | Self::PasskeyRemoved
                | Self::EmailChanged
                | Self::FactorsReset
        )
    }
}

impl fmt::Display for SecurityEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The network a request came from, coarsened so it locates a user no closer than their
/// provider: an IPv4 address to its /24, an IPv6 address to its /48.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Network(String);

impl Network {
    /// The network of `ip` (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                Self(format!("{a}.{b}.{c}.0/24"))
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                Self(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
            }
        }
    }

    /// A network read back from storage.
    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }

    /// The network in CIDR notation.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A short, human label for the device a session was opened on: given by the client, or taken
/// from its `User-Agent`. Control characters are dropped and the length is capped, so a label
/// is safe to show and to put in an email.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceLabel(String);

impl DeviceLabel {
    /// The longest label kept, in characters.
    pub const MAX_CHARS: usize = 64;

    /// A label from client-supplied text; empty or blank text gives "unknown device".
    pub fn from_client(text: &str) -> Self {
        let cleaned: String = text.chars().filter(|c| !c.is_control()).take(Self::MAX_CHARS).collect();
        let trimmed = cleaned.trim();
        if trimmed.is_empty() { Self::unknown() } else { Self(trimmed.to_owned()) }
    }

    /// The label of a change made by Parley's operators rather than from a device.
    pub fn operator() -> Self {
        Self("Parley support".to_owned())
    }

    /// The label of a device that said nothing about itself.
    pub fn unknown() -> Self {
        Self("unknown device".to_owned())
    }

    /// A label read back from storage.
    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }

    /// The label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a request came from, as far as the account's owner is shown it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientContext {
    /// The address (kept, sealed, only in the owner's security events).
    pub ip: IpAddr,
    /// The coarse network.
    pub network: Network,
    /// The device label.
    pub device: DeviceLabel,
}

/// How a session token travels: as a bearer header (API clients) or in a cookie (the web
/// client, which then also needs a CSRF token on every unsafe request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionKind {
    /// `Authorization: Bearer`.
    Bearer,
    /// An HttpOnly, Secure, SameSite=Strict cookie.
    Cookie,
}

impl SessionKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "bearer",
            Self::Cookie => "cookie",
        }
    }

    /// The kind with this stored name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "bearer" => Some(Self::Bearer),
            "cookie" => Some(Self::Cookie),
            _ => None,
        }
    }
}

/// Exponential back-off after failed logins: the first few failures are free, then each one
/// doubles the wait before the next attempt is even checked, up to a ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Consecutive failures allowed without any wait.
    pub free_failures: u32,
    /// The wait after the first failure past the free ones.
    pub base: Duration,
    /// The longest wait.
    pub ceiling: Duration,
}

impl Backoff {
    /// The rule for logins: four free failures, then 15 s, 30 s, 60 s ... up to one hour.
    pub const LOGIN: Backoff = Backoff { free_failures: 4, base: Duration::from_secs(15), ceiling: Duration::from_secs(60 * 60) };

    /// The rule for one client network: more free failures (an office or a carrier shares an
    /// address), a shorter ceiling.
    pub const LOGIN_PER_NETWORK: Backoff =
        Backoff { free_failures: 10, base: Duration::from_secs(5), ceiling: Duration::from_secs(15 * 60) };

    /// How long to wait after the `failures`-th consecutive failure (zero while free).
    pub fn delay_after(self, failures: u32) -> Duration {
        let Some(excess) = failures.checked_sub(self.free_failures + 1) else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(excess.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.ceiling)
    }

    /// Until when attempts are refused after the `failures`-th failure at `at`, if at all.
    pub fn locked_until(self, failures: u32, at: Timestamp) -> Option<Timestamp> {
        let delay = self.delay_after(failures);
        (!delay.is_zero()).then(|| at.plus(delay))
    }

    /// Whether the `failures`-th failure is the one that starts the first wait (the moment to
    /// tell the owner, once, rather than at every later failure).
    pub fn is_first_lock(self, failures: u32) -> bool {
        failures == self.free_failures + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_round_trip_through_their_names() {
        for kind in SecurityEventKind::ALL {
            assert_eq!(SecurityEventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(SecurityEventKind::parse("nonsense"), None);
    }

    #[test]
    fn networks_are_coarse() {
        assert_eq!(Network::of("203.0.113.77".parse().unwrap()).as_str(), "203.0.113.0/24");
        assert_eq!(Network::of("::ffff:198.51.100.9".parse().unwrap()).as_str(), "198.51.100.0/24");
        assert_eq!(Network::of("2001:db8:abcd:12::1".parse().unwrap()).as_str(), "2001:db8:abcd::/48");
    }

    #[test]
    fn device_labels_drop_control_characters_and_are_capped() {
        assert_eq!(DeviceLabel::from_client("Firefox\r\nBcc: x@evil").as_str(), "FirefoxBcc: x@evil");
        assert_eq!(DeviceLabel::from_client(&"a".repeat(500)).as_str().chars().count(), DeviceLabel::MAX_CHARS);
        assert_eq!(DeviceLabel::from_client("  \t "), DeviceLabel::unknown());
    }

    #[test]
    fn backoff_is_free_then_doubles_up_to_the_ceiling() {
        let rule = Backoff::LOGIN;
        assert_eq!(rule.delay_after(0), Duration::ZERO);
        assert_eq!(rule.delay_after(4), Duration::ZERO);
        assert_eq!(rule.delay_after(5), Duration::from_secs(15));
        assert_eq!(rule.delay_after(6), Duration::from_secs(30));
        assert_eq!(rule.delay_after(7), Duration::from_secs(60));
        assert_eq!(rule.delay_after(20), Duration::from_secs(3600));
        assert_eq!(rule.delay_after(u32::MAX), Duration::from_secs(3600));
        assert!(rule.is_first_lock(5));
        assert!(!rule.is_first_lock(6));
        let at = Timestamp::from_millis(1_000);
        assert_eq!(rule.locked_until(4, at), None);
        assert_eq!(rule.locked_until(5, at), Some(Timestamp::from_millis(16_000)));
    }
}
