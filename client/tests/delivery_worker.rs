//! The delivery worker over an event log, on a manual clock: a webhook down for 10 minutes
//! while 10,000 messages of 50 accounts arrive loses nothing and keeps each account's order;
//! answers lost in transit cost duplicates only; dead letters after the maximum age; two
//! workers (two instances) never send one event twice at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wxopen_client::delivery::{DeliveryWorker, EventSink, Sent};
use wxopen_client::store::event_log::{Appended, DeliveryState};
use wxopen_client::store::{sample_event, BoxFuture, EventFilter, EventLog, LoggedEvent};
use wxopen_client::wxopen_proto::delivery::{Attempt, DeliveryPolicy};
use wxopen_client::{Clock, FixedJitter, ManualClock, MemoryEventLog};

const T0: u64 = 1_700_000_000;

/// The host's webhook: records what it received, in order; can be down, or receive an event
/// and lose its answer (the worker sees a failure and sends it again).
#[derive(Debug, Default)]
struct Webhook {
    down: AtomicBool,
    /// Every n-th delivery is received but its answer lost (0: never).
    lose_every: AtomicUsize,
    received: Mutex<Vec<(String, u64, u32, bool)>>,
    calls: AtomicUsize,
    in_flight: Mutex<HashMap<u64, usize>>,
    overlaps: AtomicUsize,
}

impl EventSink for Webhook {
    fn deliver<'a>(&'a self, e: &'a LoggedEvent, sent: Sent) -> BoxFuture<'a, Attempt> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            {
                let mut f = self.in_flight.lock().unwrap();
                let c = f.entry(e.id).or_default();
                *c += 1;
                if *c > 1 {
                    self.overlaps.fetch_add(1, Ordering::SeqCst);
                }
            }
            tokio::task::yield_now().await;
            *self.in_flight.lock().unwrap().get_mut(&e.id).unwrap() -= 1;
            if self.down.load(Ordering::SeqCst) {
                return Attempt::Failed { retry_after: None };
            }
            self.received.lock().unwrap().push((
                e.event.authorizer.clone(),
                e.sequence,
                sent.attempt,
                sent.late,
            ));
            let lose = self.lose_every.load(Ordering::SeqCst);
            if lose > 0 && n.is_multiple_of(lose) {
                return Attempt::Failed { retry_after: None };
            }
            Attempt::Delivered
        })
    }
}

fn worker(log: &Arc<dyn EventLog>, hook: &Arc<Webhook>, clock: &ManualClock) -> DeliveryWorker {
    DeliveryWorker::new("wxc", log.clone(), hook.clone())
        .clock(Arc::new(clock.clone()))
        .jitter(Arc::new(FixedJitter(0.5)))
        .batch(64)
}

/// Runs passes, moving the clock to the next due time when a pass sends nothing, until no
/// event is open or `max_passes` ran. Returns the passes run.
async fn drain(
    w: &DeliveryWorker,
    log: &Arc<dyn EventLog>,
    clock: &ManualClock,
    max_passes: usize,
) -> usize {
    for pass_no in 0..max_passes {
        let pass = w.run_once().await.unwrap();
        if pass.sent == 0 && pass.lost_races == 0 {
            match pass.next_due_ms {
                Some(t) => {
                    let now = clock.unix_millis();
                    clock.advance(Duration::from_millis(t.saturating_sub(now).max(1)));
                }
                None => {
                    let open = log
                        .list("wxc", &EventFilter::default().state("pending"), None, 1)
                        .await
                        .unwrap();
                    if open.is_empty() {
                        return pass_no;
                    }
                }
            }
        }
    }
    max_passes
}

