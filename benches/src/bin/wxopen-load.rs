//! The service load harness behind `benches/service/run.sh`.
//!
//! | subcommand | does |
//! |---|---|
//! | `ceiling --port P` | a bare hyper 1 server: reads the body, answers `success` |
//! | `webhook --port P` | the no-op webhook: reads the body, answers 204 |
//! | `upstream --port P` | a stub of WeChat's API (component and authorizer tokens), counting `api_authorizer_token` per second; `GET /__stats` |
//! | `seed --store URL --component C --count N --prefix P --mode cached\|due` | writes a ticket, a component token and N authorizer tokens straight into a store |
//! | `load --port P --kind K …` | the load generator: closed loop (`--rate 0`) or open loop at a fixed rate, latency percentiles |
//! | `fixtures --port P --out DIR --kind K --pool N` | pre-built raw HTTP requests for wrk |
//! | `wait-ready --port P --path /readyz --since UNIX_NS` | polls until 200 every millisecond; prints the milliseconds since `--since` |
//!
//! The load generator is one thread with non-blocking sockets (mio): one request in flight per
//! connection. In open loop each connection has a schedule (`connections / rate` apart); a
//! request's latency runs from its scheduled time, not from when it could be sent, so a server
//! that falls behind is charged for the queue (no coordinated omission). Below 1 ms to the
//! next send it polls without sleeping, so the load core is busy by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use wxopen_benches::{APPID, ENCODING_AES_KEY, TOKEN};
use wxopen_client::{
    AuthorizerAccessToken, AuthorizerRecord, AuthorizerRefreshToken, ComponentAccessToken,
    ComponentTokenRecord, ComponentVerifyTicket, StoreKey, StoredValue, TicketRecord,
};
use wxopen_core::MsgCrypt;

type Args = HashMap<String, String>;

fn parse_args(raw: &[String]) -> Args {
    let mut out = HashMap::new();
    let mut it = raw.iter();
    while let Some(k) = it.next() {
        let key = k.trim_start_matches("--").to_owned();
        let v = it.next().cloned().unwrap_or_default();
        out.insert(key, v);
    }
    out
}

