//! The event log port: [`EventLog`], where every verified push and message is made durable
//! before WeChat gets its answer, and from which the delivery worker sends it to the host at
//! least once, in order per account. The delivery rules are the pure
//! [`wxopen_proto::delivery`] functions; a backend stores their [`DeliveryState`]s with a
//! compare-and-set per event, so two instances never both advance one event.

use std::fmt;

pub use wxopen_proto::delivery::DeliveryState;
use wxopen_proto::records::StoreError;

use super::port::BoxFuture;

/// Longest delivery id a log accepts, in bytes (WeChat's `MsgId` or the event's dedupe key).
pub const MAX_DELIVERY_ID_LEN: usize = 256;
/// Most fields one event may carry.
pub const MAX_EVENT_FIELDS: usize = 256;
/// Largest total size of an event's field names and values, in bytes.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Most events one listing or one [`EventLog::heads`] call returns.
pub const MAX_EVENT_PAGE: usize = 1_000;

/// An event to append.
///
/// `Debug` shows its identity and the field names, never their values (a message's content is
/// the account's users' data).
#[derive(Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The component the push was sent to.
    pub component: String,
    /// The account it belongs to (`""` for a component-level push without one).
    pub authorizer: String,
    /// The delivery id: WeChat's retries of one push share it; a second append with the same id
    /// is a duplicate.
    pub delivery_id: String,
    /// What it is (`InfoType`, `MsgType` or `event:<Event>`).
    pub kind: String,
    /// WeChat's `CreateTime` (Unix seconds).
    pub create_time: u64,
    /// When it was received (Unix milliseconds).
    pub received_at_ms: u64,
    /// The decrypted fields in document order, repeated siblings and unknown fields kept
    /// (credentials such as authorization codes left out by the caller).
    pub fields: Vec<(String, String)>,
    /// What wxopen adds to the event (e.g. `applied`, `record_version`, `authorizer_verified`),
    /// as name/value pairs.
    pub meta: Vec<(String, String)>,
}

impl fmt::Debug for NewEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewEvent")
            .field("component", &self.component)
            .field("authorizer", &self.authorizer)
            .field("delivery_id", &self.delivery_id)
            .field("kind", &self.kind)
            .field("create_time", &self.create_time)
            .field("received_at_ms", &self.received_at_ms)
            .field(
                "fields",
                &self
                    .fields
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("meta", &self.meta)
            .finish()
    }
}

impl NewEvent {
    /// Checks the limits a log enforces ([`MAX_DELIVERY_ID_LEN`], [`MAX_EVENT_FIELDS`],
    /// [`MAX_EVENT_BYTES`], a non-empty component and delivery id).
    pub fn check(&self) -> Result<(), StoreError> {
        let bad = |what: &str| {
            Err(StoreError::with_kind(
                wxopen_proto::records::StoreErrorKind::InvalidInput,
                format!("event log: {what}"),
            ))
        };
        if self.component.is_empty() || self.delivery_id.is_empty() {
            return bad("an event needs a component and a delivery id");
        }
        if self.delivery_id.len() > MAX_DELIVERY_ID_LEN {
            return bad("delivery id longer than 256 bytes");
        }
        if self.fields.len() > MAX_EVENT_FIELDS {
            return bad("more than 256 fields");
        }
        if self.fields.len() + self.meta.len() > MAX_EVENT_FIELDS {
            return bad("more than 256 fields");
        }
        let size: usize = self
            .fields
            .iter()
            .chain(&self.meta)
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
            + self.kind.len()
            + self.authorizer.len();
        if size > MAX_EVENT_BYTES {
            return bad("event larger than 64 KiB");
        }
        Ok(())
    }
}

/// An event as the log holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Its id in the component's log (increasing in append order).
    pub id: u64,
    /// Its place among its account's events (1, 2, …; never reused).
    pub sequence: u64,
    /// What was appended.
    pub event: NewEvent,
    /// Where its delivery stands.
    pub state: DeliveryState,
    /// The passive reply given to WeChat for it, if any (sent again, identically, when WeChat
    /// retries the message).
    pub reply: Option<String>,
}

impl fmt::Debug for LoggedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggedEvent")
            .field("id", &self.id)
            .field("sequence", &self.sequence)
            .field("event", &self.event)
            .field("state", &self.state)
            .field("reply", &self.reply.as_ref().map(|r| r.len()))
            .finish()
    }
}

/// What an append did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Appended {
    /// Stored (durably, when the call returns).
    New {
        /// Its id.
        id: u64,
        /// Its place among its account's events.
        sequence: u64,
    },
    /// An event with this delivery id was stored before (WeChat's retry, or a replay).
    Duplicate(Box<LoggedEvent>),
}

/// Which events a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventFilter {
    /// Only this account's.
    pub authorizer: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only in this state (`pending`, `in_flight`, `delivered`, `dead`).
    pub state: Option<String>,
    /// Only received at or after this time (Unix ms).
    pub since_ms: Option<u64>,
    /// Only received before this time (Unix ms).
    pub until_ms: Option<u64>,
}

impl EventFilter {
    /// Only events of `authorizer`.
    pub fn authorizer(mut self, authorizer: impl Into<String>) -> Self {
        self.authorizer = Some(authorizer.into());
        self
    }

