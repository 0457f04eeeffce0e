//! The pieces `wxopen demo`, the CLI's process tests and the server's tests share to drive a
//! wxopen service on loopback the way WeChat, an admin's browser and the host's other services
//! do: an HTTP client that never leaves the machine and what it got back ([`client`],
//! [`send`], [`send_all_at_once`], [`Answer`]), a temporary directory ([`TempDir`]), a free
//! loopback port ([`free_port`]), a task that runs until told to stop ([`Stoppable`], e.g. a
//! `wxopen_server::Server::run`), the service's routes ([`Routes`]), the `[[component]]`
//! table of a `wxopen.toml` for a [`FakeWeChat`] ([`component_toml`]), and the reading of the
//! authorization pages ([`AuthorizeLink`], [`ResultPage`]).
//!
//! It knows the service's routes, page markup and configuration keys as text only: this crate
//! does not depend on `wxopen-server`. Everything here binds, connects and writes on
//! 127.0.0.1 or in the system's temporary directory; the client ignores proxy settings.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use wxopen_fake::harness::{self, AuthorizeLink};
//!
//! let http = harness::client()?;
//! let fake = wxopen_fake::FakeWeChat::start().await?;
//! // The fake answers a bad request with WeChat's JSON error.
//! let url = format!("{}/cgi-bin/component/api_component_token", fake.primary_url());
//! let answer = harness::send(http.post(url).body("{}")).await?;
//! assert_eq!(answer.status, 200);
//! assert!(answer.json()["errcode"].as_i64().is_some());
//!
//! let page = r#"<a id="authorize" href="https://mp.weixin.qq.com/cgi-bin/componentloginpage?component_appid=wxc&amp;pre_auth_code=p1&amp;redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fback">"#;
//! let link = AuthorizeLink::find(page)?;
//! assert_eq!(link.pre_auth_code, "p1");
//! assert_eq!(link.redirect_uri, "http://127.0.0.1:9/back");
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::FakeWeChat;

// ------------------------------------------------------------------ HTTP

/// How long one request may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long connecting may take (loopback: a listener that is up answers at once).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A client builder for loopback: no proxy from the environment, no idle connections kept (a
/// server shut down gracefully has nothing left open to wait for), 15 s per request and 2 s to
/// connect. Add a user agent or other settings, then build.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
}

/// [`client_builder`], built.
pub fn client() -> reqwest::Result<reqwest::Client> {
    client_builder().build()
}

/// What a request got back: the status and the whole body as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The body (lossy UTF-8).
    pub body: String,
}

impl Answer {
    /// The body as JSON; `Null` if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Sends `request` and reads the whole answer.
pub async fn send(request: reqwest::RequestBuilder) -> reqwest::Result<Answer> {
    let r = request.send().await?;
    let status = r.status().as_u16();
    let body = r.text().await?;
    Ok(Answer { status, body })
}

/// Sends every request at once, each from its own task, all released together from a
/// barrier, and returns the answers in the order of `requests`. A task that panics panics the
/// caller.
pub async fn send_all_at_once(
    requests: Vec<reqwest::RequestBuilder>,
) -> Vec<reqwest::Result<Answer>> {
    let barrier = Arc::new(tokio::sync::Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                send(request).await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(answer) => answers.push(answer),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a request task was cancelled: {e}"),
        }
    }
    answers
}

