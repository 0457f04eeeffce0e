//! The token engine under failure: dropped callers, leases across instances, fenced writes,
//! store outages, and authorization events arriving late or replayed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use tokio::sync::broadcast::Receiver;
use tokio::task::JoinHandle;
use wiremock::ResponseTemplate;
use wxopen_client::{
    AuthorizerState, CasOutcome, ClientEvent, ComponentAccessToken, ComponentTokenRecord, Error,
    ManualClock, MemoryStore, StoreKey, StoredValue, TokenStore,
};

/// `api_component_token`'s answer `token`, after `delay`.
fn slow_component_token(token: &str, delay: Duration) -> ResponseTemplate {
    ctok_answer(token).set_delay(delay)
}

/// A caller's component-token fetch (exactly one, answered `token` after `delay`) that has
/// reached WeChat; the events subscribed before it started.
async fn fetch_in_flight(
    token: &str,
    delay: Duration,
) -> (
    Harness,
    Receiver<ClientEvent>,
    JoinHandle<wxopen_client::Result<ComponentAccessToken>>,
) {
    let h = Scenario::new()
        .ticket("ticket@@@t")
        .expect(
            1,
            post(P_COMPONENT_TOKEN),
            slow_component_token(token, delay),
        )
        .start()
        .await;
    let events = h.client.subscribe();
    let client = h.client.clone();
    let caller = tokio::spawn(async move { client.component_access_token().await });
    eventually("the fetch reached WeChat", || async {
        h.server.hits(P_COMPONENT_TOKEN).await == 1
    })
    .await;
    (h, events, caller)
}

/// The lease on `key` runs out (as a TTL does) and "instance-b" takes it.
async fn lease_taken_over(h: &Harness, key: &StoreKey) {
    h.store.expire_leases();
    assert!(h
        .store
        .try_lease(key, "instance-b", Duration::from_secs(60))
        .await
        .unwrap());
}

/// A client on a [`FaultyStore`] with a recorded ticket.
async fn on_faulty_store(scenario: Scenario) -> Harness<FaultyStore> {
    let store = Arc::new(FaultyStore::default());
    scenario
        .store(store)
        .recorded_ticket("ticket@@@t")
        .start()
        .await
}

/// Finding 3 (before: the lease leaked and another instance waited 2.6 s for nobody): a
/// caller dropped mid-refresh cancels nothing — the refresh finishes, its token is stored,
/// and the lease is released for the next instance.
#[tokio::test]
async fn a_dropped_caller_cancels_nothing_and_the_lease_is_released() {
    let (h, mut events, caller) = fetch_in_flight("ctok", Duration::from_millis(300)).await;
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());
    wait_event(&mut events, |e| {
        matches!(e, ClientEvent::ComponentTokenRefreshed { .. })
    })
    .await;
    let rec = h.client.component_token_record().await.unwrap().unwrap();
    assert_eq!(rec.token.expose_secret(), "ctok");
    let key = StoreKey::component_token(APPID);
    eventually("the lease was released", || async {
        h.store
            .try_lease(&key, "another-instance", Duration::from_secs(60))
            .await
            .unwrap()
    })
    .await;
    h.verify().await;
}

/// A rotated refresh token is written even when the caller that started the refresh is gone.
#[tokio::test]
async fn a_rotated_refresh_token_is_written_after_the_caller_left() {
    let rotated = rotated_atok_answer("atok-2", "refreshtoken@@@rotated");
    let slow = rotated.set_delay(Duration::from_millis(300));
    let h = Scenario::expired_authorizer(2, "refreshtoken@@@old")
        .expect(1, post(P_AUTHORIZER_TOKEN), slow)
        .start()
        .await;
    let mut events = h.client.subscribe();
    let client = h.client.clone();
    let caller =
        tokio::spawn(async move { client.authorizer_access_token("wxauthorizer01").await });
    eventually("the refresh reached WeChat", || async {
        h.server.hits(P_AUTHORIZER_TOKEN).await == 1
    })
    .await;
    caller.abort();
    wait_event(&mut events, |e| {
        matches!(e, ClientEvent::AuthorizerTokenRefreshed { .. })
    })
    .await;
    assert_eq!(
        h.refresh_token("wxauthorizer01").await,
        "refreshtoken@@@rotated"
    );
    let rec = h.record("wxauthorizer01").await.unwrap();
    assert_eq!(rec.access_token.unwrap().expose_secret(), "atok-2");
}

