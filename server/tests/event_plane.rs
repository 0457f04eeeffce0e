//! The event plane in the service (issue 23): every message and component push is made durable
//! in the event log before WeChat gets its answer, and delivered to the webhook at least once,
//! in order per account. In process, on the manual clock; the delivery worker is driven pass by
//! pass (`InProcess::deliver_once`, what `Server::run` runs in the background).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use wxopen_client::store::event_log::{Appended, DeliveryState};
use wxopen_client::store::{BoxFuture, EventFilter, EventLog, LoggedEvent, NewEvent, StoreError};
use wxopen_client::{MemoryEventLog, MemoryStore};

const ACCOUNTS: usize = 5;
const ACCOUNT: &str = "wxauthorizer0001";

/// A webhook answering `status` to every POST (replacing what it answered before).
async fn answer(hook: &MockServer, status: u16) {
    hook.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status))
        .mount(hook)
        .await;
}

/// The JSON bodies the webhook took (2xx answers only are deliveries, but wiremock records
/// every request: the caller filters by what it mounted).
async fn bodies(hook: &MockServer) -> Vec<Value> {
    hook.received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// The service relaying to `hook` (1 s webhook timeout) with `extra` component keys (and
/// sections after them), on a fresh memory store and event log.
async fn app(upstream: &MockServer, hook: &MockServer, extra: &str) -> App {
    let url = format!("{}/hook", hook.uri());
    start_webhook_with(
        upstream,
        &url,
        1000,
        extra,
        Arc::new(MemoryStore::new()),
        None,
    )
    .await
}

fn account(i: usize) -> String {
    format!("wxaccount{i:07}")
}

/// An event log that refuses appends while `down` (a full disk, Redis refusing writes).
#[derive(Debug, Default)]
struct Refusing {
    inner: MemoryEventLog,
    down: AtomicBool,
}

impl EventLog for Refusing {
    fn append<'a>(&'a self, e: &'a NewEvent) -> BoxFuture<'a, Result<Appended, StoreError>> {
        if self.down.load(Ordering::SeqCst) {
            return Box::pin(async { Err(StoreError::unavailable("disk full")) });
        }
        self.inner.append(e)
    }
    fn get<'a>(
        &'a self,
        c: &'a str,
        id: u64,
    ) -> BoxFuture<'a, Result<Option<LoggedEvent>, StoreError>> {
        self.inner.get(c, id)
    }
    fn transition<'a>(
        &'a self,
        c: &'a str,
        id: u64,
        expected: &'a DeliveryState,
        next: &'a DeliveryState,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.inner.transition(c, id, expected, next)
    }
    fn set_reply<'a>(
        &'a self,
        c: &'a str,
        id: u64,
        r: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.set_reply(c, id, r)
    }
    fn heads<'a>(
        &'a self,
        c: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<LoggedEvent>, StoreError>> {
        self.inner.heads(c, limit)
    }
    fn list<'a>(
        &'a self,
        c: &'a str,
        f: &'a EventFilter,
        after: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<LoggedEvent>, StoreError>> {
        self.inner.list(c, f, after, limit)
    }
    fn prune<'a>(
        &'a self,
        c: &'a str,
        before: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        self.inner.prune(c, before, limit)
    }
}

