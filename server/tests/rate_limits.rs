//! The authorization routes' rate limits (issue 22, item 2), in process on the manual clock:
//! each anonymous `GET …/authorize` costs an `api_create_preauthcode` and each
//! `GET …/authorized` an `api_query_auth`, so one client address and one component get a
//! bucket each; refusals are a bilingual 429 page with `Retry-After`, counted by reason; an
//! `auth_code` not shaped like WeChat's is refused before any call. One test runs on a socket:
//! the listener gives each request its peer address.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::http::Method;
use common::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

const PREAUTH: &str = "/cgi-bin/component/api_create_preauthcode";
const QUERY_AUTH: &str = "/cgi-bin/component/api_query_auth";

async fn upstream() -> MockServer {
    let upstream = MockServer::start().await;
    mount_component_token(&upstream, "ctok").await;
    Mock::given(method("POST"))
        .and(path(PREAUTH))
        .respond_with(ok_json(
            json!({"pre_auth_code": "preauthcode@@@abc", "expires_in": 600}),
        ))
        .mount(&upstream)
        .await;
    upstream
}

async fn authorize(s: &App, peer: &str) -> Answer {
    s.public(Method::GET, &format!("/wechat/{APPID}/authorize"))
        .peer(peer)
        .send()
        .await
}

fn limited(s: &App, route: &str, reason: &str) -> u64 {
    s.metrics.counter(
        "wxopen_rate_limited_total",
        &[("route", route), ("reason", reason)],
    )
}

#[tokio::test]
async fn two_hundred_anonymous_authorize_requests_cost_one_bucket_of_upstream_calls() {
    // The probe of issue 22: 200 anonymous GET /authorize from one address cost 200
    // api_create_preauthcode calls. With the defaults (10 at once, 20 a minute) they cost 10.
    let upstream = upstream().await;
    let s = in_process(&upstream).await;
    s.push_ticket("ticket@@@t", T0).await;
    let mut statuses = std::collections::BTreeMap::new();
    let mut last = None;
    for _ in 0..200 {
        let a = authorize(&s, "198.51.100.7:40000").await;
        *statuses.entry(a.status).or_insert(0) += 1;
        last = Some(a);
    }
    assert_eq!(statuses.get(&200), Some(&10), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&190), "{statuses:?}");
    assert_eq!(hits(&upstream, PREAUTH).await, 10);
    assert_eq!(limited(&s, "authorize", "client"), 190);
    let last = last.unwrap();
    // 20 a minute: the next token in 3 s.
    assert_eq!(last.header("retry-after"), "3");
    assert!(last.header("content-type").starts_with("text/html"));
    assert!(!last.header("x-request-id").is_empty());
    let html = last.text();
    assert!(
        html.contains("请求过于频繁") && html.contains("Too many requests") && html.contains("3"),
        "{html}"
    );
    // The bucket refills on the service's clock.
    s.clock.advance(Duration::from_secs(3));
    assert_eq!(authorize(&s, "198.51.100.7:40001").await.status, 200);
    assert_eq!(authorize(&s, "198.51.100.7:40002").await.status, 429);
    assert_eq!(hits(&upstream, PREAUTH).await, 11);
}

#[tokio::test]
async fn one_address_is_limited_alone_until_the_component_bucket_is_empty() {
    let upstream = upstream().await;
    let s = in_process_with(
        &upstream,
        "[rate_limit]\nper_client_burst = 5\nper_client_per_minute = 5\nper_component_burst = 8\nper_component_per_minute = 8",
    )
    .await;
    s.push_ticket("ticket@@@t", T0).await;
    // N + 1 from one address: the last is refused with Retry-After; WeChat saw N.
    for i in 0..5 {
        assert_eq!(authorize(&s, "192.0.2.1:1000").await.status, 200, "{i}");
    }
    let refused = authorize(&s, "192.0.2.1:1000").await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("retry-after"), "12");
    assert_eq!(hits(&upstream, PREAUTH).await, 5);
    // Another address is not affected, until the component's bucket (8) is empty.
    for i in 0..3 {
        assert_eq!(authorize(&s, "192.0.2.2:1000").await.status, 200, "{i}");
    }
    let refused = authorize(&s, "192.0.2.2:1000").await;
    assert_eq!(refused.status, 429);
    assert_eq!(hits(&upstream, PREAUTH).await, 8);
    assert_eq!(limited(&s, "authorize", "client"), 1);
    assert_eq!(limited(&s, "authorize", "component"), 1);
    // The other component has its own bucket.
    let other = s
        .public(Method::GET, &format!("/wechat/{OTHER}/authorize"))
        .peer("192.0.2.3:1000")
        .send()
        .await;
    // It reached the handler (which has no ticket for that component: 503), not a bucket.
    assert_eq!(other.status, 503);
    assert_eq!(limited(&s, "authorize", "component"), 1);
    // The redirect route shares the buckets: this address and this component are spent.
    let r = s
        .public(
            Method::GET,
            &format!("/wechat/{APPID}/authorized?auth_code=queryauthcode@@@c&expires_in=600"),
        )
        .peer("192.0.2.4:1000")
        .send()
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(limited(&s, "authorized", "component"), 1);
    assert_eq!(hits(&upstream, QUERY_AUTH).await, 0);
}

