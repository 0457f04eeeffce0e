//! Cross-instance refresh leases: taken before a fetch, renewed while it runs, released before
//! the refresh's outcome is published ([`LeaseGuard::release`]), or when the guard drops if the
//! refresh task is cancelled or panics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::error::Error;
use crate::jitter::JitterSource;
use crate::store::{StoreKey, TokenStore, Versioned};

use super::machine::jittered;

/// A held lease. [`LeaseGuard::release`] releases it; dropping it unreleased stops the renewal
/// and releases the lease in a spawned task.
#[derive(Debug)]
pub(crate) struct LeaseGuard {
    store: Arc<dyn TokenStore>,
    key: StoreKey,
    holder: String,
    ttl: Duration,
    lost: Arc<AtomicBool>,
    renewal: Option<tokio::task::JoinHandle<()>>,
    released: bool,
}

impl LeaseGuard {
    fn start(
        store: Arc<dyn TokenStore>,
        clock: Arc<dyn Clock>,
        key: StoreKey,
        holder: String,
        ttl: Duration,
    ) -> Self {
        let lost = Arc::new(AtomicBool::new(false));
        let renewal = {
            let (store, key, holder, lost) =
                (store.clone(), key.clone(), holder.clone(), lost.clone());
            tokio::spawn(async move {
                loop {
                    clock.sleep(ttl / 3).await;
                    match store.extend_lease(&key, &holder, ttl).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(key = %key, "refresh lease lost before the refresh finished");
                            lost.store(true, Ordering::SeqCst);
                            return;
                        }
                        Err(e) => {
                            tracing::warn!(key = %key, error = %e, "could not renew the refresh lease");
                        }
                    }
                }
            })
        };
        Self {
            store,
            key,
            holder,
            ttl,
            lost,
            renewal: Some(renewal),
            released: false,
        }
    }

    /// Stops the renewal and releases the lease, waiting for the store. The refresh calls this
    /// before it publishes its outcome, so whoever hears of the outcome (graceful shutdown's
    /// drain among them) knows the lease is free: a release left to a task spawned on drop may
    /// never run when the process exits right after.
    pub(crate) async fn release(mut self) {
        if let Some(r) = self.renewal.take() {
            r.abort();
        }
        if let Err(e) = self.store.release_lease(&self.key, &self.holder).await {
            tracing::warn!(key = %self.key, error = %e, "could not release the refresh lease (it expires by itself)");
        }
        self.released = true;
    }

    /// The holder name, for fenced writes.
    pub(crate) fn holder(&self) -> &str {
        &self.holder
    }

    /// After a fenced write reported the lease lost: takes it again if nobody else holds it.
    pub(crate) async fn retake(&self) -> bool {
        match self
            .store
            .try_lease(&self.key, &self.holder, self.ttl)
            .await
        {
            Ok(true) => {
                self.lost.store(false, Ordering::SeqCst);
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!(key = %self.key, error = %e, "could not take the refresh lease again");
                false
            }
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if let Some(r) = self.renewal.take() {
            r.abort();
        }
        if self.released {
            return;
        }
        let (store, key, holder) = (self.store.clone(), self.key.clone(), self.holder.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.release_lease(&key, &holder).await {
                    tracing::warn!(key = %key, error = %e, "could not release the refresh lease (it expires by itself)");
                }
            });
        }
    }
}

/// The result of [`acquire`].
#[derive(Debug)]
pub(crate) enum Acquired<T> {
    /// This instance holds the lease.
    Held(LeaseGuard),
    /// Another instance stored a usable token while we waited.
    Superseded(T),
    /// The lease could not be taken because a store no other process uses failed: refresh
    /// anyway (in-process single flight still holds; the write is then not fenced). Never for a
    /// shared store ([`TokenStore::is_shared`]).
    Degraded,
}

/// What [`acquire`] needs.
pub(crate) struct LeaseRequest<'a> {
    pub store: &'a Arc<dyn TokenStore>,
    pub clock: &'a Arc<dyn Clock>,
    pub key: &'a StoreKey,
    pub holder: &'a str,
    pub ttl: Duration,
    pub wait: Duration,
    pub poll: Duration,
    /// How long to keep polling when the store itself fails (a waiter's deadline: the caller
    /// gets the store's error rather than a wait time-out).
    pub error_wait: Duration,
    pub token: &'static str,
    /// Draws the poll spread.
    pub jitter: &'a dyn JitterSource,
}

