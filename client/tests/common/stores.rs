//! A store that fails on demand: a [`MemoryStore`] with switches for failing writes and
//! leases and for losing every compare-and-delete.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use wxopen_client::{
    BoxFuture, CasOutcome, MemoryStore, StoreError, StoreKey, StoredValue, TokenStore, Versioned,
};

/// A [`MemoryStore`] with switches that make parts of it fail, for store-failure tests.
#[derive(Debug, Default)]
pub struct FaultyStore {
    pub inner: MemoryStore,
    /// Writes (compare-and-set) fail with an unavailable error.
    pub fail_writes: AtomicBool,
    /// Lease calls fail with an unavailable error.
    pub fail_leases: AtomicBool,
    /// Number of writes attempted.
    pub writes: AtomicU64,
    /// The store says no other process uses it (`is_shared` false: the engine's single-process
    /// fallback applies).
    pub unshared: AtomicBool,
    /// Compare-and-delete always finds the record changed (a writer that always wins).
    pub lose_deletes: AtomicBool,
    /// A record that cannot be decoded: reads of this key answer a corrupt-store error.
    pub corrupt: std::sync::Mutex<Option<StoreKey>>,
}

impl FaultyStore {
    /// `op` on the inner store, or an unavailable error while `switch` is on.
    fn unless<'a, T: Send + 'a>(
        switch: &AtomicBool,
        op: impl FnOnce() -> BoxFuture<'a, Result<T, StoreError>>,
    ) -> BoxFuture<'a, Result<T, StoreError>> {
        if switch.load(Ordering::SeqCst) {
            Box::pin(async { Err(StoreError::unavailable("store down (test)")) })
        } else {
            op()
        }
    }
}

impl TokenStore for FaultyStore {
    fn is_shared(&self) -> bool {
        !self.unshared.load(Ordering::SeqCst)
    }
    fn list_authorizers<'a>(
        &'a self,
        component_appid: &'a str,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        self.inner.list_authorizers(component_appid, after, limit)
    }
    fn get<'a>(
        &'a self,
        key: &'a StoreKey,
    ) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
        if self.corrupt.lock().unwrap().as_ref() == Some(key) {
            return Box::pin(async {
                Err(StoreError::corrupt(
                    "record: value format 2 is not the format 1 this code reads",
                ))
            });
        }
        self.inner.get(key)
    }
    fn compare_and_set<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: Option<u64>,
        value: StoredValue,
        fence: Option<&'a str>,
    ) -> BoxFuture<'a, Result<CasOutcome, StoreError>> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        Self::unless(&self.fail_writes, || {
            self.inner.compare_and_set(key, expected, value, fence)
        })
    }
    fn compare_and_delete<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        if self.lose_deletes.load(Ordering::SeqCst) {
            return Box::pin(async { Ok(false) });
        }
        self.inner.compare_and_delete(key, expected)
    }
    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Self::unless(&self.fail_leases, || self.inner.try_lease(key, holder, ttl))
    }
    fn extend_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Self::unless(&self.fail_leases, || {
            self.inner.extend_lease(key, holder, ttl)
        })
    }
    fn release_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Self::unless(&self.fail_leases, || self.inner.release_lease(key, holder))
    }
}
