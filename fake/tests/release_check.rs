//! The release-check driver against a small stand-in responder (axum + wxopen-client's message
//! helpers): a correct one passes for every group, each kind of mistake fails the right check
//! with a reason that says what went wrong.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use wxopen_client::message::text_reply;
use wxopen_client::{AuthorizationCode, ComponentClient, MsgType, PushQuery};
use wxopen_fake::release_check::{
    find_test_account, FROM_API_SUFFIX, QUERY_AUTH_CODE_PREFIX, TEXT_CHECK_CONTENT,
    TEXT_CHECK_REPLY,
};
use wxopen_fake::{
    AuthorizerKind, CheckKind, Endpoint, FakeConfig, FakeWeChat, ReleaseCheck, CUSTOM_SEND,
    TEST_GROUPS,
};

/// What the stand-in gets wrong (everything `false`/`None`: a correct responder).
#[derive(Clone, Default)]
struct Knobs {
    /// Answer `success` to the TESTCOMPONENT text instead of the passive reply.
    success_to_text: bool,
    /// Passive-reply content for the TESTCOMPONENT text.
    text_content: Option<&'static str>,
    /// Reply with To/From not swapped.
    no_swap: bool,
    /// Send the passive reply unencrypted.
    plaintext_reply: bool,
    /// custom/send content suffix instead of `_from_api`.
    api_suffix: Option<&'static str>,
    /// Exchange the code but never call custom/send.
    never_send: bool,
    /// Do the QUERY_AUTH_CODE work for every delivery, retries included.
    no_dedupe: bool,
    /// Stay silent this long before answering the first delivery of each message.
    silent_first: Option<Duration>,
    /// Stay silent this long before answering every delivery.
    silent_always: Option<Duration>,
}

#[derive(Clone)]
struct Standin {
    client: ComponentClient,
    http: reqwest::Client,
    api_base: String,
    knobs: Knobs,
    seen: Arc<Mutex<HashSet<String>>>,
    /// Authorizer token per code, so a non-deduplicating stand-in still exchanges each code once.
    tokens: Arc<tokio::sync::Mutex<HashMap<String, String>>>,
    deliveries: Arc<Mutex<usize>>,
}

