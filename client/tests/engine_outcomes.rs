//! The token engine's outcomes: one upstream call per refresh whatever it returns, failures
//! remembered by class, bounded work for unknown or revoked accounts, 61023 kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wxopen_client::{AuthorizerState, ClientEvent, Error, RevokeReason};

async fn concurrent<F, Fut, T>(n: usize, f: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    futures_util::future::join_all((0..n).map(|_| f())).await
}

/// Finding 1 (before: 20 calls): 20 concurrent callers while WeChat answers 45009 → one
/// upstream call, and every caller gets the leader's error.
#[tokio::test]
async fn twenty_callers_share_one_failed_fetch() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(
            err_json(45009, "reach max api daily quota limit")
                .set_delay(Duration::from_millis(100)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let results = concurrent(20, || h.client.component_access_token()).await;
    for r in results {
        let e = r.unwrap_err();
        assert!(e.is_quota() && e.code() == Some(45009), "{e}");
    }
    // Remembered for the daily-quota cool-down: more callers, still one call.
    for r in concurrent(20, || h.client.component_access_token()).await {
        assert_eq!(r.unwrap_err().code(), Some(45009));
    }
    server.verify().await;
}

#[tokio::test]
async fn twenty_callers_share_one_successful_fetch() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(
            ok_json(json!({"component_access_token": "ctok", "expires_in": 7200}))
                .set_delay(Duration::from_millis(100)),
        )
        .expect(1)
        .mount(&server)
        .await;
    for r in concurrent(20, || h.client.component_access_token()).await {
        assert_eq!(r.unwrap().expose_secret(), "ctok");
    }
    server.verify().await;
}

/// A waiter has a deadline of its own; the refresh goes on and its token is stored.
#[tokio::test]
async fn a_waiter_gives_up_at_its_deadline_and_the_refresh_goes_on() {
    let server = MockServer::start().await;
    let h = harness_with(config(&[&server]).with_token_wait(Duration::from_millis(50)));
    push_ticket(&h, "ticket@@@t", T0).await;
    Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(
            ok_json(json!({"component_access_token": "ctok-slow", "expires_in": 7200}))
                .set_delay(Duration::from_millis(600)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut events = h.client.subscribe();
    let err = h.client.component_access_token().await.unwrap_err();
    assert!(
        matches!(err, Error::WaitTimeout { .. }) && err.is_retryable(),
        "{err}"
    );
    wait_event(&mut events, |e| {
        matches!(e, ClientEvent::ComponentTokenRefreshed { .. })
    })
    .await;
    assert_eq!(
        h.client
            .component_access_token()
            .await
            .unwrap()
            .expose_secret(),
        "ctok-slow"
    );
    server.verify().await;
}

/// Each class is remembered for its own cool-down; a transient failure for seconds.
#[tokio::test]
async fn failures_are_remembered_by_class() {
    for (errcode, cooldown_secs) in [(61004, 300u64), (40125, 300), (-1, 5), (45011, 60)] {
        let server = MockServer::start().await;
        let h = harness(&[&server]);
        push_ticket(&h, "ticket@@@t", T0).await;
        let failing = Mock::given(method("POST"))
            .and(path(P_COMPONENT_TOKEN))
            .respond_with(err_json(errcode, "failure"))
            .mount_as_scoped(&server)
            .await;
        let first = h.client.component_access_token().await.unwrap_err();
        assert_eq!(first.code(), Some(errcode));
        let calls = hits(&server, P_COMPONENT_TOKEN).await;
        // -1 is retried within the call's own budget; the cool-down then holds.
        for _ in 0..10 {
            let again = h.client.component_access_token().await.unwrap_err();
            assert_eq!(again.code(), Some(errcode));
        }
        assert_eq!(
            hits(&server, P_COMPONENT_TOKEN).await,
            calls,
            "{errcode}: cached"
        );
        drop(failing);
        // Past the cool-down (plus its 20 % jitter) the next caller tries again.
        h.clock
            .advance(Duration::from_secs(cooldown_secs + cooldown_secs / 5 + 1));
        mount_component_token(&server, "ctok", 1).await;
        assert_eq!(
            h.client
                .component_access_token()
                .await
                .unwrap()
                .expose_secret(),
            "ctok",
            "{errcode}"
        );
    }
}

/// A rejected ticket (61006) is remembered until a newer ticket is stored.
#[tokio::test]
async fn a_ticket_failure_lasts_until_a_newer_ticket() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@bad", T0).await;
    let bad = Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(err_json(61006, "component ticket is invalid"))
        .expect(1)
        .mount_as_scoped(&server)
        .await;
    for _ in 0..5 {
        let e = h.client.component_access_token().await.unwrap_err();
        assert!(e.is_ticket_problem(), "{e}");
    }
    drop(bad);
    mount_component_token(&server, "ctok", 1).await;
    push_ticket(&h, "ticket@@@good", T0 + 600).await;
    assert_eq!(
        h.client
            .component_access_token()
            .await
            .unwrap()
            .expose_secret(),
        "ctok"
    );
    server.verify().await;
}

/// Finding 2 (before: 6 list calls for 3 calls, any string accepted): appids are validated,
/// and 1,000 calls for an unknown account cost at most one scan of the authorizer list.
#[tokio::test]
async fn unknown_and_malformed_appids_cost_bounded_work() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(&server, "ctok", 1).await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_LIST))
        .respond_with(ok_json(json!({"total_count": 1, "list": [
            {"authorizer_appid": "wxlisted0000001", "refresh_token": "refreshtoken@@@l", "auth_time": 1}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    for bad in [
        String::new(),
        "x".repeat(1 << 20),
        "wx 1".into(),
        "wx:1".into(),
        "wx\n1".into(),
        "a".repeat(33),
    ] {
        let e = h.client.authorizer_access_token(&bad).await.unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }), "{e}");
    }
    for i in 0..1000 {
        let appid = if i % 2 == 0 {
            "wxunknown000001".to_owned()
        } else {
            format!("wxunknown{i}")
        };
        let e = h.client.authorizer_access_token(&appid).await.unwrap_err();
        assert!(e.must_reauthorize(), "{e}");
    }
    // The unknown account has a tombstone; bookkeeping stays bounded.
    assert!(matches!(
        h.client.authorizer_state("wxunknown000001").await.unwrap(),
        Some(AuthorizerState::Revoked(ref t)) if t.reason == RevokeReason::NotListed
    ));
    assert!(h.client.token_cells() < 50, "{}", h.client.token_cells());
    server.verify().await;
    assert_eq!(hits(&server, P_AUTHORIZER_TOKEN).await, 0);
}

/// A tombstone is cleared by query_auth.
#[tokio::test]
async fn query_auth_clears_a_tombstone() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(&server, "ctok", 1).await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_LIST))
        .respond_with(ok_json(json!({"total_count": 0, "list": []})))
        .expect(1)
        .mount(&server)
        .await;
    assert!(h
        .client
        .authorizer_access_token("wxauthorizer01")
        .await
        .unwrap_err()
        .must_reauthorize());
    authorize(&h, &server, "wxauthorizer01", "atok-1", "refreshtoken@@@r1").await;
    assert_eq!(
        h.client
            .authorizer_access_token("wxauthorizer01")
            .await
            .unwrap()
            .expose_secret(),
        "atok-1"
    );
}