fn arg<T: std::str::FromStr>(a: &Args, k: &str, default: T) -> T {
    a.get(k).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn req_arg(a: &Args, k: &str) -> String {
    match a.get(k) {
        Some(v) => v.clone(),
        None => {
            eprintln!("wxopen-load: --{k} is required");
            std::process::exit(2);
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = raw.first().cloned() else {
        eprintln!("usage: wxopen-load ceiling|webhook|upstream|seed|load|fixtures [--key value…]");
        std::process::exit(2);
    };
    let a = parse_args(&raw[1..]);
    match cmd.as_str() {
        "ceiling" if a.get("decrypt").is_some_and(|v| v == "1") => {
            let client = calibration_client();
            serve_blocking(&a, Arc::new(move |p, b| decrypting(&client, p, b)), true)
        }
        "ceiling" => serve_blocking(&a, Arc::new(ceiling), true),
        "webhook" => serve_blocking(&a, Arc::new(webhook), false),
        "upstream" => {
            let stub = Arc::new(Upstream::new(arg(&a, "expires-in", 7200u64)));
            serve_blocking(&a, Arc::new(move |p, b| stub.answer(p, b)), false)
        }
        "seed" => seed(&a),
        "load" => load(&a),
        "fixtures" => fixtures(&a),
        "wait-ready" => wait_ready(&a),
        other => {
            eprintln!("wxopen-load: unknown subcommand {other}");
            std::process::exit(2);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Servers

type Handler =
    Arc<dyn Fn(&hyper::http::request::Parts, &[u8]) -> Response<Full<Bytes>> + Send + Sync>;

/// Serves `handler` on 127.0.0.1:`--port`. `multi`: the multi-thread runtime `wxopen serve`
/// uses (one worker per CPU it may run on, so one under `taskset -c 0`); otherwise a
/// current-thread runtime (the helpers that share the load core).
fn serve_blocking(a: &Args, handler: Handler, multi: bool) {
    let port: u16 = arg(a, "port", 0);
    let rt = if multi {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .expect("bind");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let h = handler.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let h = h.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let bytes = body
                            .collect()
                            .await
                            .map(|c| c.to_bytes())
                            .unwrap_or_default();
                        Ok::<_, Infallible>(h(&parts, &bytes))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}

fn ceiling(_: &hyper::http::request::Parts, _: &[u8]) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(b"success")));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn calibration_client() -> wxopen_client::ComponentClient {
    let cfg =
        wxopen_client::ComponentConfig::new(APPID, "bench-appsecret-0000", TOKEN, ENCODING_AES_KEY);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = rt.enter();
    wxopen_client::ComponentClient::builder(cfg)
        .store(Arc::new(wxopen_client::MemoryStore::new()))
        .build()
        .expect("client")
}

/// The calibration: the bare server plus the work every message needs (query, timestamp
/// window, signature, decrypt, parse), nothing else (no routing, logging, metrics, dedupe).
fn decrypting(
    client: &wxopen_client::ComponentClient,
    p: &hyper::http::request::Parts,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let ok = wxopen_client::PushQuery::parse(p.uri.query().unwrap_or(""))
        .ok()
        .and_then(|q| client.decrypt_authorizer_message(&q, body).ok());
    match ok {
        Some(m) if !m.to_user_name.is_empty() => ceiling(p, body),
        _ => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"bad")));
            *r.status_mut() = StatusCode::BAD_REQUEST;
            r
        }
    }
}

fn webhook(_: &hyper::http::request::Parts, _: &[u8]) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// The stub of WeChat's API: every token call succeeds.
struct Upstream {
    expires_in: u64,
    next: AtomicU64,
    /// `api_authorizer_token` calls per unix second.
    per_second: Mutex<BTreeMap<u64, u64>>,
    component_tokens: AtomicU64,
}

impl Upstream {
    fn new(expires_in: u64) -> Self {
        Self {
            expires_in,
            next: AtomicU64::new(1),
            per_second: Mutex::new(BTreeMap::new()),
            component_tokens: AtomicU64::new(0),
        }
    }

    fn answer(&self, p: &hyper::http::request::Parts, _: &[u8]) -> Response<Full<Bytes>> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let body = match p.uri.path() {
            "/cgi-bin/component/api_component_token" => {
                self.component_tokens.fetch_add(1, Ordering::Relaxed);
                format!(
                    r#"{{"component_access_token":"stub-component-token-{n}","expires_in":7200}}"#
                )
            }
            "/cgi-bin/component/api_authorizer_token" => {
                *self
                    .per_second
                    .lock()
                    .unwrap()
                    .entry(unix_now())
                    .or_default() += 1;
                format!(
                    r#"{{"authorizer_access_token":"stub-authorizer-token-{n}","expires_in":{},"authorizer_refresh_token":"stub-refresh-{n}"}}"#,
                    self.expires_in
                )
            }
            "/__stats" => {
                let m = self.per_second.lock().unwrap();
                let total: u64 = m.values().sum();
                // Full seconds only: the first and last buckets are partial.
                let inner: Vec<u64> = m
                    .values()
                    .copied()
                    .skip(1)
                    .take(m.len().saturating_sub(2))
                    .collect();
                let max = inner.iter().copied().max().unwrap_or(0);
                let first = m.keys().next().copied().unwrap_or(0);
                let last = m.keys().next_back().copied().unwrap_or(0);
                format!(
                    r#"{{"authorizer_token_calls":{total},"max_per_full_second":{max},"first_second":{first},"last_second":{last},"component_token_calls":{}}}"#,
                    self.component_tokens.load(Ordering::Relaxed)
                )
            }
            _ => r#"{"errcode":0,"errmsg":"ok"}"#.to_owned(),
        };
        let mut r = Response::new(Full::new(Bytes::from(body)));
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        r
    }
}

// ---------------------------------------------------------------------------------------------
// Seeding a store

fn authorizer_appid(prefix: &str, i: usize) -> String {
    format!("{prefix}{i:08}")
}

