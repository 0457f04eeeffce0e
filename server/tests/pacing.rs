//! The background refresher keeps upstream `api_authorizer_token` calls within
//! `refresher.max_refreshes_per_second` when every authorizer is due at once.
//!
//! Deterministic: the server and the fake share a clock on which the refresher's pacing pauses
//! (every wait shorter than a second) pass at once and move the time by exactly their length;
//! nothing else moves it. The fake stamps each call with that clock, so the call log shows when
//! the refresher started each refresh, in simulated time, however slow the machine. Longer
//! waits (the refresher's interval, the engine's lease renewal and token wait) are real tokio
//! sleeps and do not move the clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wxopen_client::{AuthorizationCode, Clock, RetryPolicy};
use wxopen_fake::{Endpoint, FakeConfig, FakeWeChat, PushKind};
use wxopen_server::{config, Server, ServerOptions};

/// Authorizers, all due at once (two pages of the refresher's walk).
const ACCOUNTS: usize = 600;
/// `refresher.max_refreshes_per_second` (1 s / 60 is not a whole number of nanoseconds).
const RATE: usize = 60;
const START: u64 = 1_700_000_000;

/// Simulated time in nanoseconds; a sleep under a second passes at once and moves it.
#[derive(Debug)]
struct PacingClock {
    nanos: AtomicU64,
}

impl PacingClock {
    fn advance(&self, by: Duration) {
        self.nanos
            .fetch_add(u64::try_from(by.as_nanos()).unwrap(), Ordering::SeqCst);
    }
}

impl Clock for PacingClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }

    fn sleep(&self, d: Duration) -> wxopen_client::clock::Sleep {
        if d < Duration::from_secs(1) {
            self.advance(d);
            Box::pin(std::future::ready(()))
        } else {
            Box::pin(tokio::time::sleep(d))
        }
    }
}

fn config_text(fake: &FakeWeChat) -> String {
    format!(
        r#"
[server]
public_listen = "127.0.0.1:0"
internal_listen = "127.0.0.1:0"
store = "memory:"

[refresher]
enabled = true
interval_secs = 1
max_refreshes_per_second = {RATE}

[[component]]
appid = "{}"
appsecret = "{}"
token = "{}"
encoding_aes_key = "{}"
api_base_urls = ["{}", "{}"]
"#,
        fake.component_appid(),
        fake.component_appsecret(),
        fake.token(),
        fake.encoding_aes_key(),
        fake.primary_url(),
        fake.fallback_url(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresher_keeps_authorizer_refreshes_within_the_configured_rate() {
    let clock = Arc::new(PacingClock {
        nanos: AtomicU64::new(START * 1_000_000_000),
    });
    let fake = FakeWeChat::builder()
        .config(FakeConfig::random())
        .shared_clock(clock.clone())
        .start()
        .await
        .unwrap();
    let cfg = config::parse(&config_text(&fake), std::path::Path::new("/")).unwrap();
    let server = Server::bind(
        cfg,
        ServerOptions::default()
            .clock(clock.clone())
            .tune(|c| c.with_retry(RetryPolicy::immediate(1))),
    )
    .await
    .unwrap();

    // A ticket and ACCOUNTS authorized accounts, each with its tokens in the store.
    let client = server.client(fake.component_appid()).unwrap();
    fake.push_ticket()
        .unwrap()
        .deliver_to(&client)
        .await
        .unwrap();
    for i in 0..ACCOUNTS {
        let appid = format!("wxpace{i:012}");
        let push = fake.push_authorized(&appid).unwrap();
        let PushKind::Authorized {
            authorization_code, ..
        } = &push.kind
        else {
            unreachable!()
        };
        client
            .query_auth(&AuthorizationCode::new(authorization_code.clone()))
            .await
            .unwrap();
    }
    // Two hours later every token has expired: all ACCOUNTS are due in the next round.
    clock.advance(Duration::from_secs(7200 + 1));
    fake.reset_counters();

    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(60);
    while fake.calls(Endpoint::AuthorizerToken) < ACCOUNTS {
        assert!(
            Instant::now() < deadline,
            "only {} of {ACCOUNTS} refreshed in 60 s",
            fake.calls(Endpoint::AuthorizerToken)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = tx.send(());
    task.await.unwrap().unwrap();

    // Every account refreshed once, and no simulated second saw more than RATE calls.
    let calls: Vec<u64> = fake
        .call_log()
        .iter()
        .filter(|c| c.endpoint == Some(Endpoint::AuthorizerToken))
        .map(|c| c.at_unix)
        .collect();
    assert_eq!(calls.len(), ACCOUNTS);
    assert_eq!(fake.successes(Endpoint::AuthorizerToken), ACCOUNTS);
    let mut per_second = BTreeMap::<u64, usize>::new();
    for at in &calls {
        *per_second.entry(*at).or_default() += 1;
    }
    let busiest = per_second.values().copied().max().unwrap();
    let first = calls.iter().min().unwrap();
    let last = calls.iter().max().unwrap();
    eprintln!(
        "pacing: {ACCOUNTS} authorizers due, max_refreshes_per_second = {RATE}: {} api_authorizer_token calls over {} simulated seconds ({}..={}), busiest second {busiest}, per second {:?}",
        calls.len(),
        last - first + 1,
        first - START,
        last - START,
        per_second.values().collect::<Vec<_>>()
    );
    assert!(
        busiest <= RATE,
        "{busiest} calls in one second, above {RATE}: {per_second:?}"
    );
    // And it is not slower than it needs to be: it uses the whole rate.
    assert_eq!(busiest, RATE, "{per_second:?}");
    assert!(
        (last - first) as usize >= (ACCOUNTS - 1) / RATE,
        "{per_second:?}"
    );
}
