//! The event plane on Redis with real processes (issue 23): an instance killed while it holds
//! events in flight hands them over after the visibility timeout, and a Redis restart under a
//! message load (`appendfsync always`) loses no acknowledged message. Both need `redis-server`
//! and are ignored by a plain `cargo test`; CI runs them with `--include-ignored`.
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::redis::Redis;
use common::*;
use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use wxopen_fake::harness;
use wxopen_fake::{deliver_like_wechat, FakeWeChat, RetryPlan};

const ACCOUNTS: [&str; 3] = [
    "wxa0e5000000000101",
    "wxa0e5000000000102",
    "wxa0e5000000000103",
];
/// The webhook timeout of these tests; the visibility timeout is 3 × it, at least 10 s.
const WEBHOOK_TIMEOUT_MS: u64 = 3_000;
const VISIBILITY: Duration = Duration::from_secs(10);

/// The JSON bodies the webhook took, in arrival order.
async fn bodies(hook: &MockServer) -> Vec<Value> {
    hook.received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| serde_json::from_slice(&r.body).ok())
        .collect()
}

fn config(
    dir: &std::path::Path,
    redis: &str,
    hook: &MockServer,
    fake: &FakeWeChat,
    key: &str,
) -> std::path::PathBuf {
    let component = format!(
        "webhook_url = {}\nwebhook_secret = \"webhook-secret-0123456789\"\nwebhook_timeout_ms = {WEBHOOK_TIMEOUT_MS}\nwebhook_delivery = \"async\"\n",
        harness::toml_string(&format!("{}/hook", hook.uri()))
    );
    let server = format!("store = {}", harness::toml_string(redis));
    let file = ConfigFile {
        server: &server,
        component: &component,
        ..ConfigFile::default()
    };
    write_config_with(dir, &file, fake, key)
}

