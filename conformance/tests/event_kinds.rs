//! Every event kind the fake can push (`wxopen_fake::event_catalog`) reaches the host through
//! `wxopen serve` (in process, its SQLite store and event log, async delivery), typed and
//! whole: its `kind`, every field as sent, the typed fields the library knows; and the library
//! parses each to its typed form, none left as unknown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use wxopen_client::wxopen_proto::wxa_event::WxaEvent;
use wxopen_client::{parse_authorizer_message, parse_component_event, ComponentEvent};
use wxopen_fake::event_catalog::{SampleUrl, COMPONENT_SAMPLES, MESSAGE_SAMPLES};
use wxopen_fake::FakeWeChat;

const ACCOUNT: &str = "wxkinds000000001";

/// The library types every sample: notices and the fast-register result on the
/// authorization-event URL, the mini-program events on the message URL.
#[tokio::test]
async fn the_library_types_every_kind_the_fake_pushes() {
    let fake = FakeWeChat::start().await.unwrap();
    fake.push_authorized(ACCOUNT).unwrap();
    for (sample, push) in fake.push_every_kind(ACCOUNT).unwrap() {
        let plain = push.plaintext.clone();
        match sample.url {
            SampleUrl::Component => {
                let e = parse_component_event(plain.as_bytes()).unwrap();
                assert_eq!(e.info_type(), sample.name);
                match e {
                    ComponentEvent::Notice(n) => {
                        assert_eq!(n.account(), Some(ACCOUNT), "{}", sample.name);
                        for (k, _) in sample.fields {
                            assert!(
                                n.fields
                                    .iter()
                                    .any(|(f, _)| f == k || f.starts_with(&format!("{k}/"))),
                                "{}: {k} missing",
                                sample.name
                            );
                        }
                    }
                    ComponentEvent::NotifyThirdFastRegister { appid, status, .. } => {
                        assert_eq!(appid.as_deref(), Some(ACCOUNT));
                        assert_eq!(status, Some(89251));
                    }
                    other => panic!("{} parsed as {other:?}", sample.name),
                }
            }
            SampleUrl::Message => {
                let m = parse_authorizer_message(plain.as_bytes()).unwrap();
                assert_eq!(m.event.as_deref(), Some(sample.name));
                let wxa = WxaEvent::from_message(&m);
                let is_wxa = sample.name.starts_with("weapp_") || sample.name.starts_with("wx");
                assert_eq!(wxa.is_some(), is_wxa, "{}", sample.name);
                if let Some(w) = wxa {
                    assert_eq!(w.name(), sample.name);
                }
                for (k, v) in sample.fields {
                    assert_eq!(m.field(k), Some(*v), "{}: {k}", sample.name);
                }
            }
            _ => unreachable!(),
        }
    }
}

