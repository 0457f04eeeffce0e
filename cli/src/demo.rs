//! `wxopen demo`: the real service — the [`wxopen_server::Server`] that `wxopen serve` runs,
//! with its default SQLite store in a fresh temporary data dir — against `wxopen-fake`'s
//! [`FakeWeChat`] on loopback, driven over HTTP the way WeChat, an admin's browser and the
//! host's other services use it.
//!
//! Steps: WeChat pushes a ticket to the public push route → the authorize page (PC and H5, a
//! fresh pre-auth code each) → the admin agrees (WeChat pushes `authorized`) → the browser
//! follows the redirect to the result page → the token API on the internal listener (component
//! token, authorizer token, authorizers list) → forced expiry on the shared clock → 20
//! concurrent callers at expiry → compare-and-refresh → the 全网发布 release check for a random
//! test-account group → a graceful restart on the same data dir
//! → two instances sharing the store, concurrent callers on both at expiry. Every step checks
//! what it shows against the fake's state and call counts; a step that does not do what it
//! should fails the demo (exit code 4).
//!
//! One [`ManualClock`] is shared by the fake and every server instance (handed to the server
//! through [`ServerOptions::clock`]): the fake expires tokens on it, the servers decide on it,
//! and a forced expiry moves it once. The server runs with its defaults otherwise, except that
//! the background refresher is off, so every upstream call counted is one a step caused.
//!
//! Nothing leaves the machine: the fake and the server listen on 127.0.0.1 and the HTTP client
//! ignores proxy settings. Tokens are shown as fingerprints (the first 8 hex digits of their
//! SHA-1), never in full; the internal API key is drawn at random and never printed.

use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wxopen_client::{Clock, ManualClock};
use wxopen_fake::{Endpoint, FakeConfig, FakeWeChat, Host, ReleaseCheck, CUSTOM_SEND};
use wxopen_server::{config, ServeError, Server, ServerConfig, ServerOptions};

use crate::args::DemoArgs;
use crate::failure::Failure;

/// The account whose admin authorizes the component.
const AUTHORIZER_APPID: &str = "wxde0000000000a001";
/// Where the shared clock starts (Unix seconds), so every run shows the same times.
const START_UNIX: u64 = 1_700_000_000;
/// How far a forced expiry moves the shared clock: past the 7200 s lifetime of every token.
const EXPIRY_JUMP: Duration = Duration::from_secs(7200 + 1);
/// Concurrent token-API callers at expiry.
const CALLERS: usize = 20;
/// Services reporting the same failed token to the compare-and-refresh route.
const REPORTERS: usize = 5;
/// A desktop browser (the authorize page links to the PC `componentloginpage`).
const DESKTOP_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) wxopen-demo";
/// WeChat's in-app browser on a phone (the authorize page links to the H5 `bindcomponent`).
const MOBILE_UA: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 MicroMessenger/8.0.47";
/// The endpoints the flow uses, in the order it first calls them, and how often it must call
/// each: the component token at the first authorize page and at each of the two expiries; a
/// pre-auth code per authorize page; one `query_auth` shared by the push and the redirect; the
/// authorizer token at each expiry and once for the compare-and-refresh.
/// The release check adds a `query_auth` and a customer-service message per test account it
/// sends `QUERY_AUTH_CODE` to (the group's official account and mini program).
const EXPECTED_CALLS: [(Endpoint, usize); 5] = [
    (Endpoint::ComponentToken, 3),
    (Endpoint::CreatePreAuthCode, 2),
    (Endpoint::QueryAuth, 3),
    (Endpoint::AuthorizerToken, 3),
    (CUSTOM_SEND, 2),
];
/// How long the release check waits for the customer-service message (WeChat's budget is
/// 5 s; the server sends within milliseconds, and the demo need not wait out the full 5 s to
/// see duplicates).
const RELEASE_CHECK_DEADLINE: Duration = Duration::from_millis(1500);

/// Run the demo. Text mode prints each step as it happens and returns nothing more to print;
/// `--json` returns one JSON object with every step, its timing and the call counts.
pub fn run(_args: &DemoArgs, json: bool) -> Result<Vec<u8>, Failure> {
    // Declared before the runtime, so it is removed after the servers (runtime tasks) are gone.
    let dir = TempDir::new()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Demo(format!("cannot start the async runtime: {e}")))?;
    let mut report = Report::new(json);
    runtime.block_on(flow(&mut report, dir.path()))?;
    drop(runtime);
    Ok(report.finish())
}

/// A token's fingerprint: the first 8 hex digits of its SHA-1. Enough to see that a token
/// changed, useless for calling an API.
pub fn fingerprint(secret: &str) -> String {
    let digest = wxopen_core::signature::sign_parts(&mut [secret.as_bytes()]);
    format!("#{}", &digest.as_str()[..8])
}

/// Fails the step with every failed check's reason.
fn check_release(report: &wxopen_fake::ReleaseCheckReport, step: &str) -> Result<(), Failure> {
    let failed: Vec<String> = report
        .failures()
        .map(|c| {
            format!(
                "{} for {}: {}",
                c.check.name(),
                c.account.appid,
                c.failure.as_deref().unwrap_or("failed")
            )
        })
        .collect();
    check(failed.is_empty(), step, &failed.join("; "))
}

