//! `wxopen.toml`: the service's configuration, its validation, and a redacted rendering.
//!
//! Every secret may be given inline (`appsecret = "…"`), from an environment variable
//! (`appsecret_env = "WX_APPSECRET"`) or from a file (`appsecret_file = "/run/secrets/…"`,
//! trailing newline trimmed) — exactly one of the three. A configuration error is one line
//! naming the key and the fix.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;
use wxopen_client::secret::SecretString;
use wxopen_client::valid_appid;

pub use crate::events_config::{DeliveryMode, EventsConfig};
pub use crate::limits_config::{ConnectionsConfig, RateLimitConfig};
use crate::limits_config::{RawConnections, RawRateLimit, SectionError};
pub use crate::proxy_config::ProxyConfig;
pub use crate::scope::{ClientScope, Permission};
use wxopen_client::wxopen_proto::proxy_rules::ProxyRules;

/// A configuration problem: which key, what is wrong, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key, e.g. `component[0].appsecret`.
    pub key: String,
    /// What is wrong.
    pub problem: String,
    /// What to do.
    pub fix: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "config error at `{}`: {}; {}",
            self.key, self.problem, self.fix
        )
    }
}

impl std::error::Error for ConfigError {}

/// Where a secret came from (shown by `wxopen config check`, never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Written in the file.
    Inline,
    /// From this environment variable.
    Env(String),
    /// From this file.
    File(PathBuf),
}

/// A resolved secret: its value (never printed) and where it came from.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: SecretString,
    /// Where it came from.
    pub source: SecretSource,
}

impl Secret {
    /// The value.
    pub fn expose_secret(&self) -> &str {
        self.value.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([redacted] from {:?})", self.source)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    refresher: RawRefresher,
    #[serde(default)]
    connections: RawConnections,
    #[serde(default)]
    rate_limit: RawRateLimit,
    #[serde(default)]
    events: crate::events_config::RawEvents,
    #[serde(default)]
    proxy: crate::proxy_config::RawProxy,
    #[serde(default)]
    component: Vec<RawComponent>,
    #[serde(default)]
    client: Vec<RawClient>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    public_listen: Option<String>,
    internal_listen: Option<String>,
    public_base_url: Option<String>,
    data_dir: Option<PathBuf>,
    store: Option<String>,
    request_timeout_ms: Option<u64>,
    push_budget_ms: Option<u64>,
    allow_http_redirect: Option<bool>,
    min_refresh_interval_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRefresher {
    enabled: Option<bool>,
    interval_secs: Option<u64>,
    ahead_secs: Option<u64>,
    max_refreshes_per_second: Option<u32>,
    start_push_ticket_after_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    appid: Option<String>,
    appsecret: Option<String>,
    appsecret_env: Option<String>,
    appsecret_file: Option<PathBuf>,
    token: Option<String>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    encoding_aes_key: Option<String>,
    encoding_aes_key_env: Option<String>,
    encoding_aes_key_file: Option<PathBuf>,
    previous_encoding_aes_key: Option<String>,
    previous_encoding_aes_key_env: Option<String>,
    previous_encoding_aes_key_file: Option<PathBuf>,
    api_base_urls: Option<Vec<String>>,
    authorized_redirect: Option<String>,
    display_name: Option<String>,
    handoff_key: Option<String>,
    handoff_key_env: Option<String>,
    handoff_key_file: Option<PathBuf>,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    webhook_secret_env: Option<String>,
    webhook_secret_file: Option<PathBuf>,
    webhook_timeout_ms: Option<u64>,
    webhook_delivery: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    name: Option<String>,
    key: Option<String>,
    key_env: Option<String>,
    key_file: Option<PathBuf>,
    components: Option<Vec<String>>,
    scope: Option<crate::proxy_config::RawScope>,
    proxy_allow: Option<Vec<String>>,
    proxy_deny: Option<Vec<String>>,
}

/// The whole service configuration, validated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// What WeChat and admins' browsers reach (default `0.0.0.0:8080`).
    pub public_listen: SocketAddr,
    /// The token API and metrics (default `127.0.0.1:8081`; keep it on a private network).
    pub internal_listen: SocketAddr,
    /// The public origin, e.g. `https://wx.example.com` (the authorization redirect goes to
    /// `<public_base_url>/wechat/<component>/authorized`).
    pub public_base_url: Option<Url>,
    /// Where the embedded store lives (default `./wxopen-data`).
    pub data_dir: PathBuf,
    /// The store URL (`sqlite:///…`, `redis://…`, `memory:`); default: SQLite in `data_dir`.
    pub store: String,
    /// `true` when `store` is the default SQLite file in `data_dir` (created if missing).
    pub store_is_default: bool,
    /// Whole-request timeout (default 10 s).
    pub request_timeout: Duration,
    /// Hard budget of a push answer (default 2 s; WeChat waits 5 s).
    pub push_budget: Duration,
    /// Allow an `http://` public base URL for the authorization redirect (local development).
    pub allow_http_redirect: bool,
    /// The least time between two unconditional refreshes (no `stale`) of one token on this
    /// instance (default 60 s; 0: no limit); within it the current token is answered.
    pub min_refresh_interval: Duration,
    /// The background refresher.
    pub refresher: RefresherConfig,
    /// How each listener holds connections (`[connections]`).
    pub connections: ConnectionsConfig,
    /// Rate limits of the authorization routes (`[rate_limit]`).
    pub rate_limit: RateLimitConfig,
    /// The event log: how long delivery is tried and events are kept (`[events]`).
    pub events: EventsConfig,
    /// The token-injecting proxy (`[proxy]`).
    pub proxy: ProxyConfig,
    /// The components served.
    pub components: Vec<ComponentSection>,
    /// The internal API's clients.
    pub clients: Vec<ApiClient>,
}

/// The proactive refresher.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefresherConfig {
    /// On by default.
    pub enabled: bool,
    /// How often it walks the tokens (default 60 s).
    pub interval: Duration,
    /// Refresh tokens expiring within this (default 15 min); the server sets the client's own
    /// refresh-ahead margin to this too, so a token request inside it refreshes as well.
    pub ahead: Duration,
    /// At most this many refreshes started per second, per component (default 20).
    pub max_refreshes_per_second: u32,
    /// Call `api_start_push_ticket` when no ticket arrived for this long (default 30 min;
    /// WeChat pushes every 10 min); at most once per that interval.
    pub start_push_ticket_after: Duration,
}

