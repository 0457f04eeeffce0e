//! Many processes, one store: 3 OS processes (this test binary re-run as workers) × 30
//! concurrent callers share one store (the SQLite file, then Redis) and one wiremock upstream.
//! Every token is expired when they start, together (each worker has a `ManualClock` at the
//! same instant and waits for the parent's go), so all 90 callers need both tokens at once →
//! exactly 1 `api_component_token` and 1 `api_authorizer_token` call in all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use support::{worker_command, worker_role};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wxopen_client::{
    AuthorizerAccessToken, AuthorizerRecord, AuthorizerRefreshToken, ComponentClient,
    ComponentConfig, ComponentVerifyTicket, Jitter, ManualClock, RetryPolicy, StoreKey,
    StoredValue, TicketRecord, TokenStore,
};

const APPID: &str = "wxmanyprocesses";
const AUTHORIZER: &str = "wxauthorizermany";
const T0: u64 = 1_700_000_000;
const PROCESSES: usize = 3;
const CALLERS: usize = 30;
const P_COMPONENT_TOKEN: &str = "/cgi-bin/component/api_component_token";
const P_AUTHORIZER_TOKEN: &str = "/cgi-bin/component/api_authorizer_token";

fn config(upstream: &str) -> ComponentConfig {
    ComponentConfig::new(
        APPID,
        "component-secret",
        "msg-token",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    )
    .with_base_urls([upstream])
    .unwrap()
    .with_retry(RetryPolicy {
        max_attempts_per_host: 2,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
    })
    .with_refresh(Duration::from_secs(600), Jitter::None)
    .with_timeouts(Duration::from_secs(5), Duration::from_secs(1))
    .with_lease(Duration::from_secs(30), Duration::from_secs(10))
}

/// The worker: 30 concurrent callers, after the parent says go.
async fn worker() {
    let upstream = std::env::var("WXOPEN_MANY_UPSTREAM").unwrap();
    let store_url = std::env::var("WXOPEN_MANY_STORE").unwrap();
    {
        let store = wxopen_store::open_store(&store_url).await.unwrap();
        let client = ComponentClient::builder(config(&upstream))
            .store(store)
            .clock(Arc::new(ManualClock::at_unix(T0)))
            .build()
            .unwrap();
        println!("\nREADY");
        tokio::task::spawn_blocking(|| {
            let mut go = String::new();
            std::io::stdin().read_line(&mut go).unwrap();
        })
        .await
        .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..CALLERS {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let c = client.component_access_token().await;
                let a = client.authorizer_access_token(AUTHORIZER).await;
                (c, a)
            }));
        }
        for t in tasks {
            match t.await.unwrap() {
                (Ok(c), Ok(a)) => println!("OK {} {}", c.expose_secret(), a.expose_secret()),
                (c, a) => println!("ERR {:?} {:?}", c.err(), a.err()),
            }
        }
    }
}

async fn seed(store: &dyn TokenStore) {
    let ticket = StoredValue::Ticket(TicketRecord {
        ticket: ComponentVerifyTicket::new("ticket@@@many"),
        create_time: T0 - 60,
        received_at: T0 - 60,
    });
    store
        .compare_and_set(&StoreKey::ticket(APPID), None, ticket, None)
        .await
        .unwrap();
    // An authorizer whose access token expired; its refresh token is good.
    let auth = StoredValue::Authorizer(AuthorizerRecord {
        access_token: Some(AuthorizerAccessToken::new("atok-old")),
        refresh_token: Some(AuthorizerRefreshToken::new("refreshtoken@@@many")),
        obtained_at: T0 - 7300,
        refresh_at: T0 - 700,
        expires_at: T0 - 100,
        authorized_at: T0 - 7300,
        event_time: 0,
        token_serial: 0,
        func_info: None,
        func_info_removed: Vec::new(),
    });
    store
        .compare_and_set(&StoreKey::authorizer(APPID, AUTHORIZER), None, auth, None)
        .await
        .unwrap();
}

