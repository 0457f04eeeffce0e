//! The token store abstraction: where tickets and tokens live, shared by every instance.
//!
//! The trait is object safe (`Arc<dyn TokenStore>`) so a host can plug a shared backend. A
//! backend needs four things: versioned records (every write bumps a version), compare-and-set
//! on that version, compare-and-delete, and a lease with a time-to-live for cross-instance
//! single flight. The `Display` form of [`StoreKey`] gives a stable, namespaced key that includes the
//! component appid; [`StoredValue`] is serde-serializable (JSON is fine).
//!
//! A Redis backend maps naturally: `GET`, a Lua script comparing the stored version for
//! compare-and-set/delete, and `SET key holder NX PX ttl` for the lease. Run
//! [`check_store_contract`] in the backend's own tests.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::secret::{
    AuthorizerAccessToken, AuthorizerRefreshToken, ComponentAccessToken, ComponentVerifyTicket,
};

/// A boxed, `Send` future, as returned by [`TokenStore`] methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Identifies one record. Every key is scoped by the component appid (multi-tenant stores).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum StoreKey {
    /// The newest `component_verify_ticket`.
    Ticket {
        /// Component appid.
        component_appid: String,
    },
    /// The `component_access_token`.
    ComponentToken {
        /// Component appid.
        component_appid: String,
    },
    /// One authorizer's access token and refresh token (stored together, atomically).
    Authorizer {
        /// Component appid.
        component_appid: String,
        /// Authorizer appid.
        authorizer_appid: String,
    },
}

impl StoreKey {
    /// The ticket key of a component.
    pub fn ticket(component_appid: &str) -> Self {
        StoreKey::Ticket {
            component_appid: component_appid.to_owned(),
        }
    }

    /// The component token key of a component.
    pub fn component_token(component_appid: &str) -> Self {
        StoreKey::ComponentToken {
            component_appid: component_appid.to_owned(),
        }
    }

    /// The key of one authorizer of a component.
    pub fn authorizer(component_appid: &str, authorizer_appid: &str) -> Self {
        StoreKey::Authorizer {
            component_appid: component_appid.to_owned(),
            authorizer_appid: authorizer_appid.to_owned(),
        }
    }
}

impl fmt::Display for StoreKey {
    /// `wxopen:{component_appid}:ticket`, `wxopen:{component_appid}:component_token`,
    /// `wxopen:{component_appid}:authorizer:{authorizer_appid}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreKey::Ticket { component_appid } => write!(f, "wxopen:{component_appid}:ticket"),
            StoreKey::ComponentToken { component_appid } => {
                write!(f, "wxopen:{component_appid}:component_token")
            }
            StoreKey::Authorizer {
                component_appid,
                authorizer_appid,
            } => write!(f, "wxopen:{component_appid}:authorizer:{authorizer_appid}"),
        }
    }
}

/// The newest ticket pushed by WeChat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRecord {
    /// The ticket.
    pub ticket: ComponentVerifyTicket,
    /// `CreateTime` of the push that carried it (unix seconds).
    pub create_time: u64,
    /// When this process received it (unix seconds, client clock).
    pub received_at: u64,
}

/// A cached `component_access_token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentTokenRecord {
    /// The token.
    pub token: ComponentAccessToken,
    /// When it was obtained (unix seconds).
    pub obtained_at: u64,
    /// From when it should be refreshed ahead of expiry (unix seconds).
    pub refresh_at: u64,
    /// When it expires (unix seconds); 0 after a compare-and-expire.
    pub expires_at: u64,
}

/// One authorizer's tokens. The refresh token is never dropped when the access token changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizerRecord {
    /// The access token, absent when the account granted no API rights or after it expired.
    pub access_token: Option<AuthorizerAccessToken>,
    /// The refresh token.
    pub refresh_token: AuthorizerRefreshToken,
    /// When the access token was obtained (unix seconds).
    pub obtained_at: u64,
    /// From when the access token should be refreshed (unix seconds).
    pub refresh_at: u64,
    /// When the access token expires (unix seconds); 0 after a compare-and-expire.
    pub expires_at: u64,
    /// When the authorization was last confirmed by `query_auth` (unix seconds); an
    /// `unauthorized` push older than this does not delete the record.
    pub authorized_at: u64,
}

/// A record's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StoredValue {
    /// See [`TicketRecord`].
    Ticket(TicketRecord),
    /// See [`ComponentTokenRecord`].
    ComponentToken(ComponentTokenRecord),
    /// See [`AuthorizerRecord`].
    Authorizer(AuthorizerRecord),
}

/// A value with the version the store gave it; every successful write changes the version.
/// Versions are never 0 (the client uses 0 as "matches nothing").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The value.
    pub value: StoredValue,
    /// Its version.
    pub version: u64,
}

/// Result of [`TokenStore::compare_and_set`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CasOutcome {
    /// Written; the new version.
    Applied {
        /// New version of the record.
        version: u64,
    },
    /// Not written: the record's current state differs from what was expected.
    Conflict {
        /// What is stored now.
        current: Option<Versioned>,
    },
}

/// A backend failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    message: String,
}

impl StoreError {
    /// A backend error with a message (must not contain secrets).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

/// Async storage for tickets and tokens, shareable by many instances.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// Reads a record.
    fn get<'a>(&'a self, key: &'a StoreKey)
        -> BoxFuture<'a, Result<Option<Versioned>, StoreError>>;

