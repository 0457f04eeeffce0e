//! SqliteStore: the contract, open errors, sharing one file.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use wxopen_client::store::{check_store_contract, StoreErrorKind};
use wxopen_client::{
    AuthorizerRecord, AuthorizerRefreshToken, CasOutcome, ComponentVerifyTicket, StoreKey,
    StoredValue, TicketRecord, TokenStore,
};
use wxopen_store::{open_store, OpenError, SqliteStore};

fn ticket(v: &str) -> StoredValue {
    StoredValue::Ticket(TicketRecord {
        ticket: ComponentVerifyTicket::new(v),
        create_time: 1,
        received_at: 1,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("wxopen.db")).unwrap();
    assert_eq!(check_store_contract(&store, "wxcontract").await, Ok(()));
    // Again in the same namespace (the check cleans up after itself).
    assert_eq!(check_store_contract(&store, "wxcontract").await, Ok(()));
    // And through a second store on the same file.
    let again = SqliteStore::open(dir.path().join("wxopen.db")).unwrap();
    assert_eq!(check_store_contract(&again, "wxcontract").await, Ok(()));
    assert!(!format!("{store:?}").contains("ticket"));
}

#[tokio::test]
async fn reopened_store_keeps_records_and_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wxopen.db");
    let key = StoreKey::authorizer("wxc", "wxa");
    let value = StoredValue::Authorizer(AuthorizerRecord {
        access_token: None,
        refresh_token: Some(AuthorizerRefreshToken::new("refreshtoken@@@keep-me")),
        obtained_at: 1,
        refresh_at: 2,
        expires_at: 3,
        authorized_at: 1,
        event_time: 0,
        token_serial: 0,
        func_info: None,
        func_info_removed: Vec::new(),
    });
    let v1 = {
        let s = SqliteStore::open(&path).unwrap();
        match s
            .compare_and_set(&key, None, value.clone(), None)
            .await
            .unwrap()
        {
            CasOutcome::Applied { version } => version,
            o => panic!("{o:?}"),
        }
    };
    let s = SqliteStore::open(&path).unwrap();
    let got = s.get(&key).await.unwrap().unwrap();
    assert_eq!((got.version, got.value), (v1, value.clone()));
    // Versions keep growing after a reopen (the counter is in the file).
    match s
        .compare_and_set(&key, Some(v1), value, None)
        .await
        .unwrap()
    {
        CasOutcome::Applied { version } => assert!(version > v1),
        o => panic!("{o:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_see_each_others_writes_and_leases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = SqliteStore::open(&path).unwrap();
    let b = SqliteStore::open(&path).unwrap();
    let key = StoreKey::ticket("wxc");
    let va = match a
        .compare_and_set(&key, None, ticket("from-a"), None)
        .await
        .unwrap()
    {
        CasOutcome::Applied { version } => version,
        o => panic!("{o:?}"),
    };
    let seen = b.get(&key).await.unwrap().unwrap();
    assert_eq!((seen.version, seen.value), (va, ticket("from-a")));
    // b's insert conflicts with a's record; b's update at a's version applies.
    assert!(matches!(
        b.compare_and_set(&key, None, ticket("from-b"), None).await.unwrap(),
        CasOutcome::Conflict { current: Some(c) } if c.version == va
    ));
    let vb = match b
        .compare_and_set(&key, Some(va), ticket("from-b"), None)
        .await
        .unwrap()
    {
        CasOutcome::Applied { version } => version,
        o => panic!("{o:?}"),
    };
    assert_ne!(va, vb);
    assert_eq!(a.get(&key).await.unwrap().unwrap().value, ticket("from-b"));
    // Leases are shared too.
    let ttl = Duration::from_secs(60);
    assert!(a.try_lease(&key, "holder-a", ttl).await.unwrap());
    assert!(!b.try_lease(&key, "holder-b", ttl).await.unwrap());
    assert!(matches!(
        b.compare_and_set(&key, Some(vb), ticket("x"), Some("holder-b"))
            .await
            .unwrap(),
        CasOutcome::LeaseLost
    ));
    assert!(matches!(
        b.compare_and_set(&key, Some(vb), ticket("y"), Some("holder-a"))
            .await
            .unwrap(),
        CasOutcome::Applied { .. }
    ));
    a.release_lease(&key, "holder-a").await.unwrap();
    assert!(b.try_lease(&key, "holder-b", ttl).await.unwrap());
    // Concurrent writers on both stores at one version: exactly one wins.
    let cur = a.get(&key).await.unwrap().unwrap().version;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            s.compare_and_set(&key, Some(cur), ticket(&format!("r{i}")), None)
                .await
                .unwrap()
        }));
    }
    let mut applied = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), CasOutcome::Applied { .. }) {
            applied += 1;
        }
    }
    assert_eq!(applied, 1);
}