/// Finding 4 (before: the caller waited for the refresh, and after lease_wait a second
/// instance refreshed anyway): two instances past the refresh deadline on one store → one
/// background refresh, and neither caller waits.
#[tokio::test]
async fn two_instances_refresh_ahead_once() {
    let h = Scenario::new()
        .recorded_ticket("ticket@@@t")
        .component_token("ctok-1", 1)
        .start()
        .await;
    let (a, b) = (&h.client, h.second_client());
    a.component_access_token().await.unwrap();
    h.server.reset().await;
    h.clock.advance(Duration::from_secs(6700));
    let slow = slow_component_token("ctok-2", Duration::from_millis(300));
    h.expect(1, post(P_COMPONENT_TOKEN), slow).await;
    let (ta, tb) = tokio::join!(a.component_access_token(), b.component_access_token());
    assert_eq!(ta.unwrap().expose_secret(), "ctok-1");
    assert_eq!(tb.unwrap().expose_secret(), "ctok-1");
    // Whichever instance fetched, both end up on the new token with one upstream call.
    eventually("the new token is stored", || async {
        a.component_token_record()
            .await
            .unwrap()
            .is_some_and(|r| r.token.expose_secret() == "ctok-2")
    })
    .await;
    assert_eq!(
        b.component_access_token().await.unwrap().expose_secret(),
        "ctok-2"
    );
    assert_eq!(h.ctok().await, "ctok-2");
    h.verify().await;
}

/// On a store no other process uses, a lease error degrades to in-process single flight: the
/// refresh still happens, once.
#[tokio::test]
async fn a_lease_error_degrades_to_in_process_single_flight() {
    let slow = slow_component_token("ctok", Duration::from_millis(100));
    let h = on_faulty_store(Scenario::new().expect(1, post(P_COMPONENT_TOKEN), slow)).await;
    h.store.unshared.store(true, Ordering::SeqCst);
    h.store.fail_leases.store(true, Ordering::SeqCst);
    let results =
        futures_util::future::join_all((0..10).map(|_| h.client.component_access_token())).await;
    for r in results {
        assert_eq!(r.unwrap().expose_secret(), "ctok");
    }
    assert!(h.client.component_token_record().await.unwrap().is_some());
    h.verify().await;
}

/// On a shared store (the default for any store but the in-process one) a lease error is no
/// licence to fetch: other instances would each fetch too, invalidating one another's token.
/// Every caller gets the store's error; WeChat is not called.
#[tokio::test]
async fn a_lease_error_on_a_shared_store_fetches_nothing() {
    // The callers that share the failing caller's outcome wait for it in real time: a wait
    // long enough for a busy machine (a 300 ms one timed out under a full parallel run), which
    // costs nothing when the outcome comes at once.
    let scenario = Scenario::new()
        .config(|c| c.with_token_wait(Duration::from_secs(10)))
        .expect(0, post(P_COMPONENT_TOKEN), ctok_answer("ctok"));
    let h = on_faulty_store(scenario).await;
    h.store.fail_leases.store(true, Ordering::SeqCst);
    let results =
        futures_util::future::join_all((0..10).map(|_| h.client.component_access_token())).await;
    for r in results {
        assert!(matches!(r, Err(Error::Store(_))), "{r:?}");
    }
    h.verify().await;
}

/// Writes are fenced: a slower, older refresh whose lease was taken over never overwrites the
/// newer token the new holder stored.
#[tokio::test]
async fn a_slower_older_refresh_never_overwrites_a_newer_token() {
    let (h, _, caller) = fetch_in_flight("ctok-old", Duration::from_millis(400)).await;
    // Meanwhile another instance takes the lease over and stores a newer token.
    let key = StoreKey::component_token(APPID);
    let newer = StoredValue::ComponentToken(ComponentTokenRecord {
        token: wxopen_client::ComponentAccessToken::new("ctok-newer"),
        obtained_at: T0,
        refresh_at: T0 + 6600,
        expires_at: T0 + 7200,
    });
    // Our lease runs out (as a TTL does) and a second instance takes it.
    lease_taken_over(&h, &key).await;
    assert!(matches!(
        h.store
            .compare_and_set(&key, None, newer, Some("instance-b"))
            .await
            .unwrap(),
        CasOutcome::Applied { .. }
    ));
    // The older refresh completes: its caller gets its token, the store keeps the newer one.
    let got = caller.await.unwrap().unwrap();
    assert_eq!(got.expose_secret(), "ctok-old");
    let rec = h.client.component_token_record().await.unwrap().unwrap();
    assert_eq!(rec.token.expose_secret(), "ctok-newer");
}