/// Polls `url` with GET until it answers 200; whether it did within `within`.
pub async fn wait_ok(client: &reqwest::Client, url: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(r) = client.get(url).send().await {
            if r.status() == 200 {
                return true;
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ------------------------------------------------------------------ ports and files

/// A loopback port that was free a moment ago: for an address a configuration must name before
/// its listener binds (the service's `public_base_url`), or a port that refuses connections.
/// Another process may take it in between; prefer binding port 0 where the address can be
/// learned afterwards.
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A fresh directory under the system's temporary directory, removed with everything in it
/// when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `<temp>/<prefix>-<pid>-<8 random hex digits>`; a name that exists already is
    /// never reused.
    pub fn new(prefix: &str) -> std::io::Result<Self> {
        loop {
            let path = std::env::temp_dir().join(format!(
                "{prefix}-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Self(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(std::io::Error::new(
                        e.kind(),
                        format!("cannot create {}: {e}", path.display()),
                    ))
                }
            }
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ------------------------------------------------------------------ stoppable tasks

/// The future a [`Stoppable`] task gets: it completes when the task is told to stop (or the
/// [`Stoppable`] is dropped). Hand it to `Server::run` as the shutdown signal.
#[derive(Debug)]
pub struct StopSignal(tokio::sync::oneshot::Receiver<()>);

impl Future for StopSignal {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

/// A task on the current tokio runtime that runs until told to stop: a service's run loop,
/// given a [`StopSignal`] for its graceful shutdown.
#[derive(Debug)]
pub struct Stoppable<T> {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<T>,
}

/// Why [`Stoppable::stop`] did not get the task's output.
#[derive(Debug)]
pub enum StopError {
    /// The task had not ended when the time was up (it keeps running).
    TimedOut(Duration),
    /// The task panicked or was cancelled.
    Failed(tokio::task::JoinError),
}

impl fmt::Display for StopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopError::TimedOut(d) => write!(f, "it did not stop within {} s", d.as_secs()),
            StopError::Failed(e) => write!(f, "its task failed: {e}"),
        }
    }
}

impl std::error::Error for StopError {}

impl<T: Send + 'static> Stoppable<T> {
    /// Spawns `run(signal)`; the signal completes at [`Stoppable::begin_stop`].
    pub fn spawn<F, Fut>(run: F) -> Self
    where
        F: FnOnce(StopSignal) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        Self {
            stop: Some(tx),
            task: tokio::spawn(run(StopSignal(rx))),
        }
    }

    /// Tells the task to stop, without waiting for it.
    pub fn begin_stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the task to end (after [`Stoppable::begin_stop`], or on its own).
    pub async fn join(self) -> Result<T, tokio::task::JoinError> {
        self.task.await
    }

    /// Tells the task to stop and waits up to `within` for its output.
    pub async fn stop(mut self, within: Duration) -> Result<T, StopError> {
        self.begin_stop();
        match tokio::time::timeout(within, self.task).await {
            Err(_) => Err(StopError::TimedOut(within)),
            Ok(Err(e)) => Err(StopError::Failed(e)),
            Ok(Ok(out)) => Ok(out),
        }
    }
}

// ------------------------------------------------------------------ the service

/// The routes of one running wxopen service for one component: the public listener (WeChat's
/// pushes, the admin's browser) and the internal one (the token API, health).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes {
    /// The public listener's base URL, `http://127.0.0.1:port`.
    pub public: String,
    /// The internal listener's base URL.
    pub internal: String,
    /// The component appid the routes are for.
    pub component: String,
}

impl Routes {
    /// The routes of `component` on a service with these two base URLs.
    pub fn new(public: impl Into<String>, internal: impl Into<String>, component: &str) -> Self {
        Self {
            public: public.into(),
            internal: internal.into(),
            component: component.to_owned(),
        }
    }

    /// `POST /wechat/{component}/component`: the authorization event URL (tickets and
    /// authorization pushes).
    pub fn push(&self) -> String {
        format!("{}/wechat/{}/component", self.public, self.component)
    }

    /// `GET /wechat/{component}/authorize`: the authorization entry page.
    pub fn authorize(&self) -> String {
        format!("{}/wechat/{}/authorize", self.public, self.component)
    }

    /// `GET /wechat/{component}/authorized`: where WeChat sends the browser back (with
    /// `?auth_code=…&expires_in=…`).
    pub fn authorized(&self) -> String {
        format!("{}/wechat/{}/authorized", self.public, self.component)
    }

    /// `POST /wechat/{component}/callback/{authorizer}`: the message URL.
    pub fn callback(&self, authorizer: &str) -> String {
        format!(
            "{}/wechat/{}/callback/{authorizer}",
            self.public, self.component
        )
    }

    /// `GET /v1/{component}/component/token`.
    pub fn component_token(&self) -> String {
        format!("{}/v1/{}/component/token", self.internal, self.component)
    }

    /// `POST /v1/{component}/component/token/refresh`.
    pub fn component_refresh(&self) -> String {
        format!("{}/refresh", self.component_token())
    }

    /// `GET /v1/{component}/authorizers`.
    pub fn authorizers(&self) -> String {
        format!("{}/v1/{}/authorizers", self.internal, self.component)
    }

    /// `GET /v1/{component}/authorizers/{authorizer}`.
    pub fn authorizer(&self, authorizer: &str) -> String {
        format!("{}/{authorizer}", self.authorizers())
    }

    /// `GET /v1/{component}/authorizers/{authorizer}/token`.
    pub fn authorizer_token(&self, authorizer: &str) -> String {
        format!("{}/token", self.authorizer(authorizer))
    }

    /// `POST /v1/{component}/authorizers/{authorizer}/token/refresh`.
    pub fn authorizer_refresh(&self, authorizer: &str) -> String {
        format!("{}/token/refresh", self.authorizer(authorizer))
    }

