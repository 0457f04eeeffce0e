//! Work that outlives the request that started it (the release check's follow-up, relays of
//! authorization events): bounded in number, and waited for at shutdown.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// Most background tasks running at once; past it new ones are refused (and counted), so a
/// flood of messages cannot pile up unbounded work.
pub const MAX_BACKGROUND_TASKS: usize = 1024;

/// Spawns and counts background tasks.
#[derive(Debug, Default, Clone)]
pub(crate) struct Background {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    running: AtomicUsize,
    idle: Notify,
}

struct Running(Arc<Inner>);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Background {
    /// Spawns `task`; `false` (and nothing spawned) when [`MAX_BACKGROUND_TASKS`] are running.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) -> bool {
        let taken = self
            .inner
            .running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_BACKGROUND_TASKS).then_some(n + 1)
            })
            .is_ok();
        if taken {
            let guard = Running(self.inner.clone());
            tokio::spawn(async move {
                let _guard = guard;
                task.await;
            });
        }
        taken
    }

    /// How many are running.
    pub(crate) fn running(&self) -> usize {
        self.inner.running.load(Ordering::Acquire)
    }

    /// Waits until none is running, at most `timeout`; `true` if none is.
    pub(crate) async fn drain(&self, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let idle = self.inner.idle.notified();
                if self.running() == 0 {
                    return;
                }
                idle.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bounded_and_drained() {
        let bg = Background::default();
        let gate = Arc::new(Notify::new());
        for _ in 0..MAX_BACKGROUND_TASKS {
            let g = gate.clone();
            assert!(bg.spawn(async move { g.notified().await }));
        }
        assert!(!bg.spawn(async {}));
        tokio::task::yield_now().await;
        assert!(!bg.drain(Duration::from_millis(10)).await);
        gate.notify_waiters();
        assert!(bg.drain(Duration::from_secs(1)).await);
        assert_eq!(bg.running(), 0);
        assert!(bg.spawn(async {}));
    }
}
