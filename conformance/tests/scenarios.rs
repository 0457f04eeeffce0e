//! Whole-flow scenarios: `wxopen-client` against `FakeWeChat`, sharing one clock.
//!
//! One test, `scenarios`, runs every scenario exactly once (each in its own task, bounded in
//! time), prints one line per scenario and the summary from those same results
//! (`cargo test -p conformance --test scenarios -- --nocapture`). Set `WXOPEN_SCENARIO=<name>`
//! to run only the scenarios whose name contains `<name>`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wxopen_client::{
    AuthPage, AuthUrlOptions, AuthorizationCode, AuthorizerRecord, AuthorizerRefreshToken,
    ComponentClient, ComponentConfig, ComponentEvent, Error, Jitter, MemoryStore, RetryPolicy,
    StoreKey, StoredValue, TokenStore,
};
use wxopen_fake::{
    AuthorizerKind, Endpoint, FakeConfig, FakeWeChat, Fault, FaultRule, Host, Outcome, Push,
    PushKind,
};

const T0: u64 = 1_700_000_000;
const OA: &str = "wx0fa0000000000001";
const MP: &str = "wx0fa0000000000002";

struct Env {
    fake: FakeWeChat,
    client: ComponentClient,
    store: Arc<MemoryStore>,
}

/// The settings every scenario starts from: the fake's credentials and hosts, quick bounded
/// retries (2 attempts per host, no waiting), short timeouts, a 10-minute refresh margin with no
/// jitter (so "ahead of expiry" is exact).
fn base_config(fake: &FakeWeChat) -> ComponentConfig {
    fake.client_config()
        .unwrap()
        .with_retry(RetryPolicy::immediate(2))
        .with_timeouts(Duration::from_millis(700), Duration::from_millis(500))
        .with_refresh(Duration::from_secs(600), Jitter::None)
        .with_lease(Duration::from_secs(30), Duration::from_secs(2))
}

