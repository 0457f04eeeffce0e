//! A store that answers reads but refuses writes (Redis at `maxmemory` with `noeviction`, a
//! read-only replica after a failover, a full disk) must not make instances fetch tokens on their
//! own: each fetch invalidates the others' token, every 40001 would start another fetch, and the
//! day's quota goes. Against the fake platform (a superseded token answers 40001 after its
//! overlap), on one manual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wxopen_client::store::BoxFuture;
use wxopen_client::{
    CasOutcome, ComponentClient, ComponentConfig, Error, Jitter, MemoryStore, RetryPolicy,
    StoreError, StoreKey, StoredValue, TokenStore, Versioned,
};
use wxopen_fake::{Endpoint, FakeConfig, FakeWeChat, Fault, FaultRule};

const T0: u64 = 1_700_000_000;

/// Reads always work; once `refusing` is set, every write, lease and claim fails the way Redis
/// answers at `maxmemory` with `noeviction`.
#[derive(Debug)]
struct RefusingStore {
    inner: MemoryStore,
    refusing: AtomicBool,
    shared: bool,
}

impl RefusingStore {
    fn new(shared: bool) -> Arc<Self> {
        Arc::new(Self {
            inner: MemoryStore::new(),
            refusing: AtomicBool::new(false),
            shared,
        })
    }

    fn refuse(&self) -> Result<(), StoreError> {
        if self.refusing.load(Ordering::SeqCst) {
            Err(StoreError::unavailable(
                "OOM command not allowed when used memory > 'maxmemory'",
            ))
        } else {
            Ok(())
        }
    }
}

impl TokenStore for RefusingStore {
    fn is_shared(&self) -> bool {
        self.shared
    }

    fn get<'a>(
        &'a self,
        key: &'a StoreKey,
    ) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
        self.inner.get(key)
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: Option<u64>,
        value: StoredValue,
        fence: Option<&'a str>,
    ) -> BoxFuture<'a, Result<CasOutcome, StoreError>> {
        Box::pin(async move {
            self.refuse()?;
            self.inner
                .compare_and_set(key, expected, value, fence)
                .await
        })
    }

    fn compare_and_delete<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.refuse()?;
            self.inner.compare_and_delete(key, expected).await
        })
    }

    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.refuse()?;
            self.inner.try_lease(key, holder, ttl).await
        })
    }

    fn extend_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.refuse()?;
            self.inner.extend_lease(key, holder, ttl).await
        })
    }

    fn release_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.release_lease(key, holder)
    }
}

fn config(fake: &FakeWeChat) -> ComponentConfig {
    let mut cfg = fake
        .client_config()
        .unwrap()
        .with_retry(RetryPolicy::immediate(1))
        .with_timeouts(Duration::from_millis(700), Duration::from_millis(500))
        .with_refresh(Duration::from_secs(600), Jitter::None)
        // The lease wait is counted in polls on a clock that only the test moves.
        .with_lease(Duration::from_secs(30), Duration::from_millis(100));
    cfg.lease_poll = Duration::from_millis(10);
    cfg
}

