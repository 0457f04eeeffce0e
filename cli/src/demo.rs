//! `wxopen demo`: the whole component flow, end to end, against `wxopen-fake`'s
//! [`FakeWeChat`] on loopback, driven through [`wxopen_client::ComponentClient`] with a
//! [`MemoryStore`] and a [`ManualClock`].
//!
//! Steps: ticket pushed and decrypted → component token → pre-auth code → authorization URLs
//! (PC and H5) → simulated admin consent (the `authorized` push) → `query_auth` → authorizer
//! token (from the store) → forced expiry (the shared clock jumps past 2 hours) → refresh → the
//! fake's upstream call counts. Every step checks what it shows; a step that does not do what it
//! should fails the demo (exit code 4).
//!
//! Nothing leaves the machine: the fake listens on 127.0.0.1 and the HTTP client ignores proxy
//! settings. Tokens are shown as fingerprints (the first 8 hex digits of their SHA-1), never in
//! full.

use std::fmt::Display;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wxopen_client::{
    AuthPage, AuthUrlOptions, ComponentClient, ComponentConfig, ComponentEvent, ManualClock,
    MemoryStore, PushQuery,
};
use wxopen_fake::{Endpoint, FakeConfig, FakeWeChat, Host};

use crate::args::DemoArgs;
use crate::failure::Failure;

/// Where the simulated authorization page redirects the admin.
const REDIRECT_URI: &str = "https://demo.example.com/wechat/authorized";
/// The account whose admin authorizes the component.
const AUTHORIZER_APPID: &str = "wxde0000000000a001";
/// How far the forced expiry moves the shared clock: past the 7200 s lifetime of every token.
const EXPIRY_JUMP: Duration = Duration::from_secs(7200 + 1);
/// The endpoints the flow uses, in the order it first calls them.
const FLOW_ENDPOINTS: [Endpoint; 4] = [
    Endpoint::ComponentToken,
    Endpoint::CreatePreAuthCode,
    Endpoint::QueryAuth,
    Endpoint::AuthorizerToken,
];

/// Run the demo. Text mode prints each step as it happens and returns nothing more to print;
/// `--json` returns one JSON object with every step, its timing and the call counts.
pub fn run(_args: &DemoArgs, json: bool) -> Result<Vec<u8>, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Demo(format!("cannot start the async runtime: {e}")))?;
    let mut report = Report::new(json);
    runtime.block_on(flow(&mut report))?;
    Ok(report.finish())
}

/// A token's fingerprint: the first 8 hex digits of its SHA-1. Enough to see that a token
/// changed, useless for calling an API.
pub fn fingerprint(secret: &str) -> String {
    let digest = wxopen_core::signature::sign_parts(&mut [secret.as_bytes()]);
    format!("#{}", &digest.as_str()[..8])
}

fn endpoint_name(e: Endpoint) -> &'static str {
    e.path().rsplit('/').next().unwrap_or("?")
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

