//! The default embedded store: a server restarted on the same data dir keeps the ticket and
//! every refresh token (a SQLite file, reopened).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use wiremock::MockServer;
use wxopen_client::{ManualClock, RetryPolicy};
use wxopen_fake::harness::TempDir;
use wxopen_server::{config, Server, ServerOptions};

async fn run_on(dir: &std::path::Path, upstream: &MockServer) -> (Server, ManualClock) {
    let text = config_text(
        &upstream.uri(),
        &format!("data_dir = \"{}\"", dir.display()),
    )
    .replace("store = \"memory:\"\n", "");
    let cfg = config::parse(&text, std::path::Path::new("/")).unwrap();
    assert!(cfg.store.starts_with("sqlite://"), "{}", cfg.store);
    let clock = ManualClock::at_unix(T0);
    let server = Server::bind(
        cfg,
        ServerOptions::default()
            .clock(Arc::new(clock.clone()))
            .tune(|c| c.with_retry(RetryPolicy::immediate(1))),
    )
    .await
    .unwrap();
    (server, clock)
}

#[tokio::test]
async fn a_restart_on_the_same_data_dir_loses_nothing() {
    let upstream = MockServer::start().await;
    mount_component_token(&upstream, "ctok").await;
    mount_query_auth(&upstream, "wxauthorizer01", "atok-1", "refreshtoken@@@r1").await;
    let temp = TempDir::new("wxopen-restart").unwrap();
    let dir = temp.path().join("data");
    {
        let (server, _clock) = run_on(&dir, &upstream).await;
        let client = server.client(APPID).unwrap();
        client
            .record_ticket(
                wxopen_client::ComponentVerifyTicket::new("ticket@@@kept"),
                T0,
            )
            .await
            .unwrap();
        client
            .query_auth(&wxopen_client::AuthorizationCode::new("queryauthcode@@@c"))
            .await
            .unwrap();
    }
    let (server, _clock) = run_on(&dir, &upstream).await;
    let client = server.client(APPID).unwrap();
    let ticket = client.stored_ticket().await.unwrap().unwrap();
    assert_eq!(ticket.ticket.expose_secret(), "ticket@@@kept");
    let rec = client
        .authorizer_record("wxauthorizer01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rec.refresh_token.unwrap().expose_secret(),
        "refreshtoken@@@r1"
    );
    drop(server);
    assert!(dir.is_dir());
    drop(temp);
    assert!(!dir.exists());
}
