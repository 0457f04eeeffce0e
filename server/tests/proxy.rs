//! The token-injecting proxy (`/v1/{c}/authorizers/{appid}/proxy/{*path}`,
//! `/v1/{c}/component/proxy/{*path}`) and client scopes, in process (`Router` + `oneshot`)
//! against the fake platform on one manual clock: a token the fake has just invalidated is
//! refreshed once for 50 concurrent idempotent calls; a non-idempotent `custom/send` answered
//! 40001 is not sent again; images come back as bytes with their content type; denied paths,
//! missing scopes and bodies over the cap are refused before any call upstream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use tower::ServiceExt;
use wxopen_client::{AuthorizationCode, ManualClock, Multipart, RetryPolicy};
use wxopen_fake::{
    Endpoint, FakeConfig, FakeWeChat, PushKind, CUSTOM_SEND, GET_QRCODE, IMAGE_MAGIC, MEDIA_UPLOAD,
};
use wxopen_server::{config, Server, ServerOptions};

const FULL: &str = "proxy-test-key-full-0123456789";
const TOKENS_ONLY: &str = "proxy-test-key-tokens-0123456789";
const LIMITED: &str = "proxy-test-key-limited-0123456789";
const ACCOUNT: &str = "wxproxyaccount01";
/// `proxy.max_request_bytes` of the test service.
const CAP: usize = 4096;

struct Setup {
    fake: FakeWeChat,
    internal: Router,
    metrics: Arc<wxopen_server::metrics::Metrics>,
}

