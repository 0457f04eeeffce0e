//! Non-retryable classes fail immediately with a typed error: config (61004, 40125, 41004,
//! 40013), quota (45009, 48006), ticket (61005, 61006, missing).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};
use wxopen_client::{Error, ErrorClass};

#[tokio::test]
async fn ip_whitelist_61004_is_immediate_and_typed() {
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    let h = harness(&[&primary, &fallback]);
    push_ticket(&h, "ticket@@@t", T0).await;
    Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(err_json(61004, "access clientip is not registered, rid: 1"))
        .expect(1)
        .mount(&primary)
        .await;
    Mock::given(method("POST"))
        .respond_with(err_json(0, "ok"))
        .expect(0)
        .mount(&fallback)
        .await;
    let err = h.client.component_access_token().await.unwrap_err();
    assert!(
        matches!(err, Error::Config { errcode: 61004, .. }),
        "{err:?}"
    );
    assert!(err.is_config() && !err.is_retryable());
    assert_eq!(err.class(), Some(ErrorClass::Config));
    let text = err.to_string();
    assert!(
        text.contains("61004") && text.contains("IP whitelist"),
        "{text}"
    );
    primary.verify().await;
    fallback.verify().await;
}

#[tokio::test]
async fn other_config_and_quota_codes_are_not_retried() {
    for (code, is_quota) in [
        (40125, false),
        (41004, false),
        (40013, false),
        (45009, true),
    ] {
        let server = MockServer::start().await;
        let h = harness(&[&server]);
        push_ticket(&h, "ticket@@@t", T0).await;
        Mock::given(method("POST"))
            .respond_with(err_json(code, "x"))
            .expect(1)
            .mount(&server)
            .await;
        let err = h.client.component_access_token().await.unwrap_err();
        assert_eq!(err.code(), Some(code));
        assert_eq!(err.is_quota(), is_quota, "{code}");
        assert_eq!(err.is_config(), !is_quota, "{code}");
        server.verify().await;
    }
}

#[tokio::test]
async fn clear_quota_monthly_limit_48006() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/clear_quota/v2"))
        .respond_with(err_json(
            48006,
            "forbid to clear quota because of reaching the limit",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = h.client.clear_quota_v2(None).await.unwrap_err();
    assert!(
        matches!(err, Error::Quota { errcode: 48006, .. }),
        "{err:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn ticket_errors_are_typed() {
    for code in [61005, 61006] {
        let server = MockServer::start().await;
        let h = harness(&[&server]);
        push_ticket(&h, "ticket@@@t", T0 - 13 * 3600).await;
        Mock::given(method("POST"))
            .and(path(P_COMPONENT_TOKEN))
            .respond_with(err_json(code, "component ticket is expired"))
            .expect(1)
            .mount(&server)
            .await;
        let err = h.client.component_access_token().await.unwrap_err();
        assert!(
            matches!(err, Error::TicketRejected { stale: true, .. }),
            "{err:?}"
        );
        assert!(err.is_ticket_problem());
        assert!(err.to_string().contains("start_push_ticket"), "{err}");
        server.verify().await;
    }
}

#[tokio::test]
async fn no_ticket_no_upstream_call() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    Mock::given(method("POST"))
        .respond_with(err_json(0, "ok"))
        .expect(0)
        .mount(&server)
        .await;
    let err = h.client.pre_auth_code().await.unwrap_err();
    assert!(matches!(err, Error::TicketMissing));
    server.verify().await;
}

#[tokio::test]
async fn malformed_success_body_is_a_decode_error_not_a_panic() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(ok_json(serde_json::json!({"expires_in": 7200})))
        .expect(1)
        .mount(&server)
        .await;
    let err = h.client.component_access_token().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode {
                endpoint: "api_component_token",
                ..
            }
        ),
        "{err:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn start_push_ticket_needs_no_token() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/api_start_push_ticket"))
        .and(wiremock::matchers::body_json(serde_json::json!({
            "component_appid": APPID, "component_secret": SECRET
        })))
        .respond_with(err_json(0, "ok"))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(h.client.start_push_ticket().await.unwrap(), "ok");
    server.verify().await;
}
