//! [`TokenKind`]: the fetch port of one token kind — how its record is read, fetched and
//! compared — and [`Fetched`], what a fetch returns.

use std::fmt;
use std::hash::Hash;

use crate::error::Error;
use crate::hooks::ClientEvent;
use crate::store::{BoxFuture, RevokedRecord, StoreKey, StoredValue, Versioned};

use super::machine::{Token, View};
use super::ports::Ports;

/// What a fetch produced: the record to store and the token in it.
#[derive(Debug, Clone)]
pub(crate) struct Fetched<T> {
    pub value: StoredValue,
    pub token: Token<T>,
    /// The version to write over (the record the fetch started from, or what the fetch itself
    /// wrote on the way, e.g. a recovered refresh token).
    pub expected: Option<u64>,
    /// For record kinds ruled by the record machine (authorizer tokens): the event this fetch
    /// is, so a write conflict is resolved by [`crate::record_machine::apply`].
    pub event: Option<crate::record_machine::RecordEvent>,
}

/// One token kind: how its record is read, fetched and compared — the fetch port of a
/// [`TokenCache`]. Everything about *when* to refresh is shared (the machine); this is only the
/// *how*. An implementation holds what its fetch needs (its transport, the cache of the token it
/// fetches with); the cache passes it the shared [`Ports`].
pub(crate) trait TokenKind: Sized + Send + Sync + 'static {
    type Id: Clone + Eq + Hash + Send + Sync + fmt::Debug + 'static;
    type Token: Clone + Send + Sync + fmt::Debug + 'static;
    const NAME: &'static str;

    fn key(&self, id: &Self::Id) -> StoreKey;
    fn expose(token: &Self::Token) -> &str;
    /// What the record holds (pure); a record of another kind is a corrupt store.
    fn view(value: Option<&Versioned>) -> Result<View<Self::Token>, Error>;
    /// Fetches a token upstream, starting from `current` (read under the lease).
    fn fetch<'a>(
        &'a self,
        ports: &'a Ports,
        id: &'a Self::Id,
        current: Option<Versioned>,
        fence: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Fetched<Self::Token>, Error>>;
    /// On a write conflict, what to write over `current` instead (pure): `None` keeps what is
    /// stored (newer truth), `Some(value)` is written over `current`'s version. `started_at`
    /// is when the fetch started and `now` the time of the write (local clock).
    fn reconcile(
        current: Option<&Versioned>,
        fetched: &Fetched<Self::Token>,
        started_at: u64,
        now: u64,
    ) -> Option<StoredValue>;
    /// The record with its access token marked expired (compare-and-expire), if it has one.
    fn expired(value: &StoredValue) -> Option<StoredValue>;
    /// For kinds whose records the record machine rules (authorizer tokens): the event that
    /// expires the token `value` holds, run through the one writer instead of [`expired`].
    ///
    /// [`expired`]: TokenKind::expired
    fn expire_event(value: &StoredValue) -> Option<crate::record_machine::RecordEvent> {
        let _ = value;
        None
    }
    /// A key with no record that is known not to exist upstream (an appid the authorizer list
    /// does not know, until the next scan may run): answered as this tombstone without a
    /// lease or a fetch.
    fn known_unknown(&self, id: &Self::Id, now: u64) -> Option<RevokedRecord> {
        let _ = (id, now);
        None
    }
    fn revoked_error(id: &Self::Id, record: &RevokedRecord) -> Error;
    /// The client events of a refresh, a rejected token and a failed refresh (pure).
    fn refreshed(id: &Self::Id, token: &Token<Self::Token>) -> ClientEvent;
    fn rejected(id: &Self::Id, errcode: i64) -> ClientEvent;
    fn failed(id: &Self::Id, error: &Error) -> ClientEvent;
}
