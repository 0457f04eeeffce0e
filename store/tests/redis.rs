//! RedisStore against a real redis-server (one per test): the contract, prefixes, TTLs, errors.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::RedisServer;
use wxopen_client::store::{check_store_contract, StoreErrorKind};
use wxopen_client::{
    AuthorizerRecord, AuthorizerRefreshToken, CasOutcome, ComponentAccessToken,
    ComponentTokenRecord, ComponentVerifyTicket, StoreKey, StoredValue, TicketRecord, TokenStore,
};
use wxopen_store::{open_store, OpenError, RedisOptions, RedisStore};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn ticket(v: &str, create_time: u64) -> StoredValue {
    StoredValue::Ticket(TicketRecord {
        ticket: ComponentVerifyTicket::new(v),
        create_time,
        received_at: create_time,
    })
}

fn authorizer(rt: Option<&str>, expires_at: u64) -> StoredValue {
    StoredValue::Authorizer(AuthorizerRecord {
        access_token: None,
        refresh_token: rt.map(AuthorizerRefreshToken::new),
        obtained_at: 1,
        refresh_at: 2,
        expires_at,
        authorized_at: 1,
        event_time: 0,
        token_serial: 0,
        func_info: None,
        func_info_removed: Vec::new(),
    })
}

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn pttl(server: &RedisServer, key: &str) -> i64 {
    redis::cmd("PTTL")
        .arg(key)
        .query_async(&mut raw(server).await)
        .await
        .unwrap()
}

async fn store(server: &RedisServer, prefix: &str) -> RedisStore {
    RedisStore::connect(&server.url(), RedisOptions::default().prefix(prefix))
        .await
        .unwrap()
}

#[ignore = "needs redis-server: cargo test -p wxopen-store --all-features -- --include-ignored (CI runs it)"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_meets_the_contract() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let s = store(&server, "wxopen").await;
    assert_eq!(check_store_contract(&s, "wxcontract").await, Ok(()));
    assert_eq!(check_store_contract(&s, "wxcontract").await, Ok(()));
    // Debug shows where, never what.
    let dbg = format!("{s:?}");
    assert!(dbg.contains("127.0.0.1") && dbg.contains("wxopen"), "{dbg}");
}

#[ignore = "needs redis-server: cargo test -p wxopen-store --all-features -- --include-ignored (CI runs it)"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixes_isolate_two_deployments_on_one_redis() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = store(&server, "wxopen").await;
    let b = store(&server, "acme-prod").await;
    // The same component appid in both, at the same time: neither sees the other.
    let (ra, rb) = tokio::join!(
        check_store_contract(&a, "wxsame"),
        check_store_contract(&b, "wxsame")
    );
    assert_eq!((ra, rb), (Ok(()), Ok(())));
    let key = StoreKey::ticket("wxsame");
    assert!(matches!(
        a.compare_and_set(&key, None, ticket("for-a", 1), None)
            .await
            .unwrap(),
        CasOutcome::Applied { .. }
    ));
    assert_eq!(b.get(&key).await.unwrap(), None);
    assert!(a
        .try_lease(&key, "h", Duration::from_secs(60))
        .await
        .unwrap());
    assert!(b
        .try_lease(&key, "other", Duration::from_secs(60))
        .await
        .unwrap());
    assert_eq!(a.record_key(&key), "wxopen:{wxsame}:ticket");
    assert_eq!(b.record_key(&key), "acme-prod:{wxsame}:ticket");
    assert_eq!(b.lease_key(&key), "acme-prod:{wxsame}:lease:ticket");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    // (The contract's listing check also writes to a neighbour component, `wxsamex`.)
    for k in &keys {
        assert!(
            k.starts_with("wxopen:{wxsame") || k.starts_with("acme-prod:{wxsame"),
            "{k}"
        );
    }
    // A bad prefix is a config error.
    let e = RedisStore::connect(&server.url(), RedisOptions::default().prefix("a{b}"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::Config);
}

