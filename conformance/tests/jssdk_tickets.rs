//! JS-SDK tickets against the stateful fake (each `getticket` replaces the account's previous
//! ticket; `POST /fake/jssdk/verify` checks a `wx.config` against the current one): one fetch
//! for every concurrent caller of two instances over one store, the signature valid for the
//! account's appid only, a 40001 while fetching handled as the access token's problem (one
//! refresh, one retry, one ticket), and an `unauthorized` account's tickets deleted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use wxopen_client::{
    AuthPage, AuthUrlOptions, ComponentClient, ComponentConfig, Jitter, JsTicketType, MemoryStore,
    RetryPolicy, StoreKey, TokenStore,
};
use wxopen_fake::{Endpoint, FakeConfig, FakeWeChat, Fault, FaultRule, JsSdkSignature, GETTICKET};

const T0: u64 = 1_700_000_000;
const ACCOUNT: &str = "wx0fa0000000000001";
const PAGE: &str = "https://shop.example/item?id=7#reviews";

fn config(fake: &FakeWeChat) -> ComponentConfig {
    fake.client_config()
        .unwrap()
        .with_retry(RetryPolicy::immediate(1))
        .with_timeouts(Duration::from_millis(700), Duration::from_millis(500))
        .with_refresh(Duration::from_secs(600), Jitter::None)
}

