//! Web authorization (代公众号网页授权) and mini-program login (代小程序登录) on behalf of an
//! account, against the stateful fake: link → consent → redirect → exchange with the component
//! token → userinfo; one upstream exchange per code however many callers, instances, repeats
//! or dropped callers; `session_key` never in Debug or logs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wxopen_client::user_oauth::{parse_oauth_callback, CodeRefusal, OAuthCallback, OAuthScope};
use wxopen_client::{
    ComponentClient, ComponentConfig, Jitter, JsCode, MemoryStore, OAuthCode, RetryPolicy,
    TokenStore,
};
use wxopen_fake::{
    Endpoint, FakeConfig, FakeWeChat, Fault, FaultRule, JSCODE2SESSION, OAUTH_EXCHANGE,
    OAUTH_REFRESH, USERINFO,
};

const T0: u64 = 1_700_000_000;
const ACCOUNT: &str = "wx0fa0000000000001";
const MINI: &str = "wx0fa0000000000002";

fn config(fake: &FakeWeChat) -> ComponentConfig {
    fake.client_config()
        .unwrap()
        .with_retry(RetryPolicy::immediate(1))
        .with_timeouts(Duration::from_secs(10), Duration::from_secs(2))
        .with_refresh(Duration::from_secs(600), Jitter::None)
}