fn endpoint_name(e: Endpoint) -> &'static str {
    let p = e.path();
    p.strip_prefix("/cgi-bin/component/")
        .or_else(|| p.strip_prefix("/cgi-bin/message/"))
        .or_else(|| p.rsplit('/').next())
        .unwrap_or("?")
}

fn fail(step: &str, what: impl Display) -> Failure {
    Failure::Demo(format!("{step}: {what}"))
}

fn check(ok: bool, step: &str, what: &str) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(fail(step, what))
    }
}

/// The data dir of the demo's SQLite store; removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, Failure> {
        let path = std::env::temp_dir().join(format!(
            "wxopen-demo-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&path).map_err(|e| {
            Failure::Demo(format!(
                "cannot create the data dir {}: {e}",
                path.display()
            ))
        })?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Collects the steps; in text mode also prints them as they happen.
struct Report {
    json: bool,
    started: Instant,
    step_started: Instant,
    steps: Vec<Value>,
    header: Vec<(String, String)>,
    counts: Vec<(String, usize)>,
}

impl Report {
    fn new(json: bool) -> Self {
        let now = Instant::now();
        Report {
            json,
            started: now,
            step_started: now,
            steps: Vec::new(),
            header: Vec::new(),
            counts: Vec::new(),
        }
    }

    fn line(&self, text: &str) {
        if !self.json {
            let mut out = std::io::stdout().lock();
            // A closed stdout must not stop the flow; the exit code still tells.
            let _ = writeln!(out, "{text}").and_then(|()| out.flush());
        }
    }

    fn info(&mut self, key: &str, value: String) {
        self.line(&format!("  {key:<14} {value}"));
        self.header.push((key.to_owned(), value));
    }

    /// Start timing the next step.
    fn begin(&mut self) {
        self.step_started = Instant::now();
    }

    /// Record the step that began at the last [`Report::begin`].
    fn step(&mut self, name: &str, detail: String) {
        let took = self.step_started.elapsed();
        let n = self.steps.len() + 1;
        if n == 1 {
            self.line("");
            self.line(&format!(
                "  {:>2}  {:<28} {:>9}  what happened",
                "#", "step", "took"
            ));
        }
        let ms = took.as_secs_f64() * 1000.0;
        self.line(&format!("  {n:>2}  {name:<28} {ms:>6.2} ms  {detail}"));
        self.steps.push(json!({
            "step": name,
            "ms": (ms * 1000.0).round() / 1000.0,
            "detail": detail,
        }));
    }

    fn finish(self) -> Vec<u8> {
        let total_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        if !self.json {
            self.line(&format!(
                "\n  done in {total_ms:.1} ms; every step checked."
            ));
            return Vec::new();
        }
        let header: serde_json::Map<String, Value> = self
            .header
            .into_iter()
            .map(|(k, v)| (k, Value::from(v)))
            .collect();
        let counts: serde_json::Map<String, Value> = self
            .counts
            .into_iter()
            .map(|(k, v)| (k, Value::from(v)))
            .collect();
        let mut text = json!({
            "ok": true,
            "setup": header,
            "steps": self.steps,
            "upstream_calls": counts,
            "total_ms": (total_ms * 1000.0).round() / 1000.0,
        })
        .to_string();
        text.push('\n');
        text.into_bytes()
    }
}

// ------------------------------------------------------------------ servers

/// A server instance running on the demo's runtime.
struct Running {
    public: String,
    internal: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

/// Binds a server for `cfg` on the shared `clock` and runs it until [`Running::stop`].
async fn start_server(
    cfg: ServerConfig,
    clock: Arc<dyn Clock>,
    step: &str,
) -> Result<Running, Failure> {
    let server = Server::bind(cfg, ServerOptions::default().clock(clock))
        .await
        .map_err(|e| fail(step, format!("the server did not start: {e}")))?;
    let public = format!("http://{}", server.public_addr());
    let internal = format!("http://{}", server.internal_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    Ok(Running {
        public,
        internal,
        stop: Some(tx),
        task,
    })
}

impl Running {
    /// Graceful shutdown: stop accepting, finish in-flight requests, release leases.
    async fn stop(mut self, step: &str) -> Result<(), Failure> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match tokio::time::timeout(Duration::from_secs(10), self.task).await {
            Err(_) => Err(fail(step, "the server did not stop within 10 s")),
            Ok(Err(e)) => Err(fail(step, format!("the server task failed: {e}"))),
            Ok(Ok(Err(e))) => Err(fail(step, format!("the server stopped with: {e}"))),
            Ok(Ok(Ok(()))) => Ok(()),
        }
    }
}

/// A free loopback port for the public listener, whose address the configuration must name
/// before the server binds it (`public_base_url`, where WeChat sends the admin back).
fn free_port() -> Result<u16, Failure> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Failure::Demo(format!("cannot find a free loopback port: {e}")))
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The service configuration, as a `wxopen.toml` would hold it: the fake's credentials, the
/// fake's two hosts as API base URLs, the default SQLite store in `data_dir`, one API client.
fn config_text(fake: &FakeWeChat, public_port: u16, data_dir: &Path, key: &str) -> String {
    format!(
        r#"[server]
public_listen = "127.0.0.1:{public_port}"
internal_listen = "127.0.0.1:0"
public_base_url = "http://127.0.0.1:{public_port}"
allow_http_redirect = true
data_dir = {data_dir}

[refresher]
enabled = false

[[component]]
appid = {appid}
appsecret = {secret}
token = {token}
encoding_aes_key = {aes}
api_base_urls = [{primary}, {fallback}]

[[client]]
name = "demo"
key = {key}
components = [{appid}]
"#,
        data_dir = toml_string(&data_dir.display().to_string()),
        appid = toml_string(fake.component_appid()),
        secret = toml_string(fake.component_appsecret()),
        token = toml_string(fake.token()),
        aes = toml_string(fake.encoding_aes_key()),
        primary = toml_string(&fake.primary_url()),
        fallback = toml_string(&fake.fallback_url()),
        key = toml_string(key),
    )
}