    /// Only events of `kind`.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Only events in `state` (`pending`, `in_flight`, `delivered`, `dead`).
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Only events received in `since_ms..until_ms` (Unix ms; either end open).
    pub fn received(mut self, since_ms: Option<u64>, until_ms: Option<u64>) -> Self {
        self.since_ms = since_ms;
        self.until_ms = until_ms;
        self
    }

    /// `true` when `e` passes the filter.
    pub fn matches(&self, e: &LoggedEvent) -> bool {
        self.authorizer
            .as_ref()
            .is_none_or(|a| *a == e.event.authorizer)
            && self.kind.as_ref().is_none_or(|k| *k == e.event.kind)
            && self
                .state
                .as_ref()
                .is_none_or(|s| s == state_name(&e.state))
            && self.since_ms.is_none_or(|t| e.event.received_at_ms >= t)
            && self.until_ms.is_none_or(|t| e.event.received_at_ms < t)
    }
}

/// The name of a state in listings, metrics and filters.
pub fn state_name(s: &DeliveryState) -> &'static str {
    state_parts(s).0
}

/// A state as a backend stores it: its name ([`state_name`]), the attempts, its time (next
/// attempt, end of the running one, or when it was settled) and a dead letter's reason.
pub fn state_parts(s: &DeliveryState) -> (&'static str, u32, u64, Option<&'static str>) {
    match *s {
        DeliveryState::Pending {
            attempts,
            next_at_ms,
        } => ("pending", attempts, next_at_ms, None),
        DeliveryState::InFlight { attempts, until_ms } => ("in_flight", attempts, until_ms, None),
        DeliveryState::Delivered { attempts, at_ms } => ("delivered", attempts, at_ms, None),
        DeliveryState::Dead {
            attempts,
            at_ms,
            reason,
        } => ("dead", attempts, at_ms, Some(reason.as_str())),
        // A state this code does not know is never written.
        _ => ("unknown", 0, 0, None),
    }
}

/// The state of [`state_parts`]' parts; `None` for a name this code does not know.
pub fn state_from_parts(
    name: &str,
    attempts: u32,
    at: u64,
    reason: Option<&str>,
) -> Option<DeliveryState> {
    use wxopen_proto::delivery::DeadReason;
    Some(match name {
        "pending" => DeliveryState::Pending {
            attempts,
            next_at_ms: at,
        },
        "in_flight" => DeliveryState::InFlight {
            attempts,
            until_ms: at,
        },
        "delivered" => DeliveryState::Delivered {
            attempts,
            at_ms: at,
        },
        "dead" => DeliveryState::Dead {
            attempts,
            at_ms: at,
            reason: if reason == Some("discarded") {
                DeadReason::Discarded
            } else {
                DeadReason::MaxAge
            },
        },
        _ => return None,
    })
}

/// `true` while an event still waits for delivery (pending or in flight).
pub fn is_open(s: &DeliveryState) -> bool {
    matches!(
        s,
        DeliveryState::Pending { .. } | DeliveryState::InFlight { .. }
    )
}

/// A durable, per-component log of events, shared by every instance of a deployment.
///
/// Run [`check_event_log_contract`](crate::store::check_event_log_contract) in a backend's
/// tests.
pub trait EventLog: Send + Sync + fmt::Debug {
    /// Appends `event` (checked with [`NewEvent::check`]) in state
    /// [`delivery::received`](wxopen_proto::delivery::received) — durable when this returns —
    /// or finds the event stored before with the same component and delivery id. The account's
    /// sequence is assigned in the same atomic step.
    fn append<'a>(&'a self, event: &'a NewEvent) -> BoxFuture<'a, Result<Appended, StoreError>>;

    /// Reads one event.
    fn get<'a>(
        &'a self,
        component: &'a str,
        id: u64,
    ) -> BoxFuture<'a, Result<Option<LoggedEvent>, StoreError>>;

    /// Replaces the state of event `id` with `next` if it is `expected`; `true` if replaced.
    fn transition<'a>(
        &'a self,
        component: &'a str,
        id: u64,
        expected: &'a DeliveryState,
        next: &'a DeliveryState,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Stores the passive reply given for event `id` (the first one given stays).
    fn set_reply<'a>(
        &'a self,
        component: &'a str,
        id: u64,
        reply: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// For each account of `component` with open events, its oldest open event (the only one
    /// per-account order lets go next), oldest first, at most `limit` (capped at
    /// [`MAX_EVENT_PAGE`]).
    fn heads<'a>(
        &'a self,
        component: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<LoggedEvent>, StoreError>>;

    /// Events of `component` passing `filter`, by id, after `after`, at most `limit` (capped
    /// at [`MAX_EVENT_PAGE`]).
    fn list<'a>(
        &'a self,
        component: &'a str,
        filter: &'a EventFilter,
        after: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<LoggedEvent>, StoreError>>;

    /// Removes up to `limit` delivered or dead events of `component` settled before
    /// `before_ms`; how many were removed. Open events are never removed.
    fn prune<'a>(
        &'a self,
        component: &'a str,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<usize, StoreError>>;
}

/// When a settled event was settled (delivered or dead), for pruning.
pub fn settled_at(s: &DeliveryState) -> Option<u64> {
    match *s {
        DeliveryState::Delivered { at_ms, .. } | DeliveryState::Dead { at_ms, .. } => Some(at_ms),
        _ => None,
    }
}
