//! Criterion groups: the building blocks at 1 KiB and 64 KiB (so every run carries its own
//! ceiling), then the core pipelines over 256 B … 1 MiB, the ticket push end to end and the
//! event parse. Run `cargo bench -p wxopen-benches --bench report` for "% of ceiling".
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wxopen_benches::stages::{self, Cbc};
use wxopen_benches::{
    crypt, message, push, size_label, ticket_push, ticket_xml, NONCE, RANDOM16, SIZES, TIMESTAMP,
};
use wxopen_core::MsgCrypt;

fn sample_size_for(n: usize) -> usize {
    if n >= 1 << 20 {
        10
    } else {
        50
    }
}

fn blocks(c: &mut Criterion) {
    let cbc = Cbc::new();
    assert!(stages::cbc_matches_reference());
    let mut g = c.benchmark_group("blocks");
    for n in [1usize << 10, 64 << 10] {
        let label = size_label(n);
        let data: Vec<u8> = (0..n).map(|i| (i * 31 + 7) as u8).collect();
        let mut text = vec![0u8; n.div_ceil(3) * 4];
        let tl = stages::b64_encode_gp(&data, &mut text);
        text.truncate(tl);
        let mut out = vec![0u8; n + 64];

        g.throughput(Throughput::Bytes(n as u64));
        let mut buf = data.clone();
        g.bench_function(BenchmarkId::new("aes256cbc_decrypt", &label), |b| {
            b.iter(|| cbc.decrypt(black_box(&mut buf)))
        });
        g.bench_function(BenchmarkId::new("aes256cbc_encrypt", &label), |b| {
            b.iter(|| cbc.encrypt(black_box(&mut buf)))
        });
        g.bench_function(BenchmarkId::new("sha1", &label), |b| {
            b.iter(|| stages::sha1_parts(&[black_box(&data)]))
        });
        // base64 throughput counts the binary side, as the pipelines do.
        let mut tout = vec![0u8; text.len() + 8];
        g.bench_function(BenchmarkId::new("base64_encode_gp", &label), |b| {
            b.iter(|| stages::b64_encode_gp(black_box(&data), &mut tout))
        });
        g.bench_function(BenchmarkId::new("base64_encode_simd", &label), |b| {
            b.iter(|| stages::b64_encode_simd(black_box(&data), &mut tout))
        });
        g.bench_function(BenchmarkId::new("base64_decode_gp", &label), |b| {
            b.iter(|| stages::b64_decode_gp(black_box(&text), &mut out))
        });
        g.bench_function(BenchmarkId::new("base64_decode_simd", &label), |b| {
            b.iter(|| stages::b64_decode_simd(black_box(&text), &mut out))
        });
        g.bench_function(BenchmarkId::new("base64_decode_wx", &label), |b| {
            b.iter(|| stages::b64_decode_wx(black_box(&text), &mut out))
        });
    }
    g.finish();
}

fn decrypt_message(c: &mut Criterion) {
    let m = crypt();
    let mut g = c.benchmark_group("decrypt_message");
    for n in SIZES {
        let p = push(n);
        g.throughput(Throughput::Bytes(n as u64));
        g.sample_size(sample_size_for(n));
        g.bench_with_input(BenchmarkId::from_parameter(size_label(n)), &p, |b, p| {
            b.iter(|| {
                m.decrypt_message(black_box(&p.body), &p.msg_signature, TIMESTAMP, NONCE)
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn decrypt_in_place(c: &mut Criterion) {
    let m = crypt();
    let mut g = c.benchmark_group("decrypt_in_place");
    for n in SIZES {
        let p = push(n);
        let mut buf = vec![0u8; p.body.len()];
        g.throughput(Throughput::Bytes(n as u64));
        g.sample_size(sample_size_for(n));
        g.bench_with_input(BenchmarkId::from_parameter(size_label(n)), &p, |b, p| {
            b.iter(|| {
                m.decrypt_message_in_place(
                    black_box(&p.body),
                    &p.msg_signature,
                    TIMESTAMP,
                    NONCE,
                    &mut buf,
                )
                .unwrap()
                .len()
            })
        });
    }
    g.finish();
}

fn encrypt_reply(c: &mut Criterion) {
    let m = crypt();
    let mut g = c.benchmark_group("encrypt_reply");
    for n in SIZES {
        let msg = message(n);
        g.throughput(Throughput::Bytes(n as u64));
        g.sample_size(sample_size_for(n));
        g.bench_with_input(BenchmarkId::new("owned", size_label(n)), &msg, |b, msg| {
            b.iter(|| {
                m.encrypt_reply(black_box(msg), TIMESTAMP, NONCE, &RANDOM16)
                    .unwrap()
            })
        });
        let mut work = vec![0u8; m.ciphertext_len(n).unwrap()];
        let mut out = vec![0u8; m.reply_len(n, TIMESTAMP.len(), NONCE.len()).unwrap()];
        g.bench_with_input(BenchmarkId::new("into", size_label(n)), &msg, |b, msg| {
            b.iter(|| {
                m.encrypt_reply_into(
                    black_box(msg),
                    TIMESTAMP,
                    NONCE,
                    &RANDOM16,
                    &mut work,
                    &mut out,
                )
                .unwrap()
                .len()
            })
        });
    }
    g.finish();
}

fn verify_url(c: &mut Criterion) {
    let m = crypt();
    let mut g = c.benchmark_group("verify_url");
    // The echostr WeChat sends is a short random decimal string; 1 KiB shows the per-byte side.
    for echo in [b"5927782489442352469".to_vec(), vec![b'7'; 1 << 10]] {
        let p = wxopen_benches::push_of(echo.clone());
        let len = echo.len();
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size_label(len)), &p, |b, p| {
            b.iter(|| {
                m.verify_url(&p.msg_signature, TIMESTAMP, NONCE, black_box(&p.encrypt))
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn ticket(c: &mut Criterion) {
    let m: MsgCrypt = crypt();
    let p = ticket_push();
    let mut g = c.benchmark_group("ticket_push");
    g.throughput(Throughput::Bytes(p.body.len() as u64));
    g.bench_function("pure", |b| {
        b.iter(|| wxopen_benches::push_ticket(&m, black_box(&p.body), &p.msg_signature).unwrap())
    });
    let handler = wxopen_benches::Handler::new();
    assert_eq!(handler.handle().as_deref(), Some(wxopen_benches::TICKET));
    g.bench_function("handler", |b| b.iter(|| handler.handle().unwrap()));
    g.finish();

    let xml = ticket_xml();
    let mut g = c.benchmark_group("event_parse");
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("component_verify_ticket", |b| {
        b.iter(|| wxopen_benches::parse_ticket_event(black_box(&xml)).unwrap())
    });
    g.finish();
}

criterion_group!(
    benches,
    blocks,
    decrypt_message,
    decrypt_in_place,
    encrypt_reply,
    verify_url,
    ticket
);
criterion_main!(benches);
