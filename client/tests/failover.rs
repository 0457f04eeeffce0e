//! Retryable failures (-1, HTTP 5xx, timeouts): bounded backoff on the primary, then the
//! fallback domain, then a typed error. Never unbounded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use wiremock::{MockBuilder, ResponseTemplate};
use wxopen_client::Error;

/// A primary and a fallback domain, and a ticket.
fn two_domains() -> Scenario {
    Scenario::new().with_fallback().ticket("ticket@@@t")
}

/// The component token comes from the fallback domain, each domain's mocks met exactly.
async fn served_by_api2(h: Harness) {
    assert_eq!(h.ctok().await, "ctok-from-api2");
    h.verify().await;
}

/// The primary answers `req` with `answer` for all its 3 attempts (max_attempts_per_host);
/// then the fallback domain serves the token.
async fn fails_over(req: MockBuilder, answer: ResponseTemplate) {
    let h = two_domains()
        .expect(3, req, answer)
        .on_fallback()
        .component_token("ctok-from-api2", 1)
        .start()
        .await;
    served_by_api2(h).await;
}

#[tokio::test]
async fn system_busy_retries_then_api2() {
    fails_over(post(P_COMPONENT_TOKEN), err_json(-1, "system error")).await;
}

#[tokio::test]
async fn http_5xx_retries_then_api2() {
    fails_over(any_post(), ResponseTemplate::new(502)).await;
}

#[tokio::test]
async fn transient_then_success_stays_on_primary() {
    let h = two_domains()
        .in_turn([
            (any_post(), ResponseTemplate::new(503)),
            (post(P_COMPONENT_TOKEN), ctok_answer("ctok")),
        ])
        .on_fallback()
        .expect(0, any_post(), ResponseTemplate::new(500))
        .start()
        .await;
    assert_eq!(h.ctok().await, "ctok");
    h.verify().await;
}

#[tokio::test]
async fn timeouts_fail_over_and_everything_down_is_bounded() {
    let late = err_json(-1, "late").set_delay(Duration::from_secs(5));
    let h = two_domains()
        .config(|c| c.with_timeouts(Duration::from_millis(150), Duration::from_millis(150)))
        .expect(3, any_post(), late)
        .on_fallback()
        .expect(3, any_post(), ResponseTemplate::new(500))
        .start()
        .await;
    let started = std::time::Instant::now();
    let err = h.client.component_access_token().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    match &err {
        Error::HttpStatus {
            status: 500,
            attempts: 6,
            ..
        } => {}
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());
    h.verify().await;
}

#[tokio::test]
async fn dead_primary_connection_refused_goes_to_api2() {
    // A port with nothing listening: connect errors are retryable.
    let h = Scenario::new()
        .dead_primary()
        .ticket("ticket@@@t")
        .component_token("ctok-from-api2", 1)
        .start()
        .await;
    served_by_api2(h).await;
}

#[tokio::test]
async fn transport_error_messages_never_contain_the_token() {
    let dead_url = dead_base_url();
    let h = Scenario::ready("ctok-secret-value", 1).start().await;
    h.client.component_access_token().await.unwrap();
    // Same store, but every API domain is dead now.
    let dead_client = h.client_with(h.config.clone().with_base_urls([dead_url]).unwrap());
    let err = dead_client
        .authorizer_info("wxauthorizer01")
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        matches!(err, Error::Transport { attempts: 3, .. }),
        "{text}"
    );
    assert!(!text.contains("ctok-secret-value"), "{text}");
}
