//! `api_query_auth` spends its authorization code: it is retried only when the request cannot
//! have reached WeChat (no connection, 429), never after a timeout, a lost body, a 5xx or -1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wxopen_client::{AuthorizationCode, Error};

fn code() -> AuthorizationCode {
    AuthorizationCode::new("queryauthcode@@@single")
}

fn query_auth_ok() -> ResponseTemplate {
    ok_json(json!({"authorization_info": {
        "authorizer_appid": "wxauthorizer01",
        "authorizer_access_token": "atok",
        "expires_in": 7200,
        "authorizer_refresh_token": "rtok",
        "func_info": []
    }}))
}

async fn ready(servers: &[&MockServer]) -> Harness {
    let h = harness(servers);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(servers[0], "ctok", 1).await;
    h
}

async fn stored(h: &Harness) -> bool {
    h.client
        .authorizer_record("wxauthorizer01")
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn http_5xx_is_not_retried_and_not_failed_over() {
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    let h = ready(&[&primary, &fallback]).await;
    Mock::given(method("POST"))
        .and(path(P_QUERY_AUTH))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&primary)
        .await;
    Mock::given(method("POST"))
        .respond_with(query_auth_ok())
        .expect(0)
        .mount(&fallback)
        .await;
    let err = h.client.query_auth(&code()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::HttpStatus {
                status: 502,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!stored(&h).await);
    primary.verify().await;
    fallback.verify().await;
}

#[tokio::test]
async fn a_timeout_is_not_retried() {
    let server = MockServer::start().await;
    let cfg =
        config(&[&server]).with_timeouts(Duration::from_millis(150), Duration::from_millis(150));
    let h = harness_with(cfg);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(&server, "ctok", 1).await;
    Mock::given(method("POST"))
        .and(path(P_QUERY_AUTH))
        .respond_with(query_auth_ok().set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&server)
        .await;
    let err = h.client.query_auth(&code()).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { attempts: 1, .. }),
        "{err:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn system_busy_is_an_answer_and_is_not_retried() {
    // -1 means the request arrived: the code may be spent, so it is not sent again.
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    let h = ready(&[&primary, &fallback]).await;
    Mock::given(method("POST"))
        .and(path(P_QUERY_AUTH))
        .respond_with(err_json(-1, "system error"))
        .expect(1)
        .mount(&primary)
        .await;
    Mock::given(method("POST"))
        .respond_with(query_auth_ok())
        .expect(0)
        .mount(&fallback)
        .await;
    let err = h.client.query_auth(&code()).await.unwrap_err();
    assert!(
        matches!(err, Error::WechatApi { errcode: -1, .. }),
        "{err:?}"
    );
    assert!(!stored(&h).await);
    primary.verify().await;
    fallback.verify().await;
}

#[tokio::test]
async fn http_429_is_retried() {
    let server = MockServer::start().await;
    let h = ready(&[&server]).await;
    Mock::given(method("POST"))
        .and(path(P_QUERY_AUTH))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_QUERY_AUTH))
        .respond_with(query_auth_ok())
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let info = h.client.query_auth(&code()).await.unwrap();
    assert_eq!(info.authorizer_appid, "wxauthorizer01");
    assert!(stored(&h).await);
    server.verify().await;
}

#[tokio::test]
async fn a_connection_never_made_fails_over() {
    let dead_url = dead_base_url();
    let fallback = MockServer::start().await;
    let cfg = config(&[&fallback])
        .with_base_urls([dead_url, fallback.uri()])
        .unwrap();
    let h = harness_with(cfg);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(&fallback, "ctok", 1).await;
    Mock::given(method("POST"))
        .and(path(P_QUERY_AUTH))
        .respond_with(query_auth_ok())
        .expect(1)
        .mount(&fallback)
        .await;
    h.client.query_auth(&code()).await.unwrap();
    assert!(stored(&h).await);
    fallback.verify().await;
}
