//! `SqliteEventLog`: the event-log contract, what survives a reopen, two logs (two processes'
//! worth of writers) on one file, and group commit (concurrent appends share transactions).
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use wxopen_client::store::event_log::Appended;
use wxopen_client::store::{check_event_log_contract, sample_event, EventFilter, EventLog};
use wxopen_store::{EventLogOptions, SqliteEventLog, SqliteStore};

fn open(dir: &std::path::Path) -> SqliteEventLog {
    let store = SqliteStore::open(dir.join("wxopen.db")).unwrap();
    SqliteEventLog::open(&store, EventLogOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_event_log_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(open(dir.path()));
    check_event_log_contract(log.clone(), "wxcontract")
        .await
        .unwrap();
    check_event_log_contract(log, "wxcontract2").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appended_events_survive_a_reopen_and_duplicates_stay_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let log = open(dir.path());
        let e = sample_event("wxc", "wxa", "msg-1", 1_700_000_000_000);
        let Appended::New { id, .. } = log.append(&e).await.unwrap() else {
            panic!("new")
        };
        log.set_reply("wxc", id, "<xml>r</xml>").await.unwrap();
        id
    };
    let log = open(dir.path());
    let got = log.get("wxc", id).await.unwrap().unwrap();
    assert_eq!(
        got.event,
        sample_event("wxc", "wxa", "msg-1", 1_700_000_000_000)
    );
    assert_eq!(got.reply.as_deref(), Some("<xml>r</xml>"));
    match log
        .append(&sample_event("wxc", "wxa", "msg-1", 1_700_000_000_500))
        .await
        .unwrap()
    {
        Appended::Duplicate(e) => {
            assert_eq!((e.id, e.reply.as_deref()), (id, Some("<xml>r</xml>")))
        }
        other => panic!("{other:?}"),
    }
    let Appended::New { sequence, .. } = log
        .append(&sample_event("wxc", "wxa", "msg-2", 1_700_000_001_000))
        .await
        .unwrap()
    else {
        panic!("new")
    };
    assert_eq!(sequence, 2);
}

/// Two logs on one file (as two processes have): concurrent appends of the same delivery ids
/// land once each, ids and sequences stay unique.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_on_one_file_store_each_delivery_id_once() {
    let dir = tempfile::tempdir().unwrap();
    let a: Arc<dyn EventLog> = Arc::new(open(dir.path()));
    let b: Arc<dyn EventLog> = Arc::new(open(dir.path()));
    let mut tasks = Vec::new();
    for (w, log) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            let mut new = 0;
            for i in 0..50 {
                let e = sample_event(
                    "wxc",
                    &format!("wxa{}", i % 5),
                    &format!("m-{i}"),
                    1_700_000_000_000 + i,
                );
                if matches!(log.append(&e).await.unwrap(), Appended::New { .. }) {
                    new += 1;
                }
            }
            (w, new)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap().1;
    }
    assert_eq!(total, 50, "each of the 50 delivery ids stored once");
    let all = a
        .list("wxc", &EventFilter::default(), None, 1000)
        .await
        .unwrap();
    assert_eq!(all.len(), 50);
    for acct in 0..5 {
        let mut seqs: Vec<u64> = all
            .iter()
            .filter(|e| e.event.authorizer == format!("wxa{acct}"))
            .map(|e| e.sequence)
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=10).collect::<Vec<u64>>());
    }
}

/// Group commit: 64 appends submitted together are committed in one transaction (one fsync)
/// when the writer may wait for a full group; without a window, concurrent appends still
/// share transactions whenever they queue during a commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("wxopen.db")).unwrap();
    let log = SqliteEventLog::open(
        &store,
        EventLogOptions::default()
            .group_window(std::time::Duration::from_secs(60))
            .max_group(64),
    )
    .unwrap();
    let events: Vec<_> = (0..64)
        .map(|i| sample_event("wxc", "wxa", &format!("g-{i}"), 1_700_000_000_000 + i))
        .collect();
    let appends = events.iter().map(|e| log.append(e));
    for r in futures_util::future::join_all(appends).await {
        assert!(matches!(r.unwrap(), Appended::New { .. }));
    }
    let stats = log.stats();
    assert_eq!((stats.transactions, stats.jobs), (1, 64));
    assert_eq!(
        log.list("wxc", &EventFilter::default(), None, 100)
            .await
            .unwrap()
            .len(),
        64
    );
}

/// `open_stores` gives the token store and, beside it, the event log of the same file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_stores_puts_the_event_log_in_the_stores_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("both.db").display());
    let e = sample_event("wxc", "wxa", "m", 1_700_000_000_000);
    {
        let stores = wxopen_store::open_stores(&url).await.unwrap();
        assert!(matches!(
            stores.events.append(&e).await.unwrap(),
            Appended::New { .. }
        ));
    }
    let stores = wxopen_store::open_stores(&url).await.unwrap();
    assert!(matches!(
        stores.events.append(&e).await.unwrap(),
        Appended::Duplicate(_)
    ));
    let memory = wxopen_store::open_stores("memory:").await.unwrap();
    assert!(matches!(
        memory.events.append(&e).await.unwrap(),
        Appended::New { .. }
    ));
}
