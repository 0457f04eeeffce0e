//! The token machine: pure decisions over `(now, stored record, in-process cell)`, in the
//! style of a sans-IO protocol state machine. No I/O, no clock, no randomness: the driver
//! passes the time and any random draws in, and executes the decision it gets back.
//!
//! One machine serves both token kinds (component and authorizer); the kinds differ only in
//! how a token is fetched (see `kinds`), never in when.

use std::time::Duration;

use crate::cooldown::CooldownPolicy;
use crate::error::Error;
use crate::records::{RevokedRecord, StoreError};

/// A token as the machine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<T> {
    /// The token.
    pub value: T,
    /// The store version it was read at or written as; 0 when it is not in the store (it never
    /// matches a compare-and-expire).
    pub version: u64,
    /// Refresh ahead from here (unix seconds).
    pub refresh_at: u64,
    /// Unusable from here (unix seconds).
    pub expires_at: u64,
}

impl<T> Token<T> {
    /// `true` while the token has not expired at `now_s` (unix seconds).
    pub fn usable_at(&self, now_s: u64) -> bool {
        now_s < self.expires_at
    }
}

/// What the store holds at a token's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View<T> {
    /// No usable token: nothing stored (`version: None`), or a record without one or with an
    /// expired one.
    Absent {
        /// The version of the record that holds no usable token, if any.
        version: Option<u64>,
    },
    /// A token.
    Token(Token<T>),
    /// A tombstone: the authorizer must authorize again.
    Revoked {
        /// The tombstone.
        record: RevokedRecord,
        /// Its store version.
        version: u64,
    },
}

impl<T> View<T> {
    /// The store version of what was read, if anything was.
    pub fn version(&self) -> Option<u64> {
        match self {
            View::Absent { version } => *version,
            View::Token(t) => Some(t.version),
            View::Revoked { version, .. } => Some(*version),
        }
    }
}

/// A remembered failure.
#[derive(Debug, Clone)]
pub struct Cooldown {
    /// Until when (unix milliseconds).
    pub until_ms: u64,
    /// The error callers get meanwhile.
    pub error: Error,
    /// For ticket failures: the ticket generation they happened at (a newer ticket ends them).
    pub ticket_generation: Option<u64>,
}

impl Cooldown {
    /// `true` while it holds at `now_ms` for the current ticket generation.
    pub fn active(&self, now_ms: u64, ticket_generation: u64) -> bool {
        now_ms < self.until_ms
            && self
                .ticket_generation
                .is_none_or(|g| g == ticket_generation)
    }
}

/// A token that was fetched but could not be stored; it is served while the store still holds
/// the version it was meant to replace, and a background task keeps trying to write it.
#[derive(Debug, Clone)]
pub struct Unwritten<T> {
    /// The token.
    pub token: Token<T>,
    /// The store version it was meant to replace.
    pub over: Option<u64>,
}

/// The in-process state of one token key.
#[derive(Debug, Clone)]
pub struct Cell<T> {
    /// A refresh of this key is running in this process.
    pub flight: bool,
    /// The remembered failure, if any.
    pub cooldown: Option<Cooldown>,
    /// Consecutive failures (the transient cool-down doubles with them).
    pub failures: u32,
    /// A fetched token the store did not take.
    pub unwritten: Option<Unwritten<T>>,
    /// The newest token read from the store, served only while the store cannot be read.
    pub last_seen: Option<Token<T>>,
}

impl<T> Default for Cell<T> {
    fn default() -> Self {
        Self {
            flight: false,
            cooldown: None,
            failures: 0,
            unwritten: None,
            last_seen: None,
        }
    }
}

impl<T> Cell<T> {
    /// Nothing worth keeping: no refresh running, no live cool-down, no unwritten or usable
    /// token. Idle cells are dropped, so bookkeeping stays bounded by the live keys.
    pub fn idle(&self, now_ms: u64, ticket_generation: u64) -> bool {
        let now_s = now_ms / 1000;
        !self.flight
            && self.unwritten.is_none()
            && self
                .cooldown
                .as_ref()
                .is_none_or(|c| !c.active(now_ms, ticket_generation))
            && self.last_seen.as_ref().is_none_or(|t| !t.usable_at(now_s))
    }
}

