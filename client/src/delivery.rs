//! The event plane's driver: [`DeliveryWorker`] sends a component's logged events to the host
//! through an [`EventSink`] (the server's webhook), at least once and in order per account,
//! executing the pure rules of [`wxopen_proto::delivery`] over an [`EventLog`]: claim an
//! account's oldest open event with a compare-and-set (so one instance sends it), send it,
//! settle it with another compare-and-set. Time, sleep and jitter are injected ports.
//!
//! ```
//! # async fn run() -> Result<(), wxopen_client::StoreError> {
//! use std::sync::Arc;
//! use wxopen_client::delivery::{DeliveryWorker, EventSink, Sent};
//! use wxopen_client::store::{BoxFuture, EventLog, LoggedEvent};
//! use wxopen_client::wxopen_proto::delivery::Attempt;
//! use wxopen_client::MemoryEventLog;
//!
//! #[derive(Debug)]
//! struct Print;
//! impl EventSink for Print {
//!     fn deliver<'a>(&'a self, e: &'a LoggedEvent, sent: Sent) -> BoxFuture<'a, Attempt> {
//!         println!("{} #{} attempt {}", e.event.kind, e.sequence, sent.attempt);
//!         Box::pin(async { Attempt::Delivered })
//!     }
//! }
//!
//! let log: Arc<dyn EventLog> = Arc::new(MemoryEventLog::new());
//! let worker = DeliveryWorker::new("wx_component_appid", log, Arc::new(Print));
//! let pass = worker.run_once().await?;
//! assert_eq!(pass.sent, 0);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{watch, Notify};
use wxopen_proto::delivery::{self, Attempt, DeliveryPolicy};

use crate::clock::{Clock, SystemClock};
use crate::jitter::{JitterSource, RandomJitter};
use crate::store::event_log::{EventLog, LoggedEvent};
use crate::store::{BoxFuture, StoreError};

/// What an attempt tells the sink besides the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// This attempt's number (1 for the first).
    pub attempt: u32,
    /// `true` when the host's answer can no longer become the passive reply to WeChat.
    pub late: bool,
}

impl Sent {
    /// Attempt `attempt` (1 for the first), `late` or not.
    pub fn new(attempt: u32, late: bool) -> Self {
        Self { attempt, late }
    }
}

