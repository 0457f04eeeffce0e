//! Shared fixtures and a tiny timing harness for the wxopen benchmarks.
//!
//! Everything here is deterministic: the same sizes always give the same bodies, so the
//! criterion groups, the ceiling report and the peer comparison all run the same messages.

use std::hint::black_box;
use std::time::{Duration, Instant};

use wxopen_core::MsgCrypt;

/// The token of the official samples.
pub const TOKEN: &str = "pamtest";
/// The EncodingAESKey of the official samples.
pub const ENCODING_AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
/// The receiver id (component appid) the messages are sealed for.
pub const APPID: &str = "wxb11529c136998cb6";
/// The timestamp every fixture is signed with.
pub const TIMESTAMP: &str = "1409304348";
/// The nonce every fixture is signed with.
pub const NONCE: &str = "xxxxxx";
/// The 16 random frame bytes every fixture is sealed with.
pub const RANDOM16: [u8; 16] = *b"aaaabbbbccccdddd";

/// The message sizes every size-swept group runs: 256 B, 1 KiB, 16 KiB, 64 KiB, 1 MiB.
pub const SIZES: [usize; 5] = [256, 1 << 10, 16 << 10, 64 << 10, 1 << 20];

/// A readable label for a byte count (`256B`, `1KiB`, `1MiB`).
pub fn size_label(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{}MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{}KiB", n >> 10)
    } else {
        format!("{n}B")
    }
}

/// The `MsgCrypt` every fixture uses; the body limit is raised so the 1 MiB case fits.
pub fn crypt() -> MsgCrypt {
    match MsgCrypt::new(TOKEN, ENCODING_AES_KEY, APPID) {
        Ok(c) => c.with_max_body_len(4 << 20),
        Err(e) => panic!("sample settings are valid: {e}"),
    }
}

/// An XML message of exactly `len` bytes (at least 64): a text message with filler content.
pub fn message(len: usize) -> Vec<u8> {
    let head = b"<xml><ToUserName><![CDATA[gh_abc]]></ToUserName><Content><![CDATA[";
    let tail = b"]]></Content></xml>";
    assert!(len >= head.len() + tail.len(), "message too short");
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(head);
    let filler = len - head.len() - tail.len();
    m.extend((0..filler).map(|i| b"the quick brown fox jumps over the lazy dog "[i % 44]));
    m.extend_from_slice(tail);
    m
}

/// A signed push: the POST body and the query parameters that go with it.
#[derive(Clone, Debug)]
pub struct Push {
    /// The plaintext that was sealed.
    pub message: Vec<u8>,
    /// The base64 `Encrypt` text.
    pub encrypt: String,
    /// The POST body: `<xml><AppId>…</AppId><Encrypt>…</Encrypt></xml>`.
    pub body: Vec<u8>,
    /// `msg_signature` for the body.
    pub msg_signature: String,
}

/// Seal `message` the way WeChat would push it to a third-party platform.
pub fn push_of(message: Vec<u8>) -> Push {
    let c = crypt();
    let reply = match c.encrypt_reply(&message, TIMESTAMP, NONCE, &RANDOM16) {
        Ok(r) => r,
        Err(e) => panic!("fixture encrypts: {e}"),
    };
    let body = format!(
        "<xml>\n    <AppId><![CDATA[{APPID}]]></AppId>\n    <Encrypt><![CDATA[{}]]></Encrypt>\n</xml>",
        reply.encrypt
    );
    Push {
        message,
        encrypt: reply.encrypt,
        body: body.into_bytes(),
        msg_signature: reply.msg_signature,
    }
}

/// A push carrying a text message of `len` bytes.
pub fn push(len: usize) -> Push {
    push_of(message(len))
}

/// The ticket the `component_verify_ticket` fixture carries.
pub const TICKET: &str =
    "ticket@@@lEHjsBEi_TPDey0IZxw4Zbb7JRYLOtEf9ksvDpSwzkwog3R6xEpdaK0yIee7JOyOXM0V7cp0dpM58GKmb8FIKA";

/// The decrypted `component_verify_ticket` push (what the client's event parser reads).
pub fn ticket_xml() -> Vec<u8> {
    format!(
        "<xml><AppId><![CDATA[{APPID}]]></AppId><CreateTime>1413192605</CreateTime>\
         <InfoType><![CDATA[component_verify_ticket]]></InfoType>\
         <ComponentVerifyTicket><![CDATA[{TICKET}]]></ComponentVerifyTicket></xml>"
    )
    .into_bytes()
}

/// The `component_verify_ticket` push WeChat sends every ten minutes (about 500 bytes).
pub fn ticket_push() -> Push {
    push_of(ticket_xml())
}

/// One case: name, the operation, iterations per round, best ns per operation so far.
type Case = (String, Box<dyn FnMut()>, u64, f64);

