//! The default, in-process [`TokenStore`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::store::{
    claim_key, BoxFuture, CasOutcome, StoreError, StoreKey, StoredValue, TokenStore, Versioned,
};

#[derive(Default)]
struct State {
    entries: HashMap<StoreKey, Versioned>,
    leases: HashMap<StoreKey, (String, Instant)>,
    claims: HashMap<String, Instant>,
    next_purge: usize,
    next_version: u64,
}

/// A [`TokenStore`] in process memory, for tests and a single short-lived process.
///
/// **Everything is lost when the process exits**: the ticket (no API pulls it back; the next
/// push comes within 10 minutes), the tokens and — the one that hurts — every authorizer's
/// refresh token, which then has to be recovered from the authorizer list or re-authorized.
/// Deploy with `wxopen-store`'s SQLite store (one host) or Redis store (many instances).
///
/// Lease expiry follows tokio's clock, so `tokio::time::pause` makes it deterministic.
/// `Debug` shows only counts, never values.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave a half-written record (every update is a
        // single insert or remove), so a poisoned lock is safe to reuse.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// `true` when no record is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ends every lease now, as if their time-to-live ran out (for tests of what another
    /// instance does once a holder's lease expired).
    pub fn expire_leases(&self) {
        self.lock().leases.clear();
    }

    fn get_now(&self, key: &StoreKey) -> Option<Versioned> {
        self.lock().entries.get(key).cloned()
    }

    fn cas_now(
        &self,
        key: &StoreKey,
        expected: Option<u64>,
        value: StoredValue,
        fence: Option<&str>,
    ) -> CasOutcome {
        let mut st = self.lock();
        if let Some(holder) = fence {
            let now = Instant::now();
            let held = st
                .leases
                .get(key)
                .is_some_and(|(h, until)| h == holder && *until > now);
            if !held {
                return CasOutcome::LeaseLost;
            }
        }
        let current = st.entries.get(key).map(|v| v.version);
        if current != expected {
            return CasOutcome::Conflict {
                current: st.entries.get(key).cloned(),
            };
        }
        st.next_version += 1;
        let version = st.next_version;
        st.entries.insert(key.clone(), Versioned { value, version });
        CasOutcome::Applied { version }
    }

    fn cad_now(&self, key: &StoreKey, expected: u64) -> bool {
        let mut st = self.lock();
        if st.entries.get(key).map(|v| v.version) == Some(expected) {
            st.entries.remove(key);
            true
        } else {
            false
        }
    }

    fn lease_now(&self, key: &StoreKey, holder: &str, ttl: Duration) -> bool {
        let mut st = self.lock();
        let now = Instant::now();
        let free = match st.leases.get(key) {
            None => true,
            Some((h, until)) => h == holder || *until <= now,
        };
        if free {
            st.leases
                .insert(key.clone(), (holder.to_owned(), now + ttl));
        }
        free
    }

    fn claim_now(&self, name: String, ttl: Duration) -> bool {
        let mut st = self.lock();
        let now = Instant::now();
        // Drop expired claims whenever the map has doubled since the last sweep: amortised
        // O(1) per claim, and the map never holds more than twice the live claims (+1024).
        if st.claims.len() >= st.next_purge {
            st.claims.retain(|_, until| *until > now);
            st.next_purge = (st.claims.len() * 2).max(1024);
        }
        if st.claims.get(&name).is_some_and(|until| *until > now) {
            return false;
        }
        st.claims.insert(name, now + ttl);
        true
    }

    fn extend_now(&self, key: &StoreKey, holder: &str, ttl: Duration) -> bool {
        let mut st = self.lock();
        let now = Instant::now();
        match st.leases.get_mut(key) {
            Some((h, until)) if h == holder && *until > now => {
                *until = now + ttl;
                true
            }
            _ => false,
        }
    }

    fn list_now(&self, component_appid: &str, after: Option<&str>, limit: usize) -> Vec<String> {
        let st = self.lock();
        let mut out: Vec<String> = st
            .entries
            .keys()
            .filter_map(|k| match k {
                StoreKey::Authorizer {
                    component_appid: c,
                    authorizer_appid,
                } if c == component_appid
                    && after.is_none_or(|a| authorizer_appid.as_str() > a) =>
                {
                    Some(authorizer_appid.clone())
                }
                _ => None,
            })
            .collect();
        out.sort_unstable();
        out.truncate(limit);
        out
    }

    fn release_now(&self, key: &StoreKey, holder: &str) {
        let mut st = self.lock();
        if st.leases.get(key).is_some_and(|(h, _)| h == holder) {
            st.leases.remove(key);
        }
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("MemoryStore")
            .field("records", &st.entries.len())
            .field("leases", &st.leases.len())
            .finish()
    }
}

