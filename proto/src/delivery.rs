//! The event plane's delivery rules: when an event of the log may be sent to the host, what an
//! attempt's outcome does to it (backoff with jitter, dead letter after a maximum age), which
//! event of one account may go next (per-account order), and what a replay or a re-queue does.
//!
//! Pure: the driver passes the time (Unix milliseconds) and a jitter draw in `0.0..=1.0`; it
//! stores the [`DeliveryState`] these functions return, with a compare-and-set on the event,
//! so two instances never both advance one event.
//!
//! ```
//! use std::time::Duration;
//! use wxopen_proto::delivery::{settle, Attempt, DeliveryPolicy, DeliveryState};
//!
//! let policy = DeliveryPolicy::default();
//! let received = 1_700_000_000_000;
//! let sent = DeliveryState::InFlight { attempts: 1, until_ms: received + 30_000 };
//! // The webhook answered 503: the event waits about a second (±20 %) and goes again.
//! let next = settle(&sent, Attempt::Failed { retry_after: None }, received, received + 100, &policy, 0.5);
//! assert_eq!(next, DeliveryState::Pending { attempts: 1, next_at_ms: received + 100 + 1_000 });
//! ```

use std::time::Duration;

/// How the delivery worker retries.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct DeliveryPolicy {
    /// Wait after the first failed attempt, doubling after each further one (default 1 s).
    pub first_retry: Duration,
    /// Longest wait between attempts (default 10 min).
    pub max_retry: Duration,
    /// An event not delivered this long after it was received becomes a dead letter
    /// (default 3 days).
    pub max_age: Duration,
    /// Spread of every wait, as a fraction of it (default 0.2: ±20 %).
    pub jitter: f64,
    /// How long an attempt may hold an event before another worker may take it over (an
    /// instance that died mid-attempt; default 30 s).
    pub visibility: Duration,
}

impl DeliveryPolicy {
    /// Sets [`DeliveryPolicy::max_age`].
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = age;
        self
    }

    /// Sets [`DeliveryPolicy::first_retry`] and [`DeliveryPolicy::max_retry`].
    pub fn retry(mut self, first: Duration, max: Duration) -> Self {
        self.first_retry = first;
        self.max_retry = max.max(first);
        self
    }

    /// Sets [`DeliveryPolicy::visibility`].
    pub fn visibility(mut self, d: Duration) -> Self {
        self.visibility = d;
        self
    }
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(600),
            max_age: Duration::from_secs(3 * 24 * 3600),
            jitter: 0.2,
            visibility: Duration::from_secs(30),
        }
    }
}

/// Where an event of the log stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryState {
    /// Waiting for an attempt, not before `next_at_ms`.
    Pending {
        /// Attempts made so far.
        attempts: u32,
        /// Earliest time of the next attempt (Unix ms).
        next_at_ms: u64,
    },
    /// An attempt is running; after `until_ms` another worker may take it over.
    InFlight {
        /// Attempts made so far, this one included.
        attempts: u32,
        /// End of the attempt's visibility timeout (Unix ms).
        until_ms: u64,
    },
    /// The host acknowledged it (a 2xx).
    Delivered {
        /// Attempts it took.
        attempts: u32,
        /// When (Unix ms).
        at_ms: u64,
    },
    /// Given up: kept for inspection, replay or discard.
    Dead {
        /// Attempts made.
        attempts: u32,
        /// When (Unix ms).
        at_ms: u64,
        /// Why.
        reason: DeadReason,
    },
}

/// Why an event became a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeadReason {
    /// Not delivered within [`DeliveryPolicy::max_age`].
    MaxAge,
    /// An operator discarded it.
    Discarded,
}

impl DeadReason {
    /// The label used in metrics, logs and the internal API.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadReason::MaxAge => "max_age",
            DeadReason::Discarded => "discarded",
        }
    }
}

/// The outcome of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attempt {
    /// A 2xx.
    Delivered,
    /// Anything else: another status, a timeout, a refused connection. `retry_after` is the
    /// host's `Retry-After`, honoured up to [`DeliveryPolicy::max_retry`].
    Failed {
        /// The host's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
}

