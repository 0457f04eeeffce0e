//! Graceful shutdown with a request in flight: the request completes with its token, new
//! connections are refused from the moment shutdown begins, and the refresh lease is released,
//! so another instance on the same store refreshes at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};
use wxopen_client::{MemoryStore, StoreKey, TokenStore};
use wxopen_server::config;

const ACCOUNT: &str = "wxauthorizer01";
/// How long WeChat takes to answer the refresh that is in flight during shutdown.
const SLOW: Duration = Duration::from_millis(1500);

fn addr(url: &str) -> std::net::SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

/// Whether a new TCP connection to `a` is refused.
async fn refused(a: std::net::SocketAddr) -> bool {
    matches!(
        tokio::net::TcpStream::connect(a).await,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_request_in_flight_refuses_new_connections_and_releases_the_lease() {
    let upstream = MockServer::start().await;
    mount_component_token(&upstream, "ctok").await;
    mount_query_auth(&upstream, ACCOUNT, "atok-1", "refreshtoken@@@r1").await;
    // The first refresh is slow (it is in flight when shutdown begins); later ones are quick.
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/api_authorizer_token"))
        .respond_with(
            ok_json(json!({"authorizer_access_token": "atok-2", "expires_in": 7200}))
                .set_delay(SLOW),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&upstream)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/api_authorizer_token"))
        .respond_with(ok_json(
            json!({"authorizer_access_token": "atok-3", "expires_in": 7200}),
        ))
        .with_priority(2)
        .mount(&upstream)
        .await;
    let cfg = config::parse(&config_text(&upstream.uri(), ""), std::path::Path::new("/")).unwrap();
    let store = Arc::new(MemoryStore::new());
    let mut s = start_config(cfg.clone(), store.clone()).await;
    assert_eq!(s.push_ticket("ticket@@@t", T0).await.0, 200);
    let done = s
        .http
        .get(format!(
            "{}/wechat/{APPID}/authorized?auth_code=queryauthcode@@@c&expires_in=600",
            s.public
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);

    // A service reports atok-1 rejected: the refresh goes upstream and waits there.
    let refresh = format!("/v1/{APPID}/authorizers/{ACCOUNT}/token/refresh");
    let req = s
        .internal_post(&refresh, KEY)
        .json(&json!({"stale": "atok-1"}));
    let in_flight = tokio::spawn(async move {
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while hits(&upstream, "/cgi-bin/component/api_authorizer_token").await == 0 {
        assert!(Instant::now() < deadline, "the refresh never went upstream");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let lease_key = StoreKey::authorizer(APPID, ACCOUNT);
    assert!(
        !store
            .try_lease(&lease_key, "probe", Duration::from_secs(1))
            .await
            .unwrap(),
        "the refresh in flight holds the lease"
    );

    // Shutdown begins: both listeners stop accepting while the refresh is still upstream.
    let began = Instant::now();
    let (internal, public) = (addr(&s.internal), addr(&s.public));
    s.begin_stop();
    let deadline = began + Duration::from_secs(1);
    while !(refused(internal).await && refused(public).await) {
        assert!(
            Instant::now() < deadline,
            "new connections still accepted 1 s after shutdown began"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let refused_after = began.elapsed();
    assert!(
        !in_flight.is_finished(),
        "the refresh finished before new connections were refused; the test proves nothing"
    );

    // The request in flight completes with its token; then the server stops.
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["authorizer_access_token"], "atok-2");
    s.join().await.unwrap();
    let stopped_after = began.elapsed();

    // The lease is free the moment run() has returned…
    assert!(
        store
            .try_lease(&lease_key, "probe", Duration::from_secs(1))
            .await
            .unwrap(),
        "the refresh lease is still held after a graceful shutdown"
    );
    store.release_lease(&lease_key, "probe").await.unwrap();
    // …so another instance on the same store refreshes at once (a held lease would make it
    // wait for the lease's TTL).
    let second = start_config(cfg, store.clone()).await;
    let t = Instant::now();
    let r = second
        .internal_post(&refresh, KEY)
        .json(&json!({"stale": "atok-2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["authorizer_access_token"], "atok-3");
    let second_refresh = t.elapsed();
    assert!(
        second_refresh < Duration::from_secs(2),
        "the next instance waited {second_refresh:?} for the lease"
    );
    assert_eq!(
        hits(&upstream, "/cgi-bin/component/api_authorizer_token").await,
        2
    );
    second.stop().await;
    eprintln!(
        "shutdown: new connections refused {refused_after:?} after shutdown began; the request in flight answered 200 and the server stopped {stopped_after:?} after it began (upstream took {SLOW:?}); the next instance refreshed in {second_refresh:?}"
    );
}
