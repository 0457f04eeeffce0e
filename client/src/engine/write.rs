//! Storing a fetched token: a fenced compare-and-set on the version the refresh started from,
//! conflicts resolved by the kind (newer truth is kept), a lost lease taken again or left to
//! its new holder, and a failed write held in process and retried in the background, so a
//! fetched token is never thrown away and never refetched per call.

use std::sync::Arc;
use std::time::Duration;

use crate::store::{CasOutcome, StoreKey};

use super::kind::{Fetched, TokenKind};
use super::lease::LeaseGuard;
use super::machine::Token;
use super::ports::Ports;
use super::records::{apply_to_store, Applied, CAS_ATTEMPTS};
use crate::record_machine::RecordEvent;

/// First delay of the background write retry; doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Where a token the store did not take is remembered while it is written again (the cache of
/// its kind), and the ports the write uses.
pub(crate) trait UnwrittenCells<K: TokenKind>: Send + Sync + 'static {
    fn ports(&self) -> &Ports;
    fn hold(&self, id: &K::Id, token: Token<K::Token>, over: Option<u64>);
    fn clear(&self, id: &K::Id);
}

enum Step {
    Done(u64),
    KeepCurrent,
    Failed,
}

async fn write_once<K: TokenKind, C: UnwrittenCells<K>>(
    cache: &C,
    key: &StoreKey,
    fetched: &mut Fetched<K::Token>,
    guard: Option<&LeaseGuard>,
    started_at: u64,
) -> Step {
    if let Some(event) = fetched.event.clone() {
        return write_record(cache.ports(), key, &event, guard).await;
    }
    let fence = guard.map(LeaseGuard::holder);
    for _ in 0..CAS_ATTEMPTS {
        let outcome = cache
            .ports()
            .store
            .compare_and_set(key, fetched.expected, fetched.value.clone(), fence)
            .await;
        match outcome {
            Ok(CasOutcome::Applied { version }) => return Step::Done(version),
            Ok(CasOutcome::Conflict { current }) => {
                let now = cache.ports().now();
                match K::reconcile(current.as_ref(), fetched, started_at, now) {
                    Some(value) => {
                        fetched.value = value;
                        fetched.expected = current.map(|c| c.version);
                    }
                    None => {
                        tracing::warn!(key = %key, "the record changed during the refresh (newer truth); not overwriting it");
                        return Step::KeepCurrent;
                    }
                }
            }
            Ok(CasOutcome::LeaseLost) => match guard {
                Some(g) if g.retake().await => {}
                _ => {
                    tracing::warn!(key = %key, "refresh lease lost to another instance; leaving the write to it");
                    return Step::KeepCurrent;
                }
            },
            Ok(_) => return Step::Failed,
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "could not store the refreshed token; serving it from memory and retrying the write");
                return Step::Failed;
            }
        }
    }
    tracing::warn!(key = %key, "the record kept changing during the write");
    Step::Failed
}

/// A record kind's write (authorizer tokens): through the one writer of those records,
/// [`apply_to_store`], fenced by the lease; a lost lease is taken again once.
async fn write_record(
    ports: &Ports,
    key: &StoreKey,
    event: &RecordEvent,
    guard: Option<&LeaseGuard>,
) -> Step {
    let fence = guard.map(LeaseGuard::holder);
    for _ in 0..2 {
        match apply_to_store(ports.store.as_ref(), key, event, ports.now(), fence).await {
            Ok(Applied::Written { version, .. }) => return Step::Done(version),
            Ok(Applied::LeaseLost) => match guard {
                Some(g) if g.retake().await => continue,
                _ => break,
            },
            Ok(Applied::Kept { why, .. }) => {
                tracing::warn!(key = %key, kept = ?why, "the record changed during the refresh (newer truth); not overwriting it");
                return Step::KeepCurrent;
            }
            Ok(Applied::Deleted) => return Step::KeepCurrent,
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "could not store the refreshed token; serving it from memory and retrying the write");
                return Step::Failed;
            }
        }
    }
    tracing::warn!(key = %key, "refresh lease lost to another instance; leaving the write to it");
    Step::KeepCurrent
}

/// Stores `fetched` and returns its token (version 0 when it is not in the store).
pub(crate) async fn store_fetched<K: TokenKind, C: UnwrittenCells<K>>(
    cache: &Arc<C>,
    id: &K::Id,
    key: &StoreKey,
    mut fetched: Fetched<K::Token>,
    guard: Option<&LeaseGuard>,
    started_at: u64,
) -> Token<K::Token> {
    match write_once::<K, C>(cache.as_ref(), key, &mut fetched, guard, started_at).await {
        Step::Done(version) => Token {
            version,
            ..fetched.token
        },
        Step::KeepCurrent => fetched.token,
        Step::Failed => {
            let token = fetched.token.clone();
            cache.hold(id, token.clone(), fetched.expected);
            let (cache, id, key) = (cache.clone(), id.clone(), key.clone());
            tokio::spawn(async move {
                retry_in_background::<K, C>(cache, id, key, fetched, started_at).await
            });
            token
        }
    }
}

/// Keeps trying to store a fetched token until it is stored, superseded, or expired.
async fn retry_in_background<K: TokenKind, C: UnwrittenCells<K>>(
    cache: Arc<C>,
    id: K::Id,
    key: StoreKey,
    mut fetched: Fetched<K::Token>,
    started_at: u64,
) {
    let mut delay = RETRY_FIRST;
    loop {
        cache.ports().clock.sleep(delay).await;
        if !fetched.token.usable_at(cache.ports().now()) {
            tracing::warn!(key = %key, "the unwritten token expired before the store came back");
            break;
        }
        match write_once::<K, C>(cache.as_ref(), &key, &mut fetched, None, started_at).await {
            Step::Done(_) => {
                tracing::info!(key = %key, "refreshed token stored after a retry");
                break;
            }
            Step::KeepCurrent => break,
            Step::Failed => delay = (delay * 2).min(RETRY_MAX),
        }
    }
    cache.clear(&id);
}
