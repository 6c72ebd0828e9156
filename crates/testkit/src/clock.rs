//! A clock that moves only when a test says so.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use parley_core::Clock;
use parley_domain::Timestamp;

/// A settable clock. Starts at 2026-01-01T00:00:00Z.
#[derive(Debug)]
pub struct FakeClock {
    millis: AtomicI64,
}

impl FakeClock {
    /// 2026-01-01T00:00:00Z in Unix milliseconds.
    pub const START: i64 = 1_767_225_600_000;

    /// A clock at [`FakeClock::START`].
    pub fn new() -> Self {
        Self { millis: AtomicI64::new(Self::START) }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Default for FakeClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.millis.load(Ordering::SeqCst))
    }
}