fn open_kind(path: &std::path::Path) -> (StoreErrorKind, String) {
    let e = SqliteStore::open(path).unwrap_err();
    (e.kind(), e.to_string())
}

#[test]
fn missing_directory_is_a_config_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let (kind, msg) = open_kind(&missing.join("wxopen.db"));
    assert_eq!(kind, StoreErrorKind::Config, "{msg}");
    assert!(msg.contains("does not exist"), "{msg}");
    assert!(!missing.exists());
}

#[test]
fn a_missing_file_in_an_existing_directory_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    SqliteStore::open(&path).unwrap();
    assert!(path.is_file());
}

#[test]
fn a_directory_path_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let (kind, msg) = open_kind(dir.path());
    assert_eq!(kind, StoreErrorKind::Config, "{msg}");
}

#[test]
fn read_only_file_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    drop(SqliteStore::open(&path).unwrap());
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms).unwrap();
    let (kind, msg) = open_kind(&path);
    assert_eq!(kind, StoreErrorKind::Config, "{msg}");
    assert!(msg.contains("read-only"), "{msg}");
}

#[test]
fn a_file_that_is_not_a_database_is_corrupt_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        (
            "text.db",
            b"this is not a database, just some text\n".repeat(100),
        ),
        ("zeros.db", vec![0u8; 8192]),
        ("header.db", {
            // A real header followed by garbage pages.
            let mut v = b"SQLite format 3\0".to_vec();
            v.extend(std::iter::repeat_n(0xA5u8, 8192));
            v
        }),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let (kind, msg) = open_kind(&path);
        assert_eq!(kind, StoreErrorKind::Corrupt, "{name}: {msg}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} was modified");
    }
}

#[test]
fn a_schema_newer_than_the_code_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.db");
    drop(SqliteStore::open(&path).unwrap());
    {
        let conn = rusqlite_conn(&path);
        conn.execute(
            "UPDATE wxopen_schema SET version = ?1",
            [wxopen_store::SCHEMA_VERSION + 1],
        )
        .unwrap();
    }
    let (kind, msg) = open_kind(&path);
    assert_eq!(kind, StoreErrorKind::Config, "{msg}");
    assert!(msg.contains("newer"), "{msg}");
    // The file was not changed: the version is still the newer one.
    let conn = rusqlite_conn(&path);
    let v: i64 = conn
        .query_row("SELECT version FROM wxopen_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, wxopen_store::SCHEMA_VERSION + 1);
}

