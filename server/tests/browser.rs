//! The authorization pages in a real headless browser (Chromium through chromedriver), as an
//! admin meets them, against `FakeWeChat`: on a desktop and on a phone outside WeChat, the
//! entry page → (a stand-in for WeChat's consent page, reached by clicking the page's own
//! link) → back to `/authorized` → the result page, or the signed hand-off to the host (checked
//! with `Handoff::verify`) and the "already completed" page on a replay; and a problem page.
//! Each page's text is checked in both languages; screenshots go to
//! `target/ci-artifacts/browser/` (or `$WXOPEN_ARTIFACTS`), which CI keeps.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`):
//! `cargo test -p wxopen-server --test browser -- --include-ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "browser/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use wxopen_client::wxopen_proto::handoff::Handoff;
use wxopen_client::{MemoryStore, TokenStore};
use wxopen_fake::harness::{self, component_toml, Routes, Stoppable};
use wxopen_fake::FakeWeChat;
use wxopen_server::{ServeError, Server, ServerOptions};

use webdriver::{Driver, Session};

const ACCOUNT: &str = "wxauthorizer01";
const NAME: &str = "Acme 运营平台";
const HANDOFF_KEY: &str = "handoff-key-0123456789abcdef-0123456789";
const DESKTOP_UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
const PHONE_UA: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";

/// What the stand-in for WeChat's consent page and the host's page share.
struct Stub {
    fake: Arc<FakeWeChat>,
    /// The service's push URL of the flow running now.
    push_url: Mutex<String>,
    /// The `Referer` of each consent-page visit.
    referers: Mutex<Vec<String>>,
    http: reqwest::Client,
}

/// WeChat's consent page, played: records the `Referer`, lets the fake consent (and delivers
/// its `authorized` push to the service, as WeChat does), and offers the way back.
async fn consent(
    State(stub): State<Arc<Stub>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Html<String> {
    let referer = headers
        .get("referer")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)");
    stub.referers.lock().unwrap().push(referer.to_owned());
    let q = q.unwrap_or_default();
    let param = |n: &str| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let consent = stub
        .fake
        .simulate_admin_consent(&param("pre_auth_code"), ACCOUNT)
        .unwrap();
    let push_url = stub.push_url.lock().unwrap().clone();
    let pushed = harness::send(
        stub.http
            .post(consent.push.url(&push_url))
            .body(consent.push.body.clone()),
    )
    .await
    .unwrap();
    assert_eq!(pushed.status, 200, "{}", pushed.body);
    let redirect = param("redirect_uri");
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let back = format!("{redirect}{sep}{}", consent.redirect_query);
    Html(format!(
        "<h1>WeChat consent (stand-in)</h1><p><a id=\"agree\" href=\"{}\">同意 / Agree</a></p>",
        harness_escape(&back)
    ))
}

fn harness_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

/// The host's `authorized_redirect` page: checks the hand-off with the library.
async fn host(State(stub): State<Arc<Stub>>, RawQuery(q): RawQuery) -> Html<String> {
    let q = q.unwrap_or_default();
    let now = stub.fake.now_unix();
    Html(
        match Handoff::verify(
            &q,
            stub.fake.component_appid(),
            HANDOFF_KEY.as_bytes(),
            now,
            300,
        ) {
            Ok(h) => format!(
                "<p>host: verified {} state={}</p>",
                h.authorizer_appid,
                h.state.unwrap_or_default()
            ),
            Err(e) => format!("<p>host: refused ({e})</p>"),
        },
    )
}

async fn start_stub(fake: Arc<FakeWeChat>) -> (String, Arc<Stub>) {
    let stub = Arc::new(Stub {
        fake,
        push_url: Mutex::new(String::new()),
        referers: Mutex::new(Vec::new()),
        http: harness::client().unwrap(),
    });
    let app = Router::new()
        .route("/cgi-bin/componentloginpage", get(consent))
        .route("/wxaopen/safe/bindcomponent", get(consent))
        .route("/host", get(host))
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, stub)
}

