//! `wxopen demo`: the real service — the [`wxopen_server::Server`] that `wxopen serve` runs,
//! with its default SQLite store in a fresh temporary data dir — against `wxopen-fake`'s
//! [`FakeWeChat`] on loopback, driven over HTTP the way WeChat, an admin's browser and the
//! host's other services use it.
//!
//! The demo is a list of named steps (`STEPS`): WeChat pushes a ticket to the public push route → the
//! authorize page (PC and H5, a fresh pre-auth code each) → the admin agrees (WeChat pushes
//! `authorized`) → the browser follows the redirect to the result page → the token API on the
//! internal listener (component token, authorizer token, authorizers list) → forced expiry on
//! the shared clock → 20 concurrent callers at expiry → compare-and-refresh → the 全网发布
//! release check for a random test-account group → a graceful restart on the same data dir →
//! two instances sharing the store, concurrent callers on both at expiry. A small driver runs
//! them in order and prints each one's name, timing and what it did. Every step checks what it
//! shows against the fake's state and call counts; a step that does not do what it should
//! fails the demo (exit code 4) with its name and why.
//!
//! One [`ManualClock`] is shared by the fake and every server instance (handed to the server
//! through [`ServerOptions::clock`](wxopen_server::ServerOptions::clock)): the fake expires
//! tokens on it, the servers decide on it, and a forced expiry moves it once. The server runs
//! with its defaults otherwise, except that the background refresher is off, so every upstream
//! call counted is one a step caused.
//!
//! Nothing leaves the machine: the fake and the server listen on 127.0.0.1 and the HTTP client
//! (`wxopen_fake::harness`, shared with the tests) ignores proxy settings. Tokens are shown as
//! fingerprints (the first 8 hex digits of their SHA-1), never in full; the internal API key
//! is drawn at random and never printed.

mod client;
mod report;
mod service;

use std::fmt::Display;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use wxopen_client::{Clock, ManualClock};
use wxopen_fake::harness::{self, AuthorizeLink, ResultPage, Routes, TempDir};
use wxopen_fake::{Consent, Endpoint, FakeConfig, FakeWeChat, Host, ReleaseCheck, CUSTOM_SEND};
use wxopen_server::{config, ServerConfig};

use crate::args::DemoArgs;
use crate::failure::Failure;
use client::{auth_link, check_entry, ensure, listed, ok_json, one_token, send, Http, Issued, Why};
use report::Report;
use service::{config_text, Instance};

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

/// What a step returns: the line it prints (what happened), or why it failed.
type StepFuture<'a> = Pin<Box<dyn Future<Output = Result<String, Why>> + 'a>>;
/// A step: one thing done to the service and checked.
type Step = for<'a> fn(&'a mut Demo) -> StepFuture<'a>;

/// The demo: each step's name (as printed, and in `--json`) and what runs it, in order.
const STEPS: [(&str, Step); 16] = [
    ("ticket push", |d| Box::pin(d.ticket_push())),
    ("authorize page (PC)", |d| Box::pin(d.authorize_page_pc())),
    ("authorize page (H5)", |d| Box::pin(d.authorize_page_h5())),
    ("admin consent + push", |d| Box::pin(d.admin_consent())),
    ("redirect → result page", |d| Box::pin(d.redirect())),
    ("component token (API)", |d| Box::pin(d.component_token())),
    ("authorizer token (API)", |d| Box::pin(d.authorizer_token())),
    ("authorizers list", |d| Box::pin(d.authorizers_list())),
    ("forced expiry", |d| Box::pin(d.forced_expiry())),
    ("20 callers at expiry", |d| Box::pin(d.callers_at_expiry())),
    ("compare-and-refresh", |d| Box::pin(d.compare_and_refresh())),
    ("release check", |d| Box::pin(d.release_check())),
    ("graceful restart", |d| Box::pin(d.graceful_restart())),
    ("after the restart", |d| Box::pin(d.after_the_restart())),
    ("second instance", |d| Box::pin(d.second_instance())),
    ("two instances at expiry", |d| {
        Box::pin(d.two_instances_at_expiry())
    }),
];