/// Where events go: the host's webhook, a queue… One call is one attempt; the sink bounds its
/// own time (a timeout is [`Attempt::Failed`]).
pub trait EventSink: Send + Sync + fmt::Debug {
    /// Sends `event` once.
    fn deliver<'a>(&'a self, event: &'a LoggedEvent, sent: Sent) -> BoxFuture<'a, Attempt>;
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pass {
    /// Attempts made.
    pub sent: usize,
    /// Events the host acknowledged.
    pub delivered: usize,
    /// Attempts that failed (the event waits for its backoff).
    pub failed: usize,
    /// Events that became dead letters.
    pub dead: usize,
    /// Claims another instance won, or settlements it had already made.
    pub lost_races: usize,
    /// The earliest time (Unix ms) a head that was not due becomes due.
    pub next_due_ms: Option<u64>,
}

/// Sends one component's events to a sink (see the module docs).
pub struct DeliveryWorker {
    component: String,
    log: Arc<dyn EventLog>,
    sink: Arc<dyn EventSink>,
    policy: DeliveryPolicy,
    clock: Arc<dyn Clock>,
    jitter: Arc<dyn JitterSource>,
    reply_budget: Duration,
    batch: usize,
    idle_poll: Duration,
    wake: Arc<Notify>,
    on_pass: Option<PassObserver>,
}

/// Called after every pass of [`DeliveryWorker::run`] (metrics).
pub type PassObserver = Arc<dyn Fn(&Pass) + Send + Sync>;

impl fmt::Debug for DeliveryWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryWorker")
            .field("component", &self.component)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl DeliveryWorker {
    /// A worker for `component` with the default policy, the system clock and random jitter.
    pub fn new(
        component: impl Into<String>,
        log: Arc<dyn EventLog>,
        sink: Arc<dyn EventSink>,
    ) -> Self {
        Self {
            component: component.into(),
            log,
            sink,
            policy: DeliveryPolicy::default(),
            clock: Arc::new(SystemClock),
            jitter: Arc::new(RandomJitter),
            reply_budget: Duration::from_millis(4_500),
            batch: 64,
            idle_poll: Duration::from_secs(1),
            wake: Arc::new(Notify::new()),
            on_pass: None,
        }
    }

    /// Wakes on `waker` (shared with whoever appends) instead of a handle of its own.
    pub fn waker_from(mut self, waker: Arc<Notify>) -> Self {
        self.wake = waker;
        self
    }

    /// Calls `f` after every pass of [`DeliveryWorker::run`].
    pub fn on_pass(mut self, f: PassObserver) -> Self {
        self.on_pass = Some(f);
        self
    }

    /// Uses `policy` (backoff, maximum age, visibility timeout).
    pub fn policy(mut self, policy: DeliveryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Uses `clock` for time and sleeps.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `jitter` for the backoff spread.
    pub fn jitter(mut self, jitter: Arc<dyn JitterSource>) -> Self {
        self.jitter = jitter;
        self
    }

    /// After this long from receipt, an event's answer can no longer be the passive reply
    /// (`late`; default 4.5 s, inside WeChat's 5 s).
    pub fn reply_budget(mut self, budget: Duration) -> Self {
        self.reply_budget = budget;
        self
    }

    /// Most accounts served per pass, concurrently (default 64).
    pub fn batch(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }

    /// Longest sleep between passes when nothing is due (default 1 s; another instance may
    /// have appended meanwhile).
    pub fn idle_poll(mut self, d: Duration) -> Self {
        self.idle_poll = d;
        self
    }

    /// A handle that wakes the running worker at once (call it after an append).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// One pass: each account's oldest open event that is due is claimed, sent and settled,
    /// the accounts concurrently.
    ///
    /// # Errors
    /// The log's error when its heads cannot be read; errors of single events are counted as
    /// lost races or left for the next pass.
    pub async fn run_once(&self) -> Result<Pass, StoreError> {
        let heads = self.log.heads(&self.component, self.batch).await?;
        let now = self.clock.unix_millis();
        let mut pass = Pass::default();
        let mut sends = Vec::new();
        for head in heads {
            match delivery::claim(&head.state, now, &self.policy) {
                Some(claimed) => sends.push(self.attempt(head, claimed)),
                None => {
                    let due = match head.state {
                        delivery::DeliveryState::Pending { next_at_ms, .. } => Some(next_at_ms),
                        delivery::DeliveryState::InFlight { until_ms, .. } => Some(until_ms),
                        _ => None,
                    };
                    pass.next_due_ms = min_opt(pass.next_due_ms, due);
                }
            }
        }
        for step in futures_util::future::join_all(sends).await {
            pass.record(step);
        }
        Ok(pass)
    }

    /// Claims every due head (up to the batch beyond the attempts already running) and adds
    /// its attempt to `running`; returns when the earliest head that is not due becomes due.
    async fn start_due<'a>(
        &'a self,
        running: &mut FuturesUnordered<BoxFuture<'a, Step>>,
    ) -> Result<Option<u64>, StoreError> {
        let heads = self
            .log
            .heads(&self.component, self.batch + running.len())
            .await?;
        let now = self.clock.unix_millis();
        let mut next_due = None;
        for head in heads {
            // An account whose attempt runs here has it in flight: not claimable until its
            // visibility runs out, by which time the attempt has settled.
            match delivery::claim(&head.state, now, &self.policy) {
                Some(claimed) if running.len() < self.batch => {
                    running.push(Box::pin(self.attempt(head, claimed)));
                }
                // The batch is full: an attempt settling wakes the loop.
                Some(_) => {}
                None => {
                    let due = match head.state {
                        delivery::DeliveryState::Pending { next_at_ms, .. } => Some(next_at_ms),
                        delivery::DeliveryState::InFlight { until_ms, .. } => Some(until_ms),
                        _ => None,
                    };
                    next_due = min_opt(next_due, due);
                }
            }
        }
        Ok(next_due)
    }

    async fn attempt(&self, head: LoggedEvent, claimed: delivery::DeliveryState) -> Step {
        let c = &self.component;
        match self.log.transition(c, head.id, &head.state, &claimed).await {
            Ok(true) => {}
            Ok(false) => return Step::Lost,
            Err(e) => {
                tracing::warn!(component = %c, id = head.id, error = %e, "event log: cannot claim an event; retried next pass");
                return Step::Lost;
            }
        }
        let attempt = match claimed {
            delivery::DeliveryState::InFlight { attempts, .. } => attempts,
            _ => 1,
        };
        let late = delivery::is_late(
            head.event.received_at_ms,
            self.clock.unix_millis(),
            self.reply_budget,
        );
        let outcome = self.sink.deliver(&head, Sent { attempt, late }).await;
        let now = self.clock.unix_millis();
        let settled = delivery::settle(
            &claimed,
            outcome,
            head.event.received_at_ms,
            now,
            &self.policy,
            self.jitter.unit(),
        );
        let dead = matches!(settled, delivery::DeliveryState::Dead { .. });
        let next = match settled {
            delivery::DeliveryState::Pending { next_at_ms, .. } => Some(next_at_ms),
            _ => Some(now),
        };
        match self.log.transition(c, head.id, &claimed, &settled).await {
            Ok(true) => {
                if dead {
                    tracing::warn!(component = %c, id = head.id, kind = %head.event.kind, attempts = attempt, "event became a dead letter (not delivered within the maximum age)");
                }
                Step::Settled {
                    outcome,
                    dead,
                    next,
                }
            }
            // Its visibility ran out and another worker took it over: that one settles it.
            Ok(false) => Step::Lost,
            Err(e) => {
                tracing::warn!(component = %c, id = head.id, error = %e, "event log: cannot settle an event; it is sent again after its visibility timeout");
                Step::Lost
            }
        }
    }

    /// Runs until `stop` turns `true`: each account's due head is claimed and sent as soon as
    /// it is due, the accounts' attempts running side by side — a slow or failing account never
    /// holds up another (one account's events still go one at a time, in order). It rescans
    /// when an attempt settles, on a waker call, when the next head is due, or after
    /// `idle_poll`; a stop lets the running attempts settle first.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut running: FuturesUnordered<BoxFuture<'_, Step>> = FuturesUnordered::new();
        loop {
            if *stop.borrow() {
                while let Some(step) = running.next().await {
                    let mut pass = Pass::default();
                    pass.record(step);
                    self.observe(&pass);
                }
                return;
            }
            let next_due = match self.start_due(&mut running).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(component = %self.component, error = %e, "event log unreadable; delivery retried shortly");
                    None
                }
            };
            let now = self.clock.unix_millis();
            let wait = next_due
                .map(|t| Duration::from_millis(t.saturating_sub(now)))
                .unwrap_or(self.idle_poll)
                .min(self.idle_poll);
            let mut pass = Pass {
                next_due_ms: next_due,
                ..Pass::default()
            };
            tokio::select! {
                Some(step) = running.next(), if !running.is_empty() => {
                    pass.record(step);
                    // Whatever else settled meanwhile, without waiting.
                    while let Some(Some(step)) = futures_util::FutureExt::now_or_never(running.next()) {
                        pass.record(step);
                    }
                }
                () = self.clock.sleep(wait) => {}
                () = self.wake.notified() => {}
                _ = stop.changed() => {}
            }
            self.observe(&pass);
        }
    }

    fn observe(&self, pass: &Pass) {
        if let Some(f) = &self.on_pass {
            f(pass);
        }
    }
}

impl Pass {
    fn record(&mut self, step: Step) {
        match step {
            Step::Lost => self.lost_races += 1,
            Step::Settled {
                outcome,
                dead,
                next,
            } => {
                self.sent += 1;
                match outcome {
                    Attempt::Delivered => self.delivered += 1,
                    _ if dead => {
                        self.failed += 1;
                        self.dead += 1;
                    }
                    _ => self.failed += 1,
                }
                self.next_due_ms = min_opt(self.next_due_ms, next);
            }
        }
    }
}

enum Step {
    Lost,
    Settled {
        outcome: Attempt,
        dead: bool,
        next: Option<u64>,
    },
}

fn min_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}