/// Finding 5 (before: every call refetched while the store could not be written): the fetched
/// token is served from memory, written in the background once the store is back, and not
/// fetched again.
#[tokio::test]
async fn a_failed_store_write_neither_loses_the_token_nor_refetches() {
    let h = on_faulty_store(Scenario::new().component_token("ctok", 1)).await;
    h.store.fail_writes.store(true, Ordering::SeqCst);
    for _ in 0..20 {
        assert_eq!(h.ctok().await, "ctok");
    }
    assert!(h.client.component_token_record().await.unwrap().is_none());
    h.store.fail_writes.store(false, Ordering::SeqCst);
    eventually("the background write stored the token", || async {
        h.client.component_token_record().await.unwrap().is_some()
    })
    .await;
    assert_eq!(h.ctok().await, "ctok");
    h.verify().await;
}

/// Finding 6 (before: a late `unauthorized` deleted a newer authorization): authorization
/// events are ordered by WeChat's CreateTime and the time of query_auth.
#[tokio::test]
async fn a_late_unauthorized_push_revokes_nothing_newer() {
    let h = Scenario::ready("ctok", 1).start().await;
    // Authorized at T0 + 100 (query_auth at the clock's time).
    h.clock.advance(Duration::from_secs(100));
    h.authorize("wxauthorizer01", "atok-1", "refreshtoken@@@r1")
        .await;
    let (q, body) = push(
        &unauthorized_xml("wxauthorizer01", T0 + 50),
        &(T0 + 100).to_string(),
        "n",
    );
    h.client.handle_component_push(&q, &body).await.unwrap();
    assert!(
        h.record("wxauthorizer01").await.is_some(),
        "stale push ignored"
    );
    // A newer one revokes: tombstone, and tokens are refused without a call to WeChat.
    let (q, body) = push(
        &unauthorized_xml("wxauthorizer01", T0 + 200),
        &(T0 + 100).to_string(),
        "n",
    );
    h.client.handle_component_push(&q, &body).await.unwrap();
    assert!(matches!(
        h.client.authorizer_state("wxauthorizer01").await.unwrap(),
        Some(AuthorizerState::Revoked(_))
    ));
    let e = h.atok_error("wxauthorizer01").await;
    assert!(e.must_reauthorize(), "{e}");
    // Replayed (same or older) unauthorized pushes change nothing; a newer authorized push
    // replaces the tombstone (its refresh token is then recovered or query_auth stores it).
    // WeChat's time goes to event_time, the local receipt time to authorized_at.
    h.client.handle_component_push(&q, &body).await.unwrap();
    let (q, body) = push(
        &authorized_xml("wxauthorizer01", "queryauthcode@@@again", T0 + 300),
        &(T0 + 100).to_string(),
        "n",
    );
    h.client.handle_component_push(&q, &body).await.unwrap();
    assert!(matches!(
        h.client.authorizer_state("wxauthorizer01").await.unwrap(),
        Some(AuthorizerState::Authorized(ref r))
            if r.event_time == T0 + 300 && r.authorized_at == T0 + 100
    ));
}

/// The push timestamp window is on by default (10 minutes); a ticket from more than a day in
/// the future is refused, not stored.
#[tokio::test]
async fn replay_window_is_on_by_default_and_future_tickets_are_refused() {
    let h = Scenario::new().start().await;
    assert_eq!(
        h.client.config().push_timestamp_window,
        Some(Duration::from_secs(600))
    );
    let (q, body) = push(
        &ticket_xml("ticket@@@old", T0),
        &(T0 - 3600).to_string(),
        "n",
    );
    let e = h.client.handle_component_push(&q, &body).await.unwrap_err();
    assert_eq!(e.code(), Some(-40001), "{e}");
    let (q, body) = push(&ticket_xml("ticket@@@future", T0 + 2 * 86_400), TS, "n");
    let e = h.client.handle_component_push(&q, &body).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidInput {
                what: "CreateTime",
                ..
            }
        ),
        "{e}"
    );
    assert!(h.client.stored_ticket().await.unwrap().is_none());
}