async fn fake() -> FakeWeChat {
    FakeWeChat::start_with(FakeConfig {
        start_unix: Some(T0),
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

fn client_on(fake: &FakeWeChat, store: &Arc<MemoryStore>, cfg: ComponentConfig) -> ComponentClient {
    let store: Arc<dyn TokenStore> = store.clone();
    fake.client_builder(cfg).store(store).build().unwrap()
}

async fn env() -> Env {
    let fake = fake().await;
    let store = Arc::new(MemoryStore::new());
    let client = client_on(&fake, &store, base_config(&fake));
    Env {
        fake,
        client,
        store,
    }
}

impl Env {
    /// WeChat pushes a fresh ticket; the client's handler takes it.
    async fn ticket(&self) -> Push {
        let push = self.fake.push_ticket().unwrap();
        let ack = push.deliver_to(&self.client).await.unwrap();
        assert_eq!(ack.reply, "success");
        assert!(ack.ticket_stored);
        push
    }

    /// The full authorization of `appid` as a host application does it: URL with a fresh
    /// pre-auth code, admin consent, `authorized` push, `query_auth`.
    async fn authorize(&self, appid: &str, kind: AuthorizerKind) -> String {
        let request = self
            .client
            .authorization_url(AuthPage::Pc, &AuthUrlOptions::new("https://example.com/cb"))
            .await
            .unwrap();
        assert!(request
            .url
            .starts_with("https://mp.weixin.qq.com/cgi-bin/componentloginpage?"));
        assert!(request.expires_at > self.client.clock().unix_seconds());
        let consent = self
            .fake
            .simulate_admin_consent_as(request.pre_auth_code.expose_secret(), appid, kind)
            .unwrap();
        // The browser comes back to the redirect URI with the code…
        let callback = wxopen_client::AuthCallback::from_query(&consent.redirect_query).unwrap();
        assert_eq!(callback.expires_in, 600);
        // …and the `authorized` push carries the same code and names the pre-auth code, which
        // ties it to the visit that started it.
        let ack = consent.push.deliver_to(&self.client).await.unwrap();
        let code = match &ack.event {
            ComponentEvent::Authorized(g) | ComponentEvent::UpdateAuthorized(g) => {
                assert_eq!(g.authorizer_appid, appid);
                if let Some(pre) = &g.pre_auth_code {
                    assert_eq!(pre, &request.pre_auth_code);
                }
                g.authorization_code.expose_secret().to_owned()
            }
            other => panic!("unexpected event {other:?}"),
        };
        assert_eq!(
            code, consent.auth_code,
            "push and redirect carry the same code"
        );
        assert_eq!(callback.auth_code.expose_secret(), code);
        let info = self
            .client
            .query_auth(&AuthorizationCode::new(code))
            .await
            .unwrap();
        assert_eq!(info.authorizer_appid, appid);
        info.authorizer_access_token
            .map(|t| t.expose_secret().to_owned())
            .unwrap()
    }

    async fn record(&self, appid: &str) -> Option<AuthorizerRecord> {
        self.client.authorizer_record(appid).await.unwrap()
    }
}

fn advance(fake: &FakeWeChat, secs: u64) {
    fake.advance(Duration::from_secs(secs));
}

// ------------------------------------------------------------------------------------- flows

/// First ticket push → component token → pre-auth code and URL → consent → authorized push →
/// query_auth → authorizer token served from the store → clock past expiry → exactly one
/// refresh, whose token the platform accepts.
async fn happy_path() {
    let e = env().await;
    e.ticket().await;
    assert_eq!(
        e.fake.total_calls(),
        0,
        "the push handler made no upstream call"
    );

    let ct = e.client.component_access_token().await.unwrap();
    assert_eq!(
        e.fake.component_access_token().as_deref(),
        Some(ct.expose_secret())
    );
    let first_access = e.authorize(OA, AuthorizerKind::OfficialAccount).await;
    let rec = e.record(OA).await.unwrap();
    assert_eq!(
        Some(
            rec.refresh_token
                .as_ref()
                .unwrap()
                .expose_secret()
                .to_owned()
        ),
        e.fake.authorizer_refresh_token(OA),
        "refresh token stored by query_auth"
    );
    // Served from the store: no api_authorizer_token call.
    let t = e.client.authorizer_access_token(OA).await.unwrap();
    assert_eq!(t.expose_secret(), first_access);
    assert_eq!(e.fake.calls(Endpoint::AuthorizerToken), 0);

    advance(&e.fake, 7200);
    let refreshed = e.client.authorizer_access_token(OA).await.unwrap();
    assert_ne!(refreshed.expose_secret(), first_access);
    assert_eq!(
        e.fake.calls(Endpoint::AuthorizerToken),
        1,
        "exactly one refresh"
    );
    assert_eq!(
        e.fake.successes(Endpoint::ComponentToken),
        2,
        "component token renewed once"
    );
    assert_eq!(
        e.fake
            .check_authorizer_access_token(OA, refreshed.expose_secret()),
        Ok(())
    );
    assert_eq!(
        e.fake.check_authorizer_access_token(OA, &first_access),
        Err(42001)
    );
    // And it works for a call on the account's behalf.
    let opt = e
        .client
        .authorizer_option(OA, "voice_recognize")
        .await
        .unwrap();
    assert_eq!(opt.option_value, "0");
}

/// A second client on the same in-process store (the first one dropped) picks up the ticket,
/// the component token and the authorizer tokens: no new api_component_token, no
/// api_authorizer_token. (Not a process restart: the store never leaves memory.)
async fn new_client_on_the_same_store_reuses_its_tokens() {
    let e = env().await;
    e.ticket().await;
    let ct = e.client.component_access_token().await.unwrap();
    let at = e.authorize(OA, AuthorizerKind::OfficialAccount).await;
    let before = e.fake.total_calls();
    drop(e.client);

    let second = client_on(&e.fake, &e.store, base_config(&e.fake));
    advance(&e.fake, 3600);
    assert_eq!(
        second
            .component_access_token()
            .await
            .unwrap()
            .expose_secret(),
        ct.expose_secret()
    );
    assert_eq!(
        second
            .authorizer_access_token(OA)
            .await
            .unwrap()
            .expose_secret(),
        at
    );
    let url = second
        .authorization_url(AuthPage::H5, &AuthUrlOptions::new("https://example.com/cb"))
        .await
        .unwrap();
    assert!(url.url.contains("pre_auth_code=preauthcode%40%40%40"));
    assert_eq!(e.fake.calls(Endpoint::ComponentToken), 1);
    assert_eq!(e.fake.calls(Endpoint::AuthorizerToken), 0);
    assert_eq!(
        e.fake.total_calls(),
        before + 1,
        "only the pre-auth code was fetched"
    );
}

/// 200 concurrent callers for a missing component token, then 200 for an expired authorizer
/// token: one upstream call each.
async fn concurrent_callers_single_flight() {
    let e = env().await;
    e.ticket().await;
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let c = e.client.clone();
        tasks.push(tokio::spawn(
            async move { c.component_access_token().await },
        ));
    }
    let mut tokens = std::collections::BTreeSet::new();
    for t in tasks {
        tokens.insert(t.await.unwrap().unwrap().expose_secret().to_owned());
    }
    assert_eq!(tokens.len(), 1, "every caller got the same token");
    assert_eq!(e.fake.calls(Endpoint::ComponentToken), 1);

    e.authorize(OA, AuthorizerKind::OfficialAccount).await;
    advance(&e.fake, 7300);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let c = e.client.clone();
        tasks.push(tokio::spawn(
            async move { c.authorizer_access_token(OA).await },
        ));
    }
    let mut tokens = std::collections::BTreeSet::new();
    for t in tasks {
        tokens.insert(t.await.unwrap().unwrap().expose_secret().to_owned());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        e.fake.calls(Endpoint::AuthorizerToken),
        1,
        "one refresh for 200 callers"
    );
    assert_eq!(
        e.fake.calls(Endpoint::ComponentToken),
        2,
        "one component renewal too"
    );
}

/// Clock jumps: inside the refresh margin the caller gets the still-valid token at once while
/// one background refresh renews it ahead of expiry (old one still valid); a jump past expiry
/// renews before use; the platform rejects the old token by then.
async fn clock_jumps_past_expiry() {
    let e = env().await;
    e.ticket().await;
    let t1 = e.client.component_access_token().await.unwrap();
    advance(&e.fake, 7200 - 600 - 1);
    assert_eq!(
        e.client
            .component_access_token()
            .await
            .unwrap()
            .expose_secret(),
        t1.expose_secret()
    );
    assert_eq!(e.fake.calls(Endpoint::ComponentToken), 1, "fresh: no call");
    advance(&e.fake, 1);
    let mut events = e.client.subscribe();
    let ahead = e.client.component_access_token().await.unwrap();
    assert_eq!(
        ahead.expose_secret(),
        t1.expose_secret(),
        "no wait on the network"
    );
    loop {
        if let wxopen_client::ClientEvent::ComponentTokenRefreshed { .. } =
            events.recv().await.unwrap()
        {
            break;
        }
    }
    let t2 = e.client.component_access_token().await.unwrap();
    assert_ne!(
        t2.expose_secret(),
        t1.expose_secret(),
        "renewed ahead of expiry"
    );
    assert_eq!(
        e.fake.check_component_access_token(t1.expose_secret()),
        Ok(()),
        "old still in grace"
    );

    advance(&e.fake, 10 * 3600);
    let t3 = e.client.component_access_token().await.unwrap();
    assert_ne!(t3.expose_secret(), t2.expose_secret());
    assert_eq!(
        e.fake.check_component_access_token(t2.expose_secret()),
        Err(42001)
    );
    assert_eq!(
        e.fake.check_component_access_token(t3.expose_secret()),
        Ok(())
    );
    assert_eq!(e.fake.calls(Endpoint::ComponentToken), 3);
    assert!(e.client.pre_auth_code().await.is_ok());
}

// ------------------------------------------------------------------------------------ faults

/// 40001 / 42001 / 40014 on a call: only that token is dropped, one refresh, one retry; a second
/// consecutive rejection is reported, never retried again.
async fn token_errors_refresh_once_and_retry_once() {
    let e = env().await;
    e.ticket().await;
    e.client.component_access_token().await.unwrap();
    for (i, code) in [40001, 42001, 40014].into_iter().enumerate() {
        e.fake
            .fail_next(Endpoint::CreatePreAuthCode, 1, Fault::Errcode(code));
        e.client.pre_auth_code().await.unwrap();
        assert_eq!(
            e.fake.calls(Endpoint::ComponentToken),
            2 + i,
            "{code}: one refresh"
        );
        assert_eq!(
            e.fake.calls(Endpoint::CreatePreAuthCode),
            2 * (i + 1),
            "{code}: one retry"
        );
    }
    e.fake
        .fail_next(Endpoint::CreatePreAuthCode, 2, Fault::Errcode(40001));
    let err = e.client.pre_auth_code().await.unwrap_err();
    assert!(err.is_token_invalid(), "{err}");
    assert_eq!(err.code(), Some(40001));
    assert_eq!(
        e.fake.calls(Endpoint::ComponentToken),
        5,
        "still exactly one refresh"
    );
    assert_eq!(e.fake.calls(Endpoint::CreatePreAuthCode), 8);

    // Same rule for an authorizer token used on the account's behalf.
    e.authorize(OA, AuthorizerKind::OfficialAccount).await;
    e.fake
        .fail_next(Endpoint::GetAuthorizerOption, 1, Fault::Errcode(40001));
    e.client
        .authorizer_option(OA, "location_report")
        .await
        .unwrap();
    assert_eq!(e.fake.calls(Endpoint::AuthorizerToken), 1);
    assert_eq!(e.fake.calls(Endpoint::GetAuthorizerOption), 2);
}

/// The platform keeps a superseded token alive ~5 minutes: another instance's refresh does not
/// break this one at once; after the grace period the 40001 triggers one refresh and one retry.
async fn superseded_token_grace_then_recovery() {
    let e = env().await;
    let push = e.ticket().await;
    let mine = e.client.component_access_token().await.unwrap();
    // A second instance with its own store (e.g. another deployment) takes a token too.
    let other_store = Arc::new(MemoryStore::new());
    let other = client_on(&e.fake, &other_store, base_config(&e.fake));
    push.deliver_to(&other).await.unwrap();
    let theirs = other.component_access_token().await.unwrap();
    assert_ne!(mine.expose_secret(), theirs.expose_secret());

    advance(&e.fake, 299);
    e.client.pre_auth_code().await.unwrap();
    assert_eq!(
        e.fake.calls(Endpoint::ComponentToken),
        2,
        "grace: no refresh needed"
    );
    advance(&e.fake, 1);
    e.client.pre_auth_code().await.unwrap();
    assert_eq!(
        e.fake.calls(Endpoint::ComponentToken),
        3,
        "one refresh after the grace period"
    );
    let log = e.fake.call_log();
    let pre: Vec<_> = log
        .iter()
        .filter(|r| r.endpoint == Some(Endpoint::CreatePreAuthCode))
        .map(|r| r.outcome.clone())
        .collect();
    assert_eq!(pre, vec![Outcome::Ok, Outcome::Errcode(40001), Outcome::Ok]);
}

/// -1 and HTTP 5xx: bounded retries on the primary, then the fallback; when both hosts fail the
/// error comes back after exactly attempts-per-host × hosts calls.
async fn busy_and_5xx_bounded_retry_then_fallback() {
    let e = env().await;
    e.ticket().await;
    e.client.component_access_token().await.unwrap();

    e.fake
        .fail_next(Endpoint::CreatePreAuthCode, 1, Fault::Errcode(-1));
    e.client.pre_auth_code().await.unwrap();
    assert_eq!(
        e.fake.calls_on(Host::Primary, Endpoint::CreatePreAuthCode),
        2
    );
    assert_eq!(
        e.fake.calls_on(Host::Fallback, Endpoint::CreatePreAuthCode),
        0
    );

    e.fake.inject(
        FaultRule::new(Fault::Errcode(-1))
            .on(Endpoint::CreatePreAuthCode)
            .on_host(Host::Primary)
            .times(2),
    );
    e.client.pre_auth_code().await.unwrap();
    assert_eq!(
        e.fake.calls_on(Host::Primary, Endpoint::CreatePreAuthCode),
        4
    );
    assert_eq!(
        e.fake.calls_on(Host::Fallback, Endpoint::CreatePreAuthCode),
        1,
        "moved to api2"
    );

    e.fake.reset_counters();
    e.fake.inject(
        FaultRule::new(Fault::Http(503))
            .on(Endpoint::CreatePreAuthCode)
            .always(),
    );
    let err = e.client.pre_auth_code().await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(
        matches!(err, Error::HttpStatus { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(
        e.fake.calls(Endpoint::CreatePreAuthCode),
        4,
        "2 per host × 2 hosts, no more"
    );
    e.fake.clear_faults();

    e.fake.reset_counters();
    e.fake
        .fail_next(Endpoint::CreatePreAuthCode, 10, Fault::Errcode(-1));
    let err = e.client.pre_auth_code().await.unwrap_err();
    assert_eq!(err.code(), Some(-1));
    assert_eq!(e.fake.calls(Endpoint::CreatePreAuthCode), 4, "bounded");
}

/// A reply delayed past the client's timeout and a dropped connection are retried (and count as
/// attempts); the call still succeeds.
async fn timeouts_and_dropped_connections_retry() {
    let e = env().await;
    e.ticket().await;
    e.client.component_access_token().await.unwrap();
    e.fake.fail_next(
        Endpoint::CreatePreAuthCode,
        1,
        Fault::Delay(Duration::from_secs(3)),
    );
    let started = Instant::now();
    e.client.pre_auth_code().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "did not wait for the slow reply"
    );
    assert_eq!(e.fake.calls(Endpoint::CreatePreAuthCode), 2);

    e.fake
        .fail_next(Endpoint::CreatePreAuthCode, 1, Fault::Drop);
    e.client.pre_auth_code().await.unwrap();
    assert_eq!(e.fake.calls(Endpoint::CreatePreAuthCode), 4);
    let dropped = e
        .fake
        .call_log()
        .iter()
        .filter(|r| r.outcome == Outcome::Dropped)
        .count();
    assert_eq!(dropped, 1);

    // Both hosts dropping everything: a transport error after the bounded attempts.
    e.fake.reset_counters();
    e.fake.inject(
        FaultRule::new(Fault::Drop)
            .on(Endpoint::CreatePreAuthCode)
            .always(),
    );
    let err = e.client.pre_auth_code().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(e.fake.calls(Endpoint::CreatePreAuthCode), 4);
}

/// The primary domain is unreachable (listener closed): every call goes to the fallback host;
/// a counted outage (connections dropped on the primary) shows the bounded attempts there.
/// (Holds with and without sticky failover: the second phase starts after the 5-minute
/// preference has lapsed.)
async fn dead_primary_fails_over() {
    let e = env().await;
    e.fake.kill_primary().await;
    e.ticket().await;
    e.client.component_access_token().await.unwrap();
    e.authorize(OA, AuthorizerKind::OfficialAccount).await;
    advance(&e.fake, 7200);
    e.client.authorizer_access_token(OA).await.unwrap();
    assert_eq!(e.fake.host_calls(Host::Primary), 0);
    assert_eq!(
        e.fake.calls_on(Host::Fallback, Endpoint::AuthorizerToken),
        1
    );
    assert!(e.fake.host_calls(Host::Fallback) >= 5);

    e.fake.revive_primary().await.unwrap();
    // With sticky failover the fallback stays preferred for 5 minutes after the primary's last
    // failure; once that has passed, calls start on the primary again.
    advance(&e.fake, 301);
    e.fake.reset_counters();
    e.fake
        .inject(FaultRule::new(Fault::Drop).on_host(Host::Primary).always());
    e.client.pre_auth_code().await.unwrap();
    assert_eq!(
        e.fake.calls_on(Host::Primary, Endpoint::CreatePreAuthCode),
        2
    );
    assert_eq!(
        e.fake.calls_on(Host::Fallback, Endpoint::CreatePreAuthCode),
        1
    );
}

/// Quota (45009) and configuration errors (61004, 40125) fail at once with a typed error and no
/// retry; clear_quota/v2 lifts an exhausted quota.
async fn quota_and_config_errors_fail_fast() {
    let e = env().await;
    e.ticket().await;
    e.client.component_access_token().await.unwrap();

    e.fake.exhaust_quota(Endpoint::CreatePreAuthCode);
    let err = e.client.pre_auth_code().await.unwrap_err();
    assert!(err.is_quota() && err.code() == Some(45009), "{err:?}");
    assert_eq!(
        e.fake.calls(Endpoint::CreatePreAuthCode),
        1,
        "no retry on quota"
    );
    e.client.clear_quota_v2(None).await.unwrap();
    e.client.pre_auth_code().await.unwrap();

    e.fake
        .fail_next(Endpoint::CreatePreAuthCode, 1, Fault::Errcode(61004));
    let err = e.client.pre_auth_code().await.unwrap_err();
    assert!(err.is_config() && err.code() == Some(61004), "{err:?}");
    assert_eq!(e.fake.calls(Endpoint::CreatePreAuthCode), 3);
    assert_eq!(e.fake.calls(Endpoint::ComponentToken), 1);

    // clear_quota has a monthly limit (48006, quota class); an unknown appid is 40013 (config).
    e.fake.reset_counters();
    let mut used = 1; // the reset above
    let err = loop {
        match e.client.clear_quota_v2(None).await {
            Ok(()) => used += 1,
            Err(err) => break err,
        }
        assert!(used <= 10, "the fake allows 10 resets");
    };
    assert!(err.is_quota() && err.code() == Some(48006), "{err:?}");
    assert_eq!(used, 10);
    assert_eq!(
        e.fake.calls(Endpoint::ClearQuotaV2),
        10,
        "no retry on 48006"
    );
    let err = e
        .client
        .clear_quota_v2(Some("wx_not_authorized"))
        .await
        .unwrap_err();
    assert!(err.is_config() && err.code() == Some(40013), "{err:?}");
    assert_eq!(e.fake.calls(Endpoint::ClearQuotaV2), 11);

    // A wrong appsecret is a config error on the token call itself.
    let store = Arc::new(MemoryStore::new());
    let mut cfg = base_config(&e.fake);
    cfg.component_appsecret = "not-the-secret".into();
    let wrong = client_on(&e.fake, &store, cfg);
    e.fake
        .push_ticket()
        .unwrap()
        .deliver_to(&wrong)
        .await
        .unwrap();
    let err = wrong.component_access_token().await.unwrap_err();
    assert!(err.is_config() && err.code() == Some(40125), "{err:?}");
    assert_eq!(
        e.fake.calls(Endpoint::ComponentToken),
        1,
        "one call, no retry"
    );
}

/// Ticket problems surface as typed errors without retry: none stored (no call at all), 61006
/// invalid, 61005 once the stored ticket is 12 h old; `start_push_ticket` makes WeChat push a new
/// one and the token call then works.
async fn ticket_errors_and_start_push_ticket() {
    let e = env().await;
    let err = e.client.component_access_token().await.unwrap_err();
    assert!(matches!(err, Error::TicketMissing), "{err:?}");
    assert_eq!(e.fake.total_calls(), 0);

    e.ticket().await;
    e.fake
        .fail_next(Endpoint::ComponentToken, 1, Fault::Errcode(61006));
    let err = e.client.component_access_token().await.unwrap_err();
    assert!(
        err.is_ticket_problem() && err.code() == Some(61006),
        "{err:?}"
    );
    assert_eq!(e.fake.calls(Endpoint::ComponentToken), 1);

    advance(&e.fake, 12 * 3600 + 1);
    let err = e.client.component_access_token().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::TicketRejected {
                errcode: 61005,
                stale: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(e.client.start_push_ticket().await.unwrap(), "ok");
    assert_eq!(e.fake.start_push_requests(), 1);
    for push in e.fake.drain_requested_pushes().unwrap() {
        assert!(push.deliver_to(&e.client).await.unwrap().ticket_stored);
    }
    e.client.component_access_token().await.unwrap();
    assert_eq!(e.fake.successes(Endpoint::ComponentToken), 1);
}

/// The refresh token was replaced behind the client's back: 61023 → the current one is found in
/// api_get_authorizer_list, stored, and the refresh retried once. An account the platform does
/// not list ends in MustReauthorize.
async fn refresh_token_recovered_from_list() {
    let e = env().await;
    e.ticket().await;
    e.authorize(OA, AuthorizerKind::OfficialAccount).await;
    let current = e.fake.rotate_refresh_token(OA).unwrap();
    advance(&e.fake, 7200);
    let token = e.client.authorizer_access_token(OA).await.unwrap();
    assert_eq!(
        e.fake
            .check_authorizer_access_token(OA, token.expose_secret()),
        Ok(())
    );
    assert_eq!(
        e.fake.calls(Endpoint::AuthorizerToken),
        2,
        "61023, then success"
    );
    assert_eq!(e.fake.calls(Endpoint::GetAuthorizerList), 1);
    assert_eq!(
        e.record(OA)
            .await
            .unwrap()
            .refresh_token
            .unwrap()
            .expose_secret(),
        current
    );

    // An (injected) 61023 for the current refresh token: the list is consulted once and holds
    // the same token; the outcome is bounded either way.
    e.fake.reset_counters();
    advance(&e.fake, 7200);
    e.fake
        .fail_next(Endpoint::AuthorizerToken, 1, Fault::Errcode(61023));
    match e.client.authorizer_access_token(OA).await {
        Ok(_) => assert_eq!(e.fake.calls(Endpoint::AuthorizerToken), 2),
        Err(err) => {
            assert!(err.must_reauthorize(), "{err:?}");
            assert_eq!(e.fake.calls(Endpoint::AuthorizerToken), 1);
        }
    }
    assert_eq!(e.fake.calls(Endpoint::GetAuthorizerList), 1);
    e.fake.reset_counters();

    // A record for an account the platform does not know.
    let key = StoreKey::authorizer(e.fake.component_appid(), "wx_not_listed");
    e.store
        .compare_and_set(
            &key,
            None,
            StoredValue::Authorizer(AuthorizerRecord {
                access_token: None,
                refresh_token: Some(AuthorizerRefreshToken::new("refreshtoken@@@lost")),
                obtained_at: 0,
                refresh_at: 0,
                expires_at: 0,
                authorized_at: 0,
                event_time: 0,
                token_serial: 0,
                func_info: None,
                func_info_removed: Vec::new(),
            }),
            None,
        )
        .await
        .unwrap();
    let err = e
        .client
        .authorizer_access_token("wx_not_listed")
        .await
        .unwrap_err();
    assert!(err.must_reauthorize(), "{err:?}");
    assert!(
        matches!(
            err,
            Error::MustReauthorize {
                errcode: Some(61023),
                ..
            }
        ),
        "{err:?}"
    );
    // The list was scanned above less than 10 minutes ago (and that scan restored every
    // listed account): no second scan.
    assert_eq!(e.fake.calls(Endpoint::GetAuthorizerList), 0);
}

/// Recovery pages through api_get_authorizer_list: with 500 other accounts authorized first,
/// the account is on the second page, found there, and the refresh retried once.
async fn refresh_token_recovery_pages_the_list() {
    let e = env().await;
    e.ticket().await;
    for i in 0..500 {
        e.fake.push_authorized(&format!("wx1000{i:012}")).unwrap();
    }
    advance(&e.fake, 1);
    e.authorize(OA, AuthorizerKind::OfficialAccount).await;
    let current = e.fake.rotate_refresh_token(OA).unwrap();
    advance(&e.fake, 7200);
    e.client.authorizer_access_token(OA).await.unwrap();
    assert_eq!(
        e.fake.calls(Endpoint::GetAuthorizerList),
        2,
        "two pages of 500"
    );
    assert_eq!(e.fake.calls(Endpoint::AuthorizerToken), 2);
    assert_eq!(
        e.record(OA)
            .await
            .unwrap()
            .refresh_token
            .unwrap()
            .expose_secret(),
        current
    );
}

/// Re-authorization (updateauthorized push + query_auth) replaces the stored refresh token; the
/// old one is dead on the platform and later refreshes use the new one without recovery.
async fn reauthorization_replaces_refresh_token() {
    let e = env().await;
    e.ticket().await;
    e.authorize(OA, AuthorizerKind::OfficialAccount).await;
    let old = e
        .record(OA)
        .await
        .unwrap()
        .refresh_token
        .unwrap()
        .expose_secret()
        .to_owned();
    e.authorize(OA, AuthorizerKind::OfficialAccount).await;
    let new = e
        .record(OA)
        .await
        .unwrap()
        .refresh_token
        .unwrap()
        .expose_secret()
        .to_owned();
    assert_ne!(old, new);
    assert_eq!(e.fake.authorizer_refresh_token(OA), Some(new));
    advance(&e.fake, 7200);
    e.client.authorizer_access_token(OA).await.unwrap();
    assert_eq!(e.fake.calls(Endpoint::AuthorizerToken), 1);
    assert_eq!(
        e.fake.calls(Endpoint::GetAuthorizerList),
        0,
        "no 61023, no recovery"
    );
}

/// `unauthorized` push: the client drops the account's tokens; asking again ends in
/// MustReauthorize (it is not in the list). An account revoked without the push (61003 on
/// refresh) ends the same way.
async fn unauthorized_accounts_must_reauthorize() {
    let e = env().await;
    e.ticket().await;
    e.authorize(OA, AuthorizerKind::OfficialAccount).await;
    e.authorize(MP, AuthorizerKind::MiniProgram).await;
    let ack = e
        .fake
        .push_unauthorized(OA)
        .unwrap()
        .deliver_to(&e.client)
        .await
        .unwrap();
    assert!(
        matches!(ack.event, ComponentEvent::Unauthorized { ref authorizer_appid, .. } if authorizer_appid == OA)
    );
    assert!(e.record(OA).await.is_none());
    let err = e.client.authorizer_access_token(OA).await.unwrap_err();
    assert!(err.must_reauthorize(), "{err:?}");
    assert_eq!(e.fake.calls(Endpoint::AuthorizerToken), 0);

    e.fake.push_unauthorized(MP).unwrap(); // never delivered
    advance(&e.fake, 7200);
    let err = e.client.authorizer_access_token(MP).await.unwrap_err();
    assert!(err.must_reauthorize(), "{err:?}");
    assert_eq!(err.code(), Some(61003));
}

/// The push endpoint answers from local work only, even when every API call would hang.
async fn push_handler_never_calls_upstream() {
    let e = env().await;
    e.fake
        .inject(FaultRule::new(Fault::Delay(Duration::from_secs(30))).always());
    let started = Instant::now();
    for _ in 0..3 {
        e.ticket().await;
        advance(&e.fake, 600);
    }
    let ack = e
        .fake
        .push_authorized(OA)
        .unwrap()
        .deliver_to(&e.client)
        .await
        .unwrap();
    assert_eq!(ack.reply, "success");
    let ack = e
        .fake
        .push_unauthorized(OA)
        .unwrap()
        .deliver_to(&e.client)
        .await
        .unwrap();
    assert_eq!(ack.reply, "success");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(e.fake.total_calls(), 0);
}

/// Duplicate and older ticket pushes never replace a newer ticket.
async fn duplicate_and_older_tickets_ignored() {
    let e = env().await;
    let first = e.ticket().await;
    let dup = e.fake.push_ticket_again().unwrap().unwrap();
    assert!(!dup.deliver_to(&e.client).await.unwrap().ticket_stored);
    advance(&e.fake, 600);
    let second = e.ticket().await;
    assert!(!first.deliver_to(&e.client).await.unwrap().ticket_stored);
    let PushKind::ComponentVerifyTicket { ticket } = &second.kind else {
        panic!()
    };
    let stored = e.client.stored_ticket().await.unwrap().unwrap();
    assert_eq!(stored.ticket.expose_secret(), ticket);
}

/// Messages of an authorized account decrypt with the component's credentials (trailing id =
/// component appid) and the client's encrypted passive reply opens on the platform side.
async fn authorized_account_message_round_trip() {
    let e = env().await;
    e.ticket().await;
    e.authorize(OA, AuthorizerKind::OfficialAccount).await;
    let push = e
        .fake
        .push_text_message(OA, "oUser123", "你好, wxopen <&>")
        .unwrap();
    let (plain, _) = e
        .client
        .decrypt_authorizer_message_raw(&push.client_query().unwrap(), push.body.as_bytes())
        .unwrap();
    assert_eq!(plain, push.plaintext.as_bytes());
    let message = e
        .client
        .decrypt_authorizer_message(&push.client_query().unwrap(), push.body.as_bytes())
        .unwrap();
    assert_eq!(message.content.as_deref(), Some("你好, wxopen <&>"));
    assert_eq!(message.from_user_name, "oUser123");
    let reply = e
        .client
        .encrypt_authorizer_reply("<xml><Content><![CDATA[收到]]></Content></xml>".as_bytes())
        .unwrap();
    assert_eq!(
        e.fake.open_reply(&reply.to_xml()).unwrap(),
        "<xml><Content><![CDATA[收到]]></Content></xml>"
    );
}

/// Every component API call the client makes passes the fake's strict contract check (paths,
/// token parameter, exact keys and types) and returns the documented data.
async fn every_client_call_meets_the_contract() {
    let e = env().await;
    e.ticket().await;
    e.authorize(OA, AuthorizerKind::OfficialAccount).await;
    e.authorize(MP, AuthorizerKind::MiniProgram).await;

    let info = e.client.authorizer_info(OA).await.unwrap();
    assert!(info.authorizer_info.user_name.starts_with("gh_"));
    assert!(info.authorizer_info.mini_program_info.is_none());
    assert!(e
        .client
        .authorizer_info(MP)
        .await
        .unwrap()
        .authorizer_info
        .mini_program_info
        .is_some());
    let list = e.client.authorizer_list(0, 500).await.unwrap();
    assert_eq!(list.total_count, 2);
    for item in &list.list {
        assert_eq!(
            Some(item.refresh_token.expose_secret().to_owned()),
            e.fake.authorizer_refresh_token(&item.authorizer_appid)
        );
    }
    let page = e.client.authorizer_list(1, 1).await.unwrap();
    assert_eq!(page.list.len(), 1);

    assert_eq!(
        e.client
            .authorizer_option_legacy(OA, "voice_recognize")
            .await
            .unwrap()
            .option_value,
        "0"
    );
    e.client
        .set_authorizer_option_legacy(OA, "location_report", "2")
        .await
        .unwrap();
    assert_eq!(
        e.fake.authorizer_option(OA, "location_report").as_deref(),
        Some("2")
    );
    assert_eq!(
        e.client
            .authorizer_option(OA, "location_report")
            .await
            .unwrap()
            .option_value,
        "2"
    );
    e.client
        .set_authorizer_option(OA, "customer_service", "1")
        .await
        .unwrap();
    assert_eq!(
        e.fake.authorizer_option(OA, "customer_service").as_deref(),
        Some("1")
    );
    e.client.start_push_ticket().await.unwrap();
    e.client.clear_component_quota().await.unwrap();
    e.client.clear_authorizer_quota(OA).await.unwrap();
    e.client.clear_quota_v2(Some(OA)).await.unwrap();
    e.client.clear_quota_v2(None).await.unwrap();
    e.client.refresh_component_access_token().await.unwrap();
    e.client.refresh_authorizer_access_token(MP).await.unwrap();

    let log = e.fake.call_log();
    let contract_errors: Vec<_> = log
        .iter()
        .filter(|r| {
            matches!(r.outcome, Outcome::Errcode(c) if [41001, 41002, 41003, 41004, 43002, 47001].contains(&c))
                || r.outcome == Outcome::Http(404)
        })
        .collect();
    assert!(contract_errors.is_empty(), "{contract_errors:?}");
    assert!(log.iter().all(|r| r.outcome == Outcome::Ok), "{log:?}");
    for ep in wxopen_client::api::ENDPOINTS {
        assert!(e.fake.calls(ep) > 0, "client exercised {}", ep.path());
    }
}

/// The push handler on a shared clock with a replay window: signature and freshness are
/// checked (the 3-field `signature` is not accepted as `msg_signature`; a replay after the window
/// fails with -40001); fast-register results are typed and an unknown `InfoType` never fails.
async fn push_verification_and_other_events() {
    let fake = fake().await;
    let store = Arc::new(MemoryStore::new());
    let cfg = base_config(&fake).with_push_timestamp_window(Some(Duration::from_secs(300)));
    let client = client_on(&fake, &store, cfg);

    let push = fake.push_ticket().unwrap();
    let mut forged = push.clone();
    forged.query.msg_signature = push.query.signature.clone();
    let err = forged.deliver_to(&client).await.unwrap_err();
    assert_eq!(err.code(), Some(-40001), "{err:?}");
    assert!(push.deliver_to(&client).await.unwrap().ticket_stored);
    advance(&fake, 301);
    let err = push.deliver_to(&client).await.unwrap_err();
    assert_eq!(err.code(), Some(-40001), "stale replay: {err:?}");

    // Credentials of another component: the signature does not verify.
    let other = FakeWeChat::start_with(FakeConfig {
        start_unix: Some(fake.now_unix()),
        ..FakeConfig::random()
    })
    .await
    .unwrap();
    let err = other
        .push_ticket()
        .unwrap()
        .deliver_to(&client)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(-40001), "{err:?}");

    let fast = fake
        .push_event(
            "notify_third_fasteregister",
            &[
                ("appid", "wx0fa5700000000003"),
                ("status", "0"),
                ("auth_code", "queryauthcode@@@fastreg"),
                ("msg", "OK"),
                (
                    "info",
                    "<name><![CDATA[Fake Co]]></name><code><![CDATA[91440300]]></code>",
                ),
            ],
        )
        .unwrap();
    match fast.deliver_to(&client).await.unwrap().event {
        ComponentEvent::NotifyThirdFastRegister {
            appid,
            status,
            auth_code,
            info,
            ..
        } => {
            assert_eq!(appid.as_deref(), Some("wx0fa5700000000003"));
            assert_eq!(status, Some(0));
            assert_eq!(
                auth_code.map(|c| c.expose_secret().to_owned()).as_deref(),
                Some("queryauthcode@@@fastreg")
            );
            assert_eq!(
                info.get("name").map(String::as_str),
                Some("Fake Co"),
                "{info:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let future = fake
        .push_event("some_future_event", &[("Foo", "bar")])
        .unwrap();
    let ack = future.deliver_to(&client).await.unwrap();
    assert_eq!(ack.reply, "success");
    assert!(
        matches!(ack.event, ComponentEvent::Unknown { ref info_type, .. } if info_type == "some_future_event")
    );
    assert_eq!(fake.total_calls(), 0);
}

/// Two instances (separate clients, one shared store): 100 concurrent callers on each cause one
/// upstream call in total, for the component token and for an expired authorizer token.
async fn two_instances_share_one_store() {
    let e = env().await;
    e.ticket().await;
    let b = client_on(&e.fake, &e.store, base_config(&e.fake));
    let mut tasks = Vec::new();
    for i in 0..200 {
        let c = if i % 2 == 0 {
            e.client.clone()
        } else {
            b.clone()
        };
        tasks.push(tokio::spawn(
            async move { c.component_access_token().await },
        ));
    }
    let mut tokens = std::collections::BTreeSet::new();
    for t in tasks {
        tokens.insert(t.await.unwrap().unwrap().expose_secret().to_owned());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        e.fake.calls(Endpoint::ComponentToken),
        1,
        "one call across both instances"
    );

    e.authorize(OA, AuthorizerKind::OfficialAccount).await;
    advance(&e.fake, 7300);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let c = if i % 2 == 0 {
            e.client.clone()
        } else {
            b.clone()
        };
        tasks.push(tokio::spawn(
            async move { c.authorizer_access_token(OA).await },
        ));
    }
    let mut tokens = std::collections::BTreeSet::new();
    for t in tasks {
        tokens.insert(t.await.unwrap().unwrap().expose_secret().to_owned());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        e.fake.calls(Endpoint::AuthorizerToken),
        1,
        "one refresh across both instances"
    );
    assert_eq!(e.fake.calls(Endpoint::ComponentToken), 2);
}

// ------------------------------------------------------------------------------- registration

/// Upper bound for one scenario (they take well under a second each).
const SCENARIO_LIMIT: Duration = Duration::from_secs(60);

type Scenario = fn() -> Pin<Box<dyn Future<Output = ()> + Send>>;

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        const SCENARIOS: &[(&str, Scenario)] = &[$((stringify!($name), || Box::pin($name()))),*];
    };
}

scenarios![
    happy_path,
    new_client_on_the_same_store_reuses_its_tokens,
    concurrent_callers_single_flight,
    clock_jumps_past_expiry,
    token_errors_refresh_once_and_retry_once,
    superseded_token_grace_then_recovery,
    busy_and_5xx_bounded_retry_then_fallback,
    timeouts_and_dropped_connections_retry,
    dead_primary_fails_over,
    quota_and_config_errors_fail_fast,
    ticket_errors_and_start_push_ticket,
    refresh_token_recovered_from_list,
    refresh_token_recovery_pages_the_list,
    reauthorization_replaces_refresh_token,
    unauthorized_accounts_must_reauthorize,
    push_handler_never_calls_upstream,
    duplicate_and_older_tickets_ignored,
    authorized_account_message_round_trip,
    every_client_call_meets_the_contract,
    push_verification_and_other_events,
    two_instances_share_one_store,
];

/// Runs every scenario once and reports from those runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios() {
    let only = std::env::var("WXOPEN_SCENARIO").ok();
    let mut failed = Vec::new();
    let mut ran = 0usize;
    for (name, scenario) in SCENARIOS {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        ran += 1;
        let started = Instant::now();
        // Its own task, so a panic is this scenario's failure; bounded, so a hang is too.
        let verdict = match tokio::time::timeout(SCENARIO_LIMIT, tokio::spawn(scenario())).await {
            Ok(Ok(())) => "passed",
            Ok(Err(_)) => "FAILED",
            Err(_) => "TIMED OUT",
        };
        println!(
            "scenario {name}: {verdict} ({} ms)",
            started.elapsed().as_millis()
        );
        if verdict != "passed" {
            failed.push(*name);
        }
    }
    println!("scenarios: {}/{ran} passed", ran - failed.len());
    assert!(ran > 0, "no scenario matches WXOPEN_SCENARIO={only:?}");
    assert!(failed.is_empty(), "failed scenarios: {failed:?}");
}
