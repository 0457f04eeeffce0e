//! The token engine's outcomes: one upstream call per refresh whatever it returns, failures
//! remembered by class, bounded work for unknown or revoked accounts, 61023 kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use wiremock::ResponseTemplate;
use wxopen_client::{AuthorizerState, ClientEvent, Error, RevokeReason};

async fn concurrent<F, Fut, T>(n: usize, f: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    futures_util::future::join_all((0..n).map(|_| f())).await
}

/// A ticket, and exactly one component-token fetch answered `answer`.
async fn one_fetch_answered(answer: ResponseTemplate) -> Harness {
    Scenario::new()
        .ticket("ticket@@@t")
        .expect(1, post(P_COMPONENT_TOKEN), answer)
        .start()
        .await
}

/// A ticket, one component-token fetch, and the authorizer list (one page) answered once.
async fn listing(page: ResponseTemplate) -> Harness {
    Scenario::ready("ctok", 1)
        .expect(1, post(P_AUTHORIZER_LIST), page)
        .start()
        .await
}

/// Finding 1 (before: 20 calls): 20 concurrent callers while WeChat answers 45009 → one
/// upstream call, and every caller gets the leader's error.
#[tokio::test]
async fn twenty_callers_share_one_failed_fetch() {
    let quota = err_json(45009, "reach max api daily quota limit");
    let h = one_fetch_answered(quota.set_delay(Duration::from_millis(100))).await;
    let results = concurrent(20, || h.client.component_access_token()).await;
    for r in results {
        let e = r.unwrap_err();
        assert!(e.is_quota() && e.code() == Some(45009), "{e}");
    }
    // Remembered for the daily-quota cool-down: more callers, still one call.
    for r in concurrent(20, || h.client.component_access_token()).await {
        assert_eq!(r.unwrap_err().code(), Some(45009));
    }
    h.verify().await;
}

#[tokio::test]
async fn twenty_callers_share_one_successful_fetch() {
    let h = one_fetch_answered(ctok_answer("ctok").set_delay(Duration::from_millis(100))).await;
    for r in concurrent(20, || h.client.component_access_token()).await {
        assert_eq!(r.unwrap().expose_secret(), "ctok");
    }
    h.verify().await;
}

/// A waiter has a deadline of its own; the refresh goes on and its token is stored.
#[tokio::test]
async fn a_waiter_gives_up_at_its_deadline_and_the_refresh_goes_on() {
    let slow = ctok_answer("ctok-slow").set_delay(Duration::from_millis(600));
    let h = Scenario::new()
        .config(|c| c.with_token_wait(Duration::from_millis(50)))
        .ticket("ticket@@@t")
        .expect(1, post(P_COMPONENT_TOKEN), slow)
        .start()
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
    assert_eq!(h.ctok().await, "ctok-slow");
    h.verify().await;
}

/// Each class is remembered for its own cool-down; a transient failure for seconds.
#[tokio::test]
async fn failures_are_remembered_by_class() {
    for (errcode, cooldown_secs) in [(61004, 300u64), (40125, 300), (-1, 5), (45011, 60)] {
        let h = Scenario::new().ticket("ticket@@@t").start().await;
        let failing = h
            .server
            .allow_scoped(post(P_COMPONENT_TOKEN), err_json(errcode, "failure"))
            .await;
        let first = h.client.component_access_token().await.unwrap_err();
        assert_eq!(first.code(), Some(errcode));
        let calls = h.server.hits(P_COMPONENT_TOKEN).await;
        // -1 is retried within the call's own budget; the cool-down then holds.
        for _ in 0..10 {
            let again = h.client.component_access_token().await.unwrap_err();
            assert_eq!(again.code(), Some(errcode));
        }
        assert_eq!(
            h.server.hits(P_COMPONENT_TOKEN).await,
            calls,
            "{errcode}: cached"
        );
        drop(failing);
        // Past the cool-down (plus its 20 % jitter) the next caller tries again.
        h.clock
            .advance(Duration::from_secs(cooldown_secs + cooldown_secs / 5 + 1));
        h.server.component_token("ctok", 1).await;
        assert_eq!(h.ctok().await, "ctok", "{errcode}");
    }
}