/// Run the demo. Text mode prints each step as it happens and returns nothing more to print;
/// `--json` returns one JSON object with every step, its timing and the call counts.
pub fn run(_args: &DemoArgs, json: bool) -> Result<Vec<u8>, Failure> {
    // Declared before the runtime, so it is removed after the servers (runtime tasks) are gone.
    let dir =
        TempDir::new("wxopen-demo").map_err(|e| Failure::Demo(format!("the data dir: {e}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Demo(format!("cannot start the async runtime: {e}")))?;
    let mut report = Report::new(json);
    runtime.block_on(drive(&mut report, dir.path()))?;
    drop(runtime);
    Ok(report.finish())
}

/// The driver: set up, run [`STEPS`] in order (timing and printing each), check the totals.
async fn drive(report: &mut Report, data_dir: &Path) -> Result<(), Failure> {
    let mut demo = Demo::start(data_dir).await?;
    demo.header(report);
    for (name, step) in STEPS {
        report.begin();
        let detail = step(&mut demo).await.map_err(|why| fail(name, why.0))?;
        report.step(name, detail);
    }
    demo.finish(report).await
}

/// A token's fingerprint: the first 8 hex digits of its SHA-1. Enough to see that a token
/// changed, useless for calling an API.
pub fn fingerprint(secret: &str) -> String {
    let digest = wxopen_core::signature::sign_parts(&mut [secret.as_bytes()]);
    format!("#{}", &digest.as_str()[..8])
}

fn fail(step: &str, what: impl Display) -> Failure {
    Failure::Demo(format!("{step}: {what}"))
}

fn endpoint_name(e: Endpoint) -> &'static str {
    let p = e.path();
    p.strip_prefix("/cgi-bin/component/")
        .or_else(|| p.strip_prefix("/cgi-bin/message/"))
        .or_else(|| p.rsplit('/').next())
        .unwrap_or("?")
}

// ------------------------------------------------------------------ the demo's state

/// Everything the steps share: the fake, the client side, the server instances, and what
/// earlier steps found that later ones check against.
struct Demo {
    fake: FakeWeChat,
    clock: Arc<dyn Clock>,
    http: Http,
    cfg: ServerConfig,
    /// The server (none between the two halves of the restart) and its routes.
    server: Option<Instance>,
    routes: Routes,
    /// The second instance on the same store, from that step on.
    second: Option<Instance>,
    seen: Seen,
}

/// What earlier steps found.
#[derive(Default)]
struct Seen {
    /// The PC authorize page's link (its pre-auth code is the one the admin consents with).
    pc: AuthorizeLink,
    consent: Option<Consent>,
    /// The fake's tokens for the account after the redirect.
    access: String,
    refresh: String,
    /// The fake's call total once the account was authorized; served tokens must not move it.
    calls_after_redirect: usize,
    component: Issued,
    authorizer: Issued,
    /// The token the 20 callers got, the one compare-and-refresh gave, and the component
    /// token before and after the restart.
    fresh: Issued,
    renewed: Issued,
    kept: Issued,
    component_after_restart: Issued,
}

impl Demo {
    /// Starts the fake and a server on one shared clock, the server configured for the fake
    /// with its SQLite store in `data_dir`.
    async fn start(data_dir: &Path) -> Result<Self, Failure> {
        // One clock for everything: the fake expires tokens on it and every server instance
        // decides on it (the same `Arc<dyn Clock>`, handed over through ServerOptions::clock).
        let fake = FakeWeChat::builder()
            .config(FakeConfig::default())
            .clock(ManualClock::at_unix(START_UNIX))
            .start()
            .await
            .map_err(|e| fail("starting FakeWeChat", e))?;
        let clock: Arc<dyn Clock> = fake.clock();
        let key = format!("{:032x}", rand::random::<u128>());
        let http = Http::new(key.clone())?;
        let port = harness::free_port()
            .map_err(|e| Failure::Demo(format!("cannot find a free loopback port: {e}")))?;
        let text = config_text(&fake, port, data_dir, &key);
        let cfg = config::parse(&text, data_dir).map_err(|e| fail("configuring the server", e))?;
        let server = Instance::start(cfg.clone(), clock.clone(), fake.component_appid())
            .await
            .map_err(|why| fail("starting the server", why.0))?;
        Ok(Self {
            fake,
            clock,
            http,
            cfg,
            routes: server.routes.clone(),
            server: Some(server),
            second: None,
            seen: Seen::default(),
        })
    }

    fn appid(&self) -> &str {
        self.fake.component_appid()
    }

    /// The setup lines above the steps.
    fn header(&self, report: &mut Report) {
        report.line(
            "wxopen demo: the real server against FakeWeChat, driven over HTTP (loopback only)",
        );
        let fake = &self.fake;
        let (primary, fallback) = (fake.primary_url(), fake.fallback_url());
        report.info(
            "fake platform",
            format!("{primary} (api) and {fallback} (api2 fallback)"),
        );
        report.info("component", format!("{} (fake credentials)", self.appid()));
        let Routes {
            public, internal, ..
        } = &self.routes;
        report.info(
            "server",
            format!(
                "wxopen-server: public {public}, internal {internal} (background refresher off)"
            ),
        );
        report.info(
            "store",
            format!(
                "{} (the default SQLite store, in a temp dir removed at the end)",
                self.cfg.store
            ),
        );
        report.info(
            "clock",
            format!(
                "one ManualClock for the fake and every server, at unix {}",
                fake.now_unix()
            ),
        );
    }

    /// After the steps: both instances stop gracefully, and the fake counted exactly the
    /// calls the flow needs.
    async fn finish(mut self, report: &mut Report) -> Result<(), Failure> {
        if let Some(second) = self.second.take() {
            second
                .stop()
                .await
                .map_err(|why| fail("stopping the second instance", why.0))?;
        }
        if let Some(server) = self.server.take() {
            server
                .stop()
                .await
                .map_err(|why| fail("stopping the server", why.0))?;
        }
        check_counts(&self.fake, report).map_err(|why| fail("upstream call counts", why.0))
    }
}

/// The fake's view, printed and checked: exactly [`EXPECTED_CALLS`], and nothing else.
fn check_counts(fake: &FakeWeChat, report: &mut Report) -> Result<(), Why> {
    report.line("");
    report.line("  upstream calls counted by the fake:");
    for (endpoint, want) in EXPECTED_CALLS {
        let n = fake.calls(endpoint);
        report.line(&format!("    {:<26} {n}", endpoint_name(endpoint)));
        report.count(endpoint_name(endpoint), n);
        ensure(
            n == want,
            format!(
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
    report.count("total", total);
    ensure(
        total == EXPECTED_CALLS.iter().map(|(_, n)| n).sum::<usize>(),
        "unexpected extra calls",
    )
}

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

/// Fails the step with every failed check's reason.
fn check_release(report: &wxopen_fake::ReleaseCheckReport) -> Result<(), Why> {
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
    ensure(failed.is_empty(), failed.join("; "))
}

/// The slowest of the checks' latencies `f`, in ms, or `-`.
fn slowest(
    report: &wxopen_fake::ReleaseCheckReport,
    f: fn(&wxopen_fake::CheckResult) -> Option<Duration>,
) -> String {
    report
        .checks
        .iter()
        .filter_map(f)
        .max()
        .map_or("-".to_owned(), |d| {
            format!("{:.1} ms", d.as_secs_f64() * 1000.0)
        })
}

// ------------------------------------------------------------------ the steps

impl Demo {
    /// WeChat pushes a `component_verify_ticket` to the authorization event URL.
    async fn ticket_push(&mut self) -> Result<String, Why> {
        let push = self.fake.push_ticket()?;
        let ticket = self
            .fake
            .current_ticket()
            .ok_or("the fake issued no ticket")?;
        let url = push.url(&self.routes.push());
        let a = send(self.http.client.post(url).body(push.body.clone())).await?;
        ensure(
            a.status == 200 && a.body == "success",
            format!("answered HTTP {} {:?}, not \"success\"", a.status, a.body),
        )?;
        ensure(self.fake.total_calls() == 0, "the push called the API")?;
        Ok(format!(
            "POST /wechat/{}/component: {} bytes of AES envelope with msg_signature → 200 \"{}\"; ticket {} stored, 0 API calls",
            self.appid(),
            push.body.len(),
            a.body,
            fingerprint(&ticket)
        ))
    }

    /// An admin opens the authorization entry page in a desktop browser.
    async fn authorize_page_pc(&mut self) -> Result<String, Why> {
        let a = self.http.get(&self.routes.authorize()).await?;
        ensure(a.status == 200, format!("HTTP {}", a.status))?;
        let pc = auth_link(&a.body, self.appid())?;
        ensure(
            pc.url.contains("componentloginpage") && pc.redirect_uri == self.routes.authorized(),
            "not a componentloginpage link back to this server",
        )?;
        ensure(
            self.fake.calls(Endpoint::ComponentToken) == 1
                && self.fake.calls(Endpoint::CreatePreAuthCode) == 1,
            "expected one component token and one pre-auth code",
        )?;
        let detail = format!(
            "GET /wechat/{}/authorize → HTML page, pre-auth code {} ({} + {}): {}",
            self.appid(),
            fingerprint(&pc.pre_auth_code),
            endpoint_name(Endpoint::ComponentToken),
            endpoint_name(Endpoint::CreatePreAuthCode),
            pc.url
        );
        self.seen.pc = pc;
        Ok(detail)
    }

    /// The same page on a phone: the H5 link, and a fresh pre-auth code.
    async fn authorize_page_h5(&mut self) -> Result<String, Why> {
        let request = self.http.client.get(self.routes.authorize());
        let a = send(request.header(reqwest::header::USER_AGENT, MOBILE_UA)).await?;
        ensure(a.status == 200, format!("HTTP {}", a.status))?;
        let h5 = auth_link(&a.body, self.appid())?;
        ensure(h5.url.contains("bindcomponent"), "not a bindcomponent link")?;
        ensure(
            h5.pre_auth_code != self.seen.pc.pre_auth_code,
            "the page reused a pre-auth code",
        )?;
        ensure(
            self.fake.calls(Endpoint::ComponentToken) == 1,
            "the component token was fetched again",
        )?;
        Ok(format!(
            "mobile user agent → fresh pre-auth code {} (the component token reused): {}",
            fingerprint(&h5.pre_auth_code),
            h5.url
        ))
    }

    /// The admin agrees on the PC page: WeChat pushes `authorized` to the event URL…
    async fn admin_consent(&mut self) -> Result<String, Why> {
        let consent = self
            .fake
            .simulate_admin_consent(&self.seen.pc.pre_auth_code, AUTHORIZER_APPID)?;
        let url = consent.push.url(&self.routes.push());
        let a = send(self.http.client.post(url).body(consent.push.body.clone())).await?;
        ensure(
            a.status == 200 && a.body == "success",
            format!("the authorized push got HTTP {} {:?}", a.status, a.body),
        )?;
        let detail = format!(
            "admin of {AUTHORIZER_APPID} agreed; WeChat pushes `authorized` with auth_code {} → 200 \"{}\" (the server exchanges it in the background)",
            fingerprint(&consent.auth_code),
            a.body
        );
        self.seen.consent = Some(consent);
        Ok(detail)
    }

    /// …and sends the browser back to the redirect URI with the same code.
    async fn redirect(&mut self) -> Result<String, Why> {
        let consent = self.seen.consent.take().ok_or("no admin consent yet")?;
        let a = self
            .http
            .get(&self.seen.pc.redirect(&consent.redirect_query))
            .await?;
        ensure(a.status == 200, format!("HTTP {}: {}", a.status, a.body))?;
        let page = ResultPage::read(&a.body);
        ensure(
            page.authorizer.as_deref() == Some(AUTHORIZER_APPID),
            "the result page does not name the account",
        )?;
        ensure(page.next_step, "the result page gives no next step")?;
        self.seen.access = self
            .fake
            .authorizer_access_token(AUTHORIZER_APPID)
            .ok_or("the fake issued no authorizer token")?;
        self.seen.refresh = self
            .fake
            .authorizer_refresh_token(AUTHORIZER_APPID)
            .ok_or("the account is not authorized on the fake")?;
        self.check_no_secret_on(&a.body, &consent.auth_code)?;
        let query_auth = self.fake.calls(Endpoint::QueryAuth);
        ensure(
            query_auth == 1,
            format!(
                "{} called {query_auth} times (the push and the redirect share one)",
                endpoint_name(Endpoint::QueryAuth)
            ),
        )?;
        Ok(format!(
            "GET /wechat/{}/authorized?auth_code=…&expires_in={} → result page for account {AUTHORIZER_APPID} with {} permission sets by name and the next step, no token in it; 1 {} for the push and the redirect",
            self.appid(),
            consent.expires_in,
            page.permissions.len(),
            endpoint_name(Endpoint::QueryAuth)
        ))
    }

    /// The result page shows no token and no code.
    fn check_no_secret_on(&self, page: &str, auth_code: &str) -> Result<(), Why> {
        let component_token = self.fake.component_access_token().unwrap_or_default();
        let secrets = [
            self.seen.access.as_str(),
            self.seen.refresh.as_str(),
            component_token.as_str(),
            auth_code,
            "@@@",
        ];
        ensure(
            !secrets.iter().any(|s| !s.is_empty() && page.contains(s)),
            "the result page shows a token or code",
        )
    }

    /// A service of the host asks the internal token API for the component token.
    async fn component_token(&mut self) -> Result<String, Why> {
        let before = self.fake.total_calls();
        let url = self.routes.component_token();
        let anonymous = send(self.http.client.get(&url)).await?;
        ensure(anonymous.status == 401, "answered without the bearer key")?;
        let ct = self.http.token(&url, "component_access_token").await?;
        ensure(
            self.fake.check_component_access_token(&ct.token).is_ok(),
            "the fake does not accept the token",
        )?;
        ensure(
            ct.expires_at.saturating_sub(self.fake.now_unix()) == ct.expires_in,
            "the server's expires_in is not on the fake's clock",
        )?;
        ensure(
            self.fake.total_calls() == before,
            "the token was fetched again",
        )?;
        let detail = format!(
            "GET /v1/{}/component/token with the bearer key → {}, expires_in {} s (on the shared clock), 0 API calls; without the key: {}",
            self.appid(),
            fingerprint(&ct.token),
            ct.expires_in,
            anonymous.status
        );
        self.seen.calls_after_redirect = before;
        self.seen.component = ct;
        Ok(detail)
    }

    /// The authorizer token: stored by `query_auth`, served from the store.
    async fn authorizer_token(&mut self) -> Result<String, Why> {
        let url = self.routes.authorizer_token(AUTHORIZER_APPID);
        let at = self.http.token(&url, "authorizer_access_token").await?;
        ensure(
            at.token == self.seen.access
                && self
                    .fake
                    .check_authorizer_access_token(AUTHORIZER_APPID, &at.token)
                    .is_ok(),
            "not the token query_auth stored",
        )?;
        ensure(
            self.fake.total_calls() == self.seen.calls_after_redirect,
            "the token was fetched",
        )?;
        let detail = format!(
            "GET /v1/{}/authorizers/{AUTHORIZER_APPID}/token → {} (from query_auth, in the store), expires_in {} s, 0 API calls",
            self.appid(),
            fingerprint(&at.token),
            at.expires_in
        );
        self.seen.authorizer = at;
        Ok(detail)
    }

    /// The accounts the component serves.
    async fn authorizers_list(&mut self) -> Result<String, Why> {
        let (entry, how) = listed(&self.http, &self.routes, AUTHORIZER_APPID).await?;
        check_entry(&entry, AUTHORIZER_APPID)?;
        let shown = entry.to_string();
        ensure(
            !shown.contains(&self.seen.authorizer.token) && !shown.contains(&self.seen.refresh),
            "the list shows a token",
        )?;
        Ok(format!(
            "{AUTHORIZER_APPID} {how}: authorized, refresh token held, access token until {}; no secret shown",
            entry["access_token_expires_at"]
        ))
    }

    /// Time passes: the shared clock jumps past the tokens' 7200 s lifetime.
    async fn forced_expiry(&mut self) -> Result<String, Why> {
        self.fake.advance(EXPIRY_JUMP);
        let now = self.fake.now_unix();
        let at = &self.seen.authorizer;
        let summary = send(self.http.api_get(&self.routes.authorizer(AUTHORIZER_APPID))).await?;
        let summary = ok_json(&summary, "GET /v1/{component}/authorizers/{appid}")?;
        let stored_until = summary["access_token_expires_at"]
            .as_u64()
            .ok_or("the server shows no access token expiry")?;
        ensure(
            stored_until == at.expires_at && stored_until < now,
            "the server's stored token is not expired on the shared clock",
        )?;
        let refused = self
            .fake
            .check_authorizer_access_token(AUTHORIZER_APPID, &at.token);
        ensure(
            refused.is_err()
                && self
                    .fake
                    .check_component_access_token(&self.seen.component.token)
                    .is_err(),
            "the fake still accepts the old tokens",
        )?;
        ensure(
            self.fake.total_calls() == self.seen.calls_after_redirect,
            "something refreshed early",
        )?;
        Ok(format!(
            "shared clock +{} s → unix {now}: the server shows authorizer token {} expired at {stored_until}, {} s ago; the fake answers {} for it, and the component token is expired too",
            EXPIRY_JUMP.as_secs(),
            fingerprint(&at.token),
            now - stored_until,
            refused.err().unwrap_or_default()
        ))
    }

    /// Many services ask at once while the token is expired: one refresh upstream.
    async fn callers_at_expiry(&mut self) -> Result<String, Why> {
        let url = self.routes.authorizer_token(AUTHORIZER_APPID);
        let before = Calls::of(&self.fake);
        let requests = (0..CALLERS).map(|_| self.http.api_get(&url)).collect();
        let got = Http::tokens_at_once(requests, "authorizer_access_token").await?;
        let after = Calls::of(&self.fake);
        let fresh = one_token(&got)?;
        let refreshes = after.authorizer - before.authorizer;
        ensure(
            refreshes == 1,
            format!(
                "{} called {refreshes} times, expected 1",
                endpoint_name(Endpoint::AuthorizerToken)
            ),
        )?;
        ensure(
            after.component - before.component == 1,
            "expected one component token refresh",
        )?;
        let old = &self.seen.authorizer;
        ensure(
            fresh.token != old.token
                && fresh.expires_at > self.fake.now_unix()
                && self
                    .fake
                    .check_authorizer_access_token(AUTHORIZER_APPID, &fresh.token)
                    .is_ok(),
            "no new accepted authorizer token",
        )?;
        let detail = format!(
            "{CALLERS} concurrent GETs of the expired token → {refreshes} upstream {} call ({}; the component token had expired too); all {CALLERS} got {} (was {})",
            endpoint_name(Endpoint::AuthorizerToken),
            moved(before, after),
            fingerprint(&fresh.token),
            fingerprint(&old.token)
        );
        self.seen.fresh = fresh;
        Ok(detail)
    }

    /// Services report the same failed token (WeChat said 40001): one refresh.
    async fn compare_and_refresh(&mut self) -> Result<String, Why> {
        let url = self.routes.authorizer_refresh(AUTHORIZER_APPID);
        let stale = self.seen.fresh.token.clone();
        let before = Calls::of(&self.fake);
        let requests = (0..REPORTERS)
            .map(|_| self.http.api_refresh(&url, &stale))
            .collect();
        let got = Http::tokens_at_once(requests, "authorizer_access_token").await?;
        let renewed = one_token(&got)?;
        let mid = Calls::of(&self.fake);
        let refreshes = mid.authorizer - before.authorizer;
        ensure(
            refreshes == 1 && mid.component == before.component,
            format!(
                "{} called {refreshes} times, expected 1",
                endpoint_name(Endpoint::AuthorizerToken)
            ),
        )?;
        ensure(renewed.token != stale, "the stale token was handed back")?;
        // A late report of the same stale token gets the current one, without a call.
        let late = send(self.http.api_refresh(&url, &stale)).await?;
        let late = Issued::from_json(
            &ok_json(&late, "the late report")?,
            "authorizer_access_token",
        )?;
        let after = Calls::of(&self.fake);
        ensure(
            late.token == renewed.token && after.total == mid.total,
            "a late report of the stale token refreshed again",
        )?;
        let detail = format!(
            "{REPORTERS} concurrent POSTs of /token/refresh {{\"stale\": \"{}\"}} → {refreshes} upstream {} call ({}); all got {}; a late report of the same stale token: the current one, 0 calls",
            fingerprint(&stale),
            endpoint_name(Endpoint::AuthorizerToken),
            moved(before, after),
            fingerprint(&renewed.token)
        );
        self.seen.renewed = renewed;
        Ok(detail)
    }

    /// The 全网发布 release check, as the console's button runs it: WeChat's test messages for
    /// a group of test accounts drawn at random, to the message URL, judged within 5 s.
    async fn release_check(&mut self) -> Result<String, Why> {
        let group = rand::random_range(1..=5usize);
        let message_url = format!(
            "{}/wechat/{}/callback/$APPID$",
            self.routes.public,
            self.appid()
        );
        let release = ReleaseCheck::new(message_url)
            .group(group)
            .deadline(RELEASE_CHECK_DEADLINE);
        let before = Calls::of(&self.fake);
        let result = self.fake.run_release_check(&release).await?;
        check_release(&result)?;
        let after = Calls::of(&self.fake);
        Ok(format!(
            "group {group}: {} checks passed (text → TESTCOMPONENT_MSG_TYPE_TEXT_callback, LOCATION event → LOCATIONfrom_callback, QUERY_AUTH_CODE → empty answer then api_query_auth + custom/send \"<code>_from_api\"); slowest reply {}, slowest customer-service message {} after the check was sent; {} upstream calls",
            result.checks.len(),
            slowest(&result, |c| c.reply_latency),
            slowest(&result, |c| c.custom_send_latency),
            after.total - before.total
        ))
    }

    /// The service is restarted: graceful shutdown, then a new server on the same data dir.
    async fn graceful_restart(&mut self) -> Result<String, Why> {
        let url = self.routes.component_token();
        let kept = self.http.token(&url, "component_access_token").await?;
        let old = self.server.take().ok_or("no server running")?;
        old.stop().await?;
        ensure(
            send(self.http.api_get(&url)).await.is_err(),
            "the stopped server still answers",
        )?;
        let server = Instance::start(self.cfg.clone(), self.clock.clone(), self.appid()).await?;
        self.routes = server.routes.clone();
        self.server = Some(server);
        let detail = format!(
            "stopped (in-flight requests finished, leases released; component token was {}); a new server on the same data dir: public {}, internal {}",
            fingerprint(&kept.token),
            self.routes.public,
            self.routes.internal
        );
        self.seen.kept = kept;
        Ok(detail)
    }

    /// Nothing was lost: ticket, component token, authorizer (with its refresh token).
    async fn after_the_restart(&mut self) -> Result<String, Why> {
        let before = Calls::of(&self.fake);
        let ticket_state = self.ready_ticket().await?;
        let ct = self
            .http
            .token(&self.routes.component_token(), "component_access_token")
            .await?;
        let at = self
            .http
            .token(
                &self.routes.authorizer_token(AUTHORIZER_APPID),
                "authorizer_access_token",
            )
            .await?;
        let (entry, how) = listed(&self.http, &self.routes, AUTHORIZER_APPID).await?;
        check_entry(&entry, AUTHORIZER_APPID)?;
        let after = Calls::of(&self.fake);
        ensure(
            after.total == before.total,
            format!(
                "{} upstream calls after the restart, expected 0",
                after.total - before.total
            ),
        )?;
        ensure(
            ct.token == self.seen.kept.token && at.token == self.seen.renewed.token,
            "not the tokens stored before the restart",
        )?;
        let detail = format!(
            "/readyz ready (ticket {ticket_state}); component token {} and authorizer token {} served from the file, as before; {AUTHORIZER_APPID} still there {how}; 0 API calls",
            fingerprint(&ct.token),
            fingerprint(&at.token)
        );
        self.seen.component_after_restart = ct;
        Ok(detail)
    }

    /// `/readyz` says ready and the ticket is there; returns the ticket's state.
    async fn ready_ticket(&self) -> Result<String, Why> {
        let ready = send(self.http.client.get(self.routes.readyz())).await?;
        let ready = ok_json(&ready, "GET /readyz")?;
        let ticket_state = ready["components"][self.appid()]["ticket"]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        ensure(
            ticket_state == "ok" && ready["ready"] == true,
            format!("/readyz: ticket {ticket_state}"),
        )?;
        Ok(ticket_state)
    }

    /// A second instance on the same store file (as behind a load balancer).
    async fn second_instance(&mut self) -> Result<String, Why> {
        let mut cfg = self.cfg.clone();
        cfg.public_listen = "127.0.0.1:0".parse()?;
        let second = Instance::start(cfg, self.clock.clone(), self.appid()).await?;
        let routes = second.routes.clone();
        self.second = Some(second);
        let before = Calls::of(&self.fake);
        let at = self
            .http
            .token(
                &routes.authorizer_token(AUTHORIZER_APPID),
                "authorizer_access_token",
            )
            .await?;
        ensure(
            at.token == self.seen.renewed.token && Calls::of(&self.fake).total == before.total,
            "the second instance does not serve the stored token",
        )?;
        Ok(format!(
            "public {}, internal {}, same store file: serves {} from it, 0 API calls",
            routes.public,
            routes.internal,
            fingerprint(&at.token)
        ))
    }

    /// Expiry again, with callers on both instances at once: one refresh in total.
    async fn two_instances_at_expiry(&mut self) -> Result<String, Why> {
        let second = self.second.as_ref().ok_or("no second instance")?;
        self.fake.advance(EXPIRY_JUMP);
        let now = self.fake.now_unix();
        let renewed = &self.seen.renewed;
        ensure(
            renewed.expires_at < now && self.seen.component_after_restart.expires_at < now,
            "the tokens are not expired on the shared clock",
        )?;
        let urls = [
            self.routes.authorizer_token(AUTHORIZER_APPID),
            second.routes.authorizer_token(AUTHORIZER_APPID),
        ];
        let before = Calls::of(&self.fake);
        let requests = (0..CALLERS)
            .map(|i| self.http.api_get(&urls[i % 2]))
            .collect();
        let got = Http::tokens_at_once(requests, "authorizer_access_token").await?;
        let after = Calls::of(&self.fake);
        let last = one_token(&got)?;
        ensure(
            after.authorizer - before.authorizer == 1 && after.component - before.component == 1,
            format!(
                "{} across both instances, expected 1 each",
                moved(before, after)
            ),
        )?;
        ensure(
            last.token != renewed.token
                && self
                    .fake
                    .check_authorizer_access_token(AUTHORIZER_APPID, &last.token)
                    .is_ok(),
            "no new accepted authorizer token",
        )?;
        Ok(format!(
            "shared clock +{} s; {} + {} concurrent GETs on the two instances → {} upstream {} call in total ({}); all {CALLERS} got {} (fetched with the ticket and the refresh token stored before the restart)",
            EXPIRY_JUMP.as_secs(),
            CALLERS / 2,
            CALLERS - CALLERS / 2,
            after.authorizer - before.authorizer,
            endpoint_name(Endpoint::AuthorizerToken),
            moved(before, after),
            fingerprint(&last.token)
        ))
    }
}