/// Messages (`async` mode) while the webhook answers 503 for ten minutes of the clock: each is
/// answered `success` once durable; once the webhook is back every one arrives, each account's
/// in order, none lost; WeChat's retries add none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_down_for_ten_minutes_loses_no_acknowledged_message() {
    let upstream = MockServer::start().await;
    let hook = MockServer::start().await;
    answer(&hook, 503).await;
    let s = app(&upstream, &hook, "webhook_delivery = \"async\"").await;
    let mut acknowledged = 0;
    for i in 0..200u64 {
        let a = account(i as usize % ACCOUNTS);
        let t = s.now();
        let (q, b) = message(&text_xml("gh_x", &format!("m{i}"), 1000 + i, t), t, "gh_x");
        let (status, body) = post_message(&s, &a, &q, b.clone()).await;
        assert_eq!((status, body.as_str()), (200, "success"));
        acknowledged += 1;
        if i % 20 == 0 {
            // WeChat retries some: the same message, no second event.
            assert_eq!(post_message(&s, &a, &q, b).await.0, 200);
        }
        if i % 10 == 0 {
            let _ = s.service.deliver_once(APPID).await;
        }
        s.clock.advance(Duration::from_secs(3)); // 200 × 3 s = 10 minutes
    }
    let tried_while_down = hook.received_requests().await.unwrap().len();
    answer(&hook, 204).await;
    s.deliver_until(&hook, "/hook", acknowledged).await;
    // The worker has nothing left.
    let pass = s.service.deliver_once(APPID).await.unwrap().unwrap();
    assert_eq!((pass.sent, pass.next_due_ms), (0, None));
    let got = bodies(&hook).await;
    let mut per_account: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for j in &got {
        assert_eq!(j["type"], "message");
        assert!(j["late"].as_bool().unwrap());
        per_account
            .entry(j["authorizer_appid"].as_str().unwrap().to_owned())
            .or_default()
            .push((
                j["sequence"].as_u64().unwrap(),
                j["message"]["content"].as_str().unwrap().to_owned(),
            ));
    }
    let mut lost = 0;
    for (a, events) in &per_account {
        let seqs: Vec<u64> = events.iter().map(|(s, _)| *s).collect();
        let want: Vec<u64> = (1..=seqs.len() as u64).collect();
        assert_eq!(seqs, want, "{a}: in order, each once");
        lost += 200 / ACCOUNTS - events.len();
    }
    eprintln!(
        "webhook down 10 min: {acknowledged} acknowledged, {tried_while_down} attempts while down, \
         {} delivered after, {lost} lost",
        got.len()
    );
    assert_eq!((got.len(), lost), (acknowledged, 0));
    assert_eq!(
        s.metrics.counter(
            "wxopen_events_total",
            &[("component", APPID), ("result", "duplicate")]
        ),
        10
    );
}

