//! A token store of your own: implement `wxopen_client::TokenStore` over whatever you keep
//! shared state in, then prove it with `wxopen_client::store::check_store_contract`.
//!
//! This one is a `Mutex<HashMap>` (so it survives nothing; `wxopen-store` has SQLite and Redis),
//! which keeps the example about the contract rather than a database:
//!
//! - every successful write gives the record a new, non-zero version;
//! - `compare_and_set` checks the expected version (and, when fenced, that the writer still
//!   holds the key's lease) and writes in one atomic step;
//! - leases live apart from records and expire after their time-to-live.
//!
//! ```sh
//! cargo run -p wxopen-examples --example custom_store    # runs the contract, about 1 s
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use wxopen_client::store::check_store_contract;
use wxopen_client::{
    BoxFuture, CasOutcome, StoreError, StoreKey, StoredValue, TokenStore, Versioned,
};

#[derive(Debug, Default)]
struct Tables {
    /// Key → (version, value). A real backend would serialize the value (it is serde-ready).
    records: HashMap<StoreKey, (u64, StoredValue)>,
    /// Key → (holder, until). Separate from `records`: a lease never touches a record.
    leases: HashMap<StoreKey, (String, Instant)>,
    /// The last version handed out; versions are never reused and never 0.
    last_version: u64,
}

impl Tables {
    fn holds(&self, key: &StoreKey, holder: &str) -> bool {
        self.leases
            .get(key)
            .is_some_and(|(h, until)| h == holder && *until > Instant::now())
    }
}

/// All state behind one lock, so every operation is trivially atomic.
#[derive(Debug, Default)]
pub struct MapStore {
    tables: Mutex<Tables>,
}

impl MapStore {
    fn lock(&self) -> Result<MutexGuard<'_, Tables>, StoreError> {
        // A poisoned lock means a panic mid-operation: report it like a backend failure.
        self.tables
            .lock()
            .map_err(|_| StoreError::unavailable("store lock poisoned"))
    }
}

impl TokenStore for MapStore {
    fn get<'a>(
        &'a self,
        key: &'a StoreKey,
    ) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
        Box::pin(async move {
            let tables = self.lock()?;
            Ok(tables.records.get(key).map(|(version, value)| Versioned {
                value: value.clone(),
                version: *version,
            }))
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
            let mut tables = self.lock()?;
            if let Some(holder) = fence {
                if !tables.holds(key, holder) {
                    return Ok(CasOutcome::LeaseLost);
                }
            }
            let current = tables.records.get(key);
            if current.map(|(version, _)| *version) != expected {
                let current = current.map(|(version, value)| Versioned {
                    value: value.clone(),
                    version: *version,
                });
                return Ok(CasOutcome::Conflict { current });
            }
            tables.last_version += 1;
            let version = tables.last_version;
            tables.records.insert(key.clone(), (version, value));
            Ok(CasOutcome::Applied { version })
        })
    }

    fn compare_and_delete<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut tables = self.lock()?;
            let matches = tables
                .records
                .get(key)
                .is_some_and(|(version, _)| *version == expected);
            if matches {
                tables.records.remove(key);
            }
            Ok(matches)
        })
    }

    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut tables = self.lock()?;
            let now = Instant::now();
            // Free, expired, or already ours (taking it again extends it).
            let taken_by_other = tables
                .leases
                .get(key)
                .is_some_and(|(h, until)| h != holder && *until > now);
            if !taken_by_other {
                tables
                    .leases
                    .insert(key.clone(), (holder.to_owned(), now + ttl));
            }
            Ok(!taken_by_other)
        })
    }

    fn extend_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut tables = self.lock()?;
            let held = tables.holds(key, holder);
            if held {
                tables
                    .leases
                    .insert(key.clone(), (holder.to_owned(), Instant::now() + ttl));
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
            let mut tables = self.lock()?;
            if tables.leases.get(key).is_some_and(|(h, _)| h == holder) {
                tables.leases.remove(key);
            }
            Ok(())
        })
    }

    // Optional (the default answers "unsupported"); the server's authorizer list and the
    // background refresher use it, and the contract checks it when it is offered.
    fn list_authorizers<'a>(
        &'a self,
        component_appid: &'a str,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            let tables = self.lock()?;
            let mut appids: Vec<String> = tables
                .records
                .keys()
                .filter(|key| key.component_appid() == component_appid)
                .filter_map(|key| match key {
                    StoreKey::Authorizer {
                        authorizer_appid, ..
                    } => Some(authorizer_appid.clone()),
                    // `StoreKey` is non-exhaustive: ignore kinds this code does not know.
                    _ => None,
                })
                .filter(|appid| after.is_none_or(|a| appid.as_str() > a))
                .collect();
            appids.sort();
            appids.truncate(limit);
            Ok(appids)
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Arc::new(MapStore::default());
    // Run the contract against an empty namespace; it cleans up after itself.
    check_store_contract(store.as_ref(), "wxcontractcheck").await?;
    println!("MapStore passes the TokenStore contract");

    // Then hand it to the client like any other store:
    //     ComponentClient::builder(config).store(store).build()?
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use wxopen_client::api::Endpoint;
    use wxopen_fake::FakeWeChat;

    #[tokio::test]
    async fn passes_the_contract() {
        check_store_contract(&MapStore::default(), "wxcontractcheck")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_client_on_it_keeps_its_ticket_and_token_there() {
        let fake = FakeWeChat::start().await.unwrap();
        let store = Arc::new(MapStore::default());
        let client = fake
            .client_builder(fake.client_config().unwrap())
            .store(store.clone())
            .build()
            .unwrap();
        fake.push_ticket()
            .unwrap()
            .deliver_to(&client)
            .await
            .unwrap();
        client.component_access_token().await.unwrap();

        // A second client on the same store (another instance) finds the token there.
        let other = fake
            .client_builder(fake.client_config().unwrap())
            .store(store)
            .build()
            .unwrap();
        other.component_access_token().await.unwrap();
        assert_eq!(fake.calls(Endpoint::ComponentToken), 1);
    }
}
