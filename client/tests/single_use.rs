//! `api_query_auth` spends its authorization code: it is retried only when the request cannot
//! have reached WeChat (no connection, 429), never after a timeout, a lost body, a 5xx or -1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use wiremock::ResponseTemplate;
use wxopen_client::{AuthorizationCode, Error};

fn code() -> AuthorizationCode {
    AuthorizationCode::new("queryauthcode@@@single")
}

fn query_auth_ok() -> ResponseTemplate {
    query_auth_answer("wxauthorizer01", "atok", "rtok")
}

/// A ticket, one component-token fetch, and a fallback domain where nothing may arrive.
fn ready_with_idle_fallback(primary_answer: ResponseTemplate) -> Scenario {
    Scenario::ready("ctok", 1)
        .with_fallback()
        .expect(1, post(P_QUERY_AUTH), primary_answer)
        .on_fallback()
        .expect(0, any_post(), query_auth_ok())
}

async fn stored(h: &Harness) -> bool {
    h.record("wxauthorizer01").await.is_some()
}

#[tokio::test]
async fn http_5xx_is_not_retried_and_not_failed_over() {
    let h = ready_with_idle_fallback(ResponseTemplate::new(502))
        .start()
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
    h.verify().await;
}

#[tokio::test]
async fn a_timeout_is_not_retried() {
    let late = query_auth_ok().set_delay(Duration::from_secs(3));
    let h = Scenario::ready("ctok", 1)
        .config(|c| c.with_timeouts(Duration::from_millis(150), Duration::from_millis(150)))
        .expect(1, post(P_QUERY_AUTH), late)
        .start()
        .await;
    let err = h.client.query_auth(&code()).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { attempts: 1, .. }),
        "{err:?}"
    );
    h.verify().await;
}

#[tokio::test]
async fn system_busy_is_an_answer_and_is_not_retried() {
    // -1 means the request arrived: the code may be spent, so it is not sent again.
    let h = ready_with_idle_fallback(err_json(-1, "system error"))
        .start()
        .await;
    let err = h.client.query_auth(&code()).await.unwrap_err();
    assert!(
        matches!(err, Error::WechatApi { errcode: -1, .. }),
        "{err:?}"
    );
    assert!(!stored(&h).await);
    h.verify().await;
}

#[tokio::test]
async fn http_429_is_retried() {
    let h = Scenario::ready("ctok", 1)
        .in_turn([
            (post(P_QUERY_AUTH), ResponseTemplate::new(429)),
            (post(P_QUERY_AUTH), query_auth_ok()),
        ])
        .start()
        .await;
    let info = h.client.query_auth(&code()).await.unwrap();
    assert_eq!(info.authorizer_appid, "wxauthorizer01");
    assert!(stored(&h).await);
    h.verify().await;
}

#[tokio::test]
async fn a_connection_never_made_fails_over() {
    let h = Scenario::ready("ctok", 1)
        .dead_primary()
        .expect(1, post(P_QUERY_AUTH), query_auth_ok())
        .start()
        .await;
    h.client.query_auth(&code()).await.unwrap();
    assert!(stored(&h).await);
    h.verify().await;
}