/// `wxopen serve` for the fake's component, named [`NAME`], optionally handing off to the
/// stub's host page; a ticket pushed. Returns its public URL, routes and task.
async fn serve(
    fake: &FakeWeChat,
    stub_url: &str,
    stub: &Stub,
    hand_off: bool,
) -> (String, Routes, Stoppable<Result<(), ServeError>>) {
    let port = harness::free_port().unwrap();
    let mut component = component_toml(fake);
    component.push_str(&format!("display_name = \"{NAME}\"\n"));
    if hand_off {
        component.push_str(&format!(
            "authorized_redirect = \"{stub_url}/host\"\nhandoff_key = \"{HANDOFF_KEY}\"\n"
        ));
    }
    let text = format!(
        "[server]\npublic_listen = \"127.0.0.1:{port}\"\ninternal_listen = \"127.0.0.1:0\"\npublic_base_url = \"http://127.0.0.1:{port}/\"\nallow_http_redirect = true\nstore = \"memory:\"\n\n[refresher]\nenabled = false\n\n{component}\n[[client]]\nname = \"t\"\nkey = \"internal-key-0123456789abcdef\"\ncomponents = [\"*\"]\n"
    );
    let cfg = wxopen_server::config::parse(&text, std::path::Path::new("/")).unwrap();
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let server = Server::bind(
        cfg,
        ServerOptions::default().store(store).clock(fake.clock()),
    )
    .await
    .unwrap();
    let public = format!("http://{}", server.public_addr());
    let internal = format!("http://{}", server.internal_addr());
    let task = Stoppable::spawn(|stop| server.run(stop));
    let routes = Routes::new(&public, &internal, fake.component_appid());
    *stub.push_url.lock().unwrap() = routes.push();
    let ticket = fake.push_ticket().unwrap();
    let a = harness::send(
        stub.http
            .post(ticket.url(&routes.push()))
            .body(ticket.body.clone()),
    )
    .await
    .unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    (public, routes, task)
}

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("WXOPEN_ARTIFACTS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/ci-artifacts/browser"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn has_all(text: &str, parts: &[&str]) {
    for p in parts {
        assert!(text.contains(p), "{p:?} missing from the page:\n{text}");
    }
}

/// Points the link `selector` at the stand-in (same path and query), as WeChat's host.
async fn to_stub(s: &Session, selector: &str, stub_url: &str) {
    s.run(&format!(
        "const a = document.querySelector('{selector}'); a.href = a.href.replace(/^https:\\/\\/[^/]+/, '{stub_url}'); return a.href;"
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromedriver"]
async fn an_admin_authorizes_on_a_desktop_and_on_a_phone() {
    let out = artifacts();
    let fake = Arc::new(FakeWeChat::start().await.unwrap());
    let (stub_url, stub) = start_stub(fake.clone()).await;
    let driver = Driver::start().await;

    // Desktop: entry page → consent → result page; then a problem page.
    let (public, routes, task) = serve(&fake, &stub_url, &stub, false).await;
    let s = driver.session(DESKTOP_UA, false).await;
    s.goto(&format!("{}?state=s-1", routes.authorize())).await;
    let text = s.text().await;
    has_all(
        &text,
        &[
            &format!("授权给 {NAME}"),
            &format!("Authorize {NAME}"),
            "前往微信授权 / Continue to WeChat",
            "请用管理员的微信扫码确认",
            "scan it with the administrator's WeChat",
            "链接几分钟内有效",
            "The link works for a few minutes",
        ],
    );
    assert!(!text.contains("Component"), "{text}");
    assert!(s.find("#authorize-pc").await.is_none());
    s.screenshot(&out.join("desktop-1-authorize.png")).await;
    to_stub(&s, "#authorize", &stub_url).await;
    s.click("#authorize").await;
    s.wait_for_url("componentloginpage").await;
    assert_eq!(
        stub.referers.lock().unwrap().last().unwrap(),
        &format!("{public}/"),
        "the browser sends the page's origin as Referer (WeChat's domain check)"
    );
    s.click("#agree").await;
    s.wait_for_url("/authorized").await;
    let text = s.text().await;
    has_all(
        &text,
        &[
            "授权成功",
            "Authorization complete",
            ACCOUNT,
            "已授权的权限 / Granted permissions",
            "消息管理",
            "Message management",
            "自定义菜单",
            "Custom menu",
            &format!("下一步:回到 {NAME} 继续操作"),
            &format!("Next: go back to {NAME} to continue"),
        ],
    );
    assert!(
        !text.contains("权限集 "),
        "every set of the fake has a name: {text}"
    );
    s.screenshot(&out.join("desktop-2-result.png")).await;
    s.goto(&format!("{public}/wechat/wxunknown/authorize"))
        .await;
    let text = s.text().await;
    has_all(
        &text,
        &[
            "找不到这个授权页",
            "This authorization page does not exist",
            "请向平台方索取正确的授权链接",
            "Ask the platform for the right authorization link",
            "请求编号 / Request id",
        ],
    );
    s.screenshot(&out.join("desktop-3-problem.png")).await;
    s.end().await;
    task.stop(Duration::from_secs(10)).await.unwrap().unwrap();

    // A phone outside WeChat: both links; the H5 one → consent → the hand-off to the host;
    // the same redirect again → "already completed".
    let (_, routes, task) = serve(&fake, &stub_url, &stub, true).await;
    let s = driver.session(PHONE_UA, true).await;
    s.goto(&format!("{}?state=order-7", routes.authorize()))
        .await;
    let text = s.text().await;
    has_all(
        &text,
        &[
            &format!("授权给 {NAME}"),
            "在微信中授权 / Authorize in WeChat",
            "在微信里打开本页时用这个链接",
            "Use this one when this page is open inside WeChat",
            "显示授权二维码 / Show the QR code",
            "用这个链接显示二维码",
            "Use this one to show a QR code",
        ],
    );
    s.screenshot(&out.join("phone-1-authorize.png")).await;
    to_stub(&s, "#authorize", &stub_url).await;
    s.click("#authorize").await;
    s.wait_for_url("bindcomponent").await;
    let back = s
        .run("return document.getElementById('agree').href;")
        .await
        .as_str()
        .unwrap()
        .to_owned();
    s.click("#agree").await;
    s.wait_for_url("/host").await;
    let text = s.text().await;
    assert!(
        text.contains(&format!("host: verified {ACCOUNT} state=order-7")),
        "{text}"
    );
    s.screenshot(&out.join("phone-2-host.png")).await;
    s.goto(&back).await;
    let text = s.text().await;
    has_all(
        &text,
        &[
            "授权已完成",
            "Authorization already completed",
            &format!("请回到 {NAME} 继续"),
        ],
    );
    assert!(s.url().await.contains("/authorized"), "no second hand-off");
    s.screenshot(&out.join("phone-3-already-completed.png"))
        .await;
    s.end().await;
    task.stop(Duration::from_secs(10)).await.unwrap().unwrap();
    eprintln!("screenshots in {}", out.display());
}
