//! Retryable failures (-1, HTTP 5xx, timeouts): bounded backoff on the primary, then the
//! fallback domain, then a typed error. Never unbounded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wxopen_client::Error;

async fn ticket_only(h: &Harness) {
    push_ticket(h, "ticket@@@t", T0).await;
}

#[tokio::test]
async fn system_busy_retries_then_api2() {
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    let h = harness(&[&primary, &fallback]);
    ticket_only(&h).await;
    Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(err_json(-1, "system error"))
        .expect(3) // max_attempts_per_host
        .mount(&primary)
        .await;
    mount_component_token(&fallback, "ctok-from-api2", 1).await;
    assert_eq!(
        h.client
            .component_access_token()
            .await
            .unwrap()
            .expose_secret(),
        "ctok-from-api2"
    );
    primary.verify().await;
    fallback.verify().await;
}

#[tokio::test]
async fn http_5xx_retries_then_api2() {
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    let h = harness(&[&primary, &fallback]);
    ticket_only(&h).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&primary)
        .await;
    mount_component_token(&fallback, "ctok-from-api2", 1).await;
    assert_eq!(
        h.client
            .component_access_token()
            .await
            .unwrap()
            .expose_secret(),
        "ctok-from-api2"
    );
    primary.verify().await;
    fallback.verify().await;
}

#[tokio::test]
async fn transient_then_success_stays_on_primary() {
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    let h = harness(&[&primary, &fallback]);
    ticket_only(&h).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&primary)
        .await;
    mount_component_token(&primary, "ctok", 1).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&fallback)
        .await;
    assert_eq!(
        h.client
            .component_access_token()
            .await
            .unwrap()
            .expose_secret(),
        "ctok"
    );
    primary.verify().await;
    fallback.verify().await;
}

#[tokio::test]
async fn timeouts_fail_over_and_everything_down_is_bounded() {
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    let cfg = config(&[&primary, &fallback])
        .with_timeouts(Duration::from_millis(150), Duration::from_millis(150));
    let h = harness_with(cfg);
    ticket_only(&h).await;
    Mock::given(method("POST"))
        .respond_with(err_json(-1, "late").set_delay(Duration::from_secs(5)))
        .expect(3)
        .mount(&primary)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&fallback)
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
    primary.verify().await;
    fallback.verify().await;
}

#[tokio::test]
async fn dead_primary_connection_refused_goes_to_api2() {
    // A port with nothing listening: connect errors are retryable.
    let dead_url = dead_base_url();
    let fallback = MockServer::start().await;
    let cfg = config(&[&fallback])
        .with_base_urls([dead_url, fallback.uri()])
        .unwrap();
    let h = harness_with(cfg);
    ticket_only(&h).await;
    mount_component_token(&fallback, "ctok-from-api2", 1).await;
    assert_eq!(
        h.client
            .component_access_token()
            .await
            .unwrap()
            .expose_secret(),
        "ctok-from-api2"
    );
    fallback.verify().await;
}

#[tokio::test]
async fn transport_error_messages_never_contain_the_token() {
    let dead_url = dead_base_url();
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    ticket_only(&h).await;
    mount_component_token(&server, "ctok-secret-value", 1).await;
    h.client.component_access_token().await.unwrap();
    // Same store, but every API domain is dead now.
    let store: std::sync::Arc<dyn wxopen_client::TokenStore> = h.store.clone();
    let dead_client = wxopen_client::ComponentClient::builder(
        config(&[&server]).with_base_urls([dead_url]).unwrap(),
    )
    .store(store)
    .clock(std::sync::Arc::new(h.clock.clone()))
    .build()
    .unwrap();
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
