//! The fake platform's clock.
//!
//! Every expiry inside [`FakeWeChat`](crate::FakeWeChat) (tickets, component and authorizer
//! tokens, pre-auth and auth codes) is measured on a [`FakeClock`], never on the wall clock, so a
//! test can jump two hours ahead in a microsecond. The clock is a cheap handle: clones share the
//! same instant, so the same clock can be handed to the client under test.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A manually driven clock, in milliseconds since the Unix epoch.
///
/// It never moves by itself: only [`FakeClock::advance`] and [`FakeClock::set_unix`] change it.
/// Clones share the instant (it is an `Arc<AtomicU64>`).
#[derive(Clone, Debug)]
pub struct FakeClock {
    millis: Arc<AtomicU64>,
}

impl FakeClock {
    /// A clock frozen at `unix_secs` seconds since the epoch.
    pub fn at_unix(unix_secs: u64) -> Self {
        Self {
            millis: Arc::new(AtomicU64::new(unix_secs.saturating_mul(1000))),
        }
    }

    /// A clock frozen at the current wall-clock time (so timestamps in pushes look real and pass
    /// a receiver's freshness window when the receiver uses the wall clock).
    pub fn starting_now() -> Self {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Self {
            millis: Arc::new(AtomicU64::new(millis)),
        }
    }

    /// Current time in whole seconds since the epoch.
    pub fn now_unix(&self) -> u64 {
        self.now_millis() / 1000
    }

    /// Current time in milliseconds since the epoch.
    pub fn now_millis(&self) -> u64 {
        self.millis.load(Ordering::SeqCst)
    }

    /// Moves the clock forward by `by` (millisecond resolution).
    pub fn advance(&self, by: Duration) {
        let add = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |m| {
                Some(m.saturating_add(add))
            });
    }

    /// Sets the clock to `unix_secs` seconds since the epoch (may move backwards).
    pub fn set_unix(&self, unix_secs: u64) {
        self.millis
            .store(unix_secs.saturating_mul(1000), Ordering::SeqCst);
    }

    /// Whether two handles share the same underlying instant.
    pub fn same_as(&self, other: &FakeClock) -> bool {
        Arc::ptr_eq(&self.millis, &other.millis)
    }
}

impl Default for FakeClock {
    fn default() -> Self {
        Self::starting_now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_instant() {
        let a = FakeClock::at_unix(1_700_000_000);
        let b = a.clone();
        a.advance(Duration::from_secs(7200));
        assert_eq!(b.now_unix(), 1_700_007_200);
        assert!(a.same_as(&b));
        assert!(!a.same_as(&FakeClock::at_unix(1)));
        b.advance(Duration::from_millis(1500));
        assert_eq!(a.now_millis(), 1_700_007_201_500);
        assert_eq!(a.now_unix(), 1_700_007_201);
        a.set_unix(5);
        assert_eq!(b.now_unix(), 5);
    }
}