/// The fence itself: when the lease was taken over before our write, the write is refused and
/// left to the new holder (whose fetch superseded ours), and our caller still gets its token.
#[tokio::test]
async fn a_write_after_the_lease_was_lost_is_left_to_the_new_holder() {
    let (h, _, caller) = fetch_in_flight("ctok-old", Duration::from_millis(400)).await;
    let key = StoreKey::component_token(APPID);
    lease_taken_over(&h, &key).await;
    assert_eq!(caller.await.unwrap().unwrap().expose_secret(), "ctok-old");
    assert!(h.client.component_token_record().await.unwrap().is_none());
}

/// A store that keeps leases in the record namespace (a naive `SET key holder NX`): the
/// contract check catches it.
/// Key → (version, record, lease holder): one namespace for both.
type Rows = std::collections::HashMap<String, (u64, Option<StoredValue>, Option<String>)>;

#[derive(Debug, Default)]
struct CollidingStore {
    rows: std::sync::Mutex<Rows>,
}

impl TokenStore for CollidingStore {
    fn get<'a>(
        &'a self,
        key: &'a StoreKey,
    ) -> wxopen_client::BoxFuture<
        'a,
        Result<Option<wxopen_client::Versioned>, wxopen_client::StoreError>,
    > {
        Box::pin(async move {
            let rows = self.rows.lock().unwrap();
            Ok(rows.get(&key.to_string()).and_then(|(version, v, _)| {
                v.clone().map(|value| wxopen_client::Versioned {
                    value,
                    version: *version,
                })
            }))
        })
    }
    fn compare_and_set<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: Option<u64>,
        value: StoredValue,
        _: Option<&'a str>,
    ) -> wxopen_client::BoxFuture<'a, Result<CasOutcome, wxopen_client::StoreError>> {
        Box::pin(async move {
            let mut rows = self.rows.lock().unwrap();
            let row = rows.entry(key.to_string()).or_insert((0, None, None));
            let current = row.1.as_ref().map(|_| row.0);
            if current != expected {
                let current = row.1.clone().map(|value| wxopen_client::Versioned {
                    value,
                    version: row.0,
                });
                return Ok(CasOutcome::Conflict { current });
            }
            row.0 += 1;
            row.1 = Some(value);
            row.2 = None; // the write clobbers the lease, and the lease the record
            Ok(CasOutcome::Applied { version: row.0 })
        })
    }
    fn compare_and_delete<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: u64,
    ) -> wxopen_client::BoxFuture<'a, Result<bool, wxopen_client::StoreError>> {
        Box::pin(async move {
            let mut rows = self.rows.lock().unwrap();
            let hit = rows
                .get(&key.to_string())
                .is_some_and(|r| r.0 == expected && r.1.is_some());
            if hit {
                rows.remove(&key.to_string());
            }
            Ok(hit)
        })
    }
    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        _: Duration,
    ) -> wxopen_client::BoxFuture<'a, Result<bool, wxopen_client::StoreError>> {
        Box::pin(async move {
            let mut rows = self.rows.lock().unwrap();
            let row = rows.entry(key.to_string()).or_insert((0, None, None));
            if row.2.as_deref().is_some_and(|h| h != holder) {
                return Ok(false);
            }
            // The lease replaces whatever was at the key.
            row.1 = None;
            row.2 = Some(holder.to_owned());
            Ok(true)
        })
    }
    fn extend_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        _: Duration,
    ) -> wxopen_client::BoxFuture<'a, Result<bool, wxopen_client::StoreError>> {
        Box::pin(async move {
            let rows = self.rows.lock().unwrap();
            Ok(rows
                .get(&key.to_string())
                .is_some_and(|r| r.2.as_deref() == Some(holder)))
        })
    }
    fn release_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
    ) -> wxopen_client::BoxFuture<'a, Result<(), wxopen_client::StoreError>> {
        Box::pin(async move {
            let mut rows = self.rows.lock().unwrap();
            if let Some(r) = rows.get_mut(&key.to_string()) {
                if r.2.as_deref() == Some(holder) {
                    r.2 = None;
                }
            }
            Ok(())
        })
    }
}