/// A new event: pending, due at once.
pub fn received(now_ms: u64) -> DeliveryState {
    DeliveryState::Pending {
        attempts: 0,
        next_at_ms: now_ms,
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The wait after `attempts` failed attempts (1 → `first_retry`), doubled each time, capped,
/// spread by `unit` over ±`jitter`.
pub fn backoff(policy: &DeliveryPolicy, attempts: u32, unit: f64) -> Duration {
    let doublings = attempts.saturating_sub(1).min(40);
    let base = policy
        .first_retry
        .saturating_mul(1u32 << doublings.min(31))
        .min(policy.max_retry);
    let unit = if unit.is_nan() {
        0.5
    } else {
        unit.clamp(0.0, 1.0)
    };
    let jitter = if policy.jitter.is_finite() {
        policy.jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // unit 0 → (1 - jitter) × base, 0.5 → base, 1 → (1 + jitter) × base.
    base.mul_f64(1.0 + jitter * (2.0 * unit - 1.0))
}

/// Takes an event for an attempt at `now_ms`: a pending event that is due, or one whose
/// previous attempt outlived its visibility timeout (its instance died). `None`: not now.
pub fn claim(state: &DeliveryState, now_ms: u64, policy: &DeliveryPolicy) -> Option<DeliveryState> {
    let until_ms = now_ms.saturating_add(millis(policy.visibility));
    match *state {
        DeliveryState::Pending {
            attempts,
            next_at_ms,
        } if now_ms >= next_at_ms => Some(DeliveryState::InFlight {
            attempts: attempts.saturating_add(1),
            until_ms,
        }),
        DeliveryState::InFlight {
            attempts,
            until_ms: held,
        } if now_ms >= held => Some(DeliveryState::InFlight {
            attempts: attempts.saturating_add(1),
            until_ms,
        }),
        _ => None,
    }
}

/// What an attempt's outcome makes of the event: delivered; or pending again after the backoff
/// (or the host's `Retry-After`, capped); or a dead letter when the next attempt would come
/// after `received_ms + max_age`. `unit` is the jitter draw.
pub fn settle(
    state: &DeliveryState,
    outcome: Attempt,
    received_ms: u64,
    now_ms: u64,
    policy: &DeliveryPolicy,
    unit: f64,
) -> DeliveryState {
    let attempts = match *state {
        DeliveryState::InFlight { attempts, .. } | DeliveryState::Pending { attempts, .. } => {
            attempts.max(1)
        }
        // Settled already (another worker took it over and finished): keep what is stored.
        ref done @ (DeliveryState::Delivered { .. } | DeliveryState::Dead { .. }) => {
            return done.clone()
        }
    };
    match outcome {
        Attempt::Delivered => DeliveryState::Delivered {
            attempts,
            at_ms: now_ms,
        },
        Attempt::Failed { retry_after } => {
            let wait = match retry_after {
                Some(d) => d.min(policy.max_retry),
                None => backoff(policy, attempts, unit),
            };
            let next_at_ms = now_ms.saturating_add(millis(wait));
            if next_at_ms > received_ms.saturating_add(millis(policy.max_age)) {
                DeliveryState::Dead {
                    attempts,
                    at_ms: now_ms,
                    reason: DeadReason::MaxAge,
                }
            } else {
                DeliveryState::Pending {
                    attempts,
                    next_at_ms,
                }
            }
        }
    }
}

/// Replay (an operator's request): any event goes again now, as a new attempt; its attempts
/// so far are kept.
pub fn replay(state: &DeliveryState, now_ms: u64) -> DeliveryState {
    let attempts = match *state {
        DeliveryState::Pending { attempts, .. }
        | DeliveryState::InFlight { attempts, .. }
        | DeliveryState::Delivered { attempts, .. }
        | DeliveryState::Dead { attempts, .. } => attempts,
    };
    DeliveryState::Pending {
        attempts,
        next_at_ms: now_ms,
    }
}

/// An operator discards an event that is not delivered: a dead letter (kept, not sent).
/// A delivered event stays delivered.
pub fn discard(state: &DeliveryState, now_ms: u64) -> DeliveryState {
    match *state {
        DeliveryState::Pending { attempts, .. }
        | DeliveryState::InFlight { attempts, .. }
        | DeliveryState::Dead { attempts, .. } => DeliveryState::Dead {
            attempts,
            at_ms: now_ms,
            reason: DeadReason::Discarded,
        },
        ref delivered @ DeliveryState::Delivered { .. } => delivered.clone(),
    }
}

/// What the worker does for one account, whose events are given oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Send the event at this index (claim it first).
    Send(usize),
    /// The account's oldest undelivered event is not due before this time (Unix ms).
    WaitUntil(u64),
    /// An attempt on the account's oldest undelivered event is running.
    Busy,
    /// Nothing to deliver.
    Idle,
}

/// Per-account order: only the account's oldest event that is neither delivered nor dead may
/// go; a later one waits while it is retried. Dead letters do not block the account.
pub fn next_for_account<'a>(
    events: impl IntoIterator<Item = &'a DeliveryState>,
    now_ms: u64,
    policy: &DeliveryPolicy,
) -> Next {
    for (i, state) in events.into_iter().enumerate() {
        match *state {
            DeliveryState::Delivered { .. } | DeliveryState::Dead { .. } => continue,
            DeliveryState::Pending { next_at_ms, .. } => {
                return if now_ms >= next_at_ms {
                    Next::Send(i)
                } else {
                    Next::WaitUntil(next_at_ms)
                };
            }
            DeliveryState::InFlight { .. } => {
                return if claim(state, now_ms, policy).is_some() {
                    Next::Send(i)
                } else {
                    Next::Busy
                };
            }
        }
    }
    Next::Idle
}

/// `true` when the host's answer can no longer become the passive reply to WeChat: the event
/// is delivered later than `reply_budget` after it was received (the relay says `late: true`).
pub fn is_late(received_ms: u64, now_ms: u64, reply_budget: Duration) -> bool {
    now_ms.saturating_sub(received_ms) > millis(reply_budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_700_000_000_000;

    fn policy() -> DeliveryPolicy {
        DeliveryPolicy::default()
    }

    fn pending(attempts: u32, next_at_ms: u64) -> DeliveryState {
        DeliveryState::Pending {
            attempts,
            next_at_ms,
        }
    }

    fn in_flight(attempts: u32, until_ms: u64) -> DeliveryState {
        DeliveryState::InFlight { attempts, until_ms }
    }

    fn delivered(attempts: u32) -> DeliveryState {
        DeliveryState::Delivered { attempts, at_ms: T }
    }

    fn dead(attempts: u32) -> DeliveryState {
        DeliveryState::Dead {
            attempts,
            at_ms: T,
            reason: DeadReason::MaxAge,
        }
    }

    #[test]
    fn backoff_doubles_caps_and_spreads() {
        let p = policy();
        let table = [
            (1, 0.5, 1_000),
            (2, 0.5, 2_000),
            (3, 0.5, 4_000),
            (10, 0.5, 512_000),
            (11, 0.5, 600_000),
            (u32::MAX, 0.5, 600_000),
            (1, 0.0, 800),
            (1, 1.0, 1_200),
            (1, f64::NAN, 1_000),
            (1, 7.0, 1_200),
            (0, 0.5, 1_000),
        ];
        for (attempts, unit, ms) in table {
            assert_eq!(
                backoff(&p, attempts, unit),
                Duration::from_millis(ms),
                "{attempts} {unit}"
            );
        }
    }

    #[test]
    fn claim_takes_due_pending_and_abandoned_attempts_only() {
        let p = policy();
        let table = [
            (pending(0, T), T, Some(in_flight(1, T + 30_000))),
            (pending(2, T + 1), T, None),
            (pending(2, T), T + 5, Some(in_flight(3, T + 30_005))),
            (in_flight(1, T + 1), T, None),
            (in_flight(1, T), T, Some(in_flight(2, T + 30_000))),
            (delivered(1), T, None),
            (dead(3), T, None),
        ];
        for (state, now, want) in table {
            assert_eq!(claim(&state, now, &p), want, "{state:?} at {now}");
        }
    }

    #[test]
    fn settle_delivers_backs_off_honours_retry_after_and_dead_letters_by_age() {
        let p = policy();
        let max_age = 3 * 24 * 3600 * 1000;
        let failed = Attempt::Failed { retry_after: None };
        let table = [
            (
                in_flight(1, T),
                Attempt::Delivered,
                T,
                T + 9,
                delivered_at(1, T + 9),
            ),
            (in_flight(1, T), failed, T, T + 9, pending(1, T + 9 + 1_000)),
            (in_flight(3, T), failed, T, T + 9, pending(3, T + 9 + 4_000)),
            (
                in_flight(1, T),
                Attempt::Failed {
                    retry_after: Some(Duration::from_secs(30)),
                },
                T,
                T,
                pending(1, T + 30_000),
            ),
            (
                in_flight(1, T),
                Attempt::Failed {
                    retry_after: Some(Duration::from_secs(86_400)),
                },
                T,
                T,
                pending(1, T + 600_000),
            ),
            // The next attempt would fall after the maximum age: a dead letter now.
            (
                in_flight(40, T),
                failed,
                T - max_age + 100_000,
                T,
                DeliveryState::Dead {
                    attempts: 40,
                    at_ms: T,
                    reason: DeadReason::MaxAge,
                },
            ),
            // Exactly at the limit still goes.
            (
                in_flight(1, T),
                failed,
                T + 1_000 - max_age,
                T,
                pending(1, T + 1_000),
            ),
            // Settled elsewhere meanwhile: unchanged.
            (delivered(2), failed, T, T, delivered(2)),
            (dead(2), Attempt::Delivered, T, T, dead(2)),
        ];
        for (state, outcome, received, now, want) in table {
            assert_eq!(
                settle(&state, outcome, received, now, &p, 0.5),
                want,
                "{state:?} {outcome:?}"
            );
        }
    }

    fn delivered_at(attempts: u32, at_ms: u64) -> DeliveryState {
        DeliveryState::Delivered { attempts, at_ms }
    }

    #[test]
    fn replay_and_discard() {
        assert_eq!(replay(&delivered(2), T + 1), pending(2, T + 1));
        assert_eq!(replay(&dead(7), T + 1), pending(7, T + 1));
        assert_eq!(replay(&pending(1, T + 99), T), pending(1, T));
        let discarded = DeliveryState::Dead {
            attempts: 3,
            at_ms: T + 1,
            reason: DeadReason::Discarded,
        };
        assert_eq!(discard(&pending(3, T), T + 1), discarded);
        assert_eq!(discard(&delivered(1), T + 1), delivered(1));
        assert_eq!(DeadReason::Discarded.as_str(), "discarded");
    }

    #[test]
    fn an_account_goes_in_order_and_dead_letters_do_not_block_it() {
        let p = policy();
        let table: [(Vec<DeliveryState>, Next); 7] = [
            (vec![], Next::Idle),
            (vec![delivered(1), delivered(1)], Next::Idle),
            (
                vec![delivered(1), pending(0, T), pending(0, T)],
                Next::Send(1),
            ),
            // A later event waits while the earlier one is retried.
            (
                vec![pending(2, T + 500), pending(0, T)],
                Next::WaitUntil(T + 500),
            ),
            (vec![in_flight(1, T + 1), pending(0, T)], Next::Busy),
            (vec![in_flight(1, T), pending(0, T)], Next::Send(0)),
            (vec![dead(9), delivered(1), pending(0, T)], Next::Send(2)),
        ];
        for (events, want) in table {
            assert_eq!(next_for_account(&events, T, &p), want, "{events:?}");
        }
    }

    #[test]
    fn late_means_past_the_reply_budget() {
        let budget = Duration::from_millis(4_500);
        assert!(!is_late(T, T + 4_500, budget));
        assert!(is_late(T, T + 4_501, budget));
        assert!(!is_late(T + 10, T, budget));
    }
}
