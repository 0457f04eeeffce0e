//! What a `[[client]]` may do and how often a token may be refreshed unconditionally, in
//! process: a read-only client (`scope = "read"`) reads tokens and accounts and is refused
//! (403) every refresh, import and delete; an unconditional refresh (no `stale`) of one token
//! goes upstream at most once per `server.min_refresh_interval_secs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use common::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};
use wxopen_client::{MemoryStore, TokenStore};

const READ_KEY: &str = "internal-key-reader-0123456789";
const ACCOUNT: &str = "wxreadonly0001";

/// The test service with a third, read-only client, and `extra_server` in `[server]`.
async fn with_reader(upstream: &MockServer, extra_server: &str) -> App {
    let text = format!(
        "{}\n[[client]]\nname = \"reader\"\nkey = \"{READ_KEY}\"\nscope = \"read\"\n",
        config_text(&upstream.uri(), extra_server)
    );
    let cfg = wxopen_server::config::parse(&text, std::path::Path::new("/")).unwrap();
    in_process_config(cfg, Arc::new(MemoryStore::new())).await
}

/// A ticket, the component token and one imported account with its access token.
async fn with_account(upstream: &MockServer, s: &App) {
    mount_component_token(upstream, "ctok").await;
    // Each call a new token: atok-1, atok-2, …
    let n = Arc::new(AtomicU64::new(0));
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/api_authorizer_token"))
        .respond_with(move |_: &wiremock::Request| {
            let i = n.fetch_add(1, Ordering::SeqCst) + 1;
            ok_json(json!({"authorizer_access_token": format!("atok-{i}"), "expires_in": 7200}))
        })
        .mount(upstream)
        .await;
    s.push_ticket("ticket@@@t", T0).await;
    let r = s
        .internal_post(
            &format!("/v1/{APPID}/authorizers/import"),
            KEY,
            &json!({"authorizers": [{"authorizer_appid": ACCOUNT, "refresh_token": "refreshtoken@@@r"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn a_read_only_client_reads_tokens_and_accounts_and_is_refused_every_change() {
    let upstream = MockServer::start().await;
    let s = with_reader(&upstream, "").await;
    with_account(&upstream, &s).await;
    // Allowed: both tokens, the listing, one account.
    let component = s
        .internal_get(&format!("/v1/{APPID}/component/token"), Some(READ_KEY))
        .await;
    assert_eq!(component.status, 200);
    assert_eq!(component.json()["component_access_token"], "ctok");
    let account = s
        .internal_get(
            &format!("/v1/{APPID}/authorizers/{ACCOUNT}/token"),
            Some(READ_KEY),
        )
        .await;
    assert_eq!(account.status, 200);
    let atok = account.json()["authorizer_access_token"].clone();
    assert!(atok.as_str().unwrap().starts_with("atok-"), "{atok}");
    let list = s
        .internal_get(&format!("/v1/{APPID}/authorizers"), Some(READ_KEY))
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["authorizers"][0]["authorizer_appid"], ACCOUNT);
    let one = s
        .internal_get(
            &format!("/v1/{APPID}/authorizers/{ACCOUNT}"),
            Some(READ_KEY),
        )
        .await;
    assert_eq!(one.status, 200);
    // Refused: both refreshes (with and without `stale`), import, delete.
    let calls_before = upstream.received_requests().await.unwrap().len();
    let refused = [
        (
            Method::POST,
            format!("/v1/{APPID}/component/token/refresh"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/v1/{APPID}/component/token/refresh"),
            json!({"stale": "ctok"}),
        ),
        (
            Method::POST,
            format!("/v1/{APPID}/authorizers/{ACCOUNT}/token/refresh"),
            json!({"stale": atok}),
        ),
        (
            Method::POST,
            format!("/v1/{APPID}/authorizers/import"),
            json!({"authorizers": [{"authorizer_appid": "wxreadonly0002", "refresh_token": "refreshtoken@@@x"}]}),
        ),
        (
            Method::DELETE,
            format!("/v1/{APPID}/authorizers/{ACCOUNT}"),
            json!(null),
        ),
    ];
    for (m, p, body) in refused {
        let c = s.internal(m.clone(), &p).bearer(READ_KEY);
        let c = if body.is_null() { c } else { c.json(&body) };
        let r = c.send().await;
        assert_eq!(r.status, 403, "{m} {p}: {}", r.text());
        assert!(r.json()["error"].as_str().unwrap().contains("read-only"));
    }
    // Nothing changed: no upstream call, the account and its token still stored, nothing
    // imported.
    assert_eq!(
        upstream.received_requests().await.unwrap().len(),
        calls_before
    );
    let still = s
        .internal_get(
            &format!("/v1/{APPID}/authorizers/{ACCOUNT}/token"),
            Some(READ_KEY),
        )
        .await;
    assert_eq!(still.json()["authorizer_access_token"], atok);
    assert!(s
        .store
        .get(&wxopen_client::StoreKey::authorizer(
            APPID,
            "wxreadonly0002"
        ))
        .await
        .unwrap()
        .is_none());
    // The full client may delete.
    let gone = s
        .internal(
            Method::DELETE,
            &format!("/v1/{APPID}/authorizers/{ACCOUNT}"),
        )
        .bearer(KEY)
        .send()
        .await;
    assert!(gone.status < 300, "{}", gone.status);
}

#[tokio::test]
async fn an_unconditional_refresh_goes_upstream_at_most_once_per_interval() {
    let upstream = MockServer::start().await;
    let s = with_reader(&upstream, "min_refresh_interval_secs = 60").await;
    with_account(&upstream, &s).await;
    let component = "/cgi-bin/component/api_component_token";
    let account = "/cgi-bin/component/api_authorizer_token";
    let (c0, a0) = (
        hits(&upstream, component).await,
        hits(&upstream, account).await,
    );
    let refresh_c = format!("/v1/{APPID}/component/token/refresh");
    let refresh_a = format!("/v1/{APPID}/authorizers/{ACCOUNT}/token/refresh");
    // The first unconditional refresh of each token goes upstream.
    assert_eq!(
        s.internal_post(&refresh_c, KEY, &json!({})).await.status,
        200
    );
    let atok = s.internal_post(&refresh_a, KEY, &json!({})).await.json()["authorizer_access_token"]
        .clone();
    assert_eq!(hits(&upstream, component).await, c0 + 1);
    assert_eq!(hits(&upstream, account).await, a0 + 1);
    // Ten more within the interval: the current token, nothing upstream.
    s.clock.advance(Duration::from_secs(59));
    for _ in 0..10 {
        let r = s.internal_post(&refresh_c, KEY, &json!({})).await;
        assert_eq!(r.json()["component_access_token"], "ctok");
        let r = s
            .internal(Method::POST, &refresh_a)
            .bearer(KEY)
            .send()
            .await;
        assert_eq!(r.json()["authorizer_access_token"], atok);
    }
    assert_eq!(hits(&upstream, component).await, c0 + 1);
    assert_eq!(hits(&upstream, account).await, a0 + 1);
    // A report of the current token is not paced: it goes upstream.
    let r = s
        .internal_post(&refresh_a, KEY, &json!({"stale": atok}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(hits(&upstream, account).await, a0 + 2);
    // After the interval, one more goes upstream.
    s.clock.advance(Duration::from_secs(1));
    assert_eq!(
        s.internal_post(&refresh_c, KEY, &json!({})).await.status,
        200
    );
    assert_eq!(hits(&upstream, component).await, c0 + 2);
}
