//! A host application's own store: implementable outside the crate, object safe, persisted
//! as JSON (like a Redis backend would), and its failures surface as typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use wxopen_client::store::check_store_contract;
use wxopen_client::{
    BoxFuture, CasOutcome, Error, StoreError, StoreKey, StoredValue, TokenStore, Versioned,
};

/// Keeps every record as a JSON string under its `Display` key, as a Redis backend would.
#[derive(Debug, Default)]
struct JsonStore {
    rows: Mutex<HashMap<String, (u64, String)>>,
    /// Lease name → (holder, until); kept apart from the records, as the contract requires.
    leases: Mutex<HashMap<String, (String, tokio::time::Instant)>>,
    next: Mutex<u64>,
}

impl JsonStore {
    fn decode(row: &(u64, String)) -> Result<Versioned, StoreError> {
        let value: StoredValue =
            serde_json::from_str(&row.1).map_err(|e| StoreError::new(e.to_string()))?;
        Ok(Versioned {
            value,
            version: row.0,
        })
    }

    fn holds(&self, key: &StoreKey, holder: &str) -> bool {
        let now = tokio::time::Instant::now();
        self.leases
            .lock()
            .unwrap()
            .get(&key.lease_name())
            .is_some_and(|(h, until)| h == holder && *until > now)
    }

    fn raw(&self) -> String {
        format!("{:?}", self.rows.lock().unwrap())
    }
}

impl TokenStore for JsonStore {
    fn get<'a>(
        &'a self,
        key: &'a StoreKey,
    ) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
        Box::pin(async move {
            let rows = self.rows.lock().unwrap();
            rows.get(&key.to_string()).map(Self::decode).transpose()
        })
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: Option<u64>,
        value: StoredValue,
        fence: Option<&'a str>,
    ) -> BoxFuture<'a, Result<CasOutcome, StoreError>> {
        Box::pin(async move {
            if let Some(holder) = fence {
                if !self.holds(key, holder) {
                    return Ok(CasOutcome::LeaseLost);
                }
            }
            let mut rows = self.rows.lock().unwrap();
            let k = key.to_string();
            if rows.get(&k).map(|r| r.0) != expected {
                let current = rows.get(&k).map(Self::decode).transpose()?;
                return Ok(CasOutcome::Conflict { current });
            }
            let mut next = self.next.lock().unwrap();
            *next += 1;
            let json = serde_json::to_string(&value).map_err(|e| StoreError::new(e.to_string()))?;
            rows.insert(k, (*next, json));
            Ok(CasOutcome::Applied { version: *next })
        })
    }

    fn compare_and_delete<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut rows = self.rows.lock().unwrap();
            let k = key.to_string();
            if rows.get(&k).map(|r| r.0) == Some(expected) {
                rows.remove(&k);
                Ok(true)
            } else {
                Ok(false)
            }
        })
    }

    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut leases = self.leases.lock().unwrap();
            let now = tokio::time::Instant::now();
            match leases.get(&key.lease_name()) {
                Some((h, until)) if h != holder && *until > now => Ok(false),
                _ => {
                    leases.insert(key.lease_name(), (holder.to_owned(), now + ttl));
                    Ok(true)
                }
            }
        })
    }

    fn extend_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let held = self.holds(key, holder);
            if held {
                let until = tokio::time::Instant::now() + ttl;
                self.leases
                    .lock()
                    .unwrap()
                    .insert(key.lease_name(), (holder.to_owned(), until));
            }
            Ok(held)
        })
    }

    fn release_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut leases = self.leases.lock().unwrap();
            if leases
                .get(&key.lease_name())
                .is_some_and(|(h, _)| h == holder)
            {
                leases.remove(&key.lease_name());
            }
            Ok(())
        })
    }
}

/// A store whose backend is down.
#[derive(Debug)]
struct DownStore;

impl TokenStore for DownStore {
    fn get<'a>(&'a self, _: &'a StoreKey) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
        Box::pin(async { Err(StoreError::new("connection refused")) })
    }
    fn compare_and_set<'a>(
        &'a self,
        _: &'a StoreKey,
        _: Option<u64>,
        _: StoredValue,
        _: Option<&'a str>,
    ) -> BoxFuture<'a, Result<CasOutcome, StoreError>> {
        Box::pin(async { Err(StoreError::new("connection refused")) })
    }
    fn compare_and_delete<'a>(
        &'a self,
        _: &'a StoreKey,
        _: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async { Err(StoreError::new("connection refused")) })
    }
    fn try_lease<'a>(
        &'a self,
        _: &'a StoreKey,
        _: &'a str,
        _: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async { Err(StoreError::new("connection refused")) })
    }
    fn extend_lease<'a>(
        &'a self,
        _: &'a StoreKey,
        _: &'a str,
        _: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async { Err(StoreError::unavailable("connection refused")) })
    }
    fn release_lease<'a>(
        &'a self,
        _: &'a StoreKey,
        _: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Err(StoreError::new("connection refused")) })
    }
}

#[tokio::test]
async fn json_store_passes_the_contract_and_runs_the_flow() {
    let store = Arc::new(JsonStore::default());
    check_store_contract(store.as_ref(), "wxcheck")
        .await
        .unwrap();

    let h = Scenario::new()
        .store(store.clone())
        .ticket("ticket@@@json")
        .component_token("ctok-json", 1)
        .start()
        .await;
    assert_eq!(h.ctok().await, "ctok-json");
    assert_eq!(h.ctok().await, "ctok-json");
    // Keys are namespaced by the component appid.
    let raw = store.raw();
    assert!(raw.contains(&format!("wxopen:{{{APPID}}}:ticket")), "{raw}");
    assert!(
        raw.contains(&format!("wxopen:{{{APPID}}}:component_token")),
        "{raw}"
    );
    h.verify().await;
}

#[tokio::test]
async fn store_failure_fails_the_push_so_wechat_retries() {
    let h = Scenario::new().store(Arc::new(DownStore)).start().await;
    let client = &h.client;
    let (q, body) = push(&ticket_xml("ticket@@@x", T0), TS, "n");
    let err = client.handle_component_push(&q, &body).await.unwrap_err();
    assert!(matches!(err, Error::Store(_)), "{err:?}");
    assert!(err.to_string().contains("connection refused"));
    let err = client.component_access_token().await.unwrap_err();
    assert!(matches!(err, Error::Store(_)), "{err:?}");
}