/// A rejected ticket (61006) is remembered until a newer ticket is stored.
#[tokio::test]
async fn a_ticket_failure_lasts_until_a_newer_ticket() {
    let h = Scenario::new().ticket("ticket@@@bad").start().await;
    let rejected = err_json(61006, "component ticket is invalid");
    let bad = h
        .server
        .expect_scoped(1, post(P_COMPONENT_TOKEN), rejected)
        .await;
    for _ in 0..5 {
        let e = h.client.component_access_token().await.unwrap_err();
        assert!(e.is_ticket_problem(), "{e}");
    }
    drop(bad);
    h.server.component_token("ctok", 1).await;
    h.push_ticket("ticket@@@good", T0 + 600).await;
    assert_eq!(h.ctok().await, "ctok");
    h.verify().await;
}

/// Finding 2 (before: 6 list calls for 3 calls, any string accepted): appids are validated,
/// and 1,000 calls for an unknown account cost at most one scan of the authorizer list.
#[tokio::test]
async fn unknown_and_malformed_appids_cost_bounded_work() {
    let h = listing(list_answer(1, &[("wxlisted0000001", "refreshtoken@@@l")])).await;
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
    // The 500 other unknown appids, asked for within the scan interval, wrote nothing (they
    // are remembered in memory, bounded, until the next scan may run; before: a tombstone
    // each).
    for i in (1..1000).step_by(2) {
        let state = h
            .client
            .authorizer_state(&format!("wxunknown{i}"))
            .await
            .unwrap();
        assert!(state.is_none(), "wxunknown{i}: {state:?}");
    }
    assert!(h.client.token_cells() < 50, "{}", h.client.token_cells());
    h.verify().await;
    assert_eq!(h.server.hits(P_AUTHORIZER_TOKEN).await, 0);
}

/// A tombstone is cleared by query_auth.
#[tokio::test]
async fn query_auth_clears_a_tombstone() {
    let h = listing(list_answer(0, &[])).await;
    assert!(h.atok_error("wxauthorizer01").await.must_reauthorize());
    h.authorize("wxauthorizer01", "atok-1", "refreshtoken@@@r1")
        .await;
    assert_eq!(h.atok("wxauthorizer01").await, "atok-1");
}

/// Finding 7 (before: HttpStatus 404, must_reauthorize() false): when recovering a rejected
/// refresh token fails, the error is still must-reauthorize with 61023, the failure its source.
#[tokio::test]
async fn refresh_token_invalid_keeps_its_meaning_when_recovery_fails() {
    let rejected = err_json(61023, "refresh_token is invalid");
    let h = Scenario::expired_authorizer(2, "refreshtoken@@@lost")
        .expect(1, post(P_AUTHORIZER_TOKEN), rejected)
        .start()
        .await;
    let missing = ResponseTemplate::new(404);
    h.server.allow(post(P_AUTHORIZER_LIST), missing).await;
    let e = h.atok_error("wxauthorizer01").await;
    assert!(e.must_reauthorize(), "{e}");
    assert_eq!(e.code(), Some(61023));
    let source = std::error::Error::source(&e).expect("the recovery failure is the source");
    assert!(source.to_string().contains("404"), "{source}");
    // No tombstone for a transient recovery failure: the refresh token is kept.
    assert!(h.record("wxauthorizer01").await.is_some());
}

/// A list entry with an empty refresh token is skipped and reported, not failing the page.
#[tokio::test]
async fn a_list_entry_without_a_refresh_token_is_skipped() {
    let page = [("wxbroken", ""), ("wxauthorizer01", "refreshtoken@@@ok")];
    let h = listing(list_answer(2, &page)).await;
    h.expect(1, post(P_AUTHORIZER_TOKEN), atok_answer("atok"))
        .await;
    let mut events = h.client.subscribe();
    assert_eq!(h.atok("wxauthorizer01").await, "atok");
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
    h.verify().await;
}