/// Takes the lease of `key`, or waits (polling the store, jittered) until the instance holding
/// it stores a token that `accept` takes, or the lease frees up. Never refreshes while another
/// instance holds the lease; after `wait` it gives up with [`Error::LeaseBusy`]. When the store
/// cannot take leases (it refuses writes: Redis at `maxmemory`, a read-only replica, a full
/// disk) a shared store is polled the same way — a token another instance stores is still
/// taken — and after `wait` the store's error is the answer; only an unshared store degrades to
/// an unfenced refresh.
pub(crate) async fn acquire<T>(
    req: LeaseRequest<'_>,
    accept: impl Fn(Option<&Versioned>) -> Option<T>,
) -> Result<Acquired<T>, Error> {
    let started = req.clock.unix_millis();
    let wait_ms = u64::try_from(req.wait.as_millis()).unwrap_or(u64::MAX);
    // Bounded by count as well as by time, so a clock that does not move cannot spin forever.
    let max_polls = (req.wait.as_millis() / req.poll.as_millis().max(1)).saturating_add(1);
    let mut polls: u128 = 0;
    let mut lease_error = None;
    loop {
        match req.store.try_lease(req.key, req.holder, req.ttl).await {
            Ok(true) => {
                return Ok(Acquired::Held(LeaseGuard::start(
                    req.store.clone(),
                    req.clock.clone(),
                    req.key.clone(),
                    req.holder.to_owned(),
                    req.ttl,
                )))
            }
            Ok(false) => {}
            Err(e) if !req.store.is_shared() => {
                tracing::warn!(key = %req.key, error = %e, "refresh lease unavailable; refreshing with in-process single flight only (the store is not shared)");
                return Ok(Acquired::Degraded);
            }
            Err(e) => {
                if lease_error.is_none() {
                    tracing::warn!(key = %req.key, error = %e, "refresh lease unavailable on a shared store; not fetching without it");
                }
                lease_error = Some(e);
            }
        }
        match req.store.get(req.key).await {
            Ok(v) => {
                if let Some(t) = accept(v.as_ref()) {
                    return Ok(Acquired::Superseded(t));
                }
            }
            Err(e) => {
                tracing::warn!(key = %req.key, error = %e, "store unavailable while waiting for another instance's refresh");
            }
        }
        polls += 1;
        let waited = req.clock.unix_millis().saturating_sub(started);
        let (max_polls, wait_ms) = if lease_error.is_some() {
            let ms = u64::try_from(req.error_wait.as_millis()).unwrap_or(u64::MAX);
            let polls =
                (req.error_wait.as_millis() / req.poll.as_millis().max(1)).saturating_add(1);
            (max_polls.min(polls), wait_ms.min(ms))
        } else {
            (max_polls, wait_ms)
        };
        if polls >= max_polls || waited >= wait_ms {
            if let Some(e) = lease_error {
                return Err(Error::Store(e));
            }
            tracing::warn!(key = %req.key, waited_ms = waited, "refresh lease held elsewhere for too long");
            return Err(Error::LeaseBusy { token: req.token });
        }
        req.clock
            .sleep(jittered(req.poll, 0.5, req.jitter.unit()))
            .await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::clock::TokioClock;
    use crate::MemoryStore;

    fn req<'a>(
        store: &'a Arc<dyn TokenStore>,
        clock: &'a Arc<dyn Clock>,
        key: &'a StoreKey,
        holder: &'a str,
    ) -> LeaseRequest<'a> {
        LeaseRequest {
            store,
            clock,
            key,
            holder,
            ttl: Duration::from_secs(9),
            wait: Duration::from_secs(20),
            poll: Duration::from_millis(200),
            error_wait: Duration::from_secs(5),
            token: "test",
            jitter: &crate::jitter::FixedJitter(0.5),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn guard_renews_while_held_and_releases_on_drop() {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let clock: Arc<dyn Clock> = Arc::new(TokioClock::at_unix(1_000));
        let key = StoreKey::component_token("wxc");
        let Acquired::Held(guard) = acquire(req(&store, &clock, &key, "a"), |_| None::<()>)
            .await
            .unwrap()
        else {
            panic!("not held")
        };
        // Well past the 9 s TTL: renewals keep it.
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!store
            .try_lease(&key, "b", Duration::from_secs(9))
            .await
            .unwrap());
        drop(guard);
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(store
            .try_lease(&key, "b", Duration::from_secs(9))
            .await
            .unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_the_holder_and_gives_up_after_the_wait() {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let clock: Arc<dyn Clock> = Arc::new(TokioClock::at_unix(1_000));
        let key = StoreKey::component_token("wxc");
        assert!(store
            .try_lease(&key, "other", Duration::from_secs(3600))
            .await
            .unwrap());
        let err = acquire(req(&store, &clock, &key, "a"), |_| None::<()>)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::LeaseBusy { .. }), "{err:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn takes_the_lease_once_the_holder_lets_it_expire() {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let clock: Arc<dyn Clock> = Arc::new(TokioClock::at_unix(1_000));
        let key = StoreKey::component_token("wxc");
        assert!(store
            .try_lease(&key, "crashed", Duration::from_secs(5))
            .await
            .unwrap());
        let got = acquire(req(&store, &clock, &key, "a"), |_| None::<()>)
            .await
            .unwrap();
        assert!(matches!(got, Acquired::Held(_)));
        // It waited about the 5 s the crashed holder's lease had left, not longer.
        let waited = clock.unix_millis() - 1_000_000;
        assert!((5_000..7_000).contains(&waited), "{waited}");
    }
}