#[ignore = "needs redis-server: cargo test -p wxopen-store --all-features -- --include-ignored (CI runs it)"]
#[tokio::test]
async fn ttls_follow_the_expiry_hint_and_refresh_tokens_never_expire() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let s = store(&server, "wxopen").await;
    let t = now();
    // A ticket: 12 h from CreateTime, plus 12 h of grace for the stale-ticket path.
    let key = StoreKey::ticket("wxc");
    s.compare_and_set(&key, None, ticket("tk", t), None)
        .await
        .unwrap();
    let ttl = pttl(&server, &s.record_key(&key)).await;
    assert!(
        (24 * 3600 - 5) * 1000 < ttl && ttl <= 24 * 3600 * 1000,
        "{ttl}"
    );
    // A component token: its expiry.
    let ckey = StoreKey::component_token("wxc");
    let tok = StoredValue::ComponentToken(ComponentTokenRecord {
        token: ComponentAccessToken::new("cat"),
        obtained_at: t,
        refresh_at: t + 6000,
        expires_at: t + 7200,
    });
    s.compare_and_set(&ckey, None, tok, None).await.unwrap();
    let ttl = pttl(&server, &s.record_key(&ckey)).await;
    assert!((7200 - 5) * 1000 < ttl && ttl <= 7200 * 1000, "{ttl}");
    // An authorizer record without a refresh token expires with its access token ...
    let akey = StoreKey::authorizer("wxc", "wxa");
    let v = match s
        .compare_and_set(&akey, None, authorizer(None, t + 7200), None)
        .await
        .unwrap()
    {
        CasOutcome::Applied { version } => version,
        o => panic!("{o:?}"),
    };
    assert!(pttl(&server, &s.record_key(&akey)).await > 0);
    // ... and once it holds a refresh token it has no TTL at all (PERSIST), even with an
    // access-token expiry in the past.
    s.compare_and_set(
        &akey,
        Some(v),
        authorizer(Some("refreshtoken@@@r"), 1),
        None,
    )
    .await
    .unwrap();
    assert_eq!(pttl(&server, &s.record_key(&akey)).await, -1);
    // A hint already in the past keeps the record for min_ttl (default 60 s), readable.
    let old = StoreKey::ticket("wxold");
    s.compare_and_set(&old, None, ticket("old", 1), None)
        .await
        .unwrap();
    let ttl = pttl(&server, &s.record_key(&old)).await;
    assert!(55_000 < ttl && ttl <= 60_000, "{ttl}");
    assert_eq!(s.get(&old).await.unwrap().unwrap().value, ticket("old", 1));
    // Leases have their TTL, records are untouched by them.
    assert!(s
        .try_lease(&akey, "h", Duration::from_secs(30))
        .await
        .unwrap());
    let lt = pttl(&server, &s.lease_key(&akey)).await;
    assert!(25_000 < lt && lt <= 30_000, "{lt}");
    assert_eq!(pttl(&server, &s.record_key(&akey)).await, -1);
}

#[ignore = "needs redis-server: cargo test -p wxopen-store --all-features -- --include-ignored (CI runs it)"]
#[tokio::test]
async fn listing_pages_in_order_and_forgets_expired_records() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let s = store(&server, "wxopen").await;
    let mut want = Vec::new();
    for i in (0..1_203).rev() {
        let appid = format!("wxa{i:05}");
        s.compare_and_set(
            &StoreKey::authorizer("wxc", &appid),
            None,
            authorizer(Some("refreshtoken@@@r"), 1),
            None,
        )
        .await
        .unwrap();
        want.push(appid);
    }
    want.sort();
    s.compare_and_set(
        &StoreKey::authorizer("wxc0", "wxa00001"),
        None,
        authorizer(Some("refreshtoken@@@r"), 1),
        None,
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s
            .list_authorizers("wxc", after.as_deref(), 500)
            .await
            .unwrap();
        assert!(page.len() <= 500);
        let Some(last) = page.last().cloned() else {
            break;
        };
        got.extend(page);
        after = Some(last);
    }
    assert_eq!(got, want);
    // A deleted record leaves the index with it.
    let key = StoreKey::authorizer("wxc", &want[0]);
    let v = s.get(&key).await.unwrap().unwrap().version;
    assert!(s.compare_and_delete(&key, v).await.unwrap());
    assert_eq!(
        s.list_authorizers("wxc", None, 1).await.unwrap(),
        [want[1].clone()]
    );
    // A record that expired in Redis (no refresh token, TTL) is dropped from the index by the
    // next listing instead of being listed.
    let gone = StoreKey::authorizer("wxc", "wxa");
    s.compare_and_set(&gone, None, authorizer(None, now() + 7200), None)
        .await
        .unwrap();
    assert_eq!(s.list_authorizers("wxc", None, 1).await.unwrap(), ["wxa"]);
    let _: () = redis::cmd("DEL")
        .arg(s.record_key(&gone))
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    assert_eq!(
        s.list_authorizers("wxc", None, 1).await.unwrap(),
        [want[1].clone()]
    );
    let members: i64 = redis::cmd("ZCARD")
        .arg("wxopen:{wxc}:authorizers")
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    assert_eq!(members, 1_202);
}

