//! The service under test against a wiremock upstream: in process ([`App`], its routers called
//! with `tower::ServiceExt::oneshot`) or running on loopback ([`Running`], for shutdown and
//! restart); and pushes built the way WeChat builds them. A running service is driven with
//! `wxopen_fake::harness` (its loopback client, and its task that runs until told to stop),
//! shared with `wxopen demo` and the CLI's tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wxopen_client::{ManualClock, MemoryStore, RetryPolicy, TokenStore};
use wxopen_core::MsgCrypt;
use wxopen_fake::harness::{self, Stoppable};
use wxopen_server::{config, ServeError, Server, ServerOptions};

pub const APPID: &str = "wxcomponent0001";
pub const OTHER: &str = "wxcomponent0002";
pub const SECRET: &str = "component-secret-0001";
pub const TOKEN: &str = "msg-token-0001";
pub const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
pub const KEY: &str = "internal-key-orders-0123456789";
pub const OTHER_KEY: &str = "internal-key-other-0123456789";
pub const T0: u64 = 1_700_000_000;

pub struct Running {
    pub public: String,
    pub internal: String,
    pub clock: ManualClock,
    pub store: Arc<MemoryStore>,
    pub http: reqwest::Client,
    pub metrics: Arc<wxopen_server::metrics::Metrics>,
    task: Stoppable<Result<(), ServeError>>,
}

impl Running {
    pub async fn stop(self) {
        self.task
            .stop(Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
    }

    /// Triggers graceful shutdown without waiting for it.
    pub fn begin_stop(&mut self) {
        self.task.begin_stop();
    }

    /// Waits for the server task to end (after [`Running::begin_stop`]).
    pub async fn join(self) -> Result<(), ServeError> {
        self.task.join().await.unwrap()
    }

    pub fn internal_get(&self, path: &str, key: Option<&str>) -> reqwest::RequestBuilder {
        let r = self.http.get(format!("{}{path}", self.internal));
        match key {
            Some(k) => r.bearer_auth(k),
            None => r,
        }
    }

    pub fn internal_post(&self, path: &str, key: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.internal))
            .bearer_auth(key)
    }

    /// Pushes a ticket through the public route; returns the status and body.
    pub async fn push_ticket(&self, ticket: &str, create_time: u64) -> (u16, String) {
        let (q, body) = push(
            &ticket_xml(ticket, create_time),
            &self.now().to_string(),
            "n1",
        );
        self.post_push(APPID, &q, body).await
    }

    pub async fn post_push(&self, component: &str, query: &str, body: Vec<u8>) -> (u16, String) {
        let url = format!("{}/wechat/{component}/component?{query}", self.public);
        let a = harness::send(self.http.post(url).body(body)).await.unwrap();
        (a.status, a.body)
    }

    pub fn now(&self) -> u64 {
        use wxopen_client::Clock;
        self.clock.unix_seconds()
    }
}

pub fn config_text(upstream: &str, extra_server: &str) -> String {
    format!(
        r#"
[server]
public_listen = "127.0.0.1:0"
internal_listen = "127.0.0.1:0"
public_base_url = "http://127.0.0.1:9"
allow_http_redirect = true
store = "memory:"
push_budget_ms = 1500
{extra_server}

[refresher]
enabled = false

[[component]]
appid = "{APPID}"
appsecret = "{SECRET}"
token = "{TOKEN}"
encoding_aes_key = "{AES_KEY}"
api_base_urls = ["{upstream}"]

[[component]]
appid = "{OTHER}"
appsecret = "{SECRET}"
token = "{TOKEN}"
encoding_aes_key = "{AES_KEY}"
api_base_urls = ["{upstream}"]

[[client]]
name = "orders"
key = "{KEY}"
components = ["{APPID}"]

[[client]]
name = "other"
key = "{OTHER_KEY}"
components = ["{OTHER}"]
"#
    )
}