/// One component (third-party platform).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ComponentSection {
    /// Its appid.
    pub appid: String,
    /// Its appsecret.
    pub appsecret: Secret,
    /// The message-verification token.
    pub token: Secret,
    /// The EncodingAESKey.
    pub encoding_aes_key: Secret,
    /// The EncodingAESKey before the last rotation.
    pub previous_encoding_aes_key: Option<Secret>,
    /// API base URLs (default the official domains).
    pub api_base_urls: Option<Vec<String>>,
    /// Where the authorization result redirects (with `authorizer_appid`, `state` and the
    /// signed hand-off's `wxopen_ts`, `wxopen_nonce`, `wxopen_sig`) instead of showing a
    /// result page.
    pub authorized_redirect: Option<Url>,
    /// The platform's name on the pages admins see (default: the appid).
    pub display_name: Option<String>,
    /// The HMAC-SHA256 key of the hand-off to `authorized_redirect` and of the `state`
    /// binding (at least 32 bytes; required with `authorized_redirect`).
    pub handoff_key: Option<Secret>,
    /// Where messages and events of authorized accounts are relayed.
    pub webhook: Option<WebhookConfig>,
}

/// The message relay of a component (`webhook_url`, `webhook_secret`, `webhook_timeout_ms`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebhookConfig {
    /// The URL messages and events are POSTed to, as JSON.
    pub url: Url,
    /// The HMAC-SHA256 key of the signature header.
    pub secret: Secret,
    /// How long a message waits for the webhook's answer (default 3 s, at most 4 s: WeChat
    /// gives a message 5 s).
    pub timeout: Duration,
    /// `reply` (default: the webhook is called inline and its answer may be the passive reply)
    /// or `async` (WeChat is answered once the event is durable) — `webhook_delivery`.
    pub delivery: DeliveryMode,
}

/// A client of the internal API.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiClient {
    /// Its name (in logs).
    pub name: String,
    /// Its bearer key.
    pub key: Secret,
    /// Components it may use (`*`: all).
    pub components: Vec<String>,
    /// What it may do (`scope`: `"full"`, the default, `"read"`, or a list of `"tokens"`,
    /// `"refresh"`, `"proxy"`, `"admin"`).
    pub scope: ClientScope,
    /// Which paths it may call through the proxy (`proxy_allow`, `proxy_deny`).
    pub proxy_rules: ProxyRules,
}

impl ApiClient {
    /// Whether this client may use `component`.
    pub fn may_use(&self, component: &str) -> bool {
        self.components.iter().any(|c| c == "*" || c == component)
    }
}

/// A URL as logs and `config check` show it: no user, password or query (they may hold
/// credentials).
pub fn shown_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_password(None);
    let _ = u.set_username("");
    if u.query().is_some() {
        u.set_query(Some("redacted"));
    }
    u.set_fragment(None);
    u.to_string()
}

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<ServerConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(
            "--config",
            format!("cannot read {}: {e}", path.display()),
            "pass the path of a readable wxopen.toml",
        )
    })?;
    parse(&text, path.parent().unwrap_or(Path::new(".")))
}

/// Parses and validates configuration text; relative paths are taken from `base`.
pub fn parse(text: &str, base: &Path) -> Result<ServerConfig, ConfigError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let msg = e.message().replace('\n', " ");
        let key = e
            .span()
            .map(|s| {
                let line = text[..s.start.min(text.len())].lines().count().max(1);
                format!("line {line}")
            })
            .unwrap_or_else(|| "file".into());
        ConfigError::new(key, msg, "fix the TOML (see README, \"Run it for real\")")
    })?;
    validate(raw, base)
}

