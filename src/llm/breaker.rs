//! A per-campaign circuit breaker: after a failure the LLM is left alone for a while
//! (10 s, doubling up to 5 min), so a dead or slow server costs one timeout, not one per
//! event. It also knows when a campaign *starts* failing and when it recovers, which is
//! when the GM is told — once each way, never per event.

use crate::store::CampaignId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, Default)]
struct State {
    failures: u32,
    open_until: Option<Instant>,
}

/// The breaker.
#[derive(Debug)]
pub struct Breaker {
    base: Duration,
    max: Duration,
    inner: Mutex<HashMap<CampaignId, State>>,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker::new(Duration::from_secs(10), Duration::from_secs(300))
    }
}

impl Breaker {
    pub fn new(base: Duration, max: Duration) -> Self {
        Breaker {
            base,
            max,
            inner: Mutex::new(HashMap::new()),
        }
    }

    fn with<R>(&self, key: CampaignId, f: impl FnOnce(&mut State) -> R) -> R {
        let mut m = self.inner.lock().expect("breaker poisoned");
        f(m.entry(key).or_default())
    }

    /// Whether the LLM may be asked now.
    pub fn allow(&self, key: CampaignId) -> bool {
        self.with(key, |s| s.open_until.is_none_or(|t| Instant::now() >= t))
    }

    /// Records a failure; true if the campaign was healthy until now.
    pub fn failure(&self, key: CampaignId) -> bool {
        let (base, max) = (self.base, self.max);
        self.with(key, |s| {
            let first = s.failures == 0;
            s.failures = s.failures.saturating_add(1);
            let wait = base.saturating_mul(1 << (s.failures - 1).min(16)).min(max);
            s.open_until = Some(Instant::now() + wait);
            first
        })
    }

    /// Records a success; true if the campaign was failing until now.
    pub fn success(&self, key: CampaignId) -> bool {
        self.with(key, |s| {
            let was = s.failures > 0;
            *s = State::default();
            was
        })
    }

    /// Whether the last attempt failed.
    pub fn is_failing(&self, key: CampaignId) -> bool {
        self.with(key, |s| s.failures > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_after_a_failure_and_reports_transitions_once() {
        let b = Breaker::new(Duration::from_millis(40), Duration::from_secs(60));
        assert!(b.allow(CampaignId(1)));
        assert!(b.failure(CampaignId(1)));
        assert!(!b.allow(CampaignId(1)));
        assert!(b.allow(CampaignId(2)), "campaigns are independent");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(b.allow(CampaignId(1)));
        assert!(
            !b.failure(CampaignId(1)),
            "still failing: not a new transition"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!b.allow(CampaignId(1)), "the second wait is twice as long");
        assert!(b.success(CampaignId(1)));
        assert!(!b.success(CampaignId(1)));
        assert!(b.allow(CampaignId(1)));
    }
}
