//! Non-retryable classes fail immediately with a typed error: config (61004, 40125, 41004,
//! 40013), quota (45009, 48006), ticket (61005, 61006, missing).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use wxopen_client::{Error, ErrorClass};

#[tokio::test]
async fn ip_whitelist_61004_is_immediate_and_typed() {
    let h = Scenario::new()
        .with_fallback()
        .ticket("ticket@@@t")
        .expect(
            1,
            post(P_COMPONENT_TOKEN),
            err_json(61004, "access clientip is not registered, rid: 1"),
        )
        .on_fallback()
        .expect(0, any_post(), err_json(0, "ok"))
        .start()
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
    h.verify().await;
}

#[tokio::test]
async fn other_config_and_quota_codes_are_not_retried() {
    for (code, is_quota) in [
        (40125, false),
        (41004, false),
        (40013, false),
        (45009, true),
    ] {
        let h = Scenario::new()
            .ticket("ticket@@@t")
            .expect(1, any_post(), err_json(code, "x"))
            .start()
            .await;
        let err = h.client.component_access_token().await.unwrap_err();
        assert_eq!(err.code(), Some(code));
        assert_eq!(err.is_quota(), is_quota, "{code}");
        assert_eq!(err.is_config(), !is_quota, "{code}");
        h.verify().await;
    }
}

#[tokio::test]
async fn clear_quota_monthly_limit_48006() {
    let limit = err_json(48006, "forbid to clear quota because of reaching the limit");
    let h = Scenario::new()
        .expect(1, post("/cgi-bin/component/clear_quota/v2"), limit)
        .start()
        .await;
    let err = h.client.clear_quota_v2(None).await.unwrap_err();
    assert!(
        matches!(err, Error::Quota { errcode: 48006, .. }),
        "{err:?}"
    );
    h.verify().await;
}

#[tokio::test]
async fn ticket_errors_are_typed() {
    for code in [61005, 61006] {
        let h = Scenario::new()
            .ticket_created("ticket@@@t", T0 - 13 * 3600)
            .expect(
                1,
                post(P_COMPONENT_TOKEN),
                err_json(code, "component ticket is expired"),
            )
            .start()
            .await;
        let err = h.client.component_access_token().await.unwrap_err();
        assert!(
            matches!(err, Error::TicketRejected { stale: true, .. }),
            "{err:?}"
        );
        assert!(err.is_ticket_problem());
        assert!(err.to_string().contains("start_push_ticket"), "{err}");
        h.verify().await;
    }
}

#[tokio::test]
async fn no_ticket_no_upstream_call() {
    let h = Scenario::new()
        .expect(0, any_post(), err_json(0, "ok"))
        .start()
        .await;
    let err = h.client.pre_auth_code().await.unwrap_err();
    assert!(matches!(err, Error::TicketMissing));
    h.verify().await;
}

#[tokio::test]
async fn malformed_success_body_is_a_decode_error_not_a_panic() {
    let h = Scenario::new()
        .ticket("ticket@@@t")
        .expect(
            1,
            post(P_COMPONENT_TOKEN),
            ok_json(serde_json::json!({"expires_in": 7200})),
        )
        .start()
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
    h.verify().await;
}

#[tokio::test]
async fn start_push_ticket_needs_no_token() {
    let credentials = serde_json::json!({
        "component_appid": APPID, "component_secret": SECRET
    });
    let h = Scenario::new()
        .expect(
            1,
            post("/cgi-bin/component/api_start_push_ticket").body(credentials),
            err_json(0, "ok"),
        )
        .start()
        .await;
    assert_eq!(h.client.start_push_ticket().await.unwrap(), "ok");
    h.verify().await;
}
