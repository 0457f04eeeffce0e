//! One `api_query_auth` per authorization code across instances: the `authorized` push
//! reaching instance A and the admin's redirect reaching instance B (two clients over one
//! store, against the stateful fake, where a second exchange of a code answers 61009).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use wxopen_client::{
    AuthCallback, AuthPage, AuthUrlOptions, AuthorizationCode, ComponentClient, ComponentConfig,
    ComponentEvent, Jitter, MemoryStore, RetryPolicy, TokenStore,
};
use wxopen_fake::{Endpoint, FakeConfig, FakeWeChat, Fault, FaultRule};

const T0: u64 = 1_700_000_000;
const APPID: &str = "wx0fa0000000000001";

fn config(fake: &FakeWeChat) -> ComponentConfig {
    fake.client_config()
        .unwrap()
        .with_retry(RetryPolicy::immediate(1))
        .with_timeouts(Duration::from_millis(700), Duration::from_millis(500))
        .with_refresh(Duration::from_secs(600), Jitter::None)
}

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
    (fake, a, b)
}

/// The admin consents: the push's code (as instance A sees it) and the redirect's (as B does).
async fn consent(fake: &FakeWeChat, a: &ComponentClient) -> (AuthorizationCode, AuthorizationCode) {
    let request = a
        .authorization_url(AuthPage::Pc, &AuthUrlOptions::new("https://example.com/cb"))
        .await
        .unwrap();
    let consent = fake
        .simulate_admin_consent(request.pre_auth_code.expose_secret(), APPID)
        .unwrap();
    let ack = consent.push.deliver_to(a).await.unwrap();
    let ComponentEvent::Authorized(grant) = ack.event else {
        panic!("not an authorized push: {:?}", ack.event)
    };
    let redirect = AuthCallback::from_query(&consent.redirect_query).unwrap();
    (grant.authorization_code, redirect.auth_code)
}

#[tokio::test]
async fn the_push_on_one_instance_and_the_redirect_on_another_share_one_exchange() {
    let (fake, a, b) = two_instances().await;
    let (pushed, redirected) = consent(&fake, &a).await;
    assert_eq!(pushed, redirected);
    let (on_a, on_b) = tokio::join!(
        a.exchange_authorization_code(&pushed),
        b.exchange_authorization_code(&redirected)
    );
    let (on_a, on_b) = (on_a.unwrap(), on_b.unwrap());
    assert_eq!(fake.calls(Endpoint::QueryAuth), 1, "one exchange per code");
    assert_eq!(on_a.authorizer_appid, APPID);
    assert_eq!(on_b.authorizer_appid, APPID);
    let sets = |i: &wxopen_client::api::AuthorizationInfo| {
        i.func_info
            .iter()
            .map(|f| f.funcscope_category.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(sets(&on_a), sets(&on_b));
    // Later callers (a reload of the redirect page) get the same result, still one call, and
    // the account's token is usable from either instance.
    let again = b.exchange_authorization_code(&redirected).await.unwrap();
    assert_eq!(again.authorizer_appid, APPID);
    assert_eq!(fake.calls(Endpoint::QueryAuth), 1);
    let token = b.authorizer_access_token(APPID).await.unwrap();
    assert_eq!(
        Some(token.expose_secret()),
        on_a.authorizer_access_token
            .as_ref()
            .map(|t| t.expose_secret())
    );
}

#[tokio::test]
async fn a_code_the_platform_refuses_is_settled_and_never_sent_again() {
    let (fake, a, b) = two_instances().await;
    let junk = AuthorizationCode::from("queryauthcode@@@never-issued");
    let first = a.exchange_authorization_code(&junk).await.unwrap_err();
    assert_eq!(first.code(), Some(61009), "{first}");
    let second = b.exchange_authorization_code(&junk).await.unwrap_err();
    assert_eq!(second.code(), Some(61009), "{second}");
    assert_eq!(fake.calls(Endpoint::QueryAuth), 1);
}

#[tokio::test]
async fn a_transient_failure_releases_the_claim_for_the_next_caller() {
    let (fake, a, b) = two_instances().await;
    let (code, _) = consent(&fake, &a).await;
    // WeChat answers -1 (query_auth is single-use, so the client does not retry it): the
    // exchange fails without settling the code.
    fake.inject(
        FaultRule::new(Fault::Errcode(-1))
            .on(Endpoint::QueryAuth)
            .times(1),
    );
    let e = a.exchange_authorization_code(&code).await.unwrap_err();
    assert_eq!(e.code(), Some(-1), "{e}");
    // The next caller (another instance) claims it again and succeeds.
    let info = b.exchange_authorization_code(&code).await.unwrap();
    assert_eq!(info.authorizer_appid, APPID);
    assert_eq!(fake.calls(Endpoint::QueryAuth), 2);
}