/// [`config_text`] against `upstream`, parsed.
fn parsed(upstream: &MockServer, extra_server: &str) -> wxopen_server::ServerConfig {
    config::parse(
        &config_text(&upstream.uri(), extra_server),
        std::path::Path::new("/"),
    )
    .unwrap()
}

/// The options every test service runs with: `store`, the shared `clock`, one try per host
/// and short timeouts.
fn options(store: Arc<MemoryStore>, clock: &ManualClock) -> ServerOptions {
    let store: Arc<dyn TokenStore> = store;
    ServerOptions::default()
        .store(store)
        .clock(Arc::new(clock.clone()))
        .tune(|c| {
            c.with_retry(RetryPolicy::immediate(1))
                .with_timeouts(Duration::from_secs(2), Duration::from_secs(1))
        })
}

pub async fn start(upstream: &MockServer) -> Running {
    start_with(upstream, "").await
}

pub async fn start_with(upstream: &MockServer, extra_server: &str) -> Running {
    let cfg = parsed(upstream, extra_server);
    start_config(cfg, Arc::new(MemoryStore::new())).await
}

pub async fn start_config(cfg: wxopen_server::ServerConfig, store: Arc<MemoryStore>) -> Running {
    let clock = ManualClock::at_unix(T0);
    let server = Server::bind(cfg, options(store.clone(), &clock))
        .await
        .unwrap();
    let public = format!("http://{}", server.public_addr());
    let internal = format!("http://{}", server.internal_addr());
    let metrics = server.metrics();
    let task = Stoppable::spawn(|stop| server.run(stop));
    Running {
        public,
        internal,
        clock,
        store,
        http: harness::client().unwrap(),
        metrics,
        task,
    }
}

/// Encrypts `xml` for the component and wraps it the way WeChat POSTs it; returns the query
/// string (with the real three-field `signature`) and the body.
pub fn push(xml: &str, timestamp: &str, nonce: &str) -> (String, Vec<u8>) {
    let crypt = MsgCrypt::new(TOKEN, AES_KEY, APPID).unwrap();
    let reply = crypt
        .encrypt_reply(xml.as_bytes(), timestamp, nonce, b"0123456789abcdef")
        .unwrap();
    let body = format!(
        "<xml><AppId><![CDATA[{APPID}]]></AppId><Encrypt><![CDATA[{}]]></Encrypt></xml>",
        reply.encrypt
    );
    let signature = wxopen_core::signature::sign_plain(TOKEN, timestamp, nonce);
    let signature = signature.as_str();
    let query = format!(
        "signature={signature}&timestamp={timestamp}&nonce={nonce}&encrypt_type=aes&msg_signature={}",
        reply.msg_signature
    );
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
        create_time + 600
    )
}

pub fn ok_json(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

pub async fn mount_component_token(server: &MockServer, token: &str) {
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/api_component_token"))
        .respond_with(ok_json(
            json!({"component_access_token": token, "expires_in": 7200}),
        ))
        .mount(server)
        .await;
}

pub async fn mount_query_auth(server: &MockServer, authorizer: &str, access: &str, refresh: &str) {
    Mock::given(method("POST"))
        .and(path("/cgi-bin/component/api_query_auth"))
        .respond_with(ok_json(json!({"authorization_info": {
            "authorizer_appid": authorizer,
            "authorizer_access_token": access,
            "expires_in": 7200,
            "authorizer_refresh_token": refresh,
            "func_info": [{"funcscope_category": {"id": 1}}, {"funcscope_category": {"id": 17}}]
        }})))
        .mount(server)
        .await;
}

pub async fn hits(server: &MockServer, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == p)
        .count()
}

// ---------------------------------------------------------------------------------------------
// In process: the two routers called with `tower::ServiceExt::oneshot`, no listener bound.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request};
use axum::Router;
use tower::ServiceExt;

/// The service built without listeners, on a manual clock and a memory store.
pub struct App {
    pub clock: ManualClock,
    pub store: Arc<MemoryStore>,
    pub metrics: Arc<wxopen_server::metrics::Metrics>,
    pub public: Router,
    pub internal: Router,
    pub service: wxopen_server::InProcess,
}