// ------------------------------------------------------------------ HTTP

/// What a request got back.
struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The body as JSON when the status is 200; otherwise a failure naming the status and the
    /// server's `error`.
    fn ok_json(&self, step: &str, what: &str) -> Result<Value, Failure> {
        let j = self.json();
        if self.status == 200 {
            return Ok(j);
        }
        let error = j["error"].as_str().unwrap_or(&self.body).to_owned();
        Err(fail(step, format!("{what}: HTTP {}: {error}", self.status)))
    }
}

/// The demo's HTTP side: a browser, WeChat and the host's services, all on loopback.
#[derive(Clone)]
struct Http {
    client: reqwest::Client,
    key: String,
}

impl Http {
    fn new(key: String) -> Result<Self, Failure> {
        // Loopback only: never route through a proxy from the environment. No idle connections
        // are kept, so a server shut down gracefully has nothing left open to wait for.
        let client = reqwest::Client::builder()
            .no_proxy()
            .user_agent(DESKTOP_UA)
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| Failure::Demo(format!("building the HTTP client: {e}")))?;
        Ok(Self { client, key })
    }

    async fn send(req: reqwest::RequestBuilder, step: &str) -> Result<Answer, Failure> {
        let r = req.send().await.map_err(|e| fail(step, e))?;
        let status = r.status().as_u16();
        let body = r.text().await.map_err(|e| fail(step, e))?;
        Ok(Answer { status, body })
    }

    async fn get(&self, url: &str, step: &str) -> Result<Answer, Failure> {
        Self::send(self.client.get(url), step).await
    }

    /// A token-API GET with the bearer key.
    fn api_get(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.get(url).bearer_auth(&self.key)
    }

    /// A compare-and-refresh POST with the bearer key.
    fn api_refresh(&self, url: &str, stale: &str) -> reqwest::RequestBuilder {
        self.client
            .post(url)
            .bearer_auth(&self.key)
            .json(&json!({ "stale": stale }))
    }

    /// A token from a token route: the value of `field` and its `expires_at`.
    async fn token(&self, url: &str, field: &str, step: &str) -> Result<Issued, Failure> {
        let a = Self::send(self.api_get(url), step).await?;
        Issued::from_json(&a.ok_json(step, url)?, field, step)
    }

    /// Sends every request at once (they start together behind a barrier) and returns the
    /// token each got.
    async fn all_at_once(
        requests: Vec<reqwest::RequestBuilder>,
        field: &str,
        step: &str,
    ) -> Result<Vec<Issued>, Failure> {
        let barrier = Arc::new(tokio::sync::Barrier::new(requests.len()));
        let tasks: Vec<_> = requests
            .into_iter()
            .map(|req| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    let r = req.send().await?;
                    let status = r.status().as_u16();
                    let body = r.text().await?;
                    Ok::<_, reqwest::Error>(Answer { status, body })
                })
            })
            .collect();
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            let a = t
                .await
                .map_err(|e| fail(step, e))?
                .map_err(|e| fail(step, e))?;
            out.push(Issued::from_json(
                &a.ok_json(step, "a concurrent caller")?,
                field,
                step,
            )?);
        }
        Ok(out)
    }
}

/// A token as the token API answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Issued {
    token: String,
    expires_in: u64,
    expires_at: u64,
}

impl Issued {
    fn from_json(j: &Value, field: &str, step: &str) -> Result<Self, Failure> {
        match (
            j[field].as_str(),
            j["expires_in"].as_u64(),
            j["expires_at"].as_u64(),
        ) {
            (Some(t), Some(expires_in), Some(expires_at)) => Ok(Self {
                token: t.to_owned(),
                expires_in,
                expires_at,
            }),
            _ => Err(fail(
                step,
                format!("the answer has no {field}, expires_in and expires_at"),
            )),
        }
    }
}

/// Whether every caller got the same token; that token.
fn one_token<'a>(got: &'a [Issued], step: &str) -> Result<&'a Issued, Failure> {
    let first = got
        .first()
        .ok_or_else(|| fail(step, "no caller answered"))?;
    check(
        got.iter().all(|g| g.token == first.token),
        step,
        "the callers got different tokens",
    )?;
    Ok(first)
}

// ------------------------------------------------------------------ HTML

/// Undoes the server pages' HTML escaping.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The text between `start` and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = html.find(start)? + start.len();
    let len = html[from..].find(end)?;
    Some(&html[from..from + len])
}

/// The authorize page's link and the parameters the demo checks.
struct AuthLink {
    url: String,
    pre_auth_code: String,
    redirect_uri: String,
}