#[ignore = "needs redis-server: cargo test -p wxopen-store --all-features -- --include-ignored (CI runs it)"]
#[tokio::test]
async fn corrupt_values_are_corrupt_errors() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let s = store(&server, "wxopen").await;
    let key = StoreKey::ticket("wxc");
    let rkey = s.record_key(&key);
    let mut c = raw(&server).await;
    for setup in [
        vec!["HSET", &rkey, "v", "3", "d", "{not json"],
        vec!["HSET", &rkey, "v", "0", "d", "{}"],
        vec!["HSET", &rkey, "v", "3"],
        vec!["SET", &rkey, "a string"],
    ] {
        let _: () = redis::cmd("DEL")
            .arg(&rkey)
            .query_async(&mut c)
            .await
            .unwrap();
        let mut cmd = redis::cmd(setup[0]);
        for a in &setup[1..] {
            cmd.arg(*a);
        }
        let _: redis::Value = cmd.query_async(&mut c).await.unwrap();
        let e = s.get(&key).await.unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Corrupt, "{setup:?}: {e}");
        let e = s
            .compare_and_set(&key, Some(99), ticket("x", 1), None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Corrupt, "{setup:?}: {e}");
    }
}

#[ignore = "needs redis-server: cargo test -p wxopen-store --all-features -- --include-ignored (CI runs it)"]
#[tokio::test]
async fn a_stopped_server_is_unavailable_and_passwords_never_show() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    // Wrong credentials: a config error without the password.
    let url = format!("redis://:hunter2secret@127.0.0.1:{}/", server.port());
    let e = open_store(&url).await.unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("hunter2secret"), "{shown}");
    assert!(
        matches!(&e, OpenError::Store(se) if se.kind() == StoreErrorKind::Config),
        "{shown}"
    );
    // open_store with a prefix.
    let s = open_store(&format!("{}?prefix=acme", server.url()))
        .await
        .unwrap();
    assert!(format!("{s:?}").contains("acme"));
    for bad in ["redis://", "redis://h/?prefix=a%7Bb"] {
        assert!(
            matches!(open_store(bad).await, Err(OpenError::BadUrl { .. })),
            "{bad}"
        );
    }
    #[cfg(not(feature = "redis-tls"))]
    assert!(matches!(
        open_store("rediss://127.0.0.1/").await,
        Err(OpenError::FeatureDisabled {
            feature: "redis-tls",
            ..
        })
    ));
    // The server goes away: typed Unavailable errors, quickly.
    let key = StoreKey::ticket("wxc");
    s.compare_and_set(&key, None, ticket("t", 1), None)
        .await
        .unwrap();
    server.kill();
    let started = std::time::Instant::now();
    let e = s.get(&key).await.unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::Unavailable, "{e}");
    let e = s
        .compare_and_set(&key, None, ticket("u", 2), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::Unavailable, "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Connecting to nothing is Unavailable as well.
    let e = open_store(&server.url()).await.unwrap_err();
    assert!(
        matches!(&e, OpenError::Store(se) if se.kind() == StoreErrorKind::Unavailable),
        "{e}"
    );
    // Back up: the same store reconnects by itself, and the AOF kept the record.
    server.restart();
    let mut got = None;
    for _ in 0..100 {
        if let Ok(v) = s.get(&key).await {
            got = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(got.unwrap().value, ticket("t", 1));
}

#[cfg(feature = "cluster")]
#[ignore = "needs redis-server: cargo test -p wxopen-store --all-features -- --include-ignored (CI runs it)"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_store_meets_the_contract() {
    let Some(cluster) = support::RedisCluster::start() else {
        return;
    };
    let urls = cluster.urls();
    let refs: Vec<&str> = urls.iter().map(String::as_str).collect();
    let s = RedisStore::connect_cluster(&refs, RedisOptions::default())
        .await
        .unwrap();
    // Several components, so the keys land on different slots and nodes.
    for component in ["wxcluster-a", "wxcluster-b", "wxcluster-c", "wxcluster-d"] {
        assert_eq!(
            check_store_contract(&s, component).await,
            Ok(()),
            "{component}"
        );
    }
    // Through open_store too, with a prefix.
    let hosts: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port()))
        .collect();
    let url = format!("redis+cluster://{}?prefix=acme", hosts.join(","));
    let t = open_store(&url).await.unwrap();
    let key = StoreKey::ticket("wxcluster-a");
    let value = ticket("t", now());
    t.compare_and_set(&key, None, value.clone(), None)
        .await
        .unwrap();
    assert_eq!(
        s.get(&key).await.unwrap(),
        None,
        "prefix isolates on the cluster too"
    );
    assert_eq!(t.get(&key).await.unwrap().unwrap().value, value);
}