    /// Writes `value` if the record's version is `expected` (`None`: only if absent).
    fn compare_and_set<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: Option<u64>,
        value: StoredValue,
    ) -> BoxFuture<'a, Result<CasOutcome, StoreError>>;

    /// Deletes the record if its version is `expected`; `true` if deleted.
    fn compare_and_delete<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Takes the lease on `key` for `holder` for `ttl` if nobody else holds an unexpired one
    /// (re-taking one's own lease extends it); `true` if taken.
    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Releases the lease on `key` if `holder` holds it.
    fn release_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Checks that a [`TokenStore`] implementation honours the contract the client relies on
/// (versioned compare-and-set and compare-and-delete, exclusive leases). Run it in the test
/// suite of a custom backend against an empty namespace; it writes and deletes records under
/// the component appid `component_appid`.
///
/// Returns a description of the first violation.
pub async fn check_store_contract(
    store: &dyn TokenStore,
    component_appid: &str,
) -> Result<(), String> {
    use crate::secret::ComponentVerifyTicket;

    fn ticket(v: &str, t: u64) -> StoredValue {
        StoredValue::Ticket(TicketRecord {
            ticket: ComponentVerifyTicket::new(v),
            create_time: t,
            received_at: t,
        })
    }
    let err = |e: StoreError| e.to_string();
    let key = StoreKey::ticket(component_appid);
    let lease_key = StoreKey::component_token(component_appid);

    if store.get(&key).await.map_err(err)?.is_some() {
        return Err(format!("{key} must be empty before the check"));
    }
    let v1 = match store
        .compare_and_set(&key, None, ticket("t1", 1))
        .await
        .map_err(err)?
    {
        CasOutcome::Applied { version } if version != 0 => version,
        other => {
            return Err(format!(
                "insert into an empty key must apply with a non-zero version: {other:?}"
            ))
        }
    };
    match store.get(&key).await.map_err(err)? {
        Some(v) if v.version == v1 && v.value == ticket("t1", 1) => {}
        other => return Err(format!("read back mismatch: {other:?}")),
    }
    match store
        .compare_and_set(&key, None, ticket("t2", 2))
        .await
        .map_err(err)?
    {
        CasOutcome::Conflict { current: Some(c) } if c.version == v1 => {}
        other => {
            return Err(format!(
                "insert over an existing record must conflict: {other:?}"
            ))
        }
    }
    let v2 = match store
        .compare_and_set(&key, Some(v1), ticket("t2", 2))
        .await
        .map_err(err)?
    {
        CasOutcome::Applied { version } if version != v1 => version,
        other => {
            return Err(format!(
                "update at the current version must apply with a new version: {other:?}"
            ))
        }
    };
    if !matches!(
        store
            .compare_and_set(&key, Some(v1), ticket("t3", 3))
            .await
            .map_err(err)?,
        CasOutcome::Conflict { .. }
    ) {
        return Err("update at a stale version must conflict".into());
    }
    if store.compare_and_delete(&key, v1).await.map_err(err)? {
        return Err("delete at a stale version must not apply".into());
    }
    if !store.compare_and_delete(&key, v2).await.map_err(err)? {
        return Err("delete at the current version must apply".into());
    }
    if store.get(&key).await.map_err(err)?.is_some() {
        return Err("record still present after delete".into());
    }

    let ttl = Duration::from_secs(30);
    if !store
        .try_lease(&lease_key, "holder-a", ttl)
        .await
        .map_err(err)?
    {
        return Err("a free lease must be granted".into());
    }
    if store
        .try_lease(&lease_key, "holder-b", ttl)
        .await
        .map_err(err)?
    {
        return Err("a held lease must not be granted to another holder".into());
    }
    store
        .release_lease(&lease_key, "holder-b")
        .await
        .map_err(err)?;
    if store
        .try_lease(&lease_key, "holder-b", ttl)
        .await
        .map_err(err)?
    {
        return Err("only the holder may release a lease".into());
    }
    store
        .release_lease(&lease_key, "holder-a")
        .await
        .map_err(err)?;
    if !store
        .try_lease(&lease_key, "holder-b", ttl)
        .await
        .map_err(err)?
    {
        return Err("a released lease must be granted again".into());
    }
    store
        .release_lease(&lease_key, "holder-b")
        .await
        .map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_meets_the_contract() {
        let store = crate::MemoryStore::new();
        assert_eq!(check_store_contract(&store, "wxc").await, Ok(()));
        // And a second run in the same namespace works (the check cleans up).
        assert_eq!(check_store_contract(&store, "wxc").await, Ok(()));
    }

    #[test]
    fn keys_are_namespaced_by_component() {
        assert_eq!(StoreKey::ticket("wxc").to_string(), "wxopen:wxc:ticket");
        assert_eq!(
            StoreKey::component_token("wxc").to_string(),
            "wxopen:wxc:component_token"
        );
        assert_eq!(
            StoreKey::authorizer("wxc", "wxa").to_string(),
            "wxopen:wxc:authorizer:wxa"
        );
        assert_ne!(StoreKey::ticket("a"), StoreKey::ticket("b"));
    }

    #[test]
    fn records_debug_redacts_and_serde_round_trips() -> Result<(), serde_json::Error> {
        let v = StoredValue::Authorizer(AuthorizerRecord {
            access_token: Some(AuthorizerAccessToken::new("at-secret")),
            refresh_token: AuthorizerRefreshToken::new("refreshtoken@@@rt-secret"),
            obtained_at: 1,
            refresh_at: 2,
            expires_at: 3,
            authorized_at: 1,
        });
        let dbg = format!("{v:?}");
        assert!(!dbg.contains("secret"), "{dbg}");
        let json = serde_json::to_string(&v)?;
        assert!(json.contains("\"kind\":\"authorizer\""));
        let back: StoredValue = serde_json::from_str(&json)?;
        assert_eq!(back, v);
        Ok(())
    }
}
