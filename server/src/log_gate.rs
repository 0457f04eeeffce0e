//! [`LogGate`]: at most one warn line per interval for something an outsider can repeat at
//! will (bad signatures, a full listener, failed accepts); the lines it holds back are counted
//! and reported by the next one. Metrics count every occurrence regardless.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Lets one line through per interval.
#[derive(Debug)]
pub(crate) struct LogGate {
    interval_ms: u64,
    /// When the next line may be written (ms on [`now_ms`]'s clock).
    next_ms: AtomicU64,
    /// Lines held back since the last one written.
    held: AtomicU64,
}

impl LogGate {
    /// A gate letting one line through per `interval`.
    pub(crate) const fn new(interval: Duration) -> Self {
        Self {
            interval_ms: interval.as_millis() as u64,
            next_ms: AtomicU64::new(0),
            held: AtomicU64::new(0),
        }
    }

    /// `Some(lines held back since the last one)` when a line may be written at `now_ms`;
    /// `None` (and one more held back) otherwise.
    pub(crate) fn pass_at(&self, now_ms: u64) -> Option<u64> {
        let next = self.next_ms.load(Ordering::Relaxed);
        if now_ms >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now_ms.saturating_add(self.interval_ms),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Some(self.held.swap(0, Ordering::Relaxed));
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// [`pass_at`](Self::pass_at) now.
    pub(crate) fn pass(&self) -> Option<u64> {
        self.pass_at(now_ms())
    }
}

/// Milliseconds since the first call, on tokio's clock (so paused-time tests control it).
fn now_ms() -> u64 {
    static START: OnceLock<tokio::time::Instant> = OnceLock::new();
    let start = *START.get_or_init(tokio::time::Instant::now);
    u64::try_from(start.elapsed().as_millis())
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_and_the_held_back_ones_are_counted() {
        let g = LogGate::new(Duration::from_secs(10));
        assert_eq!(g.pass_at(1), Some(0));
        for t in [2, 500, 10_000] {
            assert_eq!(g.pass_at(t), None, "{t}");
        }
        assert_eq!(g.pass_at(10_001), Some(3));
        assert_eq!(g.pass_at(10_002), None);
        assert_eq!(g.pass_at(30_000), Some(1));
        assert_eq!(g.pass_at(30_000), None);
    }
}
