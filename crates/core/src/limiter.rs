//! A keyed rate limiter: one token bucket per key (user, IP address), held in memory on this
//! node. Buckets that have refilled are forgotten, so memory stays bounded by active keys.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use parley_domain::Timestamp;
use parley_domain::rate::{RatePolicy, TokenBucket};

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

#[cfg(test)]
mod tests {
    use super::*;

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
