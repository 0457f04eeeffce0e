//! The real `wxopen` binary as `wxopen serve`, against a FakeWeChat in the test process: the
//! configuration file, spawning with captured output, SIGKILL and SIGTERM, the HTTP steps
//! WeChat and an admin's browser take, and a read of the SQLite store between runs. The HTTP
//! client, the temp dir, the routes and the reading of the authorize page are
//! `wxopen_fake::harness`, shared with `wxopen demo` and the server's tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod redis;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use wxopen_client::{ComponentClient, ManualClock, TokenStore};
use wxopen_fake::harness::{self, AuthorizeLink};
pub use wxopen_fake::harness::{Answer, Routes, TempDir};
use wxopen_fake::{Consent, FakeConfig, FakeWeChat, PushKind};

/// A fake platform with fresh random credentials, on a [`ManualClock`] that starts at the
/// wall-clock time (the binary runs on the system clock; pushes must be signed close to it)
/// and that the tests move a second before each ticket, so every ticket is newer.
pub async fn fake() -> FakeWeChat {
    FakeWeChat::builder()
        .config(FakeConfig::random())
        .clock(ManualClock::new(SystemTime::now()))
        .start()
        .await
        .unwrap()
}

/// A random bearer key.
pub fn random_key() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A fresh temp dir for one test's configuration and data, removed at the end.
pub fn temp_dir() -> TempDir {
    TempDir::new("wxopen-cli-test").unwrap()
}

/// Writes `dir/wxopen.toml`: both listeners on free loopback ports (port 0; the binary prints
/// the bound addresses), the default SQLite store in `dir/data`, the refresher off (every
/// upstream call is one a test caused), the fake's credentials and both hosts, one client.
pub fn write_config(dir: &Path, fake: &FakeWeChat, key: &str) -> PathBuf {
    write_config_with(dir, &ConfigFile::default(), fake, key)
}

/// What a test changes in [`write_config`]'s file.
#[derive(Debug, Default)]
pub struct ConfigFile<'a> {
    /// The file name in the dir (default `wxopen.toml`).
    pub name: Option<&'a str>,
    /// The data directory (default `dir/data`).
    pub data_dir: Option<PathBuf>,
    /// More `[server]` keys (e.g. `store = "redis://…"`).
    pub server: &'a str,
    /// More keys of the `[[component]]` (e.g. the webhook's).
    pub component: &'a str,
}

/// [`write_config`] with `file`'s changes.
pub fn write_config_with(
    dir: &Path,
    file: &ConfigFile<'_>,
    fake: &FakeWeChat,
    key: &str,
) -> PathBuf {
    let data_dir = file.data_dir.clone().unwrap_or_else(|| dir.join("data"));
    let text = format!(
        r#"[server]
public_listen = "127.0.0.1:0"
internal_listen = "127.0.0.1:0"
public_base_url = "http://127.0.0.1:9"
allow_http_redirect = true
data_dir = {data_dir}
{server}

[refresher]
enabled = false

{component}{component_extra}

[[client]]
name = "tests"
key = {key}
"#,
        data_dir = harness::toml_string(&data_dir.display().to_string()),
        server = file.server,
        component = harness::component_toml(fake),
        component_extra = file.component,
        key = harness::toml_string(key),
    );
    let path = dir.join(file.name.unwrap_or("wxopen.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The store URL of a configuration written by [`write_config`].
pub fn store_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("data").join("wxopen.db").display())
}

/// A running `wxopen serve` process; its stdout and stderr are read line by line into memory.
pub struct Serve {
    child: Child,
    pub public: String,
    pub internal: String,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

fn read_lines(
    r: impl std::io::Read + Send + 'static,
    into: Arc<Mutex<Vec<String>>>,
    tell: Option<mpsc::Sender<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if let Some(t) = &tell {
                let _ = t.send(line.clone());
            }
            into.lock().unwrap().push(line);
        }
    })
}

impl Serve {
    /// Spawns `wxopen serve --config <config> <args…>` and returns at once (the listeners may
    /// not be bound yet; see [`Serve::wait_ready`]).
    pub fn spawn(
        config: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> (Self, mpsc::Receiver<String>) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wxopen"));
        cmd.arg("serve")
            .arg("--config")
            .arg(config)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("WXOPEN_LOG");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let readers = vec![
            read_lines(child.stdout.take().unwrap(), stdout.clone(), None),
            read_lines(child.stderr.take().unwrap(), stderr.clone(), Some(tx)),
        ];
        (
            Self {
                child,
                public: String::new(),
                internal: String::new(),
                stdout,
                stderr,
                readers,
            },
            rx,
        )
    }

    /// Spawns and waits until the binary prints its bound addresses (both listeners bound).
    pub fn start(config: &Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let (mut s, rx) = Self::spawn(config, args, envs);
        s.wait_ready(&rx);
        s
    }

