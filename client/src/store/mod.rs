//! The token store abstraction: where tickets, tokens and refresh tokens live, shared by every
//! instance of a deployment.
//!
//! The trait is object safe (`Arc<dyn TokenStore>`) so a host can plug a shared backend. A
//! backend provides:
//!
//! - **versioned records**: every successful write gives the record a new, non-zero version;
//! - **compare-and-set** on that version (optionally *fenced* by a lease: the write applies only
//!   while the named holder still holds the record's lease) and **compare-and-delete**;
//! - **leases** with a time-to-live, kept apart from the records (a lease on a key never touches
//!   the record at that key), taken, extended and released only by their holder.
//!
//! Keys ([`StoreKey`]) render as `wxopen:{<component_appid>}:…` — one Redis Cluster hash tag per
//! component — and values ([`StoredValue`]) are serde-serializable (JSON is fine; the secrets
//! inside serialize as their plain value, so the backing store must be access-controlled).
//! [`StoredValue::expires_at_hint`] tells a backend when a record may be dropped (never for a
//! refresh token). Run [`check_store_contract`] in the backend's own tests.
//!
//! The event log ([`EventLog`], [`event_log`]) is the second port: the durable log of pushes
//! and messages the event plane delivers from; run [`check_event_log_contract`] on a backend.
//!
//! `wxopen-store` ships SQLite and Redis backends; [`crate::MemoryStore`] keeps everything in
//! process memory and loses it on exit.
//!
//! The keys and records themselves are pure data in `wxopen-proto` ([`wxopen_proto::records`]),
//! re-exported here.

mod contract;
mod event_contract;
pub mod event_log;
mod port;

pub use wxopen_proto::records::*;

pub use contract::check_store_contract;
pub use event_contract::{check_event_log_contract, sample_event};
pub use event_log::{Appended, EventFilter, EventLog, LoggedEvent, NewEvent};
pub use port::{BoxFuture, TokenStore};