#[tokio::test]
async fn a_corrupt_row_is_a_corrupt_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.db");
    let store = SqliteStore::open(&path).unwrap();
    let key = StoreKey::ticket("wxc");
    store
        .compare_and_set(&key, None, ticket("ticket@@@secret"), None)
        .await
        .unwrap();
    for (value, version) in [
        ("{not json", 7i64),
        ("{\"format\":99,\"value\":{}}", 7),
        ("{\"format\":1,\"value\":{\"kind\":\"ticket\"}}", 7),
    ] {
        rusqlite_conn(&path)
            .execute(
                "UPDATE wxopen_records SET value = ?1, version = ?2",
                rusqlite::params![value, version],
            )
            .unwrap();
        let e = store.get(&key).await.unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Corrupt, "{e}");
        // A write over a corrupt row reports it as well (the conflict carries the record).
        let e = store
            .compare_and_set(&key, Some(1), ticket("x"), None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Corrupt, "{e}");
        // The corrupt record can still be replaced at its version, or deleted.
        assert!(store.compare_and_delete(&key, 7).await.unwrap());
        store
            .compare_and_set(&key, None, ticket("ticket@@@secret"), None)
            .await
            .unwrap();
    }
}

fn rusqlite_conn(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[tokio::test]
async fn open_store_urls() {
    let dir = tempfile::tempdir().unwrap();
    let abs = dir.path().join("abs.db");
    let s: Arc<dyn TokenStore> = open_store(&format!("sqlite://{}", abs.display()))
        .await
        .unwrap();
    assert!(format!("{s:?}").contains("SqliteStore"));
    assert!(abs.is_file());
    let other = dir.path().join("other.db");
    open_store(&format!("sqlite:{}", other.display()))
        .await
        .unwrap();
    assert!(other.is_file());
    assert!(format!("{:?}", open_store("memory:").await.unwrap()).contains("MemoryStore"));

    let missing = dir.path().join("missing/x.db");
    match open_store(&format!("sqlite://{}", missing.display())).await {
        Err(OpenError::Store(e)) => assert_eq!(e.kind(), StoreErrorKind::Config),
        other => panic!("{other:?}"),
    }
    for bad in ["", "nothing", "sqlite:", "sqlite://", "memory:/x"] {
        assert!(
            matches!(open_store(bad).await, Err(OpenError::BadUrl { .. })),
            "{bad}"
        );
    }
    assert!(matches!(
        open_store("postgres://u:pw@h/db").await,
        Err(OpenError::UnsupportedScheme { .. })
    ));
    #[cfg(not(feature = "redis"))]
    {
        let e = open_store("redis://:hunter2@127.0.0.1/").await.unwrap_err();
        assert!(matches!(
            e,
            OpenError::FeatureDisabled {
                feature: "redis",
                ..
            }
        ));
        assert!(!format!("{e} {e:?}").contains("hunter2"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_pages_through_every_authorizer_of_one_component_only() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path().join("wxopen.db")).unwrap();
    let record = |rt: &str| {
        StoredValue::Authorizer(AuthorizerRecord {
            access_token: None,
            refresh_token: Some(AuthorizerRefreshToken::new(rt)),
            obtained_at: 1,
            refresh_at: 2,
            expires_at: 3,
            authorized_at: 1,
            event_time: 0,
            token_serial: 0,
            func_info: None,
            func_info_removed: Vec::new(),
        })
    };
    let mut want = Vec::new();
    for i in (0..1_203).rev() {
        let appid = format!("wxa{i:05}");
        s.compare_and_set(
            &StoreKey::authorizer("wxc", &appid),
            None,
            record("r"),
            None,
        )
        .await
        .unwrap();
        want.push(appid);
    }
    want.sort();
    // Neighbours that share a prefix must not show up: another component, the scan record,
    // the ticket.
    for other in ["wxc0", "wxb", "wxd"] {
        s.compare_and_set(
            &StoreKey::authorizer(other, "wxa00001"),
            None,
            record("r"),
            None,
        )
        .await
        .unwrap();
    }
    s.compare_and_set(&StoreKey::ticket("wxc"), None, ticket("t"), None)
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
    assert_eq!(
        s.list_authorizers("wxnone", None, 10).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        s.list_authorizers("wxc", None, 0).await.unwrap(),
        Vec::<String>::new()
    );
    // A deleted record leaves the listing.
    let key = StoreKey::authorizer("wxc", &want[0]);
    let v = s.get(&key).await.unwrap().unwrap().version;
    assert!(s.compare_and_delete(&key, v).await.unwrap());
    assert_eq!(
        s.list_authorizers("wxc", None, 1).await.unwrap(),
        [want[1].clone()]
    );
}

/// Turns a new file back into what schema 1 created: no claims (v2), no event log (v3).
const SCHEMA_1: &str = "DROP TABLE wxopen_claims; DROP TABLE wxopen_events; \
                        DROP TABLE wxopen_event_counters; UPDATE wxopen_schema SET version = 1;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_1_file_is_migrated_and_keeps_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let key = StoreKey::ticket("wxc");
    drop(SqliteStore::open(&path).unwrap());
    {
        // Turn the new file back into what schema 1 created, with one record in it.
        let conn = rusqlite_conn(&path);
        conn.execute_batch(SCHEMA_1).unwrap();
    }
    let v = {
        let s = SqliteStore::open(&path).unwrap();
        match s
            .compare_and_set(&key, None, ticket("kept"), None)
            .await
            .unwrap()
        {
            CasOutcome::Applied { version } => version,
            o => panic!("{o:?}"),
        }
    };
    {
        let conn = rusqlite_conn(&path);
        conn.execute_batch(SCHEMA_1).unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    let got = s.get(&key).await.unwrap().unwrap();
    assert_eq!((got.version, got.value), (v, ticket("kept")));
    assert!(s
        .claim_once("wxc", "m1", Duration::from_secs(60))
        .await
        .unwrap());
    assert!(!s
        .claim_once("wxc", "m1", Duration::from_secs(60))
        .await
        .unwrap());
    let conn = rusqlite_conn(&path);
    let version: i64 = conn
        .query_row("SELECT version FROM wxopen_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, wxopen_store::SCHEMA_VERSION);
    let events: i64 = conn
        .query_row("SELECT count(*) FROM wxopen_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        events, 0,
        "the event log's tables were created by the migration"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_claims_are_swept_so_the_table_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claims.db");
    let s = SqliteStore::open(&path).unwrap();
    for i in 0..200 {
        assert!(s
            .claim_once("wxc", &format!("m{i}"), Duration::from_millis(1))
            .await
            .unwrap());
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    for i in 0..10 {
        assert!(s
            .claim_once("wxc", &format!("live{i}"), Duration::from_secs(60))
            .await
            .unwrap());
    }
    let rows: i64 = rusqlite_conn(&path)
        .query_row("SELECT COUNT(*) FROM wxopen_claims", [], |r| r.get(0))
        .unwrap();
    // 10 claims sweep up to 320 expired ones: only the live ten are left.
    assert_eq!(rows, 10);
}

/// Reads use their own connection: while another process holds the write lock (a long write
/// transaction, a checkpoint), a token read still answers at once with the last committed
/// value, and a write made through the store is visible to the next read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_answer_while_another_process_holds_the_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wxopen.db");
    let store = SqliteStore::open(&path).unwrap();
    let key = StoreKey::ticket("wxc");
    let v1 = match store
        .compare_and_set(&key, None, ticket("t1"), None)
        .await
        .unwrap()
    {
        CasOutcome::Applied { version } => version,
        other => panic!("{other:?}"),
    };
    let got = store.get(&key).await.unwrap().unwrap();
    assert_eq!((got.version, got.value), (v1, ticket("t1")));

    let other = rusqlite_conn(&path);
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let read = tokio::time::timeout(Duration::from_secs(2), store.get(&key)).await;
    let got = read
        .expect("a read waited for the writer")
        .unwrap()
        .unwrap();
    assert_eq!(got.value, ticket("t1"));
    other.execute_batch("COMMIT").unwrap();

    let v2 = match store
        .compare_and_set(&key, Some(v1), ticket("t2"), None)
        .await
        .unwrap()
    {
        CasOutcome::Applied { version } => version,
        other => panic!("{other:?}"),
    };
    let got = store.get(&key).await.unwrap().unwrap();
    assert_eq!((got.version, got.value), (v2, ticket("t2")));
}

/// Leases and claims are timed by the injected clock (the client's), not the system clock: with
/// a `ManualClock` standing still, a lease never lapses; moved past its TTL, it does — no sleep.
#[tokio::test]
async fn leases_and_claims_follow_the_injected_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = wxopen_client::ManualClock::at_unix(1_700_000_000);
    let options = wxopen_store::SqliteOptions::default().clock(Arc::new(clock.clone()));
    let store = SqliteStore::open_with(dir.path().join("wxopen.db"), options).unwrap();
    let key = StoreKey::component_token("wxclock");
    let ttl = Duration::from_secs(30);
    assert!(store.try_lease(&key, "a", ttl).await.unwrap());
    assert!(!store.try_lease(&key, "b", ttl).await.unwrap());
    clock.advance(Duration::from_secs(29));
    assert!(
        !store.try_lease(&key, "b", ttl).await.unwrap(),
        "29 s of a 30 s lease"
    );
    assert!(store.extend_lease(&key, "a", ttl).await.unwrap());
    clock.advance(Duration::from_secs(31));
    assert!(
        !store.extend_lease(&key, "a", ttl).await.unwrap(),
        "lapsed on the clock"
    );
    assert!(store.try_lease(&key, "b", ttl).await.unwrap());
    // A fenced write checks the lease on the same clock.
    let write = store
        .compare_and_set(&key, None, ticket("t"), Some("a"))
        .await
        .unwrap();
    assert_eq!(write, CasOutcome::LeaseLost);
    // Claims too.
    assert!(store.claim_once("wxclock", "m1", ttl).await.unwrap());
    assert!(!store.claim_once("wxclock", "m1", ttl).await.unwrap());
    clock.advance(Duration::from_secs(31));
    assert!(store.claim_once("wxclock", "m1", ttl).await.unwrap());
}

/// A new database file — and the WAL file SQLite creates beside it — is the owner's only (0600):
/// tokens and refresh tokens are stored in clear.
#[cfg(unix)]
#[tokio::test]
async fn a_new_database_and_its_wal_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wxopen.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .compare_and_set(&StoreKey::ticket("wxmode"), None, ticket("t"), None)
        .await
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("wxopen.db-wal")), 0o600);
}

#[tokio::test]
async fn js_tickets_live_in_the_same_table_outside_the_authorizer_listing() {
    use wxopen_client::{AuthorizerAccessToken, JsTicket, JsTicketRecord, JsTicketType};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wxopen.db");
    let value = StoredValue::JsTicket(JsTicketRecord {
        ticket: JsTicket::new("jt"),
        obtained_at: 1,
        refresh_at: 6601,
        expires_at: u64::MAX / 2,
    });
    let key = StoreKey::js_ticket("wxc", "wxa", JsTicketType::WxCard);
    {
        let s = SqliteStore::open(&path).unwrap();
        let account = StoredValue::Authorizer(AuthorizerRecord {
            access_token: Some(AuthorizerAccessToken::new("at")),
            refresh_token: Some(AuthorizerRefreshToken::new("refreshtoken@@@r")),
            ..AuthorizerRecord::default()
        });
        s.compare_and_set(&StoreKey::authorizer("wxc", "wxa"), None, account, None)
            .await
            .unwrap();
        s.compare_and_set(&key, None, value.clone(), None)
            .await
            .unwrap();
    }
    // Reopened (no migration): the record is there, and listing accounts does not see it.
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.get(&key).await.unwrap().map(|v| v.value), Some(value));
    assert_eq!(
        s.list_authorizers("wxc", None, 10).await.unwrap(),
        vec!["wxa".to_owned()]
    );
}