fn secret(
    key: &str,
    inline: Option<String>,
    env: Option<String>,
    file: Option<PathBuf>,
    base: &Path,
) -> Result<Option<Secret>, ConfigError> {
    let fix = format!("set exactly one of {key}, {key}_env or {key}_file");
    let secret = match (inline, env, file) {
        (None, None, None) => return Ok(None),
        (Some(v), None, None) => Secret {
            value: SecretString::from(v),
            source: SecretSource::Inline,
        },
        (None, Some(var), None) => Secret {
            value: std::env::var(&var).map(SecretString::from).map_err(|_| {
                ConfigError::new(
                    format!("{key}_env"),
                    format!("environment variable {var} is not set"),
                    format!("export {var} or use {key} / {key}_file"),
                )
            })?,
            source: SecretSource::Env(var),
        },
        (None, None, Some(path)) => {
            let path = if path.is_absolute() {
                path
            } else {
                base.join(path)
            };
            let value = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::new(
                    format!("{key}_file"),
                    format!("cannot read {}: {e}", path.display()),
                    "point it at a readable file",
                )
            })?;
            Secret {
                value: SecretString::from(value.trim_end_matches(['\n', '\r'])),
                source: SecretSource::File(path),
            }
        }
        _ => return Err(ConfigError::new(key, "given more than once", fix)),
    };
    if secret.value.is_empty() {
        return Err(ConfigError::new(key, "empty", fix));
    }
    Ok(Some(secret))
}

fn required(key: String, s: Option<Secret>) -> Result<Secret, ConfigError> {
    s.ok_or_else(|| {
        let name = key.rsplit('.').next().unwrap_or(&key).to_owned();
        ConfigError::new(
            key,
            "missing",
            format!("set {name}, {name}_env or {name}_file"),
        )
    })
}

fn addr(key: &str, v: Option<String>, default: &str) -> Result<SocketAddr, ConfigError> {
    v.as_deref().unwrap_or(default).parse().map_err(|_| {
        ConfigError::new(
            key,
            "not a socket address",
            "write it as \"ip:port\", e.g. \"127.0.0.1:8081\"",
        )
    })
}

/// Validates the file section by section, in the order of its keys' error messages: the
/// listeners and the rest of `[server]`, `[refresher]`, each `[[component]]` (with its
/// webhook), each `[[client]]`.
fn validate(raw: RawFile, base: &Path) -> Result<ServerConfig, ConfigError> {
    let s = raw.server;
    let (public_listen, internal_listen) = listeners(s.public_listen, s.internal_listen)?;
    let allow_http_redirect = s.allow_http_redirect.unwrap_or(false);
    let public_base_url = public_base_url(s.public_base_url, allow_http_redirect)?;
    let (data_dir, store, store_is_default) = store(s.data_dir, s.store, base);
    let (request_timeout, push_budget) = timeouts(s.request_timeout_ms, s.push_budget_ms)?;
    let min_refresh_interval = Duration::from_secs(s.min_refresh_interval_secs.unwrap_or(60));
    let refresher = refresher(raw.refresher)?;
    let section = |e: SectionError| ConfigError::new(e.key, e.problem, e.fix);
    let connections = crate::limits_config::connections(raw.connections).map_err(section)?;
    let rate_limit = crate::limits_config::rate_limit(raw.rate_limit).map_err(section)?;
    let events = crate::events_config::events(raw.events).map_err(section)?;
    let proxy = crate::proxy_config::proxy(raw.proxy).map_err(section)?;
    let components = components(raw.component, base)?;
    let clients = clients(raw.client, &components, base)?;
    Ok(ServerConfig {
        public_listen,
        internal_listen,
        public_base_url,
        data_dir,
        store,
        store_is_default,
        request_timeout,
        push_budget,
        allow_http_redirect,
        min_refresh_interval,
        refresher,
        connections,
        rate_limit,
        events,
        proxy,
        components,
        clients,
    })
}

/// `server.public_listen` and `server.internal_listen`.
fn listeners(
    public: Option<String>,
    internal: Option<String>,
) -> Result<(SocketAddr, SocketAddr), ConfigError> {
    Ok((
        addr("server.public_listen", public, "0.0.0.0:8080")?,
        addr("server.internal_listen", internal, "127.0.0.1:8081")?,
    ))
}