/// Runs the 3 workers against `store_url` (seeded through `store`); returns the upstream's call
/// counts (component token, authorizer token) and every caller's line.
async fn run(test: &str, store_url: &str, store: &dyn TokenStore) -> (usize, usize, Vec<String>) {
    seed(store).await;
    let upstream = MockServer::start().await;
    // Slow answers, so that every caller of every process piles up behind the one fetch.
    Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"component_access_token": "ctok-new", "expires_in": 7200}))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&upstream)
        .await;
    Mock::given(method("POST"))
        .and(path(P_AUTHORIZER_TOKEN))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "authorizer_access_token": "atok-new",
                    "expires_in": 7200,
                    "authorizer_refresh_token": "refreshtoken@@@many"
                }))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&upstream)
        .await;
    let envs = [
        ("WXOPEN_MANY_UPSTREAM", upstream.uri()),
        ("WXOPEN_MANY_STORE", store_url.to_owned()),
    ];
    let test = test.to_owned();
    let lines = tokio::task::spawn_blocking(move || {
        let mut children: Vec<_> = (0..PROCESSES)
            .map(|_| {
                let mut cmd = worker_command(&test, "many", &envs);
                cmd.stdin(std::process::Stdio::piped());
                cmd.spawn().unwrap()
            })
            .collect();
        // Wait until every worker is ready, then let them all go at once.
        let mut readers: Vec<_> = children
            .iter_mut()
            .map(|c| BufReader::new(c.stdout.take().unwrap()))
            .collect();
        for r in &mut readers {
            let mut line = String::new();
            loop {
                line.clear();
                assert!(r.read_line(&mut line).unwrap() > 0, "worker exited early");
                if line.trim_end().ends_with("READY") {
                    break;
                }
            }
        }
        for c in &mut children {
            c.stdin.take().unwrap().write_all(b"go\n").unwrap();
        }
        let mut lines = Vec::new();
        for (c, r) in children.iter_mut().zip(readers) {
            for line in r.lines() {
                let line = line.unwrap();
                if line.starts_with("OK ") || line.starts_with("ERR ") {
                    lines.push(line);
                }
            }
            assert!(c.wait().unwrap().success(), "a worker failed");
        }
        lines
    })
    .await
    .unwrap();
    let reqs = upstream.received_requests().await.unwrap();
    let count = |p: &str| reqs.iter().filter(|r| r.url.path() == p).count();
    (count(P_COMPONENT_TOKEN), count(P_AUTHORIZER_TOKEN), lines)
}

fn assert_one_call_each(what: &str, (component, authorizer, lines): (usize, usize, Vec<String>)) {
    println!(
        "{what}: {PROCESSES} processes x {CALLERS} callers: api_component_token={component} \
         api_authorizer_token={authorizer} callers answered={}",
        lines.len()
    );
    assert_eq!(lines.len(), PROCESSES * CALLERS);
    for l in &lines {
        assert_eq!(l, "OK ctok-new atok-new");
    }
    assert_eq!((component, authorizer), (1, 1));
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_on_one_sqlite_file_make_one_call_per_token() {
    const NAME: &str = "three_processes_on_one_sqlite_file_make_one_call_per_token";
    match worker_role().as_deref() {
        Some("many") => return worker().await,
        Some(_) => return,
        None => {}
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("many.db");
    let store = wxopen_store::SqliteStore::open(&db).unwrap();
    let url = format!("sqlite://{}", db.display());
    assert_one_call_each("sqlite", run(NAME, &url, &store).await);
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server: cargo test -p wxopen-store --all-features -- --include-ignored (CI runs it)"]
async fn three_processes_on_one_redis_make_one_call_per_token() {
    const NAME: &str = "three_processes_on_one_redis_make_one_call_per_token";
    match worker_role().as_deref() {
        Some("many") => return worker().await,
        Some(_) => return,
        None => {}
    }
    let Some(server) = support::RedisServer::start() else {
        return;
    };
    let store = wxopen_store::RedisStore::connect(&server.url(), Default::default())
        .await
        .unwrap();
    assert_one_call_each("redis", run(NAME, &server.url(), &store).await);
}
