//! The event plane under SIGKILL (issue 23): `wxopen serve` (SQLite, `webhook_delivery =
//! "async"`) is killed 50 times at random points of a message load that WeChat plays as it
//! does (`deliver_like_wechat`: 5 s per answer, the same push sent again up to three times),
//! and restarted on the same data directory. Every message that got `success` reaches the
//! webhook once the service runs again; none reaches it that WeChat never sent.
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use wxopen_fake::harness;
use wxopen_fake::{deliver_like_wechat, RetryPlan};

const ACCOUNT: &str = "wxa0e5000000000088";
const KILLS: usize = 50;

/// The contents the webhook took.
async fn delivered(hook: &MockServer) -> BTreeSet<String> {
    hook.received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| {
            let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
            v["message"]["content"].as_str().map(str::to_owned)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_sigkills_lose_no_acknowledged_message() {
    let started = Instant::now();
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    let fake = fake().await;
    let dir = temp_dir();
    let key = random_key();
    let component = format!(
        "webhook_url = {}\nwebhook_secret = \"webhook-secret-0123456789\"\nwebhook_delivery = \"async\"\n",
        harness::toml_string(&format!("{}/hook", hook.uri()))
    );
    let file = ConfigFile {
        component: &component,
        ..ConfigFile::default()
    };
    let config = write_config_with(dir.path(), &file, &fake, &key);
    let http = http();
    let plan = RetryPlan::default()
        .answer_timeout(Duration::from_secs(2))
        .retries(3);
    let mut sent = BTreeSet::new();
    let mut acknowledged = BTreeSet::new();
    let mut n = 0u64;
    for kill in 0..=KILLS {
        let mut s = Serve::start(&config, &[], &[]);
        wait_healthy(&http, &s.internal).await;
        if kill == 0 {
            authorize(&http, &s, &fake, ACCOUNT).await;
        }
        if kill == KILLS {
            // The last one runs on: everything acknowledged must arrive.
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let got = delivered(&hook).await;
                if acknowledged.is_subset(&got) {
                    let unknown: Vec<_> = got.difference(&sent).collect();
                    assert!(unknown.is_empty(), "delivered but never sent: {unknown:?}");
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{} acknowledged messages never delivered",
                    acknowledged.difference(&got).count()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            s.kill9();
            break;
        }
        let callback = s.routes(fake.component_appid()).callback(ACCOUNT);
        // A few messages answered, then one in flight when the process dies.
        let before = kill % 4;
        let mut pushes = Vec::new();
        for _ in 0..=before {
            n += 1;
            let content = format!("m{n}");
            let push = fake
                .push_text_message(ACCOUNT, "ouser88", &content)
                .unwrap();
            sent.insert(content.clone());
            pushes.push((content, push));
        }
        let (last, in_flight) = pushes.pop().unwrap();
        for (content, push) in pushes {
            let d = deliver_like_wechat(&http, &push, &callback, plan).await;
            assert!(d.acknowledged(), "{content}: {d:?}");
            acknowledged.insert(content);
        }
        let (h, url) = (http.clone(), callback.clone());
        let flight = tokio::spawn(async move {
            let d = deliver_like_wechat(&h, &in_flight, &url, plan).await;
            (last, d.acknowledged())
        });
        tokio::time::sleep(Duration::from_millis((kill as u64 * 3) % 7)).await;
        s.kill9();
        let (content, ok) = flight.await.unwrap();
        if ok {
            // Answered before the kill: it was stored before the answer.
            acknowledged.insert(content);
        }
    }
    let got = delivered(&hook).await;
    eprintln!(
        "{KILLS} SIGKILLs: {} messages sent, {} acknowledged, {} delivered, {} lost, in {:.1} s",
        sent.len(),
        acknowledged.len(),
        got.len(),
        acknowledged.difference(&got).count(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        acknowledged.len() >= KILLS,
        "the load was acknowledged: {}",
        acknowledged.len()
    );
}
