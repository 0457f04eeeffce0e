//! One unreadable authorizer record (garbage, or a format of a newer wxopen during a rolling
//! upgrade) is listed as unreadable; it neither hides the other accounts nor fails the page
//! (which stopped the refresher for that page and every later one, and made the listing 503).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::FaultyStore;
use wxopen_client::{
    AuthorizerRecord, AuthorizerRefreshToken, ComponentClient, ComponentConfig, StoreKey,
    StoredValue, TokenStore,
};

const C: &str = "wxcomponent0001";

#[tokio::test]
async fn an_unreadable_record_is_listed_as_such_and_hides_nothing() {
    let store = Arc::new(FaultyStore::default());
    *store.corrupt.lock().unwrap() = Some(StoreKey::authorizer(C, "wxbbbbbbbbbbbbbbbb"));
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
