//! Shared helpers for the integration tests: a client wired to wiremock servers with a
//! manual clock, and encrypted pushes built the way WeChat builds them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wxopen_client::{
    ComponentClient, ComponentConfig, Jitter, ManualClock, MemoryStore, PushQuery, RetryPolicy,
    TokenStore,
};
use wxopen_core::MsgCrypt;

pub const APPID: &str = "wxcomponent0001";
pub const SECRET: &str = "component-secret-0001";
pub const TOKEN: &str = "msg-token-0001";
pub const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
pub const T0: u64 = 1_700_000_000;
/// `T0` as a push `timestamp` (inside the default 10-minute window of a clock at `T0`).
pub const TS: &str = "1700000000";

pub const P_COMPONENT_TOKEN: &str = "/cgi-bin/component/api_component_token";
pub const P_PREAUTH: &str = "/cgi-bin/component/api_create_preauthcode";
pub const P_QUERY_AUTH: &str = "/cgi-bin/component/api_query_auth";
pub const P_AUTHORIZER_TOKEN: &str = "/cgi-bin/component/api_authorizer_token";
pub const P_AUTHORIZER_INFO: &str = "/cgi-bin/component/api_get_authorizer_info";
pub const P_AUTHORIZER_LIST: &str = "/cgi-bin/component/api_get_authorizer_list";

pub struct Harness {
    pub client: ComponentClient,
    pub clock: ManualClock,
    pub store: Arc<MemoryStore>,
}

pub fn config(servers: &[&MockServer]) -> ComponentConfig {
    ComponentConfig::new(APPID, SECRET, TOKEN, AES_KEY)
        .with_base_urls(servers.iter().map(|s| s.uri()))
        .unwrap()
        .with_retry(RetryPolicy {
            max_attempts_per_host: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
        })
        .with_refresh(Duration::from_secs(600), Jitter::None)
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(1))
}

pub fn harness_with(config: ComponentConfig) -> Harness {
    let clock = ManualClock::at_unix(T0);
    let store = Arc::new(MemoryStore::new());
    let dyn_store: Arc<dyn TokenStore> = store.clone();
    let client = ComponentClient::builder(config)
        .store(dyn_store)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    Harness {
        client,
        clock,
        store,
    }
}

/// A base URL on a loopback port with nothing listening: every connection is refused.
pub fn dead_base_url() -> String {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", dead.local_addr().unwrap())
}

pub fn harness(servers: &[&MockServer]) -> Harness {
    harness_with(config(servers))
}

/// Encrypts `xml` for the component and wraps it the way WeChat POSTs it.
pub fn push(xml: &str, timestamp: &str, nonce: &str) -> (PushQuery, Vec<u8>) {
    push_for(APPID, xml, timestamp, nonce)
}

/// Like [`push`], for another component appid.
pub fn push_for(appid: &str, xml: &str, timestamp: &str, nonce: &str) -> (PushQuery, Vec<u8>) {
    let crypt = MsgCrypt::new(TOKEN, AES_KEY, appid).unwrap();
    let reply = crypt
        .encrypt_reply(xml.as_bytes(), timestamp, nonce, b"0123456789abcdef")
        .unwrap();
    let body = format!(
        "<xml><AppId><![CDATA[{appid}]]></AppId><Encrypt><![CDATA[{}]]></Encrypt></xml>",
        reply.encrypt
    );
    // The real plain `signature` (SHA-1 over the sorted token, timestamp and nonce), as WeChat
    // sends it next to msg_signature.
    let signature = wxopen_core::signature::sign_plain(TOKEN, timestamp, nonce);
    let query = PushQuery::parse(&format!(
        "signature={}&timestamp={timestamp}&nonce={nonce}&encrypt_type=aes&msg_signature={}",
        signature.as_str(),
        reply.msg_signature
    ))
    .unwrap();
    (query, body.into_bytes())
}

pub fn ticket_xml(ticket: &str, create_time: u64) -> String {
    format!(
        "<xml><AppId>{APPID}</AppId><CreateTime>{create_time}</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>{ticket}</ComponentVerifyTicket></xml>"
    )
}

pub fn authorized_xml(authorizer: &str, code: &str, create_time: u64) -> String {
    format!(
        "<xml><AppId><![CDATA[{APPID}]]></AppId><CreateTime>{create_time}</CreateTime><InfoType><![CDATA[authorized]]></InfoType><AuthorizerAppid><![CDATA[{authorizer}]]></AuthorizerAppid><AuthorizationCode><![CDATA[{code}]]></AuthorizationCode><AuthorizationCodeExpiredTime>{}</AuthorizationCodeExpiredTime><PreAuthCode><![CDATA[preauthcode@@@p]]></PreAuthCode></xml>",
        create_time + 3600
    )
}

pub fn unauthorized_xml(authorizer: &str, create_time: u64) -> String {
    format!(
        "<xml><AppId>{APPID}</AppId><CreateTime>{create_time}</CreateTime><InfoType>unauthorized</InfoType><AuthorizerAppid>{authorizer}</AuthorizerAppid></xml>"
    )
}

/// Pushes a ticket through the real handler, signed at the clock's current time (the push
/// timestamp window is on by default); `create_time` is the ticket's own `CreateTime`.
pub async fn push_ticket(h: &Harness, ticket: &str, create_time: u64) {
    use wxopen_client::Clock;
    let (q, body) = push(
        &ticket_xml(ticket, create_time),
        &h.clock.unix_seconds().to_string(),
        "nonce1",
    );
    let ack = h.client.handle_component_push(&q, &body).await.unwrap();
    assert_eq!(ack.reply, "success");
}