/// A timing harness for the report and the peer runner: the best time per operation over
/// several rounds, the rounds of all cases interleaved so that load from other processes
/// hits every case alike.
pub struct Harness {
    cases: Vec<Case>,
    round: Duration,
}

impl Harness {
    /// A harness whose rounds last about `round` each.
    pub fn new(round: Duration) -> Self {
        Harness {
            cases: Vec::new(),
            round,
        }
    }

    /// Add a case; `f` runs one operation.
    pub fn add(&mut self, name: impl Into<String>, f: impl FnMut() + 'static) {
        self.cases
            .push((name.into(), Box::new(f), 0, f64::INFINITY));
    }

    /// Run `rounds` rounds of every case and return the best nanoseconds per operation,
    /// in the order the cases were added.
    pub fn run(mut self, rounds: usize) -> Vec<(String, f64)> {
        // Calibrate: how many iterations fill one round.
        for (_, f, iters, _) in &mut self.cases {
            let mut n = 1u64;
            loop {
                let t = Instant::now();
                for _ in 0..n {
                    f();
                }
                let el = t.elapsed();
                if el >= self.round / 4 || n >= 1 << 30 {
                    let per = el.as_secs_f64() / n as f64;
                    *iters = ((self.round.as_secs_f64() / per) as u64).max(1);
                    break;
                }
                n *= 2;
            }
        }
        for _ in 0..rounds {
            for (_, f, iters, best) in &mut self.cases {
                let t = Instant::now();
                for _ in 0..*iters {
                    f();
                }
                let ns = t.elapsed().as_secs_f64() * 1e9 / *iters as f64;
                if ns < *best {
                    *best = ns;
                }
            }
        }
        self.cases
            .into_iter()
            .map(|(name, _, _, best)| (name, best))
            .collect()
    }
}

/// Keep a value alive and opaque to the optimiser.
pub fn keep<T>(v: T) -> T {
    black_box(v)
}

/// Bytes per nanosecond is GB/s; this turns a size and a time into MB/s.
pub fn mb_per_s(bytes: usize, ns: f64) -> f64 {
    bytes as f64 / ns * 1e3
}

pub mod stages;

/// The ticket push end to end, pure part: POST body → signature check → decrypt →
/// `wxopen_client::parse_component_event` → ticket string (owned, as a handler stores it).
pub fn push_ticket(m: &MsgCrypt, body: &[u8], msg_signature: &str) -> Option<String> {
    let xml = m
        .decrypt_message(body, msg_signature, TIMESTAMP, NONCE)
        .ok()?;
    parse_ticket_event(&xml)
}

/// The client's event parse of a decrypted `component_verify_ticket` push, down to the ticket.
pub fn parse_ticket_event(xml: &[u8]) -> Option<String> {
    match wxopen_client::parse_component_event(xml).ok()? {
        wxopen_client::ComponentEvent::ComponentVerifyTicket { ticket, .. } => {
            Some(ticket.into_secret())
        }
        _ => None,
    }
}

/// The client's real push handler (`handle_component_push`) on a single-thread runtime, with
/// the in-memory store and a manual clock: query string + POST body → stored ticket.
pub struct Handler {
    rt: tokio::runtime::Runtime,
    client: wxopen_client::ComponentClient,
    query: String,
    body: Vec<u8>,
}

impl Handler {
    /// A client for the fixture component and the ticket push to feed it.
    pub fn new() -> Self {
        let config = wxopen_client::ComponentConfig::new(APPID, "secret", TOKEN, ENCODING_AES_KEY);
        let clock = std::sync::Arc::new(wxopen_client::ManualClock::at_unix(1_409_304_348));
        let client = match wxopen_client::ComponentClient::builder(config)
            .clock(clock)
            .build()
        {
            Ok(c) => c,
            Err(e) => panic!("fixture client builds: {e}"),
        };
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => panic!("runtime: {e}"),
        };
        let p = ticket_push();
        Handler {
            rt,
            client,
            query: format!(
                "signature=0&timestamp={TIMESTAMP}&nonce={NONCE}&encrypt_type=aes&msg_signature={}",
                p.msg_signature
            ),
            body: p.body,
        }
    }

    /// Handle the push once; returns the ticket the event carried.
    pub fn handle(&self) -> Option<String> {
        let query = wxopen_client::PushQuery::parse(&self.query).ok()?;
        let ack = self
            .rt
            .block_on(self.client.handle_component_push(&query, &self.body))
            .ok()?;
        match ack.event {
            wxopen_client::ComponentEvent::ComponentVerifyTicket { ticket, .. } => {
                Some(ticket.into_secret())
            }
            _ => None,
        }
    }
}

impl Default for Handler {
    fn default() -> Self {
        Self::new()
    }
}
