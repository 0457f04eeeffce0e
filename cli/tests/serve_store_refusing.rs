//! Real `wxopen serve` processes on a store that answers reads but refuses writes (issue 22,
//! item 1): three instances on one real Redis switched to `maxmemory 1` + `noeviction` mid-run
//! (reads work, `SET` answers `OOM`), and two instances on one SQLite file whose write lock
//! another process holds (WAL: readers go on, every write waits out the busy timeout and fails —
//! what a full disk or a read-only file does to writes, without needing root to be refused).
//!
//! The component token is then dead upstream (the fake's clock passes its expiry; the
//! instances' own clocks still see it valid), and every instance's callers do what a service
//! does: get the token, use it upstream once, and on `42001` ask for a compare-and-refresh
//! naming it. Before the fix each instance fetched on its own and every rejection started
//! another fetch (8–13 `api_component_token` calls in 60 s measured on Redis); now no instance
//! fetches without the store's lease, and no refresh answers with the token it was told is dead.
//! Once the store takes writes again, one fetch serves all instances.
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use common::redis::Redis;
use common::*;
use serde_json::{json, Value};
use wxopen_client::ManualClock;
use wxopen_fake::harness;
use wxopen_fake::{Endpoint, FakeConfig, FakeWeChat};

/// Rounds of callers while the store refuses writes (each round: every instance at once).
const ROUNDS: usize = 4;
/// The fake's component token lifetime. The instances refresh a token `refresher.ahead_secs`
/// (15 min) before it expires but never before half its lifetime: due 30 s after it is issued
/// (by the instances' clocks). 60 s is the shortest lifetime the client accepts.
const TTL: u64 = 60;

/// The fake platform with [`TTL`]-second component tokens (see [`common::fake`]).
async fn short_lived_fake() -> FakeWeChat {
    FakeWeChat::builder()
        .config(FakeConfig {
            component_token_ttl: TTL,
            ..FakeConfig::random()
        })
        .clock(ManualClock::new(SystemTime::now()))
        .start()
        .await
        .unwrap()
}

/// `wxopen.toml` for instance `name` on `store`: a short request timeout (a token request on a
/// shared store that cannot take the lease waits for it until then), the refresher off.
fn write_config(dir: &Path, name: &str, fake: &FakeWeChat, key: &str, store: &str) -> String {
    let server = format!(
        "store = {}\nrequest_timeout_ms = 2000",
        harness::toml_string(store)
    );
    let file_name = format!("{name}.toml");
    let file = ConfigFile {
        name: Some(&file_name),
        data_dir: Some(dir.join(name)),
        server: &server,
        component: "",
    };
    write_config_with(dir, &file, fake, key)
        .display()
        .to_string()
}

/// The token an instance serves now (200), or the status it answered instead.
async fn served(
    http: &reqwest::Client,
    s: &Serve,
    fake: &FakeWeChat,
    key: &str,
) -> Result<String, u16> {
    served_with_expiry(http, s, fake, key).await.map(|(t, _)| t)
}

/// [`served`] with the seconds the instance says the token has left.
async fn served_with_expiry(
    http: &reqwest::Client,
    s: &Serve,
    fake: &FakeWeChat,
    key: &str,
) -> Result<(String, u64), u16> {
    let url = s.routes(fake.component_appid()).component_token();
    let a = send(http.get(url).bearer_auth(key)).await;
    if a.status != 200 {
        return Err(a.status);
    }
    let v = a.json();
    let token = v["component_access_token"].as_str().unwrap().to_owned();
    Ok((token, v["expires_in"].as_u64().unwrap()))
}

/// One use of `token` upstream (an API the fake checks the token on); WeChat's `errcode`.
async fn use_upstream(http: &reqwest::Client, fake: &FakeWeChat, token: &str) -> i64 {
    let url = format!(
        "{}/cgi-bin/component/api_create_preauthcode?component_access_token={token}",
        fake.primary_url()
    );
    let a = send(
        http.post(url)
            .json(&json!({ "component_appid": fake.component_appid() })),
    )
    .await;
    let v: Value = a.json();
    v["errcode"].as_i64().unwrap_or(0)
}

