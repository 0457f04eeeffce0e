//! The JS-SDK routes in process (`oneshot`, WeChat a wiremock upstream): `wx.config` signed
//! with the account's jsapi ticket and appid, the tickets with their expiry, one `getticket`
//! per ticket however often asked, typed 400s for a bad `url`, the bearer check, and the
//! tickets deleted with the account.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::Method;
use common::*;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer};
use wxopen_client::{
    AuthorizerAccessToken, AuthorizerRecord, AuthorizerRefreshToken, JsTicketType, StoreKey,
    StoredValue, TokenStore,
};

const ACCOUNT: &str = "wxauthorizer01";
const GETTICKET: &str = "/cgi-bin/ticket/getticket";

/// The service with `ACCOUNT` authorized (its access token `atok-1` stored) and WeChat
/// answering `getticket` for that token.
async fn app_with_account(upstream: &MockServer) -> App {
    let s = in_process(upstream).await;
    let record = AuthorizerRecord {
        access_token: Some(AuthorizerAccessToken::new("atok-1")),
        refresh_token: Some(AuthorizerRefreshToken::new("refreshtoken@@@r1")),
        obtained_at: T0,
        refresh_at: T0 + 6600,
        expires_at: T0 + 7200,
        authorized_at: T0,
        ..AuthorizerRecord::default()
    };
    s.store
        .compare_and_set(
            &StoreKey::authorizer(APPID, ACCOUNT),
            None,
            StoredValue::Authorizer(record),
            None,
        )
        .await
        .unwrap();
    for (t, ticket) in [("jsapi", "jt-1"), ("wx_card", "ct-1")] {
        Mock::given(method("GET"))
            .and(path(GETTICKET))
            .and(query_param("access_token", "atok-1"))
            .and(query_param("type", t))
            .respond_with(ok_json(
                json!({"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": 7200}),
            ))
            .mount(upstream)
            .await;
    }
    s
}

