//! Keyed limits held in memory on this node: a rate limiter (one token bucket per key: user,
//! IP address) and a failure back-off (consecutive failures per key, waits that double). State
//! that has recovered is forgotten, so memory stays bounded by active keys.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use parley_domain::rate::{RatePolicy, TokenBucket};
use parley_domain::{Backoff, Timestamp};

/// Token buckets by key.
pub struct KeyedLimiter<K> {
    policy: RatePolicy,
    buckets: Mutex<HashMap<K, TokenBucket>>,
}

impl<K: Eq + Hash> KeyedLimiter<K> {
    /// A limiter applying `policy` to each key separately.
    pub fn new(policy: RatePolicy) -> Self {
        Self { policy, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `key`, or says how long to wait.
    pub fn check(&self, key: K, now: Timestamp) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        buckets.entry(key).or_insert_with(|| TokenBucket::full(self.policy, now)).try_take(self.policy, now)
    }

    /// Returns the token `key` took for an action that turned out to be free.
    pub fn refund(&self, key: &K) {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(bucket) = buckets.get_mut(key) {
            bucket.give_back(self.policy);
        }
    }

    /// Forgets buckets that are full again.
    pub fn prune(&self, now: Timestamp) {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        buckets.retain(|_, bucket| !bucket.is_full_at(self.policy, now));
    }

    /// How many keys are tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

/// Consecutive failures per key, and the wait they impose ([`Backoff`]). A key whose last
/// failure is older than the back-off ceiling starts afresh.
pub struct FailureBackoff<K> {
    rule: Backoff,
    failures: Mutex<HashMap<K, Failures>>,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Timestamp,
}

impl<K: Eq + Hash> FailureBackoff<K> {
    /// A tracker applying `rule` to each key separately.
    pub fn new(rule: Backoff) -> Self {
        Self { rule, failures: Mutex::new(HashMap::new()) }
    }

    /// Whether `key` may try now, or how long it must wait.
    pub fn check(&self, key: &K, now: Timestamp) -> Result<(), Duration> {
        let failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match failures.get(key).and_then(|f| self.rule.locked_until(f.count, f.last)) {
            Some(until) if until > now => Err(until.since(now)),
            _ => Ok(()),
        }
    }

    /// Counts a failure of `key` at `now`.
    pub fn record_failure(&self, key: K, now: Timestamp) {
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = failures.entry(key).or_insert(Failures { count: 0, last: now });
        if now.since(entry.last) > self.rule.ceiling {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }

    /// Forgets keys whose failures are old enough not to count any more.
    pub fn prune(&self, now: Timestamp) {
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failures.retain(|_, f| now.since(f.last) <= self.rule.ceiling);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_per_key_and_are_forgotten() {
        let rule = Backoff { free_failures: 2, base: Duration::from_secs(10), ceiling: Duration::from_secs(100) };
        let backoff = FailureBackoff::new(rule);
        let t0 = Timestamp::from_millis(0);
        for _ in 0..2 {
            backoff.record_failure("a", t0);
            assert!(backoff.check(&"a", t0).is_ok());
        }
        backoff.record_failure("a", t0);
        assert_eq!(backoff.check(&"a", t0), Err(Duration::from_secs(10)));
        assert!(backoff.check(&"b", t0).is_ok());
        assert!(backoff.check(&"a", t0.plus(Duration::from_secs(10))).is_ok());
        backoff.record_failure("a", t0.plus(Duration::from_secs(10)));
        assert_eq!(backoff.check(&"a", t0.plus(Duration::from_secs(10))), Err(Duration::from_secs(20)));
        // Long after, the count starts again from zero.
        let later = t0.plus(Duration::from_secs(1000));
        backoff.record_failure("a", later);
        assert!(backoff.check(&"a", later).is_ok());
        backoff.prune(later.plus(Duration::from_secs(1000)));
        assert!(backoff.failures.lock().unwrap().is_empty());
    }

    #[test]
    fn keys_are_limited_separately_and_pruned_when_full() {
        let limiter = KeyedLimiter::new(RatePolicy::per_minute(1, 60));
        let t0 = Timestamp::from_millis(0);
        assert!(limiter.check("a", t0).is_ok());
        assert!(limiter.check("a", t0).is_err());
        assert!(limiter.check("b", t0).is_ok());
        limiter.prune(t0);
        assert_eq!(limiter.tracked(), 2);
        limiter.prune(t0.plus(Duration::from_secs(5)));
        assert_eq!(limiter.tracked(), 0);
    }
}