impl Standin {
    async fn custom_send(&self, code: String, touser: String) {
        let token = {
            let mut tokens = self.tokens.lock().await;
            match tokens.get(&code) {
                Some(t) => t.clone(),
                None => {
                    let info = self
                        .client
                        .query_auth(&AuthorizationCode::new(code.clone()))
                        .await
                        .expect("query_auth");
                    let token = info
                        .authorizer_access_token
                        .expect("access token")
                        .expose_secret()
                        .to_owned();
                    tokens.insert(code.clone(), token.clone());
                    token
                }
            }
        };
        if self.knobs.never_send {
            return;
        }
        let suffix = self.knobs.api_suffix.unwrap_or(FROM_API_SUFFIX);
        let answer: Value = self
            .http
            .post(format!(
                "{}/cgi-bin/message/custom/send?access_token={token}",
                self.api_base
            ))
            .json(&json!({
                "touser": touser,
                "msgtype": "text",
                "text": {"content": format!("{code}{suffix}")},
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["errcode"], 0, "{answer}");
    }
}

async fn callback(
    State(s): State<Standin>,
    Path(appid): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    body: Bytes,
) -> (StatusCode, String) {
    *s.deliveries.lock().unwrap() += 1;
    let Ok(query) = PushQuery::from_pairs(pairs) else {
        return (StatusCode::BAD_REQUEST, "bad query".into());
    };
    let msg = match s.client.decrypt_authorizer_message(&query, &body) {
        Ok(m) => m,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()),
    };
    assert!(
        find_test_account(&appid).is_some_and(|(_, a)| a.user_name == msg.to_user_name),
        "URL appid {appid} and ToUserName {} belong together",
        msg.to_user_name
    );
    let first = s.seen.lock().unwrap().insert(msg.dedupe_key());
    let silence = match (first, s.knobs.silent_first) {
        (true, Some(d)) => Some(d),
        _ => s.knobs.silent_always,
    };
    let content = msg.content.clone().unwrap_or_default();
    if let Some(code) = content.strip_prefix(QUERY_AUTH_CODE_PREFIX) {
        if first || s.knobs.no_dedupe {
            // Work after answering: in its own task, so a dropped connection cancels nothing.
            let (s2, code, touser) = (s.clone(), code.to_owned(), msg.from_user_name.clone());
            tokio::spawn(async move { s2.custom_send(code, touser).await });
        }
        if let Some(d) = silence {
            tokio::time::sleep(d).await;
        }
        return (StatusCode::OK, String::new());
    }
    if let Some(d) = silence {
        tokio::time::sleep(d).await;
    }
    let reply_content = if msg.msg_type == MsgType::Event {
        format!("{}from_callback", msg.event.clone().unwrap_or_default())
    } else if content == TEXT_CHECK_CONTENT {
        if s.knobs.success_to_text {
            return (StatusCode::OK, "success".into());
        }
        s.knobs.text_content.unwrap_or(TEXT_CHECK_REPLY).to_owned()
    } else {
        return (StatusCode::OK, "success".into());
    };
    let now = s.client.clock().unix_seconds();
    let plain = if s.knobs.no_swap {
        text_reply(&msg.to_user_name, &msg.from_user_name, now, &reply_content)
    } else {
        msg.text_reply(&reply_content, now)
    };
    if s.knobs.plaintext_reply {
        return (StatusCode::OK, plain);
    }
    let reply = s.client.encrypt_authorizer_reply(plain.as_bytes()).unwrap();
    (StatusCode::OK, reply.to_xml())
}

struct Setup {
    fake: FakeWeChat,
    client: ComponentClient,
    base: String,
    deliveries: Arc<Mutex<usize>>,
}

async fn setup(knobs: Knobs) -> Setup {
    let fake = FakeWeChat::start_with(FakeConfig::random()).await.unwrap();
    let client = fake
        .client_builder(fake.client_config().unwrap())
        .build()
        .unwrap();
    fake.push_ticket()
        .unwrap()
        .deliver_to(&client)
        .await
        .unwrap();
    let deliveries = Arc::new(Mutex::new(0));
    let state = Standin {
        client: client.clone(),
        http: reqwest::Client::new(),
        api_base: fake.primary_url(),
        knobs,
        seen: Arc::default(),
        tokens: Arc::default(),
        deliveries: Arc::clone(&deliveries),
    };
    let app = Router::new()
        .route("/callback/{appid}", post(callback))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Setup {
        fake,
        client,
        base,
        deliveries,
    }
}

impl Setup {
    fn template(&self) -> String {
        format!("{}/callback/$APPID$", self.base)
    }
}

/// Quick settings for tests: short budgets, generous next to loopback latencies.
fn quick(s: &Setup) -> ReleaseCheck {
    ReleaseCheck::new(s.template())
        .reply_timeout(Duration::from_secs(2))
        .deadline(Duration::from_secs(2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_responder_passes_every_group() {
    let s = setup(Knobs::default()).await;
    let run = |n: usize| {
        let check = quick(&s).group(n);
        let fake = &s.fake;
        async move { fake.run_release_check(&check).await.unwrap() }
    };
    let (r1, r2, r3, r4, r5) = tokio::join!(run(1), run(2), run(3), run(4), run(5));
    for (report, group) in [r1, r2, r3, r4, r5].iter().zip(TEST_GROUPS) {
        println!("{report}");
        assert!(report.passed(), "{report}");
        assert_eq!(report.group, group.number);
        // Official account: three checks; mini program: QUERY_AUTH_CODE.
        assert_eq!(report.checks.len(), 4);
        let oa = group.official_account.appid;
        let mp = group.mini_program.appid;
        for kind in CheckKind::ALL {
            let c = report.check(kind, oa).unwrap();
            assert_eq!(c.tries, 1);
            assert!(c.reply_latency.unwrap() < Duration::from_secs(2));
            assert_eq!(c.url, format!("{}/callback/{oa}", s.base));
        }
        let qac = report.check(CheckKind::QueryAuthCode, mp).unwrap();
        assert_eq!(qac.custom_sends, 1);
        assert!(qac.custom_send_latency.unwrap() < Duration::from_secs(2));
        assert!(qac.notes.is_empty(), "{:?}", qac.notes);
        assert!(report.check(CheckKind::Text, mp).is_none());
        // The test accounts are authorized, with their documented original ids and kinds.
        for account in group.accounts() {
            assert!(s.fake.is_authorized(account.appid));
            let info = authorizer_info(&s.fake, account.appid).await;
            assert_eq!(info["authorizer_info"]["user_name"], account.user_name);
            assert_eq!(
                info["authorizer_info"].get("MiniProgramInfo").is_some(),
                account.kind == AuthorizerKind::MiniProgram
            );
        }
    }
    // 5 groups × 2 QUERY_AUTH_CODE checks: one exchange and one customer-service message each.
    assert_eq!(s.fake.successes(Endpoint::QueryAuth), 10);
    assert_eq!(s.fake.sent_messages().len(), 10);
    assert_eq!(s.fake.successes(CUSTOM_SEND), 10);
    // The refresh token api_query_auth handed out works on api_authorizer_token.
    let oa = TEST_GROUPS[0].official_account.appid;
    let before = s.fake.successes(Endpoint::AuthorizerToken);
    s.client.refresh_authorizer_access_token(oa).await.unwrap();
    assert_eq!(s.fake.successes(Endpoint::AuthorizerToken), before + 1);
}

async fn authorizer_info(fake: &FakeWeChat, appid: &str) -> Value {
    let token = fake.component_access_token().unwrap();
    reqwest::Client::new()
        .post(format!(
            "{}/cgi-bin/component/api_get_authorizer_info?component_access_token={token}",
            fake.primary_url()
        ))
        .json(&json!({"component_appid": fake.component_appid(), "authorizer_appid": appid}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn mini_programs_can_get_every_check_and_a_group_is_drawn_when_none_is_given() {
    let s = setup(Knobs::default()).await;
    let check = quick(&s).mini_program_checks(CheckKind::ALL);
    let report = s.fake.run_release_check(&check).await.unwrap();
    assert!(report.passed(), "{report}");
    assert!((1..=5).contains(&report.group));
    assert_eq!(report.checks.len(), 6);
    // The two-argument form: base URL without the placeholder, `/<appid>` appended.
    let report = s
        .fake
        .release_check(&format!("{}/callback/", s.base), Some(2))
        .await
        .unwrap();
    assert!(report.passed(), "{report}");
    assert_eq!(report.group, 2);
    assert!(s.fake.release_check(&s.template(), Some(6)).await.is_err());
    assert!(s.fake.release_check(&s.template(), Some(0)).await.is_err());
}

fn text_only(s: &Setup) -> ReleaseCheck {
    quick(s)
        .group(1)
        .official_account_checks([CheckKind::Text])
        .mini_program_checks([])
}

fn qac_only(s: &Setup, deadline: Duration) -> ReleaseCheck {
    ReleaseCheck::new(s.template())
        .group(3)
        .reply_timeout(Duration::from_secs(2))
        .deadline(deadline)
        .official_account_checks([CheckKind::QueryAuthCode])
        .mini_program_checks([])
}

#[tokio::test]
async fn answering_success_to_the_text_fails_check_a() {
    let s = setup(Knobs {
        success_to_text: true,
        ..Knobs::default()
    })
    .await;
    let report = s.fake.run_release_check(&text_only(&s)).await.unwrap();
    assert!(!report.passed());
    let c = report
        .check(CheckKind::Text, TEST_GROUPS[0].official_account.appid)
        .unwrap();
    let why = c.failure.as_deref().unwrap();
    assert!(
        why.contains("answered `success` instead of the encrypted passive reply"),
        "{why}"
    );
    println!("{report}");
}

#[tokio::test]
async fn wrong_reply_content_swap_or_encryption_fails_check_a() {
    for (knobs, expect) in [
        (
            Knobs {
                text_content: Some("TESTCOMPONENT_MSG_TYPE_TEXT_callbak"),
                ..Knobs::default()
            },
            "the reply's Content is \"TESTCOMPONENT_MSG_TYPE_TEXT_callbak\"",
        ),
        (
            Knobs {
                no_swap: true,
                ..Knobs::default()
            },
            "the reply's ToUserName is \"gh_3c884a361561\"",
        ),
        (
            Knobs {
                plaintext_reply: true,
                ..Knobs::default()
            },
            "not an encrypted reply",
        ),
    ] {
        let s = setup(knobs).await;
        let report = s.fake.run_release_check(&text_only(&s)).await.unwrap();
        assert!(!report.passed());
        let why = report.checks[0].failure.clone().unwrap();
        assert!(why.contains(expect), "{why}");
    }
}

#[tokio::test]
async fn a_reply_under_another_key_does_not_verify() {
    // The stand-in's client has a different EncodingAESKey than the platform.
    let s = setup(Knobs::default()).await;
    let other = FakeWeChat::start_with(FakeConfig::random()).await.unwrap();
    let report = other
        .run_release_check(&text_only(&s).official_account_checks([CheckKind::Text]))
        .await
        .unwrap();
    assert!(!report.passed());
    // The stand-in cannot decrypt the message: it answers 400.
    let why = report.checks[0].failure.clone().unwrap();
    assert!(why.contains("answered HTTP 400"), "{why}");
}

#[tokio::test]
async fn wrong_custom_send_content_fails_check_b() {
    let s = setup(Knobs {
        api_suffix: Some("_from_API"),
        ..Knobs::default()
    })
    .await;
    let report = s
        .fake
        .run_release_check(&qac_only(&s, Duration::from_millis(1500)))
        .await
        .unwrap();
    let c = &report.checks[0];
    let why = c.failure.as_deref().unwrap();
    assert!(why.contains("no custom/send with"), "{why}");
    assert!(why.contains("one arrived with content"), "{why}");
    assert!(why.contains("_from_API"), "{why}");
    assert_eq!(c.custom_sends, 0);
    assert!(!why.contains("api_query_auth"), "{why}");
}

#[tokio::test]
async fn never_calling_custom_send_fails_check_b_at_the_deadline() {
    let s = setup(Knobs {
        never_send: true,
        ..Knobs::default()
    })
    .await;
    let deadline = Duration::from_millis(600);
    let started = std::time::Instant::now();
    let report = s
        .fake
        .run_release_check(&qac_only(&s, deadline))
        .await
        .unwrap();
    assert!(started.elapsed() >= deadline);
    let c = &report.checks[0];
    assert!(c.reply_latency.is_some(), "the empty answer came");
    let why = c.failure.as_deref().unwrap();
    assert!(
        why.starts_with("no custom/send with") && why.contains("within 600.0 ms"),
        "{why}"
    );
    assert_eq!((c.custom_sends, c.custom_send_latency), (0, None));
    assert_eq!(s.fake.successes(Endpoint::QueryAuth), 1);
}

#[tokio::test]
async fn a_responder_that_does_not_dedupe_retries_is_flagged() {
    // Silent on every delivery past the try timeout: three tries, each one starts the work.
    let s = setup(Knobs {
        no_dedupe: true,
        silent_always: Some(Duration::from_secs(10)),
        ..Knobs::default()
    })
    .await;
    let check = qac_only(&s, Duration::from_secs(2)).reply_timeout(Duration::from_millis(200));
    let report = s.fake.run_release_check(&check).await.unwrap();
    let c = &report.checks[0];
    assert_eq!(c.tries, 3);
    assert_eq!(*s.deliveries.lock().unwrap(), 3);
    assert_eq!(c.custom_sends, 3);
    let why = c.failure.as_deref().unwrap();
    assert!(why.contains("no answer on any of 3 tries"), "{why}");
    assert!(
        why.contains("custom/send arrived 3 times for one message (a retry was not deduplicated)"),
        "{why}"
    );
    assert_eq!(c.notes.len(), 3, "{:?}", c.notes);
}

#[tokio::test]
async fn a_retry_after_a_silent_first_try_is_deduplicated_and_passes() {
    // Silent on the first delivery only: the retry is answered, the work runs once.
    let s = setup(Knobs {
        silent_first: Some(Duration::from_secs(10)),
        ..Knobs::default()
    })
    .await;
    let check = ReleaseCheck::new(s.template())
        .group(4)
        .reply_timeout(Duration::from_millis(300))
        .deadline(Duration::from_secs(2));
    let report = s.fake.run_release_check(&check).await.unwrap();
    assert!(report.passed(), "{report}");
    for c in &report.checks {
        assert_eq!(c.tries, 2, "{c}");
        assert!(c.reply_latency.unwrap() >= Duration::from_millis(300));
        assert_eq!(c.notes.len(), 1, "{:?}", c.notes);
    }
    let qac = report
        .check(
            CheckKind::QueryAuthCode,
            TEST_GROUPS[3].official_account.appid,
        )
        .unwrap();
    assert_eq!(qac.custom_sends, 1);
    // The event check has no MsgId: deduplicated by FromUserName + CreateTime.
    assert!(report
        .check(CheckKind::Event, TEST_GROUPS[3].official_account.appid)
        .unwrap()
        .passed());
}

#[tokio::test]
async fn a_silent_endpoint_gets_three_tries_and_fails() {
    let s = setup(Knobs {
        silent_always: Some(Duration::from_secs(10)),
        ..Knobs::default()
    })
    .await;
    let report = s
        .fake
        .run_release_check(&text_only(&s).reply_timeout(Duration::from_millis(150)))
        .await
        .unwrap();
    let c = &report.checks[0];
    assert_eq!(c.tries, 3);
    assert_eq!(c.reply_latency, None);
    assert!(c
        .failure
        .as_deref()
        .unwrap()
        .contains("no answer on any of 3 tries (each waited 150.0 ms)"));
}

#[tokio::test]
async fn nothing_listening_fails_every_check() {
    let fake = FakeWeChat::start().await.unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let check = ReleaseCheck::new(format!("http://{addr}/cb/$APPID$"))
        .group(5)
        .deadline(Duration::from_millis(300));
    let report = fake.run_release_check(&check).await.unwrap();
    assert!(!report.passed());
    assert_eq!(report.failures().count(), 4);
    assert!(report.checks.iter().all(|c| c.tries == 3));
    let qac = report
        .check(CheckKind::QueryAuthCode, TEST_GROUPS[4].mini_program.appid)
        .unwrap();
    let why = qac.failure.as_deref().unwrap();
    assert!(
        why.contains("api_query_auth was not called with the check's code"),
        "{why}"
    );
}

// ------------------------------------------------------------------ custom/send contract

async fn send(fake: &FakeWeChat, token: Option<&str>, body: &str) -> Value {
    let q = token.map_or(String::new(), |t| format!("?access_token={t}"));
    reqwest::Client::new()
        .post(format!(
            "{}/cgi-bin/message/custom/send{q}",
            fake.primary_url()
        ))
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn custom_send_contract() {
    let fake = FakeWeChat::builder()
        .config(FakeConfig::random())
        .start()
        .await
        .unwrap();
    let client = fake
        .client_builder(fake.client_config().unwrap())
        .build()
        .unwrap();
    fake.push_ticket()
        .unwrap()
        .deliver_to(&client)
        .await
        .unwrap();
    let oa = "wx1234567890abcdef";
    let push = fake.push_authorized(oa).unwrap();
    let wxopen_fake::PushKind::Authorized {
        authorization_code, ..
    } = push.kind
    else {
        panic!("an authorized push")
    };
    client
        .query_auth(&AuthorizationCode::new(authorization_code))
        .await
        .unwrap();
    let token = client.authorizer_access_token(oa).await.unwrap();
    let token = token.expose_secret();
    // The user writes first: that opens the customer-service window.
    fake.push_text_message(oa, "oUser1", "hi").unwrap();
    let ok = json!({"touser": "oUser1", "msgtype": "text", "text": {"content": "hello"}});

    let code = |v: &Value| v["errcode"].as_i64().unwrap();
    assert_eq!(code(&send(&fake, None, &ok.to_string()).await), 41001);
    assert_eq!(
        code(&send(&fake, Some("forged"), &ok.to_string()).await),
        40001
    );
    let component = fake.component_access_token().unwrap();
    assert_eq!(
        code(&send(&fake, Some(&component), &ok.to_string()).await),
        40001
    );
    for (body, want) in [
        (String::new(), 44002),
        ("not json".into(), 47001),
        ("[]".into(), 47001),
        (
            json!({"msgtype": "text", "text": {"content": "x"}}).to_string(),
            40003,
        ),
        (
            json!({"touser": "oUser1", "text": {"content": "x"}}).to_string(),
            40008,
        ),
        (
            json!({"touser": "oUser1", "msgtype": "image", "image": {"media_id": "m"}}).to_string(),
            47001,
        ),
        (
            json!({"touser": "oUser1", "msgtype": "image", "text": {"content": "x"}}).to_string(),
            40008,
        ),
        (
            json!({"touser": "oUser1", "msgtype": "text", "text": {"content": ""}}).to_string(),
            44004,
        ),
        (
            json!({"touser": "oUser1", "msgtype": "text", "text": "hello"}).to_string(),
            47001,
        ),
        (
            json!({"touser": "oUser1", "msgtype": "text", "text": {"content": "x", "y": 1}})
                .to_string(),
            47001,
        ),
        (
            json!({"touser": "oStranger", "msgtype": "text", "text": {"content": "x"}}).to_string(),
            40003,
        ),
    ] {
        let v = send(&fake, Some(token), &body).await;
        assert_eq!(code(&v), want, "{body}: {v}");
    }
    assert!(fake.sent_messages().is_empty());

    let v = send(&fake, Some(token), &ok.to_string()).await;
    assert_eq!(v, json!({"errcode": 0, "errmsg": "ok"}));
    let with_kf = json!({"touser": "oUser1", "msgtype": "text", "text": {"content": "kf"},
        "customservice": {"kf_account": "test1@kftest"}});
    assert_eq!(
        code(&send(&fake, Some(token), &with_kf.to_string()).await),
        0
    );
    let sent = fake.sent_messages();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        (
            sent[0].authorizer_appid.as_str(),
            sent[0].touser.as_str(),
            sent[0].msgtype.as_str(),
            sent[0].content.as_str(),
            sent[0].at_unix
        ),
        (oa, "oUser1", "text", "hello", fake.now_unix())
    );
    assert_eq!(sent[1].kf_account.as_deref(), Some("test1@kftest"));

    // Past the 48 h window: 45015 (the token is refreshed; the old one has expired).
    fake.advance(Duration::from_secs(48 * 3600));
    fake.push_ticket()
        .unwrap()
        .deliver_to(&client)
        .await
        .unwrap();
    let token = client.authorizer_access_token(oa).await.unwrap();
    let v = send(&fake, Some(token.expose_secret()), &ok.to_string()).await;
    assert_eq!(code(&v), 45015, "{v}");
    assert_eq!(fake.calls(CUSTOM_SEND), 17);
    assert_eq!(fake.successes(CUSTOM_SEND), 2);

    // Unauthorized: the token stops working.
    fake.push_unauthorized(oa).unwrap();
    let v = send(&fake, Some(token.expose_secret()), &ok.to_string()).await;
    assert_eq!(code(&v), 40001);
}