    /// `GET /healthz` on the internal listener.
    pub fn healthz(&self) -> String {
        format!("{}/healthz", self.internal)
    }

    /// `GET /readyz` on the internal listener.
    pub fn readyz(&self) -> String {
        format!("{}/readyz", self.internal)
    }
}

/// A TOML basic string holding `s`.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `[[component]]` table of a `wxopen.toml` for `fake`: its appid, appsecret, message
/// token and EncodingAESKey, and its two hosts (primary, then the fallback) as
/// `api_base_urls`.
pub fn component_toml(fake: &FakeWeChat) -> String {
    format!(
        "[[component]]\nappid = {}\nappsecret = {}\ntoken = {}\nencoding_aes_key = {}\napi_base_urls = [{}, {}]\n",
        toml_string(fake.component_appid()),
        toml_string(fake.component_appsecret()),
        toml_string(fake.token()),
        toml_string(fake.encoding_aes_key()),
        toml_string(&fake.primary_url()),
        toml_string(&fake.fallback_url()),
    )
}

// ------------------------------------------------------------------ pages

/// Undoes the HTML escaping of `&`, `<`, `>`, `"` and `'`.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The text between the first `start` and the next `end` after it, as written (still
/// escaped).
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = html.find(start)? + start.len();
    let len = html[from..].find(end)?;
    Some(&html[from..from + len])
}

/// Why [`AuthorizeLink::find`] found no usable link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    /// The page has no `<a id="authorize" href="…">`.
    NoLink,
    /// The link is not a URL.
    BadUrl(String),
    /// The link lacks this query parameter.
    Missing(&'static str),
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageError::NoLink => f.write_str("the page has no authorization link"),
            PageError::BadUrl(e) => write!(f, "the link: {e}"),
            PageError::Missing(name) => write!(f, "the link has no {name}"),
        }
    }
}

impl std::error::Error for PageError {}

/// The link of the authorization entry page (`<a id="authorize" href="…">`, to WeChat's
/// `componentloginpage` or `bindcomponent`) and its parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeLink {
    /// The whole link, unescaped.
    pub url: String,
    /// Its `component_appid`.
    pub component_appid: String,
    /// Its `pre_auth_code`.
    pub pre_auth_code: String,
    /// Its `redirect_uri` (decoded): where WeChat sends the browser back.
    pub redirect_uri: String,
}

impl AuthorizeLink {
    /// Reads the link out of the page.
    pub fn find(html: &str) -> Result<Self, PageError> {
        let href = between(html, "id=\"authorize\" href=\"", "\"").ok_or(PageError::NoLink)?;
        let url = unescape(href);
        let parsed = url::Url::parse(&url).map_err(|e| PageError::BadUrl(e.to_string()))?;
        let param = |name: &'static str| {
            parsed
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .ok_or(PageError::Missing(name))
        };
        Ok(Self {
            component_appid: param("component_appid")?,
            pre_auth_code: param("pre_auth_code")?,
            redirect_uri: param("redirect_uri")?,
            url,
        })
    }

    /// The URL WeChat sends the browser back to after the admin agreed: the `redirect_uri`
    /// with `query` (`auth_code=…&expires_in=…`) appended.
    pub fn redirect(&self, query: &str) -> String {
        let sep = if self.redirect_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{sep}{query}", self.redirect_uri)
    }
}

/// What the result page (after the redirect) says: the account (`<code id="authorizer">`),
/// its permission sets (the `data-id` of each item of `<ul id="permissions">`) and whether it
/// gives the admin a next step (`<div id="next">`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultPage {
    /// The authorizer appid the page names, if it names one.
    pub authorizer: Option<String>,
    /// The permission-set ids it lists.
    pub permissions: Vec<String>,
    /// Whether it says what to do next.
    pub next_step: bool,
}