/// The fake, two instances over one store, and two authorized accounts.
async fn two_instances() -> (FakeWeChat, ComponentClient, ComponentClient) {
    let fake = FakeWeChat::start_with(FakeConfig {
        start_unix: Some(T0),
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let a = fake
        .client_builder(config(&fake))
        .store(store.clone())
        .build()
        .unwrap();
    let b = fake
        .client_builder(config(&fake))
        .store(store)
        .build()
        .unwrap();
    fake.push_ticket().unwrap().deliver_to(&a).await.unwrap();
    for appid in [ACCOUNT, MINI] {
        fake.push_authorized(appid)
            .unwrap()
            .deliver_to(&a)
            .await
            .unwrap();
    }
    (fake, a, b)
}

/// A user consents to a link from `client`; the redirect's code.
fn consent(fake: &FakeWeChat, client: &ComponentClient, user: &str, state: &str) -> OAuthCode {
    let link = client
        .oauth_url(
            ACCOUNT,
            "https://host.example/cb?from=menu",
            OAuthScope::UserInfo,
            state,
        )
        .unwrap();
    let redirect = fake.oauth_consent(&link, user).unwrap();
    let url = url::Url::parse(&redirect).unwrap();
    assert_eq!(
        url.as_str().split('?').next(),
        Some("https://host.example/cb")
    );
    match parse_oauth_callback(url.query().unwrap()).unwrap() {
        OAuthCallback::Granted {
            code,
            state: s,
            appid,
        } => {
            assert_eq!(s, state);
            assert_eq!(appid.as_deref(), Some(ACCOUNT));
            code
        }
        other => panic!("not a grant: {other:?}"),
    }
}

/// A raw call to the fake's exchange, as a peer that sends the wrong token would make it.
async fn raw_exchange(fake: &FakeWeChat, code: &str, token: &str) -> serde_json::Value {
    let url = format!(
        "{}/sns/oauth2/component/access_token?appid={ACCOUNT}&code={code}&grant_type=authorization_code&component_appid={}&component_access_token={token}",
        fake.primary_url(),
        fake.component_appid()
    );
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn link_consent_exchange_with_the_component_token_then_userinfo() {
    let (fake, a, _b) = two_instances().await;
    let code = consent(&fake, &a, "alice", "s-1");
    // The fake refuses the account's own token, as WeChat does (the peers' common 40001), and
    // that refusal does not spend the code.
    let own = a.authorizer_access_token(ACCOUNT).await.unwrap();
    let refused = raw_exchange(&fake, code.expose_secret(), own.expose_secret()).await;
    assert_eq!(refused["errcode"], 40001, "{refused}");
    let token = a.exchange_oauth_code(ACCOUNT, &code).await.unwrap();
    assert_eq!(token.openid, fake.openid_of(ACCOUNT, "alice"));
    assert_eq!(token.scope, "snsapi_userinfo");
    assert_eq!(token.expires_in, 7200);
    assert_eq!(fake.successes(OAUTH_EXCHANGE), 1);
    let info = a
        .oauth_userinfo(&token.access_token, &token.openid, None)
        .await
        .unwrap();
    assert_eq!(info.openid, token.openid);
    assert_eq!(fake.successes(USERINFO), 1);
    // Refresh with the component token: a new user token for the same user.
    let refreshed = a
        .refresh_oauth_token(ACCOUNT, &token.refresh_token)
        .await
        .unwrap();
    assert_eq!(refreshed.openid, token.openid);
    assert_ne!(refreshed.access_token, token.access_token);
    assert_eq!(fake.successes(OAUTH_REFRESH), 1);
    // A user who refuses comes back without a code: a typed outcome, not an error.
    let link = a
        .oauth_url(ACCOUNT, "https://host.example/cb", OAuthScope::Base, "s-2")
        .unwrap();
    let back = url::Url::parse(&fake.oauth_refuse(&link).unwrap()).unwrap();
    assert_eq!(
        parse_oauth_callback(back.query().unwrap()).unwrap(),
        OAuthCallback::Refused {
            state: "s-2".into(),
            appid: Some(ACCOUNT.into())
        }
    );
}

#[tokio::test]
async fn the_consent_page_over_http_redirects_with_code_state_and_appid() {
    let (fake, a, _b) = two_instances().await;
    let link = a
        .oauth_url(ACCOUNT, "https://host.example/cb", OAuthScope::Base, "s-3")
        .unwrap();
    let on_fake = link
        .replace("https://open.weixin.qq.com", &fake.primary_url())
        .replace("#wechat_redirect", "");
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = http.get(&on_fake).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let back = url::Url::parse(&location).unwrap();
    let OAuthCallback::Granted { code, state, .. } =
        parse_oauth_callback(back.query().unwrap()).unwrap()
    else {
        panic!("no code in {location}")
    };
    assert_eq!(state, "s-3");
    let token = a.exchange_oauth_code(ACCOUNT, &code).await.unwrap();
    assert_eq!(token.openid, fake.openid_of(ACCOUNT, "user"));
    assert_eq!(token.scope, "snsapi_base");
    // `snsapi_base` does not read the profile.
    let e = a
        .oauth_userinfo(&token.access_token, &token.openid, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(48001), "{e}");
    // An exchange without a code: 41008.
    let ctoken = fake.component_access_token().unwrap();
    assert_eq!(raw_exchange(&fake, "", &ctoken).await["errcode"], 41008);
}

#[tokio::test]
async fn a_code_used_twice_concurrently_and_sequentially_is_exchanged_once() {
    let (fake, a, b) = two_instances().await;
    let code = consent(&fake, &a, "bob", "s");
    // Ten callers on each instance at once.
    let calls = (0..20).map(|i| {
        let (client, code) = (if i % 2 == 0 { a.clone() } else { b.clone() }, code.clone());
        async move { client.exchange_oauth_code(ACCOUNT, &code).await }
    });
    let results = futures_util::future::join_all(calls).await;
    let first = results[0].as_ref().unwrap().clone();
    for r in &results {
        assert_eq!(
            r.as_ref().unwrap(),
            &first,
            "every caller gets the one result"
        );
    }
    assert_eq!(fake.calls(OAUTH_EXCHANGE), 1, "one upstream exchange");
    // Later, on either instance: the same result, no call.
    assert_eq!(b.exchange_oauth_code(ACCOUNT, &code).await.unwrap(), first);
    assert_eq!(a.exchange_oauth_code(ACCOUNT, &code).await.unwrap(), first);
    assert_eq!(fake.calls(OAUTH_EXCHANGE), 1);
    // What a second exchange would have met at WeChat: 40163.
    let token = fake.component_access_token().unwrap();
    let second = raw_exchange(&fake, code.expose_secret(), &token).await;
    assert_eq!(second["errcode"], 40163, "{second}");
}

#[tokio::test]
async fn a_refused_code_is_a_typed_error_shared_without_a_second_call() {
    let (fake, a, b) = two_instances().await;
    let junk = OAuthCode::new("never-issued");
    let e = a.exchange_oauth_code(ACCOUNT, &junk).await.unwrap_err();
    assert_eq!(
        e.code().and_then(CodeRefusal::from_errcode),
        Some(CodeRefusal::InvalidCode),
        "{e}"
    );
    let e = b.exchange_oauth_code(ACCOUNT, &junk).await.unwrap_err();
    assert_eq!(e.code(), Some(40029), "{e}");
    assert_eq!(fake.calls(OAUTH_EXCHANGE), 1);
    // A code past its 5 minutes is invalid too.
    let late = consent(&fake, &a, "carol", "s");
    fake.advance(Duration::from_secs(301));
    let e = a.exchange_oauth_code(ACCOUNT, &late).await.unwrap_err();
    assert_eq!(e.code(), Some(40029), "{e}");
}

#[tokio::test]
async fn a_caller_dropped_mid_exchange_loses_nothing() {
    let (fake, a, b) = two_instances().await;
    let code = consent(&fake, &a, "dave", "s");
    a.component_access_token().await.unwrap();
    fake.inject(
        FaultRule::new(Fault::Delay(Duration::from_millis(800)))
            .on(OAUTH_EXCHANGE)
            .times(1),
    );
    let caller = tokio::spawn({
        let (a, code) = (a.clone(), code.clone());
        async move { a.exchange_oauth_code(ACCOUNT, &code).await }
    });
    // Wait until the exchange has reached WeChat, then the caller goes away.
    while fake.calls(OAUTH_EXCHANGE) == 0 {
        tokio::task::yield_now().await;
    }
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());
    // The next caller, on the other instance, gets the result of that one exchange.
    // (Bounded: without the outcome, b would wait on a claim nobody settles.)
    let token = tokio::time::timeout(
        Duration::from_secs(30),
        b.exchange_oauth_code(ACCOUNT, &code),
    )
    .await
    .expect("the dropped caller's exchange was lost")
    .unwrap();
    assert_eq!(token.openid, fake.openid_of(ACCOUNT, "dave"));
    assert_eq!(a.exchange_oauth_code(ACCOUNT, &code).await.unwrap(), token);
    assert_eq!(fake.calls(OAUTH_EXCHANGE), 1);
}

#[tokio::test]
async fn a_component_token_rejected_mid_exchange_is_refreshed_once_and_the_code_still_works() {
    let (fake, a, _b) = two_instances().await;
    let code = consent(&fake, &a, "erin", "s");
    a.component_access_token().await.unwrap();
    let before = fake.calls(Endpoint::ComponentToken);
    fake.inject(
        FaultRule::new(Fault::Errcode(40001))
            .on(OAUTH_EXCHANGE)
            .times(1),
    );
    let token = a.exchange_oauth_code(ACCOUNT, &code).await.unwrap();
    assert_eq!(token.openid, fake.openid_of(ACCOUNT, "erin"));
    assert_eq!(
        fake.calls(Endpoint::ComponentToken),
        before + 1,
        "one refresh"
    );
    assert_eq!(fake.calls(OAUTH_EXCHANGE), 2, "one retry");
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn jscode2session_once_per_code_typed_refusals_and_no_session_key_in_debug_or_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (fake, a, b) = two_instances().await;
    let js_code = JsCode::new(fake.mint_js_code(MINI, "frank").unwrap());
    let calls = (0..10).map(|i| {
        let (client, code) = (
            if i % 2 == 0 { a.clone() } else { b.clone() },
            js_code.clone(),
        );
        async move { client.jscode2session(MINI, &code).await }
    });
    let results = futures_util::future::join_all(calls).await;
    let session = results[0].as_ref().unwrap().clone();
    assert!(results.iter().all(|r| r.as_ref().unwrap() == &session));
    assert_eq!(session.openid, fake.openid_of(MINI, "frank"));
    assert_eq!(a.jscode2session(MINI, &js_code).await.unwrap(), session);
    assert_eq!(
        fake.calls(JSCODE2SESSION),
        1,
        "one upstream call per js_code"
    );

    // A high-risk user: 40226, typed, settled.
    fake.mark_high_risk(MINI, "grace");
    let risky = JsCode::new(fake.mint_js_code(MINI, "grace").unwrap());
    for client in [&a, &b] {
        let e = client.jscode2session(MINI, &risky).await.unwrap_err();
        assert_eq!(
            e.code().and_then(CodeRefusal::from_errcode),
            Some(CodeRefusal::HighRiskUser),
            "{e}"
        );
    }
    assert_eq!(fake.calls(JSCODE2SESSION), 2);
    // 45011 does not settle the code: the next caller tries again and succeeds.
    let limited = JsCode::new(fake.mint_js_code(MINI, "heidi").unwrap());
    fake.inject(
        FaultRule::new(Fault::Errcode(45011))
            .on(JSCODE2SESSION)
            .times(1),
    );
    let e = a.jscode2session(MINI, &limited).await.unwrap_err();
    assert_eq!(
        e.code().and_then(CodeRefusal::from_errcode),
        Some(CodeRefusal::RateLimited)
    );
    assert!(b.jscode2session(MINI, &limited).await.is_ok());
    assert_eq!(fake.calls(JSCODE2SESSION), 4);

    let key = session.session_key.expose_secret().to_owned();
    assert!(key.len() > 8);
    let shown = format!("{session:?} {:?}", session.session_key);
    assert!(!shown.contains(&key), "{shown}");
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("jscode2session"),
        "the calls were logged: {logs}"
    );
    assert!(!logs.contains(&key), "session_key in the logs");
    assert!(
        !logs.contains(js_code.expose_secret()),
        "js_code in the logs"
    );
}
