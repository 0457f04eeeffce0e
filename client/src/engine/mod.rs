//! The token engine: a generic cache ([`TokenCache`]) per token kind over narrow ports
//! ([`Ports`]: store, clock, jitter, settings), driven by the pure [`machine`]. A kind is one
//! [`TokenKind`] impl — how its record is read and how it is fetched — and one key; nothing in
//! the engine reaches back into the client façade.
//!
//! A caller reads the record, asks the machine what to do, and either uses the token, starts
//! one background refresh and uses the token (refresh ahead: it never waits on the network),
//! waits — with a deadline of its own — for the one refresh of that key, or fails at once
//! with a remembered error. A refresh runs in its own task (a dropped caller cancels nothing),
//! under a renewed store lease (one refresh per key across instances), and writes with a
//! fenced compare-and-set on the version it started from (an older refresh never overwrites
//! a newer token). Its outcome — success or error — reaches every waiter.
//!
//! | file | holds |
//! |---|---|
//! | `machine` | the pure decisions and cool-downs (`wxopen_proto::token_machine`) |
//! | `ports` | the narrow ports every cache of one component shares |
//! | `kind` | [`TokenKind`], the fetch port of one token kind, and what a fetch returns |
//! | `lease` | the lease guard and the wait for another instance |
//! | `write` | storing a fetched token: fenced CAS, conflicts, background retries |
//! | `component_token`, `authorizer_token` | how each kind reads its record and fetches |
//! | `js_ticket` | the third kind: an authorizer's JS-SDK tickets, fetched with its access token |
//! | `records` | the one writer of authorizer records: `apply_to_store` over the record machine |
//! | `recovery` | authorizer-list scans (rate-limited) and tombstones |
//! | `unknown` | appids the list does not know, remembered (bounded) until the next scan may run |
//! | `call` | calling an API with a token: on 40001/40014/42001 expire it, refresh once, retry once |

pub(crate) mod authorizer_calls;
pub(crate) mod authorizer_token;
pub(crate) mod call;
pub(crate) mod component_token;
pub(crate) mod js_ticket;
pub(crate) mod kind;
pub(crate) mod lease;
pub(crate) mod ports;
pub(crate) use wxopen_proto::token_machine as machine;
pub(crate) mod records;
pub(crate) mod recovery;
pub(crate) mod unknown;
pub(crate) mod write;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::error::Error;
use crate::store::{CasOutcome, StoreError, StoreKey, Versioned};

pub(crate) use kind::{Fetched, TokenKind};
use lease::{Acquired, LeaseRequest};
use machine::{decide, remember_failure, settle, Cell, Decision, Token, View};
pub(crate) use ports::{Ports, Settings, SharedPorts};
use records::{apply_to_store, Applied};

/// Above this many cells, idle ones are swept (and the threshold doubles with what is left).
const SWEEP_MIN: usize = 1024;
/// Hard bound on cells after a sweep.
const MAX_CELLS: usize = 100_000;

type Outcome<T> = Result<Token<T>, Error>;

struct Slot<T> {
    cell: Cell<T>,
    flight: Option<watch::Receiver<Option<Outcome<T>>>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            cell: Cell::default(),
            flight: None,
        }
    }
}

/// The token cache of one kind: a cell per id, refreshes shared by every caller, over the
/// shared [`Ports`].
pub(crate) struct TokenCache<K: TokenKind> {
    kind: K,
    ports: SharedPorts,
    slots: Mutex<HashMap<K::Id, Slot<K::Token>>>,
    sweep_above: AtomicUsize,
}

impl<K: TokenKind> fmt::Debug for TokenCache<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("kind", &K::NAME)
            .field("cells", &self.lock().len())
            .finish()
    }
}

impl<K: TokenKind> TokenCache<K> {
    /// A cache of `kind` over `ports`.
    pub(crate) fn new(kind: K, ports: SharedPorts) -> Arc<Self> {
        Arc::new(Self {
            kind,
            ports,
            slots: Mutex::new(HashMap::new()),
            sweep_above: AtomicUsize::new(SWEEP_MIN),
        })
    }