/// Two instances over one store, the ticket pushed, `ACCOUNT` authorized; counters reset.
async fn two_instances() -> (
    FakeWeChat,
    Arc<MemoryStore>,
    ComponentClient,
    ComponentClient,
) {
    let fake = FakeWeChat::start_with(FakeConfig {
        start_unix: Some(T0),
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let store = Arc::new(MemoryStore::new());
    let shared: Arc<dyn TokenStore> = store.clone();
    let a = fake
        .client_builder(config(&fake))
        .store(shared.clone())
        .build()
        .unwrap();
    let b = fake
        .client_builder(config(&fake))
        .store(shared)
        .build()
        .unwrap();
    fake.push_ticket().unwrap().deliver_to(&a).await.unwrap();
    let request = a
        .authorization_url(AuthPage::Pc, &AuthUrlOptions::new("https://example.com/cb"))
        .await
        .unwrap();
    let consent = fake
        .simulate_admin_consent(request.pre_auth_code.expose_secret(), ACCOUNT)
        .unwrap();
    a.exchange_authorization_code(&wxopen_client::AuthorizationCode::from(
        consent.auth_code.as_str(),
    ))
    .await
    .unwrap();
    fake.reset_counters();
    (fake, store, a, b)
}

fn signed(config: &wxopen_client::JsSdkConfig, app_id: &str) -> JsSdkSignature {
    JsSdkSignature {
        app_id: app_id.to_owned(),
        url: PAGE.to_owned(),
        timestamp: config.timestamp,
        nonce_str: config.nonce_str.clone(),
        signature: config.signature.clone(),
    }
}

#[tokio::test]
async fn concurrent_callers_on_two_instances_share_one_getticket_and_sign_for_the_account() {
    let (fake, _, a, b) = two_instances().await;
    let calls = (0..20)
        .flat_map(|_| [a.clone(), b.clone()])
        .map(|c| async move { c.jssdk_config(ACCOUNT, PAGE).await });
    let configs: Vec<_> = futures_join_all(calls).await;
    assert_eq!(fake.calls(GETTICKET), 1, "one getticket for 40 callers");
    let current = fake.js_ticket(ACCOUNT, "jsapi").unwrap();
    for c in configs {
        let c = c.unwrap();
        assert_eq!(c.app_id, ACCOUNT);
        assert!(fake.verify_jssdk_signature(&signed(&c, ACCOUNT)));
        assert!(!fake.verify_jssdk_signature(&signed(&c, fake.component_appid())));
    }
    let ticket = b.jsapi_ticket(ACCOUNT).await.unwrap();
    assert_eq!(ticket.token.expose_secret(), current);
    assert_eq!(ticket.expires_at, T0 + 7200);
    // The card ticket is its own kind: one more call, a different ticket.
    let card = a.card_ticket(ACCOUNT).await.unwrap();
    assert_eq!(
        Some(card.token.expose_secret().to_owned()),
        fake.js_ticket(ACCOUNT, "wx_card")
    );
    assert_ne!(card.token.expose_secret(), current);
    assert_eq!(fake.calls(GETTICKET), 2);
}

/// `join_all` without a dependency: spawn every future, await them in order.
async fn futures_join_all<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_ticket_fetch_answered_40001_refreshes_the_authorizer_token_once_and_retries_once() {
    let (fake, _, a, _) = two_instances().await;
    let before = a.authorizer_access_token(ACCOUNT).await.unwrap();
    fake.inject(FaultRule::new(Fault::Errcode(40001)).on(GETTICKET).times(1));
    let ticket = a.jsapi_ticket(ACCOUNT).await.unwrap();
    assert_eq!(fake.calls(GETTICKET), 2, "the refused fetch and one retry");
    assert_eq!(fake.successes(GETTICKET), 1, "one ticket");
    assert_eq!(
        fake.calls(Endpoint::AuthorizerToken),
        1,
        "one authorizer-token refresh"
    );
    assert_eq!(
        Some(ticket.token.expose_secret().to_owned()),
        fake.js_ticket(ACCOUNT, "jsapi")
    );
    let after = a.authorizer_access_token(ACCOUNT).await.unwrap();
    assert_ne!(before, after, "the rejected access token was replaced");
    assert_eq!(
        fake.check_authorizer_access_token(ACCOUNT, after.expose_secret()),
        Ok(())
    );

    // A token error that persists: exactly one retry, then the error.
    fake.inject(FaultRule::new(Fault::Errcode(42001)).on(GETTICKET).times(2));
    let err = a.card_ticket(ACCOUNT).await.unwrap_err();
    assert_eq!(err.code(), Some(42001), "{err}");
    assert_eq!(fake.calls(GETTICKET), 4);
    assert_eq!(fake.calls(Endpoint::AuthorizerToken), 2);
}

#[tokio::test]
async fn an_unauthorized_account_loses_its_tickets() {
    let (fake, store, a, _) = two_instances().await;
    a.jsapi_ticket(ACCOUNT).await.unwrap();
    a.card_ticket(ACCOUNT).await.unwrap();
    let key = |t| StoreKey::js_ticket(fake.component_appid(), ACCOUNT, t);
    for t in [JsTicketType::Jsapi, JsTicketType::WxCard] {
        assert!(store.get(&key(t)).await.unwrap().is_some());
    }
    fake.advance(Duration::from_secs(5));
    fake.push_unauthorized(ACCOUNT)
        .unwrap()
        .deliver_to(&a)
        .await
        .unwrap();
    for t in [JsTicketType::Jsapi, JsTicketType::WxCard] {
        assert_eq!(store.get(&key(t)).await.unwrap(), None, "{t} ticket kept");
    }
    let calls = fake.calls(GETTICKET);
    let err = a.jsapi_ticket(ACCOUNT).await.unwrap_err();
    assert!(
        matches!(err, wxopen_client::Error::MustReauthorize { .. }),
        "{err}"
    );
    assert_eq!(
        fake.calls(GETTICKET),
        calls,
        "no fetch for a revoked account"
    );
}

#[tokio::test]
async fn the_fakes_getticket_replaces_the_previous_ticket_and_wants_the_accounts_token() {
    let (fake, _, a, _) = two_instances().await;
    let http = reqwest::Client::new();
    let getticket = |token: String, t: &'static str| {
        let url = format!(
            "{}/cgi-bin/ticket/getticket?access_token={token}&type={t}",
            fake.primary_url()
        );
        let http = http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let atok = a.authorizer_access_token(ACCOUNT).await.unwrap();
    let first = getticket(atok.expose_secret().to_owned(), "jsapi").await;
    assert_eq!(first["errcode"], 0);
    assert_eq!(first["expires_in"], 7200);
    let second = getticket(atok.expose_secret().to_owned(), "jsapi").await;
    assert_ne!(first["ticket"], second["ticket"]);
    assert_eq!(
        fake.js_ticket(ACCOUNT, "jsapi").as_deref(),
        second["ticket"].as_str()
    );
    let ctok = a.component_access_token().await.unwrap();
    let refused = getticket(ctok.expose_secret().to_owned(), "jsapi").await;
    assert_eq!(refused["errcode"], 40001, "{refused}");
    let bad_type = getticket(atok.expose_secret().to_owned(), "card").await;
    assert_eq!(bad_type["errcode"], 40097, "{bad_type}");
    // The verification endpoint over HTTP: the first ticket no longer verifies.
    let sign = |ticket: &str| wxopen_client::jssdk_sign::signature(ticket, "n0nce", T0, PAGE);
    for (ticket, valid) in [(&first["ticket"], false), (&second["ticket"], true)] {
        let answer = http
            .post(format!("{}/fake/jssdk/verify", fake.primary_url()))
            .json(&serde_json::json!({
                "appid": ACCOUNT, "url": PAGE, "timestamp": T0, "nonceStr": "n0nce",
                "signature": sign(ticket.as_str().unwrap()),
            }))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        assert_eq!(answer["valid"], valid, "{answer}");
    }
}

#[tokio::test]
async fn a_ticket_is_refreshed_ahead_in_the_background_and_the_old_one_served_meanwhile() {
    let (fake, _, a, b) = two_instances().await;
    let first = a.jsapi_ticket(ACCOUNT).await.unwrap();
    // Past the refresh deadline (600 s before expiry, no jitter), before expiry.
    fake.advance(Duration::from_secs(7200 - 300));
    let mut events = b.subscribe();
    let served = b.jsapi_ticket(ACCOUNT).await.unwrap();
    assert_eq!(
        served.token, first.token,
        "answered at once with the stored ticket"
    );
    // The one background refresh lands (its event is sent after the write); later callers
    // get the new ticket.
    loop {
        match events.recv().await.unwrap() {
            wxopen_client::ClientEvent::JsTicketRefreshed {
                authorizer_appid, ..
            } => {
                assert_eq!(authorizer_appid, ACCOUNT);
                break;
            }
            wxopen_client::ClientEvent::JsTicketFailed { errcode, .. } => {
                panic!("the background refresh failed: {errcode:?}")
            }
            _ => {}
        }
    }
    let fresh = a.jsapi_ticket(ACCOUNT).await.unwrap();
    assert_ne!(fresh.token, first.token);
    assert_eq!(fake.calls(GETTICKET), 2);
    assert_eq!(
        Some(fresh.token.expose_secret().to_owned()),
        fake.js_ticket(ACCOUNT, "jsapi")
    );
}

#[tokio::test]
async fn a_quota_failure_is_remembered_for_its_cool_down() {
    let (fake, _, a, _) = two_instances().await;
    fake.exhaust_quota(GETTICKET);
    let first = a.jsapi_ticket(ACCOUNT).await.unwrap_err();
    assert_eq!(first.code(), Some(45009), "{first}");
    let again = a.jsapi_ticket(ACCOUNT).await.unwrap_err();
    assert_eq!(again.code(), Some(45009), "{again}");
    assert_eq!(
        fake.calls(GETTICKET),
        1,
        "no second call during the cool-down"
    );
}

#[tokio::test]
async fn many_reports_of_one_stale_ticket_cause_one_fetch() {
    let (fake, _, a, b) = two_instances().await;
    let stale = a.jsapi_ticket(ACCOUNT).await.unwrap().token;
    let reports = (0..10).flat_map(|_| [a.clone(), b.clone()]).map(|c| {
        let stale = stale.expose_secret().to_owned();
        async move {
            c.refresh_js_ticket_if(ACCOUNT, JsTicketType::Jsapi, Some(&stale))
                .await
        }
    });
    let fresh: Vec<_> = futures_join_all(reports).await;
    assert_eq!(fake.calls(GETTICKET), 2, "the first fetch and one refresh");
    let current = fake.js_ticket(ACCOUNT, "jsapi").unwrap();
    for t in fresh {
        assert_eq!(t.unwrap().token.expose_secret(), current);
    }
}