async fn fake() -> FakeWeChat {
    FakeWeChat::start_with(FakeConfig {
        start_unix: Some(T0),
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

fn instance(fake: &FakeWeChat, store: &Arc<RefusingStore>) -> ComponentClient {
    let store: Arc<dyn TokenStore> = store.clone();
    fake.client_builder(config(fake))
        .store(store)
        .build()
        .unwrap()
}

/// Three instances on one shared store, the store switched to refusing writes, the component
/// token due: for 60 s of the clock, every instance asks for the token and uses it upstream once
/// a second. No instance fetches without the lease: 0 `api_component_token` calls after the
/// switch (before the fix: one per instance and then one per 40001), and nobody is handed a token
/// it was told is stale.
#[tokio::test]
async fn a_shared_store_refusing_writes_costs_no_fetch() {
    let fake = fake().await;
    let store = RefusingStore::new(true);
    let instances: Vec<_> = (0..3).map(|_| instance(&fake, &store)).collect();
    fake.push_ticket()
        .unwrap()
        .deliver_to(&instances[0])
        .await
        .unwrap();
    let first = instances[0].component_access_token().await.unwrap();
    assert_eq!(fake.calls(Endpoint::ComponentToken), 1);

    store.refusing.store(true, Ordering::SeqCst);
    fake.advance(Duration::from_secs(7200 - 600 + 1)); // past the refresh deadline
    let mut served = 0;
    let mut refused = 0;
    for _second in 0..60 {
        for client in &instances {
            match client.authorizer_list(0, 10).await {
                Ok(_) => served += 1,
                Err(Error::Store(_)) => refused += 1,
                Err(e) => panic!("unexpected error: {e}"),
            }
            // Compare-and-refresh never answers with the token it was told is stale.
            match client
                .refresh_component_access_token_if(Some(first.expose_secret()))
                .await
            {
                Ok(t) => assert_ne!(t.token.expose_secret(), first.expose_secret()),
                Err(e) => assert!(matches!(e, Error::Store(_)), "{e}"),
            }
        }
        fake.advance(Duration::from_secs(1));
    }
    assert_eq!(
        fake.calls(Endpoint::ComponentToken),
        1,
        "no fetch without the lease on a shared store"
    );
    // The token was still valid (refresh ahead): the uses went through until it expired.
    assert!(
        served > 0 && served + refused == 180,
        "{served} + {refused}"
    );

    // The store accepts writes again (after the refreshes started while it refused have
    // given up): exactly one fetch, shared by all three.
    for client in &instances {
        assert!(client.drain(Duration::from_secs(5)).await);
    }
    store.refusing.store(false, Ordering::SeqCst);
    let stale = first.expose_secret().to_owned();
    let handles: Vec<_> = instances
        .iter()
        .cloned()
        .map(|c| {
            let stale = stale.clone();
            tokio::spawn(async move { c.refresh_component_access_token_if(Some(&stale)).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for h in handles {
        tokens.push(h.await.unwrap().unwrap().token.expose_secret().to_owned());
    }
    assert!(tokens
        .iter()
        .all(|t| t == &tokens[0] && t != first.expose_secret()));
    assert_eq!(fake.calls(Endpoint::ComponentToken), 2);
}

/// One process on a store nobody else uses (the single-process fallback): the store refuses
/// writes, the token expires, and WeChat rejects every token it is handed (40001, as when
/// something else keeps fetching). The client fetches without a lease, but a rejected token
/// that was never stored starts a cool-down: at most one `api_component_token` per cool-down
/// (5 s, doubling to 60 s) over 60 s of calls once a second, not one per 40001.
#[tokio::test]
async fn an_unfenced_fetch_rejected_waits_for_its_cool_down() {
    let fake = fake().await;
    let store = RefusingStore::new(false);
    let client = instance(&fake, &store);
    fake.push_ticket()
        .unwrap()
        .deliver_to(&client)
        .await
        .unwrap();
    store.refusing.store(true, Ordering::SeqCst);
    let mut rejected = 0;
    for _second in 0..60 {
        fake.inject(
            FaultRule::new(Fault::Errcode(40001))
                .on(Endpoint::GetAuthorizerList)
                .times(2),
        );
        if let Err(e) = client.authorizer_list(0, 10).await {
            assert_eq!(e.code(), Some(40001), "{e}");
            rejected += 1;
        }
        fake.advance(Duration::from_secs(1));
    }
    assert_eq!(rejected, 60);
    let fetches = fake.calls(Endpoint::ComponentToken);
    eprintln!("unfenced fallback: {fetches} api_component_token calls for {rejected} rejected uses in 60 s");
    // Cool-downs of 5, 10, 20, 40 s (±20 % jitter) fit about four fetches into 60 s; one per
    // 40001 would be 60 or more.
    assert!(
        (2..=6).contains(&fetches),
        "{fetches} api_component_token calls in 60 s"
    );
}