struct Answer {
    status: u16,
    content_type: String,
    retried: bool,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

async fn setup() -> Setup {
    let clock = ManualClock::at_unix(1_700_000_000);
    let fake = FakeWeChat::builder()
        .config(FakeConfig::random())
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let text = format!(
        r#"
[server]
public_listen = "127.0.0.1:0"
internal_listen = "127.0.0.1:0"
store = "memory:"

[refresher]
enabled = false

[proxy]
max_request_bytes = {CAP}

[[component]]
appid = "{}"
appsecret = "{}"
token = "{}"
encoding_aes_key = "{}"
api_base_urls = ["{}", "{}"]

[[client]]
name = "full"
key = "{FULL}"

[[client]]
name = "reader"
key = "{TOKENS_ONLY}"
scope = ["tokens"]

[[client]]
name = "limited"
key = "{LIMITED}"
scope = ["proxy"]
proxy_allow = ["wxa/*", "cgi-bin/message/*"]
proxy_deny = ["wxa/commit"]
"#,
        fake.component_appid(),
        fake.component_appsecret(),
        fake.token(),
        fake.encoding_aes_key(),
        fake.primary_url(),
        fake.fallback_url(),
    );
    let cfg = config::parse(&text, std::path::Path::new("/")).unwrap();
    // `config check` shows the scopes and rules as written.
    let shown = cfg.redacted();
    for line in [
        "scope = \"full\"",
        "scope = \"read\"",
        "scope = [\"proxy\"]",
        "proxy_allow = [\"wxa/*\", \"cgi-bin/message/*\"]",
        "proxy_deny = [\"wxa/commit\"]",
        "max_request_bytes = 4096",
    ] {
        assert!(shown.contains(line), "{line} in {shown}");
    }
    let service = Server::in_process(
        cfg,
        ServerOptions::default()
            .clock(Arc::new(clock.clone()))
            .tune(|c| c.with_retry(RetryPolicy::immediate(1))),
    )
    .await
    .unwrap();
    let client = service.client(fake.component_appid()).unwrap();
    fake.push_ticket()
        .unwrap()
        .deliver_to(&client)
        .await
        .unwrap();
    let push = fake.push_authorized(ACCOUNT).unwrap();
    let PushKind::Authorized {
        authorization_code, ..
    } = &push.kind
    else {
        unreachable!()
    };
    client
        .query_auth(&AuthorizationCode::new(authorization_code.clone()))
        .await
        .unwrap();
    fake.reset_counters();
    Setup {
        internal: service.internal_router(),
        metrics: service.metrics(),
        fake,
    }
}

impl Setup {
    fn account_path(&self, api: &str) -> String {
        format!(
            "/v1/{}/authorizers/{ACCOUNT}/proxy/{api}",
            self.fake.component_appid()
        )
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        key: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {key}"));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let r = self
            .internal
            .clone()
            .oneshot(b.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let (parts, body) = r.into_parts();
        let header = |n: &str| {
            parts
                .headers
                .get(n)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        Answer {
            status: parts.status.as_u16(),
            content_type: header("content-type"),
            retried: header("x-wxopen-retried") == "true",
            body: axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap()
                .to_vec(),
        }
    }

    async fn get(&self, api: &str, key: &str) -> Answer {
        self.send(Method::GET, &self.account_path(api), key, &[], Vec::new())
            .await
    }

    fn qrcode(&self, page: &str) -> Vec<u8> {
        [IMAGE_MAGIC, format!("{ACCOUNT}:{page}").as_bytes()].concat()
    }
}

#[tokio::test]
async fn fifty_concurrent_idempotent_calls_with_an_invalidated_token_make_one_refresh() {
    let s = Arc::new(setup().await);
    // Warm: the account's token is in the store and works.
    let a = s.get("wxa/get_qrcode?path=pages/a", FULL).await;
    assert_eq!(a.status, 200);
    s.fake.invalidate_authorizer_token(ACCOUNT).unwrap();
    s.fake.reset_counters();

    let calls = (0..50).map(|i| {
        let s = s.clone();
        async move { s.get(&format!("wxa/get_qrcode?path=pages/{i}"), FULL).await }
    });
    let answers = futures_util::future::join_all(calls).await;
    for (i, a) in answers.iter().enumerate() {
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        assert_eq!(a.content_type, "image/jpeg");
        assert_eq!(a.body, s.qrcode(&format!("pages/{i}")));
    }
    assert_eq!(s.fake.calls(Endpoint::AuthorizerToken), 1, "one refresh");
    assert_eq!(s.fake.successes(GET_QRCODE), 50, "50 successes");
    // Each call went upstream at most twice (one retry).
    let upstream = s.fake.calls(GET_QRCODE);
    assert!((51..=100).contains(&upstream), "{upstream}");
    let retried = answers.iter().filter(|a| a.retried).count();
    eprintln!(
        "50 concurrent proxied get_qrcode after invalidation: api_authorizer_token {}, get_qrcode {} upstream ({retried} retried), {} successes",
        s.fake.calls(Endpoint::AuthorizerToken),
        upstream,
        s.fake.successes(GET_QRCODE)
    );
    assert_eq!(retried, upstream - 50);
    assert_eq!(
        s.metrics.counter(
            "wxopen_proxy_requests_total",
            &[
                ("component", s.fake.component_appid()),
                ("token", "authorizer"),
                ("family", "wxa"),
                ("result", "retried"),
                ("errcode", "0"),
            ],
        ),
        retried as u64
    );
    // The token was expired once however many requests saw it rejected.
    assert_eq!(
        s.metrics.counter(
            "wxopen_tokens_rejected_total",
            &[
                ("component", s.fake.component_appid()),
                ("token", "authorizer"),
                ("errcode", "40001"),
            ],
        ),
        1
    );
}

#[tokio::test]
async fn a_non_idempotent_send_answered_40001_is_not_sent_again() {
    let s = setup().await;
    s.fake.invalidate_authorizer_token(ACCOUNT).unwrap();
    let body = br#"{"touser":"oUser","msgtype":"text","text":{"content":"hi"}}"#.to_vec();
    let a = s
        .send(
            Method::POST,
            &s.account_path("cgi-bin/message/custom/send"),
            FULL,
            &[("content-type", "application/json")],
            body.clone(),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["errcode"], 40001, "WeChat's answer as it is");
    assert!(!a.retried);
    assert_eq!(s.fake.calls(CUSTOM_SEND), 1, "sent once, not retried");
    // The token was expired all the same: the next call gets a new one, once.
    let b = s.get("wxa/get_qrcode?path=p", FULL).await;
    assert_eq!((b.status, b.retried), (200, false));
    assert_eq!(s.fake.calls(Endpoint::AuthorizerToken), 1);
    // Marked idempotent by the caller, the same send is retried with the new token.
    s.fake.invalidate_authorizer_token(ACCOUNT).unwrap();
    let c = s
        .send(
            Method::POST,
            &s.account_path("cgi-bin/message/custom/send"),
            FULL,
            &[
                ("content-type", "application/json"),
                ("x-wxopen-idempotent", "true"),
            ],
            body,
        )
        .await;
    assert!(c.retried);
    assert_eq!(s.fake.calls(CUSTOM_SEND), 3);
    assert_eq!(s.fake.calls(Endpoint::AuthorizerToken), 2);
}

#[tokio::test]
async fn images_come_back_as_bytes_and_a_caller_token_is_replaced() {
    let s = setup().await;
    let a = s
        .get("wxa/get_qrcode?path=pages/index&access_token=forged", FULL)
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.content_type, "image/jpeg");
    assert_eq!(a.body, s.qrcode("pages/index"));
    let log = s.fake.call_log();
    assert_eq!(log.len(), 1);
    // The component proxy: the component token, a JSON POST passed through.
    let info = s
        .send(
            Method::POST,
            &format!(
                "/v1/{}/component/proxy/cgi-bin/component/api_get_authorizer_info",
                s.fake.component_appid()
            ),
            FULL,
            &[("content-type", "application/json")],
            serde_json::to_vec(&serde_json::json!({
                "component_appid": s.fake.component_appid(),
                "authorizer_appid": ACCOUNT,
            }))
            .unwrap(),
        )
        .await;
    assert_eq!(info.status, 200, "{}", String::from_utf8_lossy(&info.body));
    assert_eq!(
        info.json()["authorization_info"]["authorizer_appid"],
        ACCOUNT
    );
}

#[tokio::test]
async fn denied_paths_are_403_without_an_upstream_call() {
    let s = setup().await;
    for (api, key) in [
        // Built in: credential calls never go through the authorizer proxy.
        ("cgi-bin/component/api_authorizer_token", FULL),
        ("CGI-BIN/component/api_query_auth", FULL),
        // The client's own rules.
        ("wxa/commit", LIMITED),
        ("cgi-bin/user/info?openid=o", LIMITED),
    ] {
        let a = s
            .send(Method::POST, &s.account_path(api), key, &[], b"{}".to_vec())
            .await;
        assert_eq!(a.status, 403, "{api}");
        assert!(
            a.json()["error"].as_str().unwrap().contains("path"),
            "{api}"
        );
    }
    let c = s
        .send(
            Method::POST,
            &format!(
                "/v1/{}/component/proxy/cgi-bin/component/api_component_token",
                s.fake.component_appid()
            ),
            FULL,
            &[],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(c.status, 403);
    assert_eq!(s.fake.total_calls(), 0, "no upstream call");
    // Allowed for the limited client.
    assert_eq!(s.get("wxa/get_qrcode?path=x", LIMITED).await.status, 200);
}

#[tokio::test]
async fn scopes_gate_refresh_proxy_and_reads() {
    let s = setup().await;
    let c = s.fake.component_appid().to_owned();
    let token = format!("/v1/{c}/authorizers/{ACCOUNT}/token");
    // `tokens` alone: reads, but neither refreshes nor proxies.
    let read = s
        .send(Method::GET, &token, TOKENS_ONLY, &[], Vec::new())
        .await;
    assert_eq!(read.status, 200);
    let refresh = s
        .send(
            Method::POST,
            &format!("{token}/refresh"),
            TOKENS_ONLY,
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(refresh.status, 403);
    assert!(refresh.json()["error"]
        .as_str()
        .unwrap()
        .contains("refresh"));
    let proxied = s.get("wxa/get_qrcode?path=x", TOKENS_ONLY).await;
    assert_eq!(proxied.status, 403);
    assert!(proxied.json()["error"].as_str().unwrap().contains("proxy"));
    // `proxy` alone: proxies, but reads no token and imports nothing.
    let read = s.send(Method::GET, &token, LIMITED, &[], Vec::new()).await;
    assert_eq!(read.status, 403);
    let import = s
        .send(
            Method::POST,
            &format!("/v1/{c}/authorizers/import"),
            LIMITED,
            &[("content-type", "application/json")],
            br#"{"authorizers":[]}"#.to_vec(),
        )
        .await;
    assert_eq!(import.status, 403);
    // Nor does it sign pages, exchange users' codes or log users in: those hand out what a
    // token would.
    for (path, body) in [
        ("jssdk/config", r#"{"url":"https://example.com/p"}"#),
        ("oauth/exchange", r#"{"code":"c"}"#),
        ("oauth/refresh", r#"{"refresh_token":"r"}"#),
        ("oauth/userinfo", r#"{"access_token":"a","openid":"o"}"#),
        ("wxa/jscode2session", r#"{"js_code":"j"}"#),
    ] {
        let r = s
            .send(
                Method::POST,
                &format!("/v1/{c}/authorizers/{ACCOUNT}/{path}"),
                LIMITED,
                &[("content-type", "application/json")],
                body.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(r.status, 403, "{path}");
        assert!(
            r.json()["error"].as_str().unwrap().contains("tokens"),
            "{path}"
        );
    }
    assert_eq!(s.fake.calls(Endpoint::AuthorizerToken), 0);
    assert_eq!(s.fake.calls(GET_QRCODE), 0);
    assert_eq!(s.fake.total_calls(), 0, "nothing reached WeChat");
}

#[tokio::test]
async fn uploads_pass_through_and_over_the_cap_are_413_without_a_call() {
    let s = setup().await;
    let file = vec![0x5a_u8; 1000];
    let form = Multipart::new()
        .file("media", "a.png", "image/png", file.clone())
        .unwrap();
    let body = {
        // What any HTTP client would send: the same encoding.
        let mut v = Vec::new();
        let ct = form.content_type();
        let boundary = ct.rsplit('=').next().unwrap();
        v.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
        v.extend_from_slice(&file);
        v.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        (ct, v)
    };
    let a = s
        .send(
            Method::POST,
            &s.account_path("cgi-bin/media/upload?type=image"),
            FULL,
            &[("content-type", &body.0)],
            body.1.clone(),
        )
        .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.json()["media_id"].as_str().unwrap().starts_with("MEDIA_"));
    assert_eq!(s.fake.uploads().last().unwrap().1, file);

    let big = vec![0u8; CAP + 1];
    let r = s
        .send(
            Method::POST,
            &s.account_path("cgi-bin/media/upload?type=image"),
            FULL,
            &[("content-type", &body.0)],
            big,
        )
        .await;
    assert_eq!(r.status, 413);
    assert!(r.json()["error"].as_str().unwrap().contains("4096"));
    assert_eq!(s.fake.calls(MEDIA_UPLOAD), 1, "the big one was never sent");
}