/// `reply` mode: the inline attempt fails, WeChat still gets `success` in time, and the worker
/// delivers the message later as attempt 2, `late`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_inline_attempt_is_delivered_later_by_the_worker() {
    let upstream = MockServer::start().await;
    let hook = MockServer::start().await;
    answer(&hook, 500).await;
    let s = app(&upstream, &hook, "").await;
    let t = s.now();
    let (q, b) = message(&text_xml("gh_x", "hello", 5, t), t, "gh_x");
    assert_eq!(
        post_message(&s, &account(0), &q, b).await,
        (200, "success".into())
    );
    assert_eq!(hook.received_requests().await.unwrap().len(), 1);
    answer(&hook, 200).await;
    s.deliver_until(&hook, "/hook", 1).await;
    let j = &bodies(&hook).await[0];
    assert_eq!(
        (j["attempt"].as_u64(), j["late"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(j["message"]["content"], "hello");
}

/// An event log that cannot persist: WeChat gets no `success` (503) for a message or an
/// authorization push, and the retry it sends once the log is back is taken — once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_be_made_durable_is_not_acknowledged() {
    let upstream = MockServer::start().await;
    mount_component_token(&upstream, "cat-1").await;
    mount_query_auth(&upstream, &account(1), "at-1", "refreshtoken@@@r1").await;
    let hook = MockServer::start().await;
    answer(&hook, 204).await;
    let log = Arc::new(Refusing::default());
    let s = start_webhook_with(
        &upstream,
        &format!("{}/hook", hook.uri()),
        1000,
        "webhook_delivery = \"async\"",
        Arc::new(MemoryStore::new()),
        Some(log.clone()),
    )
    .await;
    s.push_ticket("ticket-1", s.now()).await;
    log.down.store(true, Ordering::SeqCst);
    let t = s.now();
    let (q, b) = message(&text_xml("gh_x", "hello", 9, t), t, "gh_x");
    let (status, body) = post_message(&s, &account(0), &q, b.clone()).await;
    assert_eq!(status, 503, "{body}");
    assert_ne!(body, "success");
    let (pq, pb) = push(
        &authorized_xml(&account(1), "queryauthcode@@@c1", t),
        &t.to_string(),
        "n2",
    );
    let (status, _) = s.post_push(APPID, &pq, pb.clone()).await;
    assert_eq!(status, 503);
    assert_eq!(
        s.metrics.counter(
            "wxopen_messages_total",
            &[
                ("component", APPID),
                ("result", "not_durable"),
                ("msg_type", "text")
            ]
        ),
        1
    );
    // WeChat pushes again once the log is back: taken, each delivered once.
    log.down.store(false, Ordering::SeqCst);
    assert_eq!(post_message(&s, &account(0), &q, b).await.0, 200);
    assert_eq!(s.post_push(APPID, &pq, pb).await.0, 200);
    s.deliver_until(&hook, "/hook", 2).await;
    let kinds: Vec<String> = bodies(&hook)
        .await
        .iter()
        .map(|j| j["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(
        kinds.contains(&"text".into()) && kinds.contains(&"authorized".into()),
        "{kinds:?}"
    );
    assert!(s.service.drain(Duration::from_secs(5)).await);
}

/// Notices, the fast-register result and InfoTypes wxopen does not know reach the webhook as
/// `component_event`s with every field, the single-use codes left out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_component_push_but_tickets_reaches_the_webhook() {
    let upstream = MockServer::start().await;
    let hook = MockServer::start().await;
    answer(&hook, 204).await;
    let s = app(&upstream, &hook, "").await;
    s.push_ticket("ticket-1", s.now()).await;
    let t = s.now();
    let pushes = [
        format!("<xml><AppId>{APPID}</AppId><CreateTime>{t}</CreateTime><InfoType>notify_apply_icpfiling_result</InfoType><authorizer_appid>wxfiled0000001</authorizer_appid><beian_status>3</beian_status></xml>"),
        format!("<xml><AppId>{APPID}</AppId><CreateTime>{t}</CreateTime><InfoType>brand_new_thing</InfoType><list><x>1</x></list><list><x>2</x></list></xml>"),
        format!("<xml><AppId>{APPID}</AppId><CreateTime>{t}</CreateTime><InfoType>notify_third_fasteregister</InfoType><appid>wxnew0000000001</appid><status>89250</status><auth_code>secret-code</auth_code><msg>no</msg><info><name>Acme</name></info></xml>"),
    ];
    for (i, xml) in pushes.iter().enumerate() {
        let (q, b) = push(xml, &t.to_string(), &format!("n{i}"));
        assert_eq!(s.post_push(APPID, &q, b).await, (200, "success".into()));
    }
    s.deliver_until(&hook, "/hook", 3).await;
    let got = bodies(&hook).await;
    let by_kind: BTreeMap<String, &Value> = got
        .iter()
        .map(|j| (j["kind"].as_str().unwrap().to_owned(), j))
        .collect();
    let icp = by_kind["notify_apply_icpfiling_result"];
    assert_eq!(icp["type"], "component_event");
    assert_eq!(icp["authorizer_appid"], "wxfiled0000001");
    let unknown = by_kind["brand_new_thing"];
    let xs: Vec<&Value> = unknown["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f[0] == "list/x")
        .map(|f| &f[1])
        .collect();
    assert_eq!(xs, ["1", "2"]);
    let fast = by_kind["notify_third_fasteregister"];
    assert_eq!(fast["authorizer_appid"], "wxnew0000000001");
    assert!(!fast.to_string().contains("secret-code"), "{fast}");
}

const READER_KEY: &str = "internal-key-reader-0123456789";

/// The event log over the internal API: a message that outlives `[events] max_age_secs` is a
/// dead letter, listed by state; replayed (by a client that may write; a read-only one gets
/// 403) it is delivered; a delivered event cannot be discarded; bad filters are 400 and an
/// unknown id 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_replayed_and_discarded_over_the_api() {
    let upstream = MockServer::start().await;
    let hook = MockServer::start().await;
    answer(&hook, 503).await;
    let extra = format!(
        "webhook_delivery = \"async\"\n\n[events]\nmax_age_secs = 60\n\n[[client]]\nname = \"reader\"\nkey = \"{READER_KEY}\"\ncomponents = [\"{APPID}\"]\nscope = \"read\"\n"
    );
    let s = app(&upstream, &hook, &extra).await;
    let t = s.now();
    let (q, b) = message(&text_xml("gh_x", "late one", 3, t), t, "gh_x");
    assert_eq!(post_message(&s, &account(0), &q, b).await.0, 200);
    let mut dead = 0;
    for _ in 0..100 {
        let pass = s.service.deliver_once(APPID).await.unwrap().unwrap();
        dead += pass.dead;
        if dead > 0 {
            break;
        }
        s.clock.advance(Duration::from_secs(5));
    }
    assert_eq!(dead, 1, "a dead letter after the maximum age");
    let base = format!("/v1/{APPID}/events");
    let page = s
        .internal_get(&format!("{base}?state=dead"), Some(KEY))
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    let events = page.json()["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        (e["kind"].as_str(), e["dead_reason"].as_str()),
        (Some("text"), Some("max_age"))
    );
    assert!(e["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f[1] == "late one"));
    let id = e["id"].as_u64().unwrap();
    // A read-only client reads, and may not replay.
    assert_eq!(s.internal_get(&base, Some(READER_KEY)).await.status, 200);
    let replay = format!("{base}/{id}/replay");
    assert_eq!(
        s.internal_post(&replay, READER_KEY, &serde_json::json!({}))
            .await
            .status,
        403
    );
    answer(&hook, 204).await;
    let r = s.internal_post(&replay, KEY, &serde_json::json!({})).await;
    assert_eq!((r.status, r.json()["changed"].as_u64()), (200, Some(1)));
    s.deliver_until(&hook, "/hook", 1).await;
    let one = s
        .internal_get(&format!("{base}/{id}"), Some(KEY))
        .await
        .json();
    assert_eq!(one["state"], "delivered");
    let discard = format!("{base}/{id}/discard");
    let r = s.internal_post(&discard, KEY, &serde_json::json!({})).await;
    assert_eq!((r.status, r.json()["changed"].as_u64()), (200, Some(0)));
    // Replaying a range: every delivered event of the account, sent again.
    let r = s
        .internal_post(
            &format!("{base}/replay?state=delivered&authorizer={}", account(0)),
            KEY,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!((r.status, r.json()["changed"].as_u64()), (200, Some(1)));
    s.deliver_until(&hook, "/hook", 2).await;
    assert_eq!(
        s.internal_get(&format!("{base}?state=sleeping"), Some(KEY))
            .await
            .status,
        400
    );
    assert_eq!(
        s.internal_get(&format!("{base}/999999"), Some(KEY))
            .await
            .status,
        404
    );
}

/// `notify_third_fasteregister` with status 0 carries a single-use code: pushed to two
/// instances on one store, it is exchanged once (one `api_query_auth`), the new account is
/// stored, and the relayed event says its tokens are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_registration_is_exchanged_once_across_instances() {
    let upstream = MockServer::start().await;
    mount_component_token(&upstream, "cat-1").await;
    let new_app = "wxfastreg000001";
    mount_query_auth(&upstream, new_app, "at-1", "refreshtoken@@@r1").await;
    let hook = MockServer::start().await;
    answer(&hook, 204).await;
    let store = Arc::new(MemoryStore::new());
    let events: Arc<dyn EventLog> = Arc::new(MemoryEventLog::new());
    let url = format!("{}/hook", hook.uri());
    let a = start_webhook_with(
        &upstream,
        &url,
        1000,
        "",
        store.clone(),
        Some(events.clone()),
    )
    .await;
    let b = start_webhook_with(&upstream, &url, 1000, "", store, Some(events)).await;
    a.push_ticket("ticket-1", a.now()).await;
    let t = a.now();
    let xml = format!(
        "<xml><AppId>{APPID}</AppId><CreateTime>{t}</CreateTime><InfoType>notify_third_fasteregister</InfoType><appid>{new_app}</appid><status>0</status><auth_code>queryauthcode@@@fast</auth_code><msg>OK</msg><info><name>Acme</name></info></xml>"
    );
    let (q, body) = push(&xml, &t.to_string(), "nf");
    let (ra, rb) = tokio::join!(
        a.post_push(APPID, &q, body.clone()),
        b.post_push(APPID, &q, body)
    );
    assert_eq!((ra.0, rb.0), (200, 200));
    a.deliver_until(&hook, "/hook", 1).await;
    assert!(a.service.drain(Duration::from_secs(5)).await);
    assert!(b.service.drain(Duration::from_secs(5)).await);
    assert_eq!(
        hits(&upstream, "/cgi-bin/component/api_query_auth").await,
        1
    );
    let got = bodies(&hook).await;
    assert_eq!(got.len(), 1, "one event for the push both instances took");
    assert_eq!(got[0]["kind"], "notify_third_fasteregister");
    assert_eq!(got[0]["tokens_stored"], true);
    let token = a
        .internal_get(
            &format!("/v1/{APPID}/authorizers/{new_app}/token"),
            Some(KEY),
        )
        .await;
    assert_eq!(token.status, 200, "{}", token.text());
}

/// The permission sets (`func_info`) of `api_query_auth` are kept on the account's record:
/// an `updateauthorized` that narrows the grant shows the sets it took away in the relayed
/// event and on `GET /v1/{c}/authorizers/{appid}`; `api_get_authorizer_info` updates them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_updateauthorized_that_narrows_the_grant_is_visible() {
    let upstream = MockServer::start().await;
    mount_component_token(&upstream, "cat-1").await;
    let query_auth = |code: &str, sets: &[i64]| {
        let sets: Vec<Value> = sets
            .iter()
            .map(|id| serde_json::json!({"funcscope_category": {"id": id}}))
            .collect();
        Mock::given(method("POST"))
            .and(wiremock::matchers::path(
                "/cgi-bin/component/api_query_auth",
            ))
            .and(wiremock::matchers::body_partial_json(
                serde_json::json!({"authorization_code": code}),
            ))
            .respond_with(ok_json(serde_json::json!({"authorization_info": {
                "authorizer_appid": ACCOUNT,
                "authorizer_access_token": format!("at-{code}"),
                "expires_in": 7200,
                "authorizer_refresh_token": "refreshtoken@@@r1",
                "func_info": sets,
            }})))
    };
    query_auth("queryauthcode@@@c1", &[18, 1, 2])
        .mount(&upstream)
        .await;
    query_auth("queryauthcode@@@c2", &[1])
        .mount(&upstream)
        .await;
    let hook = MockServer::start().await;
    answer(&hook, 204).await;
    let s = app(&upstream, &hook, "").await;
    s.push_ticket("ticket-1", s.now()).await;
    let t = s.now();
    let (q, b) = push(
        &authorized_xml(ACCOUNT, "queryauthcode@@@c1", t),
        &t.to_string(),
        "n1",
    );
    assert_eq!(s.post_push(APPID, &q, b).await.0, 200);
    s.deliver_until(&hook, "/hook", 1).await;
    let update = authorized_xml(ACCOUNT, "queryauthcode@@@c2", t + 1)
        .replace("[CDATA[authorized]]", "[CDATA[updateauthorized]]");
    let (q, b) = push(&update, &(t + 1).to_string(), "n2");
    assert_eq!(s.post_push(APPID, &q, b).await.0, 200);
    s.deliver_until(&hook, "/hook", 2).await;
    let got = bodies(&hook).await;
    assert_eq!(got[0]["info_type"], "authorized");
    assert_eq!(got[0]["func_info"], serde_json::json!([1, 2, 18]));
    assert_eq!(got[0]["func_info_removed"], serde_json::json!([]));
    assert_eq!(got[1]["info_type"], "updateauthorized");
    assert_eq!(got[1]["func_info"], serde_json::json!([1]));
    assert_eq!(got[1]["func_info_removed"], serde_json::json!([2, 18]));
    let one = format!("/v1/{APPID}/authorizers/{ACCOUNT}");
    let r = s.internal_get(&one, Some(KEY)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let j: Value = serde_json::from_str(&r.text()).unwrap();
    assert_eq!(j["func_info"], serde_json::json!([1]));
    assert_eq!(j["func_info_removed"], serde_json::json!([2, 18]));
    // `api_get_authorizer_info` reporting a wider grant again: noted, nothing taken away.
    Mock::given(method("POST"))
        .and(wiremock::matchers::path(
            "/cgi-bin/component/api_get_authorizer_info",
        ))
        .respond_with(ok_json(serde_json::json!({
            "authorizer_info": {"nick_name": "n", "user_name": "gh_1"},
            "authorization_info": {"authorizer_appid": ACCOUNT, "func_info": [
                {"funcscope_category": {"id": 1}}, {"funcscope_category": {"id": 17}}
            ]}
        })))
        .mount(&upstream)
        .await;
    s.service
        .client(APPID)
        .unwrap()
        .authorizer_info(ACCOUNT)
        .await
        .unwrap();
    let j: Value = serde_json::from_str(&s.internal_get(&one, Some(KEY)).await.text()).unwrap();
    assert_eq!(j["func_info"], serde_json::json!([1, 17]));
    assert_eq!(j["func_info_removed"], serde_json::json!([]));
}

/// `/readyz` names an event backlog older than `[events] backlog_alert_secs` without taking
/// the instance out of service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_and_metrics_name_an_old_backlog() {
    let upstream = MockServer::start().await;
    mount_component_token(&upstream, "cat-1").await;
    let hook = MockServer::start().await;
    answer(&hook, 503).await;
    let s = app(
        &upstream,
        &hook,
        "webhook_delivery = \"async\"\n\n[events]\nbacklog_alert_secs = 60\n",
    )
    .await;
    s.push_ticket("ticket-1", s.now()).await;
    let t = s.now();
    let (q, b) = message(&text_xml("gh_x", "waiting", 4, t), t, "gh_x");
    assert_eq!(post_message(&s, &account(0), &q, b).await.0, 200);
    let ready = s.internal_get("/readyz", None).await;
    assert_eq!(ready.json()["components"][APPID]["events"], "ok");
    s.clock.advance(Duration::from_secs(61));
    let ready = s.internal_get("/readyz", None).await.json();
    let c = &ready["components"][APPID];
    assert_eq!(c["events"], "backlog (oldest pending event 61 s old)");
    assert_eq!(
        c["ready"], true,
        "a backlog does not make the instance unready: {c}"
    );
    // The same backlog on /metrics.
    let text = s.internal_get("/metrics", None).await.text();
    assert!(
        text.contains(&format!(
            "wxopen_events_backlog_accounts{{component=\"{APPID}\"}} 1"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "wxopen_events_oldest_pending_seconds{{component=\"{APPID}\"}} 61"
        )),
        "{text}"
    );
}
