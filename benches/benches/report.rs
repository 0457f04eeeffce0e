//! The ceiling report: measures the building blocks on exactly the bytes each stage sees and
//! the pipelines on the same messages, in one run with interleaved rounds, and prints
//! "% of ceiling". The ceiling of a pipeline is the sum of its stage times:
//!
//! * inbound (`decrypt_message`): SHA-1 over token|timestamp|nonce|Encrypt (sorted) + base64
//!   decode of `Encrypt` (fastest engine available) + AES-256-CBC decrypt of the ciphertext;
//! * outbound (`encrypt_reply`): AES-256-CBC encrypt + base64 encode + SHA-1 over the text.
//!
//! `cargo bench -p wxopen-benches --bench report` (optionally `-- --rounds 30`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use wxopen_benches::stages::{self, Cbc, Inbound};
use wxopen_benches::{
    crypt, keep, mb_per_s, message, push, size_label, ticket_push, Harness, NONCE, RANDOM16,
    TIMESTAMP,
};

const GOAL: f64 = 85.0;

fn main() {
    let mut rounds = 15usize;
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rounds") {
        rounds = args
            .get(i + 1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(rounds);
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing useful to run.
    if args.iter().any(|a| a == "--test" || a == "--list") {
        return;
    }

    let sizes = [256usize, 1 << 10, 16 << 10, 64 << 10];
    let mut h = Harness::new(Duration::from_millis(12));
    for &n in &sizes {
        let label = size_label(n);
        let p = push(n);
        let inb = Inbound::of(&p);

        // Inbound stages.
        let parts: Vec<Vec<u8>> = inb.sorted.clone();
        h.add(format!("in/{label}/sha1"), move || {
            let refs: [&[u8]; 4] = [&parts[0], &parts[1], &parts[2], &parts[3]];
            keep(stages::sha1_parts(keep(&refs)));
        });
        let text = inb.text.clone();
        let mut out = vec![0u8; text.len()];
        h.add(format!("in/{label}/b64dec_gp"), move || {
            keep(stages::b64_decode_gp(keep(&text), &mut out));
        });
        let text = inb.text.clone();
        let mut out = vec![0u8; text.len()];
        h.add(format!("in/{label}/b64dec_simd"), move || {
            keep(stages::b64_decode_simd(keep(&text), &mut out));
        });
        let text = inb.text.clone();
        let mut out = vec![0u8; text.len()];
        h.add(format!("in/{label}/b64dec_wx"), move || {
            keep(stages::b64_decode_wx(keep(&text), &mut out));
        });
        let mut ct = inb.ciphertext.clone();
        let cbc = Cbc::new();
        h.add(format!("in/{label}/aes_dec"), move || {
            cbc.decrypt(keep(&mut ct));
        });
        // Inbound pipelines.
        let m = crypt();
        let p2 = p.clone();
        h.add(format!("in/{label}/decrypt_message"), move || {
            keep(
                m.decrypt_message(keep(&p2.body), &p2.msg_signature, TIMESTAMP, NONCE)
                    .unwrap(),
            );
        });
        let m = crypt();
        let p2 = p.clone();
        let mut buf = vec![0u8; p2.body.len()];
        h.add(format!("in/{label}/decrypt_in_place"), move || {
            keep(
                m.decrypt_message_in_place(
                    keep(&p2.body),
                    &p2.msg_signature,
                    TIMESTAMP,
                    NONCE,
                    &mut buf,
                )
                .unwrap()
                .len(),
            );
        });

        // Outbound stages, on the bytes encrypt_reply sees.
        let mut ct = inb.ciphertext.clone();
        let cbc = Cbc::new();
        h.add(format!("out/{label}/aes_enc"), move || {
            cbc.encrypt(keep(&mut ct));
        });
        let ct = inb.ciphertext.clone();
        let mut tout = vec![0u8; inb.text.len() + 8];
        h.add(format!("out/{label}/b64enc_gp"), move || {
            keep(stages::b64_encode_gp(keep(&ct), &mut tout));
        });
        let ct = inb.ciphertext.clone();
        let mut tout = vec![0u8; inb.text.len() + 8];
        h.add(format!("out/{label}/b64enc_simd"), move || {
            keep(stages::b64_encode_simd(keep(&ct), &mut tout));
        });
        let m = crypt();
        let msg = message(n);
        h.add(format!("out/{label}/encrypt_reply"), move || {
            keep(
                m.encrypt_reply(keep(&msg), TIMESTAMP, NONCE, &RANDOM16)
                    .unwrap(),
            );
        });
        let m = crypt();
        let msg = message(n);
        let mut work = vec![0u8; m.ciphertext_len(n).unwrap()];
        let mut out = vec![0u8; m.reply_len(n, TIMESTAMP.len(), NONCE.len()).unwrap()];
        h.add(format!("out/{label}/encrypt_reply_into"), move || {
            keep(
                m.encrypt_reply_into(keep(&msg), TIMESTAMP, NONCE, &RANDOM16, &mut work, &mut out)
                    .unwrap()
                    .len(),
            );
        });
    }
    let m = crypt();
    let tp = ticket_push();
    let tp_len = tp.body.len();
    h.add("ticket_push", move || {
        keep(wxopen_benches::push_ticket(&m, keep(&tp.body), &tp.msg_signature).unwrap());
    });
    let handler = wxopen_benches::Handler::new();
    assert_eq!(handler.handle().as_deref(), Some(wxopen_benches::TICKET));
    h.add("ticket_handler", move || {
        keep(handler.handle().unwrap());
    });

    let res = h.run(rounds);
    let get = |name: &str| -> f64 {
        res.iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| *t)
            .unwrap_or_else(|| panic!("no case {name}"))
    };

    println!("wxopen stage-ceiling report ({rounds} interleaved rounds, best round per case)");
    println!();
    println!("inbound: ceiling = sha1(text) + base64 decode (fastest engine) + aes-cbc decrypt");
    println!("(b64 wx = wxopen's decoder: AVX-512 VBMI kernel where the CPU has one, else = simd)");
    println!(
        "{:>6} | {:>9} {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9} | {:>10} {:>7} | {:>10} {:>7}",
        "size",
        "sha1",
        "b64 gp",
        "b64 simd",
        "b64 wx",
        "aes dec",
        "ceil",
        "ceil(gp)",
        "decrypt",
        "%ceil",
        "in_place",
        "%ceil"
    );
    for &n in &sizes {
        let l = size_label(n);
        let sha = get(&format!("in/{l}/sha1"));
        let gp = get(&format!("in/{l}/b64dec_gp"));
        let simd = get(&format!("in/{l}/b64dec_simd"));
        let wx = get(&format!("in/{l}/b64dec_wx"));
        let aes = get(&format!("in/{l}/aes_dec"));
        let ceil_ns = sha + gp.min(simd).min(wx) + aes;
        let ceil_gp_ns = sha + gp + aes;
        let dm = get(&format!("in/{l}/decrypt_message"));
        let ip = get(&format!("in/{l}/decrypt_in_place"));
        let g = |ns: f64| mb_per_s(n, ns) / 1e3;
        println!(
            "{:>6} | {:>6.0} ns {:>6.0} ns {:>6.0} ns {:>6.0} ns {:>6.0} ns | {:>4.2} GB/s {:>4.2} GB/s | {:>5.2} GB/s {:>6.1}% | {:>5.2} GB/s {:>6.1}%",
            l, sha, gp, simd, wx, aes, g(ceil_ns), g(ceil_gp_ns), g(dm), 100.0 * ceil_ns / dm, g(ip), 100.0 * ceil_ns / ip
        );
    }
    println!();
    println!("outbound: ceiling = aes-cbc encrypt + base64 encode (fastest engine) + sha1(text)");
    println!(
        "{:>6} | {:>9} {:>9} {:>9} {:>9} | {:>9} | {:>10} {:>7} | {:>10} {:>7}",
        "size", "aes enc", "b64 gp", "b64 simd", "sha1", "ceil", "reply", "%ceil", "into", "%ceil"
    );
    for &n in &sizes {
        let l = size_label(n);
        let aes = get(&format!("out/{l}/aes_enc"));
        let gp = get(&format!("out/{l}/b64enc_gp"));
        let simd = get(&format!("out/{l}/b64enc_simd"));
        let sha = get(&format!("in/{l}/sha1"));
        let ceil_ns = aes + gp.min(simd) + sha;
        let er = get(&format!("out/{l}/encrypt_reply"));
        let ei = get(&format!("out/{l}/encrypt_reply_into"));
        let g = |ns: f64| mb_per_s(n, ns) / 1e3;
        println!(
            "{:>6} | {:>6.0} ns {:>6.0} ns {:>6.0} ns {:>6.0} ns | {:>4.2} GB/s | {:>5.2} GB/s {:>6.1}% | {:>5.2} GB/s {:>6.1}%",
            l, aes, gp, simd, sha, g(ceil_ns), g(er), 100.0 * ceil_ns / er, g(ei), 100.0 * ceil_ns / ei
        );
    }
    println!();
    let tp = get("ticket_push");
    println!(
        "ticket push end to end ({tp_len}-byte body → ticket string, core decrypt + client parse): {tp:.0} ns/op (goal ≤ 2000 ns)"
    );
    println!(
        "ticket push through the client handler (query parse, decrypt, parse, store, runtime): {:.0} ns/op",
        get("ticket_handler")
    );
    println!();
    println!("goals (≥ {GOAL}% of ceiling):");
    for (what, l, pipe, inbound) in [
        ("decrypt_message", "1KiB", "in/1KiB/decrypt_message", true),
        ("decrypt_message", "64KiB", "in/64KiB/decrypt_message", true),
        ("encrypt_reply", "64KiB", "out/64KiB/encrypt_reply", false),
    ] {
        let ceil_ns = if inbound {
            get(&format!("in/{l}/sha1"))
                + get(&format!("in/{l}/b64dec_gp"))
                    .min(get(&format!("in/{l}/b64dec_simd")))
                    .min(get(&format!("in/{l}/b64dec_wx")))
                + get(&format!("in/{l}/aes_dec"))
        } else {
            get(&format!("out/{l}/aes_enc"))
                + get(&format!("out/{l}/b64enc_gp")).min(get(&format!("out/{l}/b64enc_simd")))
                + get(&format!("in/{l}/sha1"))
        };
        let pct = 100.0 * ceil_ns / get(pipe);
        println!(
            "  {what:<16} {l:>6}: {pct:6.1}% of ceiling  {}",
            if pct >= GOAL { "ok" } else { "BELOW GOAL" }
        );
    }
    println!(
        "  ticket push           : {tp:6.0} ns          {}",
        if tp <= 2000.0 { "ok" } else { "BELOW GOAL" }
    );
}