/// A finished answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }
}

/// A request for `router`: `method path`, with a bearer key, headers and a body.
pub struct Call {
    router: Router,
    builder: axum::http::request::Builder,
    body: Vec<u8>,
}

impl Call {
    pub fn bearer(mut self, key: &str) -> Self {
        self.builder = self
            .builder
            .header("authorization", format!("Bearer {key}"));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Sends it as if from `peer` (what the listener gives each request: `ConnectInfo`).
    pub fn peer(mut self, peer: &str) -> Self {
        let addr: std::net::SocketAddr = peer.parse().unwrap();
        self.builder = self.builder.extension(axum::extract::ConnectInfo(addr));
        self
    }

    pub fn json(mut self, v: &serde_json::Value) -> Self {
        self.builder = self.builder.header("content-type", "application/json");
        self.body = serde_json::to_vec(v).unwrap();
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub async fn send(self) -> Answer {
        let req = self.builder.body(Body::from(self.body)).unwrap();
        let r = self.router.oneshot(req).await.unwrap();
        let (parts, body) = r.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: body.to_vec(),
        }
    }
}

impl App {
    fn call(router: &Router, method: Method, path: &str) -> Call {
        Call {
            router: router.clone(),
            builder: Request::builder().method(method).uri(path),
            body: Vec::new(),
        }
    }

    /// A request to the internal router.
    pub fn internal(&self, method: Method, path: &str) -> Call {
        Self::call(&self.internal, method, path)
    }

    /// A request to the public router.
    pub fn public(&self, method: Method, path: &str) -> Call {
        Self::call(&self.public, method, path)
    }

    /// `GET path` on the internal router, with `key` if given.
    pub async fn internal_get(&self, path: &str, key: Option<&str>) -> Answer {
        let c = self.internal(Method::GET, path);
        match key {
            Some(k) => c.bearer(k).send().await,
            None => c.send().await,
        }
    }

    /// `POST path` on the internal router with a JSON body.
    pub async fn internal_post(&self, path: &str, key: &str, v: &serde_json::Value) -> Answer {
        self.internal(Method::POST, path)
            .bearer(key)
            .json(v)
            .send()
            .await
    }

    /// `GET path` on the public router.
    pub async fn public_get(&self, path: &str) -> Answer {
        self.public(Method::GET, path).send().await
    }

    /// Pushes a ticket through the public route; returns the status and body.
    pub async fn push_ticket(&self, ticket: &str, create_time: u64) -> (u16, String) {
        let (q, body) = push(
            &ticket_xml(ticket, create_time),
            &self.now().to_string(),
            "n1",
        );
        self.post_push(APPID, &q, body).await
    }

    pub async fn post_push(&self, component: &str, query: &str, body: Vec<u8>) -> (u16, String) {
        let r = self
            .public(
                Method::POST,
                &format!("/wechat/{component}/component?{query}"),
            )
            .body(body)
            .send()
            .await;
        (r.status, r.text())
    }

    pub fn now(&self) -> u64 {
        use wxopen_client::Clock;
        self.clock.unix_seconds()
    }

