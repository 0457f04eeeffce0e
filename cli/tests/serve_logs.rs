//! The logs of a whole flow through the real `wxopen serve --log-format json` contain no secret
//! it handled, and neither do its error answers, pages, lists or metrics.
//!
//! The flow: a ticket push, the authorize page (PC and H5), the admin's consent with the
//! `authorized` push and the redirect (`query_auth`), the token API (component and authorizer
//! tokens, the list, one account), compare-and-refresh of both tokens, an account's message to
//! the callback route, an import with a refresh token WeChat does not know, and the error
//! paths: a push with a wrong signature, a body that is not XML, a message with a wrong
//! signature, no bearer key, a wrong bearer key, an unknown account, an unknown `auth_code`
//! on the redirect, WeChat failing a refresh (HTTP 502). Then SIGTERM.
//!
//! The binary runs with `WXOPEN_LOG=trace` (every target, the HTTP stacks included), and every
//! line of its stdout and stderr is searched for every secret: the appsecret, the message
//! token, the EncodingAESKey, the bearer key (and the wrong one presented), every ticket, every
//! component access token, both pre-auth codes, the auth code (and the unknown one), every
//! authorizer access token, the refresh token (and the imported one), and each push's
//! `signature` and `msg_signature` (a push's query string is never logged). Tokens of the form
//! `prefix@@@random` or `prefix.random` are also searched by their random part and its first 16 characters (a
//! truncated or URL-encoded copy is still a leak). The logs must also hold the events the flow
//! causes, so the test fails if logging goes quiet.
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{json, Value};
use wxopen_fake::{Endpoint, FakeWeChat, Fault, FaultRule};

const AUTHORIZER: &str = "wxa0e5000000000001";
const MOBILE_UA: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 MicroMessenger/8.0.47";

/// The secrets seen so far, by name.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        if !value.is_empty() && !self.0.iter().any(|(_, v)| *v == value) {
            self.0.push((name.to_owned(), value));
        }
    }

    /// What is searched for: the value, and for `prefix@@@random` (or `prefix.random`) tokens
    /// the random part and its first 16 characters; for other long values their first 16.
    fn needles(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, v) in &self.0 {
            out.push((name.clone(), v.clone()));
            let tail = v.rsplit_once("@@@").or_else(|| v.rsplit_once('.'));
            if let Some((_, tail)) = tail {
                out.push((format!("{name} (random part)"), tail.to_owned()));
                if tail.len() > 16 {
                    out.push((
                        format!("{name} (first 16 of the random part)"),
                        tail[..16].to_owned(),
                    ));
                }
            } else if v.len() > 24 {
                out.push((format!("{name} (first 16)"), v[..16].to_owned()));
            }
        }
        out
    }

    /// The fake's current tokens for the component and the account.
    fn note_fake_tokens(&mut self, fake: &FakeWeChat) {
        if let Some(t) = fake.component_access_token() {
            self.add("component_access_token", t);
        }
        if let Some(t) = fake.authorizer_access_token(AUTHORIZER) {
            self.add("authorizer_access_token", t);
        }
        if let Some(t) = fake.authorizer_refresh_token(AUTHORIZER) {
            self.add("authorizer_refresh_token", t);
        }
        if let Some(t) = fake.current_ticket() {
            self.add("component_verify_ticket", t);
        }
    }
}

/// HTTP answers that must carry no secret (token routes and the authorize page, whose link
/// holds the pre-auth code, are left out on purpose).
#[derive(Default)]
struct Answers(Vec<(String, Answer)>);