#[tokio::test]
async fn a_webhook_down_for_ten_minutes_loses_nothing_and_keeps_each_accounts_order() {
    let clock = ManualClock::at_unix(T0);
    let log: Arc<dyn EventLog> = Arc::new(MemoryEventLog::new());
    let hook = Arc::new(Webhook::default());
    let w = worker(&log, &hook, &clock);
    hook.down.store(true, Ordering::SeqCst);
    // 10,000 messages of 50 accounts over 10 minutes (one every 60 ms), the worker running
    // between arrivals as it would.
    let mut acknowledged = 0;
    for i in 0..10_000u64 {
        let account = format!("wxacct{:02}", i % 50);
        let e = sample_event("wxc", &account, &format!("msg-{i}"), clock.unix_millis());
        if matches!(log.append(&e).await.unwrap(), Appended::New { .. }) {
            acknowledged += 1;
        }
        // WeChat retries some (the same delivery id): duplicates, not new events.
        if i % 97 == 0 {
            assert!(matches!(
                log.append(&e).await.unwrap(),
                Appended::Duplicate(_)
            ));
        }
        if i % 50 == 0 {
            w.run_once().await.unwrap();
        }
        clock.advance(Duration::from_millis(60));
    }
    assert_eq!(acknowledged, 10_000);
    assert!(hook.received.lock().unwrap().is_empty());
    let attempts_while_down = hook.calls.load(Ordering::SeqCst);

    // Back up; an answer lost in transit now and then.
    hook.down.store(false, Ordering::SeqCst);
    hook.lose_every.store(101, Ordering::SeqCst);
    let passes = drain(&w, &log, &clock, 100_000).await;
    let received = hook.received.lock().unwrap().clone();
    let mut per_account: HashMap<&str, Vec<u64>> = HashMap::new();
    for (a, seq, _, _) in &received {
        per_account.entry(a.as_str()).or_default().push(*seq);
    }
    let mut lost = 0;
    let mut duplicates = 0;
    for a in 0..50 {
        let seqs = &per_account[format!("wxacct{a:02}").as_str()];
        // In order: never a lower sequence after a higher one, except the resend of the last.
        let mut last = 0;
        for &s in seqs {
            assert!(s == last || s == last + 1, "account {a}: {s} after {last}");
            if s == last {
                duplicates += 1;
            }
            last = s;
        }
        lost += 200 - last as usize;
    }
    let delivered_all = log
        .list(
            "wxc",
            &EventFilter::default().state("delivered"),
            None,
            1_000,
        )
        .await
        .unwrap()
        .len();
    eprintln!(
        "webhook down 10 min: 10,000 acknowledged, {attempts_while_down} attempts while down, \
         {} received after, {duplicates} duplicates (answers lost), {lost} lost, {passes} passes",
        received.len()
    );
    assert_eq!(lost, 0);
    assert!(
        duplicates > 0 && duplicates <= received.len() / 101 + 1,
        "{duplicates}"
    );
    assert_eq!(received.len(), 10_000 + duplicates);
    assert_eq!(delivered_all, 1_000, "a full page of delivered events");
    assert!(
        received.iter().all(|(_, _, _, late)| *late),
        "every one is late: after the budget"
    );
    assert_eq!(hook.overlaps.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_event_not_delivered_within_the_maximum_age_becomes_a_dead_letter_and_frees_its_account()
{
    let clock = ManualClock::at_unix(T0);
    let log: Arc<dyn EventLog> = Arc::new(MemoryEventLog::new());
    let hook = Arc::new(Webhook::default());
    let policy = DeliveryPolicy::default().max_age(Duration::from_secs(3600));
    let w = worker(&log, &hook, &clock).policy(policy);
    hook.down.store(true, Ordering::SeqCst);
    let first = sample_event("wxc", "wxa", "old", clock.unix_millis());
    let Appended::New { id, .. } = log.append(&first).await.unwrap() else {
        panic!()
    };
    drain(&w, &log, &clock, 50).await;
    let e = log.get("wxc", id).await.unwrap().unwrap();
    assert!(
        matches!(e.state, DeliveryState::Dead { .. }),
        "{:?}",
        e.state
    );
    assert!(clock.unix_millis() - first.received_at_ms <= 3_600_000 + 600_000);
    // The account's next event goes once the webhook is back; the dead letter stays dead.
    hook.down.store(false, Ordering::SeqCst);
    let next = sample_event("wxc", "wxa", "new", clock.unix_millis());
    log.append(&next).await.unwrap();
    let pass = w.run_once().await.unwrap();
    assert_eq!((pass.sent, pass.delivered), (1, 1));
    assert_eq!(hook.received.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn two_workers_on_one_log_never_send_one_event_at_once() {
    let clock = ManualClock::at_unix(T0);
    let log: Arc<dyn EventLog> = Arc::new(MemoryEventLog::new());
    let hook = Arc::new(Webhook::default());
    let a = worker(&log, &hook, &clock);
    let b = worker(&log, &hook, &clock);
    for i in 0..500u64 {
        let e = sample_event(
            "wxc",
            &format!("wx{}", i % 7),
            &format!("m{i}"),
            clock.unix_millis(),
        );
        log.append(&e).await.unwrap();
    }
    let mut sent = 0;
    let mut races = 0;
    for _ in 0..500 {
        let (pa, pb) = tokio::join!(a.run_once(), b.run_once());
        let (pa, pb) = (pa.unwrap(), pb.unwrap());
        sent += pa.sent + pb.sent;
        races += pa.lost_races + pb.lost_races;
        if pa.sent + pb.sent + pa.lost_races + pb.lost_races == 0 {
            break;
        }
    }
    assert_eq!(
        sent, 500,
        "each event sent once ({races} claims lost to the other worker)"
    );
    assert_eq!(hook.received.lock().unwrap().len(), 500);
    assert_eq!(hook.overlaps.load(Ordering::SeqCst), 0);
}

/// A host that answers one account's events only after a minute (a slow webhook path, a
/// stuck handler) and every other account's at once.
#[derive(Debug, Default)]
struct SlowForOne {
    slow: String,
    received: Mutex<Vec<(String, u64)>>,
}

impl EventSink for SlowForOne {
    fn deliver<'a>(&'a self, e: &'a LoggedEvent, _sent: Sent) -> BoxFuture<'a, Attempt> {
        Box::pin(async move {
            if e.event.authorizer == self.slow {
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            self.received
                .lock()
                .unwrap()
                .push((e.event.authorizer.clone(), e.sequence));
            Attempt::Delivered
        })
    }
}

/// While one account's attempt hangs, the running worker goes on with the other accounts: all
/// their events (appended before and during the hang) arrive, in order, before the slow one
/// settles; then the slow account's events follow in order. Paused tokio time.
#[tokio::test(start_paused = true)]
async fn a_slow_account_never_holds_up_the_others() {
    let log: Arc<dyn EventLog> = Arc::new(MemoryEventLog::new());
    let clock = wxopen_client::TokioClock::new(std::time::UNIX_EPOCH + Duration::from_secs(T0));
    let sink = Arc::new(SlowForOne {
        slow: "wxslow".into(),
        ..SlowForOne::default()
    });
    let append = |account: &str, i: u64| {
        let log = log.clone();
        let e = sample_event(
            "wxc",
            account,
            &format!("{account}-{i}"),
            clock.unix_millis(),
        );
        async move { log.append(&e).await.unwrap() }
    };
    append("wxslow", 0).await;
    append("wxslow", 1).await;
    let worker = DeliveryWorker::new("wxc", log.clone(), sink.clone())
        .clock(Arc::new(clock.clone()))
        .jitter(Arc::new(FixedJitter(0.5)))
        .policy(DeliveryPolicy::default().visibility(Duration::from_secs(300)));
    let waker = worker.waker();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(worker.run(rx));
    // The slow account's first attempt is running; others arrive meanwhile.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for i in 0..5 {
        append("wxfast1", i).await;
        append("wxfast2", i).await;
        waker.notify_one();
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let fast: Vec<(String, u64)> = sink.received.lock().unwrap().clone();
    assert_eq!(fast.len(), 10, "the other accounts went on: {fast:?}");
    assert!(fast.iter().all(|(a, _)| a != "wxslow"), "{fast:?}");
    for account in ["wxfast1", "wxfast2"] {
        let seqs: Vec<u64> = fast
            .iter()
            .filter(|(a, _)| a == account)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5], "{account} in order");
    }
    // The slow account settles and its second event follows.
    tokio::time::sleep(Duration::from_secs(180)).await;
    let slow: Vec<u64> = sink
        .received
        .lock()
        .unwrap()
        .iter()
        .filter(|(a, _)| a == "wxslow")
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(slow, [1, 2]);
    stop.send(true).unwrap();
    running.await.unwrap();
}