/// Instance A takes every account's first event and is killed while the webhook holds those
/// attempts open. Instance B, started after, does not send them before their visibility
/// timeout ran out, then sends them (attempt 2) and everything behind them, each account in
/// order; nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server: cargo test -p wxopen-cli --test serve_redis_events -- --include-ignored (CI runs it)"]
async fn an_instance_killed_holding_events_hands_them_over_after_the_visibility_timeout() {
    let dir = temp_dir();
    let redis = Redis::start(dir.path(), true);
    let hook = MockServer::start().await;
    // A webhook that holds every request open (longer than the test).
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204).set_delay(Duration::from_secs(300)))
        .mount(&hook)
        .await;
    let fake = fake().await;
    let key = random_key();
    let cfg = config(dir.path(), &redis.url(), &hook, &fake, &key);
    let http = http();
    let mut a = Serve::start(&cfg, &[], &[]);
    wait_healthy(&http, &a.internal).await;
    for account in ACCOUNTS {
        authorize(&http, &a, &fake, account).await;
    }
    let plan = RetryPlan::default()
        .answer_timeout(Duration::from_secs(2))
        .retries(3);
    // Four messages per account at once; no attempt can be claimed before they are sent.
    let sending = Instant::now();
    let mut sends = Vec::new();
    for account in ACCOUNTS {
        for i in 0..4 {
            let content = format!("{account}-m{i}");
            let push = fake.push_text_message(account, "ouser", &content).unwrap();
            let (http, url) = (
                http.clone(),
                a.routes(fake.component_appid()).callback(account),
            );
            sends.push(async move {
                let d = deliver_like_wechat(&http, &push, &url, plan).await;
                assert!(d.acknowledged(), "{content}: {d:?}");
                content
            });
        }
    }
    let acknowledged: BTreeSet<String> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .collect();
    // A has one attempt per account open at the webhook (the accounts' first events), well
    // within its webhook timeout: kill it then.
    let deadline = Instant::now() + Duration::from_secs(20);
    let held: BTreeSet<String> = loop {
        let got = bodies(&hook).await;
        let accounts: BTreeSet<&str> = got
            .iter()
            .filter_map(|j| j["authorizer_appid"].as_str())
            .collect();
        if accounts.len() == ACCOUNTS.len() {
            break got
                .iter()
                .map(|j| j["delivery_id"].as_str().unwrap().to_owned())
                .collect();
        }
        assert!(Instant::now() < deadline, "A never sent: {got:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    a.kill9();
    let held_for = sending.elapsed();
    assert!(
        held_for < Duration::from_millis(WEBHOOK_TIMEOUT_MS),
        "A was killed {held_for:?} after the sends: its attempts may have timed out already"
    );
    let killed_at = Instant::now();
    // The webhook is healthy again; its record starts empty.
    hook.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    let b = Serve::start(&cfg, &[], &[]);
    wait_healthy(&http, &b.internal).await;
    // Before the held attempts' visibility ran out (counted from before A could claim them,
    // so a slow machine only shortens this window) B sends none of them.
    let earliest_expiry = sending + VISIBILITY;
    eprintln!(
        "B up {:.1} s before the earliest possible expiry",
        earliest_expiry
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
    );
    while Instant::now() + Duration::from_millis(200) < earliest_expiry {
        let early: Vec<Value> = bodies(&hook)
            .await
            .into_iter()
            .filter(|j| held.contains(j["delivery_id"].as_str().unwrap_or("")))
            .collect();
        assert!(
            early.is_empty(),
            "sent before its visibility timeout: {early:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Then B takes them over, and every acknowledged message follows.
    let deadline = Instant::now() + Duration::from_secs(90);
    let got = loop {
        let got = bodies(&hook).await;
        let contents: BTreeSet<String> = got
            .iter()
            .filter_map(|j| j["message"]["content"].as_str().map(str::to_owned))
            .collect();
        let ids: BTreeSet<String> = got
            .iter()
            .filter_map(|j| j["delivery_id"].as_str().map(str::to_owned))
            .collect();
        if acknowledged.is_subset(&contents) && held.is_subset(&ids) {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "not delivered: {} messages, {} held events",
            acknowledged.difference(&contents).count(),
            held.difference(&ids).count()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for j in &got {
        if held.contains(j["delivery_id"].as_str().unwrap()) {
            assert!(
                j["attempt"].as_u64().unwrap() >= 2,
                "a taken-over attempt: {j}"
            );
        }
    }
    // Each account in order.
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for j in &got {
        let acc = j["authorizer_appid"].as_str().unwrap();
        let seq = j["sequence"].as_u64().unwrap();
        let prev = last.insert(acc, seq).unwrap_or(0);
        assert!(seq > prev, "{acc}: {seq} after {prev}");
    }
    eprintln!(
        "held {} events in flight at the kill; B sent them {:.1} s after it, {} acknowledged messages delivered, 0 lost",
        held.len(),
        killed_at.elapsed().as_secs_f64(),
        acknowledged.len()
    );
    drop(b);
    drop(redis);
}

/// A Redis with `appendfsync always` is killed (SIGKILL) and restarted on its data while
/// WeChat, as the fake plays it, keeps pushing messages: pushes that found Redis down got no
/// `success` (and were sent again); every one that got `success` reaches the webhook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server: cargo test -p wxopen-cli --test serve_redis_events -- --include-ignored (CI runs it)"]
async fn a_redis_restart_under_load_loses_no_acknowledged_message() {
    const MESSAGES: usize = 60;
    let dir = temp_dir();
    let port = harness::free_port().unwrap();
    let aof = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut redis = Redis::start_on(dir.path(), port, &aof);
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    let fake = Arc::new(fake().await);
    let key = random_key();
    let cfg = config(dir.path(), &redis.url(), &hook, &fake, &key);
    let http = http();
    let s = Serve::start(&cfg, &[], &[]);
    wait_healthy(&http, &s.internal).await;
    let account = ACCOUNTS[0];
    authorize(&http, &s, &fake, account).await;
    let callback = s.routes(fake.component_appid()).callback(account);
    let answered = Arc::new(AtomicUsize::new(0));
    let load = {
        let (fake, http, answered) = (fake.clone(), http.clone(), answered.clone());
        tokio::spawn(async move {
            let plan = RetryPlan::default()
                .answer_timeout(Duration::from_secs(2))
                .retries(3);
            let mut acknowledged = BTreeSet::new();
            let mut refused = 0usize;
            for i in 0..MESSAGES {
                let content = format!("m{i}");
                let push = fake.push_text_message(account, "ouser", &content).unwrap();
                let d = deliver_like_wechat(&http, &push, &callback, plan).await;
                if d.acknowledged() {
                    acknowledged.insert(content);
                } else {
                    refused += 1;
                }
                answered.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            (acknowledged, refused)
        })
    };
    // A third of the way in, Redis dies and comes back on its AOF a second later.
    while answered.load(Ordering::SeqCst) < MESSAGES / 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    redis.kill9();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let redis = Redis::start_on(dir.path(), port, &aof);
    let (acknowledged, refused) = load.await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let delivered = loop {
        let delivered: BTreeSet<String> = bodies(&hook)
            .await
            .iter()
            .filter_map(|j| j["message"]["content"].as_str().map(str::to_owned))
            .collect();
        if acknowledged.is_subset(&delivered) {
            break delivered;
        }
        assert!(
            Instant::now() < deadline,
            "{} acknowledged messages never delivered",
            acknowledged.difference(&delivered).count()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let sent: BTreeSet<String> = (0..MESSAGES).map(|i| format!("m{i}")).collect();
    assert!(delivered.is_subset(&sent), "delivered but never sent");
    assert!(
        acknowledged.len() >= MESSAGES / 2,
        "the load went on after the restart: {} acknowledged",
        acknowledged.len()
    );
    eprintln!(
        "Redis killed and restarted under load: {MESSAGES} messages sent, {} acknowledged, {refused} refused while it was down, {} delivered, 0 lost",
        acknowledged.len(),
        delivered.len()
    );
    drop(s);
    drop(redis);
}
