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

/// Pushes a ticket through the real handler.
pub async fn push_ticket(h: &Harness, ticket: &str, create_time: u64) {
    let (q, body) = push(
        &ticket_xml(ticket, create_time),
        &create_time.to_string(),
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