/// Finding 7 (before: HttpStatus 404, must_reauthorize() false): when recovering a rejected
/// refresh token fails, the error is still must-reauthorize with 61023, the failure its source.
#[tokio::test]
async fn refresh_token_invalid_keeps_its_meaning_when_recovery_fails() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(&server, "ctok", 2).await;
    authorize(
        &h,
        &server,
        "wxauthorizer01",
        "atok-1",
        "refreshtoken@@@lost",
    )
    .await;
    h.clock.advance(Duration::from_secs(7200));
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .respond_with(err_json(61023, "refresh_token is invalid"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_LIST))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let e = h
        .client
        .authorizer_access_token("wxauthorizer01")
        .await
        .unwrap_err();
    assert!(e.must_reauthorize(), "{e}");
    assert_eq!(e.code(), Some(61023));
    let source = std::error::Error::source(&e).expect("the recovery failure is the source");
    assert!(source.to_string().contains("404"), "{source}");
    // No tombstone for a transient recovery failure: the refresh token is kept.
    assert!(h
        .client
        .authorizer_record("wxauthorizer01")
        .await
        .unwrap()
        .is_some());
}

/// A list entry with an empty refresh token is skipped and reported, not failing the page.
#[tokio::test]
async fn a_list_entry_without_a_refresh_token_is_skipped() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(&server, "ctok", 1).await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_LIST))
        .respond_with(ok_json(json!({"total_count": 2, "list": [
            {"authorizer_appid": "wxbroken", "refresh_token": "", "auth_time": 1},
            {"authorizer_appid": "wxauthorizer01", "refresh_token": "refreshtoken@@@ok", "auth_time": 1}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .respond_with(ok_json(
            json!({"authorizer_access_token": "atok", "expires_in": 7200}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut events = h.client.subscribe();
    assert_eq!(
        h.client
            .authorizer_access_token("wxauthorizer01")
            .await
            .unwrap()
            .expose_secret(),
        "atok"
    );
    let e = wait_event(&mut events, |e| {
        matches!(e, ClientEvent::AuthorizerListScanned { .. })
    })
    .await;
    assert_eq!(
        e,
        ClientEvent::AuthorizerListScanned {
            listed: 1,
            restored: 1,
            skipped: 1
        }
    );
    server.verify().await;
}