/// What a caller does.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision<T> {
    /// Use this token.
    Use(Token<T>),
    /// Use this token and start one background refresh (it is past its refresh deadline).
    UseAndRefresh(Token<T>),
    /// No usable token: wait for the refresh (start it if none runs), which starts from the
    /// record at `observed`.
    Refresh {
        /// The version of the record the refresh starts from.
        observed: Option<u64>,
    },
    /// The authorizer must authorize again (tombstone).
    Revoked(RevokedRecord),
    /// Fail at once with this (remembered) error.
    Fail(ErrorOrStore),
}

/// The error of a [`Decision::Fail`].
#[derive(Debug, Clone)]
pub enum ErrorOrStore {
    /// A failure remembered by a cool-down.
    Remembered(Error),
    /// The store could not be read and no token is known.
    Store(StoreError),
}

impl PartialEq for ErrorOrStore {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ErrorOrStore::Store(a), ErrorOrStore::Store(b)) => a == b,
            (ErrorOrStore::Remembered(a), ErrorOrStore::Remembered(b)) => {
                a.to_string() == b.to_string()
            }
            _ => false,
        }
    }
}

impl From<ErrorOrStore> for Error {
    fn from(e: ErrorOrStore) -> Self {
        match e {
            ErrorOrStore::Remembered(e) => e,
            ErrorOrStore::Store(e) => Error::Store(e),
        }
    }
}

/// The caller's decision at `now_ms`, given what the store answered and the key's cell.
pub fn decide<T: Clone>(
    now_ms: u64,
    stored: Result<&View<T>, &StoreError>,
    cell: &Cell<T>,
    ticket_generation: u64,
) -> Decision<T> {
    let now_s = now_ms / 1000;
    let view = match stored {
        Ok(v) => v,
        // The store is down: keep serving what was last seen while it is valid.
        Err(e) => {
            return match cell.last_seen.as_ref().filter(|t| t.usable_at(now_s)) {
                Some(t) => Decision::Use(t.clone()),
                None => Decision::Fail(ErrorOrStore::Store(e.clone())),
            }
        }
    };
    let observed = view.version();
    let mut candidate = match view {
        View::Revoked { record, .. } => return Decision::Revoked(record.clone()),
        View::Token(t) if t.usable_at(now_s) => Some(t.clone()),
        _ => None,
    };
    if let Some(u) = &cell.unwritten {
        let newer = candidate
            .as_ref()
            .is_none_or(|c| u.token.expires_at > c.expires_at);
        if u.over == observed && u.token.usable_at(now_s) && newer {
            candidate = Some(u.token.clone());
        }
    }
    let cooling = cell
        .cooldown
        .as_ref()
        .filter(|c| c.active(now_ms, ticket_generation));
    match candidate {
        Some(t) if now_s < t.refresh_at || cell.flight || cooling.is_some() => Decision::Use(t),
        Some(t) => Decision::UseAndRefresh(t),
        None => match cooling {
            Some(c) => Decision::Fail(ErrorOrStore::Remembered(c.error.clone())),
            None => Decision::Refresh { observed },
        },
    }
}

/// How long a failed refresh is remembered (before jitter), or `None` when it is not: store
/// and input errors, and waits that gave up, say nothing about the upstream.
pub fn cooldown_for(error: &Error, policy: &CooldownPolicy, failures: u32) -> Option<Duration> {
    let d = match error {
        Error::TicketMissing | Error::TicketRejected { .. } => policy.ticket,
        _ if error.code() == Some(45011) => policy.minute_quota,
        _ if error.code() == Some(45009) || error.is_quota() => policy.daily_quota,
        Error::Config { .. } => policy.config,
        Error::MustReauthorize {
            source: Some(s), ..
        } if s.is_retryable() => transient(policy, failures),
        Error::MustReauthorize { .. } => policy.reauthorize,
        Error::Store(_)
        | Error::InvalidInput { .. }
        | Error::WaitTimeout { .. }
        | Error::LeaseBusy { .. }
        | Error::RefreshAborted { .. }
        | Error::NotStored { .. }
        | Error::Crypto(_)
        | Error::Push(_) => return None,
        _ => transient(policy, failures),
    };
    (!d.is_zero()).then_some(d)
}

fn transient(policy: &CooldownPolicy, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    policy
        .transient
        .saturating_mul(1u32 << doublings)
        .min(policy.transient_max.max(policy.transient))
}

/// Spreads `d` by `±jitter × d`; `unit` is a random draw in `0.0..1.0`.
pub fn jittered(d: Duration, jitter: f64, unit: f64) -> Duration {
    let jitter = jitter.clamp(0.0, 1.0);
    let factor = 1.0 + jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
    d.mul_f64(factor.max(0.0))
}