impl ResultPage {
    /// Reads the page.
    pub fn read(html: &str) -> Self {
        let authorizer = between(html, "<code id=\"authorizer\">", "</code>").map(unescape);
        let list = between(html, "<ul id=\"permissions\">", "</ul>").unwrap_or_default();
        let permissions = list
            .split("data-id=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_owned)
            .collect();
        Self {
            authorizer,
            permissions,
            next_step: html.contains("<div id=\"next\">"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_link_is_read_and_unescaped() {
        let html = "<p><a id=\"authorize\" href=\"https://open.weixin.qq.com/wxaopen/safe/bindcomponent?action=bindcomponent&amp;component_appid=wxc&amp;pre_auth_code=preauthcode%40%40%40x&amp;redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fwechat%2Fwxc%2Fauthorized%3Fstate%3Ds#wechat_redirect\">Authorize</a></p>";
        let link = AuthorizeLink::find(html).unwrap();
        assert!(link.url.contains("&component_appid=wxc&"), "{}", link.url);
        assert_eq!(link.component_appid, "wxc");
        assert_eq!(link.pre_auth_code, "preauthcode@@@x");
        assert_eq!(
            link.redirect_uri,
            "http://127.0.0.1:9/wechat/wxc/authorized?state=s"
        );
        assert_eq!(
            link.redirect("auth_code=a&expires_in=600"),
            "http://127.0.0.1:9/wechat/wxc/authorized?state=s&auth_code=a&expires_in=600"
        );
        assert_eq!(AuthorizeLink::find("<p>no</p>"), Err(PageError::NoLink));
        assert_eq!(
            AuthorizeLink::find("<a id=\"authorize\" href=\"https://x/?component_appid=c\">"),
            Err(PageError::Missing("pre_auth_code"))
        );
        assert!(matches!(
            AuthorizeLink::find("<a id=\"authorize\" href=\"nope\">"),
            Err(PageError::BadUrl(_))
        ));
    }

    #[test]
    fn the_result_page_names_the_account_and_its_permission_sets() {
        let page = ResultPage::read(
            "<p>Account <code id=\"authorizer\">wx&lt;1&gt;</code></p><ul id=\"permissions\">\n<li data-id=\"1\">消息管理 / Message management</li>\n<li data-id=\"17\">x</li>\n</ul><div id=\"next\"><p>Next</p></div>",
        );
        assert_eq!(page.authorizer.as_deref(), Some("wx<1>"));
        assert_eq!(page.permissions, ["1", "17"]);
        assert!(page.next_step);
        assert_eq!(ResultPage::read("<p></p>"), ResultPage::default());
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(toml_string("x\ny"), "\"x\\u000Ay\"");
    }

    #[test]
    fn temp_dirs_are_fresh_and_removed() {
        let a = TempDir::new("wxopen-harness").unwrap();
        let b = TempDir::new("wxopen-harness").unwrap();
        assert_ne!(a.path(), b.path());
        assert!(a.path().starts_with(std::env::temp_dir()));
        std::fs::write(a.path().join("f"), "x").unwrap();
        let kept = a.path().to_owned();
        drop(a);
        assert!(!kept.exists());
        assert!(b.path().is_dir());
    }

    #[test]
    fn a_free_port_can_be_bound() {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    }

    #[test]
    fn routes_name_the_component() {
        let r = Routes::new("http://127.0.0.1:1", "http://127.0.0.1:2", "wxc");
        assert_eq!(r.push(), "http://127.0.0.1:1/wechat/wxc/component");
        assert_eq!(r.authorized(), "http://127.0.0.1:1/wechat/wxc/authorized");
        assert_eq!(
            r.authorizer_refresh("wxa"),
            "http://127.0.0.1:2/v1/wxc/authorizers/wxa/token/refresh"
        );
        assert_eq!(
            r.component_refresh(),
            "http://127.0.0.1:2/v1/wxc/component/token/refresh"
        );
        assert_eq!(r.readyz(), "http://127.0.0.1:2/readyz");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stoppable_task_gets_its_signal() {
        let t = Stoppable::spawn(|stop| async move {
            stop.await;
            7
        });
        assert!(!t.is_finished());
        assert_eq!(t.stop(Duration::from_secs(5)).await.unwrap(), 7);

        let stuck = Stoppable::spawn(|_stop| std::future::pending::<()>());
        let e = stuck.stop(Duration::from_millis(20)).await.unwrap_err();
        assert!(matches!(e, StopError::TimedOut(_)), "{e}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_sent_at_once_all_answer() {
        let fake = FakeWeChat::start().await.unwrap();
        let http = client().unwrap();
        let url = format!(
            "{}/cgi-bin/component/api_component_token",
            fake.primary_url()
        );
        let answers = send_all_at_once((0..4).map(|_| http.post(&url).body("{}")).collect()).await;
        assert_eq!(answers.len(), 4);
        for a in answers {
            let a = a.unwrap();
            assert_eq!(a.status, 200, "{}", a.body);
            assert!(a.json()["errcode"].as_i64().is_some(), "{}", a.body);
        }
        assert_eq!(fake.total_calls(), 4);
        // Nothing listens on a port just found free.
        let closed = format!("http://127.0.0.1:{}/", free_port().unwrap());
        assert!(!wait_ok(&http, &closed, Duration::from_millis(30)).await);
        assert!(send(http.get(&closed)).await.is_err());
    }
}
