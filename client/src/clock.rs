//! Injectable time.
//!
//! Every expiry decision in the client takes "now" from a [`Clock`], and every wait (lease
//! polling, cool-downs, background write retries, waiter deadlines) goes through
//! [`Clock::sleep`], so tests, the conformance suite and `wxopen demo` move time instead of
//! sleeping: [`ManualClock`] is moved by hand, [`TokioClock`] follows tokio's clock (so
//! `tokio::time::pause` and `advance` drive wall time and waits together).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A boxed sleep, as returned by [`Clock::sleep`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of wall-clock time and of waits.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// The current time as whole seconds since the Unix epoch (0 for times before it).
    fn unix_seconds(&self) -> u64 {
        unix_seconds(self.now())
    }

    /// The current time as milliseconds since the Unix epoch (0 for times before it).
    fn unix_millis(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// Waits for `duration`. The default is `tokio::time::sleep`, which `tokio::time::pause`
    /// makes deterministic.
    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Wall-clock time that follows tokio's clock: `start` plus the tokio time elapsed since the
/// clock was made. Under `tokio::time::pause` both the time and every sleep move only when
/// tokio's clock does (auto-advance or `tokio::time::advance`), so concurrency tests are
/// deterministic. Clones share the same origin.
#[derive(Debug, Clone)]
pub struct TokioClock {
    start: SystemTime,
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads `start` now and moves with tokio's clock.
    pub fn new(start: SystemTime) -> Self {
        Self {
            start,
            origin: tokio::time::Instant::now(),
        }
    }

    /// A clock that reads `secs` seconds after the Unix epoch now.
    pub fn at_unix(secs: u64) -> Self {
        Self::new(UNIX_EPOCH + Duration::from_secs(secs))
    }
}

impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        self.start + self.origin.elapsed()
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