impl TokenStore for MemoryStore {
    fn is_shared(&self) -> bool {
        false
    }

    fn get<'a>(
        &'a self,
        key: &'a StoreKey,
    ) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
        Box::pin(async move { Ok(self.get_now(key)) })
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: Option<u64>,
        value: StoredValue,
        fence: Option<&'a str>,
    ) -> BoxFuture<'a, Result<CasOutcome, StoreError>> {
        Box::pin(async move { Ok(self.cas_now(key, expected, value, fence)) })
    }

    fn compare_and_delete<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { Ok(self.cad_now(key, expected)) })
    }

    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { Ok(self.lease_now(key, holder, ttl)) })
    }

    fn extend_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { Ok(self.extend_now(key, holder, ttl)) })
    }

    fn release_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.release_now(key, holder);
            Ok(())
        })
    }

    fn list_authorizers<'a>(
        &'a self,
        component_appid: &'a str,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move { Ok(self.list_now(component_appid, after, limit)) })
    }

    fn claim_once<'a>(
        &'a self,
        component_appid: &'a str,
        id: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { Ok(self.claim_now(claim_key(component_appid, id)?, ttl)) })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::secret::ComponentVerifyTicket;
    use crate::store::TicketRecord;
    use std::sync::Arc;

    fn ticket(v: &str, t: u64) -> StoredValue {
        StoredValue::Ticket(TicketRecord {
            ticket: ComponentVerifyTicket::new(v),
            create_time: t,
            received_at: t,
        })
    }

    #[tokio::test]
    async fn cas_versions_and_conflicts() {
        let s: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let k = StoreKey::ticket("wxc");
        assert_eq!(s.get(&k).await.unwrap(), None);
        let v1 = match s
            .compare_and_set(&k, None, ticket("t1", 1), None)
            .await
            .unwrap()
        {
            CasOutcome::Applied { version } => version,
            other => panic!("{other:?}"),
        };
        // Absent-only write now conflicts and reports the current record.
        match s
            .compare_and_set(&k, None, ticket("t2", 2), None)
            .await
            .unwrap()
        {
            CasOutcome::Conflict { current: Some(c) } => assert_eq!(c.version, v1),
            other => panic!("{other:?}"),
        }
        let v2 = match s
            .compare_and_set(&k, Some(v1), ticket("t2", 2), None)
            .await
            .unwrap()
        {
            CasOutcome::Applied { version } => version,
            other => panic!("{other:?}"),
        };
        assert!(v2 > v1);
        // Stale version: no write.
        assert!(matches!(
            s.compare_and_set(&k, Some(v1), ticket("t3", 3), None)
                .await
                .unwrap(),
            CasOutcome::Conflict { .. }
        ));
        assert!(!s.compare_and_delete(&k, v1).await.unwrap());
        assert!(s.compare_and_delete(&k, v2).await.unwrap());
        assert_eq!(s.get(&k).await.unwrap(), None);
    }

    #[tokio::test]
    async fn leases_exclude_others_until_released_or_expired() {
        let s = MemoryStore::new();
        let k = StoreKey::component_token("wxc");
        assert!(s.try_lease(&k, "a", Duration::from_secs(60)).await.unwrap());
        assert!(s.try_lease(&k, "a", Duration::from_secs(60)).await.unwrap());
        assert!(!s.try_lease(&k, "b", Duration::from_secs(60)).await.unwrap());
        s.release_lease(&k, "b").await.unwrap(); // not the holder: no effect
        assert!(!s.try_lease(&k, "b", Duration::from_secs(60)).await.unwrap());
        s.release_lease(&k, "a").await.unwrap();
        assert!(s.try_lease(&k, "b", Duration::ZERO).await.unwrap());
        // Zero ttl: already expired for others.
        assert!(s.try_lease(&k, "c", Duration::from_secs(1)).await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn memory_store_meets_the_contract() {
        let store = MemoryStore::new();
        assert_eq!(
            crate::store::check_store_contract(&store, "wxc").await,
            Ok(())
        );
        // A second run in the same namespace works (the check cleans up).
        assert_eq!(
            crate::store::check_store_contract(&store, "wxc").await,
            Ok(())
        );
        assert!(store.is_empty());
    }

    #[test]
    fn debug_shows_counts_only() {
        let s = MemoryStore::new();
        let _ = s.cas_now(
            &StoreKey::ticket("wxc"),
            None,
            ticket("ticket@@@secret", 1),
            None,
        );
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("secret") && dbg.contains("records: 1"),
            "{dbg}"
        );
        assert_eq!(s.len(), 1);
        assert!(!s.is_empty());
    }
}
