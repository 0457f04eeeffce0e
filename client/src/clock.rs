//! Injectable time.
//!
//! Every expiry decision in the client takes "now" from a [`Clock`], so tests, the conformance
//! suite and `wxopen demo` can move time with [`ManualClock`] instead of sleeping.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// The current time as whole seconds since the Unix epoch (0 for times before it).
    fn unix_seconds(&self) -> u64 {
        unix_seconds(self.now())
    }
}

/// Whole seconds since the Unix epoch; times before the epoch count as 0.
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to. Clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use wxopen_client::{Clock, ManualClock};
///
/// let clock = ManualClock::at_unix(1_700_000_000);
/// let shared = clock.clone();
/// clock.advance(Duration::from_secs(7200));
/// assert_eq!(shared.unix_seconds(), 1_700_007_200);
/// ```
#[derive(Clone, Default)]
pub struct ManualClock {
    millis: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock stopped at `time` (clamped to the Unix epoch).
    pub fn new(time: SystemTime) -> Self {
        let clock = Self::default();
        clock.set(time);
        clock
    }

    /// A clock stopped at `secs` seconds after the Unix epoch.
    pub fn at_unix(secs: u64) -> Self {
        Self::new(UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |cur| {
                Some(cur.saturating_add(ms))
            });
    }

    /// Sets the clock to `time` (may move backwards, which tests of clock skew need).
    pub fn set(&self, time: SystemTime) {
        let ms = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.millis.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.millis.load(Ordering::SeqCst))
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("unix_millis", &self.millis.load(Ordering::SeqCst))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_is_shared_and_moves_both_ways() {
        let c = ManualClock::at_unix(100);
        let d = c.clone();
        c.advance(Duration::from_millis(1500));
        assert_eq!(d.unix_seconds(), 101);
        d.set(UNIX_EPOCH + Duration::from_secs(50));
        assert_eq!(c.unix_seconds(), 50);
    }

    #[test]
    fn pre_epoch_is_zero() {
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(5)), 0);
        let c = ManualClock::new(UNIX_EPOCH - Duration::from_secs(5));
        assert_eq!(c.unix_seconds(), 0);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.unix_seconds() > 1_577_836_800);
    }
}