fn auth_link(html: &str, component: &str, step: &str) -> Result<AuthLink, Failure> {
    let href = between(html, "id=\"authorize\" href=\"", "\"")
        .ok_or_else(|| fail(step, "the page has no authorization link"))?;
    let url = unescape(href);
    let parsed = url::Url::parse(&url).map_err(|e| fail(step, format!("the link: {e}")))?;
    let param = |name: &str| {
        parsed
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    check(
        param("component_appid").as_deref() == Some(component),
        step,
        "the link is not for this component",
    )?;
    let pre_auth_code =
        param("pre_auth_code").ok_or_else(|| fail(step, "the link has no pre_auth_code"))?;
    let redirect_uri =
        param("redirect_uri").ok_or_else(|| fail(step, "the link has no redirect_uri"))?;
    Ok(AuthLink {
        url,
        pre_auth_code,
        redirect_uri,
    })
}

// ------------------------------------------------------------------ the flow

/// The fake's call counts at one moment.
#[derive(Debug, Clone, Copy)]
struct Calls {
    component: usize,
    authorizer: usize,
    total: usize,
}

impl Calls {
    fn of(fake: &FakeWeChat) -> Self {
        Self {
            component: fake.calls(Endpoint::ComponentToken),
            authorizer: fake.calls(Endpoint::AuthorizerToken),
            total: fake.total_calls(),
        }
    }
}

/// `api_authorizer_token 1 → 2, api_component_token 1 → 2`.
fn moved(before: Calls, after: Calls) -> String {
    format!(
        "{} {} → {}, {} {} → {}",
        endpoint_name(Endpoint::AuthorizerToken),
        before.authorizer,
        after.authorizer,
        endpoint_name(Endpoint::ComponentToken),
        before.component,
        after.component
    )
}

/// Routes of one server instance.
struct Routes {
    public: String,
    internal: String,
    component: String,
}

impl Routes {
    fn of(server: &Running, component: &str) -> Self {
        Self {
            public: server.public.clone(),
            internal: server.internal.clone(),
            component: component.to_owned(),
        }
    }

    fn push(&self) -> String {
        format!("{}/wechat/{}/component", self.public, self.component)
    }

    fn authorize(&self) -> String {
        format!("{}/wechat/{}/authorize", self.public, self.component)
    }

    fn component_token(&self) -> String {
        format!("{}/v1/{}/component/token", self.internal, self.component)
    }

    fn authorizers(&self) -> String {
        format!("{}/v1/{}/authorizers", self.internal, self.component)
    }

    fn authorizer(&self) -> String {
        format!("{}/{AUTHORIZER_APPID}", self.authorizers())
    }

    fn authorizer_token(&self) -> String {
        format!("{}/token", self.authorizer())
    }

    fn authorizer_refresh(&self) -> String {
        format!("{}/token/refresh", self.authorizer())
    }

    fn readyz(&self) -> String {
        format!("{}/readyz", self.internal)
    }
}

/// The authorizer's entry as the internal API shows it: from the list, or, while the store
/// cannot list (the list answers 501), from `GET /v1/{component}/authorizers/{appid}`. Returns
/// the entry and how it was found.
async fn listed(http: &Http, routes: &Routes, step: &str) -> Result<(Value, String), Failure> {
    let list = Http::send(http.api_get(&routes.authorizers()), step).await?;
    if list.status == 501 {
        let one = Http::send(http.api_get(&routes.authorizer()), step).await?;
        let entry = one.ok_json(step, "GET /v1/{component}/authorizers/{appid}")?;
        return Ok((
            entry,
            "by appid (this store cannot list yet: the list answers 501)".to_owned(),
        ));
    }
    let j = list.ok_json(step, "GET /v1/{component}/authorizers")?;
    let items = j["authorizers"]
        .as_array()
        .ok_or_else(|| fail(step, "the list has no `authorizers`"))?;
    let entry = items
        .iter()
        .find(|a| a["authorizer_appid"] == AUTHORIZER_APPID)
        .cloned()
        .ok_or_else(|| fail(step, "the authorizer is not listed"))?;
    Ok((entry, format!("in the list ({} account(s))", items.len())))
}

fn check_entry(entry: &Value, step: &str) -> Result<(), Failure> {
    check(
        entry["authorizer_appid"] == AUTHORIZER_APPID
            && entry["status"] == "authorized"
            && entry["has_refresh_token"] == true,
        step,
        "the authorizer is not shown as authorized with a refresh token",
    )
}

async fn flow(report: &mut Report, data_dir: &Path) -> Result<(), Failure> {
    // One clock for everything: the fake expires tokens on it and every server instance
    // decides on it (the same `Arc<dyn Clock>`, handed over through ServerOptions::clock).
    let manual = ManualClock::at_unix(START_UNIX);
    let fake = FakeWeChat::builder()
        .config(FakeConfig::default())
        .clock(manual)
        .start()
        .await
        .map_err(|e| fail("starting FakeWeChat", e))?;
    let clock: Arc<dyn Clock> = fake.clock();
    let appid = fake.component_appid().to_owned();
    let key = format!("{:032x}", rand::random::<u128>());
    let http = Http::new(key.clone())?;
    let text = config_text(&fake, free_port()?, data_dir, &key);
    let cfg = config::parse(&text, data_dir).map_err(|e| fail("configuring the server", e))?;
    let server = start_server(cfg.clone(), clock.clone(), "starting the server").await?;
    let routes = Routes::of(&server, &appid);

    report
        .line("wxopen demo: the real server against FakeWeChat, driven over HTTP (loopback only)");
    report.info(
        "fake platform",
        format!(
            "{} (api) and {} (api2 fallback)",
            fake.primary_url(),
            fake.fallback_url()
        ),
    );
    report.info("component", format!("{appid} (fake credentials)"));
    report.info(
        "server",
        format!(
            "wxopen-server: public {}, internal {} (background refresher off)",
            routes.public, routes.internal
        ),
    );
    report.info(
        "store",
        format!(
            "{} (the default SQLite store, in a temp dir removed at the end)",
            cfg.store
        ),
    );
    report.info(
        "clock",
        format!(
            "one ManualClock for the fake and every server, at unix {}",
            fake.now_unix()
        ),
    );

    // 1. WeChat pushes a component_verify_ticket to the authorization event URL.
    report.begin();
    let step = "ticket push";
    let push = fake.push_ticket().map_err(|e| fail(step, e))?;
    let ticket = fake
        .current_ticket()
        .ok_or_else(|| fail(step, "the fake issued no ticket"))?;
    let a = Http::send(
        http.client
            .post(push.url(&routes.push()))
            .body(push.body.clone()),
        step,
    )
    .await?;
    check(
        a.status == 200 && a.body == "success",
        step,
        &format!("answered HTTP {} {:?}, not \"success\"", a.status, a.body),
    )?;
    check(fake.total_calls() == 0, step, "the push called the API")?;
    report.step(
        step,
        format!(
            "POST /wechat/{appid}/component: {} bytes of AES envelope with msg_signature → 200 \"{}\"; ticket {} stored, 0 API calls",
            push.body.len(),
            a.body,
            fingerprint(&ticket)
        ),
    );

    // 2. An admin opens the authorization entry page in a desktop browser.
    report.begin();
    let step = "authorize page (PC)";
    let a = http.get(&routes.authorize(), step).await?;
    check(a.status == 200, step, &format!("HTTP {}", a.status))?;
    let pc = auth_link(&a.body, &appid, step)?;
    let expected_redirect = format!("{}/wechat/{appid}/authorized", routes.public);
    check(
        pc.url.contains("componentloginpage") && pc.redirect_uri == expected_redirect,
        step,
        "not a componentloginpage link back to this server",
    )?;
    check(
        fake.calls(Endpoint::ComponentToken) == 1 && fake.calls(Endpoint::CreatePreAuthCode) == 1,
        step,
        "expected one component token and one pre-auth code",
    )?;
    report.step(
        step,
        format!(
            "GET /wechat/{appid}/authorize → HTML page, pre-auth code {} ({} + {}): {}",
            fingerprint(&pc.pre_auth_code),
            endpoint_name(Endpoint::ComponentToken),
            endpoint_name(Endpoint::CreatePreAuthCode),
            pc.url
        ),
    );

    // 3. The same page on a phone: the H5 link, and a fresh pre-auth code.
    report.begin();
    let step = "authorize page (H5)";
    let a = Http::send(
        http.client
            .get(routes.authorize())
            .header(reqwest::header::USER_AGENT, MOBILE_UA),
        step,
    )
    .await?;
    check(a.status == 200, step, &format!("HTTP {}", a.status))?;
    let h5 = auth_link(&a.body, &appid, step)?;
    check(
        h5.url.contains("bindcomponent"),
        step,
        "not a bindcomponent link",
    )?;
    check(
        h5.pre_auth_code != pc.pre_auth_code,
        step,
        "the page reused a pre-auth code",
    )?;
    check(
        fake.calls(Endpoint::ComponentToken) == 1,
        step,
        "the component token was fetched again",
    )?;
    report.step(
        step,
        format!(
            "mobile user agent → fresh pre-auth code {} (the component token reused): {}",
            fingerprint(&h5.pre_auth_code),
            h5.url
        ),
    );

    // 4. The admin agrees on the PC page: WeChat pushes `authorized` to the event URL…
    report.begin();
    let step = "admin consent + push";
    let consent = fake
        .simulate_admin_consent(&pc.pre_auth_code, AUTHORIZER_APPID)
        .map_err(|e| fail(step, e))?;
    let a = Http::send(
        http.client
            .post(consent.push.url(&routes.push()))
            .body(consent.push.body.clone()),
        step,
    )
    .await?;
    check(
        a.status == 200 && a.body == "success",
        step,
        &format!("the authorized push got HTTP {} {:?}", a.status, a.body),
    )?;
    report.step(
        step,
        format!(
            "admin of {AUTHORIZER_APPID} agreed; WeChat pushes `authorized` with auth_code {} → 200 \"{}\" (the server exchanges it in the background)",
            fingerprint(&consent.auth_code),
            a.body
        ),
    );

    // 5. …and sends the browser back to the redirect URI with the same code.
    report.begin();
    let step = "redirect → result page";
    let sep = if pc.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let back = format!("{}{sep}{}", pc.redirect_uri, consent.redirect_query);
    let a = http.get(&back, step).await?;
    check(
        a.status == 200,
        step,
        &format!("HTTP {}: {}", a.status, a.body),
    )?;
    let account = between(&a.body, "<code id=\"authorizer\">", "</code>").map(unescape);
    check(
        account.as_deref() == Some(AUTHORIZER_APPID),
        step,
        "the result page does not name the account",
    )?;
    let sets = between(&a.body, "<span id=\"permissions\">", "</span>")
        .map(unescape)
        .unwrap_or_default();
    let access = fake
        .authorizer_access_token(AUTHORIZER_APPID)
        .ok_or_else(|| fail(step, "the fake issued no authorizer token"))?;
    let refresh = fake
        .authorizer_refresh_token(AUTHORIZER_APPID)
        .ok_or_else(|| fail(step, "the account is not authorized on the fake"))?;
    let component_token = fake.component_access_token().unwrap_or_default();
    let leaks = [
        access.as_str(),
        refresh.as_str(),
        component_token.as_str(),
        consent.auth_code.as_str(),
        "@@@",
    ];
    check(
        !leaks.iter().any(|s| !s.is_empty() && a.body.contains(s)),
        step,
        "the result page shows a token or code",
    )?;
    check(
        fake.calls(Endpoint::QueryAuth) == 1,
        step,
        &format!(
            "{} called {} times (the push and the redirect share one)",
            endpoint_name(Endpoint::QueryAuth),
            fake.calls(Endpoint::QueryAuth)
        ),
    )?;
    report.step(
        step,
        format!(
            "GET /wechat/{appid}/authorized?auth_code=…&expires_in={} → page \"Account {AUTHORIZER_APPID}\", {} permission sets, no token in it; 1 {} for the push and the redirect",
            consent.expires_in,
            sets.split(',').filter(|s| !s.trim().is_empty()).count(),
            endpoint_name(Endpoint::QueryAuth)
        ),
    );

    // 6. A service of the host asks the internal token API for the component token.
    report.begin();
    let step = "component token (API)";
    let before = fake.total_calls();
    let anonymous = Http::send(http.client.get(routes.component_token()), step).await?;
    check(
        anonymous.status == 401,
        step,
        "answered without the bearer key",
    )?;
    let ct = http
        .token(&routes.component_token(), "component_access_token", step)
        .await?;
    check(
        fake.check_component_access_token(&ct.token).is_ok(),
        step,
        "the fake does not accept the token",
    )?;
    check(
        ct.expires_at.saturating_sub(fake.now_unix()) == ct.expires_in,
        step,
        "the server's expires_in is not on the fake's clock",
    )?;
    check(
        fake.total_calls() == before,
        step,
        "the token was fetched again",
    )?;
    report.step(
        step,
        format!(
            "GET /v1/{appid}/component/token with the bearer key → {}, expires_in {} s (on the shared clock), 0 API calls; without the key: {}",
            fingerprint(&ct.token),
            ct.expires_in,
            anonymous.status
        ),
    );

    // 7. The authorizer token: stored by query_auth, served from the store.
    report.begin();
    let step = "authorizer token (API)";
    let at = http
        .token(&routes.authorizer_token(), "authorizer_access_token", step)
        .await?;
    check(
        at.token == access
            && fake
                .check_authorizer_access_token(AUTHORIZER_APPID, &at.token)
                .is_ok(),
        step,
        "not the token query_auth stored",
    )?;
    check(fake.total_calls() == before, step, "the token was fetched")?;
    report.step(
        step,
        format!(
            "GET /v1/{appid}/authorizers/{AUTHORIZER_APPID}/token → {} (from query_auth, in the store), expires_in {} s, 0 API calls",
            fingerprint(&at.token),
            at.expires_in
        ),
    );

    // 8. The accounts the component serves.
    report.begin();
    let step = "authorizers list";
    let (entry, how) = listed(&http, &routes, step).await?;
    check_entry(&entry, step)?;
    check(
        !entry.to_string().contains(&at.token) && !entry.to_string().contains(&refresh),
        step,
        "the list shows a token",
    )?;
    report.step(
        step,
        format!(
            "{AUTHORIZER_APPID} {how}: authorized, refresh token held, access token until {}; no secret shown",
            entry["access_token_expires_at"]
        ),
    );

    // 9. Time passes: the shared clock jumps past the tokens' 7200 s lifetime.
    report.begin();
    let step = "forced expiry";
    fake.advance(EXPIRY_JUMP);
    let now = fake.now_unix();
    let summary = Http::send(http.api_get(&routes.authorizer()), step)
        .await?
        .ok_json(step, "GET /v1/{component}/authorizers/{appid}")?;
    let stored_until = summary["access_token_expires_at"]
        .as_u64()
        .ok_or_else(|| fail(step, "the server shows no access token expiry"))?;
    check(
        stored_until == at.expires_at && stored_until < now,
        step,
        "the server's stored token is not expired on the shared clock",
    )?;
    let refused = fake.check_authorizer_access_token(AUTHORIZER_APPID, &at.token);
    check(
        refused.is_err() && fake.check_component_access_token(&ct.token).is_err(),
        step,
        "the fake still accepts the old tokens",
    )?;
    check(
        fake.total_calls() == before,
        step,
        "something refreshed early",
    )?;
    report.step(
        step,
        format!(
            "shared clock +{} s → unix {now}: the server shows authorizer token {} expired at {stored_until}, {} s ago; the fake answers {} for it, and the component token is expired too",
            EXPIRY_JUMP.as_secs(),
            fingerprint(&at.token),
            now - stored_until,
            refused.err().unwrap_or_default()
        ),
    );

    // 10. Many services ask at once while the token is expired: one refresh upstream.
    report.begin();
    let step = "20 callers at expiry";
    let before = Calls::of(&fake);
    let got = Http::all_at_once(
        (0..CALLERS)
            .map(|_| http.api_get(&routes.authorizer_token()))
            .collect(),
        "authorizer_access_token",
        step,
    )
    .await?;
    let after = Calls::of(&fake);
    let fresh = one_token(&got, step)?.clone();
    check(
        after.authorizer - before.authorizer == 1,
        step,
        &format!(
            "{} called {} times, expected 1",
            endpoint_name(Endpoint::AuthorizerToken),
            after.authorizer - before.authorizer
        ),
    )?;
    check(
        after.component - before.component == 1,
        step,
        "expected one component token refresh",
    )?;
    check(
        fresh.token != at.token
            && fresh.expires_at > now
            && fake
                .check_authorizer_access_token(AUTHORIZER_APPID, &fresh.token)
                .is_ok(),
        step,
        "no new accepted authorizer token",
    )?;
    report.step(
        step,
        format!(
            "{CALLERS} concurrent GETs of the expired token → {} upstream {} call ({}; the component token had expired too); all {CALLERS} got {} (was {})",
            after.authorizer - before.authorizer,
            endpoint_name(Endpoint::AuthorizerToken),
            moved(before, after),
            fingerprint(&fresh.token),
            fingerprint(&at.token)
        ),
    );

    // 11. Services report the same failed token (WeChat said 40001): one refresh.
    report.begin();
    let step = "compare-and-refresh";
    let before = Calls::of(&fake);
    let got = Http::all_at_once(
        (0..REPORTERS)
            .map(|_| http.api_refresh(&routes.authorizer_refresh(), &fresh.token))
            .collect(),
        "authorizer_access_token",
        step,
    )
    .await?;
    let renewed = one_token(&got, step)?.clone();
    let mid = Calls::of(&fake);
    check(
        mid.authorizer - before.authorizer == 1 && mid.component == before.component,
        step,
        &format!(
            "{} called {} times, expected 1",
            endpoint_name(Endpoint::AuthorizerToken),
            mid.authorizer - before.authorizer
        ),
    )?;
    check(
        renewed.token != fresh.token,
        step,
        "the stale token was handed back",
    )?;
    // A late report of the same stale token gets the current one, without a call.
    let late = Issued::from_json(
        &Http::send(
            http.api_refresh(&routes.authorizer_refresh(), &fresh.token),
            step,
        )
        .await?
        .ok_json(step, "the late report")?,
        "authorizer_access_token",
        step,
    )?;
    let after = Calls::of(&fake);
    check(
        late.token == renewed.token && after.total == mid.total,
        step,
        "a late report of the stale token refreshed again",
    )?;
    report.step(
        step,
        format!(
            "{REPORTERS} concurrent POSTs of /token/refresh {{\"stale\": \"{}\"}} → {} upstream {} call ({}); all got {}; a late report of the same stale token: the current one, 0 calls",
            fingerprint(&fresh.token),
            mid.authorizer - before.authorizer,
            endpoint_name(Endpoint::AuthorizerToken),
            moved(before, after),
            fingerprint(&renewed.token)
        ),
    );

    // The 全网发布 release check, as the console's button runs it: WeChat's test messages for
    // a group of test accounts drawn at random, to the message URL, judged within 5 s.
    report.begin();
    let step = "release check";
    let group = rand::random_range(1..=5usize);
    let release = ReleaseCheck::new(format!(
        "{}/wechat/{}/callback/$APPID$",
        routes.public,
        fake.component_appid()
    ))
    .group(group)
    .deadline(RELEASE_CHECK_DEADLINE);
    let before = Calls::of(&fake);
    let result = fake
        .run_release_check(&release)
        .await
        .map_err(|e| fail(step, e))?;
    check_release(&result, step)?;
    let after = Calls::of(&fake);
    let slowest = |f: fn(&wxopen_fake::CheckResult) -> Option<Duration>| {
        result
            .checks
            .iter()
            .filter_map(f)
            .max()
            .map_or("-".to_owned(), |d| {
                format!("{:.1} ms", d.as_secs_f64() * 1000.0)
            })
    };
    report.step(
        step,
        format!(
            "group {group}: {} checks passed (text → TESTCOMPONENT_MSG_TYPE_TEXT_callback, LOCATION event → LOCATIONfrom_callback, QUERY_AUTH_CODE → empty answer then api_query_auth + custom/send \"<code>_from_api\"); slowest reply {}, slowest customer-service message {} after the check was sent; {} upstream calls",
            result.checks.len(),
            slowest(|c| c.reply_latency),
            slowest(|c| c.custom_send_latency),
            after.total - before.total
        ),
    );

    // 12. The service is restarted: graceful shutdown, then a new server on the same data dir.
    report.begin();
    let step = "graceful restart";
    let kept = http
        .token(&routes.component_token(), "component_access_token", step)
        .await?;
    server.stop(step).await?;
    check(
        Http::send(http.api_get(&routes.component_token()), step)
            .await
            .is_err(),
        step,
        "the stopped server still answers",
    )?;
    let server = start_server(cfg.clone(), clock.clone(), step).await?;
    let routes = Routes::of(&server, &appid);
    report.step(
        step,
        format!(
            "stopped (in-flight requests finished, leases released; component token was {}); a new server on the same data dir: public {}, internal {}",
            fingerprint(&kept.token),
            routes.public,
            routes.internal
        ),
    );

    // 13. Nothing was lost: ticket, component token, authorizer (with its refresh token).
    report.begin();
    let step = "after the restart";
    let before = Calls::of(&fake);
    let ready = Http::send(http.client.get(routes.readyz()), step).await?;
    let ready_json = ready.ok_json(step, "GET /readyz")?;
    let ticket_state = ready_json["components"][&appid]["ticket"]
        .as_str()
        .unwrap_or("?")
        .to_owned();
    check(
        ticket_state == "ok" && ready_json["ready"] == true,
        step,
        &format!("/readyz: ticket {ticket_state}"),
    )?;
    let ct2 = http
        .token(&routes.component_token(), "component_access_token", step)
        .await?;
    let at2 = http
        .token(&routes.authorizer_token(), "authorizer_access_token", step)
        .await?;
    let (entry, how) = listed(&http, &routes, step).await?;
    check_entry(&entry, step)?;
    let after = Calls::of(&fake);
    check(
        after.total == before.total,
        step,
        &format!(
            "{} upstream calls after the restart, expected 0",
            after.total - before.total
        ),
    )?;
    check(
        ct2.token == kept.token && at2.token == renewed.token,
        step,
        "not the tokens stored before the restart",
    )?;
    report.step(
        step,
        format!(
            "/readyz ready (ticket {ticket_state}); component token {} and authorizer token {} served from the file, as before; {AUTHORIZER_APPID} still there {how}; 0 API calls",
            fingerprint(&ct2.token),
            fingerprint(&at2.token)
        ),
    );

    // 14. A second instance on the same store file (as behind a load balancer).
    report.begin();
    let step = "second instance";
    let mut second_cfg = cfg.clone();
    second_cfg.public_listen = "127.0.0.1:0"
        .parse()
        .map_err(|e| fail(step, format!("{e}")))?;
    let second = start_server(second_cfg, clock.clone(), step).await?;
    let routes2 = Routes::of(&second, &appid);
    let before = Calls::of(&fake);
    let at3 = http
        .token(&routes2.authorizer_token(), "authorizer_access_token", step)
        .await?;
    check(
        at3.token == renewed.token && Calls::of(&fake).total == before.total,
        step,
        "the second instance does not serve the stored token",
    )?;
    report.step(
        step,
        format!(
            "public {}, internal {}, same store file: serves {} from it, 0 API calls",
            routes2.public,
            routes2.internal,
            fingerprint(&at3.token)
        ),
    );

    // 15. Expiry again, with callers on both instances at once: one refresh in total.
    report.begin();
    let step = "two instances at expiry";
    fake.advance(EXPIRY_JUMP);
    let now = fake.now_unix();
    check(
        renewed.expires_at < now && ct2.expires_at < now,
        step,
        "the tokens are not expired on the shared clock",
    )?;
    let before = Calls::of(&fake);
    let requests = (0..CALLERS)
        .map(|i| {
            let r = if i % 2 == 0 { &routes } else { &routes2 };
            http.api_get(&r.authorizer_token())
        })
        .collect();
    let got = Http::all_at_once(requests, "authorizer_access_token", step).await?;
    let after = Calls::of(&fake);
    let last = one_token(&got, step)?.clone();
    check(
        after.authorizer - before.authorizer == 1 && after.component - before.component == 1,
        step,
        &format!(
            "{} across both instances, expected 1 each",
            moved(before, after)
        ),
    )?;
    check(
        last.token != renewed.token
            && fake
                .check_authorizer_access_token(AUTHORIZER_APPID, &last.token)
                .is_ok(),
        step,
        "no new accepted authorizer token",
    )?;
    report.step(
        step,
        format!(
            "shared clock +{} s; {} + {} concurrent GETs on the two instances → {} upstream {} call in total ({}); all {CALLERS} got {} (fetched with the ticket and the refresh token stored before the restart)",
            EXPIRY_JUMP.as_secs(),
            CALLERS / 2,
            CALLERS - CALLERS / 2,
            after.authorizer - before.authorizer,
            endpoint_name(Endpoint::AuthorizerToken),
            moved(before, after),
            fingerprint(&last.token)
        ),
    );

    second.stop("stopping the second instance").await?;
    server.stop("stopping the server").await?;

    // The fake's view: exactly the calls the flow needs.
    report.line("");
    report.line("  upstream calls counted by the fake:");
    for (endpoint, want) in EXPECTED_CALLS {
        let n = fake.calls(endpoint);
        report.line(&format!("    {:<26} {n}", endpoint_name(endpoint)));
        report.counts.push((endpoint_name(endpoint).to_owned(), n));
        check(
            n == want,
            "upstream call counts",
            &format!(
                "{} called {n} times, expected {want}",
                endpoint_name(endpoint)
            ),
        )?;
    }
    let total = fake.total_calls();
    let primary = fake.host_calls(Host::Primary);
    report.line(&format!(
        "    {:<26} {total} ({primary} on api, {} on the api2 fallback)",
        "total",
        total - primary.min(total)
    ));
    report.counts.push(("total".to_owned(), total));
    check(
        total == EXPECTED_CALLS.iter().map(|(_, n)| n).sum::<usize>(),
        "upstream call counts",
        "unexpected extra calls",
    )?;
    Ok(())
}