impl Answers {
    fn keep(&mut self, what: &str, a: Answer) -> Answer {
        self.0.push((what.to_owned(), a.clone()));
        a
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_flow_logs_no_secret() {
    let fake = fake().await;
    let dir = temp_dir();
    let key = random_key();
    let wrong_key = random_key();
    let config = write_config(dir.path(), &fake, &key);
    let http = http();
    let appid = fake.component_appid().to_owned();
    let mut secrets = Secrets::default();
    secrets.add("appsecret", fake.component_appsecret());
    secrets.add("message token", fake.token());
    secrets.add("EncodingAESKey", fake.encoding_aes_key());
    secrets.add("bearer key", key.clone());
    secrets.add("wrong bearer key presented", wrong_key.clone());
    let mut answers = Answers::default();

    let mut s = Serve::start(
        &config,
        &["--log-format", "json"],
        &[("WXOPEN_LOG", "trace")],
    );
    wait_healthy(&http, &s.internal).await;
    let routes = s.routes(&appid);
    let import = format!("{}/import", routes.authorizers());

    // The ticket.
    fake.advance(std::time::Duration::from_secs(1));
    let push = fake.push_ticket().unwrap();
    secrets.add("push signature", push.query.signature.clone());
    secrets.add("push msg_signature", push.query.msg_signature.clone());
    let a = send(http.post(push.url(&routes.push())).body(push.body.clone())).await;
    assert_eq!((a.status, a.body.as_str()), (200, "success"));
    secrets.note_fake_tokens(&fake);

    // The authorize page, PC and H5: two pre-auth codes (and the component token).
    let pc = send(http.get(routes.authorize())).await;
    assert_eq!(pc.status, 200);
    let pre_pc = pre_auth_code(&pc.body);
    let h5 = send(
        http.get(format!("{}?state=s-1", routes.authorize()))
            .header("user-agent", MOBILE_UA),
    )
    .await;
    assert_eq!(h5.status, 200);
    secrets.add("pre_auth_code", pre_pc.clone());
    secrets.add("pre_auth_code (H5)", pre_auth_code(&h5.body));
    secrets.note_fake_tokens(&fake);

    // Consent: the `authorized` push (exchanged in the background) and the redirect.
    let consent = fake.simulate_admin_consent(&pre_pc, AUTHORIZER).unwrap();
    secrets.add("auth_code", consent.auth_code.clone());
    secrets.add("push signature", consent.push.query.signature.clone());
    secrets.add(
        "push msg_signature",
        consent.push.query.msg_signature.clone(),
    );
    let a = send(
        http.post(consent.push.url(&routes.push()))
            .body(consent.push.body.clone()),
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (200, "success"));
    let page = answers.keep(
        "result page",
        send(http.get(redirect_url(&routes, &consent))).await,
    );
    assert_eq!(page.status, 200, "{}", page.body);
    secrets.note_fake_tokens(&fake);

    // The token API.
    let ct = send(http.get(routes.component_token()).bearer_auth(&key)).await;
    assert_eq!(ct.status, 200);
    let ct = ct.json()["component_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.add("component_access_token", ct.clone());
    let at = send(
        http.get(routes.authorizer_token(AUTHORIZER))
            .bearer_auth(&key),
    )
    .await;
    assert_eq!(at.status, 200);
    let at = at.json()["authorizer_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.add("authorizer_access_token", at.clone());
    let list = answers.keep(
        "authorizers list",
        send(http.get(routes.authorizers()).bearer_auth(&key)).await,
    );
    assert_eq!(list.status, 200);
    let one = answers.keep(
        "one authorizer",
        send(http.get(routes.authorizer(AUTHORIZER)).bearer_auth(&key)).await,
    );
    assert_eq!(one.status, 200);

    // Compare-and-refresh of both tokens: one call upstream each.
    let before = fake.calls(Endpoint::AuthorizerToken);
    let r = send(
        http.post(routes.authorizer_refresh(AUTHORIZER))
            .bearer_auth(&key)
            .json(&json!({ "stale": at })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(fake.calls(Endpoint::AuthorizerToken), before + 1);
    secrets.add(
        "authorizer_access_token",
        r.json()["authorizer_access_token"].as_str().unwrap(),
    );
    let r = send(
        http.post(routes.component_refresh())
            .bearer_auth(&key)
            .json(&json!({ "stale": ct })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    secrets.add(
        "component_access_token",
        r.json()["component_access_token"].as_str().unwrap(),
    );
    secrets.note_fake_tokens(&fake);

    // A message for the account, to the callback route.
    let msg = fake
        .push_text_message(AUTHORIZER, "oUserOpenid000000000000001", "hello")
        .unwrap();
    secrets.add("push signature", msg.query.signature.clone());
    secrets.add("push msg_signature", msg.query.msg_signature.clone());
    let callback = routes.callback(AUTHORIZER);
    let a = send(http.post(msg.url(&callback)).body(msg.body.clone())).await;
    assert_eq!((a.status, a.body.as_str()), (200, "success"));

    // An import with a refresh token WeChat does not know.
    let bogus = format!("refreshtoken@@@{}", random_key());
    secrets.add("imported refresh token", bogus.clone());
    let imported = answers.keep(
        "import results",
        send(
            http.post(&import)
                .bearer_auth(&key)
                .json(&json!({"authorizers": [{"authorizer_appid": "wxa0e5000000000002", "refresh_token": bogus}]})),
        )
        .await,
    );
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert_eq!(
        imported.json()["results"][0]["ok"],
        false,
        "{}",
        imported.body
    );

    // Error paths.
    fake.advance(std::time::Duration::from_secs(1));
    let push = fake.push_ticket().unwrap();
    secrets.add("component_verify_ticket", fake.current_ticket().unwrap());
    secrets.add("push signature", push.query.signature.clone());
    secrets.add("push msg_signature", push.query.msg_signature.clone());
    let tampered = push
        .url(&routes.push())
        .replace("msg_signature=", "msg_signature=0");
    let bad_sig = answers.keep(
        "push with a wrong signature",
        send(http.post(&tampered).body(push.body.clone())).await,
    );
    assert_eq!(bad_sig.status, 400, "{}", bad_sig.body);
    let not_xml = answers.keep(
        "push that is not XML",
        send(http.post(push.url(&routes.push())).body("{not xml")).await,
    );
    assert_eq!(not_xml.status, 400);
    let msg = fake
        .push_text_message(AUTHORIZER, "oUserOpenid000000000000001", "again")
        .unwrap();
    secrets.add("push signature", msg.query.signature.clone());
    secrets.add("push msg_signature", msg.query.msg_signature.clone());
    let bad_msg = answers.keep(
        "message with a wrong signature",
        send(
            http.post(
                msg.url(&callback)
                    .replace("msg_signature=", "msg_signature=1"),
            )
            .body(msg.body.clone()),
        )
        .await,
    );
    assert_eq!(bad_msg.status, 400);
    let no_key = answers.keep(
        "no bearer key",
        send(http.get(routes.component_token())).await,
    );
    assert_eq!(no_key.status, 401);
    let wrong = answers.keep(
        "wrong bearer key",
        send(http.get(routes.component_token()).bearer_auth(&wrong_key)).await,
    );
    assert_eq!(wrong.status, 401);
    let unknown = answers.keep(
        "unknown account",
        send(
            http.get(routes.authorizer_token("wxa0e5000000000009"))
                .bearer_auth(&key),
        )
        .await,
    );
    assert!(unknown.status >= 400, "{}", unknown.body);
    let unknown_code = format!("queryauthcode@@@{}", random_key());
    secrets.add("unknown auth_code", unknown_code.clone());
    let bad_redirect = answers.keep(
        "redirect with an unknown auth_code",
        send(http.get(format!(
            "{}?auth_code={unknown_code}&expires_in=600",
            routes.authorized()
        )))
        .await,
    );
    assert!(bad_redirect.status >= 400, "{}", bad_redirect.body);
    let current = fake.authorizer_access_token(AUTHORIZER).unwrap();
    fake.inject(
        FaultRule::new(Fault::Http(502))
            .on(Endpoint::AuthorizerToken)
            .always(),
    );
    let upstream_down = answers.keep(
        "refresh while WeChat answers 502",
        send(
            http.post(routes.authorizer_refresh(AUTHORIZER))
                .bearer_auth(&key)
                .json(&json!({ "stale": current })),
        )
        .await,
    );
    assert_eq!(upstream_down.status, 502, "{}", upstream_down.body);
    fake.clear_faults();
    let ready = answers.keep("readyz", send(http.get(routes.readyz())).await);
    assert_eq!(ready.status, 200, "{}", ready.body);
    let metrics = answers.keep(
        "metrics",
        send(http.get(format!("{}/metrics", s.internal))).await,
    );
    assert_eq!(metrics.status, 200);
    secrets.note_fake_tokens(&fake);

    // Stop, collect.
    assert!(s.terminate().success(), "{:?}", s.stderr_lines());
    let stdout = s.stdout_lines();
    let stderr = s.stderr_lines();

    // Logging works: JSON lines with the events the flow caused.
    assert!(stdout.len() >= 30, "only {} log lines", stdout.len());
    let mut messages = BTreeSet::new();
    let mut routes = BTreeSet::new();
    for line in &stdout {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let fields = &v["fields"];
        if let Some(m) = fields["message"].as_str() {
            messages.insert(m.to_owned());
        }
        if fields["message"] == "http request" {
            routes.insert(format!(
                "{} {}",
                fields["route"].as_str().unwrap_or("?"),
                fields["status"].as_str().unwrap_or("?")
            ));
        }
    }
    for m in [
        "wxopen serve listening",
        "http request",
        "push refused",
        "authorization from the push stored",
        "message received",
        "authorizer token refresh requested",
        "component token refresh requested",
        "importing authorizers",
        "shutting down: finishing in-flight requests",
        "stopped",
    ] {
        assert!(messages.contains(m), "no {m:?} in the logs: {messages:#?}");
    }
    for r in [
        "/wechat/{component}/component 200",
        "/wechat/{component}/component 400",
        "/wechat/{component}/authorize 200",
        "/wechat/{component}/authorized 200",
        "/wechat/{component}/callback/{authorizer} 200",
        "/wechat/{component}/callback/{authorizer} 400",
        "/v1/{component}/component/token 401",
        "/v1/{component}/authorizers/{appid}/token/refresh 200",
        "/v1/{component}/authorizers/{appid}/token/refresh 502",
    ] {
        assert!(routes.contains(r), "no request line for {r}: {routes:#?}");
    }

    // No secret anywhere.
    let needles = secrets.needles();
    let lines: Vec<&String> = stdout.iter().chain(stderr.iter()).collect();
    let mut hits = Vec::new();
    for (name, needle) in &needles {
        for line in &lines {
            if line.contains(needle.as_str()) {
                hits.push(format!("log: {name}: {line}"));
            }
        }
        for (what, a) in &answers.0 {
            if a.body.contains(needle.as_str()) {
                hits.push(format!(
                    "answer ({what}, HTTP {}): {name}: {}",
                    a.status, a.body
                ));
            }
        }
    }
    eprintln!(
        "serve_logs: {} log lines ({} stdout, {} stderr) and {} answers searched for {} secrets ({} needles): {} hits; {} distinct log messages",
        lines.len(),
        stdout.len(),
        stderr.len(),
        answers.0.len(),
        secrets.0.len(),
        needles.len(),
        hits.len(),
        messages.len()
    );
    if std::env::var_os("WXOPEN_TEST_SHOW_LOGS").is_some() {
        for l in &lines {
            eprintln!("{l}");
        }
    }
    assert!(hits.is_empty(), "secrets found:\n{}", hits.join("\n"));
}