#[tokio::test]
async fn forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    let upstream = upstream().await;
    let s = in_process_with(
        &upstream,
        "[rate_limit]\nper_client_burst = 2\ntrusted_proxies = [\"10.0.0.0/8\"]",
    )
    .await;
    s.push_ticket("ticket@@@t", T0).await;
    let via = |proxy: &'static str, client: &'static str| {
        s.public(Method::GET, &format!("/wechat/{APPID}/authorize"))
            .peer(proxy)
            .header("x-forwarded-for", client)
    };
    // Behind the trusted proxy, each forwarded client has its own bucket.
    for client in ["198.51.100.1", "198.51.100.2"] {
        for _ in 0..2 {
            assert_eq!(via("10.0.0.5:443", client).send().await.status, 200);
        }
        assert_eq!(via("10.0.0.5:443", client).send().await.status, 429);
    }
    // An untrusted peer cannot pick a fresh bucket by writing the header.
    for (i, client) in ["198.51.100.3", "198.51.100.4", "198.51.100.5"]
        .into_iter()
        .enumerate()
    {
        let want = if i < 2 { 200 } else { 429 };
        assert_eq!(via("203.0.113.9:5000", client).send().await.status, want);
    }
}

#[tokio::test]
async fn junk_auth_codes_are_refused_before_any_call() {
    let upstream = upstream().await;
    let s = in_process(&upstream).await;
    s.push_ticket("ticket@@@t", T0).await;
    for (i, code) in [
        "junk",
        "x",
        "queryauthcode%40%40%40",
        "queryauthcode%40%40%40a%3Cb",
    ]
    .into_iter()
    .enumerate()
    {
        let r = s
            .public(
                Method::GET,
                &format!("/wechat/{APPID}/authorized?auth_code={code}&expires_in=600"),
            )
            .peer(&format!("192.0.2.{}:1", i + 1))
            .send()
            .await;
        assert_eq!(r.status, 400, "{code}");
    }
    assert_eq!(hits(&upstream, QUERY_AUTH).await, 0);
}

#[tokio::test]
async fn a_request_without_a_peer_address_has_only_the_component_bucket() {
    // Routers called in process carry no ConnectInfo (the listeners always add it).
    let upstream = upstream().await;
    let s = in_process_with(
        &upstream,
        "[rate_limit]\nper_client_burst = 2\nper_component_burst = 4",
    )
    .await;
    s.push_ticket("ticket@@@t", T0).await;
    for i in 0..4 {
        let a = s.public_get(&format!("/wechat/{APPID}/authorize")).await;
        assert_eq!(a.status, 200, "{i}");
    }
    let a = s.public_get(&format!("/wechat/{APPID}/authorize")).await;
    assert_eq!(a.status, 429);
    assert_eq!(limited(&s, "authorize", "component"), 1);
    assert_eq!(hits(&upstream, PREAUTH).await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_gives_each_request_its_peer_address() {
    // On a socket (the one thing in-process calls cannot show): the per-client bucket applies.
    let upstream = upstream().await;
    let s = start_with(
        &upstream,
        "[rate_limit]\nper_client_burst = 2\nper_component_burst = 100",
    )
    .await;
    assert_eq!(s.push_ticket("ticket@@@t", T0).await.0, 200);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = s
            .http
            .get(format!("{}/wechat/{APPID}/authorize", s.public))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
    assert_eq!(
        s.metrics.counter(
            "wxopen_rate_limited_total",
            &[("route", "authorize"), ("reason", "client")]
        ),
        1
    );
    s.stop().await;
}
