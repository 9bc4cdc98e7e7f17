//! The one clock. Every wall-clock read in the program goes through [`Clock`], which
//! maps tokio's monotonic `Instant` onto epoch milliseconds. Under
//! `tokio::time::pause` the whole runtime (turn deadlines included) follows the test's
//! time, so timeouts are tested without sleeping.

use dicebard_engine::Timestamp;
use std::time::Duration;
use tokio::time::Instant;

/// Epoch milliseconds, derived from tokio's clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_instant: Instant,
    base_ms: u64,
}

impl Clock {
    /// The real clock: reads the system time once, then follows tokio's `Instant`.
    pub fn system() -> Clock {
        let base_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Clock {
            base_instant: Instant::now(),
            base_ms,
        }
    }

    /// A clock that reads `ms` now (tests).
    pub fn starting_at(ms: u64) -> Clock {
        Clock {
            base_instant: Instant::now(),
            base_ms: ms,
        }
    }

    pub fn now(&self) -> Timestamp {
        Timestamp(self.base_ms + self.base_instant.elapsed().as_millis() as u64)
    }

    /// The tokio instant at which this clock will read `t`.
    pub fn instant_at(&self, t: Timestamp) -> Instant {
        let now = self.now();
        Instant::now() + Duration::from_millis(now.until(t))
    }
}