#[tokio::test]
async fn config_is_signed_with_the_accounts_ticket_and_appid() {
    let upstream = MockServer::start().await;
    let s = app_with_account(&upstream).await;
    let page = "https://shop.example/item?id=7#reviews";
    let r = s
        .internal_post(
            &format!("/v1/{APPID}/authorizers/{ACCOUNT}/jssdk/config"),
            KEY,
            &json!({ "url": page }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), "no-store");
    let v = r.json();
    assert_eq!(v["appId"], ACCOUNT);
    assert_eq!(v["timestamp"], T0);
    let nonce = v["nonceStr"].as_str().unwrap();
    assert_eq!(nonce.len(), wxopen_client::JSSDK_NONCE_LEN);
    assert!(nonce.bytes().all(|b| b.is_ascii_alphanumeric()));
    let want =
        wxopen_client::jssdk_sign::signature("jt-1", nonce, T0, "https://shop.example/item?id=7");
    assert_eq!(v["signature"], want);
    assert!(
        !r.text().contains("jt-1"),
        "the ticket is not in the answer"
    );

    // Asked again (and the ticket itself): still one getticket.
    let again = s
        .internal_post(
            &format!("/v1/{APPID}/authorizers/{ACCOUNT}/jssdk/config"),
            KEY,
            &json!({ "url": page }),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_ne!(again.json()["nonceStr"], v["nonceStr"], "a fresh nonce");
    let t = s
        .internal_get(
            &format!("/v1/{APPID}/authorizers/{ACCOUNT}/jssdk/ticket"),
            Some(KEY),
        )
        .await;
    assert_eq!(t.status, 200);
    assert_eq!(t.header("cache-control"), "no-store");
    assert_eq!(
        t.json(),
        json!({"ticket": "jt-1", "expires_in": 7200, "expires_at": T0 + 7200})
    );
    assert_eq!(hits(&upstream, GETTICKET).await, 1);
}

#[tokio::test]
async fn the_card_ticket_is_its_own_ticket() {
    let upstream = MockServer::start().await;
    let s = app_with_account(&upstream).await;
    let p = format!("/v1/{APPID}/authorizers/{ACCOUNT}/jssdk/card_ticket");
    for _ in 0..3 {
        let r = s.internal_get(&p, Some(KEY)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["ticket"], "ct-1");
    }
    assert_eq!(hits(&upstream, GETTICKET).await, 1);
}

#[tokio::test]
async fn bad_urls_and_bodies_are_typed_400s() {
    let upstream = MockServer::start().await;
    let s = app_with_account(&upstream).await;
    let p = format!("/v1/{APPID}/authorizers/{ACCOUNT}/jssdk/config");
    let long = format!("https://a.example/{}", "x".repeat(2048));
    let rows = [
        (
            json!({"url": "/relative"}),
            "absolute http:// or https:// URL",
        ),
        (
            json!({"url": "ftp://a.example/"}),
            "absolute http:// or https:// URL",
        ),
        (json!({"url": ""}), "empty"),
        (json!({"url": long}), "bytes long"),
        (json!({"url": "https://a.example/a b"}), "whitespace"),
        (json!({"url": 5}), "body: expected"),
        (json!({}), "body: expected"),
        (
            json!({"url": "https://a.example/", "x": 1}),
            "body: expected",
        ),
    ];
    for (body, says) in rows {
        let r = s.internal_post(&p, KEY, &body).await;
        assert_eq!(r.status, 400, "{body}");
        let v = r.json();
        assert!(v["error"].as_str().unwrap().contains(says), "{body}: {v}");
        assert!(v["hint"].is_string());
    }
    let not_json = s
        .internal(Method::POST, &p)
        .bearer(KEY)
        .body("url=https://a.example/")
        .send()
        .await;
    assert_eq!(not_json.status, 400);
    assert_eq!(
        hits(&upstream, GETTICKET).await,
        0,
        "nothing fetched for a bad request"
    );
}

#[tokio::test]
async fn the_routes_need_the_components_bearer_key() {
    let upstream = MockServer::start().await;
    let s = app_with_account(&upstream).await;
    for p in ["jssdk/ticket", "jssdk/card_ticket"] {
        let p = format!("/v1/{APPID}/authorizers/{ACCOUNT}/{p}");
        assert_eq!(s.internal_get(&p, None).await.status, 401);
        assert_eq!(
            s.internal_get(&p, Some("wrong-key-0123456789"))
                .await
                .status,
            401
        );
    }
    let other = s
        .internal_post(
            &format!("/v1/{OTHER}/authorizers/{ACCOUNT}/jssdk/config"),
            KEY,
            &json!({"url": "https://a.example/"}),
        )
        .await;
    assert!(matches!(other.status, 403 | 404), "{}", other.status);
    assert_eq!(hits(&upstream, GETTICKET).await, 0);
}

#[tokio::test]
async fn deleting_the_account_deletes_its_tickets() {
    let upstream = MockServer::start().await;
    let s = app_with_account(&upstream).await;
    for p in ["jssdk/ticket", "jssdk/card_ticket"] {
        let r = s
            .internal_get(&format!("/v1/{APPID}/authorizers/{ACCOUNT}/{p}"), Some(KEY))
            .await;
        assert_eq!(r.status, 200);
    }
    let key = |t| StoreKey::js_ticket(APPID, ACCOUNT, t);
    assert!(s
        .store
        .get(&key(JsTicketType::Jsapi))
        .await
        .unwrap()
        .is_some());
    let r = s
        .internal(
            Method::DELETE,
            &format!("/v1/{APPID}/authorizers/{ACCOUNT}"),
        )
        .bearer(KEY)
        .send()
        .await;
    assert!(
        r.status == 200 || r.status == 204,
        "{} {}",
        r.status,
        r.text()
    );
    for t in [JsTicketType::Jsapi, JsTicketType::WxCard] {
        assert_eq!(s.store.get(&key(t)).await.unwrap(), None, "{t}");
    }
}
