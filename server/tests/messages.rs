//! The message URL: release-check answers, deduplication across instances, and the webhook
//! relay (signed requests, encrypted replies, slow, dead and confused webhooks, bad input).
//! In process (the routers called with `tower::ServiceExt::oneshot`); WeChat and the webhooks
//! are wiremock servers, since the service reaches them over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use common::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wxopen_client::message::parse_authorizer_message;
use wxopen_client::MemoryStore;
use wxopen_core::MsgCrypt;

const TEST_OA: &str = "wx8e1097c5bc82cde9"; // group 3 official account
const TEST_OA_USER: &str = "gh_3f222ed8d140";
const ACCOUNT: &str = "wxauthorizer0001";

/// What `Server::run` does at shutdown: waits for background work (relays, follow-ups).
async fn stop(s: App) {
    assert!(s.service.drain(Duration::from_secs(5)).await);
}

/// Opens an encrypted passive reply as WeChat does (signature checked).
fn open(reply: &str) -> wxopen_client::AuthorizerMessage {
    let crypt = MsgCrypt::new(TOKEN, AES_KEY, APPID).unwrap();
    let field = |tag: &str| {
        let a = reply.find(&format!("<{tag}>")).expect(tag) + tag.len() + 2;
        let b = reply[a..].find(&format!("</{tag}>")).unwrap() + a;
        let v = &reply[a..b];
        v.strip_prefix("<![CDATA[")
            .and_then(|v| v.strip_suffix("]]>"))
            .unwrap_or(v)
            .to_owned()
    };
    let plain = crypt
        .decrypt_encrypted(
            &field("Encrypt"),
            &field("MsgSignature"),
            &field("TimeStamp"),
            &field("Nonce"),
        )
        .unwrap();
    parse_authorizer_message(&plain).unwrap()
}

/// A webhook answering every POST with `status` and no body.
async fn hook_answering(status: u16) -> MockServer {
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status))
        .mount(&hook)
        .await;
    hook
}

/// A server relaying to `hook`'s `/hook` with a 1 s timeout, on a fresh store.
async fn start_hooked(upstream: &MockServer, hook: &MockServer) -> App {
    start_webhook(
        upstream,
        &format!("{}/hook", hook.uri()),
        1000,
        Arc::new(MemoryStore::new()),
    )
    .await
}

