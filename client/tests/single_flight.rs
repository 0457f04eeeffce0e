//! Many concurrent callers of the same token cause exactly one upstream call.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use wxopen_client::ComponentClient;

/// The component token "ctok-1", fetched exactly once and slowly, so that every caller piles
/// up behind the fetch in flight.
fn one_slow_component_token_fetch() -> Scenario {
    let slow = ctok_answer("ctok-1").set_delay(Duration::from_millis(300));
    Scenario::new()
        .ticket("ticket@@@t")
        .expect(1, post(P_COMPONENT_TOKEN), slow)
}

/// Asks each client for the component token at once; every caller gets "ctok-1".
async fn all_get_ctok_1(clients: impl IntoIterator<Item = ComponentClient>) {
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| tokio::spawn(async move { client.component_access_token().await }))
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().expose_secret(), "ctok-1");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_authorizer_token_callers_one_refresh() {
    let h = Scenario::ready("ctok-1", 1)
        .authorized("wxauthorizer01", "atok-1", "refreshtoken@@@r1")
        .start()
        .await;

    h.verify().await;
    h.server.reset().await;

    // Both tokens expire; every caller now needs the component token (once) and an authorizer
    // refresh (once). The upstream is slow so that all callers pile up behind the one in flight.
    h.clock.advance(Duration::from_secs(7200));
    h.server.component_token("ctok-2", 1).await;
    let slow =
        rotated_atok_answer("atok-2", "refreshtoken@@@r1").set_delay(Duration::from_millis(300));
    h.expect(1, post(P_AUTHORIZER_TOKEN), slow).await;

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
    h.verify().await;
    assert_eq!(h.server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_component_token_callers_one_fetch() {
    let h = one_slow_component_token_fetch().start().await;
    all_get_ctok_1((0..200).map(|_| h.client.clone())).await;
    h.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sharing_a_store_refresh_once() {
    // Two clients (two processes) on one store: the store lease makes the second wait for the
    // first instance's refresh instead of calling upstream again.
    let h = one_slow_component_token_fetch().start().await;
    let other = h.second_client();
    let clients = (0..100).map(|i| {
        if i % 2 == 0 {
            h.client.clone()
        } else {
            other.clone()
        }
    });
    all_get_ctok_1(clients).await;
    h.verify().await;
}
