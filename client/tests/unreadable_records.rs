//! One unreadable authorizer record (garbage, or a format of a newer wxopen during a rolling
//! upgrade) is listed as unreadable; it neither hides the other accounts nor fails the page
//! (which stopped the refresher for that page and every later one, and made the listing 503).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use wxopen_client::store::BoxFuture;
use wxopen_client::{
    AuthorizerRecord, AuthorizerRefreshToken, CasOutcome, ComponentClient, ComponentConfig,
    MemoryStore, StoreError, StoreKey, StoredValue, TokenStore, Versioned,
};

const C: &str = "wxcomponent0001";

/// A MemoryStore whose record for `bad` cannot be decoded.
#[derive(Debug)]
struct OneCorrupt {
    inner: MemoryStore,
    bad: StoreKey,
}

impl TokenStore for OneCorrupt {
    fn get<'a>(
        &'a self,
        key: &'a StoreKey,
    ) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
        if *key == self.bad {
            return Box::pin(async {
                Err(StoreError::corrupt(
                    "record: value format 2 is not the format 1 this code reads",
                ))
            });
        }
        self.inner.get(key)
    }
    fn compare_and_set<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: Option<u64>,
        value: StoredValue,
        fence: Option<&'a str>,
    ) -> BoxFuture<'a, Result<CasOutcome, StoreError>> {
        self.inner.compare_and_set(key, expected, value, fence)
    }
    fn compare_and_delete<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.inner.compare_and_delete(key, expected)
    }
    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.inner.try_lease(key, holder, ttl)
    }
    fn extend_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.inner.extend_lease(key, holder, ttl)
    }
    fn release_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.release_lease(key, holder)
    }
    fn list_authorizers<'a>(
        &'a self,
        component_appid: &'a str,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        self.inner.list_authorizers(component_appid, after, limit)
    }
}

#[tokio::test]
async fn an_unreadable_record_is_listed_as_such_and_hides_nothing() {
    let store = Arc::new(OneCorrupt {
        inner: MemoryStore::new(),
        bad: StoreKey::authorizer(C, "wxbbbbbbbbbbbbbbbb"),
    });
    for appid in [
        "wxaaaaaaaaaaaaaaaa",
        "wxbbbbbbbbbbbbbbbb",
        "wxcccccccccccccccc",
    ] {
        let record = StoredValue::Authorizer(AuthorizerRecord {
            refresh_token: Some(AuthorizerRefreshToken::new("refreshtoken@@@r")),
            ..AuthorizerRecord::default()
        });
        let key = StoreKey::authorizer(C, appid);
        store
            .compare_and_set(&key, None, record, None)
            .await
            .unwrap();
    }
    let config = ComponentConfig::new(
        C,
        "appsecret",
        "token",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    );
    let client = ComponentClient::builder(config)
        .store(store)
        .build()
        .unwrap();
    let page = client.list_authorizers(None, 10).await.unwrap();
    let seen: Vec<_> = page
        .iter()
        .map(|s| (s.authorizer_appid.as_str(), s.authorized, s.unreadable))
        .collect();
    assert_eq!(
        seen,
        [
            ("wxaaaaaaaaaaaaaaaa", true, false),
            ("wxbbbbbbbbbbbbbbbb", false, true),
            ("wxcccccccccccccccc", true, false),
        ]
    );
}
