//! Token-bucket arithmetic for rate limits. Pure: the caller passes the current time, so a
//! fake clock drives it in tests.

use std::time::Duration;

use crate::time::Timestamp;

/// How fast a bucket refills and how much it holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatePolicy {
    /// The burst: how many actions may happen at once after a quiet period.
    pub burst: u32,
    /// The sustained rate, in actions per hour.
    pub per_hour: u32,
}

impl RatePolicy {
    /// `burst` at once, `rate` a minute sustained.
    pub const fn per_minute(burst: u32, rate: u32) -> Self {
        Self { burst, per_hour: rate.saturating_mul(60) }
    }

    /// `burst` at once, `rate` an hour sustained.
    pub const fn per_hour(burst: u32, rate: u32) -> Self {
        Self { burst, per_hour: rate }
    }

    fn per_second(self) -> f64 {
        f64::from(self.per_hour) / 3600.0
    }
}

/// A bucket of tokens; each action takes one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    updated_at: Timestamp,
}

impl TokenBucket {
    /// A full bucket.
    pub fn full(policy: RatePolicy, now: Timestamp) -> Self {
        Self { tokens: f64::from(policy.burst), updated_at: now }
    }

    /// Takes one token, or says how long until one is available.
    pub fn try_take(&mut self, policy: RatePolicy, now: Timestamp) -> Result<(), Duration> {
        self.refill(policy, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let per_second = policy.per_second();
        if per_second <= 0.0 {
            return Err(Duration::from_secs(3600));
        }
        let wait = (1.0 - self.tokens) / per_second;
        Err(Duration::from_secs_f64(wait.max(0.001)))
    }

    /// Gives back a token taken for an action that turned out to cost nothing.
    pub fn give_back(&mut self, policy: RatePolicy) {
        self.tokens = (self.tokens + 1.0).min(f64::from(policy.burst));
    }

    /// Whether the bucket would be full at `now` (it can then be forgotten).
    pub fn is_full_at(&self, policy: RatePolicy, now: Timestamp) -> bool {
        let mut copy = *self;
        copy.refill(policy, now);
        copy.tokens >= f64::from(policy.burst)
    }

    fn refill(&mut self, policy: RatePolicy, now: Timestamp) {
        #[allow(clippy::cast_precision_loss, reason = "elapsed milliseconds fit f64's 52-bit mantissa for 142,000 years")]
        let elapsed_secs = now.since(self.updated_at).as_millis() as f64 / 1000.0;
        let refill = elapsed_secs * policy.per_second();
        self.tokens = (self.tokens + refill).min(f64::from(policy.burst));
        self.updated_at = self.updated_at.max(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RatePolicy = RatePolicy::per_minute(3, 60);

    #[test]
    fn burst_then_refill_at_the_sustained_rate() {
        let t0 = Timestamp::from_millis(0);
        let mut bucket = TokenBucket::full(POLICY, t0);
        for _ in 0..3 {
            assert!(bucket.try_take(POLICY, t0).is_ok());
        }
        let wait = bucket.try_take(POLICY, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
        assert!(bucket.try_take(POLICY, t0.plus(Duration::from_millis(500))).is_err());
        assert!(bucket.try_take(POLICY, t0.plus(Duration::from_secs(1))).is_ok());
    }

    #[test]
    fn a_bucket_never_holds_more_than_its_burst() {
        let t0 = Timestamp::from_millis(0);
        let mut bucket = TokenBucket::full(POLICY, t0);
        let later = t0.plus(Duration::from_secs(3600));
        assert!(bucket.is_full_at(POLICY, later));
        for _ in 0..3 {
            assert!(bucket.try_take(POLICY, later).is_ok());
        }
        assert!(bucket.try_take(POLICY, later).is_err());
    }

    #[test]
    fn a_token_given_back_is_usable_again_but_never_exceeds_the_burst() {
        let t0 = Timestamp::from_millis(0);
        let mut bucket = TokenBucket::full(POLICY, t0);
        for _ in 0..3 {
            bucket.try_take(POLICY, t0).unwrap();
        }
        bucket.give_back(POLICY);
        assert!(bucket.try_take(POLICY, t0).is_ok());
        assert!(bucket.try_take(POLICY, t0).is_err());
        let mut full = TokenBucket::full(POLICY, t0);
        full.give_back(POLICY);
        for _ in 0..3 {
            full.try_take(POLICY, t0).unwrap();
        }
        assert!(full.try_take(POLICY, t0).is_err());
    }

    #[test]
    fn hourly_rates_refill_slowly() {
        let policy = RatePolicy::per_hour(1, 20);
        let t0 = Timestamp::from_millis(0);
        let mut bucket = TokenBucket::full(policy, t0);
        assert!(bucket.try_take(policy, t0).is_ok());
        assert_eq!(bucket.try_take(policy, t0).unwrap_err(), Duration::from_secs(180));
        assert!(bucket.try_take(policy, t0.plus(Duration::from_secs(179))).is_err());
        assert!(bucket.try_take(policy, t0.plus(Duration::from_secs(180))).is_ok());
    }

    #[test]
    fn a_clock_going_backwards_does_not_add_tokens() {
        let t0 = Timestamp::from_millis(10_000);
        let mut bucket = TokenBucket::full(POLICY, t0);
        for _ in 0..3 {
            assert!(bucket.try_take(POLICY, t0).is_ok());
        }
        assert!(bucket.try_take(POLICY, Timestamp::from_millis(0)).is_err());
        assert!(bucket.try_take(POLICY, t0).is_err());
    }
}