/// Waits (bounded) until `n` requests reached `p` on `server`.
async fn wait_hits(server: &MockServer, p: &str, n: usize) {
    for _ in 0..500 {
        if hits(server, p).await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{p}: fewer than {n} requests");
}

fn messages(s: &App, result: &str, msg_type: &str) -> u64 {
    s.metrics.counter(
        "wxopen_messages_total",
        &[
            ("component", APPID),
            ("result", result),
            ("msg_type", msg_type),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_check_text_and_event_get_encrypted_passive_replies() {
    let upstream = MockServer::start().await;
    let s = in_process(&upstream).await;
    let t = s.now();
    let (q, b) = message(
        &text_xml(TEST_OA_USER, "TESTCOMPONENT_MSG_TYPE_TEXT", 11, t),
        t,
        TEST_OA_USER,
    );
    let (status, body) = post_message(&s, TEST_OA, &q, b).await;
    assert_eq!(status, 200, "{body}");
    let r = open(&body);
    assert_eq!(
        r.content.as_deref(),
        Some("TESTCOMPONENT_MSG_TYPE_TEXT_callback")
    );
    assert_eq!(
        (r.to_user_name.as_str(), r.from_user_name.as_str()),
        ("ouser1", TEST_OA_USER)
    );
    // An event: "<Event>from_callback".
    let ev = format!(
        "<xml><ToUserName>{TEST_OA_USER}</ToUserName><FromUserName>ouser1</FromUserName><CreateTime>{t}</CreateTime><MsgType>event</MsgType><Event>LOCATION</Event><Latitude>23.1</Latitude><Longitude>113.3</Longitude><Precision>119.3</Precision></xml>"
    );
    let (q, b) = message(&ev, t, TEST_OA_USER);
    let (status, body) = post_message(&s, TEST_OA, &q, b).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        open(&body).content.as_deref(),
        Some("LOCATIONfrom_callback")
    );
    assert_eq!(messages(&s, "release_check_reply", "text"), 1);
    assert_eq!(messages(&s, "release_check_reply", "event"), 1);
    // Nothing went upstream for passive replies.
    assert!(upstream.received_requests().await.unwrap().is_empty());
    stop(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_auth_code_answers_empty_then_sends_one_message_across_two_instances() {
    let upstream = MockServer::start().await;
    mount_component_token(&upstream, "cat-1").await;
    mount_query_auth(&upstream, TEST_OA, "at-test-oa", "refreshtoken@@@test-oa").await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/custom/send"))
        .respond_with(ok_json(json!({"errcode": 0, "errmsg": "ok"})))
        .mount(&upstream)
        .await;
    let store = Arc::new(MemoryStore::new());
    let cfg = || {
        wxopen_server::config::parse(&config_text(&upstream.uri(), ""), std::path::Path::new("/"))
            .unwrap()
    };
    let a = in_process_config(cfg(), store.clone()).await;
    let b = in_process_config(cfg(), store.clone()).await;
    a.push_ticket("ticket-1", a.now()).await;
    let t = a.now();
    let xml = text_xml(
        TEST_OA_USER,
        "QUERY_AUTH_CODE:queryauthcode@@@check-1",
        42,
        t,
    );
    // WeChat's first try reaches instance a, its retry instance b.
    let (q, body) = message(&xml, t, TEST_OA_USER);
    assert_eq!(
        post_message(&a, TEST_OA, &q, body.clone()).await,
        (200, String::new())
    );
    assert_eq!(
        post_message(&b, TEST_OA, &q, body).await,
        (200, String::new())
    );
    wait_hits(&upstream, "/cgi-bin/message/custom/send", 1).await;
    assert_eq!(messages(&a, "release_check_send", "text"), 1);
    assert_eq!(messages(&b, "duplicate", "text"), 1);
    assert_eq!(messages(&b, "release_check_send", "text"), 0);
    let sends: Vec<_> = upstream
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/cgi-bin/message/custom/send")
        .collect();
    assert_eq!(sends.len(), 1);
    assert_eq!(
        sends[0].url.query(),
        Some("access_token=at-test-oa"),
        "sent with the test account's token"
    );
    let sent: Value = serde_json::from_slice(&sends[0].body).unwrap();
    assert_eq!(
        sent,
        json!({"touser": "ouser1", "msgtype": "text", "text": {"content": "queryauthcode@@@check-1_from_api"}})
    );
    assert_eq!(
        hits(&upstream, "/cgi-bin/component/api_query_auth").await,
        1
    );
    stop(a).await;
    stop(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_relayed_signed_and_replies_come_back_encrypted() {
    let upstream = MockServer::start().await;
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ok_json(
            json!({"reply": {"type": "text", "content": "hello back"}}),
        ))
        .mount(&hook)
        .await;
    let s = start_webhook(
        &upstream,
        &format!("{}/hook", hook.uri()),
        2000,
        Arc::new(MemoryStore::new()),
    )
    .await;
    let t = s.now();
    let (q, b) = message(
        &text_xml("gh_account01", "hi there", 77, t),
        t,
        "gh_account01",
    );
    let (status, body) = post_message(&s, ACCOUNT, &q, b.clone()).await;
    assert_eq!(status, 200, "{body}");
    let r = open(&body);
    assert_eq!(r.content.as_deref(), Some("hello back"));
    assert_eq!(
        (r.to_user_name.as_str(), r.from_user_name.as_str()),
        ("ouser1", "gh_account01")
    );
    // The delivery: JSON, signed over "<timestamp>.<body>".
    let reqs = hook.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    let header = |n: &str| req.headers.get(n).unwrap().to_str().unwrap().to_owned();
    let ts: u64 = header("x-wxopen-timestamp").parse().unwrap();
    assert_eq!(
        header("x-wxopen-signature"),
        wxopen_server::webhook::signature(WEBHOOK_SECRET.as_bytes(), ts, &req.body)
    );
    assert_eq!(header("x-wxopen-event"), "message");
    let j: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(j["type"], "message");
    assert_eq!(j["authorizer_appid"], ACCOUNT);
    assert_eq!(j["component_appid"], APPID);
    assert_eq!(j["delivery_id"], header("x-wxopen-delivery"));
    assert_eq!(j["message"]["content"], "hi there");
    assert_eq!(j["message"]["msg_id"], "77");
    assert_eq!(
        j["message"]["fields"][0],
        json!(["ToUserName", "gh_account01"])
    );
    // WeChat's retry of the same message is answered without a second delivery, with the
    // passive reply the webhook gave the first time (issue 23: kept with the event).
    let (status, again) = post_message(&s, ACCOUNT, &q, b).await;
    assert_eq!(status, 200);
    assert_eq!(open(&again).content.as_deref(), Some("hello back"));
    assert_ne!(again, body, "encrypted afresh");
    assert_eq!(hook.received_requests().await.unwrap().len(), 1);
    assert_eq!(messages(&s, "duplicate", "text"), 1);
    stop(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_dead_and_confused_webhooks_still_get_wechat_its_answer() {
    let upstream = MockServer::start().await;
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&hook)
        .await;
    Mock::given(method("POST"))
        .and(path("/confused"))
        .respond_with(ok_json(json!({"reply": {"type": "text", "content": ""}})))
        .mount(&hook)
        .await;
    Mock::given(method("POST"))
        .and(path("/down"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&hook)
        .await;
    // A port nothing listens on.
    let dead = format!(
        "http://127.0.0.1:{}/hook",
        wxopen_fake::harness::free_port().unwrap()
    );
    let cases = [
        (format!("{}/slow", hook.uri()), "timeout"),
        (dead, "unreachable"),
        (format!("{}/down", hook.uri()), "status"),
        (format!("{}/confused", hook.uri()), "reply"),
    ];
    for (i, (url, label)) in cases.iter().enumerate() {
        let s = start_webhook(&upstream, url, 300, Arc::new(MemoryStore::new())).await;
        let t = s.now();
        let (q, b) = message(
            &text_xml("gh_account01", "hello", 100 + i as u64, t),
            t,
            "gh_account01",
        );
        assert_eq!(
            post_message(&s, ACCOUNT, &q, b).await,
            (200, "success".into()),
            "{label}"
        );
        assert_eq!(
            s.metrics.counter(
                "wxopen_webhook_deliveries_total",
                &[("component", APPID), ("result", label)],
            ),
            1,
            "{label}"
        );
        let result = if *label == "reply" {
            "relay_bad_reply"
        } else {
            "relay_failed"
        };
        assert_eq!(messages(&s, result, "text"), 1, "{label}");
        stop(s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_are_refused_and_never_forwarded() {
    let upstream = MockServer::start().await;
    let hook = hook_answering(200).await;
    let s = start_hooked(&upstream, &hook).await;
    let t = s.now();
    let (q, b) = message(&text_xml("gh_account01", "x", 1, t), t, "gh_account01");
    let tampered = q.replace("msg_signature=", "msg_signature=0");
    let (status, body) = post_message(&s, ACCOUNT, &tampered, b.clone()).await;
    assert!((400..500).contains(&status), "{status} {body}");
    let (status, _) = post_message(&s, ACCOUNT, &q, b"not xml at all".to_vec()).await;
    assert!((400..500).contains(&status), "{status}");
    let (status, _) = post_message(&s, "not-an-appid!", &q, b.clone()).await;
    assert!((400..500).contains(&status), "{status}");
    let r = s
        .public(
            Method::POST,
            &format!("/wechat/wxunknown000001/callback/{ACCOUNT}?{q}"),
        )
        .body(b)
        .send()
        .await;
    assert_eq!(r.status, 404);
    assert!(hook.received_requests().await.unwrap().is_empty());
    stop(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_events_reach_the_webhook_after_the_exchange() {
    let upstream = MockServer::start().await;
    mount_component_token(&upstream, "cat-1").await;
    mount_query_auth(&upstream, ACCOUNT, "at-1", "refreshtoken@@@r1").await;
    let hook = hook_answering(204).await;
    let s = start_hooked(&upstream, &hook).await;
    s.push_ticket("ticket-1", s.now()).await;
    let t = s.now();
    let (q, b) = push(
        &authorized_xml(ACCOUNT, "queryauthcode@@@c1", t),
        &t.to_string(),
        "n2",
    );
    assert_eq!(s.post_push(APPID, &q, b).await, (200, "success".into()));
    s.deliver_until(&hook, "/hook", 1).await;
    // By the time the host hears of it, the account's token is served.
    let r = s
        .internal_get(
            &format!("/v1/{APPID}/authorizers/{ACCOUNT}/token"),
            Some(KEY),
        )
        .await;
    assert_eq!(r.status, 200);
    let unauth = format!(
        "<xml><AppId>{APPID}</AppId><CreateTime>{}</CreateTime><InfoType>unauthorized</InfoType><AuthorizerAppid>{ACCOUNT}</AuthorizerAppid></xml>",
        t + 1
    );
    let (q, b) = push(&unauth, &t.to_string(), "n3");
    assert_eq!(
        s.post_push(APPID, &q, b.clone()).await,
        (200, "success".into())
    );
    // WeChat pushes it again: one delivery.
    assert_eq!(s.post_push(APPID, &q, b).await, (200, "success".into()));
    s.deliver_until(&hook, "/hook", 2).await;
    stop(s).await; // waits for background work
    let reqs = hook.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    let kinds: Vec<(String, String)> = reqs
        .iter()
        .map(|r| {
            let j: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(r.headers.get("x-wxopen-event").unwrap(), "authorization");
            assert!(!String::from_utf8_lossy(&r.body).contains("queryauthcode"));
            (
                j["info_type"].as_str().unwrap().to_owned(),
                j["authorizer_appid"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("authorized".to_owned(), ACCOUNT.to_owned()),
            ("unauthorized".to_owned(), ACCOUNT.to_owned())
        ]
    );
}

/// A late `unauthorized` (older than the authorization the store holds) is ignored by the
/// store and relayed as `applied: false`; applied events carry the record's version as
/// `record_version` (growing for one account), and every event its place among the account's
/// events in the log as `sequence` (1, 2, …), so the host can order them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_unauthorized_is_relayed_as_not_applied_and_applied_events_carry_a_growing_sequence()
{
    let upstream = MockServer::start().await;
    mount_component_token(&upstream, "cat-1").await;
    mount_query_auth(&upstream, ACCOUNT, "at-1", "refreshtoken@@@r1").await;
    let hook = hook_answering(204).await;
    let s = start_hooked(&upstream, &hook).await;
    s.push_ticket("ticket-1", s.now()).await;
    let t = s.now();
    let (q, b) = push(
        &authorized_xml(ACCOUNT, "queryauthcode@@@c1", t),
        &t.to_string(),
        "n2",
    );
    assert_eq!(s.post_push(APPID, &q, b).await, (200, "success".into()));
    s.deliver_until(&hook, "/hook", 1).await;
    let unauth = |created: u64, nonce: &str| {
        let xml = format!(
            "<xml><AppId>{APPID}</AppId><CreateTime>{created}</CreateTime><InfoType>unauthorized</InfoType><AuthorizerAppid>{ACCOUNT}</AuthorizerAppid></xml>"
        );
        push(&xml, &t.to_string(), nonce)
    };
    // Created before the authorization: the store keeps the account authorized.
    let (q, b) = unauth(t - 5, "n3");
    assert_eq!(s.post_push(APPID, &q, b).await, (200, "success".into()));
    s.deliver_until(&hook, "/hook", 2).await;
    let token = format!("/v1/{APPID}/authorizers/{ACCOUNT}/token");
    assert_eq!(s.internal_get(&token, Some(KEY)).await.status, 200);
    // Created after it: applied, the account revoked.
    let (q, b) = unauth(t + 1, "n4");
    assert_eq!(s.post_push(APPID, &q, b).await, (200, "success".into()));
    s.deliver_until(&hook, "/hook", 3).await;
    assert_ne!(s.internal_get(&token, Some(KEY)).await.status, 200);
    stop(s).await;
    let got: Vec<Value> = hook
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let row = |j: &Value| {
        (
            j["info_type"].as_str().unwrap().to_owned(),
            j["create_time"].as_u64().unwrap(),
            j["applied"].as_bool().unwrap(),
        )
    };
    assert_eq!(
        got.iter().map(row).collect::<Vec<_>>(),
        [
            ("authorized".to_owned(), t, true),
            ("unauthorized".to_owned(), t - 5, false),
            ("unauthorized".to_owned(), t + 1, true),
        ]
    );
    // `record_version`: what the store wrote (none for the one it ignored), growing;
    // `sequence`: the account's events in the log, 1, 2, 3.
    assert!(got[1]["record_version"].is_null(), "{}", got[1]);
    let (first, last) = (
        got[0]["record_version"].as_u64().unwrap(),
        got[2]["record_version"].as_u64().unwrap(),
    );
    assert!(first < last, "{first} >= {last}");
    let seqs: Vec<u64> = got
        .iter()
        .map(|j| j["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert!(got[0]["tokens_stored"].as_bool().unwrap());
}

/// `api_get_authorizer_info` answering `user_name` for `appid`.
async fn mount_user_name(upstream: &MockServer, appid: &str, user_name: &str) {
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/api_get_authorizer_info"))
        .and(wiremock::matchers::body_partial_json(
            json!({"authorizer_appid": appid}),
        ))
        .respond_with(ok_json(json!({
            "authorizer_info": {"nick_name": "n", "service_type_info": {"id": 2}, "verify_type_info": {"id": 0}, "user_name": user_name},
            "authorization_info": {"authorizer_appid": appid, "func_info": []}
        })))
        .mount(upstream)
        .await;
}

/// The `{authorizer}` of the path is not signed; the message's `ToUserName` is. A message is
/// relayed as the path's account only when its `ToUserName` is that account's original id
/// (looked up once per account, cached); the same captured message posted to another
/// account's path is refused (403) and not relayed; when the original id cannot be looked up,
/// the message is relayed with `authorizer_verified: false`, and the lookup is not repeated
/// per message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_relayed_only_as_the_account_its_signed_to_user_name_names() {
    let upstream = MockServer::start().await;
    mount_component_token(&upstream, "cat-1").await;
    mount_user_name(&upstream, ACCOUNT, "gh_account01").await;
    mount_user_name(&upstream, "wxauthorizer0002", "gh_account02").await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/api_get_authorizer_info"))
        .and(wiremock::matchers::body_partial_json(
            json!({"authorizer_appid": "wxauthorizer0003"}),
        ))
        .respond_with(ResponseTemplate::new(500))
        .mount(&upstream)
        .await;
    let hook = hook_answering(204).await;
    let s = start_hooked(&upstream, &hook).await;
    s.push_ticket("ticket-1", s.now()).await;
    let info = "/cgi-bin/component/api_get_authorizer_info";
    let t = s.now();
    // The account's own messages: relayed, verified, one lookup for all of them.
    for i in 0..5 {
        let (q, b) = message(
            &text_xml("gh_account01", "hello", 100 + i, t),
            t,
            "gh_account01",
        );
        assert_eq!(
            post_message(&s, ACCOUNT, &q, b).await,
            (200, "success".into())
        );
    }
    assert_eq!(hits(&upstream, info).await, 1);
    // A captured message of account 01 posted to account 02's URL: refused, not relayed.
    let (q, b) = message(
        &text_xml("gh_account01", "replayed", 200, t),
        t,
        "gh_account01",
    );
    let (status, _) = post_message(&s, "wxauthorizer0002", &q, b.clone()).await;
    assert_eq!(status, 403);
    assert_eq!(messages(&s, "account_mismatch", "text"), 1);
    // Account 03's original id cannot be looked up: relayed, marked unverified; one lookup a
    // minute, not one per message.
    for i in 0..3 {
        let (q, b) = message(
            &text_xml("gh_account03", "hi", 300 + i, t),
            t,
            "gh_account03",
        );
        assert_eq!(
            post_message(&s, "wxauthorizer0003", &q, b).await,
            (200, "success".into())
        );
    }
    let lookups_03 = hits(&upstream, info).await;
    assert_eq!(lookups_03, 3, "one lookup each for 01, 02 and 03");
    stop(s).await;
    let got: Vec<Value> = hook
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(got.len(), 8, "5 of 01, none for the replay, 3 of 03");
    for j in &got {
        let account = j["authorizer_appid"].as_str().unwrap();
        assert_ne!(account, "wxauthorizer0002", "{j}");
        assert_eq!(
            j["authorizer_verified"],
            account == ACCOUNT,
            "{account}: {j}"
        );
    }
}

/// A slow lookup does not hold WeChat's answer: the message waits at most the lookup budget
/// (1 s here) and is relayed unverified; the lookup finishes in the background, and a later
/// message of the account is verified without another upstream call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_lookup_finishes_in_the_background_and_later_messages_are_verified() {
    let upstream = MockServer::start().await;
    mount_component_token(&upstream, "cat-1").await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/api_get_authorizer_info"))
        .respond_with(
            ok_json(json!({
                "authorizer_info": {"nick_name": "n", "service_type_info": {"id": 2}, "verify_type_info": {"id": 0}, "user_name": "gh_account01"},
                "authorization_info": {"authorizer_appid": ACCOUNT, "func_info": []}
            }))
            .set_delay(Duration::from_millis(1500)),
        )
        .mount(&upstream)
        .await;
    let hook = hook_answering(204).await;
    let s = start_hooked(&upstream, &hook).await;
    s.push_ticket("ticket-1", s.now()).await;
    let t = s.now();
    let nth_message = |n: u64| {
        let (q, b) = message(
            &text_xml("gh_account01", "hi", 500 + n, t),
            t,
            "gh_account01",
        );
        (q, b)
    };
    let (q, b) = nth_message(0);
    let started = std::time::Instant::now();
    assert_eq!(
        post_message(&s, ACCOUNT, &q, b).await,
        (200, "success".into())
    );
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
    // Later messages, until one is verified (bounded).
    let mut n = 1;
    loop {
        let got = hook.received_requests().await.unwrap();
        let last: Value = serde_json::from_slice(&got.last().unwrap().body).unwrap();
        if last["authorizer_verified"] == true {
            break;
        }
        assert!(n < 100, "no message verified after {n}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (q, b) = nth_message(n);
        assert_eq!(post_message(&s, ACCOUNT, &q, b).await.0, 200);
        n += 1;
    }
    let first: Value =
        serde_json::from_slice(&hook.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(first["authorizer_verified"], false);
    assert_eq!(
        hits(&upstream, "/cgi-bin/component/api_get_authorizer_info").await,
        1
    );
    stop(s).await;
}
