//! Redis faults: redis-server is killed (SIGKILL) and restarted on the same port and
//! directory while a loop refreshes authorizer records through one `RedisStore`.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wxopen_client::store::StoreErrorKind;
use wxopen_client::{
    AuthorizerAccessToken, AuthorizerRecord, AuthorizerRefreshToken, CasOutcome, StoreKey,
    StoredValue, TokenStore,
};
use wxopen_store::{RedisOptions, RedisStore};

const COMPONENT: &str = "wxfaults";
const AUTHORIZERS: usize = 4;
const OUTAGES: usize = 3;

fn key(i: usize) -> StoreKey {
    StoreKey::authorizer(COMPONENT, &format!("wxauth{i}"))
}

fn record(i: usize, n: u64, rt: &str) -> StoredValue {
    StoredValue::Authorizer(AuthorizerRecord {
        access_token: Some(AuthorizerAccessToken::new(format!("at-{i}-{n}"))),
        refresh_token: Some(AuthorizerRefreshToken::new(rt)),
        obtained_at: n,
        refresh_at: n + 6000,
        expires_at: n + 7200,
        authorized_at: 1,
        event_time: 0,
        token_serial: 0,
        func_info: None,
        func_info_removed: Vec::new(),
    })
}

fn refresh_token_of(v: &StoredValue) -> Option<String> {
    match v {
        StoredValue::Authorizer(a) => a
            .refresh_token
            .as_ref()
            .map(|r| r.expose_secret().to_owned()),
        _ => None,
    }
}

#[derive(Default)]
struct Log {
    /// authorizer → (highest acknowledged version, its refresh token).
    acked: HashMap<usize, (u64, String)>,
    writes: usize,
    errors: HashMap<String, usize>,
}

/// Refreshes the records in a loop until `stop`: read, then compare-and-set a new access token
/// (rotating the refresh token every 5th write), like the token engine does.
async fn refresh_loop(store: Arc<RedisStore>, log: Arc<Mutex<Log>>, stop: Arc<AtomicBool>) {
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let i = (n as usize) % AUTHORIZERS;
        let k = key(i);
        let fail = |e: wxopen_client::StoreError| {
            *log.lock()
                .unwrap()
                .errors
                .entry(format!("{:?}", e.kind()))
                .or_default() += 1;
        };
        let cur = match store.get(&k).await {
            Ok(c) => c,
            Err(e) => {
                fail(e);
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let (expected, rt) = match &cur {
            Some(v) => (Some(v.version), refresh_token_of(&v.value).unwrap()),
            None => (None, format!("refreshtoken@@@{i}-0")),
        };
        let rt = if n.is_multiple_of(5) {
            format!("refreshtoken@@@{i}-{n}")
        } else {
            rt
        };
        match store
            .compare_and_set(&k, expected, record(i, n, &rt), None)
            .await
        {
            Ok(CasOutcome::Applied { version }) => {
                let mut l = log.lock().unwrap();
                l.writes += 1;
                l.acked.insert(i, (version, rt));
            }
            Ok(_) => {}
            Err(e) => {
                fail(e);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn check_no_refresh_token_lost(store: &RedisStore, log: &Mutex<Log>) {
    let acked = log.lock().unwrap().acked.clone();
    assert_eq!(acked.len(), AUTHORIZERS);
    for (i, (version, rt)) in acked {
        let got = store.get(&key(i)).await.unwrap().expect("record lost");
        assert!(
            got.version >= version,
            "authorizer {i}: acked {version}, got {}",
            got.version
        );
        let stored_rt = refresh_token_of(&got.value).expect("refresh token lost");
        if got.version == version {
            assert_eq!(stored_rt, rt, "authorizer {i}: refresh token differs");
        }
    }
}

#[ignore = "needs redis-server: cargo test -p wxopen-store --all-features -- --include-ignored (CI runs it)"]
#[test]
fn redis_restart_loses_no_refresh_token_and_the_store_reconnects_by_itself() {
    let Some(mut server) = support::RedisServer::start() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let opts = RedisOptions::default().op_timeout(Duration::from_millis(500));
    let store = Arc::new(
        rt.block_on(RedisStore::connect(&server.url(), opts))
            .unwrap(),
    );
    let log = Arc::new(Mutex::new(Log::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = rt.spawn(refresh_loop(
        Arc::clone(&store),
        Arc::clone(&log),
        Arc::clone(&stop),
    ));
    let mut reconnect_times = Vec::new();
    for outage in 0..OUTAGES {
        // Let the loop write for a while (every authorizer at least once).
        let t = Instant::now();
        while log.lock().unwrap().acked.len() < AUTHORIZERS
            || t.elapsed() < Duration::from_millis(150)
        {
            std::thread::sleep(Duration::from_millis(10));
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "the loop does not write"
            );
        }
        let before = log.lock().unwrap().writes;
        server.kill(); // SIGKILL, in the middle of the loop's writes
                       // While it is down: typed Unavailable errors, from a store call that does not hang.
        for _ in 0..3 {
            let t = Instant::now();
            let e = rt.block_on(store.get(&key(0))).unwrap_err();
            assert_eq!(
                e.kind(),
                StoreErrorKind::Unavailable,
                "outage {outage}: {e}"
            );
            let e = rt
                .block_on(store.compare_and_set(&key(0), None, record(0, 0, "x"), None))
                .unwrap_err();
            assert_eq!(
                e.kind(),
                StoreErrorKind::Unavailable,
                "outage {outage}: {e}"
            );
            assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
        server.restart(); // same port and directory: the AOF is replayed
        let t = Instant::now();
        // The same store reconnects by itself: the loop writes again.
        while log.lock().unwrap().writes <= before + 10 {
            std::thread::sleep(Duration::from_millis(10));
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "the store did not reconnect"
            );
        }
        reconnect_times.push(t.elapsed());
        rt.block_on(check_no_refresh_token_lost(&store, &log));
    }
    stop.store(true, Ordering::SeqCst);
    rt.block_on(writer).unwrap();
    // And once more from a brand-new connection, after a last kill and restart.
    server.restart();
    let fresh = rt
        .block_on(RedisStore::connect(&server.url(), RedisOptions::default()))
        .unwrap();
    rt.block_on(check_no_refresh_token_lost(&fresh, &log));
    let l = log.lock().unwrap();
    println!(
        "redis faults: outages={OUTAGES} acknowledged writes={} errors={:?} reconnect (to 10 more writes)={reconnect_times:?}",
        l.writes, l.errors
    );
    assert!(
        l.errors.keys().all(|k| k == "Unavailable"),
        "every error during an outage must be Unavailable: {:?}",
        l.errors
    );
}
