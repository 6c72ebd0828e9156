//! The one error type for values that fail validation: it names the field and the rule, and
//! never echoes the rejected value (which may be a password or an email address).

/// A value was rejected. `field` is the input field, `reason` a stable `snake_case` rule name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    /// The input field that was rejected, e.g. `handle`.
    pub field: &'static str,
    /// The rule it broke, e.g. `too_short`.
    pub reason: &'static str,
}

impl ValidationError {
    /// A rejection of `field` for breaking `reason`.
    pub const fn new(field: &'static str, reason: &'static str) -> Self {
        Self { field, reason }
    }
}

/// Checks an opaque identifier supplied by a client or a marketplace: 1 to `max_len` ASCII
/// letters and digits, plus the characters in `extra`.
pub fn check_identifier(field: &'static str, input: &str, max_len: usize, extra: &[char]) -> Result<(), ValidationError> {
    if input.is_empty() {
        return Err(ValidationError::new(field, "empty"));
    }
    if input.len() > max_len {
        return Err(ValidationError::new(field, "too_long"));
    }
    if !input.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(&c)) {
        return Err(ValidationError::new(field, "invalid_characters"));
    }
    Ok(())
}
