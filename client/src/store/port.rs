//! The store port: [`TokenStore`], the async trait every backend implements (versioned
//! compare-and-set, leases, authorizer listing, claims), over the records of
//! [`wxopen_proto::records`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use wxopen_proto::records::{
    CasOutcome, StoreError, StoreErrorKind, StoreKey, StoredValue, Versioned,
};

/// A boxed, `Send` future, as returned by [`TokenStore`] methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Async storage for tickets and tokens, shareable by many instances.
///
/// Leases live apart from records: taking, extending or releasing the lease of a key never
/// changes the record at that key, and a record's time-to-live never ends a lease.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// `true` when other processes may use this store too (the default: a custom backend is
    /// assumed shared). On a shared store a lease that cannot be taken because the store
    /// fails is never a licence to fetch a token anyway: every instance doing so would
    /// invalidate the others' tokens. Only a store no other process can reach (the in-process
    /// [`MemoryStore`](crate::MemoryStore)) answers `false`, and there the engine falls back
    /// to in-process single flight.
    fn is_shared(&self) -> bool {
        true
    }

    /// Reads a record.
    fn get<'a>(&'a self, key: &'a StoreKey)
        -> BoxFuture<'a, Result<Option<Versioned>, StoreError>>;

    /// Writes `value` if the record's version is `expected` (`None`: only if absent) and, when
    /// `fence` names a holder, only while that holder holds the lease of `key`
    /// ([`CasOutcome::LeaseLost`] otherwise). Check and write are one atomic step.
    fn compare_and_set<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: Option<u64>,
        value: StoredValue,
        fence: Option<&'a str>,
    ) -> BoxFuture<'a, Result<CasOutcome, StoreError>>;

    /// Deletes the record if its version is `expected`; `true` if deleted.
    fn compare_and_delete<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Takes the lease of `key` for `holder` for `ttl` if nobody else holds an unexpired one
    /// (re-taking one's own lease extends it); `true` if taken.
    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Extends the lease of `key` to `ttl` from now if `holder` still holds it (unexpired);
    /// `false` if it does not.
    fn extend_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Releases the lease of `key` if `holder` holds it.
    fn release_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Up to `limit` authorizer appids of `component_appid` that have a record (tokens or a
    /// tombstone), in ascending byte order, starting after `after`: one page of a bounded scan
    /// (the token service lists accounts and the refresher walks them with it). The default
    /// answers [`StoreErrorKind::Unsupported`].
    fn list_authorizers<'a>(
        &'a self,
        component_appid: &'a str,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        let _ = (component_appid, after, limit);
        Box::pin(async {
            Err(StoreError::with_kind(
                StoreErrorKind::Unsupported,
                "this store cannot list authorizers",
            ))
        })
    }

    /// Records `id` under `component_appid` for `ttl` unless an unexpired record of it exists;
    /// `true` if this call recorded it (the first sight), `false` if it was already there (a
    /// repeat). Every instance sharing the store sees the same answer, so a message WeChat
    /// delivers twice is acted on once. `id` is at most [`MAX_CLAIM_ID_LEN`](wxopen_proto::records::MAX_CLAIM_ID_LEN) bytes (longer
    /// ids are [`StoreErrorKind::InvalidInput`]); expired records are removed by the store,
    /// so they never pile up. The default answers [`StoreErrorKind::Unsupported`].
    fn claim_once<'a>(
        &'a self,
        component_appid: &'a str,
        id: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let _ = (component_appid, id, ttl);
        Box::pin(async {
            Err(StoreError::with_kind(
                StoreErrorKind::Unsupported,
                "this store cannot deduplicate messages",
            ))
        })
    }
}