fn seed(a: &Args) {
    let url = req_arg(a, "store");
    let component = a
        .get("component")
        .cloned()
        .unwrap_or_else(|| APPID.to_owned());
    let count: usize = arg(a, "count", 16);
    let prefix = a.get("prefix").cloned().unwrap_or_else(|| "wxbench".into());
    let due = a.get("mode").is_some_and(|m| m == "due");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    rt.block_on(async {
        let store = wxopen_store::open_store(&url).await.expect("open store");
        let now = unix_now();
        let put = |key: StoreKey, value: StoredValue| {
            let store = store.clone();
            async move {
                let current = store.get(&key).await.expect("get");
                store
                    .compare_and_set(&key, current.map(|v| v.version), value, None)
                    .await
                    .expect("cas");
            }
        };
        put(
            StoreKey::ticket(&component),
            StoredValue::Ticket(TicketRecord {
                ticket: ComponentVerifyTicket::new("ticket@@@bench-seeded-ticket"),
                create_time: now,
                received_at: now,
            }),
        )
        .await;
        put(
            StoreKey::component_token(&component),
            StoredValue::ComponentToken(ComponentTokenRecord {
                token: ComponentAccessToken::new("seeded-component-token"),
                obtained_at: now,
                refresh_at: now + 3600,
                expires_at: now + 7200,
            }),
        )
        .await;
        for i in 0..count {
            // `due`: past its refresh deadline and inside the refresher's look-ahead (15 min
            // + 2 min jitter), still valid: exactly what the refresher renews ahead of expiry.
            let (refresh_at, expires_at) = if due {
                (now - 1, now + 1000)
            } else {
                (now + 3600, now + 7200)
            };
            put(
                StoreKey::authorizer(&component, &authorizer_appid(&prefix, i)),
                StoredValue::Authorizer(AuthorizerRecord {
                    access_token: Some(AuthorizerAccessToken::new(format!(
                        "seeded-authorizer-token-{i}"
                    ))),
                    refresh_token: Some(AuthorizerRefreshToken::new(format!("seeded-refresh-{i}"))),
                    obtained_at: now,
                    refresh_at,
                    expires_at,
                    authorized_at: now,
                    event_time: 0,
                    token_serial: 0,
                    func_info: None,
                    func_info_removed: Vec::new(),
                }),
            )
            .await;
        }
    });
    eprintln!(
        "seeded {count} authorizers into {url} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// Requests

/// Authorizer appid the messages are pushed for (path `…/callback/{this}`).
const AUTHORIZER: &str = "wxbenchauthorizer1";
/// The official account's original id (ToUserName).
const GH: &str = "gh_3a8d4c6e2f1b";
/// A user's openid (FromUserName).
const OPENID: &str = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M";
/// The bearer key of the bench config's `[[client]]`.
const API_KEY: &str = "bench-key-0123456789abcdef";
/// Plaintext size of a message push.
const MESSAGE_LEN: usize = 1024;

fn crypt() -> MsgCrypt {
    MsgCrypt::new(TOKEN, ENCODING_AES_KEY, APPID).expect("sample settings")
}

/// A text message of exactly [`MESSAGE_LEN`] bytes.
fn text_message(create_time: u64, msg_id: u64) -> Vec<u8> {
    let head = format!(
        "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA["
    );
    let tail = format!("]]></Content><MsgId>{msg_id}</MsgId></xml>");
    let filler = MESSAGE_LEN - head.len() - tail.len();
    let mut m = head.into_bytes();
    m.extend((0..filler).map(|i| b"the quick brown fox jumps over the lazy dog "[i % 44]));
    m.extend_from_slice(tail.as_bytes());
    debug_assert_eq!(m.len(), MESSAGE_LEN);
    m
}

fn ticket_message(create_time: u64) -> Vec<u8> {
    format!(
        "<xml><AppId><![CDATA[{APPID}]]></AppId><CreateTime>{create_time}</CreateTime>\
         <InfoType><![CDATA[component_verify_ticket]]></InfoType>\
         <ComponentVerifyTicket><![CDATA[ticket@@@bench-{create_time}-lEHjsBEi_TPDey0IZxw4Zbb7JRYLOtEf9ksvDpSwzkwog3R6xEpdaK0yIee7JOyOXM0V7cp0dpM58GKmb8FIKA]]></ComponentVerifyTicket></xml>"
    )
    .into_bytes()
}

/// Builds signed, encrypted pushes as WeChat sends them.
struct Sealer {
    crypt: MsgCrypt,
    host: String,
    n: u64,
}

impl Sealer {
    fn new(port: u16) -> Self {
        Self {
            crypt: crypt(),
            host: format!("127.0.0.1:{port}"),
            n: 0,
        }
    }

    /// The raw HTTP request of one push of `plain` to `path`; `envelope_name` is the
    /// envelope's first element (`ToUserName` for messages, `AppId` for component pushes).
    fn push(&mut self, path: &str, plain: &[u8], envelope: (&str, &str), openid: bool) -> Vec<u8> {
        self.n += 1;
        let n = self.n;
        let timestamp = unix_now().to_string();
        let nonce = format!("{:010}", n.wrapping_mul(2_654_435_761) % 10_000_000_000);
        let mut random16 = [0u8; 16];
        random16[..8].copy_from_slice(&n.to_le_bytes());
        random16[8..].copy_from_slice(&n.rotate_left(29).to_le_bytes());
        let reply = self
            .crypt
            .encrypt_reply(plain, &timestamp, &nonce, &random16)
            .expect("seal");
        let body = format!(
            "<xml>\n    <{0}><![CDATA[{1}]]></{0}>\n    <Encrypt><![CDATA[{2}]]></Encrypt>\n</xml>\n",
            envelope.0, envelope.1, reply.encrypt
        );
        let signature = wxopen_core::signature::sign_plain(TOKEN, &timestamp, &nonce);
        let openid = if openid {
            format!("&openid={OPENID}")
        } else {
            String::new()
        };
        let head = format!(
            "POST {path}?signature={}&timestamp={timestamp}&nonce={nonce}{openid}&encrypt_type=aes&msg_signature={} HTTP/1.1\r\n\
             Host: {}\r\nUser-Agent: Mozilla/4.0\r\nAccept: */*\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
            signature.as_str(),
            reply.msg_signature,
            self.host,
            body.len()
        );
        let mut out = head.into_bytes();
        out.extend_from_slice(body.as_bytes());
        out
    }

    fn message(&mut self, msg_id: u64) -> Vec<u8> {
        let path = format!("/wechat/{APPID}/callback/{AUTHORIZER}");
        let plain = text_message(unix_now(), msg_id);
        self.push(&path, &plain, ("ToUserName", GH), true)
    }

    fn ticket(&mut self, create_time: u64) -> Vec<u8> {
        let path = format!("/wechat/{APPID}/component");
        let plain = ticket_message(create_time);
        self.push(&path, &plain, ("AppId", APPID), false)
    }
}

fn token_request(port: u16, prefix: &str, i: usize) -> Vec<u8> {
    format!(
        "GET /v1/{APPID}/authorizers/{}/token HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {API_KEY}\r\nAccept: */*\r\n\r\n",
        authorizer_appid(prefix, i)
    )
    .into_bytes()
}

/// Where requests come from.
enum Source {
    /// A fixed set, in rotation.
    Pool(Vec<Vec<u8>>, usize),
    /// Every request new (a new MsgId, or a newer ticket `CreateTime`).
    Unique(Box<dyn FnMut() -> Vec<u8>>),
}

impl Source {
    fn next(&mut self) -> Vec<u8> {
        match self {
            Source::Pool(reqs, i) => {
                *i = (*i + 1) % reqs.len();
                reqs[*i].clone()
            }
            Source::Unique(f) => f(),
        }
    }
}

/// Message ids start here (19 digits, so every message has the same length).
const MSG_ID_BASE: u64 = 7_000_000_000_000_000_000;

fn source(a: &Args, port: u16) -> Source {
    let kind = a.get("kind").cloned().unwrap_or_else(|| "message".into());
    let pool: usize = arg(a, "pool", 16);
    // Distinct runs get distinct MsgIds (`--seq`), so dedupe never sees an earlier run's.
    let seq: u64 = arg(a, "seq", 0);
    let base = MSG_ID_BASE + seq * 100_000_000;
    let mut sealer = Sealer::new(port);
    match kind.as_str() {
        "message" => Source::Pool(
            (0..pool as u64).map(|i| sealer.message(base + i)).collect(),
            0,
        ),
        "message-unique" => {
            let mut id = base;
            Source::Unique(Box::new(move || {
                id += 1;
                sealer.message(id)
            }))
        }
        "ticket" => {
            // Older than the one stored: read and kept, as WeChat's repeats are.
            let t = unix_now() - 86_400;
            Source::Pool((0..pool as u64).map(|i| sealer.ticket(t + i)).collect(), 0)
        }
        "ticket-unique" => {
            // Each newer than the last, so each is stored (arrivals out of order are kept);
            // 200,000 per run (`--seq` 0 to 8 within a row: three tries of three runs), all
            // less than a day ahead of the clock.
            let mut t = unix_now() - 20 * 86_400 + seq * 200_000;
            Source::Unique(Box::new(move || {
                t += 1;
                sealer.ticket(t)
            }))
        }
        "token" => {
            let prefix = a.get("prefix").cloned().unwrap_or_else(|| "wxbench".into());
            Source::Pool(
                (0..pool).map(|i| token_request(port, &prefix, i)).collect(),
                0,
            )
        }
        other => {
            eprintln!("wxopen-load: unknown --kind {other}");
            std::process::exit(2);
        }
    }
}

/// `--kind message|ticket|token --pool N --out DIR`: one raw request per file, for wrk.
fn fixtures(a: &Args) {
    let port: u16 = arg(a, "port", 0);
    let out = std::path::PathBuf::from(req_arg(a, "out"));
    std::fs::create_dir_all(&out).expect("mkdir");
    let Source::Pool(reqs, _) = source(a, port) else {
        eprintln!("fixtures: only pool kinds");
        std::process::exit(2);
    };
    for (i, r) in reqs.iter().enumerate() {
        std::fs::write(out.join(format!("req-{i}.http")), r).expect("write");
    }
}

/// Polls `GET --path` on 127.0.0.1:`--port` every millisecond until it answers 200 (at most
/// `--timeout` seconds), then prints the milliseconds since `--since` (unix nanoseconds, taken
/// just before the server was spawned).
fn wait_ready(a: &Args) {
    let port: u16 = arg(a, "port", 0);
    let path = a.get("path").cloned().unwrap_or_else(|| "/readyz".into());
    let since: u128 = arg(a, "since", 0);
    let deadline = Instant::now() + Duration::from_secs_f64(arg(a, "timeout", 30.0));
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    while Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)) {
            let mut out = Vec::new();
            if s.write_all(req.as_bytes()).is_ok() && s.read_to_end(&mut out).is_ok() {
                if let Ok(Some((_, 200))) = parse_response(&out) {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos());
                    println!("{:.1}", now.saturating_sub(since) as f64 / 1e6);
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    eprintln!("wait-ready: {path} on port {port} not ready in time");
    std::process::exit(1);
}

// ---------------------------------------------------------------------------------------------
// The load generator

struct Conn {
    stream: mio::net::TcpStream,
    wbuf: Vec<u8>,
    wpos: usize,
    rbuf: Vec<u8>,
    in_flight: bool,
    /// Scheduled (open loop) or actual (closed loop) send time of the request in flight.
    started: Instant,
    next_due: Instant,
}

/// A connection of the in-process webhook (`load --webhook-port`).
struct HookConn {
    stream: mio::net::TcpStream,
    rbuf: Vec<u8>,
    out: Vec<u8>,
    opos: usize,
}

/// The first complete request in `buf`, if any: the bytes it takes.
fn parse_request(buf: &[u8]) -> Option<usize> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let len = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    (buf.len() >= end + 4 + len).then_some(end + 4 + len)
}

/// Reads what a webhook connection has and answers each complete request with 204; `false`
/// when it closed.
fn serve_hook(h: &mut HookConn, buf: &mut [u8], served: &mut u64) -> bool {
    let mut open = true;
    loop {
        match h.stream.read(buf) {
            Ok(0) => {
                open = false;
                break;
            }
            Ok(n) => h.rbuf.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => {
                open = false;
                break;
            }
        }
    }
    while let Some(used) = parse_request(&h.rbuf) {
        h.rbuf.drain(..used);
        h.out
            .extend_from_slice(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n");
        *served += 1;
    }
    while h.opos < h.out.len() {
        match h.stream.write(&h.out[h.opos..]) {
            Ok(n) => h.opos += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    if h.opos == h.out.len() {
        h.out.clear();
        h.opos = 0;
    }
    open
}

/// Tokens of the webhook listener and its connections (load connections are 0..N).
const HOOK_LISTENER: usize = 1 << 20;
const HOOK_BASE: usize = HOOK_LISTENER + 1;

/// One complete response at the start of `buf`: (bytes it takes, status).
fn parse_response(buf: &[u8]) -> Result<Option<(usize, u16)>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| "non-UTF-8 head".to_owned())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut length = None;
    let mut chunked = false;
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("content-length") {
            length = v.parse::<usize>().ok();
        } else if k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    let body_start = end + 4;
    if chunked {
        let mut pos = body_start;
        loop {
            let Some(le) = buf[pos..].windows(2).position(|w| w == b"\r\n") else {
                return Ok(None);
            };
            let size_text = std::str::from_utf8(&buf[pos..pos + le]).map_err(|_| "chunk size")?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| format!("bad chunk size {size_text:?}"))?;
            pos += le + 2;
            if size == 0 {
                // No trailers from our targets: the terminating CRLF follows.
                if buf.len() < pos + 2 {
                    return Ok(None);
                }
                return Ok(Some((pos + 2, status)));
            }
            if buf.len() < pos + size + 2 {
                return Ok(None);
            }
            pos += size + 2;
        }
    }
    let len = match (length, status) {
        (Some(n), _) => n,
        (None, 204 | 304) => 0,
        (None, _) => return Err("response without Content-Length or chunked".into()),
    };
    if buf.len() < body_start + len {
        return Ok(None);
    }
    Ok(Some((body_start + len, status)))
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

fn load(a: &Args) {
    let port: u16 = arg(a, "port", 0);
    let connections: usize = arg(a, "connections", 64);
    let rate: f64 = arg(a, "rate", 0.0);
    let duration = Duration::from_secs_f64(arg(a, "duration", 10.0));
    let warmup = Duration::from_secs_f64(arg(a, "warmup", 2.0));
    let label = a.get("label").cloned().unwrap_or_default();
    // Busy-poll (never sleep in epoll_wait): otherwise every response the server writes has
    // to wake this thread on the other core, and in a VM that cross-core wake-up (an IPI, a
    // VM exit) is charged to the server's write, more per request the slower the server is.
    let spin = arg(a, "spin", 1u8) == 1;
    let mut src = source(a, port);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));

    let mut poll = mio::Poll::new().expect("poll");
    let mut events = mio::Events::with_capacity(1024);
    // The no-op webhook, served by this same loop: no second process competing for the
    // (busy-polled) load core.
    let mut hook_listener = a.get("webhook-port").map(|p| {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, p.parse::<u16>().expect("port")));
        let mut l = mio::net::TcpListener::bind(addr).expect("bind webhook");
        poll.registry()
            .register(&mut l, mio::Token(HOOK_LISTENER), mio::Interest::READABLE)
            .expect("register");
        l
    });
    let mut hooks: HashMap<usize, HookConn> = HashMap::new();
    let mut next_hook = HOOK_BASE;
    let mut hook_served = 0u64;
    let mut conns: Vec<Conn> = Vec::with_capacity(connections);
    let start = Instant::now() + Duration::from_millis(50);
    let interval = if rate > 0.0 {
        Duration::from_secs_f64(connections as f64 / rate)
    } else {
        Duration::ZERO
    };
    let connect = |i: usize, poll: &mio::Poll| -> mio::net::TcpStream {
        let s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        s.set_nonblocking(true).expect("nonblocking");
        let mut s = mio::net::TcpStream::from_std(s);
        poll.registry()
            .register(
                &mut s,
                mio::Token(i),
                mio::Interest::READABLE | mio::Interest::WRITABLE,
            )
            .expect("register");
        s
    };
    for i in 0..connections {
        let stream = connect(i, &poll);
        conns.push(Conn {
            stream,
            wbuf: Vec::new(),
            wpos: 0,
            rbuf: Vec::with_capacity(4096),
            in_flight: false,
            started: start,
            next_due: start + interval.mul_f64(i as f64 / connections as f64),
        });
    }
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let drain_until = end + Duration::from_secs(2);
    let mut samples: Vec<u64> = Vec::with_capacity(2_000_000);
    let mut completed_in_window = 0u64;
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let mut errors = 0u64;
    let mut reconnects = 0u64;
    let mut rbuf = [0u8; 16384];
    let mut sent = 0u64;
    // CPU time of the server side (`--pid`, comma-separated: the server and e.g. Redis) over
    // the measured window, per request completed in it: robust against other work on the
    // machine, which steals wall-clock time but adds little to our processes' CPU time.
    let pids: Vec<u32> = a
        .get("pid")
        .map(|v| v.split(',').filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default();
    let mut lateness: Vec<u64> = Vec::with_capacity(2_000_000);
    let mut cpu_from: Option<u64> = None;
    let mut cpu_to: Option<u64> = None;

    let send = |c: &mut Conn, src: &mut Source, at: Instant| -> std::io::Result<()> {
        c.wbuf = src.next();
        c.wpos = 0;
        c.in_flight = true;
        c.started = at;
        flush(c)
    };

    loop {
        let now = Instant::now();
        if !pids.is_empty() {
            if cpu_from.is_none() && now >= measure_from {
                cpu_from = Some(cpu_ns(&pids));
            }
            if cpu_to.is_none() && now >= end {
                cpu_to = Some(cpu_ns(&pids));
            }
        }
        if now >= drain_until || (now >= end && conns.iter().all(|c| !c.in_flight)) {
            break;
        }
        let mut next_deadline: Option<Instant> = None;
        if now < end {
            for c in conns.iter_mut() {
                if c.in_flight || now < start {
                    continue;
                }
                if rate > 0.0 {
                    if c.next_due <= now {
                        let at = c.next_due;
                        // How late this idle connection sends: only this loop's own delay (a
                        // busy or descheduled load core), not the server's.
                        if at >= measure_from {
                            lateness.push(now.duration_since(at).as_nanos() as u64);
                        }
                        c.next_due += interval;
                        if send(c, &mut src, at).is_err() {
                            errors += 1;
                        }
                        sent += 1;
                    } else {
                        next_deadline =
                            Some(next_deadline.map_or(c.next_due, |d| d.min(c.next_due)));
                    }
                } else {
                    if send(c, &mut src, now).is_err() {
                        errors += 1;
                    }
                    sent += 1;
                }
            }
        }
        let timeout = match next_deadline {
            _ if now < start => Some(start - now),
            _ if spin => Some(Duration::ZERO),
            Some(d) => {
                let gap = d.saturating_duration_since(Instant::now());
                if gap > Duration::from_millis(2) {
                    Some(gap - Duration::from_millis(1))
                } else {
                    Some(Duration::ZERO)
                }
            }
            None => Some(Duration::from_millis(1)),
        };
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                panic!("poll: {e}");
            }
        }
        for ev in events.iter() {
            let i = ev.token().0;
            if i == HOOK_LISTENER {
                if let Some(l) = &mut hook_listener {
                    while let Ok((mut stream, _)) = l.accept() {
                        let _ = stream.set_nodelay(true);
                        let t = next_hook;
                        next_hook += 1;
                        poll.registry()
                            .register(
                                &mut stream,
                                mio::Token(t),
                                mio::Interest::READABLE | mio::Interest::WRITABLE,
                            )
                            .expect("register");
                        let mut h = HookConn {
                            stream,
                            rbuf: Vec::new(),
                            out: Vec::new(),
                            opos: 0,
                        };
                        if serve_hook(&mut h, &mut rbuf, &mut hook_served) {
                            hooks.insert(t, h);
                        }
                    }
                }
                continue;
            }
            if i >= HOOK_BASE {
                let open = hooks
                    .get_mut(&i)
                    .is_some_and(|h| serve_hook(h, &mut rbuf, &mut hook_served));
                if !open {
                    if let Some(mut h) = hooks.remove(&i) {
                        let _ = poll.registry().deregister(&mut h.stream);
                    }
                }
                continue;
            }
            let c = &mut conns[i];
            if ev.is_writable() && c.in_flight && c.wpos < c.wbuf.len() && flush(c).is_err() {
                errors += 1;
            }
            if !ev.is_readable() {
                continue;
            }
            let mut closed = false;
            loop {
                match c.stream.read(&mut rbuf) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => c.rbuf.extend_from_slice(&rbuf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            loop {
                match parse_response(&c.rbuf) {
                    Ok(Some((used, status))) => {
                        c.rbuf.drain(..used);
                        let done = Instant::now();
                        if c.in_flight {
                            c.in_flight = false;
                            if c.started >= measure_from && c.started < end {
                                samples.push(done.duration_since(c.started).as_nanos() as u64);
                                *statuses.entry(status).or_default() += 1;
                                if !(200..300).contains(&status) {
                                    errors += 1;
                                }
                            }
                            if done >= measure_from && done < end {
                                completed_in_window += 1;
                            }
                        }
                        if rate == 0.0 && done < end {
                            if send(c, &mut src, done).is_err() {
                                errors += 1;
                            }
                            sent += 1;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        eprintln!("wxopen-load: {e}");
                        errors += 1;
                        closed = true;
                        break;
                    }
                }
            }
            if closed {
                reconnects += 1;
                let _ = poll.registry().deregister(&mut c.stream);
                c.stream = connect(i, &poll);
                c.rbuf.clear();
                if c.in_flight {
                    c.in_flight = false;
                    errors += 1;
                }
            }
        }
    }
    samples.sort_unstable();
    lateness.sort_unstable();
    let server_cpu_us = match (cpu_from, cpu_to) {
        (Some(a), Some(b)) if completed_in_window > 0 => {
            b.saturating_sub(a) as f64 / 1000.0 / completed_in_window as f64
        }
        _ => 0.0,
    };
    let us = |ns: u64| ns as f64 / 1000.0;
    let rps = completed_in_window as f64 / duration.as_secs_f64();
    let statuses: Vec<String> = statuses
        .iter()
        .map(|(s, n)| format!("\"{s}\":{n}"))
        .collect();
    println!(
        "{{\"label\":\"{label}\",\"rate\":{rate},\"rps\":{rps:.0},\"samples\":{},\"sent\":{sent},\"errors\":{errors},\"reconnects\":{reconnects},\"webhook_requests\":{hook_served},\"server_cpu_us\":{server_cpu_us:.2},\"send_late_p99_us\":{:.0},\"p50_us\":{:.0},\"p90_us\":{:.0},\"p99_us\":{:.0},\"p999_us\":{:.0},\"max_us\":{:.0},\"statuses\":{{{}}}}}",
        samples.len(),
        us(percentile(&lateness, 99.0)),
        us(percentile(&samples, 50.0)),
        us(percentile(&samples, 90.0)),
        us(percentile(&samples, 99.0)),
        us(percentile(&samples, 99.9)),
        us(samples.last().copied().unwrap_or(0)),
        statuses.join(",")
    );
}

/// CPU time of every thread of `pids` and of their child processes (a Python server's worker)
/// so far, in nanoseconds (`/proc/<pid>/task/*/schedstat`).
fn cpu_ns(pids: &[u32]) -> u64 {
    let mut all: Vec<u32> = pids.to_vec();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid.is_some_and(|p| pids.contains(&p)) {
                all.push(pid);
            }
        }
    }
    let mut total = 0;
    for pid in &all {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) {
                total += s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}

fn flush(c: &mut Conn) -> std::io::Result<()> {
    while c.wpos < c.wbuf.len() {
        match c.stream.write(&c.wbuf[c.wpos..]) {
            Ok(n) => c.wpos += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
