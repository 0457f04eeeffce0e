//! The hand-wired helpers the tests used before [`Scenario`](super::Scenario), kept while the
//! test files move onto it.

use std::sync::Arc;

use wiremock::MockServer;
use wxopen_client::{
    Clock, ComponentClient, ComponentConfig, ManualClock, MemoryStore, TokenStore,
};

use super::{config, push, query_auth_answer, ticket_xml, Upstream, P_QUERY_AUTH, T0};

pub struct Harness {
    pub client: ComponentClient,
    pub clock: ManualClock,
    pub store: Arc<MemoryStore>,
}

pub fn harness_with(config: ComponentConfig) -> Harness {
    let clock = ManualClock::at_unix(T0);
    let store = Arc::new(MemoryStore::new());
    let dyn_store: Arc<dyn TokenStore> = store.clone();
    let client = ComponentClient::builder(config)
        .store(dyn_store)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    Harness {
        client,
        clock,
        store,
    }
}

pub fn harness(servers: &[&MockServer]) -> Harness {
    harness_with(config(servers))
}

pub async fn push_ticket(h: &Harness, ticket: &str, create_time: u64) {
    let (q, body) = push(
        &ticket_xml(ticket, create_time),
        &h.clock.unix_seconds().to_string(),
        "nonce1",
    );
    let ack = h.client.handle_component_push(&q, &body).await.unwrap();
    assert_eq!(ack.reply, "success");
}

pub async fn mount_component_token(server: &MockServer, token: &str, times: u64) {
    server.component_token(token, times).await;
}

pub async fn authorize(
    h: &Harness,
    server: &MockServer,
    authorizer: &str,
    access: &str,
    refresh: &str,
) {
    let answer = query_auth_answer(authorizer, access, refresh);
    let guard = server
        .expect_scoped(1, super::post(P_QUERY_AUTH), answer)
        .await;
    h.client
        .query_auth(&wxopen_client::AuthorizationCode::new("queryauthcode@@@c"))
        .await
        .unwrap();
    drop(guard);
}

pub async fn hits(server: &MockServer, p: &str) -> usize {
    server.hits(p).await
}
