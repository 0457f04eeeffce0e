//! The wxopen leg of the peer comparison (`benches/peers/run.sh`).
//!
//! * `wxopen-peer gen DIR` writes the shared fixtures: `DIR/msg-<size>.json` with the token,
//!   EncodingAESKey, appid, timestamp, nonce, `msg_signature`, POST body and message length;
//! * `wxopen-peer run DIR [SECONDS]` decrypts each fixture with `decrypt_message` (envelope,
//!   signature check, base64, AES, padding, frame, appid) and prints
//!   `wxopen <size> <MB/s> <ns/op>` lines, MB/s counting message bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use wxopen_benches::{
    crypt, keep, mb_per_s, push, APPID, ENCODING_AES_KEY, NONCE, TIMESTAMP, TOKEN,
};

const SIZES: [usize; 2] = [1 << 10, 64 << 10];
/// Rounds per case; each leg keeps its best round (short rounds dodge bursts of load).
const ROUNDS: usize = 40;

fn json_str(s: &str) -> String {
    // The fixture strings are ASCII without quotes, backslashes or control characters except
    // the envelope's newlines.
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn gen(dir: &str) {
    std::fs::create_dir_all(dir).unwrap();
    for n in SIZES {
        let p = push(n);
        let body = String::from_utf8(p.body.clone()).unwrap();
        let json = format!(
            "{{\"token\":{},\"encoding_aes_key\":{},\"appid\":{},\"timestamp\":{},\"nonce\":{},\"msg_signature\":{},\"body\":{},\"message_len\":{}}}\n",
            json_str(TOKEN),
            json_str(ENCODING_AES_KEY),
            json_str(APPID),
            json_str(TIMESTAMP),
            json_str(NONCE),
            json_str(&p.msg_signature),
            json_str(&body),
            p.message.len()
        );
        std::fs::write(format!("{dir}/msg-{n}.json"), json).unwrap();
    }
}

fn field<'a>(json: &'a str, name: &str) -> &'a str {
    let key = format!("\"{name}\":");
    let at = json.find(&key).unwrap() + key.len();
    let rest = &json[at..];
    if let Some(r) = rest.strip_prefix('"') {
        &r[..r.find('"').unwrap()]
    } else {
        &rest[..rest.find([',', '}']).unwrap()]
    }
}

fn run(dir: &str, seconds: f64) {
    let m = crypt();
    for n in SIZES {
        let json = std::fs::read_to_string(format!("{dir}/msg-{n}.json")).unwrap();
        let body = field(&json, "body").replace("\\n", "\n").into_bytes();
        let sig = field(&json, "msg_signature").to_owned();
        let ts = field(&json, "timestamp").to_owned();
        let nonce = field(&json, "nonce").to_owned();
        let len: usize = field(&json, "message_len").parse().unwrap();
        let out = m.decrypt_message(&body, &sig, &ts, &nonce).unwrap();
        assert_eq!(out.len(), len);
        // Best of several rounds, like the Python and Node legs.
        let round = Duration::from_secs_f64(seconds / ROUNDS as f64);
        let mut best = f64::INFINITY;
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let mut iters = 0u64;
            while start.elapsed() < round {
                for _ in 0..16 {
                    keep(m.decrypt_message(keep(&body), &sig, &ts, &nonce).unwrap());
                }
                iters += 16;
            }
            let ns = start.elapsed().as_secs_f64() * 1e9 / iters as f64;
            best = best.min(ns);
        }
        println!("wxopen {n} {:.1} {:.0}", mb_per_s(len, best), best);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("gen") => gen(args.get(2).expect("DIR")),
        Some("run") => run(
            args.get(2).expect("DIR"),
            args.get(3).and_then(|s| s.parse().ok()).unwrap_or(2.0),
        ),
        _ => {
            eprintln!("usage: wxopen-peer gen DIR | wxopen-peer run DIR [SECONDS]");
            std::process::exit(2);
        }
    }
}