    /// Runs the component's delivery worker (in process nothing runs it in the background)
    /// until `n` requests reached `p` on `hook`: a pass, then, when it sent nothing, the clock
    /// a second on and a short real pause for background work (a code's exchange). Bounded.
    pub async fn deliver_until(&self, hook: &MockServer, p: &str, n: usize) {
        for _ in 0..500 {
            if hits(hook, p).await >= n {
                return;
            }
            let pass = self.service.deliver_once(APPID).await.unwrap().unwrap();
            if pass.sent == 0 {
                self.clock.advance(std::time::Duration::from_secs(1));
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        panic!("{p}: fewer than {n} deliveries");
    }
}

/// The service of [`config_text`] against `upstream`, in process.
pub async fn in_process(upstream: &MockServer) -> App {
    in_process_with(upstream, "").await
}

pub async fn in_process_with(upstream: &MockServer, extra_server: &str) -> App {
    let cfg = parsed(upstream, extra_server);
    in_process_config(cfg, Arc::new(MemoryStore::new())).await
}

pub async fn in_process_config(cfg: wxopen_server::ServerConfig, store: Arc<MemoryStore>) -> App {
    in_process_full(cfg, store, None).await
}

/// [`in_process_config`] with an event log of the test's.
pub async fn in_process_full(
    cfg: wxopen_server::ServerConfig,
    store: Arc<MemoryStore>,
    events: Option<Arc<dyn wxopen_client::store::EventLog>>,
) -> App {
    let clock = ManualClock::at_unix(T0);
    let mut opts = options(store.clone(), &clock);
    if let Some(e) = events {
        opts = opts.events(e);
    }
    let service = Server::in_process(cfg, opts).await.unwrap();
    App {
        clock,
        store,
        metrics: service.metrics(),
        public: service.public_router(),
        internal: service.internal_router(),
        service,
    }
}

// ---------------------------------------------------------------------------------------------
// Messages of authorized accounts and the webhook.

/// A message for an authorized account, encrypted and wrapped as WeChat POSTs it to the
/// message URL; returns the query string.
pub fn message(xml: &str, timestamp: u64, to: &str) -> (String, Vec<u8>) {
    let crypt = MsgCrypt::new(TOKEN, AES_KEY, APPID).unwrap();
    let ts = timestamp.to_string();
    let reply = crypt
        .encrypt_reply(xml.as_bytes(), &ts, "n7", b"fedcba9876543210")
        .unwrap();
    let body = format!(
        "<xml><ToUserName><![CDATA[{to}]]></ToUserName><Encrypt><![CDATA[{}]]></Encrypt></xml>",
        reply.encrypt
    );
    let signature = wxopen_core::signature::sign_plain(TOKEN, &ts, "n7");
    let query = format!(
        "signature={}&timestamp={ts}&nonce=n7&openid=ouser1&encrypt_type=aes&msg_signature={}",
        signature.as_str(),
        reply.msg_signature
    );
    (query, body.into_bytes())
}

pub fn text_xml(to: &str, content: &str, msg_id: u64, t: u64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[ouser1]]></FromUserName><CreateTime>{t}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
}

pub async fn post_message(s: &App, authorizer: &str, q: &str, body: Vec<u8>) -> (u16, String) {
    let r = s
        .public(
            Method::POST,
            &format!("/wechat/{APPID}/callback/{authorizer}?{q}"),
        )
        .body(body)
        .send()
        .await;
    (r.status, r.text())
}

/// The webhook's signing key in these tests.
pub const WEBHOOK_SECRET: &str = "webhook-secret-0123456789";

/// The service relaying the first component's messages to `webhook`, in process.
pub async fn start_webhook(
    upstream: &MockServer,
    webhook: &str,
    timeout_ms: u64,
    store: Arc<MemoryStore>,
) -> App {
    start_webhook_with(upstream, webhook, timeout_ms, "", store, None).await
}

/// [`start_webhook`] with more keys for the component (`extra`, e.g. `webhook_delivery`) and
/// an event log of the test's (default: in memory).
pub async fn start_webhook_with(
    upstream: &MockServer,
    webhook: &str,
    timeout_ms: u64,
    extra: &str,
    store: Arc<MemoryStore>,
    events: Option<Arc<dyn wxopen_client::store::EventLog>>,
) -> App {
    let text = config_text(&upstream.uri(), "").replacen(
        &format!("api_base_urls = [\"{}\"]", upstream.uri()),
        &format!(
            "api_base_urls = [\"{}\"]\nwebhook_url = \"{webhook}\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"\nwebhook_timeout_ms = {timeout_ms}\n{extra}",
            upstream.uri()
        ),
        1,
    );
    let cfg = wxopen_server::config::parse(&text, std::path::Path::new("/")).unwrap();
    in_process_full(cfg, store, events).await
}
