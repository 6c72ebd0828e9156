//! Per-key caps on concurrent things (connections per IP, sockets per user): a [`Slot`] is a
//! place in the count and gives it back when dropped.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Open slots per key.
#[derive(Debug)]
pub struct SlotCounter<K> {
    open: Mutex<HashMap<K, usize>>,
}

/// One taken slot.
#[derive(Debug)]
pub struct Slot<K: Eq + Hash + Clone> {
    counter: Arc<SlotCounter<K>>,
    key: K,
}

impl<K: Eq + Hash + Clone> SlotCounter<K> {
    /// An empty counter.
    pub fn new() -> Self {
        Self { open: Mutex::new(HashMap::new()) }
    }

    /// Takes a slot for `key` if it holds fewer than `max`.
    pub fn try_acquire(self: &Arc<Self>, key: K, max: usize) -> Option<Slot<K>> {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(key.clone()).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot { counter: Arc::clone(self), key })
    }
}

impl<K: Eq + Hash + Clone> Default for SlotCounter<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Eq + Hash + Clone> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut open = self.counter.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_per_key_and_returned_on_drop() {
        let counter = Arc::new(SlotCounter::new());
        let first = counter.try_acquire("a", 2).unwrap();
        let _second = counter.try_acquire("a", 2).unwrap();
        assert!(counter.try_acquire("a", 2).is_none());
        assert!(counter.try_acquire("b", 2).is_some());
        drop(first);
        assert!(counter.try_acquire("a", 2).is_some());
    }
}
