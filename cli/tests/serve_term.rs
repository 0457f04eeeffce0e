//! SIGTERM to the real `wxopen serve` while a refresh waits on WeChat: the request in flight is
//! answered with its token, the process exits 0, and the lease is released in the SQLite file,
//! so the restarted process refreshes the same account at once (a lease left behind would make
//! it wait for the lease's TTL, 90 s).
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use wxopen_client::StoreKey;
use wxopen_fake::{Endpoint, Fault, FaultRule};

const ACCOUNT: &str = "wxa7e0000000000001";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_refresh_in_flight_and_releases_its_lease() {
    let fake = fake().await;
    let dir = temp_dir();
    let key = random_key();
    let config = write_config(dir.path(), &fake, &key);
    let http = http();
    let mut s = Serve::start(&config, &[], &[]);
    wait_healthy(&http, &s.internal).await;
    authorize(&http, &s, &fake, ACCOUNT).await;
    let refresh = |s: &Serve, stale: &str| {
        http.post(s.routes(fake.component_appid()).authorizer_refresh(ACCOUNT))
            .bearer_auth(&key)
            .json(&json!({ "stale": stale }))
    };

    // A refresh waits on WeChat (1 s) when SIGTERM arrives.
    let stale = fake.authorizer_access_token(ACCOUNT).unwrap();
    fake.inject(
        FaultRule::new(Fault::Delay(Duration::from_secs(1)))
            .on(Endpoint::AuthorizerToken)
            .times(1),
    );
    let req = refresh(&s, &stale);
    let in_flight = tokio::spawn(async move { send(req).await });
    let deadline = Instant::now() + Duration::from_secs(5);
    while fake.calls(Endpoint::AuthorizerToken) == 0 {
        assert!(Instant::now() < deadline, "the refresh never went upstream");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let status = tokio::task::spawn_blocking(move || {
        let status = s.terminate();
        (s, status)
    });
    let a = in_flight.await.unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    let fresh = a.json()["authorizer_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(fresh, stale);
    let (s, exit) = status.await.unwrap();
    assert!(exit.success(), "{exit:?}: {:?}", s.stderr_lines());
    assert!(
        s.stdout_lines().iter().any(|l| l.contains("stopped")),
        "{:?}",
        s.stdout_lines()
    );
    drop(s);
    // The lease row is gone from the SQLite file.
    let store = wxopen_store::open_store(&store_url(dir.path()))
        .await
        .unwrap();
    let key = StoreKey::authorizer(fake.component_appid(), ACCOUNT);
    assert!(
        store
            .try_lease(&key, "probe", Duration::from_secs(1))
            .await
            .unwrap(),
        "the refresh lease is still held after a graceful shutdown"
    );
    store.release_lease(&key, "probe").await.unwrap();
    drop(store);

    // Restarted on the same data dir: the next refresh of that account goes out at once.
    let s = Serve::start(&config, &[], &[]);
    wait_healthy(&http, &s.internal).await;
    let t = Instant::now();
    let a = tokio::time::timeout(Duration::from_secs(5), send(refresh(&s, &fresh)))
        .await
        .expect("the refresh after the restart waited for a lease left behind");
    let took = t.elapsed();
    assert_eq!(a.status, 200, "{}", a.body);
    assert_ne!(a.json()["authorizer_access_token"], fresh.as_str());
    assert_eq!(fake.calls(Endpoint::AuthorizerToken), 2);
    eprintln!("serve_term: the in-flight refresh answered 200 during SIGTERM, exit 0; after the restart the next refresh took {took:?}");
}