async fn flow(report: &mut Report) -> Result<(), Failure> {
    // One clock for both sides: the fake expires tokens on it, the client decides on it.
    let clock = ManualClock::new(std::time::SystemTime::now());
    let fake = FakeWeChat::builder()
        .config(FakeConfig::default())
        .clock(clock.clone())
        .start()
        .await
        .map_err(|e| fail("starting FakeWeChat", e))?;
    let store = Arc::new(MemoryStore::new());
    let config = ComponentConfig::new(
        fake.component_appid(),
        fake.component_appsecret(),
        fake.token(),
        fake.encoding_aes_key(),
    )
    .with_base_urls([fake.primary_url(), fake.fallback_url()])
    .map_err(|e| fail("configuring the client", e))?
    .with_timeouts(Duration::from_secs(5), Duration::from_secs(2));
    // Loopback only: never route the fake's traffic through a proxy from the environment.
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| fail("building the HTTP client", e))?;
    let client = ComponentClient::builder(config)
        .store(store)
        .clock(Arc::new(clock))
        .http_client(http)
        .build()
        .map_err(|e| fail("building the client", e))?;

    report.line("wxopen demo: the whole component flow against FakeWeChat (loopback only)");
    report.info(
        "fake platform",
        format!(
            "{} (api) and {} (api2 fallback)",
            fake.primary_url(),
            fake.fallback_url()
        ),
    );
    report.info(
        "component",
        format!("{} (fake credentials)", fake.component_appid()),
    );
    report.info(
        "client",
        format!(
            "wxopen-client, MemoryStore, ManualClock at unix {}",
            fake.now_unix()
        ),
    );

    // 1. WeChat pushes a component_verify_ticket to the authorization event URL.
    report.begin();
    let step = "ticket pushed and decrypted";
    let push = fake.push_ticket().map_err(|e| fail(step, e))?;
    let query = PushQuery::parse(&push.query.to_query_string()).map_err(|e| fail(step, e))?;
    let ack = client
        .handle_component_push(&query, push.body.as_bytes())
        .await
        .map_err(|e| fail(step, e))?;
    let ComponentEvent::ComponentVerifyTicket {
        create_time,
        ticket,
        ..
    } = &ack.event
    else {
        return Err(fail(step, format!("unexpected event {:?}", ack.event)));
    };
    check(ack.ticket_stored, step, "the ticket was not stored")?;
    check(
        fake.current_ticket().as_deref() == Some(ticket.expose_secret()),
        step,
        "the decrypted ticket is not the one the fake issued",
    )?;
    check(
        fake.total_calls() == 0,
        step,
        "the push handler called the API",
    )?;
    report.step(
        step,
        format!(
            "{} bytes of AES envelope, msg_signature checked; ticket {} (CreateTime {create_time}) stored; answered \"{}\" with 0 API calls",
            push.body.len(),
            fingerprint(ticket.expose_secret()),
            ack.reply
        ),
    );

    // 2. The component access token, fetched with the stored ticket.
    report.begin();
    let step = "component token";
    let token = client
        .component_access_token()
        .await
        .map_err(|e| fail(step, e))?;
    check(
        fake.check_component_access_token(token.expose_secret())
            .is_ok(),
        step,
        "the fake does not accept the token",
    )?;
    let record = client
        .component_token_record()
        .await
        .map_err(|e| fail(step, e))?
        .ok_or_else(|| fail(step, "not stored"))?;
    report.step(
        step,
        format!(
            "{} → token {}, expires in {} s, refresh from +{} s",
            endpoint_name(Endpoint::ComponentToken),
            fingerprint(token.expose_secret()),
            record.expires_at.saturating_sub(record.obtained_at),
            record.refresh_at.saturating_sub(record.obtained_at),
        ),
    );

    // 3. A pre-auth code for the authorization page.
    report.begin();
    let step = "pre-auth code";
    let code = client.pre_auth_code().await.map_err(|e| fail(step, e))?;
    check(
        fake.calls(Endpoint::ComponentToken) == 1,
        step,
        "the component token was fetched again",
    )?;
    report.step(
        step,
        format!(
            "{} → {} (single use, in the URLs below; the cached component token was reused)",
            endpoint_name(Endpoint::CreatePreAuthCode),
            fingerprint(code.expose_secret())
        ),
    );

    // 4. The authorization page URLs for that code.
    report.begin();
    let step = "authorization URL (PC)";
    let options = AuthUrlOptions::new(REDIRECT_URI);
    let pc = client
        .authorization_url_with_code(AuthPage::Pc, &code, &options)
        .map_err(|e| fail(step, e))?;
    check(
        pc.contains("componentloginpage") && pc.contains(fake.component_appid()),
        step,
        "not a componentloginpage URL for this component",
    )?;
    report.step(step, pc);
    report.begin();
    let step = "authorization URL (H5)";
    let h5 = client
        .authorization_url_with_code(AuthPage::H5, &code, &options)
        .map_err(|e| fail(step, e))?;
    check(
        h5.contains("bindcomponent"),
        step,
        "not a bindcomponent URL",
    )?;
    report.step(step, h5);

    // 5. The admin scans and agrees: WeChat redirects with auth_code and pushes `authorized`.
    report.begin();
    let step = "simulated admin consent";
    let consent = fake
        .simulate_admin_consent(code.expose_secret(), AUTHORIZER_APPID)
        .map_err(|e| fail(step, e))?;
    let query =
        PushQuery::parse(&consent.push.query.to_query_string()).map_err(|e| fail(step, e))?;
    let ack = client
        .handle_component_push(&query, consent.push.body.as_bytes())
        .await
        .map_err(|e| fail(step, e))?;
    let ComponentEvent::Authorized(grant) = &ack.event else {
        return Err(fail(step, format!("unexpected event {:?}", ack.event)));
    };
    check(
        grant.authorization_code.expose_secret() == consent.auth_code
            && grant.authorizer_appid == AUTHORIZER_APPID,
        step,
        "the authorized push does not carry the redirect's code",
    )?;
    report.step(
        step,
        format!(
            "admin of {AUTHORIZER_APPID} agreed; redirect with auth_code {} (expires_in {} s) and the `authorized` push carrying the same code, decrypted, answered \"{}\"",
            fingerprint(&consent.auth_code),
            consent.expires_in,
            ack.reply
        ),
    );

    // 6. Exchange the authorization code; the tokens are stored before query_auth returns.
    report.begin();
    let step = "query_auth";
    let info = client
        .query_auth(&grant.authorization_code)
        .await
        .map_err(|e| fail(step, e))?;
    let stored = client
        .authorizer_record(AUTHORIZER_APPID)
        .await
        .map_err(|e| fail(step, e))?
        .ok_or_else(|| fail(step, "nothing stored for the authorizer"))?;
    let first_access = stored
        .access_token
        .clone()
        .ok_or_else(|| fail(step, "no access token stored"))?;
    check(
        info.authorizer_appid == AUTHORIZER_APPID
            && fake.authorizer_refresh_token(AUTHORIZER_APPID).as_deref()
                == stored.refresh_token.as_ref().map(|t| t.expose_secret()),
        step,
        "the stored refresh token is not the platform's",
    )?;
    report.step(
        step,
        format!(
            "{} → access token {}, refresh token {}, both in the store; {} permission sets",
            endpoint_name(Endpoint::QueryAuth),
            fingerprint(first_access.expose_secret()),
            fingerprint(
                stored
                    .refresh_token
                    .as_ref()
                    .map_or("", |t| t.expose_secret())
            ),
            info.func_info.len()
        ),
    );

    // 7. Asking for the authorizer token now costs nothing: it is in the store.
    report.begin();
    let step = "authorizer token";
    let before = fake.total_calls();
    let token = client
        .authorizer_access_token(AUTHORIZER_APPID)
        .await
        .map_err(|e| fail(step, e))?;
    check(
        token.expose_secret() == first_access.expose_secret() && fake.total_calls() == before,
        step,
        "the stored token was not used",
    )?;
    check(
        fake.check_authorizer_access_token(AUTHORIZER_APPID, token.expose_secret())
            .is_ok(),
        step,
        "the fake does not accept the authorizer token",
    )?;
    report.step(
        step,
        format!(
            "{} from the store, 0 API calls",
            fingerprint(token.expose_secret())
        ),
    );

    // 8. Time passes: the shared clock jumps past every token's 7200 s lifetime.
    report.begin();
    let step = "forced expiry";
    let old_component = client
        .component_access_token()
        .await
        .map_err(|e| fail(step, e))?;
    fake.advance(EXPIRY_JUMP);
    check(
        fake.check_authorizer_access_token(AUTHORIZER_APPID, first_access.expose_secret())
            .is_err()
            && fake
                .check_component_access_token(old_component.expose_secret())
                .is_err(),
        step,
        "the fake still accepts the old tokens",
    )?;
    report.step(
        step,
        format!(
            "shared ManualClock +{} s: the component and authorizer tokens are expired",
            EXPIRY_JUMP.as_secs()
        ),
    );

    // 9. The next caller refreshes: one new component token, one api_authorizer_token.
    report.begin();
    let step = "refresh";
    let fresh = client
        .authorizer_access_token(AUTHORIZER_APPID)
        .await
        .map_err(|e| fail(step, e))?;
    check(
        fresh.expose_secret() != first_access.expose_secret()
            && fake
                .check_authorizer_access_token(AUTHORIZER_APPID, fresh.expose_secret())
                .is_ok(),
        step,
        "no new accepted authorizer token",
    )?;
    let after = client
        .authorizer_record(AUTHORIZER_APPID)
        .await
        .map_err(|e| fail(step, e))?
        .ok_or_else(|| fail(step, "the authorizer record is gone"))?;
    check(
        fake.authorizer_refresh_token(AUTHORIZER_APPID).as_deref()
            == after.refresh_token.as_ref().map(|t| t.expose_secret()),
        step,
        "the stored refresh token is not the platform's",
    )?;
    let refresh_note = if after.refresh_token == stored.refresh_token {
        "refresh token unchanged"
    } else {
        "new refresh token stored"
    };
    report.step(
        step,
        format!(
            "{} + {} → access token {} (was {}), {refresh_note}",
            endpoint_name(Endpoint::ComponentToken),
            endpoint_name(Endpoint::AuthorizerToken),
            fingerprint(fresh.expose_secret()),
            fingerprint(first_access.expose_secret()),
        ),
    );

    // 10. Many callers at once after the refresh: all from the store.
    report.begin();
    let step = "20 concurrent callers";
    let before = fake.total_calls();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            c.authorizer_access_token(AUTHORIZER_APPID).await
        }));
    }
    for t in tasks {
        let got = t
            .await
            .map_err(|e| fail(step, e))?
            .map_err(|e| fail(step, e))?;
        check(
            got.expose_secret() == fresh.expose_secret(),
            step,
            "a caller got another token",
        )?;
    }
    check(
        fake.total_calls() == before,
        step,
        "the cached token was not shared",
    )?;
    report.step(
        step,
        format!(
            "all got {}, 0 API calls",
            fingerprint(fresh.expose_secret())
        ),
    );

    // The fake's view: exactly the calls the flow needs.
    let expected = [2usize, 1, 1, 1];
    report.line("");
    report.line("  upstream calls counted by the fake:");
    for (endpoint, want) in FLOW_ENDPOINTS.into_iter().zip(expected) {
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
        total == expected.iter().sum::<usize>(),
        "upstream call counts",
        "unexpected extra calls",
    )?;
    Ok(())
}
