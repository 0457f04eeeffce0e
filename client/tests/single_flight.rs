//! Many concurrent callers of the same token cause exactly one upstream call.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_authorizer_token_callers_one_refresh() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    mount_component_token(&server, "ctok-1", 1).await;
    authorize(&h, &server, "wxauthorizer01", "atok-1", "refreshtoken@@@r1").await;

    server.verify().await;
    server.reset().await;

    // Both tokens expire; every caller now needs the component token (once) and an authorizer
    // refresh (once). The upstream is slow so that all callers pile up behind the one in flight.
    h.clock.advance(Duration::from_secs(7200));
    mount_component_token(&server, "ctok-2", 1).await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .respond_with(
            ok_json(json!({
                "authorizer_access_token": "atok-2",
                "expires_in": 7200,
                "authorizer_refresh_token": "refreshtoken@@@r1"
            }))
            .set_delay(Duration::from_millis(300)),
        )
        .expect(1)
        .mount(&server)
        .await;

    let mut tasks = Vec::new();
    for _ in 0..200 {
        let client = h.client.clone();
        tasks.push(tokio::spawn(async move {
            client.authorizer_access_token("wxauthorizer01").await
        }));
    }
    for t in tasks {
        let token = t.await.unwrap().unwrap();
        assert_eq!(token.expose_secret(), "atok-2");
    }
    server.verify().await;
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_component_token_callers_one_fetch() {
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(
            ok_json(json!({"component_access_token": "ctok-1", "expires_in": 7200}))
                .set_delay(Duration::from_millis(300)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let client = h.client.clone();
        tasks.push(tokio::spawn(async move {
            client.component_access_token().await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().expose_secret(), "ctok-1");
    }
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sharing_a_store_refresh_once() {
    // Two clients (two processes) on one store: the store lease makes the second wait for the
    // first instance's refresh instead of calling upstream again.
    let server = MockServer::start().await;
    let h = harness(&[&server]);
    push_ticket(&h, "ticket@@@t", T0).await;
    let store: std::sync::Arc<dyn wxopen_client::TokenStore> = h.store.clone();
    let other = wxopen_client::ComponentClient::builder(config(&[&server]))
        .store(store)
        .clock(std::sync::Arc::new(h.clock.clone()))
        .build()
        .unwrap();
    Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(
            ok_json(json!({"component_access_token": "ctok-1", "expires_in": 7200}))
                .set_delay(Duration::from_millis(300)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut tasks = Vec::new();
    for i in 0..100 {
        let client = if i % 2 == 0 {
            h.client.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            client.component_access_token().await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().expose_secret(), "ctok-1");
    }
    server.verify().await;
}