#[tokio::test]
async fn the_contract_check_catches_a_lease_that_collides_with_its_record() {
    let err = wxopen_client::store::check_store_contract(&CollidingStore::default(), "wxc")
        .await
        .unwrap_err();
    assert!(err.contains("lease"), "{err}");
}

/// A restarted instance that keeps its lease-holder name takes back at once the lease its
/// predecessor held when it was killed mid-refresh (instead of waiting out the TTL).
#[tokio::test]
async fn a_restarted_instance_with_its_old_holder_name_takes_its_lease_back() {
    let store = Arc::new(MemoryStore::new());
    let key = StoreKey::component_token(APPID);
    // The killed predecessor's lease, valid for an hour.
    assert!(store
        .try_lease(&key, "node-a:slot-0", Duration::from_secs(3600))
        .await
        .unwrap());
    let h = Scenario::new()
        .store(store)
        .client(|b| b.lease_holder("node-a:slot-0"))
        .ticket("ticket@@@t")
        .component_token("ctok-after-restart", 1)
        .start()
        .await;
    assert_eq!(h.ctok().await, "ctok-after-restart");
    assert_eq!(h.server.hits(P_COMPONENT_TOKEN).await, 1);
    // Released after the refresh: another instance can take it now.
    assert!(h
        .store
        .try_lease(&key, "node-b", Duration::from_secs(60))
        .await
        .unwrap());
}

#[test]
fn a_lease_holder_name_must_be_short_printable_ascii() {
    for bad in [
        String::new(),
        "has space".to_owned(),
        "ünïcode".to_owned(),
        "x".repeat(wxopen_client::MAX_LEASE_HOLDER_LEN + 1),
    ] {
        let e = wxopen_client::ComponentClient::builder(wxopen_client::ComponentConfig::new(
            APPID, SECRET, TOKEN, AES_KEY,
        ))
        .lease_holder(bad.clone())
        .build()
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    what: "lease_holder",
                    ..
                }
            ),
            "{bad:?}: {e}"
        );
    }
    let ok = "x".repeat(wxopen_client::MAX_LEASE_HOLDER_LEN);
    assert!(
        wxopen_client::ComponentClient::builder(wxopen_client::ComponentConfig::new(
            APPID, SECRET, TOKEN, AES_KEY,
        ))
        .lease_holder(ok)
        .build()
        .is_ok()
    );
}

/// `forget_authorizer` reports failure when every compare-and-delete lost to a writer: the
/// record is still there, so "forgotten" would be a lie.
#[tokio::test]
async fn forgetting_an_authorizer_that_keeps_changing_is_an_error_not_ok() {
    let clock = ManualClock::at_unix(T0);
    let store = Arc::new(FaultyStore::default());
    let client = client_on(
        wxopen_client::ComponentConfig::new(APPID, SECRET, TOKEN, AES_KEY),
        store.clone(),
        &clock,
    );
    let key = StoreKey::authorizer(APPID, "wxforget0001");
    let record = StoredValue::Authorizer(wxopen_client::AuthorizerRecord {
        access_token: None,
        refresh_token: Some(wxopen_client::AuthorizerRefreshToken::new("refresh@@@r")),
        obtained_at: T0,
        refresh_at: T0,
        expires_at: T0,
        authorized_at: T0,
        event_time: 0,
        token_serial: 0,
        func_info: None,
        func_info_removed: Vec::new(),
    });
    assert!(matches!(
        store
            .inner
            .compare_and_set(&key, None, record, None)
            .await
            .unwrap(),
        CasOutcome::Applied { .. }
    ));
    store.lose_deletes.store(true, Ordering::SeqCst);
    let e = client.forget_authorizer("wxforget0001").await.unwrap_err();
    assert!(
        matches!(&e, Error::Store(s) if s.kind() == wxopen_client::StoreErrorKind::Unavailable),
        "{e}"
    );
    assert!(store.inner.get(&key).await.unwrap().is_some());
    store.lose_deletes.store(false, Ordering::SeqCst);
    client.forget_authorizer("wxforget0001").await.unwrap();
    assert!(store.inner.get(&key).await.unwrap().is_none());
    // Forgetting what is not stored is fine.
    client.forget_authorizer("wxforget0001").await.unwrap();
}