/// What one round of callers saw.
#[derive(Debug, Default)]
struct Tally {
    /// Tokens served (200) by the token route.
    served: usize,
    /// Uses WeChat rejected (40001/42001).
    rejected: usize,
    /// Compare-and-refresh answers: 200 with another token, and the non-200 statuses.
    refreshed: usize,
    refused: Vec<u16>,
}

/// Every instance at once: get the token, use it once, compare-and-refresh a rejected one.
/// Panics if a refresh answers 200 with the token it was told is dead.
async fn round(
    http: &reqwest::Client,
    serves: &[Serve],
    fake: &FakeWeChat,
    key: &str,
    tally: &mut Tally,
) {
    let runs = serves.iter().map(|s| async move {
        let mut t = Tally::default();
        let Ok(token) = served(http, s, fake, key).await else {
            return t;
        };
        t.served += 1;
        if matches!(use_upstream(http, fake, &token).await, 40001 | 42001) {
            t.rejected += 1;
            let a = send(
                http.post(s.routes(fake.component_appid()).component_refresh())
                    .bearer_auth(key)
                    .json(&json!({ "stale": token })),
            )
            .await;
            if a.status == 200 {
                let fresh = a.json()["component_access_token"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                assert_ne!(
                    fresh, token,
                    "a compare-and-refresh answered with the dead token"
                );
                t.refreshed += 1;
            } else {
                t.refused.push(a.status);
            }
        }
        t
    });
    for t in futures_util::future::join_all(runs).await {
        tally.served += t.served;
        tally.rejected += t.rejected;
        tally.refreshed += t.refreshed;
        tally.refused.extend(t.refused);
    }
}

/// The part both stores share: the token fetched once while the store takes writes, the
/// store switched to refusing them (`refuse`), the token dead upstream, `ROUNDS` rounds of
/// callers on every instance, then writes allowed again (`allow`) and one refresh per instance
/// naming the dead token at once.
async fn run(
    serves: &[Serve],
    fake: &FakeWeChat,
    key: &str,
    refuse: impl FnOnce(),
    allow: impl FnOnce(),
    what: &str,
) {
    let http = http();
    for s in serves {
        wait_healthy(&http, &s.internal).await;
    }
    let (_, _, a) = push_ticket(&http, &serves[0].routes(fake.component_appid()), fake).await;
    assert_eq!(a.status, 200, "ticket push: {}", a.body);
    let mut first = None;
    for s in serves {
        let t = served(&http, s, fake, key).await.unwrap();
        assert_eq!(
            first.get_or_insert_with(|| t.clone()),
            &t,
            "every instance serves the one token"
        );
    }
    let first = first.unwrap();
    assert_eq!(fake.calls(Endpoint::ComponentToken), 1);

    refuse();
    // Due by the instances' clocks (each request for it now starts a refresh): the token
    // served says it has less than half its lifetime left. Polled, 30 s at most.
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        match served_with_expiry(&http, &serves[0], fake, key).await {
            Ok((_, left)) if left < TTL / 2 => break,
            Ok(_) => {}
            Err(status) => panic!("the still-valid token was not served: {status}"),
        }
        assert!(Instant::now() < deadline, "the token never became due");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // And dead upstream (the fake's clock passes its expiry).
    fake.advance(Duration::from_secs(TTL + 1));
    let mut tally = Tally::default();
    for _ in 0..ROUNDS {
        round(&http, serves, fake, key, &mut tally).await;
    }
    let during = fake.calls(Endpoint::ComponentToken) - 1;
    eprintln!(
        "{what}: {} instances × {ROUNDS} rounds while the store refused writes: {during} \
         api_component_token calls, {} tokens served, {} rejected upstream, {} refreshed, \
         refresh answers {:?}",
        serves.len(),
        tally.served,
        tally.rejected,
        tally.refreshed,
        tally.refused
    );
    assert_eq!(
        during, 0,
        "no instance fetches without the lease on a shared store"
    );
    assert_eq!(
        tally.refreshed, 0,
        "nothing could be stored, so nothing new was served"
    );
    assert!(
        tally.rejected > 0,
        "the callers did use the dead token: {tally:?}"
    );
    assert!(
        tally.refused.iter().all(|s| [503, 408].contains(s)),
        "a refresh that cannot take the lease answers 503 (or the request times out): {tally:?}"
    );

    allow();
    let refreshes = serves.iter().map(|s| {
        let http = http.clone();
        let url = s.routes(fake.component_appid()).component_refresh();
        let body = json!({ "stale": first.clone() });
        let key = key.to_owned();
        async move { send(http.post(url).bearer_auth(key).json(&body)).await }
    });
    let answers = futures_util::future::join_all(refreshes).await;
    let tokens: Vec<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(
                a.status, 200,
                "refresh after the store recovered: {}",
                a.body
            );
            a.json()["component_access_token"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        tokens.iter().all(|t| *t == tokens[0] && *t != first),
        "{tokens:?}"
    );
    assert_eq!(
        use_upstream(&http, fake, &tokens[0]).await,
        0,
        "the new token works"
    );
    assert_eq!(
        fake.calls(Endpoint::ComponentToken),
        2,
        "one fetch for all instances once the store takes writes again"
    );
}

/// Three `wxopen serve` on one Redis at `maxmemory 1` + `noeviction`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server: cargo test -p wxopen-cli --test serve_store_refusing -- --include-ignored (CI runs it)"]
async fn three_instances_on_a_redis_refusing_writes_fetch_nothing_without_the_lease() {
    let dir = temp_dir();
    let redis = Redis::start(dir.path(), false);
    let fake = short_lived_fake().await;
    let key = random_key();
    let serves: Vec<Serve> = ["a", "b", "c"]
        .iter()
        .map(|n| {
            let cfg = write_config(dir.path(), n, &fake, &key, &redis.url());
            Serve::start(Path::new(&cfg), &[], &[])
        })
        .collect();
    let refuse = || {
        assert_eq!(
            redis.command(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]),
            "+OK"
        );
        assert_eq!(redis.command(&["CONFIG", "SET", "maxmemory", "1"]), "+OK");
        // The prerequisite: reads work, writes are refused.
        assert!(redis
            .command(&["SET", "wxopen-probe", "x"])
            .starts_with("-OOM"));
        assert!(redis.command(&["DBSIZE"]).starts_with(':'));
    };
    let allow = || assert_eq!(redis.command(&["CONFIG", "SET", "maxmemory", "0"]), "+OK");
    run(&serves, &fake, &key, refuse, allow, "redis").await;
}

/// Two `wxopen serve` on one SQLite file while another process holds its write lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_a_locked_sqlite_file_fetch_nothing_without_the_lease() {
    let dir = temp_dir();
    let db = dir.path().join("shared.db");
    let store = format!("sqlite://{}", db.display());
    let fake = short_lived_fake().await;
    let key = random_key();
    let serves: Vec<Serve> = ["a", "b"]
        .iter()
        .map(|n| {
            let cfg = write_config(dir.path(), n, &fake, &key, &store);
            Serve::start(Path::new(&cfg), &[], &[])
        })
        .collect();
    let locker = rusqlite::Connection::open(&db).unwrap();
    let refuse = || {
        locker.execute_batch("BEGIN IMMEDIATE").unwrap();
        // The prerequisite: another connection can read, not write.
        let other = rusqlite::Connection::open(&db).unwrap();
        other.busy_timeout(Duration::from_millis(50)).unwrap();
        let n: i64 = other
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert!(n > 0);
        assert!(other.execute_batch("BEGIN IMMEDIATE").is_err());
    };
    let allow = || locker.execute_batch("ROLLBACK").unwrap();
    run(&serves, &fake, &key, refuse, allow, "sqlite").await;
}