    /// Waits (up to 20 s) for `wxopen serve: public http://… internal http://…` on stderr.
    pub fn wait_ready(&mut self, rx: &mpsc::Receiver<String>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("wxopen serve: public ") {
                        let (public, internal) = rest.split_once(" internal ").unwrap();
                        self.public = public.trim().to_owned();
                        self.internal = internal.trim().to_owned();
                        return;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    let status = self.child.wait();
                    panic!(
                        "wxopen serve did not start ({status:?}); stderr: {:?}",
                        self.stderr_lines()
                    );
                }
            }
        }
    }

    /// The routes of `component` on this process.
    pub fn routes(&self, component: &str) -> Routes {
        Routes::new(&self.public, &self.internal, component)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then reaps the process and its output.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }

    /// SIGTERM (graceful shutdown), then waits up to 15 s for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                for r in self.readers.drain(..) {
                    let _ = r.join();
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "wxopen serve did not exit within 15 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every stdout line so far (the logs).
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Every stderr line so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The harness's loopback client: no proxy from the environment, no idle connections kept.
pub fn http() -> reqwest::Client {
    harness::client().unwrap()
}

/// Sends and reads the whole answer; panics if there is none.
pub async fn send(req: reqwest::RequestBuilder) -> Answer {
    harness::send(req).await.unwrap()
}

/// Polls `/healthz` until it answers 200 (at most 10 s).
pub async fn wait_healthy(http: &reqwest::Client, internal: &str) {
    assert!(
        harness::wait_ok(
            http,
            &format!("{internal}/healthz"),
            Duration::from_secs(10)
        )
        .await,
        "/healthz never answered 200"
    );
}

/// WeChat pushes a new ticket (the fake clock moves a second first, so its `CreateTime` is
/// the newest) to the public push route. Returns the ticket, its `CreateTime` and the answer.
pub async fn push_ticket(
    http: &reqwest::Client,
    routes: &Routes,
    fake: &FakeWeChat,
) -> (String, u64, Answer) {
    fake.advance(Duration::from_secs(1));
    let push = fake.push_ticket().unwrap();
    let PushKind::ComponentVerifyTicket { ticket } = &push.kind else {
        unreachable!()
    };
    let url = push.url(&routes.push());
    let a = send(http.post(url).body(push.body.clone())).await;
    (ticket.clone(), fake.now_unix(), a)
}

/// The `pre_auth_code` of the authorize page's link.
pub fn pre_auth_code(html: &str) -> String {
    AuthorizeLink::find(html).unwrap().pre_auth_code
}

/// An admin opens the authorize page and agrees on WeChat's side; returns the pre-auth code
/// and the consent (the redirect's query and the `authorized` push), not yet delivered.
pub async fn consent(
    http: &reqwest::Client,
    routes: &Routes,
    fake: &FakeWeChat,
    authorizer: &str,
) -> (String, Consent) {
    let page = send(http.get(routes.authorize())).await;
    assert_eq!(page.status, 200, "authorize page: {}", page.body);
    let pre = pre_auth_code(&page.body);
    let consent = fake.simulate_admin_consent(&pre, authorizer).unwrap();
    (pre, consent)
}

/// The browser comes back to `/authorized` with the code (`query_auth`, stored, result page).
pub fn redirect_url(routes: &Routes, consent: &Consent) -> String {
    format!("{}?{}", routes.authorized(), consent.redirect_query)
}

/// What the SQLite file holds, read with a client of the component over the same store
/// (no upstream call: only stored records are read).
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The ticket and its `CreateTime`.
    pub ticket: Option<(String, u64)>,
    /// Per authorizer: access token and refresh token.
    pub authorizers: std::collections::BTreeMap<String, (Option<String>, Option<String>)>,
}

pub async fn read_store(dir: &Path, fake: &FakeWeChat, appids: &[String]) -> Snapshot {
    let store: Arc<dyn TokenStore> = wxopen_store::open_store(&store_url(dir)).await.unwrap();
    let client: ComponentClient = fake
        .client_builder(fake.client_config().unwrap())
        .store(store)
        .build()
        .unwrap();
    let mut snap = Snapshot {
        ticket: client
            .stored_ticket()
            .await
            .unwrap()
            .map(|t| (t.ticket.expose_secret().to_owned(), t.create_time)),
        ..Snapshot::default()
    };
    for a in appids {
        if let Some(r) = client.authorizer_record(a).await.unwrap() {
            snap.authorizers.insert(
                a.clone(),
                (
                    r.access_token.map(|t| t.expose_secret().to_owned()),
                    r.refresh_token.map(|t| t.expose_secret().to_owned()),
                ),
            );
        }
    }
    snap
}

/// Pushes a ticket to `serve` and authorizes `account` through the authorize page, the fake's
/// consent and the redirect (each step must answer 200): a served component with one account.
pub async fn authorize(http: &reqwest::Client, serve: &Serve, fake: &FakeWeChat, account: &str) {
    let routes = serve.routes(fake.component_appid());
    let (_, _, a) = push_ticket(http, &routes, fake).await;
    assert_eq!(a.status, 200);
    let (_, granted) = consent(http, &routes, fake, account).await;
    assert_eq!(
        send(http.get(redirect_url(&routes, &granted))).await.status,
        200
    );
}