/// Pushed to `wxopen serve`, every sample is answered `success` and reaches the webhook once,
/// with its kind and every field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_the_fake_pushes_reaches_the_webhook_whole() {
    let fake = FakeWeChat::start().await.unwrap();
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    let hook_url = format!("{}/hook", hook.uri());
    let served = common::serve(
        &fake,
        "kinds",
        &format!(
            "webhook_url = {}\nwebhook_secret = \"webhook-secret-0123456789\"\nwebhook_delivery = \"async\"",
            common::toml(&hook_url)
        ),
    )
    .await;
    let (public, internal) = (served.public.clone(), served.internal.clone());
    let http = reqwest::Client::new();
    let component_url = format!("{public}/wechat/{}/component", fake.component_appid());
    let message_url = format!(
        "{public}/wechat/{}/callback/{ACCOUNT}",
        fake.component_appid()
    );
    let post = |url: String, body: String| {
        let http = http.clone();
        async move {
            let r = http.post(url).body(body).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let ticket = fake.push_ticket().unwrap();
    assert_eq!(
        post(ticket.url(&component_url), ticket.body.clone())
            .await
            .1,
        "success"
    );
    let authorized = fake.push_authorized(ACCOUNT).unwrap();
    assert_eq!(
        post(authorized.url(&component_url), authorized.body.clone())
            .await
            .1,
        "success"
    );
    let pushed = fake.push_every_kind(ACCOUNT).unwrap();
    for (sample, push) in &pushed {
        let url = match sample.url {
            SampleUrl::Component => push.url(&component_url),
            _ => push.url(&message_url),
        };
        let (status, body) = post(url, push.body.clone()).await;
        assert_eq!((status, body.as_str()), (200, "success"), "{}", sample.name);
    }
    // The worker delivers in the background on the fake's clock (the authorization waits for
    // its code's exchange, then the account's events follow in order): move the clock a
    // second at a time until every event is in (a bound, not a timing).
    let want = pushed.len() + 1;
    let deadline = Instant::now() + Duration::from_secs(60);
    let got = loop {
        let got: Vec<Value> = hook
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        if got.len() >= want || Instant::now() > deadline {
            break got;
        }
        fake.advance(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    if got.len() != want {
        let r = http
            .get(format!(
                "{internal}/v1/{}/events?limit=100",
                fake.component_appid()
            ))
            .bearer_auth(common::KEY)
            .send()
            .await
            .unwrap();
        eprintln!("events: {}", r.text().await.unwrap());
        let r = http
            .get(format!(
                "{internal}/v1/{}/authorizers/{ACCOUNT}",
                fake.component_appid()
            ))
            .bearer_auth(common::KEY)
            .send()
            .await
            .unwrap();
        eprintln!("account: {}", r.text().await.unwrap());
        eprintln!("calls: {:?}", fake.call_log());
    }
    assert_eq!(got.len(), want, "each event once");
    let by_kind: BTreeMap<&str, &Value> = got
        .iter()
        .map(|j| (j["kind"].as_str().unwrap(), j))
        .collect();
    assert_eq!(by_kind.len(), want, "one event per kind");
    for sample in COMPONENT_SAMPLES.iter().chain(MESSAGE_SAMPLES.iter()) {
        let j = by_kind
            .get(sample.name)
            .unwrap_or_else(|| panic!("{} not delivered", sample.name));
        assert_eq!(j["authorizer_appid"], ACCOUNT, "{}", sample.name);
        let fields: Vec<(String, String)> = j["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f[0].as_str().unwrap().to_owned(),
                    f[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for (k, v) in sample.fields {
            if *k == "auth_code" {
                assert!(!fields.iter().any(|(f, _)| f == k), "codes are withheld");
                continue;
            }
            if v.starts_with('<') {
                assert!(
                    fields.iter().any(|(f, _)| f.starts_with(&format!("{k}/"))),
                    "{}: {k} missing in {fields:?}",
                    sample.name
                );
            } else {
                let v = v.replace("{account}", ACCOUNT);
                assert!(
                    fields.iter().any(|(f, x)| f == k && *x == v),
                    "{}: {k}={v} missing in {fields:?}",
                    sample.name
                );
            }
        }
    }
    // The typed fields of the review results.
    let fail = by_kind["weapp_audit_fail"];
    assert_eq!(
        fail["wxa_event"]["screenshots"],
        serde_json::json!(["media-1", "media-2"])
    );
    assert_eq!(fail["wxa_event"]["fail_time"], 1_700_000_100);
    assert_eq!(
        by_kind["weapp_audit_success"]["wxa_event"]["succ_time"],
        1_700_000_100
    );
    assert_eq!(by_kind["wxa_nickname_audit"]["wxa_event"]["ret"], 3);
    assert_eq!(
        by_kind["notify_icpfiling_verify_result"]["notice"]["result"],
        3
    );
    assert_eq!(
        by_kind["notify_3rd_wxa_auth"]["notice"]["task_id"],
        "auth-task-1"
    );
    served.stop().await;
}
