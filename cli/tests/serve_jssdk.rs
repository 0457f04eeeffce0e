//! Three real `wxopen serve` processes on one SQLite file, against a FakeWeChat in the test
//! process: 20 concurrent `POST …/jssdk/config` callers on each process → one `getticket`
//! (the store lease across processes, the outcome shared within each), and every signature
//! returned verifies at the fake (over the account's *current* ticket) for the authorized
//! account's appid, and fails for the component's.
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;
use wxopen_fake::GETTICKET;

const ACCOUNT: &str = "wx0fa00000000000a1";
const PAGE: &str = "https://shop.example/item?id=7#reviews";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_callers_on_three_processes_cause_one_getticket() {
    let fake = fake().await;
    let dir = temp_dir();
    let key = random_key();
    let config = write_config(dir.path(), &fake, &key);
    let serves: Vec<Serve> = (0..3).map(|_| Serve::start(&config, &[], &[])).collect();
    let http = http();
    for s in &serves {
        wait_healthy(&http, &s.internal).await;
    }
    authorize(&http, &serves[0], &fake, ACCOUNT).await;
    fake.reset_counters();

    let component = fake.component_appid().to_owned();
    let calls = serves.iter().flat_map(|s| {
        let url = format!(
            "{}/v1/{component}/authorizers/{ACCOUNT}/jssdk/config",
            s.internal
        );
        (0..20).map(move |_| url.clone())
    });
    let handles: Vec<_> = calls
        .map(|url| {
            let req = http
                .post(url)
                .bearer_auth(&key)
                .json(&json!({ "url": PAGE }));
            tokio::spawn(async move { send(req).await })
        })
        .collect();
    let mut answers = Vec::new();
    for h in handles {
        answers.push(h.await.unwrap());
    }
    assert_eq!(answers.len(), 60);
    assert_eq!(
        fake.calls(GETTICKET),
        1,
        "one getticket for 60 callers on 3 processes"
    );

    let verify = |app_id: &str, v: &serde_json::Value| {
        http.post(format!("{}/fake/jssdk/verify", fake.primary_url()))
            .json(&json!({
                "appid": app_id,
                "url": PAGE,
                "timestamp": v["timestamp"],
                "nonceStr": v["nonceStr"],
                "signature": v["signature"],
            }))
    };
    for a in &answers {
        assert_eq!(a.status, 200, "{}", a.body);
        let v = a.json();
        assert_eq!(v["appId"], ACCOUNT);
        assert_eq!(send(verify(ACCOUNT, &v)).await.json()["valid"], true, "{v}");
        assert_eq!(
            send(verify(&component, &v)).await.json()["valid"],
            false,
            "a signature valid for the component's appid"
        );
    }
    // Hosts that sign themselves read the same ticket from any process.
    for s in &serves {
        let t = send(
            http.get(format!(
                "{}/v1/{component}/authorizers/{ACCOUNT}/jssdk/ticket",
                s.internal
            ))
            .bearer_auth(&key),
        )
        .await;
        assert_eq!(t.status, 200);
        assert_eq!(
            t.json()["ticket"].as_str(),
            fake.js_ticket(ACCOUNT, "jsapi").as_deref()
        );
    }
    assert_eq!(fake.calls(GETTICKET), 1);
}