    /// The kind (what its fetch holds).
    pub(crate) fn kind(&self) -> &K {
        &self.kind
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K::Id, Slot<K::Token>>> {
        // Every update under this lock is a plain field assignment: a poisoned lock holds
        // consistent data.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of cells held (bounded: idle ones are dropped).
    pub(crate) fn cells(&self) -> usize {
        self.lock().len()
    }

    /// The token of `id`, per the machine's decision.
    pub(crate) async fn get(self: &Arc<Self>, id: &K::Id) -> Result<Token<K::Token>, Error> {
        // A refresh joined just as it finished may hand over a token older than this caller's
        // view of time (a clock jump): then decide once more.
        for _ in 0..2 {
            let token = self.get_once(id).await?;
            if token.usable_at(self.ports.now()) {
                return Ok(token);
            }
        }
        Err(Error::RefreshAborted { token: K::NAME })
    }

    async fn get_once(self: &Arc<Self>, id: &K::Id) -> Result<Token<K::Token>, Error> {
        let key = self.kind.key(id);
        let read = self.ports.store.get(&key).await;
        let view = match read {
            Ok(v) => Ok(K::view(v.as_ref())?),
            Err(e) => Err(e),
        };
        let now_ms = self.ports.clock.unix_millis();
        let generation = self.ports.ticket_generation();
        let decision = {
            let mut slots = self.lock();
            // Cached reads find their cell; only a key's first read allocates one.
            if !slots.contains_key(id) {
                slots.insert(id.clone(), Slot::default());
            }
            let Some(slot) = slots.get_mut(id) else {
                return Err(Error::RefreshAborted { token: K::NAME });
            };
            if let Ok(View::Token(t)) = &view {
                slot.cell.last_seen = Some(t.clone());
            }
            decide(now_ms, view.as_ref(), &slot.cell, generation)
        };
        match decision {
            Decision::Use(t) => Ok(t),
            Decision::UseAndRefresh(t) => {
                drop(self.start(id, Some(t.version)));
                Ok(t)
            }
            Decision::Revoked(record) => Err(K::revoked_error(id, &record)),
            Decision::Fail(e) => Err(e.into()),
            Decision::Refresh { observed } => {
                if let (Ok(View::Absent { version: None }), Some(record)) =
                    (&view, self.kind.known_unknown(id, self.ports.now()))
                {
                    return Err(K::revoked_error(id, &record));
                }
                let rx = self.start(id, observed);
                self.wait(rx).await
            }
        }
    }

    /// Starts the refresh of `id` unless one runs; returns its outcome channel.
    fn start(
        self: &Arc<Self>,
        id: &K::Id,
        observed: Option<u64>,
    ) -> watch::Receiver<Option<Outcome<K::Token>>> {
        let mut slots = self.lock();
        let slot = slots.entry(id.clone()).or_default();
        if let Some(rx) = &slot.flight {
            return rx.clone();
        }
        let (tx, rx) = watch::channel(None);
        slot.cell.flight = true;
        slot.flight = Some(rx.clone());
        drop(slots);
        let (this, id) = (self.clone(), id.clone());
        tokio::spawn(async move {
            let outcome = refresh::<K>(&this, &id, observed).await;
            let tombstoned = match &outcome {
                Err(Error::MustReauthorize { .. }) => {
                    // A tombstone, or an appid known to be unknown (no record, remembered
                    // until the next scan): the store or that memory answers next time, so no
                    // failure is kept in the cell.
                    let stored = this.ports.store.get(&this.kind.key(&id)).await;
                    match stored.map(|v| K::view(v.as_ref())) {
                        Ok(Ok(View::Revoked { .. })) => true,
                        Ok(Ok(View::Absent { version: None })) => {
                            this.kind.known_unknown(&id, this.ports.now()).is_some()
                        }
                        _ => false,
                    }
                }
                _ => false,
            };
            // Settle the cell before anyone hears of the outcome.
            this.settle(&id, &outcome, tombstoned);
            match &outcome {
                Ok(t) => this.ports.emit(K::refreshed(&id, t)),
                Err(e) => {
                    tracing::warn!(token = K::NAME, error = %e, "refresh failed");
                    this.ports.emit(K::failed(&id, e));
                }
            }
            let _ = tx.send(Some(outcome));
        });
        rx
    }

    fn settle(&self, id: &K::Id, outcome: &Outcome<K::Token>, tombstoned: bool) {
        let now_ms = self.ports.clock.unix_millis();
        let generation = self.ports.ticket_generation();
        let mut slots = self.lock();
        if let Some(slot) = slots.get_mut(id) {
            slot.flight = None;
            settle(
                &mut slot.cell,
                now_ms,
                outcome,
                &self.ports.settings.cooldowns,
                self.ports.jitter.unit(),
                generation,
                tombstoned,
            );
            if slot.cell.idle(now_ms, generation) {
                slots.remove(id);
            }
        }
        if slots.len() > self.sweep_above.load(Ordering::Relaxed) {
            slots.retain(|_, s| !s.cell.idle(now_ms, generation));
            if slots.len() > MAX_CELLS {
                // Still too many: keep only what cannot be rebuilt from the store (running
                // refreshes and unwritten tokens); remembered failures are dropped.
                slots.retain(|_, s| s.flight.is_some() || s.cell.unwritten.is_some());
            }
            self.sweep_above
                .store((slots.len() * 2).max(SWEEP_MIN), Ordering::Relaxed);
        }
    }

    async fn wait(
        &self,
        mut rx: watch::Receiver<Option<Outcome<K::Token>>>,
    ) -> Result<Token<K::Token>, Error> {
        let wait = self.ports.settings.token_wait;
        let deadline = self.ports.clock.sleep(wait);
        tokio::select! {
            r = rx.wait_for(Option::is_some) => match r {
                Ok(v) => v.clone().unwrap_or(Err(Error::RefreshAborted { token: K::NAME })),
                Err(_) => Err(Error::RefreshAborted { token: K::NAME }),
            },
            () = deadline => Err(Error::WaitTimeout { token: K::NAME, waited: wait }),
        }
    }

    /// Waits until the refreshes running now have finished (their leases released).
    pub(crate) async fn drain(&self) {
        let flights: Vec<_> = self
            .lock()
            .values()
            .filter_map(|s| s.flight.clone())
            .collect();
        for mut rx in flights {
            let _ = rx.wait_for(Option::is_some).await;
        }
    }

    /// Remembers a token that could not be stored (see [`machine::Unwritten`]).
    pub(crate) fn hold_unwritten(&self, id: &K::Id, token: Token<K::Token>, over: Option<u64>) {
        self.lock().entry(id.clone()).or_default().cell.unwritten =
            Some(machine::Unwritten { token, over });
    }

    /// Forgets an unwritten token (it was stored, or something newer was).
    pub(crate) fn clear_unwritten(&self, id: &K::Id) {
        if let Some(slot) = self.lock().get_mut(id) {
            slot.cell.unwritten = None;
        }
    }

    /// WeChat rejected the unwritten token of `id`: drop it and start a cool-down.
    fn reject_unwritten(&self, id: &K::Id, errcode: Option<i64>) {
        let error = Error::from_api(
            K::NAME,
            errcode.unwrap_or(40001),
            "a token the store did not take was rejected (another fetch replaced it); not fetching again during the cool-down",
        );
        let now_ms = self.ports.clock.unix_millis();
        let generation = self.ports.ticket_generation();
        let mut slots = self.lock();
        let slot = slots.entry(id.clone()).or_default();
        slot.cell.unwritten = None;
        remember_failure(
            &mut slot.cell,
            now_ms,
            &error,
            &self.ports.settings.cooldowns,
            self.ports.jitter.unit(),
            generation,
        );
        drop(slots);
        if let Some(code) = errcode {
            self.ports.emit(K::rejected(id, code));
        }
    }

    /// Forgets remembered failures and unwritten tokens of `id` (a new authorization).
    pub(crate) fn reset(&self, id: &K::Id) {
        let mut slots = self.lock();
        if let Some(slot) = slots.get_mut(id) {
            slot.cell.cooldown = None;
            slot.cell.failures = 0;
            slot.cell.unwritten = None;
            slot.cell.last_seen = None;
        }
    }

    /// Compare-and-expire: marks the token at `version` expired (a token WeChat rejected), so
    /// the next [`get`](Self::get) refreshes. A record that changed since is left alone.
    pub(crate) async fn expire(
        &self,
        id: &K::Id,
        version: u64,
        errcode: Option<i64>,
    ) -> Result<bool, Error> {
        let key = self.kind.key(id);
        if version == 0 {
            // A token that was never stored (the store refused it) was rejected: another fetch
            // replaced it. Fetching again at once would invalidate that one in turn — remember
            // the rejection for a cool-down instead.
            self.reject_unwritten(id, errcode);
            return Ok(false);
        }
        self.clear_unwritten(id);
        let Some(current) = self.ports.store.get(&key).await? else {
            return Ok(false);
        };
        if current.version != version {
            return Ok(false);
        }
        let expired = if let Some(event) = K::expire_event(&current.value) {
            // A record kind: the one writer, comparing the rejected token itself.
            let now = self.ports.now();
            matches!(
                apply_to_store(self.ports.store.as_ref(), &key, &event, now, None).await?,
                Applied::Written { .. }
            )
        } else {
            let Some(next) = K::expired(&current.value) else {
                return Ok(false);
            };
            matches!(
                self.ports
                    .store
                    .compare_and_set(&key, Some(version), next, None)
                    .await?,
                CasOutcome::Applied { .. }
            )
        };
        if let (true, Some(errcode)) = (expired, errcode) {
            self.ports.emit(K::rejected(id, errcode));
        }
        Ok(expired)
    }

    /// Compare-and-refresh: if the current token is `stale` (or `stale` is `None`), expire it
    /// and refresh; otherwise return the current token. N callers reporting the same rejected
    /// token cause one refresh.
    pub(crate) async fn refresh_if_current(
        self: &Arc<Self>,
        id: &K::Id,
        stale: Option<&str>,
    ) -> Result<Token<K::Token>, Error> {
        let key = self.kind.key(id);
        let current = self.ports.store.get(&key).await?;
        if let View::Token(t) = K::view(current.as_ref())? {
            if stale.is_none_or(|s| ct_eq(K::expose(&t.value), s)) {
                self.expire(id, t.version, None).await?;
            } else if t.usable_at(self.ports.now()) {
                return Ok(t);
            }
        }
        let t = self.get(id).await?;
        // Never answer with the token the caller reported: if it is still what the store and
        // this process hold, it could not be replaced (a store refusing writes).
        match stale {
            Some(s) if ct_eq(K::expose(&t.value), s) => Err(Error::Store(StoreError::unavailable(
                format!("the rejected {} could not be replaced; try again", K::NAME),
            ))),
            _ => Ok(t),
        }
    }
}

impl<K: TokenKind> write::UnwrittenCells<K> for TokenCache<K> {
    fn ports(&self) -> &Ports {
        &self.ports
    }

    fn hold(&self, id: &K::Id, token: Token<K::Token>, over: Option<u64>) {
        self.hold_unwritten(id, token, over);
    }

    fn clear(&self, id: &K::Id) {
        self.clear_unwritten(id);
    }
}

/// Compares two strings in time that depends only on their lengths.
fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One refresh of `id`: lease, re-read, fetch, fenced write.
async fn refresh<K: TokenKind>(
    cache: &Arc<TokenCache<K>>,
    id: &K::Id,
    observed: Option<u64>,
) -> Outcome<K::Token> {
    let ports = &cache.ports;
    let key = cache.kind.key(id);
    let now = ports.now();
    let cfg = &ports.settings;
    let acquired = lease::acquire(
        LeaseRequest {
            store: &ports.store,
            clock: &ports.clock,
            key: &key,
            holder: &ports.holder,
            ttl: cfg.lease_ttl,
            wait: cfg.lease_wait,
            poll: cfg.lease_poll,
            // A waiter gives up after token_wait: so does the poll on a failing store, just
            // before, so the waiter hears the store's error.
            error_wait: cfg.token_wait.mul_f64(0.9),
            token: K::NAME,
            jitter: ports.jitter.as_ref(),
        },
        |v: Option<&Versioned>| superseding::<K>(v, observed, now),
    )
    .await?;
    let guard = match acquired {
        Acquired::Superseded(t) => return Ok(t),
        Acquired::Held(g) => Some(g),
        Acquired::Degraded => None,
    };
    let outcome = refresh_under_lease::<K>(cache, id, &key, observed, now, guard.as_ref()).await;
    // Released before the outcome is published (see LeaseGuard::release).
    if let Some(g) = guard {
        g.release().await;
    }
    outcome
}

/// A stored token that makes a refresh started from version `observed` unnecessary: a newer
/// one (another instance's) still usable at `now`.
fn superseding<K: TokenKind>(
    v: Option<&Versioned>,
    observed: Option<u64>,
    now: u64,
) -> Option<Token<K::Token>> {
    match K::view(v) {
        Ok(View::Token(t)) if Some(t.version) != observed && t.usable_at(now) => Some(t),
        _ => None,
    }
}

/// The part of [`refresh`] that runs under the lease (or degraded, without one).
async fn refresh_under_lease<K: TokenKind>(
    cache: &Arc<TokenCache<K>>,
    id: &K::Id,
    key: &StoreKey,
    observed: Option<u64>,
    now: u64,
    guard: Option<&lease::LeaseGuard>,
) -> Outcome<K::Token> {
    // Another instance may have finished just before we got the lease.
    let ports = &cache.ports;
    let current = ports.store.get(key).await?;
    if let Some(t) = superseding::<K>(current.as_ref(), observed, now) {
        return Ok(t);
    }
    if let View::Revoked { record, .. } = K::view(current.as_ref())? {
        return Err(K::revoked_error(id, &record));
    }
    let started_at = ports.now();
    let fence = guard.map(|g| g.holder());
    let fetched = cache.kind.fetch(ports, id, current, fence).await?;
    Ok(write::store_fetched(cache, id, key, fetched, guard, started_at).await)
}