/// `server.public_base_url`: https, or http when `server.allow_http_redirect` is set.
fn public_base_url(
    url: Option<String>,
    allow_http_redirect: bool,
) -> Result<Option<Url>, ConfigError> {
    let Some(u) = url else {
        return Ok(None);
    };
    let url = Url::parse(&u).map_err(|e| {
        ConfigError::new(
            "server.public_base_url",
            e.to_string(),
            "write an absolute URL such as \"https://wx.example.com\"",
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http_redirect => {}
        _ => {
            return Err(ConfigError::new(
                "server.public_base_url",
                "must be https (WeChat redirects admins there)",
                "use https, or set server.allow_http_redirect = true for local development",
            ))
        }
    }
    Ok(Some(url))
}

/// `server.data_dir` (relative to `base`) and `server.store` (default: SQLite in
/// `data_dir`): the directory, the store URL and whether it is the default.
fn store(data_dir: Option<PathBuf>, store: Option<String>, base: &Path) -> (PathBuf, String, bool) {
    let data_dir = data_dir.unwrap_or_else(|| PathBuf::from("wxopen-data"));
    let data_dir = if data_dir.is_absolute() {
        data_dir
    } else {
        base.join(data_dir)
    };
    let store_is_default = store.is_none();
    let store =
        store.unwrap_or_else(|| format!("sqlite://{}", data_dir.join("wxopen.db").display()));
    (data_dir, store, store_is_default)
}

/// `server.request_timeout_ms` and `server.push_budget_ms`.
fn timeouts(
    request_timeout_ms: Option<u64>,
    push_budget_ms: Option<u64>,
) -> Result<(Duration, Duration), ConfigError> {
    let ms = |key: &str, v: Option<u64>, default: u64, min: u64| -> Result<Duration, ConfigError> {
        let v = v.unwrap_or(default);
        if v < min {
            return Err(ConfigError::new(
                key,
                format!("{v} is below {min}"),
                format!("use at least {min}"),
            ));
        }
        Ok(Duration::from_millis(v))
    };
    let request_timeout = ms("server.request_timeout_ms", request_timeout_ms, 10_000, 100)?;
    let push_budget = ms("server.push_budget_ms", push_budget_ms, 2_000, 100)?;
    if push_budget > Duration::from_millis(4_500) {
        return Err(ConfigError::new(
            "server.push_budget_ms",
            "above 4500 (WeChat gives a push 5 s)",
            "use 2000",
        ));
    }
    Ok((request_timeout, push_budget))
}

/// `[refresher]`.
fn refresher(r: RawRefresher) -> Result<RefresherConfig, ConfigError> {
    Ok(RefresherConfig {
        enabled: r.enabled.unwrap_or(true),
        interval: Duration::from_secs(r.interval_secs.unwrap_or(60).max(1)),
        ahead: Duration::from_secs(r.ahead_secs.unwrap_or(900)),
        max_refreshes_per_second: match r.max_refreshes_per_second.unwrap_or(20) {
            0 => {
                return Err(ConfigError::new(
                    "refresher.max_refreshes_per_second",
                    "0",
                    "use at least 1, or set refresher.enabled = false",
                ))
            }
            n => n,
        },
        start_push_ticket_after: Duration::from_secs(
            r.start_push_ticket_after_secs.unwrap_or(1800).max(600),
        ),
    })
}

/// Every `[[component]]`: at least one, each appid once.
fn components(raw: Vec<RawComponent>, base: &Path) -> Result<Vec<ComponentSection>, ConfigError> {
    if raw.is_empty() {
        return Err(ConfigError::new(
            "component",
            "no [[component]] section",
            "add one with appid, appsecret, token and encoding_aes_key",
        ));
    }
    let mut seen = HashSet::new();
    let mut components = Vec::new();
    for (i, c) in raw.into_iter().enumerate() {
        components.push(component(i, c, &mut seen, base)?);
    }
    Ok(components)
}

/// `component[i]`: its appid (not in `seen` yet), secrets, redirect, webhook and API URLs.
fn component(
    i: usize,
    c: RawComponent,
    seen: &mut HashSet<String>,
    base: &Path,
) -> Result<ComponentSection, ConfigError> {
    let k = |name: &str| format!("component[{i}].{name}");
    let appid = c
        .appid
        .ok_or_else(|| ConfigError::new(k("appid"), "missing", "set the component appid"))?;
    if !valid_appid(&appid) {
        return Err(ConfigError::new(
            k("appid"),
            "not an appid",
            "use the 18-character component appid (letters, digits, _)",
        ));
    }
    if !seen.insert(appid.clone()) {
        return Err(ConfigError::new(
            k("appid"),
            format!("{appid} appears twice"),
            "keep one [[component]] per appid",
        ));
    }
    let appsecret = required(
        k("appsecret"),
        secret(
            &k("appsecret"),
            c.appsecret,
            c.appsecret_env,
            c.appsecret_file,
            base,
        )?,
    )?;
    let token = required(
        k("token"),
        secret(&k("token"), c.token, c.token_env, c.token_file, base)?,
    )?;
    let encoding_aes_key = required(
        k("encoding_aes_key"),
        secret(
            &k("encoding_aes_key"),
            c.encoding_aes_key,
            c.encoding_aes_key_env,
            c.encoding_aes_key_file,
            base,
        )?,
    )?;
    if encoding_aes_key.expose_secret().len() != 43 {
        return Err(ConfigError::new(
            k("encoding_aes_key"),
            "not 43 characters",
            "copy the EncodingAESKey from the open platform console",
        ));
    }
    let previous_encoding_aes_key = secret(
        &k("previous_encoding_aes_key"),
        c.previous_encoding_aes_key,
        c.previous_encoding_aes_key_env,
        c.previous_encoding_aes_key_file,
        base,
    )?;
    if previous_encoding_aes_key
        .as_ref()
        .is_some_and(|p| p.expose_secret().len() != 43)
    {
        return Err(ConfigError::new(
            k("previous_encoding_aes_key"),
            "not 43 characters",
            "copy the previous EncodingAESKey, or remove it",
        ));
    }
    let authorized_redirect = match c.authorized_redirect {
        None => None,
        Some(u) => Some(Url::parse(&u).map_err(|e| {
            ConfigError::new(
                k("authorized_redirect"),
                e.to_string(),
                "write an absolute URL",
            )
        })?),
    };
    let handoff_key = secret(
        &k("handoff_key"),
        c.handoff_key,
        c.handoff_key_env,
        c.handoff_key_file,
        base,
    )?;
    if handoff_key
        .as_ref()
        .is_some_and(|h| h.expose_secret().len() < 32)
    {
        return Err(ConfigError::new(
            k("handoff_key"),
            "shorter than 32 bytes",
            "use 32 or more random bytes, e.g. `openssl rand -hex 32`",
        ));
    }
    if authorized_redirect.is_some() && handoff_key.is_none() {
        return Err(ConfigError::new(
            k("handoff_key"),
            "missing while authorized_redirect is set",
            "set handoff_key (or _env / _file) and share it with the host, which checks the hand-off with wxopen_proto::handoff::Handoff::verify",
        ));
    }
    let display_name = c.display_name.filter(|n| !n.trim().is_empty());
    if display_name
        .as_ref()
        .is_some_and(|n| n.chars().count() > 64 || n.chars().any(char::is_control))
    {
        return Err(ConfigError::new(
            k("display_name"),
            "longer than 64 characters or with control characters",
            "write the platform's name as admins know it",
        ));
    }
    let webhook_secret = secret(
        &k("webhook_secret"),
        c.webhook_secret,
        c.webhook_secret_env,
        c.webhook_secret_file,
        base,
    )?;
    let mut webhook = webhook(&k, c.webhook_url, webhook_secret, c.webhook_timeout_ms)?;
    let delivery =
        crate::events_config::delivery_mode(&k("webhook_delivery"), c.webhook_delivery.as_deref())
            .map_err(|e| ConfigError::new(e.key, e.problem, e.fix))?;
    match &mut webhook {
        Some(w) => w.delivery = delivery,
        None if c.webhook_delivery.is_some() => {
            return Err(ConfigError::new(
                k("webhook_delivery"),
                "set without a webhook",
                "set webhook_url and webhook_secret, or remove webhook_delivery",
            ))
        }
        None => {}
    }
    api_base_urls(&k, c.api_base_urls.as_deref())?;
    Ok(ComponentSection {
        appid,
        appsecret,
        token,
        encoding_aes_key,
        previous_encoding_aes_key,
        api_base_urls: c.api_base_urls,
        authorized_redirect,
        display_name,
        handoff_key,
        webhook,
    })
}

/// A component's `webhook_url`, `webhook_secret` (already read) and `webhook_timeout_ms`:
/// none of them, or the URL and the secret; `k` names a key of the component.
fn webhook(
    k: &dyn Fn(&str) -> String,
    url: Option<String>,
    secret: Option<Secret>,
    timeout_ms: Option<u64>,
) -> Result<Option<WebhookConfig>, ConfigError> {
    match (url, secret) {
        (None, None) if timeout_ms.is_none() => Ok(None),
        (None, _) => Err(ConfigError::new(
            k("webhook_url"),
            "missing while other webhook keys are set",
            "set webhook_url, or remove webhook_secret and webhook_timeout_ms",
        )),
        (Some(_), None) => Err(ConfigError::new(
            k("webhook_secret"),
            "missing",
            "set webhook_secret, webhook_secret_env or webhook_secret_file (the key of the signature header)",
        )),
        (Some(u), Some(secret)) => {
            let url = Url::parse(&u)
                .ok()
                .filter(|p| matches!(p.scheme(), "http" | "https"))
                .ok_or_else(|| {
                    ConfigError::new(
                        k("webhook_url"),
                        format!("{u} is not an http(s) URL"),
                        "write an absolute URL such as \"http://127.0.0.1:9000/wechat\"",
                    )
                })?;
            if secret.expose_secret().len() < 16 {
                return Err(ConfigError::new(
                    k("webhook_secret"),
                    "shorter than 16 characters",
                    "use a long random key, e.g. `openssl rand -hex 32`",
                ));
            }
            let ms = timeout_ms.unwrap_or(3_000);
            if !(100..=4_000).contains(&ms) {
                return Err(ConfigError::new(
                    k("webhook_timeout_ms"),
                    format!("{ms} is outside 100..=4000"),
                    "use 3000 (WeChat gives a message 5 s)",
                ));
            }
            Ok(Some(WebhookConfig {
                url,
                secret,
                timeout: Duration::from_millis(ms),
                delivery: DeliveryMode::default(),
            }))
        }
    }
}

/// A component's `api_base_urls`: absolute http(s) URLs.
fn api_base_urls(k: &dyn Fn(&str) -> String, urls: Option<&[String]>) -> Result<(), ConfigError> {
    for u in urls.unwrap_or_default() {
        let ok = Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https"));
        if !ok {
            return Err(ConfigError::new(
                k("api_base_urls"),
                format!("{u} is not an http(s) URL"),
                "list absolute URLs, or remove the key for the official domains",
            ));
        }
    }
    Ok(())
}

/// Every `[[client]]`: each name once, each listing configured components only.
fn clients(
    raw: Vec<RawClient>,
    components: &[ComponentSection],
    base: &Path,
) -> Result<Vec<ApiClient>, ConfigError> {
    let mut clients: Vec<ApiClient> = Vec::new();
    let mut names = HashSet::new();
    for (i, c) in raw.into_iter().enumerate() {
        let next = client(i, c, &mut names, components, base)?;
        // Two clients with one key: the first would answer every request and the second's
        // component list would never apply.
        if let Some(first) = clients
            .iter()
            .find(|c| c.key.expose_secret() == next.key.expose_secret())
        {
            return Err(ConfigError::new(
                format!("client[{i}].key"),
                format!("the same key as client {}", first.name),
                "give each client its own key",
            ));
        }
        clients.push(next);
    }
    Ok(clients)
}

/// `client[i]`: its name (not in `names` yet), key and components.
fn client(
    i: usize,
    c: RawClient,
    names: &mut HashSet<String>,
    components: &[ComponentSection],
    base: &Path,
) -> Result<ApiClient, ConfigError> {
    let k = |name: &str| format!("client[{i}].{name}");
    let name = c.name.ok_or_else(|| {
        ConfigError::new(k("name"), "missing", "name the service that uses this key")
    })?;
    if !names.insert(name.clone()) {
        return Err(ConfigError::new(
            k("name"),
            format!("{name} appears twice"),
            "give each client its own name",
        ));
    }
    let key = required(
        k("key"),
        secret(&k("key"), c.key, c.key_env, c.key_file, base)?,
    )?;
    if key.expose_secret().len() < 16 {
        return Err(ConfigError::new(
            k("key"),
            "shorter than 16 characters",
            "use a long random key, e.g. `openssl rand -hex 32`",
        ));
    }
    let comps = c.components.unwrap_or_else(|| vec!["*".to_owned()]);
    for comp in &comps {
        if comp != "*" && !components.iter().any(|s| &s.appid == comp) {
            return Err(ConfigError::new(
                k("components"),
                format!("{comp} is not a configured component"),
                "list configured component appids, or \"*\"",
            ));
        }
    }
    let section = |e: SectionError| ConfigError::new(e.key, e.problem, e.fix);
    let scope = crate::proxy_config::scope(&k("scope"), c.scope).map_err(section)?;
    let proxy_rules =
        crate::proxy_config::rules(&format!("client[{i}]"), c.proxy_allow, c.proxy_deny)
            .map_err(section)?;
    Ok(ApiClient {
        name,
        key,
        components: comps,
        scope,
        proxy_rules,
    })
}

fn source(s: &Secret) -> String {
    match &s.source {
        SecretSource::Inline => "[redacted] (inline)".into(),
        SecretSource::Env(v) => format!("[redacted] (from env {v})"),
        SecretSource::File(p) => format!("[redacted] (from file {})", p.display()),
    }
}

/// Strips a password from a store URL for display.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("[redacted]"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

impl ServerConfig {
    /// The configuration as `wxopen config check` prints it: every value, secrets as
    /// `[redacted]` with their source.
    pub fn redacted(&self) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line("[server]".into());
        line(format!("public_listen = \"{}\"", self.public_listen));
        line(format!("internal_listen = \"{}\"", self.internal_listen));
        if let Some(u) = &self.public_base_url {
            line(format!("public_base_url = \"{u}\""));
        }
        line(format!("data_dir = \"{}\"", self.data_dir.display()));
        line(format!("store = \"{}\"", redact_url(&self.store)));
        line(format!(
            "request_timeout_ms = {}",
            self.request_timeout.as_millis()
        ));
        line(format!("push_budget_ms = {}", self.push_budget.as_millis()));
        line(format!(
            "allow_http_redirect = {}",
            self.allow_http_redirect
        ));
        line(format!(
            "min_refresh_interval_secs = {}",
            self.min_refresh_interval.as_secs()
        ));
        let r = &self.refresher;
        line("\n[refresher]".into());
        line(format!("enabled = {}", r.enabled));
        line(format!("interval_secs = {}", r.interval.as_secs()));
        line(format!("ahead_secs = {}", r.ahead.as_secs()));
        line(format!(
            "max_refreshes_per_second = {}",
            r.max_refreshes_per_second
        ));
        line(format!(
            "start_push_ticket_after_secs = {}",
            r.start_push_ticket_after.as_secs()
        ));
        out.push_str(&crate::limits_config::shown(
            &self.connections,
            &self.rate_limit,
        ));
        out.push_str(&crate::events_config::shown(&self.events));
        out.push_str(&crate::proxy_config::shown(&self.proxy));
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        for c in &self.components {
            line("\n[[component]]".into());
            line(format!("appid = \"{}\"", c.appid));
            line(format!("appsecret = \"{}\"", source(&c.appsecret)));
            line(format!("token = \"{}\"", source(&c.token)));
            line(format!(
                "encoding_aes_key = \"{}\"",
                source(&c.encoding_aes_key)
            ));
            if let Some(p) = &c.previous_encoding_aes_key {
                line(format!("previous_encoding_aes_key = \"{}\"", source(p)));
            }
            if let Some(urls) = &c.api_base_urls {
                line(format!("api_base_urls = {urls:?}"));
            }
            if let Some(u) = &c.authorized_redirect {
                line(format!("authorized_redirect = \"{u}\""));
            }
            if let Some(w) = &c.webhook {
                line(format!("webhook_url = \"{}\"", shown_url(&w.url)));
                line(format!("webhook_secret = \"{}\"", source(&w.secret)));
                line(format!("webhook_timeout_ms = {}", w.timeout.as_millis()));
                line(format!("webhook_delivery = \"{}\"", w.delivery.as_str()));
            }
        }
        for c in &self.clients {
            line("\n[[client]]".into());
            line(format!("name = \"{}\"", c.name));
            line(format!("key = \"{}\"", source(&c.key)));
            line(format!("components = {:?}", c.components));
            if c.scope == ClientScope::FULL || c.scope == ClientScope::READ {
                line(format!("scope = \"{}\"", c.scope));
            } else {
                line(format!("scope = {}", c.scope));
            }
            for (name, list) in [
                ("proxy_allow", &c.proxy_rules.allow),
                ("proxy_deny", &c.proxy_rules.deny),
            ] {
                if !list.is_empty() {
                    let v: Vec<String> = list.iter().map(ToString::to_string).collect();
                    line(format!("{name} = {v:?}"));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const AES: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    fn minimal() -> String {
        format!(
            "[[component]]\nappid = \"wxcomponent0001\"\nappsecret = \"s3cr3t-appsecret\"\ntoken = \"msgtoken\"\nencoding_aes_key = \"{AES}\"\n\n[[client]]\nname = \"orders\"\nkey = \"0123456789abcdef0123\"\n"
        )
    }

    #[test]
    fn minimal_config_has_defaults() {
        let c = parse(&minimal(), Path::new("/etc/wxopen")).unwrap();
        assert_eq!(c.public_listen.to_string(), "0.0.0.0:8080");
        assert_eq!(c.internal_listen.to_string(), "127.0.0.1:8081");
        assert_eq!(c.store, "sqlite:///etc/wxopen/wxopen-data/wxopen.db");
        assert_eq!(c.push_budget, Duration::from_secs(2));
        assert!(c.refresher.enabled);
        assert_eq!(c.clients[0].components, ["*"]);
        assert!(c.clients[0].may_use("wxanything"));
        assert_eq!(c.clients[0].scope, ClientScope::FULL);
        assert_eq!(c.min_refresh_interval, Duration::from_secs(60));
    }

    #[test]
    fn a_client_may_be_read_only_and_an_unknown_scope_is_an_error() {
        let read = minimal().replacen(
            "name = \"orders\"",
            "name = \"orders\"\nscope = \"read\"",
            1,
        );
        let c = parse(&read, Path::new("/")).unwrap();
        assert_eq!(c.clients[0].scope, ClientScope::READ);
        assert!(c.redacted().contains("scope = \"read\""));
        let bad = minimal().replacen(
            "name = \"orders\"",
            "name = \"orders\"\nscope = \"root\"",
            1,
        );
        let e = parse(&bad, Path::new("/")).unwrap_err();
        assert_eq!(e.key, "client[0].scope");
        assert!(e.fix.contains("\"read\""), "{e}");
    }

    #[test]
    fn connection_and_rate_limit_sections_are_read_and_shown() {
        let c = parse(&minimal(), Path::new("/")).unwrap();
        assert_eq!(c.connections, ConnectionsConfig::default());
        assert_eq!(c.rate_limit, RateLimitConfig::default());
        let text = format!(
            "{}\n[connections]\nheader_read_timeout_ms = 2500\n\n[rate_limit]\nper_client_burst = 3\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
            minimal()
        );
        let c = parse(&text, Path::new("/")).unwrap();
        assert_eq!(
            c.connections.header_read_timeout,
            Duration::from_millis(2500)
        );
        assert_eq!(c.rate_limit.per_client_burst.get(), 3);
        let out = c.redacted();
        for line in [
            "[connections]",
            "header_read_timeout_ms = 2500",
            "max_per_listener = 512",
            "[rate_limit]",
            "per_client_burst = 3",
            "trusted_proxies = [\"10.0.0.0/8\"]",
        ] {
            assert!(out.lines().any(|l| l == line), "{line} not in\n{out}");
        }
        let bad = format!("{}\n[rate_limit]\nper_component_burst = 0\n", minimal());
        let e = parse(&bad, Path::new("/")).unwrap_err();
        assert_eq!(e.key, "rate_limit.per_component_burst");
    }

    #[test]
    fn redacted_output_has_no_secret() {
        let c = parse(&minimal(), Path::new("/")).unwrap();
        let out = c.redacted();
        for secret in ["s3cr3t-appsecret", "msgtoken", AES, "0123456789abcdef0123"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.contains("[redacted] (inline)"));
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert_eq!(
            redact_url("redis://user:pw123@localhost:6379/0"),
            "redis://user:%5Bredacted%5D@localhost:6379/0"
        );
    }

    #[test]
    fn secrets_from_env_and_file() {
        let dir = std::env::temp_dir().join(format!("wxopen-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("secret"), "from-file-secret\n").unwrap();
        std::env::set_var("WXOPEN_TEST_TOKEN_9", "from-env-token");
        let text = minimal()
            .replace(
                "appsecret = \"s3cr3t-appsecret\"",
                "appsecret_file = \"secret\"",
            )
            .replace(
                "token = \"msgtoken\"",
                "token_env = \"WXOPEN_TEST_TOKEN_9\"",
            );
        let c = parse(&text, &dir).unwrap();
        assert_eq!(
            c.components[0].appsecret.expose_secret(),
            "from-file-secret"
        );
        assert_eq!(c.components[0].token.expose_secret(), "from-env-token");
        assert!(c.redacted().contains("from env WXOPEN_TEST_TOKEN_9"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_key_and_the_fix() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "appsecret = \"s3cr3t-appsecret\"\n",
                "",
                "component[0].appsecret",
            ),
            (
                "appid = \"wxcomponent0001\"",
                "appid = \"not valid!\"",
                "component[0].appid",
            ),
            (
                "name = \"orders\"",
                "name = \"orders\"\ncomponents = [\"wxother\"]",
                "client[0].components",
            ),
            (
                "key = \"0123456789abcdef0123\"",
                "key = \"short\"",
                "client[0].key",
            ),
            (
                "[[component]]",
                "[server]\npublic_base_url = \"http://x\"\n\n[[component]]",
                "server.public_base_url",
            ),
            (
                "[[component]]",
                "[server]\npush_budget_ms = 9000\n\n[[component]]",
                "server.push_budget_ms",
            ),
            (
                "token = \"msgtoken\"",
                "token = \"msgtoken\"\ntoken_env = \"X\"",
                "component[0].token",
            ),
            (
                "[[component]]",
                "[server]\nbogus = 1\n\n[[component]]",
                "line",
            ),
            (
                "[[component]]",
                "[server]\ninternal_listen = \"nope\"\n\n[[component]]",
                "server.internal_listen",
            ),
        ];
        for (from, to, key) in cases {
            let text = minimal().replacen(from, to, 1);
            let e = parse(&text, Path::new("/")).unwrap_err();
            assert!(e.key.starts_with(key), "{key}: {e}");
            let line = e.to_string();
            assert!(!line.contains('\n') && line.contains(&e.fix), "{line}");
            assert!(!line.contains("s3cr3t"), "{line}");
        }
        let e = parse("", Path::new("/")).unwrap_err();
        assert_eq!(e.key, "component");
    }

    /// Each section's checks, one per section, with the whole one-line message.
    #[test]
    fn each_section_reports_its_own_key_and_message() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "[[component]]",
                "[server]\nrequest_timeout_ms = 5\n\n[[component]]",
                "config error at `server.request_timeout_ms`: 5 is below 100; use at least 100",
            ),
            (
                "[[component]]",
                "[refresher]\nmax_refreshes_per_second = 0\n\n[[component]]",
                "config error at `refresher.max_refreshes_per_second`: 0; use at least 1, or set refresher.enabled = false",
            ),
            (
                "encoding_aes_key = \"",
                "api_base_urls = [\"ftp://x\"]\nencoding_aes_key = \"",
                "config error at `component[0].api_base_urls`: ftp://x is not an http(s) URL; list absolute URLs, or remove the key for the official domains",
            ),
            (
                "[[client]]",
                "[[component]]\nappid = \"wxcomponent0001\"\n\n[[client]]",
                "config error at `component[1].appid`: wxcomponent0001 appears twice; keep one [[component]] per appid",
            ),
            (
                "[[client]]",
                "[[client]]\nname = \"orders\"\nkey = \"0123456789abcdef0123\"\n\n[[client]]",
                "config error at `client[1].name`: orders appears twice; give each client its own name",
            ),
            (
                "[[client]]",
                "[[client]]\nname = \"billing\"\nkey = \"0123456789abcdef0123\"\ncomponents = [\"wxcomponent0001\"]\n\n[[client]]",
                "config error at `client[1].key`: the same key as client billing; give each client its own key",
            ),
        ];
        for (from, to, message) in cases {
            let text = minimal().replacen(from, to, 1);
            let e = parse(&text, Path::new("/")).unwrap_err();
            assert_eq!(e.to_string(), *message);
        }
    }

    #[test]
    fn webhook_keys_are_validated_and_redacted() {
        let with = |extra: &str| {
            minimal().replacen(
                "encoding_aes_key = ",
                &format!("{extra}\nencoding_aes_key = "),
                1,
            )
        };
        let ok = with(
            "webhook_url = \"https://u:pw@hooks.example.com/wx?token=tk-123\"\nwebhook_secret = \"webhook-secret-0123456789\"",
        );
        let c = parse(&ok, Path::new("/")).unwrap();
        let w = c.components[0].webhook.as_ref().unwrap();
        assert_eq!(w.timeout, Duration::from_secs(3));
        let out = c.redacted();
        for secret in ["webhook-secret-0123456789", "tk-123", "pw"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(
            out.contains("webhook_url = \"https://hooks.example.com/wx?redacted\""),
            "{out}"
        );
        let err = |extra: &str| parse(&with(extra), Path::new("/")).unwrap_err();
        assert_eq!(
            err("webhook_url = \"https://h.example.com/\"").key,
            "component[0].webhook_secret"
        );
        assert_eq!(
            err("webhook_secret = \"webhook-secret-0123456789\"").key,
            "component[0].webhook_url"
        );
        assert_eq!(
            err("webhook_url = \"ftp://h/\"\nwebhook_secret = \"webhook-secret-0123456789\"").key,
            "component[0].webhook_url"
        );
        assert_eq!(
            err("webhook_url = \"https://h/\"\nwebhook_secret = \"short\"").key,
            "component[0].webhook_secret"
        );
        let slow = err(
            "webhook_url = \"https://h/\"\nwebhook_secret = \"webhook-secret-0123456789\"\nwebhook_timeout_ms = 5000",
        );
        assert_eq!(slow.key, "component[0].webhook_timeout_ms");
        assert!(slow.to_string().contains("4000"), "{slow}");
    }
}