#[ignore = "needs redis-server: cargo test -p wxopen-store --all-features -- --include-ignored (CI runs it)"]
#[tokio::test]
async fn versions_stay_exact_and_never_go_back_if_the_counter_key_is_lost() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let s = store(&server, "wxopen").await;
    let key = StoreKey::ticket("wxc");
    let mut c = raw(&server).await;
    // A counter far above 2^53 stays exact (it is passed as text, never as a Lua number).
    let _: () = redis::cmd("SET")
        .arg("wxopen:{wxc}:version")
        .arg("123456789012345678")
        .query_async(&mut c)
        .await
        .unwrap();
    let v = match s
        .compare_and_set(&key, None, ticket("a", 1), None)
        .await
        .unwrap()
    {
        CasOutcome::Applied { version } => version,
        o => panic!("{o:?}"),
    };
    assert_eq!(v, 123_456_789_012_345_679);
    assert_eq!(s.get(&key).await.unwrap().unwrap().version, v);
    // The counter is lost (deleted): the next version is still above the record's.
    let _: () = redis::cmd("DEL")
        .arg("wxopen:{wxc}:version")
        .query_async(&mut c)
        .await
        .unwrap();
    match s
        .compare_and_set(&key, Some(v), ticket("b", 2), None)
        .await
        .unwrap()
    {
        CasOutcome::Applied { version } => assert!(version > v, "{version} <= {v}"),
        o => panic!("{o:?}"),
    }
    // A record deleted, the counter lost, the record written again: a caller still holding the
    // old version cannot compare-and-set on the new record (no ABA), because the new version is
    // above every version issued before.
    let key = StoreKey::ticket("wxd");
    let counter = "wxopen:{wxd}:version";
    let mut last = 0;
    for i in 0..3 {
        let cur = s.get(&key).await.unwrap().map(|v| v.version);
        match s
            .compare_and_set(&key, cur, ticket("c", 10 + i), None)
            .await
            .unwrap()
        {
            CasOutcome::Applied { version } => last = version,
            o => panic!("{o:?}"),
        }
    }
    assert!(s.compare_and_delete(&key, last).await.unwrap());
    let _: () = redis::cmd("DEL")
        .arg(counter)
        .query_async(&mut c)
        .await
        .unwrap();
    let again = match s
        .compare_and_set(&key, None, ticket("d", 20), None)
        .await
        .unwrap()
    {
        CasOutcome::Applied { version } => version,
        o => panic!("{o:?}"),
    };
    assert!(again > last, "version went back: {again} <= {last}");
    assert!(!matches!(
        s.compare_and_set(&key, Some(last), ticket("stale", 30), None)
            .await
            .unwrap(),
        CasOutcome::Applied { .. }
    ));
}

#[ignore = "needs redis-server: cargo test -p wxopen-store --all-features -- --include-ignored (CI runs it)"]
#[tokio::test]
async fn append_only_is_read_from_info_persistence() {
    let Some(with_aof) = RedisServer::start() else {
        return;
    };
    let Some(without) = RedisServer::start_with(&["--appendonly", "no"]) else {
        return;
    };
    assert_eq!(
        wxopen_store::redis_append_only(&with_aof.url())
            .await
            .unwrap(),
        Some(true)
    );
    assert_eq!(
        wxopen_store::redis_append_only(&format!("{}?prefix=acme", without.url()))
            .await
            .unwrap(),
        Some(false)
    );
    assert_eq!(
        store(&without, "wxopen").await.append_only().await.unwrap(),
        Some(false)
    );
    // Other stores: nothing to check.
    for url in ["memory:", "sqlite:///nonexistent/x.db"] {
        assert_eq!(wxopen_store::redis_append_only(url).await.unwrap(), None);
    }
}

#[ignore = "needs redis-server: cargo test -p wxopen-store --all-features -- --include-ignored (CI runs it)"]
#[tokio::test]
async fn js_tickets_expire_with_their_record_and_stay_out_of_the_authorizer_index() {
    use wxopen_client::{JsTicket, JsTicketRecord, JsTicketType};
    let server = RedisServer::start().expect("redis-server is needed for this test");
    let s = store(&server, "wxopen").await;
    let t = now();
    s.compare_and_set(
        &StoreKey::authorizer("wxc", "wxa"),
        None,
        authorizer(Some("refreshtoken@@@r"), t + 7200),
        None,
    )
    .await
    .unwrap();
    let key = StoreKey::js_ticket("wxc", "wxa", JsTicketType::Jsapi);
    let value = StoredValue::JsTicket(JsTicketRecord {
        ticket: JsTicket::new("jt"),
        obtained_at: t,
        refresh_at: t + 6600,
        expires_at: t + 7200,
    });
    s.compare_and_set(&key, None, value.clone(), None)
        .await
        .unwrap();
    assert_eq!(s.get(&key).await.unwrap().map(|v| v.value), Some(value));
    assert_eq!(s.record_key(&key), "wxopen:{wxc}:js_ticket:jsapi:wxa");
    let ttl = pttl(&server, &s.record_key(&key)).await;
    assert!((7200 - 5) * 1000 < ttl && ttl <= 7200 * 1000, "{ttl}");
    assert_eq!(
        s.list_authorizers("wxc", None, 10).await.unwrap(),
        vec!["wxa".to_owned()]
    );
}