/// The cell after a refresh finished at `now_ms` with `outcome`; `unit` is a random draw in
/// `0.0..1.0` for the cool-down's jitter. `tombstoned`: the failure left a tombstone in the
/// store, which already answers every later caller, so nothing is remembered in process.
pub fn settle<T: Clone>(
    cell: &mut Cell<T>,
    now_ms: u64,
    outcome: &Result<Token<T>, Error>,
    policy: &CooldownPolicy,
    unit: f64,
    ticket_generation: u64,
    tombstoned: bool,
) {
    cell.flight = false;
    match outcome {
        Ok(t) => {
            cell.cooldown = None;
            // A token the store did not take (version 0) proves little: the failure count
            // stands, so the next rejection's cool-down keeps doubling.
            if t.version != 0 {
                cell.failures = 0;
                cell.last_seen = Some(t.clone());
            }
        }
        Err(_) if tombstoned => {
            cell.cooldown = None;
            cell.failures = 0;
        }
        Err(e) => remember_failure(cell, now_ms, e, policy, unit, ticket_generation),
    }
}

/// Counts a failure of the token in `cell` and starts its cool-down by class (a running refresh,
/// if any, is left alone). [`settle`] calls it for a failed refresh; the driver calls it when
/// WeChat rejects a token that was never stored (its own unfenced fetch, replaced since by
/// another's): that is a failure to remember, not a reason to fetch again at once.
pub fn remember_failure<T>(
    cell: &mut Cell<T>,
    now_ms: u64,
    error: &Error,
    policy: &CooldownPolicy,
    unit: f64,
    ticket_generation: u64,
) {
    cell.failures = cell.failures.saturating_add(1);
    cell.cooldown = cooldown_for(error, policy, cell.failures).map(|d| {
        let d = jittered(d, policy.jitter, unit);
        Cooldown {
            until_ms: now_ms.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            error: error.clone(),
            ticket_generation: error.is_ticket_problem().then_some(ticket_generation),
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::records::RevokeReason;

    const NOW: u64 = 1_000_000;

    fn tok(v: &str, version: u64, refresh_at: u64, expires_at: u64) -> Token<String> {
        Token {
            value: v.to_owned(),
            version,
            refresh_at,
            expires_at,
        }
    }

    fn quota() -> Error {
        Error::from_api(
            "api_component_token",
            45009,
            "reach max api daily quota limit",
        )
    }

    fn busy() -> Error {
        Error::from_api("api_component_token", -1, "system error")
    }

    #[test]
    fn fresh_token_is_used_and_refresh_ahead_starts_one_background_refresh() {
        let cell = Cell::default();
        let fresh = View::Token(tok("a", 3, NOW + 10, NOW + 100));
        assert_eq!(
            decide(NOW * 1000, Ok(&fresh), &cell, 0),
            Decision::Use(tok("a", 3, NOW + 10, NOW + 100))
        );
        let ahead = View::Token(tok("a", 3, NOW - 1, NOW + 100));
        assert_eq!(
            decide(NOW * 1000, Ok(&ahead), &cell, 0),
            Decision::UseAndRefresh(tok("a", 3, NOW - 1, NOW + 100))
        );
        // One already runs: just use the token.
        let running = Cell {
            flight: true,
            ..Cell::default()
        };
        assert!(matches!(
            decide(NOW * 1000, Ok(&ahead), &running, 0),
            Decision::Use(_)
        ));
    }

    #[test]
    fn a_failed_refresh_ahead_keeps_the_valid_token_and_is_not_retried_on_the_next_call() {
        let mut cell = Cell::default();
        settle(
            &mut cell,
            NOW * 1000,
            &Err(quota()),
            &CooldownPolicy::default(),
            0.5,
            0,
            false,
        );
        let ahead = View::Token(tok("a", 3, NOW - 1, NOW + 100));
        assert!(matches!(
            decide(NOW * 1000 + 1, Ok(&ahead), &cell, 0),
            Decision::Use(_)
        ));
        // After the 10-minute quota cool-down, refresh ahead is tried again.
        assert!(matches!(
            decide(
                (NOW + 601) * 1000,
                Ok(&View::Token(tok("a", 3, NOW - 1, NOW + 9999))),
                &cell,
                0
            ),
            Decision::UseAndRefresh(_)
        ));
    }

    #[test]
    fn missing_or_expired_token_waits_for_a_refresh_unless_a_failure_is_remembered() {
        let cell = Cell::<String>::default();
        let expired = View::Token(tok("a", 3, NOW - 100, NOW));
        assert_eq!(
            decide(NOW * 1000, Ok(&expired), &cell, 0),
            Decision::Refresh { observed: Some(3) }
        );
        assert_eq!(
            decide(NOW * 1000, Ok(&View::Absent { version: None }), &cell, 0),
            Decision::Refresh { observed: None }
        );
        let mut failed = Cell::<String>::default();
        settle(
            &mut failed,
            NOW * 1000,
            &Err(quota()),
            &CooldownPolicy::default(),
            0.5,
            0,
            false,
        );
        match decide(NOW * 1000 + 5, Ok(&expired), &failed, 0) {
            Decision::Fail(ErrorOrStore::Remembered(e)) => assert_eq!(e.code(), Some(45009)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_remembered_failure_leaves_a_running_refresh_alone_and_counts() {
        let p = CooldownPolicy::default();
        let mut cell: Cell<u8> = Cell {
            flight: true,
            ..Cell::default()
        };
        let rejected = Error::from_api("component_access_token", 40001, "invalid credential");
        // (failures before, cool-down after): the transient class, doubling.
        for (i, secs) in [(0u32, 5u64), (1, 10), (2, 20)] {
            assert_eq!(cell.failures, i);
            remember_failure(&mut cell, 1_000, &rejected, &p, 0.5, 7);
            let c = cell.cooldown.clone().unwrap();
            assert_eq!(c.until_ms, 1_000 + secs * 1000, "failure {i}");
            assert_eq!(c.error.code(), Some(40001));
        }
        assert!(cell.flight, "a running refresh is not touched");
    }

    #[test]
    fn an_unwritten_token_does_not_reset_the_failure_count() {
        let p = CooldownPolicy::default();
        let mut cell: Cell<u8> = Cell::default();
        let rejected = Error::from_api("component_access_token", 40001, "invalid credential");
        remember_failure(&mut cell, 0, &rejected, &p, 0.5, 0);
        let token = |version| Token {
            value: 1u8,
            version,
            refresh_at: 100,
            expires_at: 200,
        };
        // (version written, failures after): unwritten keeps the count, stored resets it.
        for (version, failures) in [(0, 1), (5, 0)] {
            cell.failures = 1;
            settle(&mut cell, 10, &Ok(token(version)), &p, 0.5, 0, false);
            assert_eq!(cell.failures, failures, "version {version}");
            assert!(cell.cooldown.is_none());
        }
    }

    #[test]
    fn cooldowns_by_class() {
        let p = CooldownPolicy::default();
        assert_eq!(
            cooldown_for(&quota(), &p, 1),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            cooldown_for(&Error::from_api("x", 45011, "minute"), &p, 1),
            Some(Duration::from_secs(60))
        );
        for code in [61004, 40125, 40013, 41004] {
            assert_eq!(
                cooldown_for(&Error::from_api("x", code, "m"), &p, 1),
                Some(Duration::from_secs(300)),
                "{code}"
            );
        }
        assert_eq!(
            cooldown_for(&Error::TicketMissing, &p, 1),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            cooldown_for(&Error::from_api("x", 61006, "m"), &p, 1),
            Some(Duration::from_secs(60))
        );
        // Transient: 5 s, doubling, capped at 60 s.
        assert_eq!(cooldown_for(&busy(), &p, 1), Some(Duration::from_secs(5)));
        assert_eq!(cooldown_for(&busy(), &p, 2), Some(Duration::from_secs(10)));
        assert_eq!(cooldown_for(&busy(), &p, 30), Some(Duration::from_secs(60)));
        // Not about the upstream: not remembered.
        assert_eq!(
            cooldown_for(&Error::Store(StoreError::new("down")), &p, 1),
            None
        );
        assert_eq!(cooldown_for(&quota(), &CooldownPolicy::none(), 1), None);
    }

    #[test]
    fn a_newer_ticket_ends_a_ticket_cooldown() {
        let mut cell = Cell::<String>::default();
        settle(
            &mut cell,
            NOW * 1000,
            &Err(Error::TicketMissing),
            &CooldownPolicy::default(),
            0.5,
            7,
            false,
        );
        let absent = View::Absent { version: None };
        assert!(matches!(
            decide(NOW * 1000, Ok(&absent), &cell, 7),
            Decision::Fail(_)
        ));
        assert_eq!(
            decide(NOW * 1000, Ok(&absent), &cell, 8),
            Decision::Refresh { observed: None }
        );
    }

    #[test]
    fn success_clears_the_cooldown() {
        let mut cell = Cell::<String>::default();
        settle(
            &mut cell,
            NOW * 1000,
            &Err(busy()),
            &CooldownPolicy::default(),
            0.5,
            0,
            false,
        );
        assert_eq!(cell.failures, 1);
        settle(
            &mut cell,
            NOW * 1000,
            &Ok(tok("b", 4, NOW + 10, NOW + 20)),
            &CooldownPolicy::default(),
            0.5,
            0,
            false,
        );
        assert!(cell.cooldown.is_none() && cell.failures == 0);
        assert_eq!(cell.last_seen, Some(tok("b", 4, NOW + 10, NOW + 20)));
    }

    #[test]
    fn a_failure_that_left_a_tombstone_is_not_remembered_in_process() {
        let mut cell = Cell::<String>::default();
        let e = Error::MustReauthorize {
            authorizer_appid: "wx1".into(),
            errcode: Some(61023),
            reason: "r".into(),
            source: None,
        };
        settle(
            &mut cell,
            NOW * 1000,
            &Err(e),
            &CooldownPolicy::default(),
            0.5,
            0,
            true,
        );
        assert!(cell.cooldown.is_none() && cell.idle(NOW * 1000, 0));
    }

    #[test]
    fn tombstone_fails_without_a_refresh() {
        let record = RevokedRecord {
            since: 5,
            reason: RevokeReason::RefreshTokenInvalid,
            errcode: Some(61023),
            event_time: 0,
            token_serial: 0,
        };
        let view = View::<String>::Revoked {
            record: record.clone(),
            version: 9,
        };
        assert_eq!(
            decide(NOW * 1000, Ok(&view), &Cell::default(), 0),
            Decision::Revoked(record)
        );
    }

    #[test]
    fn store_down_serves_the_last_seen_token_until_it_expires() {
        let cell = Cell {
            last_seen: Some(tok("a", 3, NOW + 10, NOW + 100)),
            ..Cell::default()
        };
        let down = StoreError::unavailable("down");
        assert!(matches!(
            decide(NOW * 1000, Err(&down), &cell, 0),
            Decision::Use(_)
        ));
        assert!(matches!(
            decide((NOW + 100) * 1000, Err(&down), &cell, 0),
            Decision::Fail(ErrorOrStore::Store(_))
        ));
    }

    #[test]
    fn an_unwritten_token_is_served_while_the_store_holds_what_it_replaces() {
        let cell = Cell {
            unwritten: Some(Unwritten {
                token: tok("new", 0, NOW + 50, NOW + 100),
                over: Some(3),
            }),
            ..Cell::default()
        };
        let old = View::Token(tok("old", 3, NOW - 10, NOW + 5));
        assert_eq!(
            decide(NOW * 1000, Ok(&old), &cell, 0),
            Decision::Use(tok("new", 0, NOW + 50, NOW + 100))
        );
        // Someone else wrote since: the store wins.
        let newer = View::Token(tok("other", 4, NOW + 60, NOW + 100));
        assert_eq!(
            decide(NOW * 1000, Ok(&newer), &cell, 0),
            Decision::Use(tok("other", 4, NOW + 60, NOW + 100))
        );
    }

    #[test]
    fn idle_cells_are_dropped() {
        assert!(Cell::<String>::default().idle(NOW * 1000, 0));
        let c = Cell {
            flight: true,
            ..Cell::<String>::default()
        };
        assert!(!c.idle(NOW * 1000, 0));
        let mut failed = Cell::<String>::default();
        settle(
            &mut failed,
            NOW * 1000,
            &Err(busy()),
            &CooldownPolicy::default(),
            0.5,
            0,
            false,
        );
        assert!(!failed.idle(NOW * 1000, 0));
        assert!(failed.idle((NOW + 61) * 1000, 0));
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let d = Duration::from_secs(10);
        assert_eq!(jittered(d, 0.2, 0.5), d);
        assert_eq!(jittered(d, 0.2, 0.0), Duration::from_secs(8));
        assert!(jittered(d, 0.2, 0.999) <= Duration::from_secs(12));
        assert_eq!(jittered(d, 0.0, 0.9), d);
    }
}