pub fn ok_json(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

pub fn err_json(errcode: i64, errmsg: &str) -> ResponseTemplate {
    ok_json(json!({ "errcode": errcode, "errmsg": errmsg }))
}

/// Mounts a component-token endpoint that answers `token` and expects `times` calls.
pub async fn mount_component_token(server: &MockServer, token: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path(P_COMPONENT_TOKEN))
        .respond_with(ok_json(
            json!({"component_access_token": token, "expires_in": 7200}),
        ))
        .expect(times)
        .named("api_component_token")
        .mount(server)
        .await;
}

/// Stores an authorizer via `query_auth` against a temporary mock.
pub async fn authorize(
    h: &Harness,
    server: &MockServer,
    authorizer: &str,
    access: &str,
    refresh: &str,
) {
    let guard = Mock::given(method("POST"))
        .and(path(P_QUERY_AUTH))
        .respond_with(ok_json(json!({"authorization_info": {
            "authorizer_appid": authorizer,
            "authorizer_access_token": access,
            "expires_in": 7200,
            "authorizer_refresh_token": refresh,
            "func_info": [{"funcscope_category": {"id": 1}}]
        }})))
        .expect(1)
        .mount_as_scoped(server)
        .await;
    h.client
        .query_auth(&wxopen_client::AuthorizationCode::new("queryauthcode@@@c"))
        .await
        .unwrap();
    drop(guard);
}

/// A [`MemoryStore`] with switches that make parts of it fail, for store-failure tests.
#[derive(Debug, Default)]
pub struct FaultyStore {
    pub inner: MemoryStore,
    /// Writes (compare-and-set) fail with an unavailable error.
    pub fail_writes: std::sync::atomic::AtomicBool,
    /// Lease calls fail with an unavailable error.
    pub fail_leases: std::sync::atomic::AtomicBool,
    /// Number of writes attempted.
    pub writes: std::sync::atomic::AtomicU64,
    /// Compare-and-delete always finds the record changed (a writer that always wins).
    pub lose_deletes: std::sync::atomic::AtomicBool,
}

impl FaultyStore {
    fn down<T>() -> Result<T, wxopen_client::StoreError> {
        Err(wxopen_client::StoreError::unavailable("store down (test)"))
    }
    fn on(flag: &std::sync::atomic::AtomicBool) -> bool {
        flag.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl TokenStore for FaultyStore {
    fn get<'a>(
        &'a self,
        key: &'a wxopen_client::StoreKey,
    ) -> wxopen_client::BoxFuture<
        'a,
        Result<Option<wxopen_client::Versioned>, wxopen_client::StoreError>,
    > {
        self.inner.get(key)
    }
    fn compare_and_set<'a>(
        &'a self,
        key: &'a wxopen_client::StoreKey,
        expected: Option<u64>,
        value: wxopen_client::StoredValue,
        fence: Option<&'a str>,
    ) -> wxopen_client::BoxFuture<'a, Result<wxopen_client::CasOutcome, wxopen_client::StoreError>>
    {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if Self::on(&self.fail_writes) {
            return Box::pin(async { Self::down() });
        }
        self.inner.compare_and_set(key, expected, value, fence)
    }
    fn compare_and_delete<'a>(
        &'a self,
        key: &'a wxopen_client::StoreKey,
        expected: u64,
    ) -> wxopen_client::BoxFuture<'a, Result<bool, wxopen_client::StoreError>> {
        if Self::on(&self.lose_deletes) {
            return Box::pin(async { Ok(false) });
        }
        self.inner.compare_and_delete(key, expected)
    }
    fn try_lease<'a>(
        &'a self,
        key: &'a wxopen_client::StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> wxopen_client::BoxFuture<'a, Result<bool, wxopen_client::StoreError>> {
        if Self::on(&self.fail_leases) {
            return Box::pin(async { Self::down() });
        }
        self.inner.try_lease(key, holder, ttl)
    }
    fn extend_lease<'a>(
        &'a self,
        key: &'a wxopen_client::StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> wxopen_client::BoxFuture<'a, Result<bool, wxopen_client::StoreError>> {
        if Self::on(&self.fail_leases) {
            return Box::pin(async { Self::down() });
        }
        self.inner.extend_lease(key, holder, ttl)
    }
    fn release_lease<'a>(
        &'a self,
        key: &'a wxopen_client::StoreKey,
        holder: &'a str,
    ) -> wxopen_client::BoxFuture<'a, Result<(), wxopen_client::StoreError>> {
        if Self::on(&self.fail_leases) {
            return Box::pin(async { Self::down() });
        }
        self.inner.release_lease(key, holder)
    }
}

/// A client on `store` with a manual clock at `T0`.
pub fn client_on(
    config: ComponentConfig,
    store: Arc<dyn TokenStore>,
    clock: &ManualClock,
) -> ComponentClient {
    ComponentClient::builder(config)
        .store(store)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

/// Waits (bounded) for the first event matching `f`.
pub async fn wait_event(
    events: &mut tokio::sync::broadcast::Receiver<wxopen_client::ClientEvent>,
    f: impl Fn(&wxopen_client::ClientEvent) -> bool,
) -> wxopen_client::ClientEvent {
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events.recv().await {
                Ok(e) if f(&e) => return e,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("event channel closed: {e}"),
            }
        }
    })
    .await;
    found.expect("event did not arrive (hang guard)")
}

/// Polls `f` (bounded) until it holds.
pub async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..2000 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

/// Requests to `path` the server received.
pub async fn hits(server: &MockServer, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == p)
        .count()
}
